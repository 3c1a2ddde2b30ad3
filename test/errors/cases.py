"""Error cases: bad input and refused targets. Each function is one test line of test/run.py.

Every case wants a non-zero exit, a clear error (one line naming the pid, file or kind of state
at fault), no process left behind (the runner's children before and after), and, where the
target was left running, a target that keeps counting and passes its own check at the end.
The target is build/test/errors/target (see target.c).
"""

import json
import os
import re
import shutil
import subprocess
import threading
import time

import __main__ as runner      # test/run.py: Fail, Skip, tail, my_children, ...

Fail = runner.Fail
Skip = runner.Skip


def start_target(h, *args):
    return h.spawn(h.test_prog("errors", "target"), [str(a) for a in args],
                   outfile=h.path("test.out"), pidfile=h.path("target.pid"))


def read_counter(h):
    try:
        with open(h.path("work", "counter")) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def expect_counting(h, pid, what):
    """PID still runs, is our child, and its counter moves on."""
    h.expect_running(pid, what)
    first = read_counter(h)
    deadline = time.monotonic() + h.remaining(5)
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read_counter(h)
        if first is not None and now is not None and now > first:
            return
        if first is None:
            first = now
    raise Fail("pid %d stopped counting after %s (state %s, tracer %d)" %
               (pid, what, proc_state_of(pid), tracer_of(pid)))


def proc_state_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split(None, 1)[1].strip()
    except OSError:
        pass
    return "gone"


def error_text(out, log):
    """stderr of criu plus the error lines of its log."""
    lines = [l for l in out.splitlines() if l.strip()]
    lines += [l for l in runner.tail(log, 2000).splitlines() if "rror" in l]
    return lines


def expect_refused(h, rc, out, log, what, mentions):
    """criu exited non-zero and one error line mentions each of MENTIONS (str or regex)."""
    if rc == 0:
        raise Fail("%s succeeded, expected a refusal" % what)
    if rc < 0:
        raise Fail("%s was killed by signal %d" % (what, -rc))
    lines = error_text(out, log)
    for m in mentions:
        pat = m if isinstance(m, re.Pattern) else re.compile(re.escape(m))
        if not any(pat.search(l) for l in lines):
            raise Fail("%s: the error does not mention %s: %s" %
                       (what, m if isinstance(m, str) else "/%s/" % m.pattern,
                        runner.last_line(out)))


def expect_nothing_left(h, before, also_gone=()):
    """No new child of the runner survives (zombies are reaped), and ALSO_GONE pids are gone."""
    deadline = time.monotonic() + 3
    while True:
        new = runner.my_children() - before
        for pid in list(new):
            if not runner.pid_alive(pid):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        alive = {p for p in new if runner.pid_alive(p)}
        gone = all(not runner.pid_exists(p) for p in also_gone)
        if (not alive and gone) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for pid in alive:
        runner.kill_and_reap(pid)
    if alive:
        raise Fail("left behind: pid(s) %s" % ", ".join(map(str, sorted(alive))))
    for pid in also_gone:
        if runner.pid_exists(pid):
            h.started.append(pid)
            raise Fail("pid %d exists after the failed restore" % pid)


def dump_killed(h, pid, images):
    """Dump PID (killed by the dump) into IMAGES."""
    h.dump(pid, images)
    h.expect_gone(pid, "dump")


def restore_refused(h, images, what, mentions, gone=()):
    before = runner.my_children()
    rc, out = h.restore(images, h.path("restore.pid"), expect_ok=False)
    try:
        expect_refused(h, rc, out, os.path.join(images, "restore.log"), what, mentions)
    finally:
        expect_nothing_left(h, before, gone)


def crit_image(h, path, doc=None):
    """Decode the image at PATH into a JSON document (DOC None), or encode DOC into it, through
    crit."""
    if not os.access(h.crit, os.X_OK):
        raise Skip("no crit binary at %s" % h.crit)
    if doc is None:
        p = subprocess.run([h.crit, "decode", "-i", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    else:
        p = subprocess.run([h.crit, "encode", "-o", path], input=json.dumps(doc).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise Fail("crit on %s: %s" % (path, p.stdout.decode().strip()))
    return json.loads(p.stdout) if doc is None else None


def image_path(images, name):
    p = os.path.join(images, name)
    if not os.path.exists(p):
        raise Fail("the dump wrote no %s (images: %s)" %
                   (name, " ".join(sorted(os.listdir(images)))))
    return p


# -- the cases ------------------------------------------------------------------------------

def pid_in_use(h):
    pid = start_target(h, "plain")
    images = h.path("img")
    h.dump(pid, images, ["-R"])
    expect_counting(h, pid, "dump -R")
    restore_refused(h, images, "restore onto a running pid", [re.compile(r"\b%d\b" % pid)])
    expect_counting(h, pid, "the refused restore")
    h.finish_test(pid, h.path("test.out"))


def missing_file(h, mode):
    path = h.path("work", "held-%s.data" % mode)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(os.urandom(8192))
    pid = start_target(h, mode, path)
    images = h.path("img")
    dump_killed(h, pid, images)
    os.unlink(path)
    restore_refused(h, images, "restore without the %s's file" % mode, [path], [pid])


def corrupt(h, name_fmt, damage, mentions):
    pid = start_target(h, "plain")
    images = h.path("img")
    dump_killed(h, pid, images)
    name = name_fmt % pid if "%d" in name_fmt else name_fmt
    damage(image_path(images, name))
    restore_refused(h, images, "restore from a damaged %s" % name,
                    mentions or [name], [pid])


def truncate_half(path):
    size = os.path.getsize(path)
    if size < 8:
        raise Fail("%s has only %d bytes" % (path, size))
    os.truncate(path, size // 2)


def bad_magic(path):
    with open(path, "r+b") as f:
        f.write(b"\xde\xad\xbe\xef")


def garbage_after_magic(path):
    with open(path, "r+b") as f:
        f.seek(4)
        f.write(b"\x00\x00\x00\x7f" + bytes(range(7, 200, 3)))


def no_inventory(h):
    pid = start_target(h, "plain")
    images = h.path("img")
    dump_killed(h, pid, images)
    os.unlink(image_path(images, "inventory.img"))
    restore_refused(h, images, "restore without inventory.img", ["inventory"], [pid])


def edit_inventory(h, images, **fields):
    """Rewrites fields of inventory.img through crit (decode, edit the JSON, encode)."""
    inv = image_path(images, "inventory.img")
    doc = crit_image(h, inv)
    for key, fn in fields.items():
        doc["entries"][0][key] = fn(doc["entries"][0][key])
    crit_image(h, inv, doc)


def inventory_edited(h, mentions, **fields):
    pid = start_target(h, "plain")
    images = h.path("img")
    dump_killed(h, pid, images)
    edit_inventory(h, images, **fields)
    restore_refused(h, images, "restore with an edited inventory.img", mentions, [pid])


def failed_dump_images(h):
    """A dump that runs out of space half way (a 16 KiB tmpfs) fails, leaves the target running,
    and its partial image set is refused by restore."""
    pid = start_target(h, "plain")
    images = h.path("img")
    os.makedirs(images)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "ckpt-test",
                        images], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise Skip("cannot mount a small tmpfs: %s" % p.stdout.decode().strip())
    try:
        rc, out = h.dump(pid, images, log=h.path("dump-full.log"), expect_ok=False)
        if rc == 0:
            raise Fail("dump into a full 16 KiB tmpfs succeeded")
        expect_counting(h, pid, "the failed dump")
        contents = os.listdir(images)
        saved = h.path("failed-img")
        shutil.copytree(images, saved)
    finally:
        subprocess.run(["umount", images])
    if not contents:
        raise Skip("the failed dump left no images to try")
    restore_refused(h, saved, "restore from a failed dump's images", [])
    expect_counting(h, pid, "the refused restore")
    h.finish_test(pid, h.path("test.out"))


def refused_or_restored(h, args, mentions, tasks=None):
    """A target with state the tool may not support yet. Either the dump refuses it (non-zero,
    an error naming the kind, nothing left behind, the target keeps running unharmed with all
    its threads), or, once supported, the dump and restore carry it over (the target passes its
    own check of that state). Both ways end with the target's PASS."""
    pid = start_target(h, *args)
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    if rc != 0:
        expect_refused(h, rc, out, os.path.join(images, "dump.log"), "dump of %s" % args[0],
                       mentions)
        expect_nothing_left(h, before)
        expect_counting(h, pid, "the refused dump")
    else:
        h.expect_gone(pid, "dump")
        h.restore(images, h.path("restore.pid"))
        h.restored_pid(h.path("restore.pid"), pid)
        expect_counting(h, pid, "dump and restore")
    if tasks is not None:
        n = len(os.listdir("/proc/%d/task" % pid))
        if n != tasks:
            raise Fail("the target has %d threads, not %d" % (n, tasks))
    h.finish_test(pid, h.path("test.out"))


def tracer_of(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def kill_criu_dump_after(h, pid, images, delay):
    """Start a dump of @pid, SIGKILL criu @delay seconds after it seized the task. Returns
    whether it was killed mid-dump (seized and not yet finished)."""
    shutil.rmtree(images, ignore_errors=True)
    os.makedirs(images)
    before = runner.my_children()
    criu = subprocess.Popen([h.criu, "dump", "-t", str(pid), "-D", images, "-v4", "-o",
                             "dump.log"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seized = False
    deadline = time.monotonic() + h.remaining(20)
    while criu.poll() is None and time.monotonic() < deadline:
        if tracer_of(pid) == criu.pid:
            seized = True
            break
        time.sleep(0.001)
    if seized:
        time.sleep(delay)
    finished = criu.poll() is not None
    criu.kill()
    criu.wait()
    before.add(criu.pid)
    log = runner.tail(os.path.join(images, "dump.log"), 1000)
    if runner.NOT_AVAILABLE in log:
        raise Skip("criu dump: " + runner.NOT_AVAILABLE)
    what = "criu was killed %.3fs into a dump" % delay
    expect_nothing_left(h, before)
    expect_counting(h, pid, what)
    if tracer_of(pid):
        raise Fail("pid %d is still traced after %s" % (pid, what))
    return seized and not finished


def criu_killed_mid_dump(h):
    """criu gets SIGKILL while it holds the target (seized, maybe infected), at several
    moments (remote syscalls, infection, pages, cure), one dump after the other on the same
    target: it must go on unharmed each time (counting, its 512 MiB intact)."""
    pid = start_target(h, "mem", 512)
    images = h.path("img")
    killed = 0
    for delay in (0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4):
        if h.remaining(60) < 15:
            break
        killed += kill_criu_dump_after(h, pid, images, delay)
    if not killed:
        raise Skip("every dump ended before criu could be killed")
    h.finish_test(pid, h.path("test.out"))


def nonexistent_pid(h):
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    pid = p.pid
    if runner.pid_exists(pid):
        raise Fail("pid %d of an exited child still exists" % pid)
    before = runner.my_children()
    rc, out = h.dump(pid, h.path("img"), expect_ok=False)
    expect_refused(h, rc, out, h.path("img", "dump.log"), "dump of a nonexistent pid",
                   [re.compile(r"\b%d\b" % pid)])
    expect_nothing_left(h, before)


def fd_refused(h, kind, mentions):
    """build/test/errors/fd_target holding a descriptor of KIND: the dump refuses it with an
    error naming it, leaves nothing behind, and the target keeps running and passes its check
    of that descriptor."""
    pid = h.spawn(h.test_prog("errors", "fd_target"), [kind], outfile=h.path("test.out"),
                  pidfile=h.path("target.pid"))
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    expect_refused(h, rc, out, os.path.join(images, "dump.log"), "dump of a %s" % kind,
                   mentions)
    expect_nothing_left(h, before)
    expect_counting(h, pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


def fanotify_mark_gone(h):
    """The file of a fanotify mark is removed between dump and restore: the restore refuses,
    naming it, and leaves nothing behind."""
    pid = h.spawn(h.test_prog("errors", "fd_target"), ["fanotify_mark"],
                  outfile=h.path("test.out"), pidfile=h.path("target.pid"))
    images = h.path("img")
    dump_killed(h, pid, images)
    marked = h.path("work", "locked")
    os.unlink(marked)
    restore_refused(h, images, "restore of a fanotify mark on a removed file",
                    ["fanotify", marked], [pid])


PSTREE_OFFSET = re.compile(r"pstree\.img.*offset \d+")

CASES = [
    ("restore_pid_in_use", pid_in_use),
    ("restore_missing_file_fd", lambda h: missing_file(h, "fd")),
    ("restore_missing_file_map", lambda h: missing_file(h, "map")),
    ("restore_truncated_mm", lambda h: corrupt(h, "mm-%d.img", truncate_half, [])),
    ("restore_bad_magic_core", lambda h: corrupt(h, "core-%d.img", bad_magic, [])),
    ("restore_garbage_pstree", lambda h: corrupt(h, "pstree.img", garbage_after_magic,
                                                 [PSTREE_OFFSET])),
    ("restore_no_inventory", no_inventory),
    ("restore_failed_dump_images", failed_dump_images),
    ("restore_newer_version", lambda h: inventory_edited(
        h, [re.compile(r"inventory\.img.*version")], img_version=lambda v: v + 100)),
    ("restore_marked_incomplete", lambda h: inventory_edited(
        h, [re.compile(r"inventory\.img.*incomplete")], complete=lambda v: False)),
    ("dump_threads", lambda h: refused_or_restored(h, ["threads", 2], ["thread"], 3)),
    ("dump_socket", lambda h: refused_or_restored(h, ["socket"], ["socket"])),
    ("dump_children", lambda h: refused_or_restored(h, ["children", 2], ["children"])),
    ("dump_nonexistent_pid", nonexistent_pid),
    ("dump_criu_killed_midway", criu_killed_mid_dump),
    ("dump_fd_io_uring", lambda h: fd_refused(h, "io_uring", ["io_uring", "not supported"])),
    ("dump_fd_perf_event", lambda h: fd_refused(h, "perf_event", ["perf_event"])),
    ("dump_fd_userfaultfd", lambda h: fd_refused(h, "userfaultfd", ["userfaultfd"])),
    ("dump_fd_pidfd", lambda h: fd_refused(h, "pidfd", ["pidfd"])),
    ("dump_unix_empty_message_with_fds", lambda h: fd_refused(
        h, "unix_empty_fds", ["zero-length unix message with files in flight on a shut-down socket"])),
    ("dump_fd_fanotify_queued", lambda h: fd_refused(h, "fanotify_queued",
                                                     ["fanotify", "queued"])),
    ("dump_fd_fanotify_perm", lambda h: fd_refused(h, "fanotify_perm",
                                                   ["fanotify", "permission events"])),
    ("dump_fd_fanotify_hidden", lambda h: fd_refused(h, "fanotify_hidden",
                                                     ["fanotify", "no path"])),
    ("restore_fanotify_mark_gone", fanotify_mark_gone),
    ("dump_fd_lock_without_file_locks", lambda h: fd_refused(h, "lock",
                                                             ["file lock", "--file-locks"])),
    ("dump_fd_inotify_queued", lambda h: fd_refused(h, "inotify_queued",
                                                    ["inotify", "queued"])),
]


# ---- process trees (test/errors/tree.c) ----

def start_tree(h, mode):
    return h.spawn(h.test_prog("errors", "tree"), [mode], outfile=h.path("test.out"),
                   pidfile=h.path("target.pid"))


def tree_pids(h):
    with open(h.path("work", "pids")) as f:
        return [int(p) for p in f.read().split()]


def expect_tree_intact(h, pids, what):
    """Every task of the tree runs, untraced and not stopped, and the root counts on."""
    for pid in pids:
        if not runner.pid_alive(pid):
            raise Fail("task %d of the tree is gone after %s" % (pid, what))
        if tracer_of(pid):
            raise Fail("task %d of the tree is still traced after %s" % (pid, what))
        if proc_state_of(pid).startswith(("T", "t")):
            raise Fail("task %d of the tree is stopped after %s" % (pid, what))
    expect_counting(h, pids[0], what)


def restore_tree(h, pid, images, tag, pids=()):
    """IMAGES hold a complete dump of the tree of PID, which is gone: bring it back. PIDS: the
    tree's tasks, waited for (and reaped) too: a criu killed while it waited for the tree to
    die leaves some of them dying, their pids still taken."""
    h.expect_gone(pid, "dump")
    deadline = time.monotonic() + h.remaining(10)
    while any(runner.pid_exists(p) for p in pids):
        if time.monotonic() > deadline:
            raise Fail("tasks of the dumped tree still exist: %s" %
                       [p for p in pids if runner.pid_exists(p)])
        runner.reap_zombies()
        time.sleep(0.005)
    h.restore(images, h.path("restore%s.pid" % tag))
    h.restored_pid(h.path("restore%s.pid" % tag), pid)


def tree_churn_mid_dump(h):
    """The tree forks children that exit at once and creates threads all the time while it
    is dumped: either the dump fails cleanly (the tree runs on, the images are never restored)
    or the dump and restore carry the whole tree over."""
    pid = start_tree(h, "churn")
    pids = tree_pids(h)
    images = h.path("img")
    rc, out = h.dump(pid, images, expect_ok=False)
    if rc != 0:
        expect_refused(h, rc, out, os.path.join(images, "dump.log"), "dump of a churning tree",
                       [])
        expect_tree_intact(h, pids, "the failed dump")
        restore_refused(h, images, "restore from a failed dump of a tree", [])
    else:
        restore_tree(h, pid, images, "")
        expect_tree_intact(h, pids, "dump and restore of a churning tree")
    h.finish_test(pid, h.path("test.out"))


def criu_killed_during_tree_dump(h):
    """criu gets SIGKILL at different moments of a tree dump. Each time the whole tree runs
    on, every task untraced and intact; a dump that finished first (the tree killed, images
    complete; killed as it killed the tree: all of it or none) is restored, and the loop goes
    on with the restored tree."""
    pid = start_tree(h, "stable")
    pids = tree_pids(h)
    killed = finished = 0
    for i, delay in enumerate([0, 0.001, 0.002, 0.004, 0.007, 0.01, 0.015, 0.02, 0.03, 0.05,
                               0.08, 0.12, 0.2]):
        images = h.path("img%d" % i)
        os.makedirs(images)
        criu = subprocess.Popen([h.criu, "dump", "-t", str(pid), "-D", images, "-v4", "-o",
                                 "dump.log"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        criu.kill()
        criu.wait()
        log = runner.tail(os.path.join(images, "dump.log"), 1000)
        if runner.NOT_AVAILABLE in log:
            raise Skip("criu dump: " + runner.NOT_AVAILABLE)
        what = "criu was killed %.3f s into a tree dump" % delay
        if "step 'finish'" in log:
            # killed as it killed the tree (its images complete): the kills go on without it
            # (a vfork()ed child sends them), or had not started; either way, all or none
            deadline = time.monotonic() + 2
            while (any(runner.pid_alive(p) for p in pids) and
                   not all(runner.pid_alive(p) for p in pids) and time.monotonic() < deadline):
                time.sleep(0.005)
            time.sleep(0.05)
        if criu.returncode == 0 or not runner.pid_alive(pid):
            finished += 1
            restore_tree(h, pid, images, str(i), pids)
            what = "a finished tree dump and its restore"
        else:
            killed += 1
        expect_tree_intact(h, pids, what)
    if not killed:
        raise Skip("every dump ended before criu could be killed")
    h.finish_test(pid, h.path("test.out"))


def pid_held_by_zombie(h):
    """After a dump of the tree, its children, killed, are zombies of ours (the subreaper their
    parent left them to) that we do not reap: the restore waits a while for them, then refuses
    naming a zombie and us as its parent, and leaves nothing behind. Once we reap them, the
    same images restore the whole tree. Dumped again, with the zombies reaped 0.3 s into the
    restore (a slow init), the restore waits for them and succeeds."""
    pid = start_tree(h, "stable")
    pids = tree_pids(h)
    images = h.path("img")
    h.dump(pid, images)
    if runner.wait_pid(pid, h.remaining(10)) is None:
        raise Fail("the root %d still runs after the dump" % pid)
    deadline = time.monotonic() + h.remaining(5)
    while not all(proc_state_of(p).startswith("Z") for p in pids[1:]):
        if time.monotonic() > deadline:
            raise Fail("the tree's children are not zombies of ours: %s" %
                       [proc_state_of(p) for p in pids[1:]])
        time.sleep(0.005)
    restore_refused(h, images, "restore while zombies hold the tree's pids",
                    [re.compile(r"pid (%s) is already in use: a zombie its parent %d has not "
                                r"reaped" % ("|".join(str(p) for p in pids[1:]), os.getpid()))])
    runner.reap_zombies()
    h.restore(images, h.path("restore2.pid"))
    h.restored_pid(h.path("restore2.pid"), pid)
    expect_tree_intact(h, pids, "the restore once the zombies were reaped")
    # again, the zombies reaped 0.3 s into the restore (a slow init): it waits and succeeds
    images = h.path("img2")
    h.dump(pid, images)
    if runner.wait_pid(pid, h.remaining(10)) is None:
        raise Fail("the root %d still runs after the second dump" % pid)
    reaper = threading.Timer(0.3, runner.reap_zombies)
    reaper.start()
    try:
        h.restore(images, h.path("restore3.pid"))
    finally:
        reaper.join()
    h.restored_pid(h.path("restore3.pid"), pid)
    expect_tree_intact(h, pids, "a restore while the zombies were reaped")
    h.finish_test(pid, h.path("test.out"))


CASES += [
    ("restore_pid_held_by_zombie", pid_held_by_zombie),
    ("dump_tree_churn", tree_churn_mid_dump),
    ("dump_tree_criu_killed", criu_killed_during_tree_dump),
]


# ---- unix sockets connected outside the dumped tree (test/errors/unix_ext.c) ----

def unix_ext(h, kind, ext_unix_sk):
    """The target's KIND (stream, dgram) unix socket is connected to a socket of ours. Without
    --ext-unix-sk the dump refuses it naming the connection and the target keeps running; a
    datagram socket connected to a bound name is dumped with --ext-unix-sk and reconnected by
    name on restore. Either way the target's "alive" reaches our socket at the end."""
    import socket
    path = h.path("ext.sock")
    stype = socket.SOCK_STREAM if kind == "stream" else socket.SOCK_DGRAM
    srv = socket.socket(socket.AF_UNIX, stype)
    try:
        srv.bind(path)
        if kind == "stream":
            srv.listen(4)
        pid = h.spawn(h.test_prog("errors", "unix_ext"), [path, kind],
                      outfile=h.path("test.out"), pidfile=h.path("target.pid"))
        images = h.path("img")
        before = runner.my_children()
        if ext_unix_sk:
            h.dump(pid, images, ["--ext-unix-sk"])
            h.expect_gone(pid, "dump")
            h.restore(images, h.path("restore.pid"))
            h.restored_pid(h.path("restore.pid"), pid)
            expect_counting(h, pid, "dump and restore")
        else:
            rc, out = h.dump(pid, images, expect_ok=False)
            expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                           "dump of a %s unix socket connected outside the tree" % kind,
                           ["outside the dumped tree"])
            expect_nothing_left(h, before)
            expect_counting(h, pid, "the refused dump")
        h.finish_test(pid, h.path("test.out"))
        conn = srv.accept()[0] if kind == "stream" else srv
        conn.settimeout(h.remaining(5))
        try:
            data = conn.recv(64)
        except OSError as e:
            raise Fail("nothing came through the external socket: %s" % e)
        if data != b"alive":
            raise Fail("the external socket got %r, expected b'alive'" % data)
    finally:
        srv.close()
        if os.path.exists(path):
            os.unlink(path)


def unix_inflight(h):
    """The target's socketpair has its second end only inside a message queued on another
    pair (sent with SCM_RIGHTS, then closed). The dump refuses it saying so (not "outside the
    tree"), and the target keeps running: after SIGTERM it takes the end back and "alive" goes
    through the pair."""
    pid = h.spawn(h.test_prog("errors", "unix_ext"), ["-", "inflight"],
                  outfile=h.path("test.out"), pidfile=h.path("target.pid"))
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                   "dump of a unix socket whose peer is in flight",
                   ["no task holds (in flight"])
    expect_nothing_left(h, before)
    expect_counting(h, pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


CASES += [
    ("dump_unix_peer_in_flight_refused", unix_inflight),
    ("dump_unix_external_stream_refused", lambda h: unix_ext(h, "stream", False)),
    ("dump_unix_external_dgram_refused", lambda h: unix_ext(h, "dgram", False)),
    ("dump_unix_external_dgram_ext_unix_sk", lambda h: unix_ext(h, "dgram", True)),
]


# ---- a terminal the dumped tree does not own (test/errors/tty_target.c) ----

def tty_not_owned(h, shell_job):
    """The target holds a pty slave of ours. Without --shell-job the dump refuses it naming
    --shell-job and the target keeps running. With --shell-job it is dumped, and restored (by
    a criu whose stdin is that terminal) on criu's own terminal. Either way the target's
    "alive" reaches our master at the end."""
    import pty
    import select
    master, slave = pty.openpty()
    try:
        pid = h.spawn(h.test_prog("errors", "tty_target"), [os.ttyname(slave)],
                      outfile=h.path("test.out"), pidfile=h.path("target.pid"))
        images = h.path("img")
        before = runner.my_children()
        if shell_job:
            h.dump(pid, images, ["--shell-job"])
            h.expect_gone(pid, "dump")
            pidfile = h.path("restore.pid")
            p = subprocess.run([h.criu, "restore", "-D", images, "-d", "-v4", "-o",
                                "restore.log", "--shell-job", "--pidfile", pidfile],
                               stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=h.remaining(30))
            if p.returncode != 0:
                raise Fail("criu restore --shell-job exited %d: %s" %
                           (p.returncode, runner.last_line(p.stdout.decode(errors="replace"))))
            h.restored_pid(pidfile, pid)
            expect_counting(h, pid, "dump and restore")
        else:
            rc, out = h.dump(pid, images, expect_ok=False)
            expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                           "dump of a task on a terminal it does not own", ["--shell-job"])
            expect_nothing_left(h, before)
            expect_counting(h, pid, "the refused dump")
        h.finish_test(pid, h.path("test.out"))
        data = b""
        while b"alive" not in data:
            r, _, _ = select.select([master], [], [], h.remaining(5))
            if not r:
                raise Fail("nothing came through the terminal (got %r)" % data)
            data += os.read(master, 64)
    finally:
        os.close(master)
        os.close(slave)


CASES += [
    ("dump_tty_not_owned_refused", lambda h: tty_not_owned(h, False)),
    ("dump_tty_shell_job", lambda h: tty_not_owned(h, True)),
]


def pty_ctty_lost(h):
    """Unix sockets and ptys split between tasks are dumped now; what is still refused: a pty
    whose master the target holds is the controlling terminal of its child's session, and the
    child holds no end of it (restored, it would have lost its terminal). The dump refuses it
    naming the child, and the tree keeps running with the pty still the child's terminal."""
    pid = h.spawn(h.test_prog("errors", "pty_ctty_lost"), [], outfile=h.path("test.out"),
                  pidfile=h.path("target.pid"))
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                   "dump of a session whose terminal is held by another task only",
                   [re.compile(r"controlling terminal of the session of task \d+, which holds "
                               r"no end of it")])
    expect_nothing_left(h, before)
    expect_counting(h, pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


CASES += [("dump_pty_ctty_across_lost_refused", pty_ctty_lost)]


def ids_of(pid):
    """(ppid, pgid, sid) of PID from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2]), int(fields[3])


def tree_orphan_restored(h, mode, what):
    """An orphan of the tree (its parent exited; the root, a subreaper, adopted it) is in a
    process group (lost_group) or session (adopted) its parent is not in: the dump adds a helper
    for the exited leader, or a creator in the session, and the restore brings the tree back
    with every pid, parent, group and session as before, and the exited leader's pid free."""
    pid = start_tree(h, mode)
    root, orphan, group = tree_pids(h)
    was = {p: ids_of(p) for p in (root, orphan, group) if runner.pid_exists(p)}
    images = h.path("img")
    h.dump(pid, images)
    restore_tree(h, pid, images, "")
    expect_tree_intact(h, list(was), "dump and restore of a tree with " + what)
    for p, ids in was.items():
        if ids_of(p) != ids:
            raise Fail("task %d has (ppid, pgid, sid) %s after restore, it had %s" %
                       (p, ids_of(p), ids))
    if ids_of(orphan)[0] != root:
        raise Fail("the orphan %d is not the root's child after restore" % orphan)
    if mode == "lost_group" and runner.pid_exists(group):
        raise Fail("pid %d of the exited group leader exists after restore" % group)
    h.finish_test(pid, h.path("test.out"))


def tree_parent_setsid(h):
    """A task is in a session its parent is not in, but was not adopted: its parent started a
    session of its own after forking it. The restore has the parent create it before it makes
    its session, and brings the tree back with every pid, parent, group and session as
    before; each task checks its own from the inside too."""
    pid = start_tree(h, "parent_setsid")
    root, child, parent = tree_pids(h)
    was = {p: ids_of(p) for p in (root, child, parent)}
    if was[child][2] == was[parent][2] or was[parent][2] != parent:
        raise Fail("the target's tree is not what the case needs: %s" % was)
    images = h.path("img")
    h.dump(pid, images)
    restore_tree(h, pid, images, "", [root, child, parent])
    expect_tree_intact(h, [root, child, parent], "dump and restore of a tree with a task "
                       "whose parent changed session")
    for p, ids in was.items():
        if ids_of(p) != ids:
            raise Fail("task %d has (ppid, pgid, sid) %s after restore, it had %s" %
                       (p, ids_of(p), ids))
    h.finish_test(pid, h.path("test.out"))


def tree_helper_pid_in_use(h):
    """The pid a helper needs (the exited group leader's) is taken at restore: the restore
    refuses, naming the pid and the group, and leaves nothing behind. The pid is made taken by
    rewriting pstree.img through crit: the group is given the pid of the runner itself."""
    if not os.access(h.crit, os.X_OK):
        raise Skip("no crit binary at %s" % h.crit)
    pid = start_tree(h, "lost_group")
    root, orphan, group = tree_pids(h)
    images = h.path("img")
    dump_killed(h, pid, images)
    ps = image_path(images, "pstree.img")
    doc = crit_image(h, ps)
    taken = os.getpid()
    helpers = [e for e in doc["entries"] if e.get("helper")]
    if [e["pid"] for e in helpers] != [group]:
        raise Fail("pstree.img has helpers %s, expected one for group %d" %
                   ([e["pid"] for e in helpers], group))
    for e in doc["entries"]:
        if e["pgid"] == group:
            e["pgid"] = taken
        if e["pid"] == group:
            e["pid"] = taken
    crit_image(h, ps, doc)
    restore_refused(h, images, "restore with the pid of an exited group leader taken",
                    [re.compile(r"pid %d is already in use.*process group %d" % (taken, taken))],
                    [root, orphan])


def tree_creator_cycle(h):
    """pstree.img rewritten (crit) so that two tasks of the tree each create the other: the
    restore refuses it at once as a cycle of creators (it waited for its 60 s timeout), and
    leaves nothing behind."""
    if not os.access(h.crit, os.X_OK):
        raise Skip("no crit binary at %s" % h.crit)
    pid = start_tree(h, "stable")
    pids = tree_pids(h)
    images = h.path("img")
    dump_killed(h, pid, images)
    ps = image_path(images, "pstree.img")
    doc = crit_image(h, ps)
    kids = [e for e in doc["entries"][1:] if not e.get("helper")][:2]
    if len(kids) < 2:
        raise Fail("the tree has fewer than two tasks below its root: %s" % pids)
    kids[0]["creator"], kids[1]["creator"] = kids[1]["pid"], kids[0]["pid"]
    crit_image(h, ps, doc)
    t0 = time.monotonic()
    restore_refused(h, images, "restore of a pstree.img with a cycle of creators",
                    ["cycle of creators"], pids)
    if time.monotonic() - t0 > 10:
        raise Fail("the refusal took %.1f s" % (time.monotonic() - t0))


CASES += [
    ("restore_pstree_creator_cycle", tree_creator_cycle),
    ("tree_lost_group_restored",
     lambda h: tree_orphan_restored(h, "lost_group", "a process group whose leader exited")),
    ("tree_adopted_session_restored",
     lambda h: tree_orphan_restored(h, "adopted", "a task adopted from another session")),
    ("tree_parent_setsid_restored", tree_parent_setsid),
    ("restore_tree_helper_pid_in_use", tree_helper_pid_in_use),
]
