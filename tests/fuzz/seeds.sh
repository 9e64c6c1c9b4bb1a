#!/usr/bin/env bash
# Writes the seed corpus of the fuzz targets, all of it made here:
#
#   tests/fuzz/seeds.sh [BUILD_DIR [SEED_DIR]]
#
# BUILD_DIR (default build-fuzz) holds thumbd_gen, built by
# tests/fuzz/CMakeLists.txt; SEED_DIR (default BUILD_DIR/seeds) gets jpeg/
# and png/, emptied first. The images are those of the end-to-end tests
# (thumbd_gen: orientations, CMYK/YCCK, ICC, alpha, every PNG bit depth and
# colour type, interlaced, truncated, corrupt), sorted by their signature,
# not their name. When libjpeg-turbo-progs is installed, JPEG variants that
# thumbd_gen does not write are added: progressive (which takes the DC-only
# decoder at small sizes), custom progression scripts (separate and refined
# DC scans), restart markers, arithmetic coding, grey, chroma sampling
# factors other than 2x2, and larger progressive images that take the
# low-frequency decoder (2/8, 4/8).
#
# Every seed is IMAGE || OPTION BYTE (see fuzz_pipeline.c). Each image is
# written twice: with option byte 00 (the defaults: cover 200x200, auto
# format) and with a byte from a fixed cycle, so the first corpus already
# covers every box, fit, format and the memory gate; progressive JPEGs get
# the small boxes that take the DC-only decoder.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
seeds=${2:-$build/seeds}

gen="$build/thumbd_gen"
if [[ ! -x $gen ]]; then
  echo "seeds: $gen not found: build first (cmake -S tests/fuzz -B $build -DCMAKE_C_COMPILER=clang && cmake --build $build)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$gen" "$work/gen" >/dev/null

rm -rf "$seeds/jpeg" "$seeds/png" "$seeds/bmpico"
mkdir -p "$seeds/jpeg" "$seeds/png" "$seeds/bmpico"

# fuzz_bmpico's seeds (no option byte): a 2x2 24-bit BMP, the same
# top-down, and an ICO of a 1x1 24-bit BMP entry with its AND mask.
bmp_head='BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x02\0\0\0'
{ printf "$bmp_head"'\x02\0\0\0\x01\0\x18\0'; head -c 40 /dev/zero; } >"$seeds/bmpico/bmp24"
{ printf "$bmp_head"'\xfe\xff\xff\xff\x01\0\x18\0'; head -c 40 /dev/zero; } >"$seeds/bmpico/bmp24-topdown"
{ printf '\0\0\1\0\1\0\x01\x01\0\0\x01\0\x18\0\x30\0\0\0\x16\0\0\0'
  printf '\x28\0\0\0\x01\0\0\0\x02\0\0\0\x01\0\x18\0'; head -c 36 /dev/zero; } >"$seeds/bmpico/ico-bmp"

# 'jpeg', 'png' or '' from the first bytes, as codec_sniff does.
kind_of() {
  local head
  head=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
  case $head in
    ffd8ff*) echo jpeg ;;
    89504e470d0a1a0a) echo png ;;
    *) echo "" ;;
  esac
}

# Option bytes of the second copy, in turn: inside 16x16; cover 16x16 with
# the memory gate; inside 120x40 as JPEG; cover 1x250 with enlarge; inside
# 200x200 as PNG, quality 1; cover 120x40 as PNG with the gate; inside
# 1x250 enlarged as JPEG; cover 16x16 enlarged.
cycle=(03 42 15 0e a1 64 1f 0a)
count=0

# add_seed FILE NAME [OPT...]: FILE (any image) as seeds NAME.00 and NAME.XX
# (XX the next byte of the cycle), or as NAME.OPT for each OPT given.
add_seed() {
  local kind f=$1 name=$2
  kind=$(kind_of "$f")
  [[ -n $kind ]] || return 0
  shift 2
  local opts=("$@")
  if ((${#opts[@]} == 0)); then
    opts=(00 "${cycle[count % ${#cycle[@]}]}")
    count=$((count + 1))
  fi
  local opt
  for opt in "${opts[@]}"; do
    { cat "$f"; printf "\\x$opt"; } >"$seeds/$kind/$name.$opt"
  done
}

while IFS= read -r -d '' f; do
  rel=${f#"$work/gen/"}
  add_seed "$f" "${rel//\//_}"
done < <(find "$work/gen" -type f ! -name expected.txt -print0 | sort -z)

if command -v jpegtran >/dev/null && command -v cjpeg >/dev/null && command -v djpeg >/dev/null; then
  g="$work/gen"
  v="$work/variants"
  mkdir -p "$v"
  # Mostly from o1.jpg (400x300, Exif): big enough that a 16x16 box needs
  # only 1/8 scale, so progressive ones take the DC-only decoder with the
  # option bytes 03 (inside 16x16) and 42 (cover 16x16, memory gate).
  src="$g/orient/o1.jpg"
  # Progressive (libjpeg's default script: DC first with Al=1, then AC,
  # then the DC refinement), keeping Exif and ICC.
  jpegtran -copy all -progressive "$src" >"$v/prog_o1.jpg"
  jpegtran -copy all -progressive "$g/orient/o6.jpg" >"$v/prog_o6.jpg"
  jpegtran -copy all -progressive "$g/color/icc.jpg" >"$v/prog_icc.jpg"
  jpegtran -copy all -progressive "$g/color/cmyk_adobe.jpg" >"$v/prog_cmyk_adobe.jpg"
  jpegtran -copy all -progressive -grayscale "$g/orient/o3.jpg" >"$v/prog_gray_o3.jpg"
  jpegtran -copy none -progressive -restart 2B "$src" >"$v/prog_restart.jpg"
  jpegtran -copy none -progressive -arithmetic "$src" >"$v/prog_arith.jpg"
  jpegtran -copy none -arithmetic "$src" >"$v/arith.jpg"
  jpegtran -copy none -restart 1 "$src" >"$v/restart.jpg"
  # Progression scripts (jpegtran -scans): one DC scan per component with
  # the refinement straight after; and an interleaved DC scan at Al=3 with
  # three refinements before any AC.
  printf '%s\n' '0: 0-0, 0, 1; 1: 0-0, 0, 1; 2: 0-0, 0, 1;' '0,1,2: 0-0, 1, 0;' \
    '0: 1-63, 0, 0; 1: 1-63, 0, 0; 2: 1-63, 0, 0;' >"$v/separate.txt"
  printf '%s\n' '0,1,2: 0-0, 0, 3;' '0,1,2: 0-0, 3, 2;' '0,1,2: 0-0, 2, 1;' '0,1,2: 0-0, 1, 0;' \
    '0: 1-5, 0, 0; 0: 6-63, 0, 0; 1: 1-63, 0, 0; 2: 1-63, 0, 0;' >"$v/refine.txt"
  jpegtran -copy none -scans "$v/separate.txt" "$src" >"$v/prog_separate.jpg"
  jpegtran -copy none -scans "$v/refine.txt" "$src" >"$v/prog_refine.jpg"
  # Sampling factors thumbd_gen does not use.
  djpeg -pnm "$src" >"$v/o1.ppm"
  cjpeg -quality 75 -sample 1x1 "$v/o1.ppm" >"$v/s444.jpg"
  cjpeg -quality 75 -sample 2x1 -progressive "$v/o1.ppm" >"$v/prog_s422.jpg"
  cjpeg -quality 75 -sample 1x2 -restart 1 "$v/o1.ppm" >"$v/s440_restart.jpg"
  cjpeg -quality 75 -sample 4x1 -progressive "$v/o1.ppm" >"$v/prog_s411.jpg"
  cjpeg -quality 75 -sample 1x1,2x2,1x1 -progressive "$v/o1.ppm" >"$v/prog_chroma_bigger.jpg"
  cjpeg -quality 75 -grayscale -progressive "$v/o1.ppm" >"$v/prog_gray.jpg"
  cjpeg -quality 100 -dct int -optimize "$v/o1.ppm" >"$v/q100.jpg"
  # Larger progressive images (800x600), which the default box and 120x40
  # take to 2/8 or 4/8 scale, the low-frequency decoder (src/jpeglf.c):
  # option bytes 00, 01 (cover, inside 200x200), 04, 05 (cover, inside
  # 120x40).
  djpeg -scale 16/8 -pnm "$src" >"$v/big.ppm"
  cjpeg -quality 85 -progressive "$v/big.ppm" >"$v/lf_420.jpg"
  cjpeg -quality 90 -sample 1x1 -progressive -restart 3 "$v/big.ppm" >"$v/lf_444_restart.jpg"
  cjpeg -quality 80 -sample 2x1 -progressive "$v/big.ppm" >"$v/lf_422.jpg"
  cjpeg -quality 80 -grayscale -progressive "$v/big.ppm" >"$v/lf_gray.jpg"
  jpegtran -copy none -scans "$v/refine.txt" "$v/lf_420.jpg" >"$v/lf_refine.jpg"
  for f in "$v"/*.jpg; do
    name=$(basename "$f")
    if [[ $name == lf_* ]]; then
      add_seed "$f" "$name" 00 01 04 05
    elif [[ $name == prog_* ]]; then
      add_seed "$f" "$name" 00 03 42
    else
      add_seed "$f" "$name"
    fi
  done
else
  echo "seeds: jpegtran/cjpeg/djpeg not found (apt-get install libjpeg-turbo-progs): no progressive or arithmetic seeds" >&2
fi

echo "seeds: $(ls "$seeds/jpeg" | wc -l) JPEG and $(ls "$seeds/png" | wc -l) PNG seeds in $seeds ($(du -sk "$seeds" | cut -f1) KiB)" >&2
