#!/usr/bin/env bash
# The memory bound (docs/memory.md), measured: peak memory of thumbd's
# whole process tree (the run's process and its worker processes) for
#
#   corpus      a default run over the benchmark corpus (JPEG and PNG photos)
#   prog444     the progressive 4:4:4 JPEG of 32768x3051 (600 MB of
#               coefficients), default settings: refused
#   gif         the GIF of 10000x9999 (a 400 MB frame in libvips), default
#               settings: refused
#   prog444-fit, gif-fit   the same with --max-memory raised to what the
#               refusal asked for: decoded, within the bound
#   corpus-vips the corpus through --engine vips
#
#   bench/memory.sh            (BENCH_CORPUS=dir, THUMBD=binary, JOBS=N)
#
# Each line: the tree's RSS peak (the largest sum of the processes' RSS,
# sampled every 2 ms by bench/treepeak.py), the largest single process's
# peak (VmHWM), how many processes, the documented bound for them
# (--max-memory + 8 MiB + 72 MiB a process: docs/memory.md), the
# run's time and its outcome. With a memory cgroup v2 we may create below
# ours, also its memory.peak (pages counted once). Needs build/thumbd,
# build/tests/thumbd_membombs, python3 and the corpus (bench/corpus.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
thumbd=${THUMBD:-$root/build/thumbd}
bombs=${MEMBOMBS:-$root/build/tests/thumbd_membombs}
corpus=${BENCH_CORPUS:-$here/corpus}
jobs=${JOBS:-}
work=$here/work/memory
[ -x "$thumbd" ] || { echo "memory.sh: $thumbd is missing (build first)" >&2; exit 1; }
[ -x "$bombs" ] || { echo "memory.sh: $bombs is missing (build the tests)" >&2; exit 1; }
[ -d "$corpus/jpeg" ] || { echo "memory.sh: no corpus in $corpus (run bench/corpus.sh)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work/prog444" "$work/gif" "$work/bombs"
"$bombs" "$work/bombs"
mv "$work/bombs/prog444.jpg" "$work/prog444/"
mv "$work/bombs/big.gif" "$work/gif/"

cg=
own=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null || true)
if [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup$own/thumbd-memory-$$" 2>/dev/null; then
  cg=/sys/fs/cgroup$own/thumbd-memory-$$
  [ -f "$cg/memory.peak" ] || { rmdir "$cg"; cg=; }
fi
trap '[ -z "$cg" ] || rmdir "$cg" 2>/dev/null || true' EXIT

MiB=1048576
printf '%-12s %9s %9s %5s %9s %8s %8s  %s\n' case tree_MiB proc_MiB procs bound_MiB cgroup_MiB time_s outcome
measure() { # name max_memory_MiB in [thumbd options...]
  local name=$1 mm=$2 in=$3 out=$work/out-$1 log=$work/$1.log
  shift 3
  rm -rf "$out"
  local t0 t1 code=0
  t0=$(date +%s.%N)
  /usr/bin/python3 "$here/treepeak.py" ${cg:+--cgroup "$cg"} -- "$thumbd" ${jobs:+-j "$jobs"} \
    --max-memory "${mm}M" "$@" "$in" "$out" 2> "$log" || code=$?
  t1=$(date +%s.%N)
  local line rss hwm procs cgp outcome
  line=$(grep '^treepeak:' "$log")
  rss=$(sed -n 's/.*rss_peak_kb=\([0-9]*\).*/\1/p' <<< "$line")
  hwm=$(sed -n 's/.*hwm_max_kb=\([0-9]*\).*/\1/p' <<< "$line")
  procs=$(sed -n 's/.* procs=\([0-9]*\).*/\1/p' <<< "$line")
  cgp=$(sed -n 's/.*cgroup_peak_kb=\([0-9]*\).*/\1/p' <<< "$line")
  outcome=$(grep -o '[0-9]* ok, [0-9]* failed' "$log" | head -1)
  printf '%-12s %9.1f %9.1f %5d %9d %8s %8.2f  %s (exit %d)\n' "$name" "$(bc -l <<< "$rss / 1024")" \
    "$(bc -l <<< "$hwm / 1024")" "$procs" $((mm + 8 + 72 * procs)) "${cgp:+$((cgp / 1024))}" \
    "$(bc -l <<< "$t1 - $t0")" "$outcome" "$code"
}

measure corpus 40 "$corpus"
measure prog444 40 "$work/prog444"
measure gif 40 "$work/gif"
need() { # what the refusal asked for, in MiB
  grep -o 'raise --max-memory to [0-9]*M' "$work/$1.log" | grep -o '[0-9]*' | head -1
}
measure prog444-fit "$(need prog444)" "$work/prog444"
measure gif-fit "$(need gif)" "$work/gif"
measure corpus-vips 40 "$corpus" --engine vips
