/*
 * Memory pages (pagemap-PID.img + pages-PID.img).
 *
 * Dump: list the pages to dump of every VMA mm.c selected (before infection, from outside:
 * PAGEMAP_SCAN or the pagemap), then have the parasite vmsplice them, in order, into a pipe
 * that criu splices into pages-PID.img; pagemap-PID.img gets one run per contiguous range
 * (runs never span two VMAs).
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "pages: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "common/cleanup.h"
#include "common/page.h"
#include "core/image.h"
#include "core/log.h"
#include "core/parasite.h"
#include "images/pagemap.pb-c.h"

/* ================================= dump side ================================= */

static enum pm_select vma_select(const struct dump_vma *d)
{
	return d->dump == VMA_DUMP_ANON ? PM_SELECT_ANON : PM_SELECT_PRIVATE_FILE;
}

int pages_collect(struct dump_ctx *dc)
{
	struct pagemap pm = { .fd = -1 };
	size_t i, before;
	int ret;

	ret = pagemap_open(dc->pid, false, &pm);
	if (ret < 0)
		return pr_err_ret(ret, "cannot open /proc/%d/pagemap", dc->pid);
	dc->pagemap_scan = pm.use_scan;
	for (i = 0; i < dc->vmas.nr; i++) {
		const struct proc_vma *v = &dc->vmas.v[i];

		if (dc->dvmas[i].dump == VMA_DUMP_NONE)
			continue;
		before = dc->runs.nr;
		ret = pagemap_list(&pm, v->start, v->end, vma_select(&dc->dvmas[i]), &dc->runs);
		if (ret < 0) {
			pr_err_ret(ret, "cannot list the pages of %#" PRIx64 "-%#" PRIx64
				   " of task %d", v->start, v->end, dc->pid);
			goto out;
		}
		page_runs_seal(&dc->runs);
		/* The parasite's vmsplice cannot read pages of an unreadable VMA. */
		if (dc->runs.nr != before && !(v->prot & PROT_READ)) {
			pr_err("mapping %#" PRIx64 "-%#" PRIx64 " of task %d holds data but is not "
			       "readable: not supported yet", v->start, v->end, dc->pid);
			ret = -EOPNOTSUPP;
			goto out;
		}
	}
	pr_info("task %d: %" PRIu64 " pages to dump in %zu runs (%s)", dc->pid,
		dc->runs.nr_pages, dc->runs.nr, pm.use_scan ? "PAGEMAP_SCAN" : "pagemap");
	ret = 0;
out:
	pagemap_close(&pm);
	return ret;
}

static int pagemap_write(struct dump_ctx *dc, struct cr_img *img)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	size_t i;
	int ret;

	head.pages_id = dc->pid;
	ret = img_write(img, &head.base);
	for (i = 0; ret == 0 && i < dc->runs.nr; i++) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;

		pe.vaddr = dc->runs.r[i].start;
		pe.nr_pages = (dc->runs.r[i].end - dc->runs.r[i].start) / PAGE_SIZE;
		pe.has_flags = true;
		pe.flags = PAGEMAP_FLAGS__PE_PRESENT;
		ret = img_write(img, &pe.base);
	}
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	return 0;
}

static int pages_move(struct dump_ctx *dc, struct cr_img *pages)
{
	_cleanup_free_ struct iovec *iov = NULL;
	uint64_t bytes = 0;
	size_t i;
	int ret;

	iov = calloc(dc->runs.nr ? dc->runs.nr : 1, sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	for (i = 0; i < dc->runs.nr; i++) {
		iov[i].iov_base = (void *)(uintptr_t)dc->runs.r[i].start;
		iov[i].iov_len = dc->runs.r[i].end - dc->runs.r[i].start;
	}
	ret = parasite_dump_pages(dc->ctl, iov, dc->runs.nr, img_raw_fd(pages), &bytes);
	if (ret < 0)
		return pr_err_ret(ret, "cannot dump the pages of task %d", dc->pid);
	if (bytes != dc->runs.nr_pages * PAGE_SIZE) {
		pr_err("task %d: %" PRIu64 " bytes of pages dumped, %" PRIu64 " expected", dc->pid,
		       bytes, dc->runs.nr_pages * PAGE_SIZE);
		return -EIO;
	}
	dc->pages_written = bytes;
	return 0;
}

int pages_dump(struct dump_ctx *dc)
{
	struct cr_img *pm = NULL, *pages = NULL;
	int ret, ret2;

	ret = img_open(dc->dir, IMG_PAGEMAP, dc->pid, O_WRONLY, &pm);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	ret = img_open(dc->dir, IMG_PAGES, dc->pid, O_WRONLY, &pages);
	if (ret < 0) {
		pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
		goto out;
	}
	ret = pagemap_write(dc, pm);
	if (ret == 0)
		ret = pages_move(dc, pages);
out:
	ret2 = img_close(pages);
	if (!ret && ret2 < 0)
		ret = pr_err_ret(ret2, "cannot write pages-%d.img", dc->pid);
	ret2 = img_close(pm);
	if (!ret && ret2 < 0)
		ret = pr_err_ret(ret2, "cannot write pagemap-%d.img", dc->pid);
	return ret;
}

/* ================================ restore side =============================== */

#include <unistd.h>

#include "common/compiler.h"

static int pages_read_run(struct rst_task *t, uint64_t addr, uint64_t left, uint64_t *off)
{
	struct rst_ctx *c = t->c;
	struct rst_vma *v;
	uint64_t chunk;
	ssize_t n;
	char *dst;

	while (left) {
		v = mm_premapped_at(t, addr);
		if (!v)
			return rst_task_err(t, -EBADMSG, "pagemap-%d.img: pages at %#" PRIx64
					    " are in no private vma", c->pid, addr);
		chunk = min(left, v->end - addr);
		dst = (char *)(v->tmp + (addr - v->start));
		/* Faulting the run in with one call is several times faster than taking one
		 * fault per page inside pread; if it fails, pread faults them. */
		madvise(dst, chunk, MADV_POPULATE_WRITE);
		while (chunk) {
			n = pread(t->pages_fd, dst, chunk, *off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return rst_task_err(t, -errno, "cannot read pages-%u.img: %m",
						    c->pm_head->pages_id);
			if (n == 0)
				return rst_task_err(t, -EBADMSG, "pages-%u.img is shorter than its "
						    "pagemap (%" PRIu64 " bytes)",
						    c->pm_head->pages_id, *off);
			dst += n;
			*off += n;
			addr += n;
			left -= n;
			chunk -= n;
		}
	}
	return 0;
}

/* Read the dumped pages straight into their premapped places: each page is faulted once. */
int pages_restore(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	uint64_t off = 0;
	size_t i;
	int ret;

	for (i = 0; i < c->nr_pms; i++) {
		const PagemapEntry *pe = c->pms[i];
		uint32_t flags = pe->has_flags ? pe->flags : PAGEMAP_FLAGS__PE_PRESENT;

		if (flags & PAGEMAP_FLAGS__PE_PARENT)
			return rst_task_err(t, -EOPNOTSUPP, "pages at %#" PRIx64 " are in a parent "
					    "image set: not supported yet", pe->vaddr);
		if (flags & PAGEMAP_FLAGS__PE_LAZY)
			return rst_task_err(t, -EOPNOTSUPP, "lazy pages at %#" PRIx64 ": not "
					    "supported yet", pe->vaddr);
		if (!(flags & PAGEMAP_FLAGS__PE_PRESENT))
			continue;
		ret = pages_read_run(t, pe->vaddr, (uint64_t)pe->nr_pages * PAGE_SIZE, &off);
		if (ret)
			return ret;
	}
	return 0;
}
