#!/usr/bin/env bash
# Checks the top CMakeLists.txt's build options by configuring the source tree
# into temporary build folders and reading the compile commands:
#
#   - THUMBD_BUILD_TESTS=OFF configures on a machine without libcmocka-dev
#     and libstb-dev (a pkg-config that does not know them);
#   - warnings are errors only with THUMBD_WERROR=ON (default OFF);
#   - THUMBD_SANITIZE instruments the product and the test programs, with or
#     without THUMBD_WERROR, and leaves the LD_PRELOAD shims alone.
#
#   test_build_options.sh SOURCE_DIR CMAKE
set -euo pipefail

src=$1
cmake=$2

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# configure DIR ARG...: configures $src into $tmp/DIR, compile_commands.json on.
configure() {
    local dir=$tmp/$1
    shift
    "$cmake" -S "$src" -B "$dir" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$@" >"$dir.log" 2>&1 ||
        fail "cmake $* failed: $(tail -n 5 "$dir.log")"
}
# command DIR FILE: the compile command of source FILE (a path under $src).
command_of() {
    python3 - "$tmp/$1/compile_commands.json" "$src/$2" <<'EOF'
import json, os, sys
cmds = json.load(open(sys.argv[1]))
want = os.path.realpath(sys.argv[2])
hits = [c["command"] for c in cmds if os.path.realpath(c["file"]) == want]
print(hits[0] if hits else "")
EOF
}
has() { [[ " $1 " == *" $2"* ]]; }

# Without cmocka and stb, as on a machine that builds only the product.
cat >"$tmp/pkg-config" <<'EOF'
#!/bin/sh
for a; do case $a in cmocka*|stb*) exit 1 ;; esac; done
exec pkg-config "$@"
EOF
chmod +x "$tmp/pkg-config"
configure notests -DTHUMBD_BUILD_TESTS=OFF -DPKG_CONFIG_EXECUTABLE="$tmp/pkg-config"
if "$cmake" -S "$src" -B "$tmp/tests-nocmocka" -DPKG_CONFIG_EXECUTABLE="$tmp/pkg-config" >/dev/null 2>&1; then
    fail "THUMBD_BUILD_TESTS=ON configured without cmocka: the pkg-config wrapper hides nothing"
fi

# Warnings: errors only when asked.
configure default
c=$(command_of default src/pipeline.c)
[ -n "$c" ] || fail "no compile command for src/pipeline.c"
has "$c" -Wall || fail "default build lacks -Wall: $c"
if has "$c" -Werror; then fail "default build has -Werror: $c"; fi
configure werror -DTHUMBD_WERROR=ON
has "$(command_of werror src/pipeline.c)" -Werror || fail "THUMBD_WERROR=ON gives no -Werror"
has "$(command_of werror tests/gen/gen_hostile.c)" -Werror || fail "THUMBD_WERROR=ON: no -Werror on tests/gen"

# Sanitizers: their own option, whatever THUMBD_WERROR says.
configure asan -DTHUMBD_SANITIZE=address,undefined
for f in src/pipeline.c src/vipsengine.c src/main.c tests/test_queue.c tests/test_e2e.c tests/gen/gen_testdata.c \
         tests/fuzz/replay.c; do
    has "$(command_of asan "$f")" -fsanitize=address,undefined || fail "THUMBD_SANITIZE: $f not instrumented"
done
for f in tests/block_shim.c tests/flaky_shim.c tests/rewrite_shim.c; do
    c=$(command_of asan "$f")
    [ -n "$c" ] || fail "no compile command for $f"
    if has "$c" -fsanitize; then fail "THUMBD_SANITIZE instruments the LD_PRELOAD shim $f"; fi
done
if has "$(command_of asan src/pipeline.c)" -Werror; then fail "THUMBD_SANITIZE turned on -Werror"; fi
grep -q -- '-fsanitize=address,undefined' "$tmp/asan/CMakeFiles/thumbd.dir/link.txt" ||
    fail "THUMBD_SANITIZE: thumbd is not linked with the sanitizers"

echo "build_options: THUMBD_BUILD_TESTS, THUMBD_WERROR and THUMBD_SANITIZE OK"
