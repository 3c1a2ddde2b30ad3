/*
 * Page listing (see pagemap-scan.h). The PAGEMAP_SCAN ioctl reports page ranges by category in
 * one call per up to SCAN_VEC regions; the fallback reads 8 bytes of /proc/PID/pagemap per page.
 */
#include "core/pagemap-scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "common/cleanup.h"
#include "common/page.h"
#include "common/uapi-compat.h"

#define SCAN_VEC	512		/* regions per ioctl call */
#define READ_CHUNK	4096		/* pagemap entries per pread */

int page_runs_add(struct page_runs *runs, uint64_t start, uint64_t end)
{
	if ((start | end) & (PAGE_SIZE - 1))
		return -EINVAL;
	struct page_run *r;

	if (start >= end)
		return 0;
	if (runs->nr > runs->sealed && runs->r[runs->nr - 1].end == start) {
		runs->r[runs->nr - 1].end = end;
		goto out;
	}
	if (runs->nr && runs->r[runs->nr - 1].end > start)
		return -EINVAL;		/* out of order */
	if (runs->nr == runs->cap) {
		size_t ncap = runs->cap ? runs->cap * 2 : 64;

		r = realloc(runs->r, ncap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		runs->r = r;
		runs->cap = ncap;
	}
	runs->r[runs->nr].start = start;
	runs->r[runs->nr].end = end;
	runs->nr++;
out:
	runs->nr_pages += (end - start) / PAGE_SIZE;
	return 0;
}

void page_runs_seal(struct page_runs *runs)
{
	runs->sealed = runs->nr;
}

void page_runs_release(struct page_runs *runs)
{
	if (!runs)
		return;
	free(runs->r);
	memset(runs, 0, sizeof(*runs));
}

static void scan_arg_init(struct pm_scan_arg *a, uint64_t start, uint64_t end,
			  struct page_region *vec, enum pm_select sel)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->start = start;
	a->end = end;
	a->vec = (uintptr_t)vec;
	a->vec_len = SCAN_VEC;
	/* A page matches if (categories ^ inverted) has all of mask and one of anyof_mask. */
	a->category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	if (sel == PM_SELECT_ANON) {
		a->category_inverted = PAGE_IS_PFNZERO;
		a->category_mask = PAGE_IS_PFNZERO;
	} else {
		a->category_inverted = PAGE_IS_FILE;
		a->category_mask = PAGE_IS_FILE;
	}
	a->return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
}

static int list_scan(struct pagemap *pm, uint64_t start, uint64_t end, enum pm_select sel,
		     struct page_runs *runs)
{
	_cleanup_free_ struct page_region *vec = NULL;
	struct pm_scan_arg a;
	long n, i;
	int ret;

	vec = malloc(SCAN_VEC * sizeof(*vec));
	if (!vec)
		return -ENOMEM;
	while (start < end) {
		scan_arg_init(&a, start, end, vec, sel);
		n = ioctl(pm->fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			ret = page_runs_add(runs, vec[i].start, vec[i].end);
			if (ret < 0)
				return ret;
		}
		if (a.walk_end <= start)
			return -EIO;	/* no progress: should not happen */
		start = a.walk_end;
	}
	return 0;
}

static bool pme_selected(uint64_t pme, enum pm_select sel)
{
	if (!(pme & (PME_PRESENT | PME_SWAP)))
		return false;
	/* The zero page cannot be told apart here: anonymous zero pages are dumped too. */
	if (sel == PM_SELECT_PRIVATE_FILE && (pme & PME_FILE))
		return false;
	return true;
}

static int list_read(struct pagemap *pm, uint64_t start, uint64_t end, enum pm_select sel,
		     struct page_runs *runs)
{
	_cleanup_free_ uint64_t *buf = NULL;
	uint64_t addr = start, run_start = 0;
	bool in_run = false;
	size_t i, nr;
	ssize_t n;
	int ret;

	buf = malloc(READ_CHUNK * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	while (addr < end) {
		nr = (end - addr) / PAGE_SIZE;
		if (nr > READ_CHUNK)
			nr = READ_CHUNK;
		n = pread(pm->fd, buf, nr * sizeof(*buf), (addr / PAGE_SIZE) * sizeof(*buf));
		if (n < 0)
			return -errno;
		if (n == 0 || n % sizeof(*buf))
			return -EIO;
		nr = n / sizeof(*buf);
		for (i = 0; i < nr; i++, addr += PAGE_SIZE) {
			bool sel_page = pme_selected(buf[i], sel);

			if (sel_page && !in_run) {
				run_start = addr;
				in_run = true;
			} else if (!sel_page && in_run) {
				ret = page_runs_add(runs, run_start, addr);
				if (ret < 0)
					return ret;
				in_run = false;
			}
		}
	}
	if (in_run)
		return page_runs_add(runs, run_start, addr);
	return 0;
}

int pagemap_list(struct pagemap *pm, uint64_t start, uint64_t end, enum pm_select sel,
		 struct page_runs *runs)
{
	if ((start | end) & (PAGE_SIZE - 1) || start > end)
		return -EINVAL;
	if (pm->use_scan)
		return list_scan(pm, start, end, sel, runs);
	return list_read(pm, start, end, sel, runs);
}

int pagemap_open(pid_t pid, bool force_read, struct pagemap *ret_pm)
{
	struct page_region vec[1];
	struct pm_scan_arg a;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	ret_pm->fd = fd;
	ret_pm->use_scan = false;
	if (force_read)
		return 0;

	/* An empty range is a cheap probe: 0 if the ioctl exists, ENOTTY/EINVAL if not. */
	scan_arg_init(&a, 0, 0, vec, PM_SELECT_ANON);
	a.vec_len = 1;
	if (ioctl(fd, PAGEMAP_SCAN, &a) >= 0)
		ret_pm->use_scan = true;
	return 0;
}

void pagemap_close(struct pagemap *pm)
{
	if (pm && pm->fd >= 0) {
		close(pm->fd);
		pm->fd = -1;
	}
}
