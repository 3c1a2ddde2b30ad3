"""Error and rollback cases of --freeze-cgroup (criu/core/freezer.c), v1 and v2.

The target is moved into a fresh cgroup of its own; whatever the dump does (succeeds with
--leave-running, or fails), the cgroup must be THAWED afterwards and the target counting.
Helpers come from cases.py (loaded before this module by the runner).
"""

import os
import re
import sys
import time

import __main__ as runner      # test/run.py: Fail, Skip, ...

Fail = runner.Fail
Skip = runner.Skip
C = sys.modules["errors_cases"]

V1_ROOT = "/sys/fs/cgroup/freezer"
V2_ROOT = "/sys/fs/cgroup/unified"


class Cgroup:
    def __init__(self, h, v2):
        self.v2 = v2
        root = V2_ROOT if v2 else V1_ROOT
        if not os.path.exists(os.path.join(root, "cgroup.procs")):
            raise Skip("no cgroup %s hierarchy at %s" % ("v2" if v2 else "v1 freezer", root))
        self.root = root
        self.name = "zdtm-err-freeze-%s-%d" % ("v2" if v2 else "v1", os.getpid())
        self.path = os.path.join(root, self.name)
        os.makedirs(self.path, exist_ok=True)

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def frozen(self):
        if self.v2:
            with open(os.path.join(self.path, "cgroup.events")) as f:
                return "frozen 1" in f.read().splitlines()
        with open(os.path.join(self.path, "freezer.state")) as f:
            return f.read().strip() != "THAWED"

    def remove(self, pid=None):
        try:
            if self.frozen():
                with open(os.path.join(self.path, "cgroup.freeze" if self.v2 else
                                       "freezer.state"), "w") as f:
                    f.write("0" if self.v2 else "THAWED")
        except OSError:
            pass
        if pid and runner.pid_exists(pid):
            try:
                with open(os.path.join(self.root, "cgroup.procs"), "w") as f:
                    f.write(str(pid))
            except OSError:
                pass
        for _ in range(100):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def expect_thawed(cg, what):
    if cg.frozen():
        raise Fail("the cgroup %s is still frozen after %s" % (cg.path, what))


def leave_running(h, v2, relative):
    """dump -R --freeze-cgroup: images written, the cgroup thawed, the target counting."""
    cg = Cgroup(h, v2)
    pid = None
    try:
        pid = C.start_target(h, "plain")
        cg.add(pid)
        path = cg.name if relative else cg.path
        rc, out = h.dump(pid, h.path("img"), ["-R", "--freeze-cgroup", path], expect_ok=False)
        if rc != 0:
            raise Fail("dump -R --freeze-cgroup %s exited %d: %s" %
                       (path, rc, runner.last_line(out)))
        log = runner.tail(h.path("img", "dump.log"), 2000)
        if not re.search(r"froze cgroup", log):
            raise Fail("the dump log does not say the cgroup was frozen")
        expect_thawed(cg, "dump -R")
        C.expect_counting(h, pid, "dump -R --freeze-cgroup")
        h.finish_test(pid, h.path("test.out"))
    finally:
        cg.remove(pid)


def failed_dump(h, v2):
    """A dump that fails after the freeze (an fd kind it refuses) leaves the cgroup thawed."""
    cg = Cgroup(h, v2)
    pid = None
    try:
        pid = h.spawn(h.test_prog("errors", "fd_target"), ["fanotify_perm"],
                      outfile=h.path("test.out"), pidfile=h.path("target.pid"))
        cg.add(pid)
        images = h.path("img")
        before = runner.my_children()
        rc, out = h.dump(pid, images, ["--freeze-cgroup", cg.path], expect_ok=False)
        C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                         "dump of a fanotify fd with permission marks", ["fanotify"])
        C.expect_nothing_left(h, before)
        expect_thawed(cg, "the failed dump")
        C.expect_counting(h, pid, "the refused dump")
        h.finish_test(pid, h.path("test.out"))
    finally:
        cg.remove(pid)


def not_member(h):
    """The target is not in the cgroup: refused before anything is frozen."""
    cg = Cgroup(h, False)
    try:
        pid = C.start_target(h, "plain")
        images = h.path("img")
        rc, out = h.dump(pid, images, ["--freeze-cgroup", cg.path], expect_ok=False)
        C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                         "dump with a foreign freeze cgroup", ["not in the freeze cgroup"])
        expect_thawed(cg, "the refused dump")
        C.expect_counting(h, pid, "the refused dump")
        h.finish_test(pid, h.path("test.out"))
    finally:
        cg.remove()


def no_such_cgroup(h):
    pid = C.start_target(h, "plain")
    images = h.path("img")
    rc, out = h.dump(pid, images, ["--freeze-cgroup", "zdtm-no-such-cgroup"], expect_ok=False)
    C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                     "dump with a missing freeze cgroup", ["zdtm-no-such-cgroup"])
    C.expect_counting(h, pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


def restore_frozen(h, v2):
    """The target's cgroup is frozen between the dump and the restore: the restore refuses it
    (the task would freeze halfway through its restore), naming the cgroup, and leaves nothing
    behind; with --manage-cgroups=ignore it restores, in our cgroups. Thawed, the same images
    restore, the task in its cgroup again."""
    cg = Cgroup(h, v2)
    pid = None
    try:
        pid = C.start_target(h, "plain")
        cg.add(pid)
        images = h.path("img")
        h.dump(pid, images, ["--freeze-cgroup", cg.path])
        h.expect_gone(pid, "dump")
        with open(os.path.join(cg.path, "cgroup.freeze" if v2 else "freezer.state"), "w") as f:
            f.write("1" if v2 else "FROZEN")
        C.restore_refused(h, images, "restore into a frozen cgroup",
                          ["cgroup %s is frozen" % cg.path])
        # --manage-cgroups=ignore: restored in our cgroups, never near the frozen one
        h.restore(images, h.path("restore.pid"), ["--manage-cgroups=ignore"])
        h.restored_pid(h.path("restore.pid"), pid)
        with open("/proc/%d/cgroup" % pid) as f:
            now = f.read()
        if cg.name in now:
            raise Fail("restored with --manage-cgroups=ignore, the task is in %s: %s" %
                       (cg.path, now))
        C.expect_counting(h, pid, "the restore with --manage-cgroups=ignore")
        h.finish_test(pid, h.path("test.out"))
        with open(os.path.join(cg.path, "cgroup.freeze" if v2 else "freezer.state"), "w") as f:
            f.write("0" if v2 else "THAWED")
        h.restore(images, h.path("restore.pid"))
        h.restored_pid(h.path("restore.pid"), pid)
        with open("/proc/%d/cgroup" % pid) as f:
            now = f.read()
        if not re.search(r"^\d+:%s:/%s$" % ("" if v2 else "freezer", re.escape(cg.name)), now,
                         re.M):
            raise Fail("the restored task is not in %s: %s" % (cg.path, now))
        C.expect_counting(h, pid, "the restore into the thawed cgroup")
        h.finish_test(pid, h.path("test.out"))
    finally:
        cg.remove(pid)


def restore_cgroup_unjoinable(h):
    """The target's v1 cpuset cgroup loses its CPUs between the dump and the restore, so that
    no task can join it: the restore refuses, naming the cgroup and --manage-cgroups=ignore,
    and leaves nothing behind; with --manage-cgroups=ignore it restores, in our cgroups."""
    root = "/sys/fs/cgroup/cpuset"
    if not os.path.exists(os.path.join(root, "cpuset.cpus")):
        raise Skip("no cgroup v1 cpuset hierarchy at %s" % root)
    path = os.path.join(root, "zdtm-err-cpuset-%d" % os.getpid())
    os.makedirs(path, exist_ok=True)
    pid = None
    try:
        for f in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(root, f)) as src, open(os.path.join(path, f), "w") as dst:
                dst.write(src.read().strip())
        pid = C.start_target(h, "plain")
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))
        images = h.path("img")
        h.dump(pid, images)
        h.expect_gone(pid, "dump")
        with open(os.path.join(path, "cpuset.cpus"), "w") as f:
            f.write("\n")
        C.restore_refused(h, images, "restore into a cgroup no task can join",
                          ["cannot join cgroup %s" % path, "--manage-cgroups=ignore"])
        h.restore(images, h.path("restore.pid"), ["--manage-cgroups=ignore"])
        h.restored_pid(h.path("restore.pid"), pid)
        C.expect_counting(h, pid, "the restore with --manage-cgroups=ignore")
        h.finish_test(pid, h.path("test.out"))
    finally:
        if pid and runner.pid_exists(pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            runner.wait_pid(pid, 5)
        for _ in range(100):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


CASES = [
    ("restore_cgroup_unjoinable_refused", restore_cgroup_unjoinable),
    ("restore_cgroup_v1_frozen_refused", lambda h: restore_frozen(h, False)),
    ("restore_cgroup_v2_frozen_refused", lambda h: restore_frozen(h, True)),
    ("dump_freeze_cgroup_v1_leave_running", lambda h: leave_running(h, False, True)),
    ("dump_freeze_cgroup_v2_leave_running", lambda h: leave_running(h, True, False)),
    ("dump_freeze_cgroup_v1_failed_thawed", lambda h: failed_dump(h, False)),
    ("dump_freeze_cgroup_v2_failed_thawed", lambda h: failed_dump(h, True)),
    ("dump_freeze_cgroup_not_member", not_member),
    ("dump_freeze_cgroup_missing", no_such_cgroup),
]


def stopped_v1(h):
    """A SIGSTOPped task and a v1 freezer: refused before freezing (a frozen stopped task could
    not be seized); the cgroup stays thawed, the target stays stopped and runs on after
    SIGCONT."""
    import signal
    cg = Cgroup(h, False)
    pid = None
    try:
        pid = C.start_target(h, "plain")
        cg.add(pid)
        os.kill(pid, signal.SIGSTOP)
        if not runner.wait_state(h, pid, ("T",), 10):
            raise Fail("pid %d did not stop on SIGSTOP" % pid)
        images = h.path("img")
        rc, out = h.dump(pid, images, ["--freeze-cgroup", cg.path], expect_ok=False)
        C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                         "dump of a stopped task in a v1 freezer cgroup", ["is stopped"])
        expect_thawed(cg, "the refused dump")
        if runner.proc_state(pid) != "T":
            raise Fail("pid %d is '%s' after the refused dump, not stopped" %
                       (pid, runner.proc_state(pid)))
        os.kill(pid, signal.SIGCONT)
        C.expect_counting(h, pid, "the refused dump and SIGCONT")
        h.finish_test(pid, h.path("test.out"))
    finally:
        cg.remove(pid)


CASES += [
    ("dump_freeze_cgroup_v1_stopped_refused", stopped_v1),
]
