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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "common/page.h"
#include "core/cow.h"
#include "core/image.h"
#include "core/log.h"
#include "core/parasite.h"
#include "images/mm.pb-c.h"
#include "images/regfile.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/pstree.pb-c.h"

/* ================================= dump side ================================= */

static enum pm_select vma_select(const struct dump_vma *d)
{
	return d->dump == VMA_DUMP_ANON ? PM_SELECT_ANON : PM_SELECT_PRIVATE_FILE;
}

/*
 * Anonymous shared memory: every page its shmem object holds in the VMA's range, resident or
 * swapped, mapped by the task or not (SEEK_DATA on the object, opened through map_files).
 */
static int shmem_list(struct dump_ctx *dc, const struct proc_vma *v, struct page_runs *runs)
{
	_cleanup_close_ int fd = -1;
	off_t lo = v->pgoff, hi = v->pgoff + (v->end - v->start), data, hole;
	char path[96];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, dc->pid,
		 v->start, v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (lo < hi) {
		data = lseek(fd, lo, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			return -errno;
		if (data >= hi)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		if (hole > hi)
			hole = hi;
		data &= ~(off_t)(PAGE_SIZE - 1);
		hole = PAGE_ALIGN(hole);
		ret = page_runs_add(runs, v->start + (data - v->pgoff), v->start + (hole - v->pgoff));
		if (ret < 0)
			return ret;
		lo = hole;
	}
	return 0;
}

/*
 * In a tree, the pages of an anonymous shared object are dumped by the first task that maps
 * them: the restore creates one object per shmid for the whole tree, so the others see them.
 * Returns 1 if another task dumped this range already, 0 if it is ours (now recorded).
 */
static int shmem_dumped(struct dump_ctx *dc, const struct proc_vma *v, uint64_t shmid)
{
	struct dump_shared *sh = dc->shared;
	uint64_t lo = v->pgoff, hi = v->pgoff + (v->end - v->start);
	struct dump_shm_range *n;
	size_t i;

	if (!sh)
		return 0;
	for (i = 0; i < sh->nr_shm; i++)
		if (sh->shm[i].shmid == shmid && sh->shm[i].pid != dc->pid &&
		    sh->shm[i].pgoff <= lo && hi <= sh->shm[i].pgoff_end) {
			pr_debug("task %d: shared memory %#" PRIx64 "-%#" PRIx64 " dumped with task %d",
				 dc->pid, v->start, v->end, sh->shm[i].pid);
			sh->shm_pages_skipped += (v->end - v->start) / PAGE_SIZE;
			return 1;
		}
	n = realloc(sh->shm, (sh->nr_shm + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	sh->shm = n;
	n[sh->nr_shm++] = (struct dump_shm_range){ shmid, lo, hi, dc->pid };
	return 0;
}

static int vma_list(struct dump_ctx *dc, struct pagemap *pm, size_t i)
{
	const struct proc_vma *v = &dc->vmas.v[i];
	int ret;

	if (dc->dvmas[i].dump == VMA_DUMP_SHMEM) {
		ret = shmem_dumped(dc, v, dc->dvmas[i].shmid);
		if (ret)
			return ret < 0 ? ret : 0;
		return shmem_list(dc, v, &dc->runs);
	}
	return pagemap_list(pm, v->start, v->end, vma_select(&dc->dvmas[i]), &dc->runs);
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
		ret = vma_list(dc, &pm, i);
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

/* ---- copy-on-write pages ---- */

/* The VMA of @dc that starts at @start, or -1. */
static ssize_t vma_at(const struct dump_ctx *dc, uint64_t start)
{
	size_t lo = 0, hi = dc->vmas.nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (dc->vmas.v[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < dc->vmas.nr && dc->vmas.v[lo].start == start ? (ssize_t)lo : -1;
}

/*
 * Can pages of VMA @i of @dc be restored from the parent's memory? Only if the parent has a
 * private VMA of the same range, kind (anonymous, or the same file at the same offset) and
 * advice, which its children inherit: the restore moves the parent's premapped VMA into the
 * child whole.
 */
static bool cow_vma_ok(const struct dump_ctx *dc, size_t i)
{
	const struct dump_ctx *pdc = dc->cow_parent;
	const struct dump_vma *d = &dc->dvmas[i], *pd;
	const struct proc_vma *v = &dc->vmas.v[i], *pv;
	uint64_t nofork = (1ULL << MADV_DONTFORK) | (1ULL << MADV_WIPEONFORK);
	ssize_t j;

	if (d->dump != VMA_DUMP_ANON && d->dump != VMA_DUMP_PRIVATE_FILE)
		return false;
	j = vma_at(pdc, v->start);
	if (j < 0 || pdc->vmas.v[j].end != v->end)
		return false;
	pd = &pdc->dvmas[j];
	pv = &pdc->vmas.v[j];
	if (d->dump == VMA_DUMP_PRIVATE_FILE &&
	    (pv->dev_major != v->dev_major || pv->dev_minor != v->dev_minor ||
	     pv->ino != v->ino || pv->pgoff != v->pgoff))
		return false;
	return pd->dump == d->dump && pd->flags == d->flags && pd->madv == d->madv &&
	       !(d->madv & nofork);
}

/* The end of the run of @runs holding @addr, or 0. */
static uint64_t runs_cover(const struct page_runs *runs, uint64_t addr)
{
	size_t lo = 0, hi = runs->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (runs->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < runs->nr && runs->r[lo].start <= addr ? runs->r[lo].end : 0;
}

/* Split run @r into @keep and @cow: @shared lists its shared pages (in order). Only pages the
 * parent's own pagemap has (dumped, or its parent's) go to @cow. */
static int cow_split_run(const struct dump_ctx *dc, const struct page_run *r,
			 const struct page_runs *shared, struct page_runs *keep,
			 struct page_runs *cow)
{
	const struct dump_ctx *pdc = dc->cow_parent;
	uint64_t addr = r->start, s, e, c;
	size_t i;
	int ret;

	for (i = 0; i < shared->nr; i++) {
		for (s = shared->r[i].start; s < shared->r[i].end; s = e) {
			c = max(runs_cover(&pdc->runs, s), runs_cover(&pdc->cow, s));
			e = c ? min(c, shared->r[i].end) : s + PAGE_SIZE;
			if (!c)
				continue;
			ret = page_runs_add(keep, addr, s);
			if (!ret)
				ret = page_runs_add(cow, s, e);
			if (ret)
				return ret;
			addr = e;
		}
	}
	return page_runs_add(keep, addr, r->end);
}

/*
 * The pages of ours that are still the very pages of our parent (copy-on-write, written by
 * neither since the fork) are not dumped: PE_COW runs record them, and the restore hands them
 * over from the parent's memory, so they stay shared. Where frame numbers cannot be compared,
 * everything is dumped.
 */
int pages_cow(struct dump_ctx *dc)
{
	struct page_runs keep = { 0 }, cow = { 0 }, shared = { 0 };
	struct cow_pair cp;
	size_t i, v = 0;
	bool looked = false;
	int ret;

	if (!dc->cow_parent || !dc->runs.nr)
		return 0;
	ret = cow_open(&cp, dc->pid, dc->cow_parent->pid);
	if (ret < 0) {
		pr_debug("task %d: cannot compare its pages with its parent's: %s", dc->pid,
			 strerror(-ret));
		return 0;
	}
	for (i = 0; i < dc->runs.nr && ret >= 0; i++) {
		const struct page_run *r = &dc->runs.r[i];

		while (v < dc->vmas.nr && dc->vmas.v[v].end <= r->start)
			v++;
		shared.nr = shared.sealed = 0;
		if (v < dc->vmas.nr && dc->vmas.v[v].start <= r->start && cow_vma_ok(dc, v)) {
			ret = cow_find_shared(&cp, r->start, r->end, &shared);
			looked = true;
		}
		if (ret >= 0)
			ret = cow_split_run(dc, r, &shared, &keep, &cow);
		page_runs_seal(&keep);
		page_runs_seal(&cow);
	}
	if (ret >= 0 && looked && !cp.seen_pfn)
		ret = -EPERM;
	cow_close(&cp);
	page_runs_release(&shared);
	if (ret < 0) {
		page_runs_release(&keep);
		page_runs_release(&cow);
		if (ret == -ENOMEM)
			return ret;
		pr_info("task %d: copy-on-write pages cannot be told (%s): all are dumped",
			dc->pid, strerror(-ret));
		return 0;
	}
	page_runs_release(&dc->runs);
	dc->runs = keep;
	dc->cow = cow;
	pr_info("task %d: %" PRIu64 " pages are shared copy-on-write with its parent %d (not "
		"dumped), %" PRIu64 " to dump", dc->pid, cow.nr_pages, dc->cow_parent->pid,
		keep.nr_pages);
	return 0;
}

/* The runs of @dc in address order: dumped ones (PE_PRESENT) and PE_COW ones. */
static int pagemap_write(struct dump_ctx *dc, struct cr_img *img)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	size_t i = 0, j = 0;
	int ret;

	head.pages_id = dc->pid;
	ret = img_write(img, &head.base);
	while (ret == 0 && (i < dc->runs.nr || j < dc->cow.nr)) {
		PagemapEntry pe = PAGEMAP_ENTRY__INIT;
		const struct page_run *r;
		bool cow = i == dc->runs.nr ||
			   (j < dc->cow.nr && dc->cow.r[j].start < dc->runs.r[i].start);

		r = cow ? &dc->cow.r[j++] : &dc->runs.r[i++];
		pe.vaddr = r->start;
		pe.nr_pages = (r->end - r->start) / PAGE_SIZE;
		pe.has_flags = true;
		pe.flags = cow ? PAGEMAP_FLAGS__PE_COW : PAGEMAP_FLAGS__PE_PRESENT;
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

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include "opts.h"

/* ---- the parent image sets (criu, logging) ---- */

static bool has_parent_runs(PagemapEntry **pms, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (pms[i]->has_flags && (pms[i]->flags & PAGEMAP_FLAGS__PE_PARENT))
			return true;
	return false;
}

static void rst_pages_free(struct rst_pages *p)
{
	struct rst_pages *next;

	for (; p; p = next) {
		next = p->parent;
		img_close(p->pages);
		while (p->nr_pms)
			protobuf_c_message_free_unpacked(&p->pms[--p->nr_pms]->base, NULL);
		free(p->pms);
		if (p->head)
			protobuf_c_message_free_unpacked(&p->head->base, NULL);
		free(p->offs);
		img_dir_free(p->dir);
		free(p);
	}
}

static int rst_pages_read(struct rst_pages *p, pid_t pid)
{
	_cleanup_img_ struct cr_img *img = NULL;
	ProtobufCMessage *msg;
	PagemapEntry **n;
	uint64_t off = 0;
	int ret;

	ret = img_open(p->dir, IMG_PAGEMAP, pid, O_RDONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(p->dir));
	ret = img_read(img, &pagemap_head__descriptor, &msg);
	if (ret == 0)
		ret = -EBADMSG;
	while (ret > 0) {
		if (!p->head) {
			p->head = (PagemapHead *)msg;
		} else {
			n = realloc(p->pms, (p->nr_pms + 1) * sizeof(*n));
			if (!n) {
				protobuf_c_message_free_unpacked(msg, NULL);
				return -ENOMEM;
			}
			p->pms = n;
			p->pms[p->nr_pms++] = (PagemapEntry *)msg;
		}
		ret = img_read(img, &pagemap_entry__descriptor, &msg);
	}
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_error(img));

	p->offs = calloc(p->nr_pms + 1, sizeof(*p->offs));
	if (!p->offs)
		return -ENOMEM;
	for (size_t i = 0; i < p->nr_pms; i++) {
		uint32_t flags = p->pms[i]->has_flags ? p->pms[i]->flags : PAGEMAP_FLAGS__PE_PRESENT;

		p->offs[i] = off;
		if (flags & PAGEMAP_FLAGS__PE_PRESENT)
			off += (uint64_t)p->pms[i]->nr_pages * PAGE_SIZE;
	}
	ret = img_open(p->dir, IMG_PAGES, p->head->pages_id, O_RDONLY, &p->pages);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(p->dir));
	return 0;
}

int pages_open_parents(struct rst_ctx *c)
{
	struct rst_pages **next = &c->parent;
	bool need = has_parent_runs(c->pms, c->nr_pms);
	char path[PATH_MAX];
	int ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/parent", c->opts->images_dir) >= sizeof(path))
		return -ENAMETOOLONG;
	while (need) {
		*next = calloc(1, sizeof(**next));
		if (!*next)
			return -ENOMEM;
		ret = img_dir_open(path, false, &(*next)->dir);
		if (ret < 0)
			return pr_err_ret(ret, "pages of pid %d are in the parent image set '%s', "
					  "which cannot be opened", c->pid, path);
		ret = rst_pages_read(*next, c->pid);
		if (ret)
			return ret;
		pr_info("pages of pid %d: %zu runs in '%s'", c->pid, (*next)->nr_pms, path);
		need = has_parent_runs((*next)->pms, (*next)->nr_pms);
		next = &(*next)->parent;
		if (strlen(path) + sizeof("/parent") > sizeof(path))
			return -ENAMETOOLONG;
		strcat(path, "/parent");
	}
	return 0;
}

void pages_release_parents(struct rst_ctx *c)
{
	rst_pages_free(c->parent);
	c->parent = NULL;
}

/* ---- copy-on-write runs (criu) ---- */

static uint32_t pe_flags(const PagemapEntry *pe)
{
	return pe->has_flags ? pe->flags : PAGEMAP_FLAGS__PE_PRESENT;
}

static uint64_t pe_end(const PagemapEntry *pe)
{
	return pe->vaddr + (uint64_t)pe->nr_pages * PAGE_SIZE;
}

/* The VMA of @c holding @addr (index), or -1. */
static ssize_t rst_vma_at(const struct rst_ctx *c, uint64_t addr)
{
	size_t lo = 0, hi = c->mm->n_vmas, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->mm->vmas[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->mm->n_vmas && c->mm->vmas[lo]->start <= addr ? (ssize_t)lo : -1;
}

/* VMA @i of @c is premapped private memory: anonymous, or of a file. */
static bool vma_private(const struct rst_ctx *c, ssize_t i)
{
	return i >= 0 && c->kinds[i] == RV_PREMAP &&
	       (c->mm->vmas[i]->status & (VMA_STATUS__VMA_ANON_PRIVATE |
					  VMA_STATUS__VMA_FILE_PRIVATE)) &&
	       !(c->mm->vmas[i]->flags & MAP_SHARED);
}

/* Are @v of @c and @pv of @p the same kind of private memory: anonymous, or one file? */
static bool vma_same_private(const struct rst_ctx *c, const VmaEntry *v,
			     const struct rst_ctx *p, const VmaEntry *pv)
{
	const RegFileEntry *f, *pf;
	uint32_t kind = VMA_STATUS__VMA_ANON_PRIVATE | VMA_STATUS__VMA_FILE_PRIVATE;

	if ((v->status & kind) != (pv->status & kind) || v->flags != pv->flags)
		return false;
	if (!(v->status & VMA_STATUS__VMA_FILE_PRIVATE))
		return true;
	f = v->has_file_id ? reg_file_find(c, v->file_id) : NULL;
	pf = pv->has_file_id ? reg_file_find(p, pv->file_id) : NULL;
	return f && pf && v->pgoff == pv->pgoff && !strcmp(f->name, pf->name);
}

/* Does the pagemap of @p hold [addr, end) (dumped, in a parent set, or its parent's)? */
static bool pms_cover(const struct rst_ctx *p, uint64_t addr, uint64_t end)
{
	size_t lo = 0, hi = p->nr_pms, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pe_end(p->pms[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; addr < end; lo++) {
		if (lo == p->nr_pms || p->pms[lo]->vaddr > addr ||
		    !(pe_flags(p->pms[lo]) & (PAGEMAP_FLAGS__PE_PRESENT | PAGEMAP_FLAGS__PE_PARENT |
					       PAGEMAP_FLAGS__PE_COW)))
			return false;
		addr = pe_end(p->pms[lo]);
	}
	return true;
}

/* The VMA of the PE_COW run @pe in @c and the parent's VMA of the same range must match. */
static int check_cow_run(const struct rst_ctx *c, const struct rst_ctx *p,
			 const PagemapEntry *pe)
{
	uint64_t nofork = (1ULL << MADV_DONTFORK) | (1ULL << MADV_WIPEONFORK);
	const VmaEntry *v, *pv;
	ssize_t i, j;

	i = rst_vma_at(c, pe->vaddr);
	if (!vma_private(c, i) || pe_end(pe) > c->mm->vmas[i]->end) {
		pr_err("pagemap-%d.img: copy-on-write pages at %#" PRIx64 " are not in one private "
		       "vma", c->pid, pe->vaddr);
		return -EBADMSG;
	}
	v = c->mm->vmas[i];
	j = rst_vma_at(p, v->start);
	pv = j >= 0 ? p->mm->vmas[j] : NULL;
	if (!vma_private(p, j) || pv->start != v->start || pv->end != v->end ||
	    !vma_same_private(c, v, p, pv) ||
	    (pv->has_madv ? pv->madv : 0) != (v->has_madv ? v->madv : 0) ||
	    (v->has_madv && (v->madv & nofork))) {
		pr_err("pagemap-%d.img: copy-on-write pages at %#" PRIx64 ": the parent %d has no "
		       "vma %#" PRIx64 "-%#" PRIx64 " like it to share them", c->pid, pe->vaddr,
		       p->pid, v->start, v->end);
		return -EBADMSG;
	}
	if (!pms_cover(p, pe->vaddr, pe_end(pe))) {
		pr_err("pagemap-%d.img: copy-on-write pages at %#" PRIx64 " are not in the pagemap "
		       "of the parent %d", c->pid, pe->vaddr, p->pid);
		return -EBADMSG;
	}
	return 0;
}

int pages_check_cow(const struct rst_ctx *c, const struct rst_ctx *p, uint64_t *ret_pages)
{
	uint64_t pages = 0;
	size_t i;
	int ret;

	for (i = 0; i < c->nr_pms; i++) {
		const PagemapEntry *pe = c->pms[i];

		if (!(pe_flags(pe) & PAGEMAP_FLAGS__PE_COW))
			continue;
		if (pe_flags(pe) != PAGEMAP_FLAGS__PE_COW) {
			pr_err("pagemap-%d.img: the run at %#" PRIx64 " has flags %#x", c->pid,
			       pe->vaddr, pe_flags(pe));
			return -EBADMSG;
		}
		if (!p || !p->mm) {
			pr_err("pagemap-%d.img: pages at %#" PRIx64 " are shared with a parent, but "
			       "the process has no live parent in the tree", c->pid, pe->vaddr);
			return -EBADMSG;
		}
		ret = check_cow_run(c, p, pe);
		if (ret)
			return ret;
		pages += pe->nr_pages;
	}
	*ret_pages = pages;
	return 0;
}

/* ---- the child ---- */

static int pread_full(struct rst_task *t, int fd, char *dst, uint64_t len, uint64_t off)
{
	ssize_t n;

	while (len) {
		n = pread(fd, dst, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return rst_task_err(t, -errno, "cannot read the pages of pid %d: %m", t->c->pid);
		if (n == 0)
			return rst_task_err(t, -EBADMSG, "a pages image of pid %d is shorter than its "
					    "pagemap (%" PRIu64 " bytes)", t->c->pid, off);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Read [addr, addr + len) from the parent image set @p (or its parents) into @dst. */
static int pages_from_parent(struct rst_task *t, struct rst_pages *p, uint64_t addr,
			     uint64_t len, char *dst)
{
	size_t lo = 0, hi, mid;
	uint64_t end, n;
	uint32_t flags;
	int ret;

	if (!p)
		return rst_task_err(t, -EBADMSG, "pages at %#" PRIx64 " are in no parent image set",
				    addr);
	/* the first run that ends after addr */
	for (hi = p->nr_pms; lo < hi;) {
		mid = lo + (hi - lo) / 2;
		if (p->pms[mid]->vaddr + (uint64_t)p->pms[mid]->nr_pages * PAGE_SIZE <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; len; lo++) {
		if (lo == p->nr_pms || p->pms[lo]->vaddr > addr)
			return rst_task_err(t, -EBADMSG, "pages at %#" PRIx64 " are missing from "
					    "the parent image set", addr);
		end = p->pms[lo]->vaddr + (uint64_t)p->pms[lo]->nr_pages * PAGE_SIZE;
		n = min(len, end - addr);
		flags = p->pms[lo]->has_flags ? p->pms[lo]->flags : PAGEMAP_FLAGS__PE_PRESENT;
		ret = 0;
		if (flags & PAGEMAP_FLAGS__PE_PARENT)
			ret = pages_from_parent(t, p->parent, addr, n, dst);
		else if (flags & PAGEMAP_FLAGS__PE_PRESENT)
			ret = pread_full(t, img_raw_fd(p->pages), dst, n,
					 p->offs[lo] + (addr - p->pms[lo]->vaddr));
		if (ret)
			return ret;
		addr += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/*
 * Copy-on-write runs: we were forked after our parent filled its premapped VMAs, so we have
 * them too, one physical page with the parent's. Each VMA of ours with PE_COW runs is replaced
 * by the parent's premapped VMA of the same range, moved with mremap() (the pages stay
 * shared); what of it is not a PE_COW run is dropped (our PE_PRESENT pages go in afterwards,
 * the rest reads as zeros or the file again, as it did). Then the parent's whole reservation
 * goes: nothing of it stays in us.
 */
static int cow_take_vma(struct rst_task *t, struct rst_vma *v, size_t first)
{
	const struct rst_vma *pv = mm_premapped_at((struct rst_task *)t->parent, v->start);
	uint64_t len = v->end - v->start, gap = v->start;
	void *p;
	size_t i;

	if (!pv || pv->start != v->start || pv->end != v->end)
		return rst_task_err(t, -EINVAL, "the parent has no premapped vma %#" PRIx64 "-%#"
				    PRIx64 " to share pages with", v->start, v->end);
	p = mremap((void *)pv->tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)v->tmp);
	if (p == MAP_FAILED)
		return rst_task_err(t, -errno, "cannot take the vma at %#" PRIx64 " over from the "
				    "parent: %m", v->start);
	if (pv->tmp_prot != v->tmp_prot && mprotect(p, len, v->tmp_prot))
		return rst_task_err(t, -errno, "mprotect of the vma at %#" PRIx64 ": %m", v->start);
	for (i = first; i <= t->c->nr_pms; i++) {
		const PagemapEntry *pe = i < t->c->nr_pms ? t->c->pms[i] : NULL;
		uint64_t end = pe && pe->vaddr < v->end ? pe->vaddr : v->end;

		if (pe && pe->vaddr < v->end && !(pe_flags(pe) & PAGEMAP_FLAGS__PE_COW))
			continue;
		if (end > gap && madvise((void *)(v->tmp + (gap - v->start)), end - gap,
					 MADV_DONTNEED))
			return rst_task_err(t, -errno, "cannot drop pages at %#" PRIx64 ": %m", gap);
		if (end == v->end)
			break;
		gap = pe_end(pe);
	}
	return 0;
}

int pages_cow_take(struct rst_task *t)
{
	const struct rst_task *pt = t->parent;
	struct rst_vma *v, *last = NULL;
	size_t i;
	int ret;

	if (!pt)
		return 0;
	for (i = 0; i < t->c->nr_pms; i++) {
		const PagemapEntry *pe = t->c->pms[i];

		if (!(pe_flags(pe) & PAGEMAP_FLAGS__PE_COW))
			continue;
		v = mm_premapped_at(t, pe->vaddr);
		if (!v)
			return rst_task_err(t, -EBADMSG, "pagemap-%d.img: pages at %#" PRIx64
					    " are in no private vma", t->c->pid, pe->vaddr);
		if (v == last)
			continue;
		/* from the first run in it on */
		while (i && t->c->pms[i - 1]->vaddr >= v->start)
			i--;
		ret = cow_take_vma(t, v, i);
		if (ret)
			return ret;
		last = v;
		while (i + 1 < t->c->nr_pms && t->c->pms[i + 1]->vaddr < v->end)
			i++;
	}
	if (munmap((void *)pt->area, pt->premap_len + pt->rst_len))
		return rst_task_err(t, -errno, "cannot unmap the parent's premap area: %m");
	return 0;
}

/* Has @k a PE_COW run in [start, end)? */
static bool has_cow_in(const struct rst_ctx *k, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = k->nr_pms, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (pe_end(k->pms[mid]) <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < k->nr_pms && k->pms[lo]->vaddr < end; lo++)
		if (pe_flags(k->pms[lo]) & PAGEMAP_FLAGS__PE_COW)
			return true;
	return false;
}

/*
 * Around the creation of our children: the premapped VMAs none of them takes over are kept out
 * of them (MADV_DONTFORK; fork() then copies no page table of them and the child has less to
 * unmap), and get their own advice back afterwards.
 */
int pages_cow_hide(struct rst_task *t, const struct rst_ctx *tasks, size_t nr, bool hide)
{
	const MmEntry *mm = t->c->mm;
	struct rst_vma *r = t->vmas;
	size_t i, k;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct rst_vma *cur;

		if (t->c->kinds[i] == RV_VDSO || t->c->kinds[i] == RV_SKIP)
			continue;
		cur = r++;
		if (t->c->kinds[i] != RV_PREMAP || !cur->tmp ||
		    (v->has_madv && (v->madv & (1ULL << MADV_DONTFORK))))
			continue;
		for (k = 0; k < nr; k++)
			if ((pid_t)tasks[k].ps->ppid == t->c->pid && tasks[k].mm &&
			    has_cow_in(&tasks[k], v->start, v->end))
				break;
		if (k < nr)
			continue;
		if (madvise((void *)cur->tmp, v->end - v->start, hide ? MADV_DONTFORK : MADV_DOFORK))
			return rst_task_err(t, -errno, "madvise(%s) of the vma at %#" PRIx64 ": %m",
					    hide ? "MADV_DONTFORK" : "MADV_DOFORK", v->start);
	}
	return 0;
}

/*
 * Our own pages image holds the pages of the PE_PRESENT runs in order: the runs, cut at VMA
 * ends, become pieces (a place, a file offset; contiguous in the file), and the file is gone
 * through in WORK_CHUNK pieces of file offsets.
 *
 * The image is mapped read-only (MAP_SHARED: its page cache, mapped, nothing copied) and is the
 * source of one copy into place. Private anonymous VMAs are registered with a userfaultfd of
 * our own while their pages go in: UFFDIO_COPY allocates and fills each page (not zeroed first,
 * no page-table walk nor fault of ours on it). It is registered user-mode only (nothing here
 * touches those VMAs from user space; a kernel access fails instead of waiting) and closed,
 * which unregisters all, at the end. Other VMAs get their pages with process_vm_writev() to
 * ourselves (the kernel faults each page in and fills it through its own mapping, which in
 * this VM costs less than a first access through ours), or pread() into place where that is
 * refused. Each chunk of the image is mapped in with MADV_POPULATE_READ before its copy (the
 * copy would otherwise take a fault per 16 source pages, on a slower retry path) and unmapped
 * after it. On a disk, faults read only 128 KiB around each, one read at a time: the next
 * READ_AHEAD bytes are asked for first (POSIX_FADV_WILLNEED; nothing to do on tmpfs), which
 * makes a restore from a cold ext4 image ~0.6 s instead of ~0.8 for 1 GiB here. An image
 * that cannot be mapped (not a regular file, a filesystem without mmap) is read chunk by chunk
 * with pread() into a bounce buffer instead: two copies.
 *
 * With enough to copy and a second CPU, a helper thread takes chunks too: the copies are
 * independent (per-VMA locks, the PTE locks of different page tables), so two run in about half
 * the time of one (1 GiB: ~0.21 s instead of ~0.39 s here). It makes only syscalls on shared
 * data, reports its first error in the work, and is gone (joined, and its task released) before
 * pages_restore() returns: later steps (setns() into a mount namespace) need a single thread.
 * While it runs it holds a pid of its own: like any task forked on the machine meanwhile, it
 * could take one the tree still needs (a child, a thread) only if the pid counter has come
 * round to it. Chunks of 512 KiB cost ~10% more here, 32 MiB about as much as 2 MiB.
 *
 * Parent image sets (pages_from_parent()) are read into place, after MADV_POPULATE_WRITE:
 * with them, nothing is registered with a userfaultfd.
 */
#define WORK_CHUNK	(2UL << 20)
#define READ_AHEAD	(4 * WORK_CHUNK)	/* asked for from disk ahead of the copy */
#define PARALLEL_MIN	(32UL << 20)	/* less: a thread costs more than it saves */
#define POPULATE_MIN	(16 * PAGE_SIZE)	/* smaller chunks: pread's own faults are as fast */

struct pages_piece {
	char *dst;
	uint64_t off, len;		/* in our pages image */
	bool uffd;			/* in a VMA registered with the userfaultfd */
};

struct pages_work {
	struct pages_piece *p;
	size_t nr, cap;
	uint64_t total;			/* bytes of our pages image to place */
	int fd;				/* our pages image */
	const char *src;		/* ... mapped, or NULL: pread() into a bounce buffer */
	int uffd;			/* our userfaultfd, or -1 */
	struct rst_vma *uffd_vma;	/* the last VMA we tried to register */
	bool uffd_ok;			/* ... and it is registered */
	uint64_t cursor;		/* atomic: the next chunk to take (file offset) */
	int err;			/* atomic: the first error (-errno), 0 */
	const char *err_what;		/* ... what failed */
	char *err_at;			/* ... at which place */
	char *helper_bounce;		/* the helper's buffer, without a map */
	pid_t helper_tid;		/* the helper's, once it runs */
};

static int uffd_open(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool uffd_register(int uffd, const struct rst_vma *v)
{
	struct uffdio_register r = {
		.range = { .start = v->tmp, .len = v->end - v->start },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if ((v->flags & (MAP_PRIVATE | MAP_ANONYMOUS)) != (MAP_PRIVATE | MAP_ANONYMOUS))
		return false;
	return !ioctl(uffd, UFFDIO_REGISTER, &r) && (r.ioctls & (1ULL << _UFFDIO_COPY));
}

/* The first error of the work wins; the others stop at their next chunk. */
static void work_fail(struct pages_work *w, int err, const char *what, char *at)
{
	int none = 0;

	if (__atomic_compare_exchange_n(&w->err, &none, err, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		w->err_what = what;
		w->err_at = at;
	}
}

static int pread_all(int fd, char *dst, uint64_t len, uint64_t off)
{
	ssize_t n;

	while (len) {
		n = pread(fd, dst, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EBADMSG;	/* EBADMSG: shorter than its pagemap */
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* @len bytes from @src into @dst, at @off in our pages image. */
static int work_place(struct pages_work *w, const struct pages_piece *pc, char *dst,
		      const char *src, uint64_t len, uint64_t off)
{
	struct uffdio_copy c;
	struct iovec local, remote;
	uint64_t done = 0;
	ssize_t n;
	int ret;

	while (pc->uffd && done < len) {
		c = (struct uffdio_copy){ .dst = (uintptr_t)dst + done,
					  .src = (uintptr_t)src + done, .len = len - done };
		if (!ioctl(w->uffd, UFFDIO_COPY, &c))
			return 0;
		if (c.copy > 0)
			done += (uint64_t)c.copy;
		if (errno != EAGAIN) {
			work_fail(w, -errno, "UFFDIO_COPY", dst + done);
			return -1;
		}
	}
	if (pc->uffd)
		return 0;
	local.iov_base = (void *)src;
	remote.iov_base = dst;
	local.iov_len = remote.iov_len = len;
	n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0 || (errno != ENOSYS && errno != EPERM)) {
		work_fail(w, n < 0 ? -errno : -EFAULT, "process_vm_writev", dst);
		return -1;
	}
	if (len >= POPULATE_MIN)
		madvise(dst, len, MADV_POPULATE_WRITE);
	ret = pread_all(w->fd, dst, len, off);
	if (ret)
		work_fail(w, ret, "pread", dst);
	return ret;
}

/* The first piece ending after @off. */
static size_t work_find(const struct pages_work *w, uint64_t off)
{
	size_t lo = 0, hi = w->nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (w->p[mid].off + w->p[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Take chunks until none is left (or one failed). @bounce: WORK_CHUNK bytes, without a map. */
static void work_run(struct pages_work *w, char *bounce)
{
	uint64_t pos, end, s, e;
	const char *src;
	size_t i;
	int ret;

	for (;;) {
		pos = __atomic_fetch_add(&w->cursor, WORK_CHUNK, __ATOMIC_RELAXED);
		if (pos >= w->total || __atomic_load_n(&w->err, __ATOMIC_RELAXED))
			return;
		end = min(pos + WORK_CHUNK, w->total);
		if (w->src) {
			src = w->src + pos;
			posix_fadvise(w->fd, pos, min(pos + READ_AHEAD, w->total) - pos,
				      POSIX_FADV_WILLNEED);
			madvise((void *)src, end - pos, MADV_POPULATE_READ);
		} else {
			ret = pread_all(w->fd, bounce, end - pos, pos);
			if (ret) {
				work_fail(w, ret, "pread", NULL);
				return;
			}
			src = bounce;
		}
		for (i = work_find(w, pos); i < w->nr && w->p[i].off < end; i++) {
			s = max(w->p[i].off, pos);
			e = min(w->p[i].off + w->p[i].len, end);
			if (work_place(w, &w->p[i], w->p[i].dst + (s - w->p[i].off),
				       src + (s - pos), e - s, s))
				return;
		}
		if (w->src)
			madvise((void *)src, end - pos, MADV_DONTNEED);
	}
}

static void *work_helper(void *arg)
{
	struct pages_work *w = arg;

	__atomic_store_n(&w->helper_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	work_run(w, w->helper_bounce);
	return NULL;
}

/* A helper thread, if it is worth one; false if there is none. */
static bool work_helper_start(struct pages_work *w, pthread_t *th)
{
	pthread_attr_t attr;
	cpu_set_t cpus;
	bool ok;

	if (w->total < PARALLEL_MIN || sched_getaffinity(0, sizeof(cpus), &cpus) ||
	    CPU_COUNT(&cpus) < 2 || pthread_attr_init(&attr))
		return false;
	pthread_attr_setstacksize(&attr, 64 << 10);
	ok = !pthread_create(th, &attr, work_helper, w);
	pthread_attr_destroy(&attr);
	return ok;
}

/* Joined, and then gone from the thread group (its exit finishes after the join returns). */
static void work_helper_stop(struct pages_work *w, pthread_t th)
{
	pid_t tid;

	pthread_join(th, NULL);
	tid = __atomic_load_n(&w->helper_tid, __ATOMIC_ACQUIRE);
	while (tid > 0 && !syscall(SYS_tgkill, getpid(), tid, 0))
		sched_yield();
}

/* Place every piece: here, and in a helper thread if it is worth one. */
static int work_do(struct rst_task *t, struct pages_work *w)
{
	_cleanup_free_ char *bounce = NULL;
	struct stat st;
	pthread_t th;
	bool helper;
	void *map;

	if (!w->total)
		return 0;
	if (fstat(w->fd, &st))
		return rst_task_err(t, -errno, "cannot stat the pages image of pid %d: %m",
				    t->c->pid);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < w->total)
		return rst_task_err(t, -EBADMSG, "a pages image of pid %d is shorter than its "
				    "pagemap (%" PRIu64 " bytes, %" PRIu64 " expected)", t->c->pid,
				    (uint64_t)st.st_size, w->total);
	map = S_ISREG(st.st_mode) ? mmap(NULL, w->total, PROT_READ, MAP_SHARED, w->fd, 0) :
				    MAP_FAILED;
	if (map != MAP_FAILED) {
		w->src = map;
	} else {
		pr_debug("the pages image of pid %d cannot be mapped: read through a buffer",
			 t->c->pid);
		/* one for us, one for the helper (its own malloc() would make it an arena) */
		bounce = aligned_alloc(PAGE_SIZE, 2 * WORK_CHUNK);
		if (!bounce)
			return rst_task_err(t, -ENOMEM, "out of memory");
		w->helper_bounce = bounce + WORK_CHUNK;
	}
	helper = work_helper_start(w, &th);
	pr_debug("pid %d: %" PRIu64 " bytes of pages in %zu pieces, from %s%s", t->c->pid,
		 w->total, w->nr, w->src ? "the mapped image" : "a buffer",
		 helper ? ", with a helper thread" : "");
	work_run(w, bounce);
	if (helper)
		work_helper_stop(w, th);
	if (w->src)
		munmap((void *)w->src, w->total);
	w->src = NULL;
	if (w->err == -EBADMSG)
		return rst_task_err(t, -EBADMSG, "a pages image of pid %d is shorter than its "
				    "pagemap", t->c->pid);
	if (w->err)
		return rst_task_err(t, w->err, "cannot place the pages of pid %d at %p (%s): %s",
				    t->c->pid, w->err_at, w->err_what, strerror(-w->err));
	return 0;
}

static int work_add(struct rst_task *t, struct pages_work *w, char *dst, uint64_t len, bool uffd)
{
	struct pages_piece *n;

	if (w->nr && w->p[w->nr - 1].dst + w->p[w->nr - 1].len == dst &&
	    w->p[w->nr - 1].uffd == uffd) {
		w->p[w->nr - 1].len += len;
		w->total += len;
		return 0;
	}
	if (w->nr == w->cap) {
		n = realloc(w->p, (w->cap ? 2 * w->cap : 256) * sizeof(*n));
		if (!n)
			return rst_task_err(t, -ENOMEM, "out of memory");
		w->p = n;
		w->cap = w->cap ? 2 * w->cap : 256;
	}
	w->p[w->nr++] = (struct pages_piece){ dst, w->total, len, uffd };
	w->total += len;
	return 0;
}

/* One run, VMA by VMA: a piece of our pages image, or (@parent) read from the parent sets. */
static int pages_read_run(struct rst_task *t, uint64_t addr, uint64_t left, bool parent,
			  struct pages_work *w)
{
	struct rst_vma *v;
	uint64_t chunk;
	char *dst;
	int ret;

	while (left) {
		v = mm_premapped_at(t, addr);
		if (!v)
			return rst_task_err(t, -EBADMSG, "pagemap-%d.img: pages at %#" PRIx64
					    " are in no private vma", t->c->pid, addr);
		chunk = min(left, v->end - addr);
		dst = (char *)(v->tmp + (addr - v->start));
		if (parent) {
			/* Faulting a big run in with one call is several times faster than
			 * taking one fault per page inside a read into place. */
			if (chunk >= POPULATE_MIN)
				madvise(dst, chunk, MADV_POPULATE_WRITE);
			ret = pages_from_parent(t, t->c->parent, addr, chunk, dst);
		} else {
			if (w->uffd >= 0 && v != w->uffd_vma) {
				w->uffd_vma = v;
				w->uffd_ok = uffd_register(w->uffd, v);
			}
			ret = work_add(t, w, dst, chunk, w->uffd >= 0 && w->uffd_ok);
		}
		if (ret)
			return ret;
		addr += chunk;
		left -= chunk;
	}
	return 0;
}

/* Put the dumped pages into their premapped places: each page is filled once, by the kernel. */
int pages_restore(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	struct pages_work w = { .fd = t->pages_fd, .uffd = -1 };
	size_t i;
	int ret = 0;

	/* parent image sets read into place: no VMA may wait for UFFDIO_COPY then */
	if (!c->parent)
		w.uffd = uffd_open();
	for (i = 0; i < c->nr_pms && !ret; i++) {
		const PagemapEntry *pe = c->pms[i];
		uint32_t flags = pe->has_flags ? pe->flags : PAGEMAP_FLAGS__PE_PRESENT;

		if (flags & PAGEMAP_FLAGS__PE_LAZY) {
			ret = rst_task_err(t, -EOPNOTSUPP, "lazy pages at %#" PRIx64 ": not "
					   "supported yet", pe->vaddr);
			break;
		}
		if (!(flags & (PAGEMAP_FLAGS__PE_PRESENT | PAGEMAP_FLAGS__PE_PARENT)))
			continue;
		ret = pages_read_run(t, pe->vaddr, (uint64_t)pe->nr_pages * PAGE_SIZE,
				     flags & PAGEMAP_FLAGS__PE_PARENT, &w);
	}
	if (!ret)
		ret = work_do(t, &w);
	if (w.uffd >= 0)
		close(w.uffd);		/* unregisters every VMA */
	free(w.p);
	return ret;
}

int pages_close(struct rst_task *t)
{
	struct rst_pages *p;

	close(t->pages_fd);
	t->pages_fd = -1;
	for (p = t->c->parent; p; p = p->parent)
		close(img_raw_fd(p->pages));
	return 0;
}
