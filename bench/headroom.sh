#!/usr/bin/env bash
# bench/headroom.sh: what the decode headroom (src/geometry.c: the DCT
# scale and the box shrink leave at least this many times the thumbnail
# for the final filter) costs in quality and saves in CPU time.
#
#   bench/headroom.sh [SRC_DIR] [JQ:SQ ...]
#
# Each JQ:SQ is a headroom in quarters for the JPEG DCT scale and for the
# box shrink (8:8 is 2x for both, the default; 6:6 is 1.5x, 4:4 is 1x). For
# each, a thumbd built with -DGEOM_JPEG_HEADROOM_Q4=JQ
# -DGEOM_SHRINK_HEADROOM_Q4=SQ (into build-headroom/JQ-SQ, kept between
# runs) thumbnails SRC_DIR (default bench/corpus) into 200x200 PNGs with
# --fit inside and --fit cover; bench/quality.py compares them with a
# full-resolution Lanczos (per format too), and the script counts the JPEGs
# whose DCT scale differs from the first variant's (the report's decoder).
# Then the CPU time (user+sys, best of REPS, default 3) of
# `thumbd -j 2 --quiet --fit FIT` writing the default JPEG thumbnails.
# Needs what quality.sh needs (bench/setup.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
src=$root/bench/corpus
if [ $# -gt 0 ] && [ -d "$1" ]; then
    src=$1
    shift
fi
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(8:8 7:8 7:7 6:8 6:6 4:8 4:4)
reps=${REPS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

py=${PYTHON:-}
for p in /usr/bin/python3 python3; do
    [ -n "$py" ] && break
    if "$p" -c 'import numpy, PIL' 2>/dev/null; then py=$p; fi
done
[ -n "$py" ] || { echo "headroom.sh: no python3 with numpy and PIL (bench/setup.sh)" >&2; exit 1; }

build_variant() { # JQ SQ -> path of its thumbd
    local b=$root/build-headroom/$1-$2
    if [ ! -x "$b/thumbd" ]; then
        cmake -S "$root" -B "$b" -DCMAKE_BUILD_TYPE=Release -DTHUMBD_BUILD_TESTS=OFF \
            -DCMAKE_C_FLAGS="-DGEOM_JPEG_HEADROOM_Q4=$1 -DGEOM_SHRINK_HEADROOM_Q4=$2" >/dev/null
        cmake --build "$b" -j2 --target thumbd >/dev/null
    fi
    echo "$b/thumbd"
}

# scales REPORT: "path scale" per JPEG (jpeg-dc-1/8 is the 1/8 scale too).
scales() {
    sed -n 's/.*"src":"\([^"]*\)".*"decoder":"jpeg-\(dc-\)\{0,1\}\([0-9]\/8\)".*/\1 \3/p' "$1" | sort
}

for fit in inside cover; do
    args=()
    for v in "${variants[@]}"; do
        jq=${v%%:*} sq=${v##*:}
        bin=$(build_variant "$jq" "$sq")
        "$bin" --quiet --fit "$fit" --size 200x200 -f png --name '{name}.{ext}' \
            --report "$work/$fit-$jq-$sq.jsonl" "$src" "$work/$fit-$jq-$sq"
        args+=("$jq:$sq=$work/$fit-$jq-$sq")
    done
    echo "== --fit $fit"
    cover=()
    [ "$fit" = cover ] && cover=(--cover 200x200)
    "$py" "$here/quality.py" "${cover[@]}" --by-format "$src" "${args[@]}"
    first=${variants[0]/:/-}
    scales "$work/$fit-$first.jsonl" >"$work/base"
    for v in "${variants[@]:1}"; do
        scales "$work/$fit-${v/:/-}.jsonl" >"$work/this"
        echo "$v: $(join "$work/base" "$work/this" | awk '$2 != $3' | wc -l) of" \
            "$(wc -l <"$work/base") JPEGs at another DCT scale than ${variants[0]}"
    done
done

echo "== CPU seconds (user+sys, best of $reps), -j 2, default JPEG output"
for fit in cover inside; do
    for v in "${variants[@]}"; do
        jq=${v%%:*} sq=${v##*:}
        bin=$(build_variant "$jq" "$sq")
        best=
        for _ in $(seq "$reps"); do
            rm -rf "$work/cpu"
            t=$( { TIMEFORMAT='%U %S'; time "$bin" --quiet -j 2 --fit "$fit" "$src" "$work/cpu" >/dev/null; } 2>&1 |
                awk 'END { printf "%.2f", $1 + $2 }')
            best=$(awk -v a="$t" -v b="${best:-$t}" 'BEGIN { print (a < b ? a : b) }')
        done
        echo "--fit $fit $v: $best s"
    done
done
