/*
 * Copy-on-write sharing between a process and its parent: pages a child inherited at fork and
 * neither has written since are one physical page in both. Found by comparing the page frame
 * numbers of /proc/PID/pagemap (visible with CAP_SYS_ADMIN) at the same addresses.
 *
 * Non-logging: 0 or a negative errno.
 */
#ifndef CRIU_CORE_COW_H
#define CRIU_CORE_COW_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct page_runs;

/* The pagemaps of a process and of its parent, open. */
struct cow_pair {
	int fd, pfd;			/* owned: /proc/PID/pagemap of the process, of the parent */
	bool seen_pfn;			/* a frame number was visible (not hidden as 0) */
};

int cow_open(struct cow_pair *p, pid_t pid, pid_t parent);
void cow_close(struct cow_pair *p);

/*
 * Append to @shared (in address order, after its last run) the pages of [@start, @end) that
 * are present in both and the very same physical page at the same address.
 */
int cow_find_shared(struct cow_pair *p, uint64_t start, uint64_t end, struct page_runs *shared);

#endif
