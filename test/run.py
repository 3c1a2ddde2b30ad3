#!/usr/bin/env python3
"""The test runner: unit tests, test/misc/*.sh, checkpoint/restore tests and error cases.

    python3 test/run.py --build build --unit build/test/unit/test-foo ...
    python3 test/run.py --build build --cr-only -t heap_mmap --iters 3 -v

Checkpoint/restore tests (test/cr/<name>.c, built into <build>/test/cr/<name>) follow the zdtm
protocol of test/lib/zdtmtst.h: the runner starts the program with --pidfile/--outfile/--dir, waits
for the pidfile, dumps it, checks it is gone, restores it, checks the pid, sends SIGTERM and wants
exit 0 and "PASS" in the outfile. test/cr/<name>.desc (optional, "key: value" lines) sets:

    flavors: plain snapshot     which flavors to run (default: plain; also predump and
                                pageserver: pages sent through criu page-server;
                                stopped: dumped while SIGSTOPped, must come back stopped;
                                restore2: the same images restored twice, one after the other)
    iterations: N               dump/restore cycles before SIGTERM (plain flavor)
    dump_opts: ...              extra options for criu dump
    restore_opts: ...           extra options for criu restore
    requires: FEATURE ...       skip unless `criu check --feature FEATURE` succeeds
    skip: reason                skip the test
    timeout: SECONDS            per-test timeout (default 60)

Values may use ${ZDTM_RUN_ID}, unique per run (the tests see it in their environment).

Error cases live in test/errors/*.py: each module has CASES, a list of (name, function); the
function gets the Harness and returns None (pass) or raises Fail/Skip.

The runner is a child subreaper, so restored tasks become its children and are reaped at once.
The last line printed is "N passed, N failed" (", N skipped" if any); the exit code is non-zero
when anything failed.
"""

import argparse
import ctypes
import fcntl
import glob
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_AVAILABLE = "not available in this build yet"
PR_SET_CHILD_SUBREAPER = 36
DEFAULT_TIMEOUT = 60


class Fail(Exception):
    """A test failed; the message is the reason."""


class Skip(Exception):
    """A test cannot run here; the message is the reason."""


def set_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "prctl(PR_SET_CHILD_SUBREAPER): " + os.strerror(err))


def tail(path, lines=30):
    try:
        with open(path, "r", errors="replace") as f:
            data = f.read().splitlines()
    except OSError:
        return ""
    return "\n".join(data[-lines:])


def pid_alive(pid):
    """True if /proc/PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def pid_exists(pid):
    return os.path.exists("/proc/%d" % pid)


def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2:].split()[1])


def my_children():
    """PIDs whose parent is this runner (read from /proc, zombies included)."""
    me = os.getpid()
    kids = set()
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_ppid(int(d)) == me:
            kids.add(int(d))
    return kids


def describe_status(status):
    if os.WIFEXITED(status):
        return "exit %d" % os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return "killed by %s" % name
    return "status 0x%x" % status


def wait_pid(pid, timeout):
    """waitpid() with a timeout. Returns the status, None on timeout; raises Fail if PID is
    not our child."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            wpid, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            raise Fail("pid %d is not a child of the runner" % pid)
        if wpid == pid:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def kill_and_reap(pid):
    """Kill PID (one we started or restored) and reap it if it is our child."""
    if pid is None or pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        wait_pid(pid, 5)
    except Fail:
        pass


def tree_pids(pid):
    """PID and its descendants (from /proc/PID/task/*/children), parents first."""
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for tid in os.listdir("/proc/%d/task" % pids[i]):
                with open("/proc/%d/task/%s/children" % (pids[i], tid)) as f:
                    pids += [int(x) for x in f.read().split() if int(x) not in pids]
        except OSError:
            pass
        i += 1
    return pids


def kill_tree(pid, timeout):
    """SIGKILL the tree under PID (tasks a test started) and reap it: all its pids are free
    afterwards (the tree's tasks are ours to reap: our children, or reparented to us)."""
    pids = tree_pids(pid)
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while any(pid_exists(p) for p in pids):
        if time.monotonic() > deadline:
            raise Fail("the tree of pid %d did not go away after SIGKILL" % pid)
        reap_zombies()
        time.sleep(0.005)


def reap_zombies():
    while True:
        try:
            wpid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if wpid == 0:
            return


def kill_leftovers():
    """Kills and reaps what the test left behind. Every child of the runner at this point is
    a task of the test (or one a test restored) that outlived its parent and was reparented to
    us, the subreaper; killing it reparents its own children to us in turn, so repeat."""
    for _ in range(50):
        reap_zombies()
        alive = [p for p in my_children() if pid_alive(p)]
        if not alive:
            return
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    reap_zombies()


def read_pidfile(path, timeout, watch_pid=None):
    """Waits for PATH to hold a pid. Returns it, or None on timeout or if WATCH_PID died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                data = f.read().strip()
            if data:
                return int(data)
        except (OSError, ValueError):
            pass
        if watch_pid is not None:
            try:
                wpid, status = os.waitpid(watch_pid, os.WNOHANG)
            except ChildProcessError:
                wpid = 0
            if wpid == watch_pid:
                if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 77:
                    raise Skip("test skipped itself")
                raise Fail("test exited before it was ready (%s)" % describe_status(status))
        time.sleep(0.01)
    return None


def parse_desc(path):
    desc = {}
    if not os.path.exists(path):
        return desc
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if ":" not in line:
                raise ValueError("%s:%d: expected 'key: value'" % (path, lineno))
            key, val = line.split(":", 1)
            desc[key.strip()] = os.path.expandvars(val.strip())    # ${ZDTM_RUN_ID}
    return desc


class Result:
    def __init__(self, name, status, reason="", secs=0.0, details=""):
        self.name = name
        self.status = status
        self.reason = reason
        self.secs = secs
        self.details = details


class Harness:
    """What the cr tests and the error cases share: the criu binary, test programs, output dirs."""

    def __init__(self, build, verbose=False):
        self.build = os.path.abspath(build)
        self.criu = os.path.join(self.build, "bin", "criu")
        self.crit = os.path.join(self.build, "bin", "crit")
        self.out_root = None            # claimed on first use: see claim_out_root()
        self.verbose = verbose
        self.cr_unavailable = None      # reason, when dump/restore are not in this build
        self.features = {}
        self.deadline = None            # time.monotonic() limit of the current test
        self.outdir = None

    def claim_out_root(self):
        """build/test-out, or build/test-out.PID while another runner holds build/test-out
        (two runs in one checkout must not clobber each other's images and pidfiles)."""
        root = os.path.join(self.build, "test-out")
        os.makedirs(root, exist_ok=True)
        self.lock_fd = os.open(os.path.join(root, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.private_root = False
            return root
        except BlockingIOError:
            os.close(self.lock_fd)
            self.lock_fd = -1
        root = "%s.%d" % (root, os.getpid())
        print("note: another test run uses %s/test-out, this one uses %s" %
              (self.build, root), flush=True)
        self.private_root = True
        return root

    # -- per-test state -------------------------------------------------------------------
    def begin(self, name, timeout=DEFAULT_TIMEOUT):
        if self.out_root is None:
            self.out_root = self.claim_out_root()
        self.outdir = os.path.join(self.out_root, name.replace("/", "_").replace(":", "_"))
        shutil.rmtree(self.outdir, ignore_errors=True)
        os.makedirs(self.outdir)
        self.deadline = time.monotonic() + timeout
        self.started = []               # pids to kill when the test ends
        self.logs = []                  # log files to show on failure

    def remaining(self, cap=None):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Fail("timeout")
        return min(left, cap) if cap else left

    def end(self):
        for pid in self.started:
            if pid_exists(pid) and proc_ppid(pid) == os.getpid():
                kill_and_reap(pid)
        kill_leftovers()

    def path(self, *parts):
        return os.path.join(self.outdir, *parts)

    # -- running criu ---------------------------------------------------------------------
    def run_criu(self, args, log=None, images=None, cap=None):
        """Runs criu ARGS. Returns (exit code, stdout+stderr). A hang is a Fail; a binary that
        says the action is not available is a Skip."""
        cmd = [self.criu] + args
        if self.verbose:
            print("    $ " + " ".join(shlex.quote(a) for a in cmd), flush=True)
        if images and log:
            self.logs.append(os.path.join(images, log))
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, cwd=self.outdir,
                               timeout=self.remaining(cap))
        except subprocess.TimeoutExpired:
            raise Fail("criu %s timed out" % args[0])
        except OSError as e:
            raise Fail("cannot run %s: %s" % (self.criu, e))
        out = p.stdout.decode(errors="replace")
        logtext = ""
        if images and log:
            logtext = tail(os.path.join(images, log), 1000)
        if p.returncode != 0 and (NOT_AVAILABLE in out or NOT_AVAILABLE in logtext):
            raise Skip("criu %s: %s" % (args[0], NOT_AVAILABLE))
        if self.verbose and out.strip():
            print("      " + out.strip().replace("\n", "\n      "), flush=True)
        return p.returncode, out

    def dump(self, pid, images, extra=(), log="dump.log", expect_ok=True):
        os.makedirs(images, exist_ok=True)
        rc, out = self.run_criu(["dump", "-t", str(pid), "-D", images, "-v4", "-o", log]
                                + list(extra), log, images)
        if expect_ok and rc != 0:
            raise Fail("criu dump %s: %s" % (exit_text(rc), last_line(out)))
        return rc, out

    def restore(self, images, pidfile, extra=(), log="restore.log", expect_ok=True):
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        rc, out = self.run_criu(["restore", "-D", images, "-d", "-v4", "-o", log,
                                 "--pidfile", pidfile] + list(extra), log, images)
        if expect_ok and rc != 0:
            raise Fail("criu restore %s: %s" % (exit_text(rc), last_line(out)))
        return rc, out

    def has_feature(self, feature):
        if feature not in self.features:
            try:
                p = subprocess.run([self.criu, "check", "--feature", feature],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=30)
                self.features[feature] = p.returncode == 0
            except subprocess.TimeoutExpired:
                self.features[feature] = False
        return self.features[feature]

    # -- test programs --------------------------------------------------------------------
    def spawn(self, prog, args=(), outfile=None, pidfile=None):
        """Starts PROG (a path) as our child in its own session, stdin /dev/null, stdout and
        stderr appended to OUTFILE. With PIDFILE, passes the zdtm options and waits for it.
        Returns the pid."""
        outfile = outfile or self.path("test.out")
        argv = [prog]
        if pidfile:
            workdir = self.path("work")
            os.makedirs(workdir, exist_ok=True)
            argv += ["--pidfile", pidfile, "--outfile", outfile, "--dir", workdir]
        argv += list(args)
        if not os.access(prog, os.X_OK):
            raise Fail("test program %s is not built" % prog)
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, outfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        sigs = [signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM]
        pid = os.posix_spawn(prog, argv, os.environ, file_actions=actions, setsid=True,
                             setsigdef=sigs, setsigmask=[])
        self.started.append(pid)
        if pidfile:
            try:
                got = read_pidfile(pidfile, self.remaining(30), pid)
            except Skip:
                lines = [l for l in tail(outfile, 50).splitlines() if l.startswith("SKIP")]
                raise Skip(lines[-1][6:] if lines else "test skipped itself")
            if got is None:
                raise Fail("test did not become ready")
            if got != pid:
                raise Fail("pidfile says %d, started %d" % (got, pid))
        return pid

    def test_prog(self, kind, name):
        return os.path.join(self.build, "test", kind, name)

    def expect_gone(self, pid, what="dump"):
        """After a dump without -R: PID (our child) was killed by SIGKILL and is gone."""
        status = wait_pid(pid, self.remaining(10))
        if status is None:
            raise Fail("pid %d still runs after %s" % (pid, what))
        if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
            raise Fail("after %s pid %d ended with %s, not SIGKILL" %
                       (what, pid, describe_status(status)))
        if pid_exists(pid):
            raise Fail("/proc/%d still exists after %s" % (pid, what))
        # The rest of a killed tree was reparented to us (a subreaper): free its pids now.
        reap_zombies()

    def expect_running(self, pid, what):
        try:
            wpid, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            raise Fail("pid %d is not a child of the runner after %s" % (pid, what))
        if wpid == pid:
            raise Fail("pid %d ended after %s (%s)" % (pid, what, describe_status(status)))
        if not pid_alive(pid):
            raise Fail("pid %d does not run after %s" % (pid, what))

    def restored_pid(self, pidfile, want):
        try:
            with open(pidfile) as f:
                got = int(f.read().strip())
        except (OSError, ValueError) as e:
            raise Fail("restore wrote no pidfile: %s" % e)
        if got != want:
            self.started.append(got)
            raise Fail("restored pid %d, expected %d" % (got, want))
        return got

    def finish_test(self, pid, outfile):
        """SIGTERM the test, wait for it, want exit 0 and PASS (or 77 and SKIP)."""
        os.kill(pid, signal.SIGTERM)
        status = wait_pid(pid, self.remaining(30))
        if status is None:
            raise Fail("test did not exit after SIGTERM")
        verdict = ""
        for line in tail(outfile, 200).splitlines():
            if line.startswith(("PASS", "FAIL", "SKIP")):
                verdict = line
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 77 and verdict.startswith("SKIP"):
            raise Skip(verdict[6:] or "test skipped")
        if verdict.startswith("FAIL"):
            raise Fail("test says " + verdict)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            raise Fail("test ended with %s" % describe_status(status))
        if verdict != "PASS":
            raise Fail("no PASS in the test's output")


def exit_text(rc):
    if rc < 0:
        try:
            return "was killed by " + signal.Signals(-rc).name
        except ValueError:
            return "was killed by signal %d" % -rc
    return "exited %d" % rc


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else "(no output)"


# -- checkpoint/restore tests ---------------------------------------------------------------

def cr_plain(h, prog, desc, iters):
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    for i in range(1, iters + 1):
        images = h.path("img-%d" % i) if iters > 1 else h.path("img")
        h.dump(pid, images, dump_opts)
        h.expect_gone(pid, "dump")
        rpidfile = h.path("restore.pid")
        h.restore(images, rpidfile, rst_opts)
        h.restored_pid(rpidfile, pid)
        h.expect_running(pid, "restore")
    h.finish_test(pid, outfile)


def cr_snapshot(h, prog, desc, iters):
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    h.dump(pid, h.path("img1"), ["-R"] + dump_opts)
    h.expect_running(pid, "dump -R")
    time.sleep(0.1)
    h.expect_running(pid, "dump -R")
    h.dump(pid, h.path("img2"), ["-R"] + dump_opts)
    h.expect_running(pid, "the second dump -R")
    kill_tree(pid, h.remaining(10))
    rpidfile = h.path("restore.pid")
    h.restore(h.path("img2"), rpidfile, rst_opts)
    h.restored_pid(rpidfile, pid)
    h.expect_running(pid, "restore")
    h.finish_test(pid, outfile)


def cr_predump(h, prog, desc, iters):
    """pre-dump while it runs, then a dump on top of it (--prev-images-dir), then restore."""
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    pre = h.path("img-pre")
    os.makedirs(pre)
    rc, out = h.run_criu(["pre-dump", "-t", str(pid), "-D", pre, "-v4", "-o", "pre-dump.log",
                          "--track-mem"] + dump_opts, "pre-dump.log", pre)
    if rc != 0:
        raise Fail("criu pre-dump %s: %s" % (exit_text(rc), last_line(out)))
    h.expect_running(pid, "pre-dump")
    h.dump(pid, h.path("img"), ["--track-mem", "--prev-images-dir", "../img-pre"] + dump_opts)
    h.expect_gone(pid, "dump")
    rpidfile = h.path("restore.pid")
    h.restore(h.path("img"), rpidfile, rst_opts)
    h.restored_pid(rpidfile, pid)
    h.expect_running(pid, "restore")
    h.finish_test(pid, outfile)


def free_port():
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_page_server(h, images, log):
    """criu page-server -D IMAGES on a free port; returns (Popen, port) once it is ready (it
    writes a byte to --status-fd)."""
    import select
    port = free_port()
    rfd, wfd = os.pipe()
    cmd = [h.criu, "page-server", "-D", images, "--port", str(port), "-v4", "-o", log,
           "--status-fd", str(wfd)]
    h.logs.append(os.path.join(images, log))
    try:
        srv = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, pass_fds=(wfd,), cwd=h.outdir)
    except OSError as e:
        os.close(rfd)
        raise Fail("cannot run %s: %s" % (h.criu, e))
    finally:
        os.close(wfd)
    try:
        ready, _, _ = select.select([rfd], [], [], h.remaining(10))
        if not ready or not os.read(rfd, 1):
            srv.kill()
            out = srv.communicate()[0].decode(errors="replace")
            if NOT_AVAILABLE in out:
                raise Skip("criu page-server: " + NOT_AVAILABLE)
            raise Fail("criu page-server did not become ready: %s" % last_line(out))
    finally:
        os.close(rfd)
    return srv, port


def cr_pageserver(h, prog, desc, iters):
    """dump with its pages sent to a page server (same images dir), then restore."""
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    images = h.path("img")
    os.makedirs(images)
    srv, port = start_page_server(h, images, "page-server.log")
    try:
        h.dump(pid, images, ["--page-server", "--address", "127.0.0.1", "--port", str(port)]
               + dump_opts)
        h.expect_gone(pid, "dump")
        try:
            rc = srv.wait(timeout=h.remaining(10))
        except subprocess.TimeoutExpired:
            raise Fail("criu page-server did not exit after the dump")
        if rc != 0:
            raise Fail("criu page-server exited %d: %s" %
                       (rc, last_line(srv.stdout.read().decode(errors="replace"))))
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    rpidfile = h.path("restore.pid")
    h.restore(images, rpidfile, rst_opts)
    h.restored_pid(rpidfile, pid)
    h.expect_running(pid, "restore")
    h.finish_test(pid, outfile)


def cr_restore2(h, prog, desc, iters):
    """Dump once, restore and finish the test, then restore the same images again and finish
    it again: restore must not use up or change the images (one warm image set, many
    restores). The outfile is cut back to its size at dump time before the second restore."""
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    images = h.path("img")
    h.dump(pid, images, dump_opts)
    h.expect_gone(pid, "dump")
    out_size = os.path.getsize(outfile)
    for rnd in (1, 2):
        if rnd == 2:
            os.truncate(outfile, out_size)
        rpidfile = h.path("restore.pid")
        h.restore(images, rpidfile, rst_opts, log="restore-%d.log" % rnd)
        h.restored_pid(rpidfile, pid)
        h.expect_running(pid, "restore %d" % rnd)
        h.finish_test(pid, outfile)


def proc_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def wait_state(h, pid, states, timeout):
    deadline = time.monotonic() + h.remaining(timeout)
    while time.monotonic() < deadline:
        if proc_state(pid) in states:
            return True
        time.sleep(0.01)
    return False


def cr_stopped(h, prog, desc, iters):
    """SIGSTOP the test, dump it, restore it: it must come back stopped; SIGCONT it, then
    SIGTERM as usual."""
    pidfile, outfile = h.path("test.pid"), h.path("test.out")
    pid = h.spawn(prog, outfile=outfile, pidfile=pidfile)
    dump_opts = shlex.split(desc.get("dump_opts", ""))
    rst_opts = shlex.split(desc.get("restore_opts", ""))
    os.kill(pid, signal.SIGSTOP)
    if not wait_state(h, pid, ("T",), 10):
        raise Fail("pid %d did not stop on SIGSTOP" % pid)
    h.dump(pid, h.path("img"), dump_opts)
    h.expect_gone(pid, "dump")
    rpidfile = h.path("restore.pid")
    h.restore(h.path("img"), rpidfile, rst_opts)
    h.restored_pid(rpidfile, pid)
    if not wait_state(h, pid, ("T",), 2):
        raise Fail("pid %d was stopped when dumped, is '%s' after restore" %
                   (pid, proc_state(pid)))
    os.kill(pid, signal.SIGCONT)
    if not wait_state(h, pid, ("R", "S", "D"), 5):
        raise Fail("pid %d does not run after SIGCONT (state '%s')" % (pid, proc_state(pid)))
    h.expect_running(pid, "restore and SIGCONT")
    h.finish_test(pid, outfile)


FLAVORS = {"restore2": cr_restore2, "stopped": cr_stopped, "plain": cr_plain, "snapshot": cr_snapshot, "predump": cr_predump,
           "pageserver": cr_pageserver}


def cr_tests(h, names, args):
    """Yields (test name, function running it) for every selected cr test and flavor."""
    for src in sorted(glob.glob(os.path.join(TOP, "test", "cr", "*.c"))):
        base = os.path.splitext(os.path.basename(src))[0]
        try:
            desc = parse_desc(os.path.join(TOP, "test", "cr", base + ".desc"))
        except (OSError, ValueError) as e:
            desc = {"error": str(e)}
        flavors = desc.get("flavors", "plain").split()
        if args.leave_running:
            flavors = ["snapshot"]
        for fl in flavors:
            name = "cr/" + base + ("" if fl == "plain" else ":" + fl)
            if names and base not in names and name not in names and \
               name[3:] not in names:
                continue
            yield name, make_cr_runner(h, base, fl, desc, args)


def make_cr_runner(h, base, flavor, desc, args):
    def run():
        if "error" in desc:
            raise Fail("bad .desc: %s" % desc["error"])
        if "skip" in desc and not args.run_skipped:
            raise Skip(desc["skip"])
        if flavor not in FLAVORS:
            raise Fail("unknown flavor '%s'" % flavor)
        if h.cr_unavailable:
            raise Skip(h.cr_unavailable)
        for feat in desc.get("requires", "").split():
            if not h.has_feature(feat):
                raise Skip("criu check: feature %s missing" % feat)
        iters = args.iters or int(desc.get("iterations", "1"))
        FLAVORS[flavor](h, h.test_prog("cr", base), desc, iters)
    try:
        run.timeout = int(desc.get("timeout", DEFAULT_TIMEOUT))
    except ValueError:
        run.timeout = DEFAULT_TIMEOUT
    return run


def error_tests(h, names):
    for mod_path in sorted(glob.glob(os.path.join(TOP, "test", "errors", "*.py"))):
        mod_name = "errors_" + os.path.splitext(os.path.basename(mod_path))[0]
        spec = importlib.util.spec_from_file_location(mod_name, mod_path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        spec.loader.exec_module(mod)
        for case_name, fn in getattr(mod, "CASES", []):
            name = "errors/" + case_name
            if names and case_name not in names and name not in names:
                continue
            yield name, make_err_runner(h, fn)


def make_err_runner(h, fn):
    def run():
        if h.cr_unavailable:
            raise Skip(h.cr_unavailable)
        fn(h)
    run.timeout = DEFAULT_TIMEOUT
    return run


def probe_cr(h):
    """Is dump in this build? Dump a sleeping child of ours and look for the stub message."""
    h.begin("probe")
    try:
        pid = h.spawn("/bin/sleep", ["1000"])
        images = h.path("img")
        os.makedirs(images)
        p = subprocess.run([h.criu, "dump", "-t", str(pid), "-D", images, "-v4", "-o",
                            "dump.log"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        out = p.stdout.decode(errors="replace") + tail(os.path.join(images, "dump.log"), 100)
        if p.returncode != 0 and NOT_AVAILABLE in out:
            return "criu dump: " + NOT_AVAILABLE
    except (OSError, subprocess.TimeoutExpired) as e:
        return "cannot probe criu dump: %s" % e
    finally:
        h.end()
    return None


# -- unit and misc tests --------------------------------------------------------------------

def run_program(cmd, env=None, timeout=DEFAULT_TIMEOUT):
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=timeout, cwd=TOP)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        raise Fail("timeout after %ds" % timeout, out)
    except OSError as e:
        raise Fail(str(e))
    out = p.stdout.decode(errors="replace")
    if p.returncode == 0:
        return out
    if p.returncode == 77:
        lines = [l for l in out.splitlines() if l.strip()]
        raise Skip(lines[-1][:120] if lines else "skipped")
    raise Fail("exit %d" % p.returncode if p.returncode > 0 else
               "killed by signal %d" % -p.returncode, out)


def unit_tests(names, binaries):
    for b in binaries:
        name = "unit/" + os.path.basename(b)
        if names and os.path.basename(b) not in names and name not in names:
            continue
        yield name, (lambda b=b: run_program([os.path.abspath(b)]))


def misc_tests(h, names):
    env = dict(os.environ, CRIU=h.criu, CRIT=h.crit, BUILD=h.build)
    for sh in sorted(glob.glob(os.path.join(TOP, "test", "misc", "*.sh"))):
        base = os.path.basename(sh)
        name = "misc/" + base
        if names and base not in names and name not in names and \
           os.path.splitext(base)[0] not in names:
            continue
        yield name, (lambda sh=sh: run_program(["bash", sh], env=env, timeout=300))


# -- main -----------------------------------------------------------------------------------

def run_one(h, name, fn, verbose):
    t0 = time.monotonic()
    details = ""
    is_cr = name.startswith(("cr/", "errors/"))
    try:
        if is_cr:
            h.begin(name, getattr(fn, "timeout", DEFAULT_TIMEOUT))
        out = fn()
        status, reason = "PASS", ""
        if verbose and isinstance(out, str):
            details = out
    except Skip as e:
        status, reason = "SKIP", str(e)
    except Fail as e:
        status, reason = "FAIL", str(e.args[0]) if e.args else "failed"
        if len(e.args) > 1:
            details = e.args[1]
    except Exception as e:      # a bug in the runner or a case: a failure of that test
        import traceback
        status, reason = "FAIL", "%s: %s" % (type(e).__name__, e)
        details = traceback.format_exc()
    finally:
        if is_cr:
            h.end()
    if status == "FAIL" and is_cr:
        parts = [details] if details else []
        for log in getattr(h, "logs", []) + [h.path("test.out")]:
            if os.path.exists(log):
                parts.append("--- %s (tail)\n%s" % (os.path.relpath(log, TOP), tail(log, 25)))
        details = "\n".join(parts)
    return Result(name, status, reason, time.monotonic() - t0, details)


def main():
    # Unique per run, for names several runs must not share (cgroups: see freeze_cgroup.h).
    os.environ.setdefault("ZDTM_RUN_ID", str(os.getpid()))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--unit", nargs="*", default=[], help="unit test binaries")
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--cr-only", action="store_true")
    ap.add_argument("-t", "--test", action="append", default=[], help="run only NAME")
    ap.add_argument("--iters", type=int, default=0, help="dump/restore cycles per test")
    ap.add_argument("--leave-running", action="store_true", help="snapshot flavor (dump -R)")
    ap.add_argument("--run-skipped", action="store_true",
                    help="run cr tests even if their .desc says skip")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    # Tests must not inherit what our caller left open (a pipe of make or of CI, say).
    for fd in os.listdir("/proc/self/fd"):
        try:
            if int(fd) > 2:
                os.set_inheritable(int(fd), False)
        except OSError:
            pass

    try:
        set_subreaper()
    except OSError as e:
        print("warning: %s" % e, file=sys.stderr)

    h = Harness(args.build, args.verbose)
    names = set(args.test)
    tests = []
    if not args.cr_only:
        tests += list(unit_tests(names, args.unit))
    if not args.unit_only:
        tests += list(misc_tests(h, names))
        crs = list(cr_tests(h, names, args)) + list(error_tests(h, names))
        if crs:
            if os.geteuid() != 0:
                h.cr_unavailable = "checkpoint/restore tests need root"
            elif not os.access(h.criu, os.X_OK):
                h.cr_unavailable = "%s is not built" % h.criu
            else:
                h.cr_unavailable = probe_cr(h)
        tests += crs

    if names and not tests:
        print("no test matches %s" % ", ".join(sorted(names)), file=sys.stderr)
        return 2

    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for name, fn in tests:
        r = run_one(h, name, fn, args.verbose)
        counts[r.status] += 1
        line = "%-4s %-36s %6.2fs" % (r.status, r.name, r.secs)
        if r.reason:
            line += "  " + r.reason
        print(line, flush=True)
        if r.details and (r.status == "FAIL" or args.verbose):
            print("    " + r.details.rstrip().replace("\n", "\n    "), flush=True)
    kill_leftovers()
    if h.out_root and h.private_root and not counts["FAIL"]:
        shutil.rmtree(h.out_root, ignore_errors=True)

    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
