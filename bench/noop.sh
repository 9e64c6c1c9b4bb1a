#!/usr/bin/env bash
# What a no-op re-run costs: thumbd over a tree whose thumbnails are all up
# to date (every image `skipped`), against the floor of merely listing the
# tree (`find IN -type f | wc -l`). Goal: thumbd / find <= 3.
#
#   bench/noop.sh [FILES] [REPEATS]      (default 100000 files, 5 repeats)
#
# The tree: FILES hard links of a few small JPEGs across 100 directories
# (hard links make a big tree in seconds; thumbd treats each name as its own
# image). It is kept in bench/work/noop/ and rebuilt only when FILES changes.
# Needs build/thumbd and build/tests/thumbd_gen (scripts/setup.sh builds
# both); THUMBD=path runs another binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
thumbd=${THUMBD:-$root/build/thumbd}
gen=$root/build/tests/thumbd_gen
files=${1:-100000}
reps=${2:-5}
dirs=100
work=$root/bench/work/noop
for tool in "$thumbd" "$gen"; do
  [ -x "$tool" ] || { echo "noop.sh: $tool is missing (build first: scripts/setup.sh)" >&2; exit 1; }
done
[ "$files" -ge "$dirs" ] || { echo "noop.sh: FILES must be at least $dirs" >&2; exit 2; }
mkdir -p "$work"

# ---- the tree --------------------------------------------------------------
per_dir=$((files / dirs))
rem=$((files % dirs))   # the first rem directories get one more
if [ "$(cat "$work/in.count" 2>/dev/null || true)" != "$files" ]; then
  echo "noop.sh: building a tree of $files JPEGs in $dirs directories..." >&2
  rm -rf "$work/in" "$work/out" "$work/tmpl" "$work/seed" "$work/in.count"
  # One small valid JPEG: a thumbnail (64x64) of thumbd_gen's demo photo.
  "$gen" --samples "$work/seed/gen" >/dev/null
  "$thumbd" --quiet --size 64x64 "$work/seed/gen" "$work/seed/small" >/dev/null
  seed=$work/seed/small/photos/sunset.jpg
  # A file system caps the links of one inode (ext4: 65000): template
  # directories of per_dir links each to one inode per template, each
  # template shared by at most 20 directories.
  ntmpl=$(( (dirs + 19) / 20 ))
  mkdir -p "$work/tmpl/t0"
  cp "$seed" "$work/tmpl/t0/f00000.jpg"
  for ((i = 1; i < per_dir; i++)); do
    ln "$work/tmpl/t0/f00000.jpg" "$(printf '%s/tmpl/t0/f%05d.jpg' "$work" "$i")"
  done
  for ((t = 1; t < ntmpl; t++)); do
    cp -a "$work/tmpl/t0" "$work/tmpl/t$t"   # -a keeps the links: one new inode
  done
  mkdir -p "$work/in"
  for ((d = 0; d < dirs; d++)); do
    dir=$(printf '%s/in/d%03d' "$work" "$d")
    cp -al "$work/tmpl/t$((d % ntmpl))" "$dir"
    if [ "$d" -lt "$rem" ]; then
      ln "$dir/f00000.jpg" "$(printf '%s/f%05d.jpg' "$dir" "$per_dir")"
    fi
  done
  echo "$files" >"$work/in.count"
fi
count=$(find "$work/in" -type f | wc -l)
if [ "$count" -ne "$files" ]; then
  echo "noop.sh: the tree has $count files, expected $files (remove $work and retry)" >&2
  exit 1
fi

# ---- thumbnails once, then check that a re-run is a no-op -------------------
echo "noop.sh: making the thumbnails (once)..." >&2
t0=$EPOCHREALTIME
"$thumbd" --quiet "$work/in" "$work/out"
first=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f", b - a}')
# A run writes a directory's memo (src/memo.h) only once its thumbnails are
# older than MEMO_RACY_S (1 s): this check run, after a pause, writes them;
# the timed runs use them (thumbd --no-memo: without, a stat per thumbnail).
sleep 1.2
"$thumbd" --quiet -r "$work/check.jsonl" "$work/in" "$work/out"
skipped=$(grep -c '"status":"skipped"' "$work/check.jsonl" || true)
rm -f "$work/check.jsonl"
if [ "$skipped" -ne "$files" ]; then
  echo "noop.sh: a re-run skipped $skipped of $files images (expected all)" >&2
  exit 1
fi
memos=$(find "$work/out/.thumbd.memo" -type f | wc -l)
if [ "$memos" -ne "$dirs" ]; then
  echo "noop.sh: $memos memos in OUT/.thumbd.memo, expected one per directory ($dirs)" >&2
  exit 1
fi

# ---- timed passes, interleaved ------------------------------------------------
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f\n", b - a}'; }
: >"$work/find.txt"
: >"$work/findstat.txt"
: >"$work/thumbd.txt"
: >"$work/nomemo.txt"
for ((r = 0; r < reps; r++)); do
  t0=$EPOCHREALTIME
  n=$(find "$work/in" -type f | wc -l)
  t1=$EPOCHREALTIME
  [ "$n" -eq "$files" ] || { echo "noop.sh: find counted $n" >&2; exit 1; }
  secs "$t0" "$t1" >>"$work/find.txt"
  # For scale: find stat'ing each file once (thumbd stats each source; with
  # --no-memo, each thumbnail too).
  t0=$EPOCHREALTIME
  find "$work/in" -type f -printf '%T@\n' | wc -l >/dev/null
  t1=$EPOCHREALTIME
  secs "$t0" "$t1" >>"$work/findstat.txt"
  t0=$EPOCHREALTIME
  "$thumbd" --quiet "$work/in" "$work/out"
  t1=$EPOCHREALTIME
  secs "$t0" "$t1" >>"$work/thumbd.txt"
  t0=$EPOCHREALTIME
  "$thumbd" --quiet --no-memo "$work/in" "$work/out"
  t1=$EPOCHREALTIME
  secs "$t0" "$t1" >>"$work/nomemo.txt"
done
find_s=$(median <"$work/find.txt")
findstat_s=$(median <"$work/findstat.txt")
thumbd_s=$(median <"$work/thumbd.txt")
nomemo_s=$(median <"$work/nomemo.txt")
ratio=$(awk -v a="$thumbd_s" -v b="$find_s" 'BEGIN {printf "%.2f", a / b}')
verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 3) ? "met" : "NOT met"}')
printf '%s files in %s directories; first run (all made): %s s; median of %s:\n' \
  "$files" "$dirs" "$first" "$reps"
printf '| command | median wall s | min-max s |\n|---|---:|---|\n'
printf '| find IN -type f \\| wc -l | %.3f | %.3f-%.3f |\n' "$find_s" \
  "$(sort -n "$work/find.txt" | head -1)" "$(sort -n "$work/find.txt" | tail -1)"
printf '| find IN -type f -printf %%T@ \\| wc -l (one stat a file) | %.3f | %.3f-%.3f |\n' "$findstat_s" \
  "$(sort -n "$work/findstat.txt" | head -1)" "$(sort -n "$work/findstat.txt" | tail -1)"
printf '| thumbd --quiet IN OUT (no-op) | %.3f | %.3f-%.3f |\n' "$thumbd_s" \
  "$(sort -n "$work/thumbd.txt" | head -1)" "$(sort -n "$work/thumbd.txt" | tail -1)"
printf '| thumbd --quiet --no-memo IN OUT (no-op, a stat per thumbnail too) | %.3f | %.3f-%.3f |\n' "$nomemo_s" \
  "$(sort -n "$work/nomemo.txt" | head -1)" "$(sort -n "$work/nomemo.txt" | tail -1)"
printf 'ratio thumbd / find: %s (goal <= 3: %s); thumbd / find -printf: %s\n' "$ratio" "$verdict" \
  "$(awk -v a="$thumbd_s" -v b="$findstat_s" 'BEGIN {printf "%.2f", a / b}')"
