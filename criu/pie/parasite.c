/*
 * criu's parasite: runs inside the dumped task as a compel daemon (std plugin) and answers the
 * commands of include/proto/parasite.h. Freestanding: no libc.
 */
#include <stdint.h>
#include <linux/prctl.h>

#include "compel/plugins/std/std.h"
#include "proto/parasite.h"

#define P_EINVAL		22
#define P_EIO			5
#define P_EBADF			9
#define P_SPLICE_F_NONBLOCK	2
#define P_UIO_MAXIOV		1024

static int page_pipe = -1;

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
	return 0;
}

static int set_page_pipe(void)
{
	int fd = -1, ret;

	ret = std_recv_fds(std_ctl_sock(), &fd, 1);
	if (ret) {
		pie_err("cannot receive the page pipe: %d", ret);
		return ret;
	}
	if (page_pipe >= 0)
		sys_close(page_pipe);
	page_pipe = fd;
	return 0;
}

/*
 * vmsplice the ranges in order; a partial result moves on inside the range. The iovs are
 * consumed (struct parasite_iov has struct iovec's layout). Never blocks: a full pipe is
 * -EAGAIN, as the host sizes batches to the pipe.
 */
static int dump_pages(struct parasite_dump_pages *a)
{
	struct parasite_iov *iov = a->iovs;
	uint32_t i = 0, n;
	long r;

	a->bytes = 0;
	if (page_pipe < 0)
		return -P_EBADF;
	while (i < a->nr_iovs) {
		n = a->nr_iovs - i;
		if (n > P_UIO_MAXIOV)
			n = P_UIO_MAXIOV;
		r = sys_vmsplice(page_pipe, (const struct iovec *)&iov[i], n, P_SPLICE_F_NONBLOCK);
		if (r <= 0) {
			pie_err("vmsplice of %u ranges from %llx: %ld", n,
				(unsigned long long)iov[i].base, r);
			return r ? (int)r : -P_EIO;
		}
		a->bytes += (uint64_t)r;
		while (r > 0 && i < a->nr_iovs) {
			if ((uint64_t)r >= iov[i].len) {
				r -= (long)iov[i].len;
				i++;
			} else {
				iov[i].base += (uint64_t)r;
				iov[i].len -= (uint64_t)r;
				r = 0;
			}
		}
	}
	if (a->flags & PARASITE_PAGES_CLOSE_PIPE) {
		sys_close(page_pipe);
		page_pipe = -1;
	}
	return 0;
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
	case PARASITE_CMD_SET_PAGE_PIPE:
		return set_page_pipe();
	case PARASITE_CMD_DUMP_PAGES:
		return dump_pages(args);
	case PARASITE_CMD_DRAIN_FDS:
		return drain_fds(args);
	}
	return -P_EINVAL;
}

void parasite_daemon_fini(void)
{
	if (page_pipe >= 0)
		sys_close(page_pipe);
	page_pipe = -1;
}
