#!/usr/bin/env bash
# bench/setup.sh: install, from Debian's repositories, whatever the benchmark
# needs and the machine lacks. Installs nothing that is already there.
#
#   bench/setup.sh            install what is missing (needs root)
#   bench/setup.sh --check    only list what is missing; exit 1 if anything is
set -euo pipefail

check_only=0
case "${1-}" in
    --check) check_only=1 ;;
    "") ;;
    -h | --help)
        sed -n '2,6s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "setup.sh: unknown option: $1" >&2
        exit 2
        ;;
esac

# need PACKAGE TEST...: PACKAGE is missing if the command TEST fails.
missing=()
need() {
    local pkg=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
}

is_exe() { [ -x "$1" ]; }

need libvips-tools command -v vipsthumbnail
# /usr/bin/convert, not just any convert on PATH: a wrapper script in front of
# the real ImageMagick would distort its timings (run.sh calls it by path).
need imagemagick is_exe /usr/bin/convert
need graphicsmagick command -v gm
need libjpeg-turbo-progs command -v djpeg
need time is_exe /usr/bin/time
need file command -v file
need gcc command -v cc
need pkg-config command -v pkg-config
need libpng-dev pkg-config --exists libpng
need jq command -v jq   # cancel.sh reads the report with it
need gnuplot-nox command -v gnuplot                       # chart.sh: bench/charts/*.png
need libjpeg62-turbo-dev pkg-config --exists libjpeg      # jpegfloor.c (small.sh)
need zlib1g-dev pkg-config --exists zlib                  # inflate.c
need libdeflate-dev test -f /usr/include/libdeflate.h     # inflate.c
need linux-perf command -v perf                           # profile.sh
need python3-numpy /usr/bin/python3 -c 'import numpy'    # quality.py
need python3-pil /usr/bin/python3 -c 'import PIL'        # quality.py

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup.sh: every tool the benchmark needs is installed"
    exit 0
fi

if [ "$check_only" -eq 1 ]; then
    echo "setup.sh: missing packages: ${missing[*]}"
    exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "setup.sh: missing packages: ${missing[*]}" >&2
        echo "setup.sh: run this script as root (or install them yourself)" >&2
        exit 1
    fi
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
