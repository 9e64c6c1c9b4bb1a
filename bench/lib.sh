# bench/lib.sh: helpers that run.sh, small.sh and scaling.sh share (sourced).

# Sets $own to the CPU seconds used so far by this shell's finished children.
# Not to be called in $(...): a subshell would report its own (zero) counts.
# Writes $work/times.txt ($work: the calling script's work directory).
own=0
children_cpu_s() {
    times >"$work/times.txt"
    own=$(awk 'NR == 2 {
        split($1, u, /[ms]/); split($2, s, /[ms]/)
        print u[1] * 60 + u[2] + s[1] * 60 + s[2]
    }' "$work/times.txt")
}

# CPU seconds the whole machine has been busy since boot (/proc/stat).
cpu_busy_s() {
    awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { print ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat
}

# load_begin before the timed passes, load_end NAME after them: load_end
# sets $load_note to what other processes (or the hypervisor) took of the
# machine meanwhile, marked (and warned about on stderr, as NAME) above 5 %.
load_begin() {
    _busy0=$(cpu_busy_s)
    children_cpu_s
    _own0=$own
    _wall0=$EPOCHREALTIME
}
load_end() {
    local busy1 wall1 other_s other_pct
    busy1=$(cpu_busy_s)
    children_cpu_s
    wall1=$EPOCHREALTIME
    read -r other_s other_pct < <(awk -v b0="$_busy0" -v b1="$busy1" -v o0="$_own0" -v o1="$own" \
        -v w0="$_wall0" -v w1="$wall1" -v n="$(getconf _NPROCESSORS_ONLN)" 'BEGIN {
            other = (b1 - b0) - (o1 - o0); if (other < 0) other = 0
            printf "%.1f %.0f\n", other, 100 * other / ((w1 - w0) * n)
        }')
    load_note="other processes (or the hypervisor) took ${other_s} CPU-s, ${other_pct} % of the machine, during the timed passes"
    if [ "$other_pct" -gt 5 ]; then
        load_note="**$load_note: timings are disturbed, run again on an idle machine**"
        echo "$1: warning: $load_note" >&2
    fi
}
