#!/usr/bin/env bash
# The memory bound (docs/memory.md) end to end: a tree of ordinary images
# and two memory bombs (tests/gen/gen_membombs.c: a progressive 4:4:4 JPEG
# of 32768x3051, 600 MB of coefficients; a GIF of 10000x9999, a 400 MB
# frame in libvips's loader), run with default settings under a bound of
# 512 MiB, on both engines:
#
#   test_membound.sh THUMBD THUMBD_MEMBOMBS SOURCE_DIR TREEPEAK [SANITIZE [HOSTILE]]
#
# With HOSTILE (tests/gen/gen_hostile.c's generator), the hostile-input
# corpus joins the tree under hostile/: each of its images gets one record
# too, whatever its outcome, and the bound holds over it.
#
# - every image gets exactly one record; the bombs are refused, naming
#   --max-memory, the ordinary images are made; thumbd exits 1 (a run with
#   failures);
# - the process tree's peak stays under the documented bound: --max-memory
#   + 8 MiB + 72 MiB for each process (the run's and each worker's: 40 MiB
#   of libraries and state, 32 MiB of freed memory malloc keeps);
# - with a data limit the GIF's frame does not fit in and --max-memory
#   raised to admit it, the worker's failed allocation is one failed record
#   naming the limit (the backstop; not under SANITIZE).
#
# The 512 MiB bound is a memory cgroup (v2) when this process may create
# one below its own with memory.max (its memory.peak is then the tree's
# peak); else RLIMIT_DATA (ulimit -d) on thumbd, inherited by its worker
# processes, with the tree's peak sampled by TREEPEAK (bench/treepeak.py:
# the largest sum of the processes' RSS, every 2 ms) and each process's
# own peak (VmHWM) checked against what one process may hold. Under
# SANITIZE (ASan and TSan map terabytes of shadow memory) neither the limit
# nor the peaks apply: the records are checked alone.
set -euo pipefail
thumbd=$1 membombs=$2 src=$3 treepeak=$4 san=${5:-} hostile=${6:-}
py=/usr/bin/python3
[ -x "$py" ] || { echo "FAIL: $py is missing (Debian package python3)" >&2; exit 1; }
MiB=1048576
bound=$((512 * MiB))
max_memory=$((40 * MiB)) slack=$((8 * MiB)) base=$((72 * MiB))

tmp=$(mktemp -d)
cg=
cleanup() {
  [ -z "$cg" ] || rmdir "$cg" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
in=$tmp/in
mkdir -p "$in/bombs"
"$membombs" "$in/bombs"
for d in photos graphics print; do cp -r "$src/testdata/$d" "$in/"; done
images=$(find "$in" -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.gif' \) | wc -l)
[ -z "$hostile" ] || "$hostile" "$in/hostile" >/dev/null

# A memory cgroup v2 of 512 MiB below ours, if we may make one.
own=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null || true)
if [ -z "$san" ] && [ -f /sys/fs/cgroup/cgroup.controllers ] &&
   mkdir "/sys/fs/cgroup$own/thumbd-membound-$$" 2>/dev/null; then
  cg=/sys/fs/cgroup$own/thumbd-membound-$$
  if ! echo "$bound" > "$cg/memory.max" 2>/dev/null || ! echo 0 > "$cg/memory.swap.max" 2>/dev/null; then
    rmdir "$cg"
    cg=
  fi
fi
if [ -n "$cg" ]; then
  echo "bound: memory cgroup $cg, memory.max $bound"
elif [ -z "$san" ]; then
  echo "bound: RLIMIT_DATA $bound (no memory cgroup v2 this process may create)"
else
  echo "bound: none ($san build: the sanitizer's runtime maps more than any such limit)"
fi

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

run() { # engine
  local engine=$1 out=$tmp/out-$1 report=$tmp/report-$1.jsonl log=$tmp/peak-$1.log code=0
  local limit="ulimit -d $((bound / 1024)) &&"
  [ -z "$san" ] && [ -z "$cg" ] || limit=
  "$py" "$treepeak" ${cg:+--cgroup "$cg"} -- bash -c "$limit exec \"\$@\"" thumbd "$thumbd" \
    --engine "$engine" --quiet -r "$report" "$in" "$out" 2> "$log" || code=$?
  cat "$log"
  [ "$code" = 1 ] || fail "$engine: exit $code, want 1 (a run with failures)"
  "$py" - "$report" "$images" "$engine" <<'EOF' || fails=$((fails + 1))
import json, sys
report, images, engine = sys.argv[1], int(sys.argv[2]), sys.argv[3]
recs = [json.loads(l) for l in open(report)]
bad = []
if len(recs) != len(set(r["src"] for r in recs)):
    bad.append("a source has more than one record")
recs = [r for r in recs if not r["src"].startswith("hostile/")]
srcs = [r["src"] for r in recs]
if len(recs) != images or len(set(srcs)) != images:
    bad.append(f"{len(recs)} records for {len(set(srcs))} sources, want one for each of {images}")
for r in recs:
    bomb = r["src"].startswith("bombs/")
    if bomb and (r["status"] != "failed" or "over --max-memory" not in (r["error"] or "")):
        bad.append(f"{r['src']}: {r['status']} ({r['error']}), want refused over --max-memory")
    if not bomb and r["status"] != "ok":
        bad.append(f"{r['src']}: {r['status']} ({r['error']}), want ok")
for b in bad:
    print(f"FAIL: --engine {engine}: {b}", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
  [ -z "$san" ] || return 0
  local line procs rss hwm_max peak allowed mm=$max_memory
  [ "$engine" != vips ] || mm=$((128 * MiB)) # --max-memory auto with --engine vips
  line=$(grep '^treepeak:' "$log")
  procs=$(sed -n 's/.* procs=\([0-9]*\).*/\1/p' <<< "$line")
  rss=$(( $(sed -n 's/.*rss_peak_kb=\([0-9]*\).*/\1/p' <<< "$line") * 1024 ))
  hwm_max=$(( $(sed -n 's/.*hwm_max_kb=\([0-9]*\).*/\1/p' <<< "$line") * 1024 ))
  allowed=$((mm + slack + procs * base))
  [ "$rss" -le "$allowed" ] ||
    fail "$engine: the tree's RSS reached $((rss / MiB)) MiB, over the bound of $((allowed / MiB)) MiB"
  [ "$hwm_max" -le $((mm + slack + base)) ] ||
    fail "$engine: a process peaked at $((hwm_max / MiB)) MiB, over what one may hold"
  if [ -n "$cg" ]; then
    peak=$(( $(sed -n 's/.*cgroup_peak_kb=\([0-9]*\).*/\1/p' <<< "$line") * 1024 ))
    [ "$peak" -le "$allowed" ] ||
      fail "$engine: the cgroup's peak was $((peak / MiB)) MiB, over the bound of $((allowed / MiB)) MiB"
  fi
  echo "--engine $engine: $procs processes, tree RSS peak $((rss / MiB)) MiB, largest process" \
       "$((hwm_max / MiB)) MiB; bound $((allowed / MiB)) MiB"
}

# The backstop: the GIF admitted (--max-memory as its refusal asks) under a
# data limit too small for its frame. libvips's allocation fails in the
# worker process, which GLib ends with SIGTRAP: one failed record naming the
# limit, and the run goes on.
backstop() {
  local in2=$tmp/gif report=$tmp/report-backstop.jsonl code=0
  mkdir -p "$in2"
  cp "$in/bombs/big.gif" "$in2/"
  cp "$src/testdata/photos/sunset.jpg" "$in2/"
  bash -c "ulimit -d $((300 * 1024)) && exec "\$@"" thumbd "$thumbd" --max-memory 413M --quiet     -r "$report" "$in2" "$tmp/out-backstop" 2> "$tmp/backstop.log" || code=$?
  [ "$code" = 1 ] || fail "backstop: exit $code, want 1"
  grep -q '"src":"big.gif".*"status":"failed".*decoder ran out of memory or crashed: SIGTRAP.*data limit of 300 MiB' "$report" ||
    fail "backstop: big.gif's record: $(grep big.gif "$report")"
  grep -q '"src":"sunset.jpg".*"status":"ok"' "$report" || fail "backstop: sunset.jpg's record: $(grep sunset "$report")"
  echo "backstop: $(grep -o '"error":"[^"]*"' "$report" | head -1)"
}

run auto
run vips
if [ -z "$san" ]; then backstop; fi
[ "$fails" = 0 ] || { echo "FAIL: $fails check(s) failed" >&2; exit 1; }
echo "PASS"
