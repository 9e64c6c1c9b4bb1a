#!/usr/bin/env bash
# Builds the fuzz targets, makes the seed corpus, replays every regression
# input once through each target, then fuzzes each target for SECONDS.
#
#   tests/fuzz/run.sh [SECONDS]        (default 60; CI runs 60)
#
# Fails (exit 1) on any crash, sanitizer report, leak, timeout (-timeout=10)
# or out-of-memory (-rss_limit_mb=2048), naming the reproducer. The targets
# run side by side, one per core, when there are at least two cores.
#
# Environment:
#   FUZZ_BUILD_DIR  build directory (default build-fuzz); the corpus grows in
#                   BUILD/corpus/{jpeg,png,bmpico} and is kept between runs
#   FUZZ_JOBS       N > 1: each target runs N processes (libFuzzer -fork=N)
#   FUZZ_TARGETS    which targets (default "jpeg png bmpico")
#   FUZZ_ARGS       extra libFuzzer flags, e.g. -ignore_crashes=1 to explore
#                   past a known crash (with FUZZ_JOBS > 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
build=$(realpath -m "${FUZZ_BUILD_DIR:-build-fuzz}")
jobs=${FUZZ_JOBS:-1}
read -r -a targets <<<"${FUZZ_TARGETS:-jpeg png bmpico}"
read -r -a extra <<<"${FUZZ_ARGS:-}"
t_start=$(date +%s)

# clang with libFuzzer's runtime (Debian: clang + libclang-rt-14-dev).
have_libfuzzer() {
  command -v clang >/dev/null &&
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' |
      clang -x c -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null
}
if ! have_libfuzzer; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "fuzz: installing clang and libclang-rt-14-dev" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
  fi
  have_libfuzzer || { echo "fuzz: clang with libFuzzer is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
fi
if ! command -v jpegtran >/dev/null && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
  echo "fuzz: installing libjpeg-turbo-progs (progressive seeds)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjpeg-turbo-progs >/dev/null ||
    echo "fuzz: could not install libjpeg-turbo-progs: fewer JPEG seeds" >&2
fi

echo "== fuzz: build ($build)" >&2
cmake -S tests/fuzz -B "$build" -DCMAKE_C_COMPILER=clang >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
tests/fuzz/seeds.sh "$build"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
common=(-rss_limit_mb=2048 -timeout=10)
failed=()

# 1. Every regression input, once through each target (a target ignores the
#    other format's inputs, but runs them anyway: that is cheap).
mkdir -p "$build/logs"
shopt -s nullglob
regressions=(tests/fuzz/regressions/*)
shopt -u nullglob
if ((${#regressions[@]})); then
  echo "== fuzz: replaying ${#regressions[@]} regression input(s)" >&2
  for t in "${targets[@]}"; do
    for r in "${regressions[@]}"; do
      log="$build/logs/regression-$t-$(basename "$r").log"
      if ! "$build/fuzz_$t" "${common[@]}" "$r" >"$log" 2>&1; then
        echo "fuzz: FAILED: regression $r crashes fuzz_$t (reproduce: $build/fuzz_$t $r); log $log:" >&2
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: contract)|runtime error|ALARM|out-of-memory' "$log" | head -5 >&2 || true
        failed+=("regression $r on fuzz_$t")
      fi
    done
  done
fi

# 2. Fuzz each target for SECONDS.
run_target() {
  local t=$1 corpus="$build/corpus/$1" artifacts="$build/artifacts/$1/"
  mkdir -p "$corpus" "$artifacts"
  local args=("${common[@]}" -max_total_time="$secs" -dict="tests/fuzz/$t.dict"
              -artifact_prefix="$artifacts" -print_final_stats=1)
  ((jobs > 1)) && args+=(-fork="$jobs")
  "$build/fuzz_$t" "${args[@]}" "${extra[@]}" "$corpus" "$build/seeds/$t" >"$build/logs/fuzz-$t.log" 2>&1
}

echo "== fuzz: ${targets[*]} for ${secs}s each (logs in $build/logs)" >&2
declare -A pids
parallel=$(( $(nproc) >= 2 ))
for t in "${targets[@]}"; do
  if ((parallel)); then
    run_target "$t" &
    pids[$t]=$!
  else
    run_target "$t" && pids[$t]=ok || pids[$t]=fail
  fi
done
for t in "${targets[@]}"; do
  log="$build/logs/fuzz-$t.log"
  if [[ ${pids[$t]} == ok ]] || { [[ ${pids[$t]} != fail ]] && wait "${pids[$t]}"; }; then
    # The last status line: runs, coverage, corpus, speed.
    stats=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    echo "fuzz_$t: ok: ${stats:-no status line}" >&2
  else
    echo "fuzz: FAILED: fuzz_$t (log $log):" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz: contract)|runtime error|ALARM|out-of-memory|Test unit written|Base64' "$log" | head -8 >&2 || true
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    if [[ -n $repro ]]; then
      echo "fuzz: reproducer: $repro (run: $build/fuzz_$t $repro; minimise: $build/fuzz_$t -minimize_crash=1 -runs=20000 $repro)" >&2
    fi
    failed+=("fuzz_$t")
  fi
done

echo "== fuzz: done in $(( $(date +%s) - t_start ))s" >&2
if ((${#failed[@]})); then
  printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
