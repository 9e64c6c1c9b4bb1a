#!/usr/bin/env bash
# bench/isolation.sh: what --isolation process costs against --isolation
# thread. Generates its own corpus once (ImageMagick's convert): 200 JPEGs
# of 800x600 (every third progressive) and 24 of 2560x1600, windows of one
# plasma image. Then, for each set, R alternating passes of thumbd -j N
# --force with each mode into a fresh OUT_DIR; prints the median wall time
# and CPU time (user + sys, children counted) of each mode and the
# throughput ratio process/thread.
#
#   bench/isolation.sh [-j N] [-r R] [--thumbd PATH] [--dir DIR]
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jobs=2 reps=7 thumbd=$here/../build/thumbd dir=${TMPDIR:-/tmp}/thumbd-isolation-bench
while [ $# -gt 0 ]; do
    case $1 in
    -j) jobs=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --thumbd) thumbd=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
    esac
done
mkdir -p "$dir"
if [ ! -e "$dir/stamp" ]; then
    convert -seed 7 -size 2560x1600 plasma:fractal "$dir/base.ppm"
    mkdir -p "$dir/small" "$dir/large"
    for i in $(seq 0 199); do
        x=$(( (i * 137) % 1760 )) y=$(( (i * 71) % 1000 ))
        il=$([ $((i % 3)) = 0 ] && echo JPEG || echo None)
        convert "$dir/base.ppm" -crop 800x600+$x+$y +repage -interlace "$il" -quality 85 \
            "$dir/small/s$i.jpg"
    done
    for i in $(seq 0 23); do
        convert "$dir/base.ppm" -roll +$((i * 97))+$((i * 53)) -quality 90 "$dir/large/l$i.jpg"
    done
    touch "$dir/stamp"
fi
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for set in small large; do
    n=$(find "$dir/$set" -name '*.jpg' | wc -l)
    : > "$dir/times-thread" ; : > "$dir/times-process"
    for r in $(seq "$reps"); do
        for mode in thread process; do
            rm -rf "$dir/out"
            /usr/bin/time -f "%e %U %S" -o "$dir/t" "$thumbd" --quiet --force -j "$jobs" \
                --isolation "$mode" "$dir/$set" "$dir/out"
            awk '{print $1, $2 + $3}' "$dir/t" >> "$dir/times-$mode"
        done
    done
    tw=$(cut -d' ' -f1 "$dir/times-thread" | median) pw=$(cut -d' ' -f1 "$dir/times-process" | median)
    tc=$(cut -d' ' -f2 "$dir/times-thread" | median) pc=$(cut -d' ' -f2 "$dir/times-process" | median)
    echo "$set ($n files, -j $jobs, median of $reps): thread ${tw}s wall ${tc}s cpu; process ${pw}s wall ${pc}s cpu;" \
         "throughput process/thread $(awk -v a="$tw" -v b="$pw" 'BEGIN {printf "%.3f", a / b}')"
done
