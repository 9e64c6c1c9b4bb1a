#!/usr/bin/env bash
# The whole test suite: set-up and build, every test (ctest), the same tests
# built with clang, the product built with extra warnings, then every test
# under ASan+UBSan, the concurrency tests under ThreadSanitizer, the fuzz
# targets for a bounded time, the Debian package, and the container image
# with the package installed in a clean container. Warnings are errors in
# every build here (THUMBD_WERROR).
set -euo pipefail
cd "$(dirname "$0")/.."

# step NAME: times the steps (printed at the end).
times="" t_step=$EPOCHREALTIME step_name=""
step() {
  [ -z "$step_name" ] ||
    times+=$(awk -v n="$step_name" -v a="$t_step" -v b="$EPOCHREALTIME" 'BEGIN { printf "  %-34s %6.0f s\n", n, b - a }')$'\n'
  step_name=$1 t_step=$EPOCHREALTIME
  [ "$1" = end ] || echo "== $1" >&2
}

step "build, ctest"
./scripts/setup.sh build -DTHUMBD_WERROR=ON
THUMBD_TEST_STRICT=1 ctest --test-dir build --output-on-failure -j 2

# clang warns where gcc does not (and the other way round), and its thumbd
# runs the same tests (about 2 minutes on 2 cores).
step "clang: build, ctest"
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHUMBD_WERROR=ON >/dev/null
cmake --build build-clang -j "$(nproc)" >/dev/null
THUMBD_TEST_STRICT=1 ctest --test-dir build-clang --output-on-failure -j 2

# What a distribution might build with: the product (no tests) with gcc's
# stricter truncation check.
step "extra warnings: build"
cmake -S . -B build-xwarn -DCMAKE_BUILD_TYPE=Release -DTHUMBD_WERROR=ON -DTHUMBD_BUILD_TESTS=OFF \
  -DCMAKE_C_FLAGS="-Wformat-truncation=2 -Wformat-overflow=2" >/dev/null
cmake --build build-xwarn -j "$(nproc)" >/dev/null

step "ASan + UBSan (RelWithDebInfo)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTHUMBD_WERROR=ON -DTHUMBD_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$(nproc)" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  THUMBD_TEST_STRICT=1 ctest --test-dir build-asan --output-on-failure -j 2

step "TSan (pool, queue, report, scan, memos, ledger, memory budget, rate limit, lifecycle, scheduling, operations, data safety)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DTHUMBD_WERROR=ON -DTHUMBD_SANITIZE=thread >/dev/null
cmake --build build-tsan -j "$(nproc)" >/dev/null
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  THUMBD_TEST_STRICT=1 ctest --test-dir build-tsan --output-on-failure -R 'unit_(pool|queue|report|scan|memo|memgate|ratelimit|ledger)|e2e_(lifecycle|sched|ops|safety|isolation)'

step "Fuzzing the decoders (libFuzzer, 60 s a target)"
tests/fuzz/run.sh 60

step "Debian package (build, lintian)"
deb=$(./scripts/build-deb.sh build-deb)

step "Container image and package (podman)"
./scripts/container-test.sh "$deb"

step end
printf 'test.sh: all passed; times:\n%s' "$times" >&2
