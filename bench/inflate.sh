#!/usr/bin/env bash
# bench/inflate.sh: zlib (streaming, as libpng uses it) against libdeflate
# (whole buffer) on the IDAT streams of the PNG corpus; see inflate.c.
#
#   bench/inflate.sh [-r REPEATS]      (default 5; the best of them is kept)
#
# Compiles bench/inflate.c against zlib and libdeflate (zlib1g-dev,
# libdeflate-dev: bench/setup.sh), runs it over bench/corpus/png (env
# BENCH_CORPUS), writes bench/results-inflate.md and bench/charts/inflate.png.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=${BENCH_CORPUS:-$here/corpus}
reps=5
case ${1-} in
    -r) reps=${2:?-r needs a value} ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    "") ;;
    *) echo "inflate.sh: unknown option: $1" >&2; exit 2 ;;
esac

"$here/corpus.sh" --dir "$corpus" >/dev/null
work=$here/work/inflate
rm -rf "$work"
mkdir -p "$work"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -o "$work/inflate" "$here/inflate.c" $(pkg-config --cflags --libs zlib libdeflate) ||
    { echo "inflate.sh: cannot compile inflate.c (bench/setup.sh installs zlib1g-dev and libdeflate-dev)" >&2; exit 1; }
find "$corpus/png" -maxdepth 1 -type f -print0 | sort -z | xargs -0 cat >/dev/null
find "$corpus/png" -maxdepth 1 -type f -print0 | sort -z |
    xargs -0 "$work/inflate" -r "$reps" >"$work/inflate.tsv" 2>"$work/summary.txt"
cat "$work/summary.txt" >&2

# Totals, and the same split by whether the whole-buffer way fits the
# default 40 MiB --max-memory budget.
totals=$(awk -F '\t' -v budget=$((40 << 20)) '
    NR == 1 { next }
    {
        k = ($13 <= budget) ? "fits" : "over"
        for (j = 0; j < 2; j++) {
            g = j ? k : "all"
            n[g]++; raw[g] += $8; idat[g] += $7; s[g] += $9; w[g] += $10; d[g] += $11
            if ($13 > mx[g]) mx[g] = $13
            if ($12 > ms[g]) ms[g] = $12
        }
    }
    END {
        split("all fits over", G, " ")
        for (i = 1; i <= 3; i++) {
            g = G[i]; if (!n[g]) continue
            mb = raw[g] / 1e6
            printf "| %s | %d | %.1f | %.1f | %.0f | %.0f | %.0f | %.2f | %.0f KiB | %.1f MiB |\n",
                (g == "all") ? "all" : (g == "fits") ? "whole-buffer fits 40 MiB" : "whole-buffer over 40 MiB",
                n[g], idat[g] / 1e6, mb, mb / (s[g] / 1e3), mb / (w[g] / 1e3), mb / (d[g] / 1e3),
                s[g] / d[g], ms[g] / 1024, mx[g] / 1048576
        }
    }' "$work/inflate.tsv")
chart=$work/chart.tsv
awk -F '\t' 'NR > 1 { raw += $8; s += $9; w += $10; d += $11 }
    END {
        print "way\tMB/s of inflated output"
        printf "zlib, streaming (libpng)\t%.0f\n", raw / 1e3 / s
        printf "zlib, whole buffer\t%.0f\n", raw / 1e3 / w
        printf "libdeflate 1.14, whole buffer\t%.0f\n", raw / 1e3 / d
    }' "$work/inflate.tsv" >"$chart"

{
    echo "# Inflating the PNG corpus: zlib against libdeflate"
    echo
    echo "Made by \`bench/inflate.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') ($(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo));"
    echo "zlib $(pkg-config --modversion zlib), libdeflate $(pkg-config --modversion libdeflate); best of $reps, thread CPU time; see bench/README.md."
    echo
    echo "| files | n | IDAT MB | inflated MB | zlib streaming MB/s | zlib whole MB/s | libdeflate MB/s | libdeflate speedup over streaming zlib | memory, streaming (max) | memory, whole buffer (max) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    echo "$totals"
    echo
    echo "Memory: streaming = zlib's state and 32 KiB window, an 8 KiB input buffer and one row;"
    echo "whole buffer = the whole IDAT stream plus the whole inflated (still filtered) image."
    echo "Per file: bench/work/inflate/inflate.tsv."
} >"$here/results-inflate.md"
mkdir -p "$here/charts"
"$here/chart.sh" "$chart" "$here/charts/inflate.png" \
    "Inflating the IDAT streams of the PNG corpus (higher is better)" "MB/s of inflated data"
cat "$here/results-inflate.md"
