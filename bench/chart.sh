#!/usr/bin/env bash
# bench/chart.sh: draw a bench TSV as a clustered bar chart (PNG, gnuplot).
#
#   bench/chart.sh DATA.tsv OUT.png TITLE YLABEL [GOAL [GOAL_LABEL]]
#
# DATA.tsv: a header line "label<TAB>series 1<TAB>series 2..." then one line
# per group of bars: the group's label, then one value per series ("-" or an
# empty field: no bar). Each value is printed above its bar. GOAL, if given,
# draws a dashed horizontal line at that value (a target ratio, say),
# labelled GOAL_LABEL (default "goal GOAL").
# run.sh, small.sh and scaling.sh call this for bench/charts/*.png; without
# gnuplot (bench/setup.sh installs gnuplot-nox) it warns and draws nothing.
set -euo pipefail
export LC_ALL=C

[ $# -ge 4 ] || { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
data=$1 out=$2 title=$3 ylabel=$4 goal=${5-} goal_label=${6:-goal ${5-}}

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "chart.sh: gnuplot is missing (bench/setup.sh installs gnuplot-nox): no $out" >&2
    exit 0
fi
[ -s "$data" ] || { echo "chart.sh: no data in $data" >&2; exit 1; }

ncols=$(head -n 1 "$data" | awk -F '\t' '{ print NF }')
ngroups=$(($(wc -l <"$data") - 1))
# Wide enough for the labels: 40 px a bar, 130 px a group at least, and
# 7 px a character of the longest group label.
labels=$(awk -F '\t' 'NR > 1 && length($1) > m { m = length($1) } END { print m + 0 }' "$data")
width=$(awk -v g="$ngroups" -v s="$((ncols - 1))" -v l="$labels" 'BEGIN {
    c = (s + 1) * 40; if (c < 130) c = 130; if (c < 7 * l + 20) c = 7 * l + 20
    w = g * c + 160; print (w < 640) ? 640 : (w > 1600 ? 1600 : w) }')
mkdir -p "$(dirname "$out")"

# Labels above the bars: for series i (column i+1) of n, a bar of group g sits
# at g + (i - 1 - (n - 1) / 2) * boxwidth / n in gnuplot's clustered layout
# (gap 1: each cluster is n bars then one bar-width of space).
{
    echo "set terminal pngcairo size $width,440 font 'DejaVu Sans,10' noenhanced"
    echo "set output '$out'"
    echo "set datafile separator tab"
    echo "set datafile missing '-'"
    echo "set title '${title//\'/\'\'}'"
    echo "set ylabel '${ylabel//\'/\'\'}'"
    echo "set style data histogram"
    echo "set style histogram clustered gap 1"
    echo "set style fill solid 0.85 border -1"
    echo "set boxwidth 0.9"
    echo "set key below horizontal noenhanced autotitle columnhead"
    echo "set grid ytics"
    echo "set yrange [0:*]"
    echo "set offsets 0, 0, graph 0.12, 0"
    echo "set xtics nomirror noenhanced"
    echo "set ytics nomirror"
    if [ -n "$goal" ]; then
        echo "set arrow from graph 0, first $goal to graph 1, first $goal nohead dt 2 lw 2 lc rgb '#c00000' front"
        echo "set label '${goal_label//\'/\'\'}' at graph 0.01, first $goal offset 0,0.6 tc rgb '#c00000' front"
    fi
    printf 'plot'
    n=$((ncols - 1))
    for ((i = 2; i <= ncols; i++)); do
        [ "$i" -gt 2 ] && printf ','
        printf " '%s' using %d:xtic(1)" "$data" "$i"
    done
    for ((i = 2; i <= ncols; i++)); do
        printf ", '' using (\$0 + (%d - (%d - 1) / 2.0) * 1.0 / (%d + 1)):%d:%d with labels offset 0,0.6 notitle" \
            "$((i - 2))" "$n" "$n" "$i" "$i"
    done
    echo
} >"$(dirname "$out")/.chart.gp"
gnuplot "$(dirname "$out")/.chart.gp"
rm -f "$(dirname "$out")/.chart.gp"
