#!/usr/bin/env bash
# Peak RSS and CPU time of thumbd on progressive JPEGs, --fit cover against
# --fit inside, and on a 32768x3051 progressive 4:4:4 file (the decoders of
# src/jpegdc.c and src/jpeglf.c against libjpeg's coefficient buffer).
#
#   bench/progjpeg.sh [THUMBD [JPEG_DIR [COUNT]]]
#
# THUMBD defaults to build/thumbd; JPEG_DIR to bench/corpus/jpeg (corpus.sh),
# whose COUNT (default 6) largest files are made progressive with
# jpegtran -progressive (lossless: the same pixels). Each mode runs 3 times
# with -j 1 --isolation thread (the whole decode in one process, so its
# peak RSS is the run's); printed: the least user+sys CPU seconds and the
# largest peak RSS. Scratch files go to bench/work/progjpeg/.
set -euo pipefail
cd "$(dirname "$0")/.."
thumbd=$(realpath "${1:-build/thumbd}")
src=${2:-bench/corpus/jpeg}
count=${3:-6}
work=bench/work/progjpeg
for tool in jpegtran cjpeg python3; do
  command -v $tool >/dev/null || { echo "progjpeg: $tool is needed" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "progjpeg: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/prog" "$work/bomb"
ls -S "$src"/*.jpg | head -n "$count" | while read -r f; do
  jpegtran -copy all -progressive "$f" >"$work/prog/$(basename "$f")"
done
# The bomb: 32768x3051, 4:4:4, libjpeg's default progression (its content
# does not change what the decoders hold).
python3 -c '
import sys, math
w, h = 32768, 3051
sys.stdout.buffer.write(b"P6\n%d %d\n255\n" % (w, h))
rows = []
for y in range(13):
    v = bytes(((x * 7 + y * 3) ^ (x >> 3)) & 255 for x in range(w))
    rows.append(bytes(b for t in zip(v, v[::-1], v) for b in t))
for y in range(h):
    sys.stdout.buffer.write(rows[y % 13])
' | cjpeg -quality 90 -sample 1x1 -progressive >"$work/bomb/bomb444.jpg"

measure() { # DIR FIT: "CPU s, RSS KB, decoder(s)"
  local best=999 rss=0 t c m
  for _ in 1 2 3; do
    rm -rf "$work/out"
    t=$(/usr/bin/time -f "%U %S %M" "$thumbd" --isolation thread -j 1 --fit "$2" -r "$work/report.jsonl" \
          "$1" "$work/out" 2>&1 >/dev/null | tail -1)
    c=$(echo "$t" | awk '{print $1 + $2}')
    m=$(echo "$t" | awk '{print $3}')
    best=$(echo "$c $best" | awk '{print ($1 < $2) ? $1 : $2}')
    ((m > rss)) && rss=$m
  done
  local dec
  dec=$(grep -o '"decoder":"[^"]*"\|"status":"[^"]*"' "$work/report.jsonl" | cut -d'"' -f4 | sort | uniq -c |
          awk '{printf("%s%s x%s", (NR > 1 ? ", " : ""), $2, $1)}')
  echo "$best s, $((rss / 1024)) MB peak RSS ($dec)"
}

echo "thumbd: $thumbd"
echo "progressive photos ($(ls "$work/prog" | wc -l) files, $(du -sh "$work/prog" | cut -f1)):"
for fit in cover inside; do
  echo "  --fit $fit: $(measure "$work/prog" $fit)"
done
echo "32768x3051 progressive 4:4:4 ($(du -h "$work/bomb/bomb444.jpg" | cut -f1)):"
for fit in cover inside; do
  echo "  --fit $fit: $(measure "$work/bomb" $fit)"
done
