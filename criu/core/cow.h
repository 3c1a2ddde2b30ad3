/*
 * Copy-on-write sharing between a process and its parent: pages a child inherited at fork and
 * neither has written since are one physical page in both. Found by comparing the page frame
 * numbers of /proc/PID/pagemap (visible with CAP_SYS_ADMIN) at the same addresses.
 *
 * Non-logging: 0 or a negative errno.
 */
#ifndef CRIU_CORE_COW_H
#define CRIU_CORE_COW_H

#include <stdint.h>
#include <sys/types.h>

struct page_runs;

/*
 * Of the pages in @runs of process @pid, count in *@ret_shared those that are the very same
 * physical page at the same address in process @parent. -EPERM: frame numbers are hidden
 * (no CAP_SYS_ADMIN).
 */
int cow_count_shared(pid_t pid, pid_t parent, const struct page_runs *runs,
		     uint64_t *ret_shared);

#endif
