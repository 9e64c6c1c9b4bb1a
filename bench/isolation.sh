#!/usr/bin/env bash
# bench/isolation.sh: what --isolation process costs against --isolation
# thread. Generates its own corpus once (python3 and cjpeg): 200 JPEGs of
# 800x600 (every third progressive) and 24 of 2560x1600, windows of one
# synthetic picture. Then, for each set, R alternating passes of thumbd -j N
# --force with each mode into a fresh OUT_DIR; prints the median wall time
# and CPU time (user + sys, children counted) of each mode and the
# throughput ratio process/thread. With --corpus DIR (bench/corpus.sh's),
# also its jpeg/ and png/ sets: full-size photos, where decoding dominates.
#
#   bench/isolation.sh [-j N] [-r R] [--thumbd PATH] [--dir DIR] [--corpus DIR]
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jobs=2 reps=7 thumbd=$here/../build/thumbd dir=${TMPDIR:-/tmp}/thumbd-isolation-bench corpus=
while [ $# -gt 0 ]; do
    case $1 in
    -j) jobs=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --thumbd) thumbd=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 2 ;;
    esac
done
mkdir -p "$dir"
if [ ! -e "$dir/stamp" ]; then
    mkdir -p "$dir/small" "$dir/large"
    # One 2560x1600 picture (smooth waves and noise), cut with cjpeg.
    python3 - "$dir" <<'PY'
import math, random, subprocess, sys
d = sys.argv[1]
W, H = 2560, 1600
random.seed(7)
rows = []
for y in range(H):
    n = random.randbytes(W)
    rows.append(bytes(v for x in range(W) for v in (
        (int(127 + 100 * math.sin(x / 97 + y / 53)) + n[x] // 8) & 255,
        (int(127 + 100 * math.sin(y / 71)) + n[x] // 8) & 255,
        ((x ^ y) // 4 + n[x] // 8) & 255)))
def jpeg(path, x0, y0, w, h, quality, progressive):
    ppm = b"P6 %d %d 255\n" % (w, h) + b"".join(
        rows[(y0 + y) % H][3 * x0:3 * (x0 + w)] if x0 + w <= W else
        (rows[(y0 + y) % H] * 2)[3 * x0:3 * (x0 + w)] for y in range(h))
    args = ["cjpeg", "-quality", str(quality)] + (["-progressive"] if progressive else [])
    with open(path, "wb") as f:
        subprocess.run(args, input=ppm, stdout=f, check=True)
for i in range(200):
    jpeg(f"{d}/small/s{i}.jpg", (i * 137) % 1760, (i * 71) % 1000, 800, 600, 85, i % 3 == 0)
for i in range(24):
    jpeg(f"{d}/large/l{i}.jpg", (i * 97) % W, (i * 53) % H, W, H, 90, False)
PY
    touch "$dir/stamp"
fi
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
sets=("$dir/small" "$dir/large")
[ -z "$corpus" ] || sets+=("$corpus/jpeg" "$corpus/png")
for src in "${sets[@]}"; do
    set=${src#"$dir/"}
    n=$(find "$src" -type f | wc -l)
    : > "$dir/times-thread" ; : > "$dir/times-process"
    for r in $(seq "$reps"); do
        for mode in thread process; do
            rm -rf "$dir/out"
            /usr/bin/time -f "%e %U %S" -o "$dir/t" "$thumbd" --quiet --force -j "$jobs" \
                --isolation "$mode" "$src" "$dir/out"
            awk '{print $1, $2 + $3}' "$dir/t" >> "$dir/times-$mode"
        done
    done
    tw=$(cut -d' ' -f1 "$dir/times-thread" | median) pw=$(cut -d' ' -f1 "$dir/times-process" | median)
    tc=$(cut -d' ' -f2 "$dir/times-thread" | median) pc=$(cut -d' ' -f2 "$dir/times-process" | median)
    echo "$set ($n files, -j $jobs, median of $reps): thread ${tw}s wall ${tc}s cpu; process ${pw}s wall ${pc}s cpu;" \
         "throughput process/thread $(awk -v a="$tw" -v b="$pw" 'BEGIN {printf "%.3f", a / b}')"
done
