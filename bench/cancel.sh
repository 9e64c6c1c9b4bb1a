#!/usr/bin/env bash
# How long cancellation takes: from a task's timeout (or the run's deadline)
# to the moment the task stops, on large generated images. Goal: < 100 ms.
#
#   bench/cancel.sh [REPEATS]      (default 5)
#
# Needs build/thumbd and build/tests/thumbd_gen (scripts/setup.sh builds both)
# and jpegtran (libjpeg-turbo-progs) for the progressive variant.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
thumbd=$root/build/thumbd
gen=$root/build/tests/thumbd_gen
reps=${1:-5}
"$root/bench/setup.sh" >/dev/null
work=$root/bench/work/cancel
mkdir -p "$work"

if [ ! -f "$work/in/big.jpg" ]; then
  rm -rf "$work/gen" "$work/in"
  "$gen" --big "$work/gen" >/dev/null
  mkdir -p "$work/in"
  cp "$work/gen/big/big.jpg" "$work/in/big.jpg"
  cp "$work/gen/big/big.png" "$work/in/big.png"
  jpegtran -progressive -outfile "$work/in/big_progressive.jpg" "$work/in/big.jpg"
  rm -rf "$work/gen"
fi

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
max() { sort -n | tail -1; }

# The task starts about when the process does, so the latency is the task's
# queue wait + run time past its budget.
latency_ms() { # report budget_s
  jq -r --argjson b "$2" 'select(.status=="cancelled") | (.queue_ms + .total_ms - $b*1000)' "$1"
}

printf '| image | trigger | budget s | median ms | max ms |\n|---|---|---|---|---|\n'
# A box of 1000x1000 makes every decode a full one (1/4 scale or more: no
# DC-only shortcut), the slowest case to interrupt.
size=1000x1000
for img in big.jpg big_progressive.jpg big.png; do
  rm -rf "$work/in1" "$work/out"
  mkdir -p "$work/in1"
  ln "$work/in/$img" "$work/in1/$img"
  # The budget: half of what the task takes when left alone.
  "$thumbd" -j1 --size $size --quiet -r "$work/r.jsonl" "$work/in1" "$work/out"
  budget=$(jq -r '(.total_ms / 2000 * 1000 | floor) / 1000' "$work/r.jsonl")
  for trigger in task-timeout deadline; do
    : >"$work/lat.txt"
    for _ in $(seq "$reps"); do
      rm -rf "$work/in1" "$work/out"
      mkdir -p "$work/in1"
      ln "$work/in/$img" "$work/in1/$img"
      if [ "$trigger" = task-timeout ]; then
        "$thumbd" -j1 --size $size --quiet --task-timeout $budget -r "$work/r.jsonl" "$work/in1" "$work/out" || true
      else
        "$thumbd" -j1 --size $size --quiet --deadline $budget --shutdown-timeout 0 -r "$work/r.jsonl" "$work/in1" "$work/out" || true
      fi
      latency_ms "$work/r.jsonl" $budget >>"$work/lat.txt"
    done
    n=$(wc -l <"$work/lat.txt")
    if [ "$n" -eq 0 ]; then
      printf '| %s | %s | %s | finished before the budget | |\n' "$img" "$trigger" "$budget"
    else
      printf '| %s | %s | %s | %.1f | %.1f |\n' "$img" "$trigger" "$budget" \
        "$(median <"$work/lat.txt")" "$(max <"$work/lat.txt")"
    fi
  done
done
