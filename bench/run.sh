#!/usr/bin/env bash
# bench/run.sh: time thumbd against other thumbnailers and two decode floors
# on the corpus that bench/corpus.sh assembles.
#
#   bench/run.sh [options]
#
#   -j N               parallelism for every tool (default 2)
#   -r R               timed repetitions; the table shows medians (default 3)
#   -b B               files per vipsthumbnail / pngfloor process (default 8)
#   --threads T        threads inside each vipsthumbnail, convert and gm
#                      process (default 1: N single-threaded processes, like
#                      thumbd's N workers)
#   --tools "A B"      only these tools (default: thumbd thumbd-cover
#                      thumbd-multi thumbd-1024 thumbd-vips vipsthumbnail
#                      convert gm djpeg pngfloor). thumbd is `--fit inside`
#                      (the mode the peers' commands match); thumbd-cover
#                      is the default mode (exactly 200x200); thumbd-multi
#                      makes three sizes from one decode (200x200 cover,
#                      400x400 and 1024x1024 inside) and thumbd-1024 the
#                      largest of them alone; thumbd-vips is thumbd
#                      --engine vips --fit inside
#   --thumbd PATH      the thumbd binary (default: build/thumbd)
#   --corpus DIR       corpus directory (default: bench/corpus; env BENCH_CORPUS)
#   --results FILE     where the Markdown report goes (default: bench/results.md);
#                      with the default, the charts go to bench/charts/
#                      (throughput.png, rss.png), which the README shows
#   --no-setup         do not run bench/setup.sh first
#   --charts-from FILE only redraw bench/charts/throughput.png and rss.png
#                      from FILE, a results.md written earlier, and exit
#
# Order of work: setup.sh (installs missing tools), corpus.sh (builds the
# corpus once), one untimed pass of every tool under GNU time for peak RSS
# (it also warms the page cache), then R timed passes. In each pass the
# tools run one after another, JPEG corpus then PNG corpus, and the order
# of the tools rotates from pass to pass. thumbd (and thumbd-vips) is
# skipped, with a message, if its binary is missing.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

jobs=2
reps=3
batch=8
threads=1
thumbd_tools="thumbd thumbd-cover thumbd-multi thumbd-1024 thumbd-vips"
tools="$thumbd_tools vipsthumbnail convert gm djpeg pngfloor"
thumbd=$root/build/thumbd
corpus=${BENCH_CORPUS:-$here/corpus}
results=$here/results.md
do_setup=1

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "run.sh: $*" >&2
    exit 1
}
is_positive() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# draw_charts REPORT: bench/charts/throughput.png and rss.png (shown by the
# README) from the results table of REPORT, a results.md this script wrote.
draw_charts() {
    local report=$1 tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/thumbd-charts.XXXXXX")
    local settings
    settings=$(sed -n 's/^- settings: \(-j [0-9]*\).*/\1/p' "$report")
    # Rows: | tool | corpus | images | written | median | range | images/s | CPU | RSS | ratio |
    # The chart compares the same 200x200 box: thumbd-multi and thumbd-1024
    # make larger thumbnails and stay out of it.
    awk -F ' *\\| *' -v ips="$tmp/ips.tsv" -v rss="$tmp/rss.tsv" '
        /^## Results/ { on = 1; next }
        /^## / { on = 0 }
        !on || $3 !~ /^(jpeg|png)$/ || $2 ~ /^thumbd-(multi|1024)/ { next }
        {
            t = $2; sub(/ ².*/, "", t)
            if (t ~ /^djpeg/) t = "djpeg -scale 1/8"
            else if (t ~ /^pngfloor/) t = "pngfloor"
            else if (t == "convert") t = "ImageMagick"
            else if (t == "gm") t = "GraphicsMagick"
            if (!(t in seen)) { seen[t] = 1; order[++n] = t }
            v_ips[t, $3] = $8; v_rss[t, $3] = $10
        }
        END {
            print "tool\tJPEG corpus\tPNG corpus" >ips
            print "tool\tJPEG corpus\tPNG corpus" >rss
            for (i = 1; i <= n; i++) {
                t = order[i]
                a = ((t, "jpeg") in v_ips) ? v_ips[t, "jpeg"] : "-"; b = ((t, "png") in v_ips) ? v_ips[t, "png"] : "-"
                print t "\t" a "\t" b >ips
                a = ((t, "jpeg") in v_rss) ? v_rss[t, "jpeg"] : "-"; b = ((t, "png") in v_rss) ? v_rss[t, "png"] : "-"
                print t "\t" a "\t" b >rss
            }
        }' "$report"
    mkdir -p "$here/charts"
    "$here/chart.sh" "$tmp/ips.tsv" "$here/charts/throughput.png" \
        "Throughput at ${settings:-the same parallelism}, 200x200 thumbnails (higher is better)" "images/s"
    "$here/chart.sh" "$tmp/rss.tsv" "$here/charts/rss.png" \
        "Peak RSS at ${settings:-the same parallelism}: thumbd's whole process, the others' largest single process (lower is better)" "MB" 48 "thumbd's goal: < 48 MB"
    rm -rf "$tmp"
}

while [ $# -gt 0 ]; do
    case $1 in
        -j) jobs=${2:?-j needs a value}; shift 2 ;;
        -j*) jobs=${1#-j}; shift ;;
        -r) reps=${2:?-r needs a value}; shift 2 ;;
        -r*) reps=${1#-r}; shift ;;
        -b) batch=${2:?-b needs a value}; shift 2 ;;
        --threads) threads=${2:?--threads needs a value}; shift 2 ;;
        --tools) tools=${2:?--tools needs a value}; shift 2 ;;
        --thumbd) thumbd=${2:?--thumbd needs a value}; shift 2 ;;
        --corpus) corpus=${2:?--corpus needs a value}; shift 2 ;;
        --results) results=${2:?--results needs a value}; shift 2 ;;
        --no-setup) do_setup=0; shift ;;
        --charts-from) draw_charts "${2:?--charts-from needs a results file}"; exit 0 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$jobs" "$reps" "$batch" "$threads"; do
    is_positive "$v" || die "not a positive count: $v"
done
read -ra tool_list <<<"$tools"
for t in "${tool_list[@]}"; do
    case $t in
        thumbd | thumbd-cover | thumbd-multi | thumbd-1024 | thumbd-vips) ;;
        vipsthumbnail | convert | gm | djpeg | pngfloor) ;;
        *) die "unknown tool: $t" ;;
    esac
done

# --- tools, corpus, helpers ---------------------------------------------------

if [ "$do_setup" -eq 1 ]; then
    "$here/setup.sh"
fi
for c in vipsthumbnail gm djpeg cc pkg-config; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing (run bench/setup.sh)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (run bench/setup.sh)"

# ImageMagick by path: a `convert` earlier on PATH may be a wrapper script,
# whose start-up would be billed to ImageMagick.
im_convert=/usr/bin/convert
[ -x "$im_convert" ] || im_convert=$(command -v convert || true)
[ -n "$im_convert" ] || die "ImageMagick's convert is missing (run bench/setup.sh)"
if [ "$(head -c 2 "$(readlink -f "$im_convert")")" = '#!' ]; then
    echo "run.sh: warning: $im_convert is a script, not ImageMagick itself" >&2
fi
gm_bin=$(command -v gm)

"$here/corpus.sh" --dir "$corpus"
corpus=$(cd "$corpus" && pwd)

work=$here/work/run  # bench/work/ is shared with other bench scripts: clear only ours
# The last run's files are deleted after the timed passes, not before (see
# measure below).
old_work=
if [ -e "$work" ]; then
    old_work=$here/work/run.old.$$
    mv "$work" "$old_work"
fi
mkdir -p "$work/out" "$work/logs"

pngfloor=$work/pngfloor
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -o "$pngfloor" "$here/pngfloor.c" $(pkg-config --cflags --libs libpng) ||
    die "cannot compile bench/pngfloor.c (is libpng-dev installed?)"

have_thumbd=0
if [[ " ${tool_list[*]} " == *" thumbd"* ]]; then
    if [ -x "$thumbd" ]; then
        have_thumbd=1
        # Run a private copy: a rebuild during the benchmark must not change
        # the binary between passes.
        thumbd_src=$thumbd
        thumbd_sha=$(sha256sum "$thumbd" | cut -c 1-12)
        cp "$thumbd" "$work/thumbd"
        # The libvips engine module, loaded from beside the binary (thumbd-vips).
        thumbd_mod=$(dirname "$thumbd")/thumbd_vips.so
        if [ -f "$thumbd_mod" ]; then
            cp "$thumbd_mod" "$work/thumbd_vips.so"
        elif [[ " ${tool_list[*]} " == *" thumbd-vips "* ]]; then
            echo "run.sh: note: no $thumbd_mod: thumbd-vips uses THUMBD_VIPS_MODULE," \
                "an installed module, or a thumbd linked with libvips" >&2
        fi
        thumbd=$work/thumbd
        "$thumbd" --version >/dev/null 2>&1 || die "$thumbd_src --version fails (a build in progress?)"
    else
        echo "run.sh: $thumbd not found: skipping the thumbd tools (build it with" \
            "cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2
        kept=()
        for t in "${tool_list[@]}"; do [[ $t == thumbd* ]] || kept+=("$t"); done
        tool_list=("${kept[@]}")
    fi
fi
[ ${#tool_list[@]} -gt 0 ] || die "no tool left to run"

declare -A count=()
for kind in jpeg png; do
    find "$corpus/$kind" -maxdepth 1 -type f -print0 | sort -z >"$work/$kind.list"
    count[$kind]=$(tr -cd '\0' <"$work/$kind.list" | wc -c)
    [ "${count[$kind]}" -gt 0 ] || die "the $kind corpus in $corpus is empty"
done

# Threads inside each process of the other tools: with -j N processes
# running at once, more than one thread each would oversubscribe the cores.
export VIPS_CONCURRENCY=$threads OMP_NUM_THREADS=$threads MAGICK_THREAD_LIMIT=$threads

# applies TOOL KIND: does TOOL run on the KIND corpus?
applies() {
    case $1/$2 in
        djpeg/png | pngfloor/jpeg) return 1 ;;
        *) return 0 ;;
    esac
}

# Runs TOOL over the KIND corpus, writing into OUT. With RSS set, each process
# runs under GNU time, which appends its peak RSS in KiB to the file RSS;
# thumbd runs under bench/treepeak.py, which measures its whole process tree
# (the run and its worker processes) and prints the peak on stderr (measure
# moves it to RSS).
run_tool() {
    local tool=$1 kind=$2 out=$3 rss=${4-}
    local list=$work/$kind.list
    local -a pfx=()
    if [ -n "$rss" ] && [[ $tool == thumbd* ]]; then
        pfx=(python3 "$here/treepeak.py" --)
    elif [ -n "$rss" ]; then
        pfx=(/usr/bin/time -a -o "$rss" -f %M)
    fi
    case $tool in
        thumbd)
            "${pfx[@]}" "$thumbd" --fit inside -j "$jobs" --quiet "$corpus/$kind" "$out"
            ;;
        thumbd-cover)
            "${pfx[@]}" "$thumbd" -j "$jobs" --quiet "$corpus/$kind" "$out"
            ;;
        thumbd-multi)
            "${pfx[@]}" "$thumbd" --size 200x200 --size 400x400:inside --size 1024x1024:inside \
                -j "$jobs" --quiet "$corpus/$kind" "$out"
            ;;
        thumbd-1024)
            "${pfx[@]}" "$thumbd" --size 1024x1024 --fit inside -j "$jobs" --quiet "$corpus/$kind" "$out"
            ;;
        thumbd-vips)
            # The same binary with libvips doing the JPEG and PNG work too.
            "${pfx[@]}" "$thumbd" --engine vips --fit inside -j "$jobs" --quiet "$corpus/$kind" "$out"
            ;;
        vipsthumbnail)
            xargs -0 -P "$jobs" -n "$batch" "${pfx[@]}" \
                vipsthumbnail -s 200x200 -o "$out/%s.jpg[Q=85]" <"$list"
            ;;
        convert)
            # One process per file: sh only names the output, then execs
            # convert in its place ($0 is the tool, $1 the file).
            # shellcheck disable=SC2016 # expanded by sh, not here
            OUT=$out xargs -0 -P "$jobs" -n 1 "${pfx[@]}" sh -c \
                'b=${1##*/}; exec "$0" "$1" -thumbnail 200x200 -quality 85 "$OUT/${b%.*}.jpg"' \
                "$im_convert" <"$list"
            ;;
        gm)
            # shellcheck disable=SC2016 # expanded by sh, not here
            OUT=$out xargs -0 -P "$jobs" -n 1 "${pfx[@]}" sh -c \
                'b=${1##*/}; exec "$0" convert "$1" -thumbnail 200x200 -quality 85 "$OUT/${b%.*}.jpg"' \
                "$gm_bin" <"$list"
            ;;
        djpeg)
            xargs -0 -P "$jobs" -n 1 "${pfx[@]}" djpeg -scale 1/8 -outfile /dev/null <"$list"
            ;;
        pngfloor)
            xargs -0 -P "$jobs" -n "$batch" "${pfx[@]}" "$pngfloor" <"$list"
            ;;
    esac
}

# children_cpu VAR: sets VAR to the user + system seconds of this shell's
# waited-for children (bash's `times`, second line), which include their own
# waited-for children: every worker process and every xargs-started process.
# `times` runs in this shell (a pipe or $(...) would run it in a subshell,
# with its own children).
children_cpu() {
    times >"$work/times.txt"
    printf -v "$1" '%s' "$(awk 'NR == 2 {
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%.3f", t
    }' "$work/times.txt")"
}

# measure PASS TOOL KIND [RSSFILE]: one run of TOOL over the KIND corpus into a
# fresh output directory; appends "pass tool kind wall rc written" to runs.tsv.
measure() {
    local pass=$1 tool=$2 kind=$3 rss=${4-}
    # A new directory per pass; nothing is deleted between passes, since on
    # ext4 creating files right after deleting many costs more kernel time.
    local out=$work/out/$tool-$kind-$pass
    local log=$work/logs/$tool-$kind-$pass.log
    local rc=0 t0 t1 wall written c0 c1 cpu
    mkdir -p "$out"
    children_cpu c0
    t0=$EPOCHREALTIME
    run_tool "$tool" "$kind" "$out" "$rss" >/dev/null 2>"$log" || rc=$?
    t1=$EPOCHREALTIME
    children_cpu c1
    if [ -n "$rss" ] && [[ $tool == thumbd* ]]; then
        sed -n 's/^treepeak: rss_peak_kb=\([0-9]*\).*/\1/p' "$log" >>"$rss"
    fi
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    # not thumbd's lock, state and ledger files
    written=$(find "$out" -name '.thumbd.*' -prune -o -type f -print | wc -l)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$pass" "$tool" "$kind" "$wall" "$rc" "$written" "$cpu" >>"$work/runs.tsv"
    printf 'run.sh: %-5s %-4s %-13s %8s s' "$pass" "$kind" "$tool" "$wall" >&2
    if [ "$rc" -ne 0 ]; then
        printf '  exit %s, first lines of %s:\n' "$rc" "${log#"$root"/}" >&2
        head -n 3 "$log" | sed 's/^/    /' >&2
    else
        printf '\n' >&2
    fi
}

# The corpus into the page cache before anything is timed.
cat "$corpus"/jpeg/* "$corpus"/png/* >/dev/null

: >"$work/runs.tsv"
echo "run.sh: -j $jobs, $reps timed passes, ${count[jpeg]} JPEG and ${count[png]} PNG files;" \
    "tools: ${tool_list[*]}" >&2

# Pass "rss": every process under GNU time; not timed, and it warms up caches.
for kind in jpeg png; do
    for tool in "${tool_list[@]}"; do
        applies "$tool" "$kind" || continue
        measure rss "$tool" "$kind" "$work/rss-$tool-$kind.txt"
    done
done

# Other load on the machine spoils timings; measure how much there was:
# busy CPU time of the whole machine (steal included) from /proc/stat, less
# the CPU time of this script's own children.
load_begin

# Timed passes, interleaved: tool order rotates by one each pass.
n=${#tool_list[@]}
for ((p = 1; p <= reps; p++)); do
    order=()
    for ((i = 0; i < n; i++)); do
        order+=("${tool_list[$(((i + p - 1) % n))]}")
    done
    for kind in jpeg png; do
        for tool in "${order[@]}"; do
            applies "$tool" "$kind" || continue
            measure "$p" "$tool" "$kind"
        done
    done
done

load_end run.sh
[ -z "$old_work" ] || rm -rf "$old_work"

# --- report -------------------------------------------------------------------

# stat TOOL KIND: "median min max worst_rc min_written" over the timed passes.
stat() {
    awk -F '\t' -v t="$1" -v k="$2" '
        $1 != "rss" && $2 == t && $3 == k {
            w[++n] = $4
            if ($5 > rc) rc = $5
            if (!seen++ || $6 < wr) wr = $6
        }
        END {
            if (n == 0) exit 1
            # insertion sort: n is small
            for (i = 2; i <= n; i++) {
                v = w[i]
                for (j = i - 1; j >= 1 && w[j] > v; j--) w[j + 1] = w[j]
                w[j + 1] = v
            }
            med = (n % 2) ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2
            printf "%.3f %.3f %.3f %d %d\n", med, w[1], w[n], rc, wr
        }' "$work/runs.tsv"
}

# cpu_median TOOL KIND: median CPU seconds (user + system, children counted)
# over the timed passes.
cpu_median() {
    awk -F '\t' -v t="$1" -v k="$2" '$1 != "rss" && $2 == t && $3 == k { print $7 }' "$work/runs.tsv" |
        sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# peak_rss_kib TOOL KIND: the largest peak RSS GNU time recorded.
peak_rss_kib() {
    local f=$work/rss-$1-$2.txt
    [ -f "$f" ] || { echo 0; return; }
    # GNU time adds "Command exited with non-zero status" lines on failures.
    awk '/^[0-9]+$/ && $1 > m { m = $1 } END { print m + 0 }' "$f"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
# goal_ratio A B KIND: ratio of A's to B's median CPU on KIND, or n/a when
# either exited non-zero in a pass (a failed image skews the time).
goal_ratio() {
    if [ "${rcs[$1/$3]-1}" -ne 0 ] || [ "${rcs[$2/$3]-1}" -ne 0 ]; then
        echo n/a
    else
        ratio "${cpu[$1/$3]-}" "${cpu[$2/$3]-}"
    fi
}
verdict() { # VALUE OP GOAL
    awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
        if (v == "" || v == "n/a") { print "n/a"; exit }
        ok = (op == "<=") ? v <= g : (op == ">=") ? v >= g : v < g
        print ok ? "met" : "**missed**"
    }'
}

declare -A med=() ips=() rss_mb=() cpu=() rcs=()
table=$work/table.md
{
    echo "| tool | corpus | images | thumbnails written | median wall s | min–max s | images/s | CPU s | peak RSS MB ¹ | wall ÷ thumbd's |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for kind in jpeg png; do
        for tool in $thumbd_tools vipsthumbnail convert gm djpeg pngfloor; do
            [[ " ${tool_list[*]} " == *" $tool "* ]] || continue
            applies "$tool" "$kind" || continue
            read -r m lo hi rc wr < <(stat "$tool" "$kind")
            med[$tool/$kind]=$m
            cpu[$tool/$kind]=$(cpu_median "$tool" "$kind")
            rcs[$tool/$kind]=$rc
            ips[$tool/$kind]=$(awk -v n="${count[$kind]}" -v m="$m" 'BEGIN { printf "%.1f", n / m }')
            rss_mb[$tool/$kind]=$(awk -v k="$(peak_rss_kib "$tool" "$kind")" 'BEGIN { printf "%.1f", k / 1024 }')
            name=$tool
            case $tool in
                djpeg) name="djpeg -scale 1/8 (JPEG decode floor)"; written="—" ;;
                pngfloor) name="pngfloor (PNG decode floor)"; written="—" ;;
                *) written=$wr ;;
            esac
            [ "$rc" -eq 0 ] || name="$name ²"
            if [ "$have_thumbd" -eq 1 ]; then
                rel=$(ratio "$m" "${med[thumbd/$kind]-}")
            else
                rel="n/a"
            fi
            printf '| %s | %s | %s | %s | %s | %s–%s | %s | %s | %s | %s |\n' \
                "$name" "$kind" "${count[$kind]}" "$written" "$m" "$lo" "$hi" \
                "${ips[$tool/$kind]}" "${cpu[$tool/$kind]}" "${rss_mb[$tool/$kind]}" "$rel"
        done
    done
    echo
    echo "¹ thumbd tools: the whole process tree (the run and its $jobs worker processes), the" \
        "largest sum of their RSS in samples 2 ms apart (bench/treepeak.py). Other tools: the" \
        "largest single process (GNU time around each invocation, in a separate" \
        "untimed pass); xargs runs $jobs at once, so together they can use up to" \
        "$jobs times this."
} >"$table"
if grep -q ' ² |' "$table"; then
    echo "² exited non-zero in at least one pass (see bench/work/run/logs/)." >>"$table"
fi

# The project's targets (n/a where a tool did not run).
t_floor=$(ratio "${ips[thumbd/jpeg]-}" "${ips[djpeg/jpeg]-}")
t_vj=$(ratio "${ips[thumbd/jpeg]-}" "${ips[vipsthumbnail/jpeg]-}")
t_pfloor=$(ratio "${ips[thumbd/png]-}" "${ips[pngfloor/png]-}")
t_vp=$(ratio "${ips[thumbd/png]-}" "${ips[vipsthumbnail/png]-}")
targets=$work/targets.md
{
    echo "| target (n/a: a tool did not run, or exited non-zero: see ²) | measured | goal | verdict |"
    echo "| --- | ---: | ---: | --- |"
    echo "| thumbd JPEG images/s ÷ djpeg -scale 1/8 images/s | $t_floor | ≥ 2.3 | $(verdict "$t_floor" '>=' 2.3) |"
    echo "| thumbd JPEG images/s ÷ vipsthumbnail JPEG images/s | $t_vj | ≥ 3 | $(verdict "$t_vj" '>=' 3) |"
    echo "| thumbd PNG images/s ÷ pngfloor images/s | $t_pfloor | ≥ 1.5 | $(verdict "$t_pfloor" '>=' 1.5) |"
    echo "| thumbd PNG images/s ÷ vipsthumbnail PNG images/s | $t_vp | ≥ 3 | $(verdict "$t_vp" '>=' 3) |"
    for kind in jpeg png; do
        t=$(goal_ratio thumbd-cover thumbd "$kind")
        echo "| $kind: CPU of the default mode (cover) ÷ CPU of --fit inside | $t | ≤ 1.15 | $(verdict "$t" '<=' 1.15) |"
        t=$(goal_ratio thumbd-multi thumbd-1024 "$kind")
        echo "| $kind: CPU of three sizes ÷ CPU of the largest alone | $t | ≤ 1.2 | $(verdict "$t" '<=' 1.2) |"
    done
    # The RSS goal is the 200x200 modes'; the larger sizes get a larger
    # --max-memory (auto: 160 bytes a pixel of the box) and are only shown.
    for tool in thumbd thumbd-cover; do
        for kind in jpeg png; do
            [ -n "${rss_mb[$tool/$kind]-}" ] || continue
            t=${rss_mb[$tool/$kind]}
            [ "${rcs[$tool/$kind]}" -eq 0 ] || t=n/a
            echo "| $tool, $kind: peak RSS MB (process tree) | $t | < 48 | $(verdict "$t" '<' 48) |"
        done
    done
    if [ "$have_thumbd" -eq 0 ]; then
        echo
        echo "thumbd was not run ($thumbd missing), so no target could be checked."
    fi
} >"$targets"

version() { "$@" 2>&1 | head -n 1 || true; }
{
    echo "# thumbd benchmark results"
    echo
    echo "Made by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md for what is measured."
    echo
    echo "- machine: $(getconf _NPROCESSORS_ONLN) CPUs ($(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r), $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)"
    echo "- settings: -j $jobs for every tool, $reps timed passes (medians shown), $threads thread(s) inside each vipsthumbnail/convert/gm process, $batch files per vipsthumbnail/pngfloor process, 200x200 box, JPEG quality 85"
    echo "- load: $load_note"
    if [ "$have_thumbd" -eq 1 ]; then
        echo "- thumbd: $(version "$thumbd" --version) ($thumbd_src, sha256 $thumbd_sha...)"
    else
        echo "- thumbd: not run ($thumbd missing)"
    fi
    echo "- vipsthumbnail: $(version vipsthumbnail --version); ImageMagick: $(version "$im_convert" -version | sed 's/^Version: //'); $(version "$gm_bin" version)"
    echo "- djpeg: $(version djpeg -version); pngfloor: libpng $(pkg-config --modversion libpng), $(version cc --version)"
    echo
    echo "## Corpus"
    echo
    echo '```'
    "$here/corpus.sh" --dir "$corpus" --summary
    echo '```'
    echo
    echo "## Results"
    echo
    cat "$table"
    echo
    echo "## Targets"
    echo
    cat "$targets"
    echo
    echo "## Commands (IN: the corpus directory or file, OUT: a fresh directory)"
    echo
    echo '```'
    echo "thumbd --fit inside -j $jobs --quiet IN OUT"
    echo "thumbd -j $jobs --quiet IN OUT                                                      # thumbd-cover"
    echo "thumbd --size 200x200 --size 400x400:inside --size 1024x1024:inside -j $jobs --quiet IN OUT  # thumbd-multi"
    echo "thumbd --size 1024x1024 --fit inside -j $jobs --quiet IN OUT                        # thumbd-1024"
    echo "thumbd --engine vips --fit inside -j $jobs --quiet IN OUT                          # thumbd-vips"
    echo "xargs -0 -P $jobs -n $batch vipsthumbnail -s 200x200 -o 'OUT/%s.jpg[Q=85]'      # VIPS_CONCURRENCY=$threads"
    echo "xargs -0 -P $jobs -n 1 convert IN -thumbnail 200x200 -quality 85 OUT/NAME.jpg     # MAGICK_THREAD_LIMIT=$threads"
    echo "xargs -0 -P $jobs -n 1 gm convert IN -thumbnail 200x200 -quality 85 OUT/NAME.jpg  # OMP_NUM_THREADS=$threads"
    echo "xargs -0 -P $jobs -n 1 djpeg -scale 1/8 -outfile /dev/null IN"
    echo "xargs -0 -P $jobs -n $batch pngfloor IN...                                          # bench/pngfloor.c"
    echo '```'
} >"$results"

# The charts are the published results': a trial run elsewhere leaves them.
if [ "$results" = "$here/results.md" ]; then
    draw_charts "$results"
fi

echo
cat "$table"
echo
cat "$targets"
echo
echo "run.sh: $load_note"
echo "run.sh: report written to $results"
