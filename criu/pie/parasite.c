/*
 * criu's parasite: runs inside the dumped task as a compel daemon (std plugin) and answers the
 * commands of include/proto/parasite.h. Freestanding: no libc.
 */
#include <stdbool.h>
#include <stdint.h>
#include <linux/prctl.h>

#include "compel/plugins/std/std.h"
#include "proto/parasite.h"

#define P_EINVAL		22
#define P_EIO			5
#define P_EBADF			9
#define P_UIO_MAXIOV		1024
#define P_EPIPE			32

static int page_pipes[PARASITE_MAX_PAGE_PIPES];
static uint32_t nr_page_pipes;
static int credit_fd = -1;		/* our end of the credit socket, see SET_PAGE_PIPES */
static uint32_t free_pipes;		/* page pipes we may fill without a credit */

static int dump_misc(struct parasite_misc *m)
{
	int v = 0;
	long r;

	memset(m, 0, sizeof(*m));
	m->version = PARASITE_PROTO_VERSION;
	m->pid = (int32_t)sys_getpid();
	m->tid = (int32_t)sys_gettid();
	m->sid = (int32_t)sys_getsid(0);
	m->pgid = (int32_t)sys_getpgid(0);
	r = sys_umask(0);
	sys_umask((unsigned int)r);
	m->umask = (uint32_t)r;
	m->personality = (uint32_t)sys_personality(0xffffffff);
	m->dumpable = (int32_t)sys_prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	if (m->dumpable < 0)
		return m->dumpable;
	r = sys_prctl(PR_GET_PDEATHSIG, (unsigned long)&v, 0, 0, 0);
	if (r < 0)
		return (int)r;
	m->pdeath_sig = v;
	v = 0;
	r = sys_prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&v, 0, 0, 0);
	if (r < 0)
		return (int)r;
	m->child_subreaper = v;
	m->no_new_privs = (int32_t)sys_prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (m->no_new_privs < 0)
		return m->no_new_privs;
	r = sys_prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (r < 0)
		return (int)r;
	m->securebits = (uint32_t)r;
	m->sigmask = std_orig_sigmask();
	for (v = 1; v <= 64; v++) {
		r = __SC(__NR_rt_sigaction, v, 0, (long)&m->sigactions[v - 1], 8, 0, 0);
		if (r < 0)
			return (int)r;
	}
	for (v = 0; v < 3; v++) {
		r = __SC(__NR_getitimer, v, (long)&m->itimers[v], 0, 0, 0, 0);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

static void close_page_pipes(void)
{
	while (nr_page_pipes)
		sys_close(page_pipes[--nr_page_pipes]);
	if (credit_fd >= 0)
		sys_close(credit_fd);
	credit_fd = -1;
	free_pipes = 0;
}

static int set_page_pipes(struct parasite_page_pipes *a)
{
	int fds[PARASITE_MAX_PAGE_PIPES + 1];
	uint32_t i;
	int ret;

	close_page_pipes();
	if (!a->nr_pipes || a->nr_pipes > PARASITE_MAX_PAGE_PIPES)
		return -P_EINVAL;
	ret = std_recv_fds(std_ctl_sock(), fds, a->nr_pipes + 1);
	if (ret) {
		pie_err("cannot receive %u page pipes: %d", a->nr_pipes, ret);
		return ret;
	}
	for (i = 0; i < a->nr_pipes; i++)
		page_pipes[i] = fds[i];
	credit_fd = fds[a->nr_pipes];
	nr_page_pipes = free_pipes = a->nr_pipes;
	return 0;
}

/* A free page pipe for the next batch: sleep on the credit socket until the host has drained one
 * (never on the page pipe's mutex, held by the host's splice while it copies). */
static int take_pipe(void)
{
	char buf[PARASITE_MAX_PAGE_PIPES];
	long r;

	while (!free_pipes) {
		r = sys_read(credit_fd, buf, sizeof(buf));
		if (r == -4)	/* EINTR */
			continue;
		if (r <= 0) {
			pie_err("no page pipe credit from the host: %ld", r);
			return r ? (int)r : -P_EPIPE;
		}
		free_pipes += (uint32_t)r;
	}
	free_pipes--;
	return 0;
}

/*
 * vmsplice exactly @len bytes of the ranges from *@pos on into @fd, blocking while the pipe is
 * full; the ranges are consumed (struct parasite_iov has struct iovec's layout).
 */
static int splice_batch(int fd, struct parasite_iov **pos, struct parasite_iov *end, uint64_t len)
{
	struct parasite_iov *iov = *pos;
	uint64_t sum, over;
	uint32_t n;
	long r;

	while (len) {
		/* the ranges of this batch, the last one cut at its end */
		for (n = 0, sum = 0; iov + n < end && n < P_UIO_MAXIOV && sum < len; n++)
			sum += iov[n].len;
		if (!n)
			return -P_EINVAL;
		over = sum > len ? sum - len : 0;
		iov[n - 1].len -= over;
		r = sys_vmsplice(fd, (const struct iovec *)iov, n, 0);
		iov[n - 1].len += over;
		if (r <= 0) {
			pie_err("vmsplice of %u ranges from %llx: %ld", n,
				(unsigned long long)iov->base, r);
			return r ? (int)r : -P_EIO;
		}
		len -= (uint64_t)r;
		while (r > 0) {
			if ((uint64_t)r >= iov->len) {
				r -= (long)iov->len;
				iov++;
			} else {
				iov->base += (uint64_t)r;
				iov->len -= (uint64_t)r;
				r = 0;
			}
		}
		while (iov < end && !iov->len)
			iov++;
	}
	*pos = iov;
	return 0;
}

#define P_SIGPIPE_BIT		(1ULL << (13 - 1))

static bool sigpipe_pending(void)
{
	uint64_t set = 0;

	__SC(__NR_rt_sigpending, (long)&set, 8, 0, 0, 0, 0);
	return set & P_SIGPIPE_BIT;
}

/*
 * A vmsplice into a pipe whose reader is gone (criu died mid-dump) queues SIGPIPE for the
 * task, blocked while we run: it would kill the task once cured. Take back the one we caused.
 */
static void sigpipe_take(void)
{
	uint64_t set = P_SIGPIPE_BIT;
	struct { long sec, nsec; } zero = { 0, 0 };

	__SC(__NR_rt_sigtimedwait, (long)&set, 0, (long)&zero, 8, 0, 0);
}

/* See PARASITE_CMD_DUMP_PAGES: batch k into pipe k % nr_page_pipes once it is free. */
static int dump_pages(struct parasite_dump_pages *a)
{
	struct parasite_iov *iov = a->iovs, *end = a->iovs + a->nr_iovs;
	bool had_sigpipe = sigpipe_pending();
	uint64_t left = 0, len;
	uint32_t i, k;
	int ret = 0;

	a->bytes = 0;
	if (!nr_page_pipes)
		return -P_EBADF;
	if (!a->batch_bytes)
		ret = -P_EINVAL;
	for (i = 0; i < a->nr_iovs; i++)
		left += iov[i].len;
	for (k = 0; !ret && left; k++) {
		len = left < a->batch_bytes ? left : a->batch_bytes;
		ret = take_pipe();
		if (!ret)
			ret = splice_batch(page_pipes[k % nr_page_pipes], &iov, end, len);
		if (!ret) {
			a->bytes += len;
			left -= len;
		}
	}
	if (ret == -P_EPIPE && !had_sigpipe)
		sigpipe_take();
	if (ret || (a->flags & PARASITE_PAGES_CLOSE_PIPE))
		close_page_pipes();	/* on failure: EOF for the host's reads */
	return ret;
}

static int drain_fds(struct parasite_drain_fds *a)
{
	uint32_t i, n;
	int ret;

	for (i = 0; i < a->nr_fds; i += n) {
		n = a->nr_fds - i;
		if (n > PARASITE_DRAIN_BATCH)
			n = PARASITE_DRAIN_BATCH;
		ret = std_send_fds(std_ctl_sock(), &a->fds[i], n);
		if (ret) {
			pie_err("cannot send fds %d..: %d", a->fds[i], ret);
			return ret;
		}
	}
	return 0;
}

int parasite_daemon_cmd(unsigned int cmd, void *args)
{
	switch (cmd) {
	case PARASITE_CMD_DUMP_MISC:
		return dump_misc(args);
	case PARASITE_CMD_SET_PAGE_PIPES:
		return set_page_pipes(args);
	case PARASITE_CMD_DUMP_PAGES:
		return dump_pages(args);
	case PARASITE_CMD_DRAIN_FDS:
		return drain_fds(args);
	}
	return -P_EINVAL;
}

void parasite_daemon_fini(void)
{
	close_page_pipes();
}
