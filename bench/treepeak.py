#!/usr/bin/python3
"""Runs a command and prints the peak memory of its whole process tree.

    treepeak.py [--cgroup DIR] -- COMMAND [ARG...]

Prints one line on stderr, after the command ends:

    treepeak: rss_peak_kb=N hwm_sum_kb=M hwm_max_kb=X samples=S procs=P [cgroup_peak_kb=C]

rss_peak_kb  the largest sum of VmRSS over the tree seen in one sample (every
             2 ms): a lower bound of the tree's peak;
hwm_sum_kb   the sum, over every process of the tree ever seen, of its own
             peak (VmHWM, last read): an upper bound of the tree's peak (the
             processes' peaks need not coincide), unless a process grew
             after its last sample and died before the next one;
hwm_max_kb   the largest of those peaks: the one process that grew most;
procs        how many processes the tree had, over the run;
cgroup_peak  with --cgroup, the memory cgroup's own figure (v2 memory.peak,
             v1 memory.max_usage_in_bytes): pages counted once, page cache
             included. The command is put in that cgroup first.

Exits with the command's status (128+N for a signal)."""
import os, sys, time


def status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def tree(root):
    seen, todo = [], [root]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def cgroup_peak_kb(d):
    for name in ("memory.peak", "memory.max_usage_in_bytes"):
        try:
            with open(os.path.join(d, name)) as f:
                return int(f.read().split()[0]) // 1024
        except OSError:
            continue
    return None


def main():
    args = sys.argv[1:]
    cg = None
    if args[:1] == ["--cgroup"]:
        cg, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    pid = os.fork()
    if pid == 0:
        if cg:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        try:
            os.execvp(args[0], args)
        finally:
            os._exit(127)
    rss_peak, hwm, samples = 0, {}, 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        total = 0
        for p in tree(pid):
            rss = status_kb(p, "VmRSS")
            h = status_kb(p, "VmHWM")
            if rss is not None:
                total += rss
            if h is not None:
                # a pid reused by another process: its own entry
                start = open_start(p)
                key = (p, start)
                hwm[key] = max(hwm.get(key, 0), h)
        rss_peak = max(rss_peak, total)
        samples += 1
        time.sleep(0.002)
    line = (f"treepeak: rss_peak_kb={rss_peak} hwm_sum_kb={sum(hwm.values())} "
            f"hwm_max_kb={max(hwm.values(), default=0)} samples={samples} procs={len(hwm)}")
    if cg:
        line += f" cgroup_peak_kb={cgroup_peak_kb(cg)}"
    print(line, file=sys.stderr)
    code = os.waitstatus_to_exitcode(status)
    sys.exit(code if code >= 0 else 128 - code)


def open_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


if __name__ == "__main__":
    main()
