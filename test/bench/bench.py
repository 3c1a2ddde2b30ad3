#!/usr/bin/env python3
"""make bench: dump and restore speed next to the machine's ceilings, measured in the same run.

Workloads: a process holding 1 GiB of touched anonymous memory, one of 64 MiB, and a small
sleeping process. Images go to /dev/shm. Each is dumped and restored once to warm up, then
--runs more times; the medians are printed in seconds and GiB/s, next to the ceilings:
writing 1 GiB into /dev/shm (what dump cannot beat) and filling 1 GiB of freshly mapped memory
(what restore cannot beat: the faster of faulting page by page and MADV_POPULATE_WRITE first),
each also at the other workload sizes, and the ratio of each median to its ceiling. Figures only.
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

    def ceilings(self, mib, runs):
        """Medians (after a warm-up) of: writing MIB MiB into /dev/shm, and filling MIB MiB of
        fresh memory page by page ("touch") and after one MADV_POPULATE_WRITE ("populate")."""
        path = os.path.join(self.shm, "ceiling.data")
        res = {"write": [], "touch": [], "populate": []}
        for _ in range(runs + 1):
            for key in res:
                cmd = [self.ceiling, "write", path, str(mib)] if key == "write" else \
                      [self.ceiling, "fill", str(mib), key]
                res[key].append(float(subprocess.check_output(cmd)))
        return {k: statistics.median(v[1:]) for k, v in res.items()}

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

    def one_cycle(self, mib):
        """Start a memhog of MIB MiB, dump it, restore it, kill it. Returns (dump s, restore s)."""
        work = tempfile.mkdtemp(prefix="run-", dir=self.shm)
        pidfile = os.path.join(work, "hog.pid")
        images = os.path.join(work, "img")
        os.mkdir(images)
        # stdio to /dev/null: the caller's terminal or pipe is not part of the workload
        proc = subprocess.Popen([self.memhog, str(mib), pidfile], stdin=subprocess.DEVNULL,
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
            t_dump = self.criu_run(["dump", "-t", str(pid), "-D", images, "-o", "dump.log"],
                                   images)
            proc.wait(timeout=10)
            if os.path.exists("/proc/%d" % pid):
                raise BenchError("pid %d still exists after dump" % pid)
            rpid = os.path.join(work, "restored.pid")
            t_rst = self.criu_run(["restore", "-D", images, "-d", "--pidfile", rpid,
                                   "-o", "restore.log"], images)
            with open(rpid) as f:
                if int(f.read()) != pid:
                    raise BenchError("restored with another pid")
            kill(pid)
            return t_dump, t_rst
        finally:
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
    ap.add_argument("--sizes", default="1024,64,0", help="MiB of each workload, 0: small")
    args = ap.parse_args()
    set_subreaper()

    shm = tempfile.mkdtemp(prefix="criu-bench-", dir="/dev/shm")
    b = Bench(args.build, shm)
    failed = False
    try:
        print("ceilings (median of %d after a warm-up):" % args.runs, flush=True)
        sizes = [int(x) for x in args.sizes.split(",")]
        ceil = {}
        for mib in sorted(set(sizes + [1024]), reverse=True):
            if not mib:
                continue
            c = b.ceilings(mib, args.runs)
            ceil[mib] = (c["write"], min(c["touch"], c["populate"]))
            what = "1 GiB" if mib == 1024 else "%d MiB" % mib
            nbytes = mib << 20
            print("  write %-7s into /dev/shm             %8.3f s  %s   (dump's ceiling)" %
                  (what, c["write"], fmt_rate(nbytes, c["write"])))
            print("  fill %-7s fresh memory, page by page %8.3f s  %s" %
                  (what, c["touch"], fmt_rate(nbytes, c["touch"])))
            print("  fill %-7s fresh memory, populated    %8.3f s  %s   "
                  "(restore's ceiling: the faster fill)" %
                  (what, c["populate"], fmt_rate(nbytes, c["populate"])), flush=True)
        print("dump / restore (median of %d after a warm-up):" % args.runs, flush=True)
        for mib in sizes:
            name = "%d MiB" % mib if mib else "small (sleeping)"
            try:
                runs = [b.one_cycle(mib) for _ in range(args.runs + 1)][1:]
            except BenchError as e:
                print("  %-16s %s" % (name, e), flush=True)
                failed = True
                continue
            d = statistics.median(r[0] for r in runs)
            r = statistics.median(r[1] for r in runs)
            nbytes = mib << 20
            line_d = "  %-16s dump    %8.3f s  %s" % (name, d, fmt_rate(nbytes, d))
            line_r = "  %-16s restore %8.3f s  %s" % ("", r, fmt_rate(nbytes, r))
            if nbytes:
                w, f = ceil[mib]
                line_d += "   %5.1f%% of the ceiling's speed" % (100 * w / d)
                line_r += "   %5.1f%% of the ceiling's speed" % (100 * f / r)
            print(line_d)
            print(line_r, flush=True)
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
