"""Error cases of the pages of a restore (pages-PID.img, criu/res/pages.c): the image is mapped
and copied from, so one shorter than its pagemap must be refused before any copy, not fault."""

import sys

C = sys.modules["errors_cases"]


def truncated_pages(h):
    """pages-PID.img cut to half its size: the restore names the short image, leaves nothing."""
    C.corrupt(h, "pages-%d.img", C.truncate_half, ["pages image", "shorter than its pagemap"])


CASES = [
    ("restore_truncated_pages", truncated_pages),
]
