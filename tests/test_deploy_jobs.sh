#!/usr/bin/env bash
# Checks how the batch-system examples in deploy/ end on each exit status
# of thumbd (docs/operations.md, "Kubernetes and AWS Batch"):
#
#   test_deploy_jobs.sh SOURCE_DIR
#
# - deploy/kubernetes-indexed-job.yaml: the pod failure policy (exit 2 fails
#   the Job, 1 and the rest count against backoffLimit, disruptions are
#   ignored, no exit code is ignored), and the container's /bin/sh wrapper,
#   run itself with a fake thumbd first on PATH: it maps 4 to 0, passes every
#   other status and the arguments on, and forwards SIGTERM to thumbd.
# - deploy/aws-batch-array-job.json: only keys the Batch API accepts, and
#   the retry strategy (1 retried, 2 and 4 end the child, the rest retried).
# - both: thumbd's stop fits in the platform's bound (grace period, attempt
#   timeout), with the image's THUMBD_SHUTDOWN_TIMEOUT from the Dockerfile.
#
# PyYAML comes from the Debian package python3-yaml (scripts/setup.sh), so
# the test uses Debian's /usr/bin/python3. A missing tool is a failure.
set -euo pipefail

src=$1
py=/usr/bin/python3

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ -x "$py" ] || fail "$py is missing (Debian package python3; scripts/setup.sh installs it)"
"$py" -c 'import yaml' 2>/dev/null || fail "PyYAML is missing (Debian package python3-yaml; scripts/setup.sh installs it)"

tmp=$(mktemp -d)
cleanup() {
    # a fake thumbd left running by a failed check
    if [ -s "$tmp/fake/pid" ]; then kill "$(cat "$tmp/fake/pid")" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The policy checks; they write the wrapper script and the arguments (one a
# line) for the runs below.
"$py" - "$src" "$tmp" <<'PY'
import json, re, sys, yaml

src, tmp = sys.argv[1], sys.argv[2]
def fail(msg):
    sys.exit("FAIL: " + msg)

# thumbd's shutdown timeout in the image, and the runtime base image
docker = open(f"{src}/Dockerfile").read()
m = re.search(r"^ENV THUMBD_SHUTDOWN_TIMEOUT=(\d+)$", docker, re.M)
if not m:
    fail("the Dockerfile sets no THUMBD_SHUTDOWN_TIMEOUT")
stop_s = int(m.group(1)) + 1   # running tasks get the timeout, then 1 s to cancel
base = re.findall(r"^FROM (\S+)", docker, re.M)[-1]
if not base.startswith("debian:"):
    fail(f"the runtime image {base} is not Debian: is /bin/sh there for the wrapper?")

# ---- Kubernetes -------------------------------------------------------------
job = yaml.safe_load(open(f"{src}/deploy/kubernetes-indexed-job.yaml"))
spec = job["spec"]
pod = spec["template"]["spec"]
if pod.get("restartPolicy") != "Never":
    fail("a pod failure policy needs restartPolicy: Never")
if not isinstance(spec.get("backoffLimit"), int) or spec["backoffLimit"] < 1:
    fail("backoffLimit is not a positive number")
if pod["terminationGracePeriodSeconds"] <= stop_s:
    fail(f"terminationGracePeriodSeconds is not above thumbd's stop ({stop_s} s)")
rules = spec["podFailurePolicy"]["rules"]

def k8s_action(code):
    """What the policy does with a pod whose container thumbd exited with
    code (the first rule that matches; no rule: the failure is counted)."""
    for r in rules:
        oc = r.get("onExitCodes")
        if not oc or oc.get("containerName", "thumbd") != "thumbd":
            continue
        hit = code in oc["values"]
        if hit == (oc["operator"] == "In"):
            return r["action"]
    return "Count"

for code, want in [(2, "FailJob"), (1, "Count"), (3, "Count"), (75, "Count"),
                   (124, "Count"), (143, "Count")]:
    if k8s_action(code) != want:
        fail(f"Kubernetes: exit {code} -> {k8s_action(code)}, expected {want}")
for r in rules:
    if r["action"] == "Ignore" and "onExitCodes" in r:
        fail("Kubernetes: an Ignore rule on exit codes re-creates failing pods without end")
if not any(r["action"] == "Ignore" and
           r.get("onPodConditions") == [{"type": "DisruptionTarget"}] for r in rules):
    fail("Kubernetes: pods stopped by a disruption are not ignored")

c = [c for c in pod["containers"] if c["name"] == "thumbd"][0]
cmd = c["command"]
if len(cmd) != 4 or cmd[:2] != ["/bin/sh", "-c"]:
    fail(f"Kubernetes: command is not [/bin/sh, -c, SCRIPT, NAME]: {cmd}")
# Kubernetes reads $(NAME) in command as a variable and $$ as an escaped $.
if "$(" in cmd[2] or "$$" in cmd[2]:
    fail("Kubernetes: the wrapper has $( or $$, which Kubernetes would expand")
open(f"{tmp}/wrapper", "w").write(cmd[2])
open(f"{tmp}/args", "w").write("".join(a + "\n" for a in c["args"]))

# ---- AWS Batch --------------------------------------------------------------
jd = json.load(open(f"{src}/deploy/aws-batch-array-job.json"))
# RegisterJobDefinition's request members: the CLI refuses any other key
api = {"jobDefinitionName", "type", "parameters", "schedulingPriority",
       "containerProperties", "nodeProperties", "retryStrategy", "propagateTags",
       "timeout", "tags", "platformCapabilities", "eksProperties", "ecsProperties",
       "consumableResourceProperties"}
if set(jd) - api:
    fail(f"AWS Batch: keys the API refuses: {sorted(set(jd) - api)}")
rs = jd["retryStrategy"]
if rs["attempts"] < 2:
    fail("AWS Batch: attempts < 2: exit 1 is never retried")

def batch_action(code):
    """The first evaluateOnExit entry whose glob matches; none: RETRY."""
    for e in rs["evaluateOnExit"]:
        p = e["onExitCode"]
        if (p.endswith("*") and str(code).startswith(p[:-1])) or p == str(code):
            return e["action"]
    return "RETRY"

for code, want in [(1, "RETRY"), (2, "EXIT"), (4, "EXIT"), (3, "RETRY"),
                   (124, "RETRY"), (143, "RETRY")]:
    if batch_action(code) != want:
        fail(f"AWS Batch: exit {code} -> {batch_action(code)}, expected {want}")
args = jd["containerProperties"]["command"]
deadline = int(args[args.index("--deadline") + 1])
if deadline + stop_s >= jd["timeout"]["attemptDurationSeconds"]:
    fail("AWS Batch: --deadline plus thumbd's stop reach the attempt timeout")
PY

# ---- the Kubernetes wrapper, run --------------------------------------------
# A fake thumbd: records its arguments and exits with $FAKE_EXIT; or, with
# $FAKE_WAIT set, records its pid, waits for SIGTERM, takes 0.2 s to stop (as
# a graceful stop does) and exits 42, a status no real run ends with, so the
# wrapper's status shows that it waited for thumbd's own.
mkdir -p "$tmp/bin" "$tmp/fake"
cat >"$tmp/bin/thumbd" <<'SH'
#!/bin/sh
printf '%s\n' "$@" >"$FAKE_DIR/args.seen"
if [ -n "${FAKE_WAIT:-}" ]; then
    trap 'kill "$sp" 2>/dev/null; echo TERM >"$FAKE_DIR/got"; sleep 0.2; exit 42' TERM
    sleep 30 >/dev/null 2>&1 & sp=$!
    echo $$ >"$FAKE_DIR/pid"
    wait "$sp"
    exit 0
fi
exit "$FAKE_EXIT"
SH
chmod +x "$tmp/bin/thumbd"
wrapper=$(cat "$tmp/wrapper")
mapfile -t args <"$tmp/args"
run_wrapper() {
    env PATH="$tmp/bin:/usr/bin:/bin" FAKE_DIR="$tmp/fake" "$@" \
        /bin/sh -c "$wrapper" thumbd "${args[@]}"
}

for code in 0 1 2 3 4 75 124 129 143; do
    want=$code
    [ "$code" = 4 ] && want=0
    status=0
    run_wrapper FAKE_EXIT="$code" || status=$?
    [ "$status" = "$want" ] || fail "wrapper: thumbd exit $code -> $status, expected $want"
    cmp -s "$tmp/args" "$tmp/fake/args.seen" || fail "wrapper: thumbd did not get the pod's args"
done

# exec: $wpid is then the wrapper's shell itself, which gets the signal
(exec env PATH="$tmp/bin:/usr/bin:/bin" FAKE_DIR="$tmp/fake" FAKE_WAIT=1 \
    /bin/sh -c "$wrapper" thumbd "${args[@]}") &
wpid=$!
for _ in $(seq 100); do
    [ -s "$tmp/fake/pid" ] && break
    sleep 0.05
done
[ -s "$tmp/fake/pid" ] || fail "wrapper: the fake thumbd did not start"
kill -TERM "$wpid"
status=0
wait "$wpid" || status=$?
got=no
[ -f "$tmp/fake/got" ] && got=yes
[ "$status" = 42 ] || fail "wrapper: exit $status after SIGTERM, expected thumbd's own (42); thumbd got SIGTERM: $got"
[ "$got" = yes ] || fail "wrapper: SIGTERM was not forwarded to thumbd"
rm -f "$tmp/fake/pid"

echo "deploy_jobs: Kubernetes Job and AWS Batch job definition OK"
