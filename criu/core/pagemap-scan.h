/*
 * Which pages of a task's VMA hold data that must be dumped: the PAGEMAP_SCAN ioctl on
 * /proc/PID/pagemap (Linux 6.7+), or reading the pagemap entries where the ioctl is missing.
 *
 * Non-logging: functions return 0 (or a count) or a negative errno.
 */
#ifndef CRIU_PAGEMAP_SCAN_H
#define CRIU_PAGEMAP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What to select in a VMA. */
enum pm_select {
	/* private anonymous memory: present or swapped pages, but not the shared zero page */
	PM_SELECT_ANON,
	/* private file mapping: present or swapped pages that are no longer the file's (COW) */
	PM_SELECT_PRIVATE_FILE,
};

/* Page-aligned address ranges [start, end), ascending, adjacent ones merged. */
struct page_run {
	uint64_t start, end;
};

struct page_runs {
	struct page_run *r;		/* owned */
	size_t nr, cap;
	size_t sealed;			/* runs before this one are never extended */
	uint64_t nr_pages;		/* sum of the runs, in pages */
};

struct pagemap {
	int fd;				/* /proc/PID/pagemap, owned */
	bool use_scan;			/* the PAGEMAP_SCAN ioctl works */
};

/* Open /proc/@pid/pagemap and probe the ioctl. @force_read: never use the ioctl. */
int pagemap_open(pid_t pid, bool force_read, struct pagemap *ret_pm);
void pagemap_close(struct pagemap *pm);

/* Append the runs of [@start, @end) selected by @sel to @runs (they must come in order). */
int pagemap_list(struct pagemap *pm, uint64_t start, uint64_t end, enum pm_select sel,
		 struct page_runs *runs);

/* Append [@start, @end) (page aligned, after the last run) to @runs. */
int page_runs_add(struct page_runs *runs, uint64_t start, uint64_t end);

/* Keep the next run apart from the last one even if adjacent (e.g. at a VMA boundary). */
void page_runs_seal(struct page_runs *runs);
void page_runs_release(struct page_runs *runs);

#endif
