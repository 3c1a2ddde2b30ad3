"""Error cases of credentials (criu/res/creds.c): what the dump refuses rather than dumps wrong."""

import os
import sys

import __main__ as runner      # test/run.py: Fail, Skip, ...

C = sys.modules["errors_cases"]


def thread_other_creds(h):
    """A thread with a uid of its own: refused, naming the thread; the target runs on."""
    pid = h.spawn(h.test_prog("errors", "creds_target"), outfile=h.path("test.out"),
                  pidfile=h.path("target.pid"))
    images = h.path("img")
    before = runner.my_children()
    rc, out = h.dump(pid, images, expect_ok=False)
    C.expect_refused(h, rc, out, os.path.join(images, "dump.log"),
                     "dump of a thread with other credentials", ["other credentials"])
    C.expect_nothing_left(h, before)
    h.expect_running(pid, "the refused dump")
    h.finish_test(pid, h.path("test.out"))


CASES = [
    ("dump_thread_other_creds", thread_other_creds),
]
