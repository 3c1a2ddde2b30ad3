#!/usr/bin/env python3
"""make bench: dump and restore speed next to the machine's ceilings, measured in the same run.

Workloads: a process holding 1 GiB of touched anonymous memory, one of 64 MiB, a small
sleeping process, and a tree of 51 small processes. Images go to /dev/shm. Each is dumped and
restored once to warm up, then --runs more times; the medians are printed in seconds and GiB/s,
next to the ceilings measured in the same runs, at the same size:
- dump: writing the memory into /dev/shm, from one hot 4 MiB buffer ("write", kept for
  comparison with older figures) and from as much anonymous memory populated beforehand ("write,
  from populated mem"). Dump cannot beat the latter: like it, it must read every byte of the
  task's memory from RAM once (the hot buffer reads from the caches), and write it into fresh
  tmpfs pages. The dump's ratio is taken against that one. It times its second pass: the
  first pass into tmpfs pages that nothing used lately pays for this VM's host taking back
  freed guest memory (0.4 to 2 s more per GiB, at random; see ceiling.c). So that the dump
  writes into pages in the same state, each write ceiling and each cycle first populates and
  frees twice the memory (the workload takes half of those pages, the pages image the other half):
  without that, the dump's image lands in pages the host took back and a 1 GiB dump takes
  0.6 to 1.3 s here instead of 0.40 to 0.45 s, all of the difference in the kernel's copy into
  the new tmpfs pages. Measured here, reading the source from RAM costs about nothing more
  than from the caches.
- restore: filling as much freshly mapped memory (the fastest of faulting page by page,
  MADV_POPULATE_WRITE first, and the kernel writing each page through its own mapping). The
  ceilings fill with one thread; a restore of 32 MiB or more copies with two where it has two
  CPUs (criu/res/pages.c), so it can come out below 1x.
Each ratio is the median of the runs' own ratios (each run's dump or restore over the ceiling
measured right before it), which the machine's drifting memory speed skews less than a ratio of
medians. The dump's best run is also set against the best runs of both write ceilings: on this
VM the host's memory behaviour adds up to a second or two to single runs of any of them, at
random, and the best runs show what each can do. Figures only, no thresholds.
"""

import argparse
import ctypes
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36
GIB = 1 << 30


class BenchError(Exception):
    pass


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def wait_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            wpid, _ = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                return True
        except ChildProcessError:
            if not os.path.exists("/proc/%d" % pid):
                return True
        time.sleep(0.005)
    return False


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_gone(pid)


class Bench:
    def __init__(self, build, shm):
        self.build = os.path.abspath(build)
        self.criu = os.path.join(self.build, "bin", "criu")
        self.memhog = os.path.join(self.build, "test", "bench", "memhog")
        self.ceiling = os.path.join(self.build, "test", "bench", "ceiling")
        self.shm = shm

    def ceilings_once(self, mib):
        """One measurement each of: writing MIB MiB into /dev/shm from a hot buffer ("write") and
        from as much populated memory ("write_cold"), and filling MIB MiB of fresh
        memory page by page ("touch"), after one MADV_POPULATE_WRITE ("populate"), and by the
        kernel through its own mapping of the pages ("kernel", as restore fills them: no first
        access through the process's mapping, which costs a shadow-page-table fault here)."""
        path = os.path.join(self.shm, "ceiling.data")
        res = {}
        for key in ("write", "write_cold", "touch", "populate", "kernel"):
            if key.startswith("write"):
                self.warm(mib)
                cmd = [self.ceiling, "write", path, str(mib), "cold" if key != "write" else "hot"]
            else:
                cmd = [self.ceiling, "fill", str(mib), key]
            res[key] = float(subprocess.check_output(cmd))
        return res

    def warm(self, mib):
        """Populate and free 2 * MIB MiB (and some): the next allocations of that much get
        pages the host backs (see the top), for a workload and its pages image, or for the
        source and the file of a write ceiling."""
        if mib:
            subprocess.check_output([self.ceiling, "fill", str(2 * mib + 64), "populate"])

    def criu_run(self, args, log_dir):
        t0 = time.monotonic()
        try:
            p = subprocess.run([self.criu] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise BenchError("criu %s: %s" % (args[0], e))
        secs = time.monotonic() - t0
        if p.returncode != 0:
            out = p.stdout.decode(errors="replace").strip()
            log = os.path.join(log_dir, args[-1] if args[-2] == "-o" else "")
            raise BenchError("criu %s exited %d: %s" % (args[0], p.returncode,
                                                        out.splitlines()[-1] if out else log))
        return secs

    @staticmethod
    def tree_pids(pid):
        """PIDs of the tree under PID (root first), from /proc/PID/task/*/children."""
        pids, i = [pid], 0
        while i < len(pids):
            try:
                with open("/proc/%d/task/%d/children" % (pids[i], pids[i])) as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
            i += 1
        return pids

    @staticmethod
    def reap_until_gone(pids, timeout=10):
        """Reap our (subreaper's) children until none of PIDS exists any more."""
        deadline = time.monotonic() + timeout
        while any(os.path.exists("/proc/%d" % p) for p in pids):
            try:
                if os.waitpid(-1, os.WNOHANG)[0]:
                    continue
            except ChildProcessError:
                pass
            if time.monotonic() > deadline:
                raise BenchError("tasks of the tree still exist after dump")
            time.sleep(0.005)

    def one_cycle(self, mib, children=0):
        """Start a memhog of MIB MiB with CHILDREN sleeping children, dump it, restore it,
        kill it. Returns (dump s, restore s)."""
        work = tempfile.mkdtemp(prefix="run-", dir=self.shm)
        self.warm(mib)
        pidfile = os.path.join(work, "hog.pid")
        images = os.path.join(work, "img")
        os.mkdir(images)
        # stdio to /dev/null: the caller's terminal or pipe is not part of the workload
        proc = subprocess.Popen([self.memhog, str(mib), pidfile, str(children)],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                close_fds=True)
        pid = proc.pid
        try:
            deadline = time.monotonic() + 120
            while not os.path.exists(pidfile):
                if proc.poll() is not None:
                    raise BenchError("memhog exited with %d" % proc.returncode)
                if time.monotonic() > deadline:
                    raise BenchError("memhog did not start")
                time.sleep(0.01)
            pids = self.tree_pids(pid)
            if len(pids) != children + 1:
                raise BenchError("workload has %d tasks, expected %d" % (len(pids), children + 1))
            t_dump = self.criu_run(["dump", "-t", str(pid), "-D", images, "-o", "dump.log"],
                                   images)
            proc.wait(timeout=10)
            self.reap_until_gone(pids)
            rpid = os.path.join(work, "restored.pid")
            t_rst = self.criu_run(["restore", "-D", images, "-d", "--pidfile", rpid,
                                   "-o", "restore.log"], images)
            with open(rpid) as f:
                if int(f.read()) != pid:
                    raise BenchError("restored with another pid")
            if sorted(self.tree_pids(pid)) != sorted(pids):
                raise BenchError("the restored tree has other pids")
            return t_dump, t_rst
        finally:
            try:
                os.killpg(pid, signal.SIGKILL)   # the workload's own group: the whole tree
            except OSError:
                pass
            kill(pid)
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
            shutil.rmtree(work, ignore_errors=True)


def fmt_rate(nbytes, secs):
    return "%6.2f GiB/s" % (nbytes / GIB / secs) if nbytes and secs > 0 else " " * 11


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3, help="measured runs after one warm-up")
    ap.add_argument("--each", action="store_true", help="also print every run's figures")
    ap.add_argument("--sizes", default="1024,64,0,tree50",
                    help="workloads: MiB of memory (0: small), or treeN: a tree of N+1 "
                    "small processes")
    args = ap.parse_args()
    set_subreaper()

    shm = tempfile.mkdtemp(prefix="criu-bench-", dir="/dev/shm")
    b = Bench(args.build, shm)
    failed = False
    try:
        print("medians of %d runs after a warm-up; each run measures the ceilings right "
              "before the dump and restore, so that both see the same machine load" % args.runs)
        for spec in args.sizes.split(","):
            children = int(spec[4:]) if spec.startswith("tree") else 0
            mib = 0 if children else int(spec)
            name = "%d MiB" % mib if mib else "small (sleeping)"
            if children:
                name = "tree of %d processes" % (children + 1)
            nbytes = mib << 20
            runs = []
            try:
                for _ in range(args.runs + 1):
                    c = b.ceilings_once(mib) if mib else {}
                    c["dump"], c["restore"] = b.one_cycle(mib, children)
                    runs.append(c)
                    if args.each:
                        print("  %s run %d: %s" % (name, len(runs) - 1, " ".join(
                            "%s %.3f" % kv for kv in sorted(c.items()))), flush=True)
            except BenchError as e:
                print("%s: %s" % (name, e), flush=True)
                failed = True
                continue
            med = {k: statistics.median(r[k] for r in runs[1:]) for k in runs[0]}
            if mib:
                fill = ("touch", "populate", "kernel")
                ratio_d = statistics.median(r["dump"] / r["write_cold"] for r in runs[1:])
                ratio_r = statistics.median(r["restore"] / min(r[k] for k in fill)
                                            for r in runs[1:])
            print("%s:" % name)
            if mib:
                print("  ceiling: write into /dev/shm       %8.3f s  %s" %
                      (med["write"], fmt_rate(nbytes, med["write"])))
                print("  ceiling: write, from populated mem %8.3f s  %s" %
                      (med["write_cold"], fmt_rate(nbytes, med["write_cold"])))
                print("  ceiling: fill fresh memory, faults %8.3f s  %s" %
                      (med["touch"], fmt_rate(nbytes, med["touch"])))
                print("  ceiling: fill, populated first     %8.3f s  %s" %
                      (med["populate"], fmt_rate(nbytes, med["populate"])))
                print("  ceiling: fill, by the kernel       %8.3f s  %s" %
                      (med["kernel"], fmt_rate(nbytes, med["kernel"])))
            line_d = "  criu dump                          %8.3f s  %s" % \
                (med["dump"], fmt_rate(nbytes, med["dump"]))
            line_r = "  criu restore                       %8.3f s  %s" % \
                (med["restore"], fmt_rate(nbytes, med["restore"]))
            if mib:
                line_d += "   %5.2fx the populated write ceiling" % ratio_d
                line_r += "   %5.2fx the fastest fill ceiling" % ratio_r
            print(line_d)
            if mib:
                best = {k: min(r[k] for r in runs[1:]) for k in ("dump", "write", "write_cold")}
                print("    best runs: dump %.3f s, write ceilings %.3f s (populated), %.3f s "
                      "(hot): %.2fx, %.2fx" % (best["dump"], best["write_cold"], best["write"],
                                                best["dump"] / best["write_cold"],
                                                best["dump"] / best["write"]))
            print(line_r, flush=True)
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
