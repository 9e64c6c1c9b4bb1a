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
