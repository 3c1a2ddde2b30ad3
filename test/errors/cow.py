"""Error cases of copy-on-write runs (PE_COW in pagemap-PID.img, criu/res/pages.c): a restore
refuses images whose shared pages have nowhere to come from, before it creates anything."""

import sys

import __main__ as runner      # test/run.py: Fail, Skip, ...

C = sys.modules["errors_cases"]
PE_PRESENT, PE_COW = 1, 8


def pagemap(h, images, pid, doc=None):
    return C.crit_image(h, C.image_path(images, "pagemap-%d.img" % pid), doc)


def dumped_tree(h):
    """The stable tree (test/errors/tree.c) dumped; returns (images, pids)."""
    pid = C.start_tree(h, "stable")
    pids = C.tree_pids(h)
    images = h.path("img")
    C.dump_killed(h, pid, images)
    return images, pids


def cow_in_root(h):
    """A PE_COW run in the root, which has no parent in the tree to share pages with."""
    images, pids = dumped_tree(h)
    doc = pagemap(h, images, pids[0])
    runs = [e for e in doc["entries"][1:] if e.get("flags", PE_PRESENT) == PE_PRESENT]
    if not runs:
        raise runner.Fail("the root has no dumped pages")
    runs[-1]["flags"] = PE_COW
    pagemap(h, images, pids[0], doc)
    C.restore_refused(h, images, "restore of a root with copy-on-write pages",
                      ["no live parent"], pids)


def cow_not_in_parent(h):
    """A child's PE_COW run that its parent's pagemap does not hold."""
    images, pids = dumped_tree(h)
    tree = C.crit_image(h, C.image_path(images, "pstree.img"))["entries"]
    for e in tree[1:]:
        cows = [r for r in pagemap(h, images, e["pid"])["entries"][1:]
                if r.get("flags", PE_PRESENT) == PE_COW]
        if cows:
            break
    else:
        raise runner.Fail("no task of the tree shares pages copy-on-write with its parent "
                          "(dump.log says why)")
    doc = pagemap(h, images, e["ppid"])
    for r in doc["entries"][1:]:
        if r["vaddr"] <= cows[0]["vaddr"] < r["vaddr"] + r["nr_pages"] * 4096:
            r["flags"] = 0
    pagemap(h, images, e["ppid"], doc)
    C.restore_refused(h, images, "restore of copy-on-write pages the parent lacks",
                      ["not in the pagemap of the parent"], pids)


CASES = [
    ("restore_cow_without_parent", cow_in_root),
    ("restore_cow_not_in_parent", cow_not_in_parent),
]
