#!/usr/bin/env bash
# bench/small.sh: many small images. Derives a few thousand 800x600 JPEGs
# from the wallpaper corpus (bench/corpus.sh), then times thumbd against two
# JPEG decode floors on them and works out thumbd's cost per image.
#
#   bench/small.sh [options]
#
#   -j N               parallelism for every tool (default 2)
#   -r R               timed repetitions; the table shows medians (default 3)
#   -n B               files per jpegfloor process (default 64)
#   --count N          how many 800x600 files to derive, at most (default 2400)
#   --build-only       derive the small corpus (if needed) and stop
#   --force            derive it again even if it is up to date
#   --thumbd PATH      the thumbd binary (default: build/thumbd)
#   --corpus DIR       the wallpaper corpus to derive from (default:
#                      bench/corpus; env BENCH_CORPUS)
#   --dir DIR          where the small corpus goes (default: bench/corpus-small;
#                      env BENCH_SMALL_CORPUS)
#   --results FILE     the Markdown report (default: bench/results-small.md)
#   --no-setup         do not run bench/setup.sh first
#
# The small corpus: every 800x600 window, on a 400x300 grid, of each
# wallpaper JPEG at 100 %, 75 % and 50 % of its size (ImageMagick's convert:
# resize, crop, strip metadata), round robin over the sources up to --count,
# written at quality 85 (4:2:0), every third one progressive, 100 files per
# subdirectory. Built once; a stamp records the settings.
#
# Tools, each over the whole small corpus: thumbd (--fit inside -j N);
# thumbd again on the same output, every thumbnail up to date (what scanning,
# stat and the report cost alone); djpeg -scale 1/8 with one process per file
# (xargs -n 1, as run.sh runs it); jpegfloor (bench/jpegfloor.c) at 1/8 with
# B files per process, the fairer floor, which the 1.1x goal is checked
# against; and jpegfloor at 4/8, the scale thumbd itself decodes 800x600 at
# for a 200x200 box. Wall time and CPU time (user + sys of the tool's
# processes) are recorded for each pass.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

jobs=2
reps=3
batch=64
want=2400
build_only=0
force=0
thumbd=$root/build/thumbd
corpus=${BENCH_CORPUS:-$here/corpus}
dir=${BENCH_SMALL_CORPUS:-$here/corpus-small}
results=$here/results-small.md
do_setup=1

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
die() {
    echo "small.sh: $*" >&2
    exit 1
}
is_positive() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
    case $1 in
        -j) jobs=${2:?-j needs a value}; shift 2 ;;
        -r) reps=${2:?-r needs a value}; shift 2 ;;
        -n) batch=${2:?-n needs a value}; shift 2 ;;
        --count) want=${2:?--count needs a value}; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --force) force=1; shift ;;
        --thumbd) thumbd=${2:?--thumbd needs a value}; shift 2 ;;
        --corpus) corpus=${2:?--corpus needs a value}; shift 2 ;;
        --dir) dir=${2:?--dir needs a value}; shift 2 ;;
        --results) results=${2:?--results needs a value}; shift 2 ;;
        --no-setup) do_setup=0; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "small.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
for v in "$jobs" "$reps" "$batch" "$want"; do
    is_positive "$v" || die "not a positive count: $v"
done

if [ "$do_setup" -eq 1 ]; then
    "$here/setup.sh"
fi
for c in djpeg cc pkg-config; do
    command -v "$c" >/dev/null 2>&1 || die "$c is missing (run bench/setup.sh)"
done
im_convert=/usr/bin/convert
[ -x "$im_convert" ] || die "ImageMagick's convert is missing (run bench/setup.sh)"

"$here/corpus.sh" --dir "$corpus" >/dev/null
corpus=$(cd "$corpus" && pwd)
manifest=$corpus/MANIFEST.tsv

# --- the small corpus -----------------------------------------------------------

# Stamp: the settings and the source corpus's manifest.
stamp="layout=1 count=$want source=$(sha256sum "$manifest" | cut -c 1-16)"

derive() {
    local tmp
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    tmp=$(mktemp -d "$dir/.new.XXXXXX")
    # One line per window: source name, scale %, x, y. Windows of a source
    # are ranked, then taken round robin over the sources up to the count.
    awk -F '\t' 'NR > 1 && $1 == "jpeg" {
        split("100 75 50", S, " ")
        for (i = 1; i <= 3; i++) {
            w = int($3 * S[i] / 100); h = int($4 * S[i] / 100)
            for (y = 0; y + 600 <= h; y += 300)
                for (x = 0; x + 800 <= w; x += 400)
                    print ++rank[$2] "\t" $2 "\t" S[i] "\t" x "\t" y
        }
    }' "$manifest" | sort -t $'\t' -k 1,1n -k 2,2 | head -n "$want" |
        awk -F '\t' -v OFS='\t' '{
            i = NR - 1
            printf "%s\t%s\t%s\t%s\td%02d/s%04d.jpg\t%s\n", $2, $3, $4, $5, i / 100, i, (i % 3 == 0) ? "Plane" : "None"
        }' | sort -t $'\t' -k 1,1 -k 2,2n >"$tmp/windows.tsv"
    [ -s "$tmp/windows.tsv" ] || die "no JPEG in $corpus is 800x600 or larger"
    cut -f 5 "$tmp/windows.tsv" | cut -d / -f 1 | sort -u | while read -r d; do mkdir -p "$tmp/$d"; done

    # One convert per source and scale: decode (and resize) once, then a
    # crop and a write per window.
    local n=0 key prev='' src scale x y out il
    local -a args=()
    flush() {
        [ ${#args[@]} -gt 0 ] || return 0
        "$im_convert" -quiet "${args[@]}" null: &
        n=$((n + 1))
        if [ "$n" -ge "$jobs" ]; then
            wait -n || die "convert failed"
            n=$((n - 1))
        fi
        args=()
    }
    while IFS=$'\t' read -r src scale x y out il; do
        key=$src/$scale
        if [ "$key" != "$prev" ]; then
            flush
            prev=$key
            args=("$corpus/jpeg/$src" -auto-orient -strip)
            [ "$scale" = 100 ] || args+=(-resize "$scale%")
        fi
        args+=('(' +clone -crop "800x600+$x+$y" +repage -interlace "$il" -quality 85
            -sampling-factor 2x2 -write "$tmp/$out" +delete ')')
    done <"$tmp/windows.tsv"
    flush
    while [ "$n" -gt 0 ]; do
        wait -n || die "convert failed"
        n=$((n - 1))
    done

    # Manifest: name, source, scale, x, y, progressive.
    {
        printf 'name\tsource\tscale_pct\tx\ty\tprogressive\n'
        awk -F '\t' -v OFS='\t' '{ print $5, $1, $2, $3, $4, ($6 == "Plane") ? "yes" : "no" }' \
            "$tmp/windows.tsv" | sort
    } >"$tmp/MANIFEST.tsv"
    rm -f "$tmp/windows.tsv"
    rm -rf "$dir/d"[0-9]* "$dir/MANIFEST.tsv" "$dir/.stamp"
    mv "$tmp"/* "$dir/"
    rmdir "$tmp"
    printf '%s\n' "$stamp" >"$dir/.stamp"
}

if [ "$force" -eq 1 ] || [ "$(cat "$dir/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
    echo "small.sh: deriving up to $want 800x600 JPEGs from $corpus/jpeg into $dir" >&2
    derive
fi
dir=$(cd "$dir" && pwd)
count=$(($(wc -l <"$dir/MANIFEST.tsv") - 1))
nprog=$(awk -F '\t' 'NR > 1 && $6 == "yes"' "$dir/MANIFEST.tsv" | wc -l)
nsrc=$(awk -F '\t' 'NR > 1 { s[$2] = 1 } END { print length(s) }' "$dir/MANIFEST.tsv")
ndirs=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name 'd[0-9]*' | wc -l)
mbytes=$(find "$dir" -name '*.jpg' -printf '%s\n' | awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')
summary="$count files 800x600 ($nprog progressive) from $nsrc wallpaper JPEGs, $ndirs directories, $mbytes MB"
echo "small.sh: small corpus: $summary" >&2
[ "$build_only" -eq 0 ] || exit 0

# --- tools ----------------------------------------------------------------------

[ -x "$thumbd" ] || die "$thumbd not found (build it: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)"
work=$here/work/small
# The last run's files are deleted after the timed passes, not before (see
# measure below).
old_work=
if [ -e "$work" ]; then
    old_work=$here/work/small.old.$$
    mv "$work" "$old_work"
fi
mkdir -p "$work/out" "$work/logs"
thumbd_src=$thumbd
thumbd_sha=$(sha256sum "$thumbd" | cut -c 1-12)
cp "$thumbd" "$work/thumbd"
thumbd=$work/thumbd
jpegfloor=$work/jpegfloor
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc -O2 -Wall -Wextra -o "$jpegfloor" "$here/jpegfloor.c" $(pkg-config --cflags --libs libjpeg) ||
    die "cannot compile bench/jpegfloor.c (is libjpeg62-turbo-dev installed?)"
find "$dir" -name '*.jpg' -print0 | sort -z >"$work/list"

# (A "thumbd-keepmem" row priced malloc keeping freed memory through
# GLIBC_TUNABLES; thumbd sets those thresholds itself now, src/main.c.)
tools=(thumbd thumbd-noop djpeg jpegfloor jpegfloor-4)

# run_tool TOOL OUT
run_tool() {
    local out=$2
    case $1 in
        thumbd) "$thumbd" --fit inside -j "$jobs" --quiet "$dir" "$out" ;;
        thumbd-noop) "$thumbd" --fit inside -j "$jobs" --quiet "$dir" "$out" ;;
        djpeg) xargs -0 -P "$jobs" -n 1 djpeg -scale 1/8 -outfile /dev/null <"$work/list" ;;
        jpegfloor) xargs -0 -P "$jobs" -n "$batch" "$jpegfloor" --scale 1 <"$work/list" ;;
        jpegfloor-4) xargs -0 -P "$jobs" -n "$batch" "$jpegfloor" --scale 4 <"$work/list" ;;
    esac
}


# measure PASS TOOL: appends "pass tool wall cpu rc written" to runs.tsv.
measure() {
    local pass=$1 tool=$2 out=$work/out/thumbd-$1 rc=0 t0 t1 c0 c1 wall cpu written
    # A new directory per pass, and nothing deleted until the next run of
    # this script: on ext4 creating a file right after many were deleted
    # costs up to ten times more kernel time (see bench/README.md).
    mkdir -p "$out"
    children_cpu_s
    c0=$own
    t0=$EPOCHREALTIME
    run_tool "$tool" "$out" >/dev/null 2>"$work/logs/$tool-$pass.log" || rc=$?
    t1=$EPOCHREALTIME
    children_cpu_s
    c1=$own
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.3f", b - a }')
    written=—
    case $tool in thumbd*) written=$(find "$out" -type f -name '*.jpg' | wc -l) ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$pass" "$tool" "$wall" "$cpu" "$rc" "$written" >>"$work/runs.tsv"
    printf 'small.sh: %-4s %-12s %8s s wall %8s s CPU\n' "$pass" "$tool" "$wall" "$cpu" >&2
    [ "$rc" -eq 0 ] || { echo "small.sh: $tool exited $rc:" >&2; head -n 3 "$work/logs/$tool-$pass.log" >&2; }
}

find "$dir" -name '*.jpg' -exec cat {} + >/dev/null # into the page cache
: >"$work/runs.tsv"
echo "small.sh: -j $jobs, $reps timed passes, $count files; tools: ${tools[*]}" >&2

# Untimed: peak RSS of thumbd, and its per-stage timings from the report.
/usr/bin/time -o "$work/rss.txt" -f %M "$thumbd" --fit inside -j "$jobs" --quiet \
    --report "$work/report.jsonl" "$dir" "$work/out/report" || die "thumbd failed (untimed pass)"
rss_mb=$(awk '/^[0-9]+$/ { printf "%.1f", $1 / 1024 }' "$work/rss.txt")

load_begin
# thumbd-noop must follow thumbd (it re-runs on thumbd's output), so the
# rotation is over four slots, thumbd+noop being one.
slots=("thumbd thumbd-noop" djpeg jpegfloor jpegfloor-4)
for ((p = 1; p <= reps; p++)); do
    for ((i = 0; i < ${#slots[@]}; i++)); do
        for tool in ${slots[$(((i + p - 1) % ${#slots[@]}))]}; do
            measure "$p" "$tool"
        done
    done
done
load_end small.sh
[ -z "$old_work" ] || rm -rf "$old_work"
ncpu=$(getconf _NPROCESSORS_ONLN)

# --- report ---------------------------------------------------------------------

# stat TOOL: "median_wall min max median_cpu worst_rc min_written"
stat() {
    awk -F '\t' -v t="$1" '
        function med(a, n,   i, j, v) {
            for (i = 2; i <= n; i++) { v = a[i]; for (j = i - 1; j >= 1 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v }
            return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
        }
        $2 == t { w[++n] = $3; c[n] = $4; if ($5 > rc) rc = $5; if (!seen++ || $6 < wr) wr = $6 }
        END {
            if (n == 0) exit 1
            m = med(w, n); lo = w[1]; hi = w[n]; printf "%.3f %.3f %.3f %.3f %d %s\n", m, lo, hi, med(c, n), rc, wr
        }' "$work/runs.tsv"
}

declare -A med=() cpu=()
table=$work/table.md
chart_tsv=$work/chart.tsv
printf 'tool\twall ms per image\tCPU ms per image (both cores)\n' >"$chart_tsv"
{
    echo "| tool | images | thumbnails written | median wall s | min–max s | images/s | wall ms/image | CPU ms/image | wall ÷ thumbd's |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for tool in "${tools[@]}"; do
        read -r m lo hi c rc wr < <(stat "$tool")
        med[$tool]=$m
        cpu[$tool]=$c
        case $tool in
            thumbd) name="thumbd"; short=thumbd ;;
            thumbd-noop) name="thumbd, re-run (all up to date)"; short="thumbd re-run" ;;
            djpeg) name="djpeg -scale 1/8, 1 file per process"; short="djpeg 1/8 -n 1" ;;
            jpegfloor) name="jpegfloor 1/8, $batch files per process (the stricter floor)"; short="jpegfloor 1/8" ;;
            jpegfloor-4) name="jpegfloor 4/8 (thumbd's decode scale), $batch files per process"; short="jpegfloor 4/8" ;;
        esac
        [ "$rc" -eq 0 ] || name="$name ²"
        printf '| %s | %s | %s | %s | %s–%s | %s | %s | %s | %s |\n' "$name" "$count" "$wr" "$m" "$lo" "$hi" \
            "$(awk -v n="$count" -v m="$m" 'BEGIN { printf "%.0f", n / m }')" \
            "$(awk -v n="$count" -v m="$m" 'BEGIN { printf "%.3f", 1000 * m / n }')" \
            "$(awk -v n="$count" -v c="$c" 'BEGIN { printf "%.3f", 1000 * c / n }')" \
            "$(awk -v a="$m" -v b="${med[thumbd]}" 'BEGIN { printf "%.2f", a / b }')"
        [ "$tool" = thumbd-noop ] ||
            printf '%s\t%s\t%s\n' "$short" "$(awk -v n="$count" -v m="$m" 'BEGIN { printf "%.2f", 1000 * m / n }')" \
                "$(awk -v n="$count" -v c="$c" 'BEGIN { printf "%.2f", 1000 * c / n }')" >>"$chart_tsv"
    done
} >"$table"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
r_fair=$(ratio "${med[thumbd]}" "${med[jpegfloor]}")
r_djpeg=$(ratio "${med[thumbd]}" "${med[djpeg]}")
r_4=$(ratio "${med[thumbd]}" "${med[jpegfloor-4]}")
verdict=$(awk -v r="$r_djpeg" 'BEGIN { print (r <= 1.1) ? "met" : "**missed**" }')
verdict_fair=$(awk -v r="$r_fair" 'BEGIN { print (r <= 1.1) ? "met" : "**missed**" }')
per_ms() { awk -v a="$1" -v b="$2" -v n="$count" 'BEGIN { printf "%.3f", 1000 * (a - b) / n }'; }

# Stages from the report of the untimed pass (means over the images, ms).
stages=$(awk '
    function num(k,   m) { if (match($0, "\"" k "\":[0-9.]+")) { m = substr($0, RSTART, RLENGTH); sub(/.*:/, "", m); return m + 0 } return 0 }
    /"status":"ok"/ { n++; d += num("decode_ms"); r += num("resize_ms"); e += num("encode_ms"); t += num("total_ms") }
    END { if (n) printf "%.3f %.3f %.3f %.3f %.3f", d / n, r / n, e / n, t / n, (t - d - r - e) / n }' "$work/report.jsonl")
read -r s_dec s_res s_enc s_tot s_other <<<"$stages"

{
    echo "# thumbd on many small images"
    echo
    echo "Made by \`bench/small.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); see bench/README.md."
    echo
    echo "- machine: $ncpu CPUs ($(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), Linux $(uname -r)"
    echo "- corpus: $summary (bench/small.sh from $corpus)"
    echo "- settings: -j $jobs, $reps timed passes (medians), 200x200 box, --fit inside, quality 85"
    echo "- load: $load_note"
    echo "- thumbd: $("$thumbd" --version 2>&1 | head -n 1) ($thumbd_src, sha256 $thumbd_sha...), peak RSS $rss_mb MB"
    echo
    cat "$table"
    echo
    echo "CPU ms/image: user + sys time of the tool's processes (all workers), per image."
    echo
    echo "| target | measured | goal | verdict |"
    echo "| --- | ---: | ---: | --- |"
    echo "| thumbd wall ÷ djpeg -scale 1/8 wall, as run.sh runs the floor (issue #8's goal) | $r_djpeg | ≤ 1.1 | $verdict |"
    echo "| stricter: thumbd wall ÷ jpegfloor 1/8 wall ($batch files per process, no start-up per file) | $r_fair | ≤ 1.1 | $verdict_fair |"
    echo "| (the same in CPU time, less disturbed by other load) | $(ratio "${cpu[thumbd]}" "${cpu[jpegfloor]}") | ≤ 1.1 | |"
    echo
    echo "For comparison: thumbd ÷ jpegfloor at 4/8 (the decode thumbd itself does) = $r_4."
    echo
    echo "## Cost per image"
    echo
    echo "| | CPU ms/image |"
    echo "| --- | ---: |"
    echo "| thumbd, all of it | $(awk -v c="${cpu[thumbd]}" -v n="$count" 'BEGIN { printf "%.3f", 1000 * c / n }') |"
    echo "| less jpegfloor at 1/8: thumbd's work beyond the stricter floor | $(per_ms "${cpu[thumbd]}" "${cpu[jpegfloor]}") |"
    echo "| less jpegfloor at 4/8: thumbd's work beyond its own decode (resize, encode, files, threads) | $(per_ms "${cpu[thumbd]}" "${cpu[jpegfloor-4]}") |"
    echo "| thumbd re-run with every thumbnail up to date (scan, stat, state) | $(awk -v c="${cpu[thumbd-noop]}" -v n="$count" 'BEGIN { printf "%.3f", 1000 * c / n }') |"
    echo
    echo "From thumbd's report (untimed pass, mean per image, wall ms in a worker): decode $s_dec," \
        "resize $s_res, encode and write $s_enc, total $s_tot (of which outside these three: $s_other)."
} >"$results"

mkdir -p "$here/charts"
"$here/chart.sh" "$chart_tsv" "$here/charts/small.png" \
    "$count 800x600 JPEGs, -j $jobs: time per image (lower is better)" "ms per image"
echo >&2
cat "$results"
