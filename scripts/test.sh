#!/usr/bin/env bash
# The whole test suite: set-up and build, every test (ctest), then the same
# tests under ASan+UBSan, the concurrency tests under ThreadSanitizer, the
# fuzz targets for a bounded time, and the container image.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh build
THUMBD_TEST_STRICT=1 ctest --test-dir build --output-on-failure -j 2

echo "== ASan + UBSan" >&2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DTHUMBD_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  THUMBD_TEST_STRICT=1 ctest --test-dir build-asan --output-on-failure -j 2

echo "== TSan (pool, queue, report, scan, memos, ledger, memory budget, rate limit, lifecycle, scheduling, operations, data safety)" >&2
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DTHUMBD_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$(nproc)" >/dev/null
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  THUMBD_TEST_STRICT=1 ctest --test-dir build-tsan --output-on-failure -R 'unit_(pool|queue|report|scan|memo|memgate|ratelimit|ledger)|e2e_(lifecycle|sched|ops|safety|isolation)'

echo "== Fuzzing the decoders (libFuzzer, 60 s a target)" >&2
tests/fuzz/run.sh 60

echo "== Container image (podman)" >&2
./scripts/container-test.sh
