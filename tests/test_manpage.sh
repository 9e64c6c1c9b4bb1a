#!/bin/bash
# The man page's OPTIONS section and `thumbd --help` (made from the option
# table, src/options.c) list the same options: the same long names, short
# forms and value names. An option one of them lacks, or a value list that
# drifted (--format auto|jpeg|png), fails the test.
#   test_manpage.sh THUMBD_BIN MAN_PAGE
set -u
bin=$1 man=$2

help=$("$bin" --help) || { echo "FAIL: $bin --help exited $?"; exit 1; }
[ -r "$man" ] || { echo "FAIL: cannot read $man"; exit 1; }

# --help: "  -s, --size WxH    text" or "      --fit cover|inside   text";
# the value ends at two spaces or the end of the line.
from_help=$(printf '%s\n' "$help" | sed -nE \
  's/^  (-([A-Za-z0-9]), |    )--([a-z0-9-]+)( ([^ ]+))?( {2,}.*)?$/-\2 --\3 \5/p' | sort)

# The man page: the tag line after each .TP of the OPTIONS section, with
# its escapes and fonts removed; a short form goes with the long name after
# it, a word after a long name is its value.
from_man=$(awk '
  /^\.SH / { in_opts = ($2 == "OPTIONS"); next }
  in_opts && /^\.TP/ { tag = 1; next }
  in_opts && tag {
    tag = 0
    line = $0
    gsub(/\\-/, "-", line)
    gsub(/\\f[BIRP]/, "", line)
    gsub(/"/, " ", line)
    sub(/^\.[A-Z]+ /, "", line)
    n = split(line, w, /[ ,]+/)
    short = ""; long = ""
    for (i = 1; i <= n; i++) {
      if (w[i] ~ /^-[A-Za-z0-9]$/) {
        if (long != "") { print "-" lshort " --" long " " value; long = "" }
        short = substr(w[i], 2)
      } else if (w[i] ~ /^--[a-z0-9-]+$/) {
        if (long != "") print "-" lshort " --" long " " value
        long = substr(w[i], 3); lshort = short; short = ""; value = ""
      } else if (w[i] != "" && long != "" && value == "") {
        value = w[i]
      }
    }
    if (long != "") print "-" lshort " --" long " " value
  }' "$man" | sort)

[ -n "$from_help" ] || { echo "FAIL: no options found in --help"; exit 1; }
[ -n "$from_man" ] || { echo "FAIL: no .TP entries found in the OPTIONS section of $man"; exit 1; }

# One line per option: "-s --size WxH" or "- --fit cover|inside".
if [ "$from_help" != "$from_man" ]; then
  echo "FAIL: --help and $man OPTIONS disagree (lines: -SHORT --LONG VALUE)"
  diff <(printf '%s\n' "$from_help") <(printf '%s\n' "$from_man") |
    sed -n 's/^< /  only in --help:      /p; s/^> /  only in the man page: /p'
  exit 1
fi
echo "ok: $(printf '%s\n' "$from_help" | wc -l) options, the same in --help and $man"
