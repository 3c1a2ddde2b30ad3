"""Error cases of seccomp (criu/res/task-core.c): what the dump refuses rather than dumps wrong."""

import os
import sys

import __main__ as runner      # test/run.py: Fail, Skip, ...

C = sys.modules["errors_cases"]


def thread_own_filter(h):
    """A thread with a filter of its own: refused, naming the thread; the target runs on with
    its filter still acting in that thread only."""
    pid = h.spawn(h.test_prog("errors", "seccomp_target"), outfile=h.path("test.out"),
                  pidfile=h.path("target.pid"))
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                     "dump of a thread with its own seccomp filter", ["other seccomp filters"])
    C.expect_nothing_left(h, before)
    h.expect_running(pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


CASES = [
    ("dump_thread_own_seccomp_filter", thread_own_filter),
]
