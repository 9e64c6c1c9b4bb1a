#!/usr/bin/env bash
# bench/quality.sh: thumbnail sharpness against a full-resolution Lanczos
# reference (bench/quality.py), thumbd with each --filter beside
# vipsthumbnail, every thumbnail written as PNG.
#
#   bench/quality.sh [SRC_DIR] [SIZE]
#
# SRC_DIR defaults to bench/corpus (bench/corpus.sh), else testdata/photos;
# SIZE to 200 (the box, --fit inside: no crop to reproduce). Needs
# python3-numpy and python3-pil (bench/setup.sh) and a built build/thumbd.
# Goals (issue 17): median PSNR >= 45 dB, median detail kept >= 0.93.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src=${1:-$root/bench/corpus}
[ -d "$src" ] || src=$root/testdata/photos
size=${2:-200}
thumbd=${THUMBD:-$root/build/thumbd}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=()
for f in lanczos3 mitchell; do
    "$thumbd" --quiet --fit inside --size "${size}x${size}" -f png --name '{name}.{ext}' \
        --filter "$f" "$src" "$work/thumbd-$f"
    args+=("thumbd-$f=$work/thumbd-$f")
done
if command -v vipsthumbnail >/dev/null; then
    (cd "$src" && find . -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) -print0) |
        while IFS= read -r -d '' rel; do
            rel=${rel#./}
            mkdir -p "$work/vips/$(dirname "$rel")"
            vipsthumbnail "$src/$rel" --size "${size}x${size}" -o "$work/vips/$rel.png" ||
                echo "quality.sh: vipsthumbnail failed on $rel" >&2
        done
    args+=("vipsthumbnail=$work/vips")
else
    echo "quality.sh: vipsthumbnail not installed (bench/setup.sh): left out" >&2
fi
# Debian's python3-numpy/python3-pil are for the system python3, which a
# python3 earlier on PATH (pyenv, a venv) may not see. PYTHON overrides.
py=${PYTHON:-}
for p in /usr/bin/python3 python3; do
    [ -n "$py" ] && break
    if "$p" -c 'import numpy, PIL' 2>/dev/null; then py=$p; fi
done
[ -n "$py" ] || { echo "quality.sh: no python3 with numpy and PIL (bench/setup.sh)" >&2; exit 1; }
"$py" "$here/quality.py" "$src" "${args[@]}"
