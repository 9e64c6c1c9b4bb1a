#!/usr/bin/env bash
# Checks the host examples of docs/operations.md against the built thumbd:
# the crontab line and the systemd units in deploy/systemd/.
#
#   test_deploy_host.sh SOURCE_DIR BUILD_DIR CMAKE
#
# Everything runs in a temporary root: `cmake --install BUILD --prefix
# ROOT/usr/local` puts thumbd where a default install puts it, and the
# examples' absolute paths (/usr/local/..., /var/..., /srv/...) are rewritten
# into ROOT. thumbd runs as uid 65534 when the test runs as root, as the
# thumbd user of the examples would.
#
# systemd-analyze verify checks a unit's ExecStart binary and Documentation=
# man page. It runs with --root=ROOT, so it looks for /usr/local/bin/thumbd
# inside ROOT, where cmake --install put the built binary: the unit is
# verified unchanged, with the path it ships with, and a unit whose path
# differs from the install's fails (checked below by removing the binary).
# MANPATH points man(1) at the installed man page. verify also needs the
# standard targets (sysinit.target, ...), copied into ROOT from the host.
#
# A missing tool is a failure, never a skip: scripts/setup.sh installs them.
set -euo pipefail

src=$1
build=$2
cmake=$3

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
need() {
    command -v "$1" >/dev/null || fail "$1 is missing (Debian package $2; scripts/setup.sh installs it)"
}
need systemd-analyze systemd
need man man-db
need setpriv util-linux
need flock util-linux

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"

# The user the examples run thumbd as; as root, an unprivileged one.
as_user=()
if [ "$(id -u)" = 0 ]; then
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi
# Makes directories that belong to the thumbd user.
user_dir() {
    mkdir -p "$@"
    if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$@"; fi
}

"$cmake" --install "$build" --prefix "$root/usr/local" >/dev/null
[ -x "$root/usr/local/bin/thumbd" ] || fail "cmake --install put no bin/thumbd under the prefix"

# /srv/media holds two images; /srv/thumbs is writable by the thumbd user.
mkdir -p "$root/srv/media"
cp "$src/testdata/photos/sunset.jpg" "$src/testdata/photos/arrow_orient6.jpg" "$root/srv/media/"
chmod -R a+rX "$root/srv"
user_dir "$root/srv/thumbs"

# Rewrites the absolute paths of an example command into ROOT, and checks
# that no other absolute path is left.
rewrite() {
    local out word
    out=$(printf '%s\n' "$1" | sed -E "s#(^|[ >=])/(usr/local|var|srv)/#\\1$root/\\2/#g")
    for word in $out; do
        word=${word#>>}
        case $word in
        /* | *=/*) case $word in "$root"/* | *="$root"/*) ;; *) fail "path outside the rewritten ones: $word" ;; esac ;;
        esac
    done
    printf '%s\n' "$out"
}
# The value of option $1 in command $2.
opt() {
    local want=$1 prev='' word
    for word in $2; do
        if [ "$prev" = "$want" ]; then
            printf '%s\n' "$word"
            return
        fi
        prev=$word
    done
    fail "no $want in: $2"
}
# Checks what one run wrote: exit status $1 is 0, report $2 has a record
# per image, metrics $3 has the run's exit code.
check_run() {
    [ "$1" = 0 ] || fail "$4: exit $1, expected 0"
    [ "$(wc -l <"$2")" = 2 ] || fail "$4: report $2 has not 2 records"
    grep -qx 'thumbd_run_exit_code 0' "$3" || fail "$4: metrics $3 lack thumbd_run_exit_code 0"
}

# ---- the crontab line of docs/operations.md ---------------------------------
cron=$(awk '/^```cron$/ { on = 1; next } /^```$/ { on = 0 } on && !/^#/ && NF' "$src/docs/operations.md")
[ -n "$cron" ] || fail "docs/operations.md has no cron block"
[ "$(printf '%s\n' "$cron" | wc -l)" = 1 ] || fail "the cron block has more than one line: $cron"
read -r m h dom mon dow user cmd <<<"$cron"
for f in "$m" "$h" "$dom" "$mon" "$dow"; do
    [[ $f =~ ^[0-9*/,-]+$ ]] || fail "cron: bad schedule field '$f'"
done
[ "$user" = thumbd ] || fail "cron: the /etc/cron.d line's user field is '$user', not thumbd"
case $cmd in *%*) fail "cron: a % in the command is a newline to cron" ;; esac
# cron's PATH has no /usr/local/bin: thumbd must be named by its full path.
[[ " $cmd" == *" /usr/local/bin/thumbd "* ]] || fail "cron: thumbd is not called as /usr/local/bin/thumbd"
# The run ends (deadline + shutdown timeout + 1 s) before the next slot.
[[ $m =~ ^\*/([0-9]+)$ ]] || fail "cron: minute field '$m' is not */N"
slot=$((BASH_REMATCH[1] * 60))
end=$(($(opt --deadline "$cmd") + $(opt --shutdown-timeout "$cmd") + 1))
[ "$end" -lt "$slot" ] || fail "cron: a run may last $end s, the slot is $slot s"

run=$(rewrite "$cmd")
home="$root/var/lib/thumbd" # useradd --create-home, as docs/operations.md says
user_dir "$home"
cron_env=(env -i PATH=/usr/bin:/bin SHELL=/bin/sh HOME="$home" LOGNAME=thumbd)
status=0
"${as_user[@]}" "${cron_env[@]}" sh -c "$run" || status=$?
log=$(printf '%s\n' "$run" | sed -nE 's#.*>>([^ ]+).*#\1#p')
[ -f "$log" ] || fail "cron: no log $log"
check_run "$status" "$(opt --report "$run")" "$(opt --metrics "$run")" cron
[ -n "$(find "$root/srv/thumbs" -name '*.jpg')" ] || fail "cron: no thumbnails"
# A run while another holds OUT_DIR exits 75 and says so in the log.
status=0
flock "$root/srv/thumbs/.thumbd.lock" "${as_user[@]}" "${cron_env[@]}" sh -c "$run" || status=$?
[ "$status" = 75 ] || fail "cron: exit $status with OUT_DIR locked, expected 75"
grep -q 'another thumbd is writing' "$log" || fail "cron: the lock message is not in $log"

# ---- deploy/systemd ----------------------------------------------------------
unit="$src/deploy/systemd/thumbd.service"
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$unit" "$src/deploy/systemd/thumbd.timer" "$root/etc/systemd/system/"
verify() {
    MANPATH="$root/usr/local/share/man" systemd-analyze verify --root="$root" \
        /etc/systemd/system/thumbd.service /etc/systemd/system/thumbd.timer 2>&1
}
# verify exits 0 on unknown keys and bad values (it only warns): any output fails.
out=$(verify) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
mv "$root/usr/local/bin/thumbd" "$root/thumbd.moved"
if out=$(verify); then fail "verify passes without the ExecStart binary: the check is not real"; fi
mv "$root/thumbd.moved" "$root/usr/local/bin/thumbd"

# The last value of key $1 in the unit.
key() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
exec_start=$(key ExecStart)
[[ $exec_start == "/usr/local/bin/thumbd "* ]] || fail "ExecStart is not /usr/local/bin/thumbd"
ok=" $(key SuccessExitStatus) "
for s in 4 124 143; do [[ $ok == *" $s "* ]] || fail "SuccessExitStatus lacks $s"; done
[[ $ok != *" 1 "* ]] || fail "SuccessExitStatus has 1: new failures would not fail the unit"
[ "$(key IOSchedulingClass)" = best-effort ] || fail "IOSchedulingClass is not best-effort"
[ "$(key IOSchedulingPriority)" = 7 ] || fail "IOSchedulingPriority is not 7"
[ "$(key Nice)" -gt 0 ] || fail "Nice is not positive"
shutdown=$(opt --shutdown-timeout "$exec_start")
end=$(($(opt --deadline "$exec_start") + shutdown + 1))
start_limit=$(key TimeoutStartSec)
stop_limit=$(key TimeoutStopSec)
[[ $start_limit =~ ^[0-9]+$ && $stop_limit =~ ^[0-9]+$ ]] || fail "TimeoutStartSec/TimeoutStopSec are not plain seconds"
[ "$end" -lt "$start_limit" ] || fail "a run may last $end s, TimeoutStartSec is $start_limit"
[ $((shutdown + 1)) -lt "$stop_limit" ] || fail "a stop may last $((shutdown + 1)) s, TimeoutStopSec is $stop_limit"

# ExecStart runs as systemd would start it: the directories come only from
# StateDirectory= and LogsDirectory=, so --report and --metrics must be in them.
case $exec_start in *[\"\'\$%\\]*) fail "ExecStart has quotes, variables or specifiers; this test splits it at spaces" ;; esac
rm -rf "${root:?}/var"
for d in $(key StateDirectory); do user_dir "$root/var/lib/$d"; done
for d in $(key LogsDirectory); do user_dir "$root/var/log/$d"; done
find "$root/srv/thumbs" -mindepth 1 -delete
run=$(rewrite "$exec_start")
status=0
# shellcheck disable=SC2086 # systemd splits ExecStart at spaces, as this does
"${as_user[@]}" env -i PATH=/usr/bin:/bin $run || status=$?
check_run "$status" "$(opt --report "$run")" "$(opt --metrics "$run")" ExecStart

echo "deploy_host: cron line and systemd units OK"
