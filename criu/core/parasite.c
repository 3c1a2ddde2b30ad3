/* criu's side of the parasite protocol: infect with criu's blob, one wrapper per command, cure. */
#define LOG_PREFIX "parasite: "
#include "core/parasite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/page.h"
#include "core/log.h"
#include "criu/pie/parasite-blob.h"
#include "uapi/compel/compel.h"

#define PARASITE_ARGS_SIZE	(64 * 1024)
#define PARASITE_MAX_IOVS	((PARASITE_ARGS_SIZE - sizeof(struct parasite_dump_pages)) / \
				 sizeof(struct parasite_iov))
#define PIPE_MIN_SIZE		(64 * 1024)

_Static_assert(PARASITE_CMD_BASE == COMPEL_USER_CMD_BASE, "parasite commands overlap compel's");

static void compel_log_cb(unsigned int level, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	print_on_level((int)level, "%s", buf);
}

int parasite_infect(pid_t pid, struct compel_ctl **ret_ctl)
{
	struct compel_infect_opts opts = {
		.sz = sizeof(opts),
		.args_size = PARASITE_ARGS_SIZE,
	};
	struct compel_ctl *ctl;
	int ret;

	compel_set_log(compel_log_cb, (unsigned int)log_get_level());
	ret = compel_prepare(pid, &ctl);
	if (ret)
		return pr_err_ret(ret, "task %d: cannot prepare infection", pid);
	ret = compel_infect(ctl, &parasite_blob_desc, &opts);
	if (ret) {
		compel_cure(ctl);
		return pr_err_ret(ret, "task %d: cannot infect", pid);
	}
	pr_debug("task %d: infected", pid);
	*ret_ctl = ctl;
	return 0;
}

int parasite_dump_misc(struct compel_ctl *ctl, struct parasite_misc *ret_misc)
{
	struct parasite_misc *m = compel_args(ctl);
	int ret;

	ret = compel_rpc_call_sync(ctl, PARASITE_CMD_DUMP_MISC);
	if (ret)
		return pr_err_ret(ret, "cannot dump the task's misc state");
	if (m->version != PARASITE_PROTO_VERSION) {
		pr_err("parasite speaks version %u, not %u", m->version, PARASITE_PROTO_VERSION);
		return -EPROTO;
	}
	*ret_misc = *m;
	return 0;
}

/* A pipe as large as we may have it: its capacity bounds each batch. */
static int make_page_pipe(int p[2], size_t *ret_cap)
{
	long max = 1024 * 1024, sz;
	FILE *f;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	f = fopen("/proc/sys/fs/pipe-max-size", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 1024 * 1024;
		fclose(f);
	}
	for (sz = max; sz >= PIPE_MIN_SIZE; sz /= 2)
		if (fcntl(p[1], F_SETPIPE_SZ, (int)sz) >= 0)
			break;
	sz = fcntl(p[1], F_GETPIPE_SZ);
	if (sz < (long)PAGE_SIZE) {
		close(p[0]);
		close(p[1]);
		return sz < 0 ? -errno : -EINVAL;
	}
	*ret_cap = (size_t)sz & PAGE_MASK;
	return 0;
}

static int send_page_pipe(struct compel_ctl *ctl, int wfd)
{
	int ret;

	ret = compel_rpc_call(ctl, PARASITE_CMD_SET_PAGE_PIPE);
	if (!ret)
		ret = compel_send_fds(ctl, &wfd, 1);
	if (!ret)
		ret = compel_rpc_sync(ctl, PARASITE_CMD_SET_PAGE_PIPE);
	return ret;
}

/* Move exactly @len bytes from the pipe into @out_fd. */
static int drain_pipe(int rfd, int out_fd, size_t len)
{
	ssize_t n;

	while (len) {
		n = splice(rfd, NULL, out_fd, NULL, len, SPLICE_F_MOVE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		len -= (size_t)n;
	}
	return 0;
}

struct pages_cursor {
	const struct iovec *iov;
	unsigned int nr, i;	/* the next range */
	size_t off;		/* how far into it */
};

/* Fill the args with the next ranges, at most @cap bytes; returns the batch's bytes. */
static size_t fill_batch(struct pages_cursor *c, struct parasite_dump_pages *a, size_t cap)
{
	size_t bytes = 0, len;

	a->nr_iovs = 0;
	a->flags = 0;
	while (c->i < c->nr && a->nr_iovs < PARASITE_MAX_IOVS && bytes < cap) {
		len = min(c->iov[c->i].iov_len - c->off, cap - bytes);
		a->iovs[a->nr_iovs].base = (uintptr_t)c->iov[c->i].iov_base + c->off;
		a->iovs[a->nr_iovs].len = len;
		a->nr_iovs++;
		bytes += len;
		c->off += len;
		if (c->off == c->iov[c->i].iov_len) {
			c->i++;
			c->off = 0;
		}
	}
	if (c->i == c->nr)
		a->flags |= PARASITE_PAGES_CLOSE_PIPE;
	return bytes;
}

int parasite_dump_pages(struct compel_ctl *ctl, const struct iovec *iov, unsigned int nr,
			int out_fd, uint64_t *ret_bytes)
{
	struct parasite_dump_pages *a = compel_args(ctl);
	struct pages_cursor c = { .iov = iov, .nr = nr };
	_cleanup_close_ int rfd = -1;
	uint64_t total = 0;
	size_t cap = 0, bytes;
	unsigned int i;
	int p[2], ret;

	for (i = 0; i < nr; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & ~PAGE_MASK) {
			pr_err("range %p+%#zx is not page aligned", iov[i].iov_base,
			       iov[i].iov_len);
			return -EINVAL;
		}
	while (c.i < c.nr && !c.iov[c.i].iov_len)
		c.i++;
	if (c.i == c.nr)
		goto out;

	ret = make_page_pipe(p, &cap);
	if (ret)
		return pr_err_ret(ret, "cannot create the page pipe");
	rfd = p[0];
	ret = send_page_pipe(ctl, p[1]);
	close(p[1]);
	if (ret)
		return pr_err_ret(ret, "cannot pass the page pipe to the parasite");

	while (c.i < c.nr) {
		bytes = fill_batch(&c, a, cap);
		ret = compel_rpc_call_sync(ctl, PARASITE_CMD_DUMP_PAGES);
		if (ret)
			return pr_err_ret(ret, "parasite cannot vmsplice %zu bytes", bytes);
		if (a->bytes != bytes) {
			pr_err("parasite moved %llu bytes of %zu", (unsigned long long)a->bytes,
			       bytes);
			return -EIO;
		}
		ret = drain_pipe(rfd, out_fd, bytes);
		if (ret)
			return pr_err_ret(ret, "cannot splice %zu bytes into the image", bytes);
		total += bytes;
	}
	pr_debug("%llu bytes of pages dumped, pipe of %zu bytes", (unsigned long long)total, cap);
out:
	if (ret_bytes)
		*ret_bytes = total;
	return 0;
}

#define PARASITE_MAX_DRAIN	((PARASITE_ARGS_SIZE - sizeof(struct parasite_drain_fds)) / \
				 sizeof(int32_t))

/* One command's worth: @nr <= PARASITE_MAX_DRAIN fds. */
static int drain_fds_batch(struct compel_ctl *ctl, const int *fds, size_t nr, int *ret_lfds)
{
	struct parasite_drain_fds *a = compel_args(ctl);
	size_t i, got = 0, n;
	int ret, ret2;

	a->nr_fds = (uint32_t)nr;
	for (i = 0; i < nr; i++)
		a->fds[i] = fds[i];
	ret = compel_rpc_call(ctl, PARASITE_CMD_DRAIN_FDS);
	if (ret)
		return ret;
	while (got < nr) {
		n = min(nr - got, (size_t)PARASITE_DRAIN_BATCH);
		ret = compel_recv_fds(ctl, ret_lfds + got, (unsigned int)n);
		if (ret)
			break;
		got += n;
	}
	if (ret) {
		for (i = 0; i < got; i++)
			close(ret_lfds[i]);
		return ret;	/* the parasite's answer was taken as a message without fds */
	}
	ret2 = compel_rpc_sync(ctl, PARASITE_CMD_DRAIN_FDS);
	if (ret2) {
		for (i = 0; i < got; i++)
			close(ret_lfds[i]);
	}
	return ret2;
}

int parasite_drain_fds(struct compel_ctl *ctl, const int *fds, size_t nr, int *ret_lfds)
{
	size_t done = 0, n, i;
	int ret;

	while (done < nr) {
		n = min(nr - done, (size_t)PARASITE_MAX_DRAIN);
		ret = drain_fds_batch(ctl, fds + done, n, ret_lfds + done);
		if (ret) {
			for (i = 0; i < done; i++)
				close(ret_lfds[i]);
			return pr_err_ret(ret, "cannot drain fds %d..%d", fds[done],
					  fds[done + n - 1]);
		}
		done += n;
	}
	return 0;
}

int parasite_cure(struct compel_ctl *ctl)
{
	int ret;

	ret = compel_cure(ctl);
	if (ret)
		return pr_err_ret(ret, "cannot cure the task");
	return 0;
}
