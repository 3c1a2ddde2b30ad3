/*
 * criu's side of the parasite protocol (include/proto/parasite.h): infect a seized task with
 * criu's parasite blob, one wrapper per command, cure. All functions are "logging" ones and
 * return 0 (or a count) or a negative errno.
 */
#ifndef CRIU_CORE_PARASITE_H
#define CRIU_CORE_PARASITE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "proto/parasite.h"

struct compel_ctl;

/*
 * Prepare and infect the seized, stopped process @pid (its thread group leader) with criu's
 * parasite. *@ret_ctl is owned by the caller and is freed by parasite_cure().
 */
int parasite_infect(pid_t pid, struct compel_ctl **ret_ctl);

/* PARASITE_CMD_DUMP_MISC: fill *@ret_misc with the task's basic state. */
int parasite_dump_misc(struct compel_ctl *ctl, struct parasite_misc *ret_misc);

/*
 * Move the bytes of the remote page-aligned ranges @iov[0..@nr) in order into @out_fd (a raw
 * image file) at its current position: the parasite vmsplices them into a pipe, criu splices
 * the pipe into @out_fd; no copy through user space. Ranges are batched to the pipe's capacity
 * and split when larger. *@ret_bytes (may be NULL) gets the number of bytes written.
 */
int parasite_dump_pages(struct compel_ctl *ctl, const struct iovec *iov, unsigned int nr,
			int out_fd, uint64_t *ret_bytes);

/*
 * PARASITE_CMD_DRAIN_FDS: criu's copies of the task's fds @fds[0..@nr) into @ret_lfds (owned
 * by the caller, close-on-exec). On failure none is left open.
 */
int parasite_drain_fds(struct compel_ctl *ctl, const int *fds, size_t nr, int *ret_lfds);

/*
 * Stop the parasite, unmap it, restore the task's registers, FPU state and signal mask, and
 * free @ctl. The task stays seized and stopped (compel_release() lets it go).
 */
int parasite_cure(struct compel_ctl *ctl);

#endif
