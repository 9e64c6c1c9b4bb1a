#!/usr/bin/env bash
# bench/workers.sh: throughput of thumbd per fixed worker count (1 2 4 8 16
# 32) on a CPU-bound corpus and on an I/O-bound one, and where --workers
# auto lands on each. Goal: auto within 10% of the best fixed count.
#
#   bench/workers.sh [options]
#
#   --corpus DIR     JPEGs to use (default: the jpeg/ folder of $BENCH_CORPUS,
#                    else of bench/corpus, which bench/corpus.sh builds)
#   --copies N       hard links of each file in the work tree (default 4:
#                    runs of a few seconds, long enough for auto to settle)
#   --latency MS     per-read latency of the I/O-bound corpus (default 5)
#   --counts "..."   fixed worker counts (default "1 2 4 8 16 32")
#   --reps R         passes; the table shows medians (default 1). On a
#                    machine shared with other work, use 3 or more
#   --results FILE   where the Markdown table goes (default bench/workers.md)
#   --thumbd PATH    the binary (default build/thumbd)
#
# The I/O-bound corpus is the same files read through bench/latency_shim.c
# (LD_PRELOAD, compiled here): every read that stdio cannot serve from its
# 64 KiB buffer, and every pread, first sleeps --latency ms, as on network
# storage. After one untimed warm-up pass (the page cache), each pass runs
# every configuration once, in an order that rotates from pass to pass;
# throughput is images per second of wall time from thumbd's summary line.
# About 4 minutes a pass on 2 cores.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

corpus=${BENCH_CORPUS:-$here/corpus}/jpeg
copies=4
latency=5
counts="1 2 4 8 16 32"
reps=1
results=$here/workers.md
thumbd=$root/build/thumbd

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "workers.sh: $*" >&2
    exit 1
}
while [ $# -gt 0 ]; do
    case $1 in
        --corpus) corpus=${2:?}; shift 2 ;;
        --copies) copies=${2:?}; shift 2 ;;
        --latency) latency=${2:?}; shift 2 ;;
        --counts) counts=${2:?}; shift 2 ;;
        --reps) reps=${2:?}; shift 2 ;;
        --results) results=${2:?}; shift 2 ;;
        --thumbd) thumbd=${2:?}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "workers.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $copies =~ ^[1-9][0-9]*$ ]] || die "--copies: not a positive count: $copies"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "--reps: not a positive count: $reps"
[ -x "$thumbd" ] || die "$thumbd is missing (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)"
[ -d "$corpus" ] || die "no corpus at $corpus (set BENCH_CORPUS, or run bench/corpus.sh)"

work=$here/work/workers # bench/work/ is shared with other bench scripts: clear only ours
rm -rf "$work"
mkdir -p "$work/in" "$work/logs"
cc -O2 -Wall -Wextra -shared -fPIC -o "$work/latency_shim.so" "$here/latency_shim.c" -ldl ||
    die "cannot compile bench/latency_shim.c"
# A private copy of the binary: a rebuild meanwhile must not change it.
cp "$thumbd" "$work/thumbd"
[ -f "$(dirname "$thumbd")/thumbd_vips.so" ] && cp "$(dirname "$thumbd")/thumbd_vips.so" "$work/"
thumbd=$work/thumbd

# The tree: COPIES hard links of every JPEG (a symbolic link where the corpus
# lies on another file system; thumbd then runs with --follow-symlinks).
follow=()
n=0
for ((c = 0; c < copies; c++)); do
    mkdir -p "$work/in/c$c"
    for f in "$corpus"/*.jpg "$corpus"/*.jpeg; do
        [ -f "$f" ] || continue
        if ! ln "$f" "$work/in/c$c/" 2>/dev/null; then
            ln -s "$f" "$work/in/c$c/"
            follow=(--follow-symlinks)
        fi
        n=$((n + 1))
    done
done
[ "$n" -gt 0 ] || die "no .jpg files in $corpus"
echo "workers.sh: $n files ($copies x $((n / copies)) from $corpus), latency $latency ms per read" >&2

# run KIND WORKERS: one pass; prints "images/s final-workers" (final-workers:
# the last count of the adaptive pool's history, or WORKERS).
run() {
    local kind=$1 w=$2 log=$work/logs/$1-$2.log
    rm -rf "$work/out"
    local -a env=()
    if [ "$kind" = io ]; then
        env=(LD_PRELOAD="$work/latency_shim.so" LATENCY_MATCH="$work/in/" LATENCY_MS="$latency")
    fi
    env "${env[@]}" "$thumbd" "${follow[@]}" -j "$w" "$work/in" "$work/out" 2>"$log" ||
        die "thumbd -j $w on the $kind corpus failed: see $log"
    local rate final
    rate=$(sed -n 's/.*images in [0-9.]* s (\([0-9.]*\) images\/s).*/\1/p' "$log")
    final=$(sed -n 's/.*over time:.* \([0-9]*\) at [0-9.]* s$/\1/p' "$log")
    [ -n "$rate" ] || die "no summary line in $log"
    echo "$rate ${final:-$w}"
}

# median "v1 v2 ...": the middle value (the lower of the two middle ones).
median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

run cpu 2 >/dev/null # warm-up: the page cache
declare -A rates=() lands=() rate=()
read -ra configs <<<"$counts auto"
for ((rep = 0; rep < reps; rep++)); do
    for kind in cpu io; do
        for ((i = 0; i < ${#configs[@]}; i++)); do
            w=${configs[$(((i + rep) % ${#configs[@]}))]}
            read -r r f < <(run "$kind" "$w")
            rates[$kind/$w]+="$r "
            lands[$kind/$w]+="${lands[$kind/$w]:+, }$f"
            printf 'workers.sh: pass %d %-3s -j %-4s %8s images/s%s\n' $((rep + 1)) "$kind" "$w" "$r" \
                "$([ "$w" = auto ] && echo " (settled at $f workers)")" >&2
        done
    done
done
for k in "${!rates[@]}"; do rate[$k]=$(median "${rates[$k]}"); done

{
    echo "thumbd $("$thumbd" --version | cut -d' ' -f2), $n JPEGs ($copies x $((n / copies)) files from" \
        "$(basename "$(dirname "$corpus")")/$(basename "$corpus")), $(nproc) CPUs; images/s" \
        "(higher is better), median of $reps pass(es). io: every read waits $latency ms" \
        "(bench/latency_shim.c)."
    echo
    printf '| corpus |'
    for w in $counts; do printf ' -j %s |' "$w"; done
    echo ' -j auto | auto settled at (each pass) | auto / best |'
    printf '|---|'
    for w in $counts; do printf -- '---:|'; done
    echo '---:|---:|---:|'
    for kind in cpu io; do
        best=0 bestw=
        printf '| %s |' "$kind"
        for w in $counts; do
            printf ' %s |' "${rate[$kind/$w]}"
            if awk -v a="${rate[$kind/$w]}" -v b="$best" 'BEGIN{exit !(a > b)}'; then
                best=${rate[$kind/$w]} bestw=$w
            fi
        done
        ratio=$(awk -v a="${rate[$kind/auto]}" -v b="$best" 'BEGIN{printf "%.0f%%", 100 * a / b}')
        echo " ${rate[$kind/auto]} | ${lands[$kind/auto]} | $ratio (best: -j $bestw) |"
    done
} >"$results"
cat "$results"
