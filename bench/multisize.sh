#!/usr/bin/env bash
# bench/multisize.sh: what several sizes from one decode cost. Times, in CPU
# seconds (user + sys of thumbd and its worker processes), thumbd making
# three sizes of every JPEG of the wallpaper corpus (bench/corpus.sh) in one
# run, against the largest size alone, and against three runs of one size
# each (what several sizes cost without --size given more than once).
#
#   bench/multisize.sh [options]
#
#   -j N               thumbd's workers (default 2)
#   -r R               timed repetitions; the table shows medians (default 5)
#   --sizes "A B C"    the sizes, the largest last (default "200x200 400x400
#                      1024x1024")
#   --thumbd PATH      the thumbd binary (default: build/thumbd)
#   --corpus DIR       corpus directory (default: bench/corpus; env BENCH_CORPUS)
#   --no-corpus        do not run bench/corpus.sh (DIR/jpeg must exist)
#
# Each pass writes into a fresh OUT_DIR under a temporary directory, so
# every image is made (nothing is up to date); the order of the three
# variants rotates from pass to pass. One untimed pass first warms the page
# cache. The goal: three sizes cost at most 1.2 x the largest alone.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

jobs=2
reps=5
sizes="200x200 400x400 1024x1024"
thumbd=$root/build/thumbd
corpus=${BENCH_CORPUS:-$here/corpus}
do_corpus=1

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "multisize.sh: $*" >&2
    exit 1
}
is_positive() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
    case $1 in
    -j) is_positive "${2:-}" || die "-j needs a positive count"; jobs=$2; shift 2 ;;
    -r) is_positive "${2:-}" || die "-r needs a positive count"; reps=$2; shift 2 ;;
    --sizes) sizes=${2:?--sizes needs a list}; shift 2 ;;
    --thumbd) thumbd=${2:?--thumbd needs a path}; shift 2 ;;
    --corpus) corpus=${2:?--corpus needs a directory}; shift 2 ;;
    --no-corpus) do_corpus=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
done

[ -x "$thumbd" ] || die "no thumbd at $thumbd (build it first)"
[ "$do_corpus" = 1 ] && "$here/corpus.sh" --dir "$corpus" >&2
[ -d "$corpus/jpeg" ] || die "no corpus at $corpus/jpeg"
work=$(mktemp -d "${TMPDIR:-/tmp}/thumbd-multisize.XXXXXX")
trap 'rm -rf "$work"' EXIT

read -r -a size_list <<<"$sizes"
largest=${size_list[${#size_list[@]} - 1]}
multi_args=()
for s in "${size_list[@]}"; do multi_args+=(--size "$s"); done

# run_variant NAME: one pass of variant NAME into a fresh OUT_DIR; appends
# its CPU seconds to $work/NAME.cpu.
run_variant() {
    local name=$1 out=$work/out
    rm -rf "$out"
    children_cpu_s
    local before=$own
    case $name in
    multi) "$thumbd" --quiet -j "$jobs" "${multi_args[@]}" "$corpus/jpeg" "$out" ;;
    largest) "$thumbd" --quiet -j "$jobs" --size "$largest" "$corpus/jpeg" "$out" ;;
    separate)
        for s in "${size_list[@]}"; do
            "$thumbd" --quiet -j "$jobs" --size "$s" "$corpus/jpeg" "$out/$s"
        done
        ;;
    esac
    children_cpu_s
    awk -v a="$before" -v b="$own" 'BEGIN { printf "%.3f\n", b - a }' >>"$work/$name.cpu"
}

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

n=$(find "$corpus/jpeg" -type f | wc -l)
echo "multisize.sh: $n JPEGs, sizes $sizes, -j $jobs, $reps passes" >&2
run_variant multi
rm -f "$work"/*.cpu
variants=(largest multi separate)
load_begin
for ((r = 0; r < reps; r++)); do
    for ((i = 0; i < 3; i++)); do
        run_variant "${variants[(i + r) % 3]}"
    done
done
load_end multisize.sh

m_largest=$(median "$work/largest.cpu")
m_multi=$(median "$work/multi.cpu")
m_separate=$(median "$work/separate.cpu")
ratio=$(awk -v a="$m_multi" -v b="$m_largest" 'BEGIN { printf "%.2f", a / b }')
sep_ratio=$(awk -v a="$m_separate" -v b="$m_largest" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2 ? "met" : "NOT met") }')
cat <<EOF
| variant | CPU s (median of $reps) | x largest alone |
| --- | --- | --- |
| --size $largest alone | $m_largest | 1.00 |
| ${multi_args[*]} (one run) | $m_multi | $ratio |
| the same sizes, one run each | $m_separate | $sep_ratio |

$n JPEGs of $corpus/jpeg, -j $jobs; goal <= 1.2 x: $verdict. $load_note.
EOF
