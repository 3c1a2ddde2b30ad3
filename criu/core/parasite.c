/* criu's side of the parasite protocol: infect with criu's blob, one wrapper per command, cure. */
#define LOG_PREFIX "parasite: "
#include "core/parasite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

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

/*
 * The page pipes: the parasite fills batch k + 1.. while criu drains batch k, so NR_PAGE_PIPES
 * batches are in flight. Each is as large as we may have it without raising the global
 * pipe-max-size (1 MiB here, 256 pages); the smallest bounds the batch.
 */
#define NR_PAGE_PIPES		4

struct page_pipes {
	int rfd[PARASITE_MAX_PAGE_PIPES];
	int wfd[PARASITE_MAX_PAGE_PIPES + 1];	/* + the parasite's credit end; closed once sent */
	int credit;				/* our end of the credit socket */
	unsigned int nr;
	size_t cap;
};

static long pipe_max_size(void)
{
	long max = 1024 * 1024;
	FILE *f;

	f = fopen("/proc/sys/fs/pipe-max-size", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 1024 * 1024;
		fclose(f);
	}
	return max;
}

static void page_pipes_release(struct page_pipes *pp)
{
	if (pp->credit >= 0)
		close(pp->credit);
	if (pp->wfd[pp->nr] >= 0)
		close(pp->wfd[pp->nr]);
	pp->credit = pp->wfd[pp->nr] = -1;
	while (pp->nr) {
		pp->nr--;
		close(pp->rfd[pp->nr]);
		if (pp->wfd[pp->nr] >= 0)
			close(pp->wfd[pp->nr]);
	}
}

static int page_pipes_init(struct page_pipes *pp)
{
	long max = pipe_max_size(), sz;
	int p[2];

	pp->nr = 0;
	pp->cap = SIZE_MAX;
	pp->credit = pp->wfd[0] = -1;
	while (pp->nr < NR_PAGE_PIPES) {
		if (pipe2(p, O_CLOEXEC)) {
			if (pp->nr)
				break;		/* out of fds: fewer in flight */
			return -errno;
		}
		pp->rfd[pp->nr] = p[0];
		pp->wfd[pp->nr] = p[1];
		pp->nr++;
		pp->wfd[pp->nr] = -1;
		for (sz = max; sz >= PIPE_MIN_SIZE; sz /= 2)
			if (fcntl(p[1], F_SETPIPE_SZ, (int)sz) >= 0)
				break;
		sz = fcntl(p[1], F_GETPIPE_SZ);
		if (sz < (long)PAGE_SIZE) {
			page_pipes_release(pp);
			return sz < 0 ? -errno : -EINVAL;
		}
		pp->cap = min(pp->cap, (size_t)sz & PAGE_MASK);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p)) {
		sz = -errno;
		page_pipes_release(pp);
		return (int)sz;
	}
	pp->credit = p[0];
	pp->wfd[pp->nr] = p[1];
	return 0;
}

/*
 * Tell the parasite that the pipe of the batch we just drained is free (see SET_PAGE_PIPES).
 * A parasite that closed its end (done with its last command, or failed: then our reads see
 * EOF) needs no credit: EPIPE is no error here, and raises no SIGPIPE.
 */
static int page_pipes_credit(struct page_pipes *pp)
{
	char c = 0;

	while (send(pp->credit, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		if (errno == EPIPE || errno == ECONNRESET)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Hand the write ends and the credit socket's other end to the parasite, then close ours: a
 * parasite that fails closes its own and our reads see EOF instead of blocking. */
static int page_pipes_send(struct compel_ctl *ctl, struct page_pipes *pp)
{
	struct parasite_page_pipes *a = compel_args(ctl);
	unsigned int i;
	int ret;

	a->nr_pipes = pp->nr;
	a->pad = 0;
	ret = compel_rpc_call(ctl, PARASITE_CMD_SET_PAGE_PIPES);
	if (!ret)
		ret = compel_send_fds(ctl, pp->wfd, pp->nr + 1);
	if (!ret)
		ret = compel_rpc_sync(ctl, PARASITE_CMD_SET_PAGE_PIPES);
	for (i = 0; i <= pp->nr; i++) {
		close(pp->wfd[i]);
		pp->wfd[i] = -1;
	}
	return ret;
}

/* Move *@len bytes from the pipe into @out_fd, counting *@len down: -EPIPE if the pipe ends
 * first. */
static int drain_pipe(int rfd, int out_fd, size_t *len)
{
	ssize_t n;

	while (*len) {
		n = splice(rfd, NULL, out_fd, NULL, *len, SPLICE_F_MOVE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		*len -= (size_t)n;
	}
	return 0;
}

/* Throw away what the parasite still sends from batch @k on (@len bytes of it left, @left
 * after it) as we failed to store it, so that the parasite finishes. */
static void discard_batches(struct page_pipes *pp, unsigned int k, size_t len, uint64_t left)
{
	_cleanup_close_ int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null_fd < 0)
		return;
	while (!drain_pipe(pp->rfd[k % pp->nr], null_fd, &len) && left) {
		if (page_pipes_credit(pp))
			return;
		len = min(left, (uint64_t)pp->cap);
		left -= len;
		k++;
	}
}

struct pages_cursor {
	const struct iovec *iov;
	unsigned int nr, i;	/* the next range */
};

/* Fill the args with the next ranges (as many as fit); returns the command's bytes. */
static uint64_t fill_cmd(struct pages_cursor *c, struct parasite_dump_pages *a, size_t cap)
{
	uint64_t bytes = 0;

	a->nr_iovs = 0;
	a->flags = 0;
	a->batch_bytes = cap;
	for (; c->i < c->nr && a->nr_iovs < PARASITE_MAX_IOVS; c->i++) {
		if (!c->iov[c->i].iov_len)
			continue;
		a->iovs[a->nr_iovs].base = (uintptr_t)c->iov[c->i].iov_base;
		a->iovs[a->nr_iovs].len = c->iov[c->i].iov_len;
		a->nr_iovs++;
		bytes += c->iov[c->i].iov_len;
	}
	if (c->i == c->nr)
		a->flags |= PARASITE_PAGES_CLOSE_PIPE;
	return bytes;
}

/* One DUMP_PAGES command: drain its batches in order while the parasite fills the pipes. */
static int dump_pages_cmd(struct compel_ctl *ctl, struct page_pipes *pp, uint64_t bytes,
			  int out_fd)
{
	struct parasite_dump_pages *a = compel_args(ctl);
	uint64_t left = bytes;
	unsigned int k;
	size_t len;
	int ret, ret2;

	ret = compel_rpc_call(ctl, PARASITE_CMD_DUMP_PAGES);
	if (ret)
		return pr_err_ret(ret, "cannot send the page command to the parasite");
	for (k = 0; left; k++) {
		len = min(left, (uint64_t)pp->cap);
		left -= len;
		ret = drain_pipe(pp->rfd[k % pp->nr], out_fd, &len);
		if (!ret)
			ret = page_pipes_credit(pp);
		if (ret)
			break;
	}
	if (ret && ret != -EPIPE)
		discard_batches(pp, k, len, left);
	ret2 = compel_rpc_sync(ctl, PARASITE_CMD_DUMP_PAGES);
	if (ret2)
		return pr_err_ret(ret2, "parasite cannot vmsplice %" PRIu64 " bytes", bytes);
	if (ret)
		return pr_err_ret(ret, "cannot splice %" PRIu64 " bytes into the image", bytes);
	if (a->bytes != bytes) {
		pr_err("parasite moved %" PRIu64 " bytes of %" PRIu64, a->bytes, bytes);
		return -EIO;
	}
	return 0;
}

int parasite_dump_pages(struct compel_ctl *ctl, const struct iovec *iov, unsigned int nr,
			int out_fd, uint64_t *ret_bytes)
{
	struct parasite_dump_pages *a = compel_args(ctl);
	struct pages_cursor c = { .iov = iov, .nr = nr };
	struct page_pipes pp = { .nr = 0 };
	uint64_t total = 0, bytes;
	unsigned int i, cmds = 0;
	int ret = 0;

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

	ret = page_pipes_init(&pp);
	if (ret)
		return pr_err_ret(ret, "cannot create the page pipes");
	ret = page_pipes_send(ctl, &pp);
	if (ret) {
		pr_err_ret(ret, "cannot pass the page pipes to the parasite");
		goto out_release;
	}
	while (c.i < c.nr) {
		bytes = fill_cmd(&c, a, pp.cap);
		ret = dump_pages_cmd(ctl, &pp, bytes, out_fd);
		if (ret)
			goto out_release;
		total += bytes;
		cmds++;
	}
	pr_debug("%" PRIu64 " bytes of pages dumped by %u command(s) through %u pipe(s) of %zu "
		 "bytes", total, cmds, pp.nr, pp.cap);
	page_pipes_release(&pp);
out:
	if (ret_bytes)
		*ret_bytes = total;
	return 0;
out_release:
	page_pipes_release(&pp);
	return ret;
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
