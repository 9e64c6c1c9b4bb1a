#!/usr/bin/env bash
# bench/profile.sh: where thumbd's time goes, with perf (linux-perf).
#
#   bench/profile.sh [--thumbd PATH] [-j N] NAME DIR
#
# Runs `thumbd --fit inside -j N --quiet DIR OUT` (default -j 2) under
# `perf record -e cpu-clock --call-graph dwarf` (cpu-clock: a virtual machine
# often has no hardware counters) and writes into bench/work/profile/NAME/:
#   dso.txt       share of samples by library (self time)
#   self.txt      top functions by self time
#   children.txt  top functions with their callees included (libjpeg-turbo's
#                 entry points split decode from encode even where Debian's
#                 stripped libraries show only addresses inside)
# and prints the first lines of each; perf.data stays there for `perf report`
# or `perf annotate` (large: about 350 MB for the small corpus). Examples,
# the corpora of run.sh and small.sh:
#   bench/profile.sh jpeg bench/corpus/jpeg
#   bench/profile.sh png bench/corpus/png
#   bench/profile.sh small bench/corpus-small
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
thumbd=$here/../build/thumbd
jobs=2
while [ $# -gt 0 ]; do
    case $1 in
        --thumbd) thumbd=${2:?}; shift 2 ;;
        -j) jobs=${2:?}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) break ;;
    esac
done
[ $# -eq 2 ] || { echo "usage: bench/profile.sh [--thumbd PATH] [-j N] NAME DIR" >&2; exit 2; }
name=$1 dir=$2
command -v perf >/dev/null 2>&1 || { echo "profile.sh: perf is missing (bench/setup.sh installs linux-perf)" >&2; exit 1; }
[ -x "$thumbd" ] || { echo "profile.sh: $thumbd not found" >&2; exit 1; }

work=$here/work/profile/$name
old=
if [ -e "$work" ]; then old=$work.old.$$; mv "$work" "$old"; fi
mkdir -p "$work/out"
find "$dir" -type f -exec cat {} + >/dev/null # into the page cache
perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -o "$work/perf.data" -- \
    "$thumbd" --fit inside -j "$jobs" --quiet "$dir" "$work/out" 2>"$work/record.log"
[ -z "$old" ] || rm -rf "$old"

report() { perf report -i "$work/perf.data" --no-demangle "$@" 2>/dev/null | grep -E '^ +[0-9.]+%'; }
report --no-children --sort dso -g none >"$work/dso.txt"
report --no-children --sort dso,sym -g none >"$work/self.txt"
report --children --sort sym -g none >"$work/children.txt"
{
    echo "== $name: $(find "$dir" -type f | wc -l) files, thumbd -j $jobs"
    echo "-- by library (self)"
    head -n 8 "$work/dso.txt"
    echo "-- top functions (self)"
    head -n 25 "$work/self.txt"
    echo "-- top functions with callees"
    head -n 45 "$work/children.txt"
} | tee "$work/summary.txt"
