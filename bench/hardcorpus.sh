#!/usr/bin/env bash
# The project's own hard-input corpus: how many of its files thumbd
# thumbnails with the defaults, and with the options that take every
# image it can (--name '{name}.{ext}' --detect content --fail-on none), and
# what is left failing and why.
#
#   bench/hardcorpus.sh            (writes bench/results-hardcorpus.md)
#
# The corpus (bench/work/hardcorpus/in, made anew each run): the
# end-to-end test images (tests/gen/gen_testdata.c: every PNG colour type
# and depth, interlaced, alpha, EXIF orientations, CMYK, ICC, damaged
# files), the hostile inputs (tests/gen/gen_hostile.c: bombs, truncations at
# many lengths, hostile names, wrong extensions, many scans), and the cases
# of issue 16 made here from those: the same stem as JPEG and PNG in one
# directory, images without an extension or under camera and web aliases
# (.jfif .mpo .apng), and JPEGs cut short at half their length.
# Needs build/thumbd, build/tests/thumbd_gen and build/tests/thumbd_hostile
# (scripts/setup.sh builds them) and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
thumbd=${THUMBD:-$root/build/thumbd}
gen=$root/build/tests/thumbd_gen
hostile=$root/build/tests/thumbd_hostile
work=$root/bench/work/hardcorpus
for tool in "$thumbd" "$gen" "$hostile"; do
  [ -x "$tool" ] || { echo "hardcorpus.sh: $tool is missing (build first: scripts/setup.sh)" >&2; exit 1; }
done
rm -rf "$work"
mkdir -p "$work/in"
"$gen" "$work/in/gen" >/dev/null
rm -f "$work/in/gen/expected.txt"
"$hostile" "$work/in/hostile" >/dev/null 2>&1 || true

# Issue 16's cases, from images the generators made.
extra=$work/in/extra
mkdir -p "$extra/pairs" "$extra/noext" "$extra/alias" "$extra/cut"
i=0
for f in "$work"/in/gen/orient/o*.jpg; do
  i=$((i + 1))
  cp "$f" "$extra/pairs/logo$i.jpg"
  cp "$work/in/gen/png/gray8.png" "$extra/pairs/logo$i.png"
  cp "$f" "$extra/noext/$(basename "$f" .jpg | sha1sum | cut -c1-16)"
  cp "$f" "$extra/cut/cut$i.jpg"
  truncate -s $(($(stat -c %s "$f") / 2)) "$extra/cut/cut$i.jpg"
done
cp "$work/in/gen/orient/o1.jpg" "$extra/alias/camera.mpo"
cp "$work/in/gen/orient/o2.jpg" "$extra/alias/web.jfif"
cp "$work/in/gen/alpha/rgba.png" "$extra/alias/anim.apng"

files=$(find "$work/in" -type f | wc -l)
run() { # name, args...: runs thumbd, prints "ok failed" and writes the reasons
  local name=$1
  shift
  rm -rf "$work/out-$name"
  "$thumbd" --quiet --silent --report-skipped -r "$work/$name.jsonl" "$@" "$work/in" "$work/out-$name" || true
  python3 - "$work/$name.jsonl" "$work/$name.reasons" <<'EOF'
import json, re, sys, collections
ok = failed = 0
why = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    r = json.loads(line)
    if r["status"] == "ok":
        ok += 1
    elif r["status"] == "failed":
        failed += 1
        # The reason without the numbers and names that make each one unique.
        e = re.sub(r"[0-9]+(\.[0-9]+)?", "N", r["error"] or "")
        e = re.sub(r"'[^']*'", "'...'", e)
        why[e[:90]] += 1
with open(sys.argv[2], "w") as f:
    for e, n in why.most_common():
        f.write(f"| {n} | {e} |\n")
print(ok, failed)
EOF
}
read -r ok_def failed_def < <(run defaults)
read -r ok_all failed_all < <(run all --name '{name}.{ext}' --detect content --fail-on none)
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", 100 * a / b }'; }
{
  echo "# bench/hardcorpus.sh, $(date -u +%F): $files files"
  echo
  echo "| options | thumbnailed | failed (records) |"
  echo "| --- | --- | --- |"
  echo "| defaults | $ok_def ($(pct "$ok_def" "$files") % of the files) | $failed_def |"
  echo "| \`--name '{name}.{ext}' --detect content --fail-on none\` | $ok_all ($(pct "$ok_all" "$files") %) | $failed_all |"
  echo
  echo "What is left failing with those options (reason, numbers and names folded):"
  echo
  echo "| files | reason |"
  echo "| --- | --- |"
  cat "$work/all.reasons"
} | tee "$root/bench/results-hardcorpus.md"
