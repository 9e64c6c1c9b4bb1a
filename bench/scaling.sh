#!/usr/bin/env bash
# bench/scaling.sh: does thumbd scale from 1 worker to 2? Goal: with -j 2,
# at least 1.9 times the throughput of -j 1 on a 2-core machine.
#
#   bench/scaling.sh [options]
#
#   -r R               timed repetitions; the table shows medians (default 3)
#   --corpora "A B"    which corpora (default: "jpeg png small jpeg-x4
#                      png-x4"; jpeg and png are bench/corpus.sh's, small is
#                      bench/small.sh's; jpeg-xN and png-xN are N copies of
#                      jpeg or png, hard links in N directories, kept in
#                      bench/work/scaling-src/)
#   --thumbd PATH      the thumbd binary (default: build/thumbd)
#   --corpus DIR       the wallpaper corpus (default: bench/corpus; env
#                      BENCH_CORPUS)
#   --small-dir DIR    the small corpus (default: bench/corpus-small; env
#                      BENCH_SMALL_CORPUS); built by small.sh --build-only if
#                      missing
#   --results FILE     the Markdown report (default: bench/results-scaling.md)
#   --out DIR          write the thumbnails under DIR (default: under
#                      bench/work/scaling/out): another file system, a tmpfs
#                      say, separates thumbd's own scaling from the disk's
#
# Why the copies: the jpeg and png corpora take 0.4-0.9 s at -j 2 and their
# longest task is 7-10 % of the work, so the last seconds of a run, one
# worker finishing a large image while the other has nothing left, cap
# their speedup near 1.92 whatever the workers do (the "predicted" column).
# Four copies make that tail a quarter as large: the rows of throughput.
#
# Each pass runs, on each corpus, `thumbd --fit inside --quiet -j 1`, the
# same with -j 2, and -j 2 --max-memory 0 (no decoder memory budget: shows
# what the budget's "a larger image waits, then runs alone" costs), in an
# order that rotates from pass to pass, each into a new directory. Wall time
# and CPU time (user + sys) of each run are recorded. The verdict takes the
# median over the passes of each pass's -j 1 ÷ -j 2 ratio (the two runs of
# a pass are seconds apart, so a drift of the machine's speed over the
# session cancels out); the ratio of the medians is shown beside it.
#
# Then, untimed, one -j 1 and one -j 2 run per corpus with --report, to see
# where a shortfall comes from:
#   - time outside tasks: -j 1 wall time less the sum of the tasks' total_ms
#     (start-up, the directory scan before the first task, exit): serial;
#   - slowdown per task: sum of total_ms at -j 2 over that at -j 1 (above 1:
#     two tasks at once each take longer: shared caches, memory bandwidth,
#     kernel locks, or a task waiting in the memory budget, which counts in
#     its decode_ms);
#   - schedule: the -j 1 task times replayed on 2 workers in scan order
#     (each task to the first free worker), plus the serial time: the
#     speedup the order and sizes of the tasks allow, tail effect included.
# It also times a run over an empty directory: the fixed cost of a run.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

reps=3
corpora="jpeg png small jpeg-x4 png-x4"
thumbd=$root/build/thumbd
corpus=${BENCH_CORPUS:-$here/corpus}
small_dir=${BENCH_SMALL_CORPUS:-$here/corpus-small}
results=$here/results-scaling.md
out_base=

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "scaling.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        -r) reps=${2:?-r needs a value}; shift 2 ;;
        --corpora) corpora=${2:?--corpora needs a value}; shift 2 ;;
        --thumbd) thumbd=${2:?--thumbd needs a value}; shift 2 ;;
        --corpus) corpus=${2:?--corpus needs a value}; shift 2 ;;
        --small-dir) small_dir=${2:?--small-dir needs a value}; shift 2 ;;
        --results) results=${2:?--results needs a value}; shift 2 ;;
        --out) out_base=${2:?--out needs a value}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "scaling.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "not a positive count: $reps"
read -ra corpus_list <<<"$corpora"
[ -x "$thumbd" ] || die "$thumbd not found (build it: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)"

# copies FROM TO N: N directories copy1..copyN under TO, each holding hard
# links (copies across file systems) of FROM's files; made once.
copies() {
    local from=$1 to=$2 n=$3 k f
    [ -e "$to/.complete" ] && return 0
    rm -rf "$to"
    for ((k = 1; k <= n; k++)); do
        mkdir -p "$to/copy$k"
        for f in "$from"/*; do
            ln "$f" "$to/copy$k/" 2>/dev/null || cp "$f" "$to/copy$k/"
        done
    done
    touch "$to/.complete"
}

declare -A src=() count=()
for c in "${corpus_list[@]}"; do
    case $c in
        jpeg | png)
            "$here/corpus.sh" --dir "$corpus" >/dev/null
            src[$c]=$(cd "$corpus/$c" && pwd)
            ;;
        small)
            BENCH_CORPUS=$corpus "$here/small.sh" --build-only --no-setup --dir "$small_dir" 2>/dev/null ||
                die "cannot build the small corpus (bench/small.sh --build-only)"
            src[$c]=$(cd "$small_dir" && pwd)
            ;;
        jpeg-x[1-9]* | png-x[1-9]*)
            base=${c%-x*} n=${c##*-x}
            [[ $n =~ ^[1-9][0-9]*$ ]] || die "unknown corpus: $c"
            "$here/corpus.sh" --dir "$corpus" >/dev/null
            src[$c]=$here/work/scaling-src/$c
            copies "$corpus/$base" "${src[$c]}" "$n"
            ;;
        *) die "unknown corpus: $c (jpeg, png, small, jpeg-xN or png-xN)" ;;
    esac
    count[$c]=$(find "${src[$c]}" -type f \( -name '*.jpg' -o -name '*.png' \) | wc -l)
    find "${src[$c]}" -type f -exec cat {} + >/dev/null # into the page cache
done

work=$here/work/scaling
# Last run's output is deleted after the timed passes, not before: creating
# files right after deleting many is slow on ext4 (see bench/README.md).
old_work=
if [ -e "$work" ]; then
    old_work=$here/work/scaling.old.$$
    mv "$work" "$old_work"
fi
outroot=$work/out
if [ -n "$out_base" ]; then
    mkdir -p "$out_base" || die "cannot create $out_base"
    outroot=$(cd "$out_base" && pwd)/thumbd-scaling.$$
fi
mkdir -p "$outroot" "$work/logs"
out_fs=$(df -T "$outroot" | awk 'NR == 2 { print $2 " (" $7 ")" }')
thumbd_src=$thumbd
thumbd_sha=$(sha256sum "$thumbd" | cut -c 1-12)
cp "$thumbd" "$work/thumbd"
thumbd=$work/thumbd


configs=(j1 j2 j2-nogate)
# The control: djpeg -scale 1/8 (run.sh's JPEG floor), one process per file,
# 1 and 2 at a time, in the same passes over the JPEG corpus. Separate
# processes share nothing but the machine: how far it lets two of anything
# scale during this session.
ref_configs=(ref1 ref2)
# run_config CONFIG CORPUS OUT [thumbd options...]
run_config() {
    local cfg=$1 c=$2 out=$3
    shift 3
    case $cfg in
        j1) "$thumbd" --fit inside --quiet -j 1 "$@" "${src[$c]}" "$out" ;;
        j2) "$thumbd" --fit inside --quiet -j 2 "$@" "${src[$c]}" "$out" ;;
        j2-nogate) "$thumbd" --fit inside --quiet -j 2 --max-memory 0 "$@" "${src[$c]}" "$out" ;;
        ref1 | ref2)
            find "${src[$c]}" -type f -name '*.jpg' -print0 |
                xargs -0 -P "${cfg#ref}" -n 1 djpeg -scale 1/8 -outfile /dev/null ;;
    esac
}

: >"$work/runs.tsv"
measure() { # PASS CONFIG CORPUS
    local out=$outroot/$3-$2-$1 rc=0 t0 t1 c0 c1 wall cpu
    mkdir -p "$out"
    children_cpu_s
    c0=$own
    t0=$EPOCHREALTIME
    run_config "$2" "$3" "$out" >/dev/null 2>"$work/logs/$3-$2-$1.log" || rc=$?
    t1=$EPOCHREALTIME
    children_cpu_s
    c1=$own
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$wall" "$cpu" "$rc" >>"$work/runs.tsv"
    printf 'scaling.sh: %-3s %-5s %-10s %8s s wall %8s s CPU\n' "$1" "$3" "$2" "$wall" "$cpu" >&2
    [ "$rc" -eq 0 ] || { echo "scaling.sh: exit $rc:" >&2; head -n 3 "$work/logs/$3-$2-$1.log" >&2; }
}

echo "scaling.sh: $reps timed passes over: $(for c in "${corpus_list[@]}"; do printf '%s (%s files) ' "$c" "${count[$c]}"; done)" >&2
# Warm-up, untimed: binaries and caches.
for c in "${corpus_list[@]}"; do
    run_config j2 "$c" "$outroot/warm-$c" >/dev/null 2>&1 || die "thumbd fails on the $c corpus"
done

load_begin
for ((p = 1; p <= reps; p++)); do
    for c in "${corpus_list[@]}"; do
        cfgs=("${configs[@]}")
        case $c in jpeg*) cfgs+=("${ref_configs[@]}") ;; esac
        for ((i = 0; i < ${#cfgs[@]}; i++)); do
            measure "$p" "${cfgs[$(((i + p - 1) % ${#cfgs[@]}))]}" "$c"
        done
    done
done
load_end scaling.sh
ncpu=$(getconf _NPROCESSORS_ONLN)

# Diagnostic runs with a report (untimed in the table; their wall time is
# used only with their own report).
declare -A dwall=()
for c in "${corpus_list[@]}"; do
    for cfg in j1 j2; do
        t0=$EPOCHREALTIME
        run_config "$cfg" "$c" "$outroot/diag-$c-$cfg" --report "$work/report-$c-$cfg.jsonl" >/dev/null 2>&1 ||
            die "thumbd failed (diagnostic run, $c, $cfg)"
        t1=$EPOCHREALTIME
        dwall[$c/$cfg]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    done
done
# The fixed cost of a run: thumbd over an empty directory, median of 5.
mkdir -p "$work/empty"
empty_s=$(for i in 1 2 3 4 5; do
    t0=$EPOCHREALTIME
    "$thumbd" --quiet -j 2 "$work/empty" "$outroot/empty-$i" >/dev/null 2>&1 || true
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
done | sort -n | sed -n 3p)
[ -z "$old_work" ] || rm -rf "$old_work"
[ -z "$out_base" ] || rm -rf "$outroot"

# --- report ---------------------------------------------------------------------

# stat CONFIG CORPUS: "median_wall min max median_cpu worst_rc"
stat() {
    awk -F '\t' -v k="$1" -v c="$2" '
        function med(a, n,   i, j, v) {
            for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $2 == k && $3 == c { w[++n] = $4; u[n] = $5; if ($6 > rc) rc = $6 }
        END { if (n == 0) exit 1; m = med(w, n); printf "%.3f %.3f %.3f %.3f %d\n", m, w[1], w[n], med(u, n), rc }
    ' "$work/runs.tsv"
}

# paired_of CORPUS A B: "speedup cpu_ratio": the medians, over the passes, of
# A wall ÷ B wall and of B CPU ÷ A CPU within each pass. The two runs
# of a pass are close in time, so a machine whose speed drifts over the
# session (other virtual machines on the host) skews them less than a ratio
# of medians taken over all passes.
paired() { paired_of "$1" j1 "$2"; }
paired_of() {
    awk -F '\t' -v c="$1" -v a="$2" -v k="$3" '
        function med(a, n,   i, j, v) {
            for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $3 == c && $2 == a { w1[$1] = $4; u1[$1] = $5 }
        $3 == c && $2 == k { w2[$1] = $4; u2[$1] = $5 }
        END {
            for (p in w1) if ((p in w2) && w2[p] > 0 && u1[p] > 0) { n++; sp[n] = w1[p] / w2[p]; cr[n] = u2[p] / u1[p] }
            if (n == 0) exit 1
            printf "%.2f %.2f\n", med(sp, n), med(cr, n)
        }' "$work/runs.tsv"
}

# task_ms REPORT: the total_ms of every task, in id (scan) order, one a line.
task_ms() {
    awk '{
        id = $0; sub(/.*"id":/, "", id); sub(/[^0-9].*/, "", id)
        t = $0; if (!sub(/.*"total_ms":/, "", t)) next; sub(/[^0-9.].*/, "", t)
        print id "\t" t
    }' "$1" | sort -n | cut -f 2
}

table=$work/table.md
diag=$work/diag.md
chart=$work/chart.tsv
printf 'corpus\t-j 2 (default)\t-j 2 --max-memory 0\tpredicted from -j 1 task times\n' >"$chart" # per-pass ratios
{
    echo "| corpus | images | -j 1 wall s (min–max) | -j 2 wall s (min–max) | speedup: ratio of medians | speedup: median of per-pass ratios | goal (per-pass ratios) | -j 2 CPU ÷ -j 1 CPU (per pass) | -j 2 cores busy | -j 2 --max-memory 0: wall s, speedup |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"
} >"$table"
{
    echo "| corpus | -j 1: wall s, sum of tasks s, outside tasks s | -j 2: sum of tasks ÷ -j 1's | longest task s (share of the sum) | predicted speedup (schedule + serial only) |"
    echo "| --- | ---: | ---: | ---: | ---: |"
} >"$diag"
for c in "${corpus_list[@]}"; do
    read -r w1 lo1 hi1 u1 rc1 < <(stat j1 "$c")
    read -r w2 lo2 hi2 u2 rc2 < <(stat j2 "$c")
    read -r w3 _ _ _ rc3 < <(stat j2-nogate "$c")
    sp=$(awk -v a="$w1" -v b="$w2" 'BEGIN { printf "%.2f", a / b }')
    sp3=$(awk -v a="$w1" -v b="$w3" 'BEGIN { printf "%.2f", a / b }')
    read -r psp pcr < <(paired "$c" j2)
    read -r psp3 _ < <(paired "$c" j2-nogate)
    verdict=$(awk -v s="$psp" 'BEGIN { print (s >= 1.9) ? "≥ 1.9: met" : "≥ 1.9: **missed**" }')
    [ "$((rc1 + rc2 + rc3))" -eq 0 ] || verdict="$verdict (a run failed, see bench/work/scaling/logs)"
    printf '| %s | %s | %s (%s–%s) | %s (%s–%s) | %s | %s | %s | %s | %s | %s, %s |\n' "$c" "${count[$c]}" \
        "$w1" "$lo1" "$hi1" "$w2" "$lo2" "$hi2" "$sp" "$psp" "$verdict" "$pcr" \
        "$(awk -v u="$u2" -v w="$w2" 'BEGIN { printf "%.2f", u / w }')" "$w3" "$sp3" >>"$table"
    if [[ $c == jpeg* ]]; then
        read -r r1 rlo1 rhi1 ru1 _ < <(stat ref1 "$c")
        read -r r2 rlo2 rhi2 ru2 _ < <(stat ref2 "$c")
        read -r rsp rcr < <(paired_of "$c" ref1 ref2)
        printf '| %s | %s | %s (%s–%s) | %s (%s–%s) | %s | %s | %s | %s | %s | %s |\n' \
            "control: djpeg -scale 1/8, 1 and 2 processes" "${count[$c]}" "$r1" "$rlo1" "$rhi1" \
            "$r2" "$rlo2" "$rhi2" "$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.2f", a / b }')" "$rsp" \
            "what the machine allowed" "$rcr" "$(awk -v u="$ru2" -v w="$r2" 'BEGIN { printf "%.2f", u / w }')" \
            "—" >>"$table"
    fi

    task_ms "$work/report-$c-j1.jsonl" >"$work/tasks-$c-j1.txt"
    task_ms "$work/report-$c-j2.jsonl" >"$work/tasks-$c-j2.txt"
    read -r sum1 outside longest share pred < <(awk -v wall="${dwall[$c/j1]}" '
        { t[NR] = $1 / 1000; sum += t[NR]; if (t[NR] > longest) longest = t[NR] }
        END {
            outside = wall - sum; if (outside < 0) outside = 0
            w[0] = 0; w[1] = 0   # list scheduling in scan order on 2 workers
            for (i = 1; i <= NR; i++) { k = (w[0] <= w[1]) ? 0 : 1; w[k] += t[i] }
            mk = (w[0] > w[1]) ? w[0] : w[1]
            printf "%.3f %.3f %.3f %.0f %.2f\n", sum, outside, longest, 100 * longest / sum, (outside + sum) / (outside + mk)
        }' "$work/tasks-$c-j1.txt")
    sum2=$(awk '{ s += $1 / 1000 } END { printf "%.3f", s }' "$work/tasks-$c-j2.txt")
    printf '| %s | %s, %s, %s | %s | %s (%s %%) | %s |\n' "$c" "${dwall[$c/j1]}" "$sum1" "$outside" \
        "$(awk -v a="$sum2" -v b="$sum1" 'BEGIN { printf "%.2f", a / b }')" "$longest" "$share" "$pred" >>"$diag"
    printf '%s\t%s\t%s\t%s\n' "$c" "$psp" "$psp3" "$pred" >>"$chart"
done

{
    echo "# thumbd: 1 worker against 2"
    echo
    echo "Made by \`bench/scaling.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md."
    echo
    echo "- machine: $ncpu CPUs ($(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)"
    echo "- thumbd: $("$thumbd" --version 2>&1 | head -n 1) ($thumbd_src, sha256 $thumbd_sha...), --fit inside 200x200, $reps timed passes (medians)"
    echo "- thumbnails written to: $out_fs"
    echo "- load: $load_note"
    echo
    cat "$table"
    echo
    echo "Cores busy: CPU time over wall time (2.00 = both cores all the time)."
    echo
    echo "A run over an empty directory takes $empty_s s (median of 5): the fixed cost of" \
        "every run, whatever -j (start-up and shut-down; 50 ms in code that noticed the" \
        "end of a run only at the supervisor's next 50 ms tick, fixed in 4dace25)."
    echo
    echo "## Where a shortfall comes from (one untimed run each with --report)"
    echo
    cat "$diag"
} >"$results"

mkdir -p "$here/charts"
"$here/chart.sh" "$chart" "$here/charts/scaling.png" \
    "thumbd speedup, 2 workers over 1 (2 cores)" "wall -j 1 ÷ wall -j 2" 1.9
echo >&2
cat "$results"
