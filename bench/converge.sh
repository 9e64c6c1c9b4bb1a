#!/usr/bin/env bash
# Convergence: a backlog that needs about ten --deadline slots, run in a
# loop from an empty OUT_DIR until a run finishes (exit 0). Prints the
# number of runs it took and the thumbnails made by each, then the same
# after an option change (-q 70: every thumbnail is made again, once).
# Goal: about ten runs, and the thumbnails made add up to the tree's size
# (nothing made twice).
#
#   bench/converge.sh [FILES] [SLOTS]     (default 600 files, 10 slots)
#
# The tree: FILES hard links of one 2400x1600 JPEG in 10 directories
# (thumbd treats each name as its own image). The deadline is a tenth
# (1/SLOTS) of what one uninterrupted run over the tree takes, measured
# first. Needs build/thumbd and cjpeg (libjpeg-turbo-progs); THUMBD=path
# runs another binary. Results go to stdout and bench/results-converge.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
thumbd=${THUMBD:-$root/build/thumbd}
files=${1:-600}
slots=${2:-10}
work=$root/bench/work/converge
[ -x "$thumbd" ] || { echo "converge.sh: $thumbd is missing (build first: scripts/setup.sh)" >&2; exit 1; }
command -v cjpeg >/dev/null || { echo "converge.sh: cjpeg is missing (apt-get install libjpeg-turbo-progs)" >&2; exit 1; }
mkdir -p "$work"

if [ "$(cat "$work/in.count" 2>/dev/null || true)" != "$files" ]; then
  rm -rf "$work/in" "$work/in.count"
  mkdir -p "$work/in"
  # A smooth 2400x1600 gradient with some texture, as a binary PPM.
  LC_ALL=C awk 'BEGIN { w = 2400; h = 1600; printf "P6\n%d %d\n255\n", w, h
    for (y = 0; y < h; y++) for (x = 0; x < w; x++)
      printf "%c%c%c", (x * 255 / w + (x * y) % 7) % 256, (y * 255 / h) % 256, ((x + y) % 64) * 4 }' \
    >"$work/seed.ppm"
  cjpeg -quality 90 "$work/seed.ppm" >"$work/seed.jpg"
  for ((i = 0; i < files; i++)); do
    d=$(printf '%s/in/d%02d' "$work" $((i % 10)))
    mkdir -p "$d"
    ln "$work/seed.jpg" "$(printf '%s/f%05d.jpg' "$d" "$i")"
  done
  echo "$files" >"$work/in.count"
fi

# One uninterrupted run sets the slot.
rm -rf "$work/out"
t0=$EPOCHREALTIME
"$thumbd" --quiet "$work/in" "$work/out"
full=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
slot=$(awk -v f="$full" -v s="$slots" 'BEGIN { printf "%.3f", f / s }')

# Runs until one exits 0; prints "runs: N; made per run: a b c ...; total T".
loop() {
  local quality=$1 runs=0 total=0 per="" code made
  while :; do
    runs=$((runs + 1))
    code=0
    "$thumbd" --quiet -q "$quality" --deadline "$slot" --shutdown-timeout 30 \
      -r "$work/report.jsonl" "$work/in" "$work/out" || code=$?
    made=$(grep -c '"status":"ok"' "$work/report.jsonl" || true)
    total=$((total + made))
    per="$per $made"
    [ "$code" -eq 0 ] && break
    [ "$code" -eq 124 ] || { echo "converge.sh: exit $code" >&2; exit 1; }
    [ "$runs" -lt 1000 ] || { echo "converge.sh: no convergence in 1000 runs" >&2; exit 1; }
  done
  echo "runs: $runs; thumbnails made per run:$per; in all $total of $files"
}

rm -rf "$work/out"
first=$(loop 85)
second=$(loop 70)
{
  echo "# bench/converge.sh, $(date -u +%F): $files images, one run $full s, --deadline $slot s (1/$slots)"
  echo
  echo "- from an empty OUT_DIR: $first"
  echo "- after an option change (-q 70): $second"
} | tee "$root/bench/results-converge.md"
