/*
 * Unix sockets (file_entry.usk: UnixSkEntry): stream, datagram and seqpacket.
 *
 * Dump: sock_diag tells the name, the peer, the queued connections of a listener (icons) and
 * the shutdown state; criu's copy of the socket (files_drain()) gives the options and the
 * receive queue, peeked message by message with SO_PEEK_OFF (MSG_PEEK: nothing is consumed,
 * datagram and seqpacket boundaries are kept; the offset is put back afterwards). Files in
 * flight (SCM_RIGHTS) come to criu with the peek: one the task has open gets its entry's id,
 * a regular file gets a REG entry of its own, one of a task dumped before gets that task's
 * entry, anything else is refused. A socket connected to a socket outside the dumped tree is
 * refused, but for a datagram socket connected to a bound name with --ext-unix-sk; peers,
 * queued clients and listeners in other tasks of the tree are fine (sock_diag names the peer
 * inode, found among the tree's fds). Connections queued on a listener whose client already
 * sent data can only be read by accepting them: criu accepts them from its copy of the
 * listener while writing the images (refused with --leave-running, which must leave the task
 * untouched: an accepted connection cannot be queued again).
 *
 * Restore, in the task: the first unix entry's .prepare creates every unix socket of the task
 * (kept above the task's fds): mutual peers with socketpair() (an accepted socket whose
 * listener is restored too: connected to it and accepted, so it has its name again), bound
 * sockets bind() the same name (a socket file left by the dumped socket is removed first),
 * listeners listen() with the same backlog and get their queued connections by connect()s in
 * the same order; a socket whose peer was closed gets a temporary peer that sends its data
 * and is closed. Out-of-band data, relative names and unix sockets in flight that the task does
 * not hold are refused at dump time. The first unix entry's .post_open refills every receive
 * queue from the peer side, message by message with the files in flight, and applies the
 * shutdown states.
 * Across tasks (.linked, files.h): a socket, its peer, a listener, the clients queued on it and
 * the sockets accepted from it are restored together by the first task of the tree holding
 * one of them, exactly as if it held them all; the other tasks take theirs from it.
 * Each message is queued again as its sender (SCM_CREDENTIALS: the pid, uid and gid the kernel
 * recorded, which a receiver with SO_PASSCRED reads; the restoring task is still root, so
 * without them every message would come from root). A sender that had exited leaves the pid of
 * the task restoring the queue.
 * Messages received by a bound datagram socket are resent from a temporary unbound socket: the
 * sender's address is not kept.
 */
#define LOG_PREFIX "sk-unix: "
#include "res/files.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "core/sock-diag.h"
#include "opts.h"
#include "images/fdinfo.pb-c.h"

#define PEEK_BUF	(4 << 20)	/* the largest message we read (MSG_TRUNC is refused) */
#define MAX_SCM_FDS	253		/* SCM_MAX_FD */
#define MAX_QUEUED	(1 << 20)	/* messages of one queue, at most */
#define SHUT_RCV_BIT	1
#define SHUT_SEND_BIT	2

/* ================================= dump side ================================= */

static bool unix_sk_match(const struct fd_parms *p)
{
	char path[64], proto[32];
	ssize_t n;

	if (!S_ISSOCK(p->st.st_mode))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, p->fd);
	n = getxattr(path, "system.sockprotoname", proto, sizeof(proto) - 1);
	if (n <= 0)
		return false;
	proto[n] = '\0';
	return !strncmp(proto, "UNIX", 4);
}

/* Is the socket of inode @ino one of the fds of task @pid? */
static bool pid_has_socket(pid_t pid, uint32_t ino)
{
	_cleanup_free_ int *fds = NULL;
	char what[32], link[64], want[32];
	int nr, i;

	snprintf(want, sizeof(want), "socket:[%u]", ino);
	nr = proc_list_fds(pid, &fds);
	for (i = 0; i < nr; i++) {
		snprintf(what, sizeof(what), "fd/%d", fds[i]);
		if (proc_readlink(pid, what, link, sizeof(link)) >= 0 && !strcmp(link, want))
			return true;
	}
	return false;
}

static bool task_has_socket(struct dump_ctx *dc, uint32_t ino)
{
	return pid_has_socket(dc->pid, ino);
}

/* Another task of the tree with the socket @ino, or 0. */
static pid_t tree_task_of_socket(struct dump_ctx *dc, uint32_t ino)
{
	_cleanup_free_ pid_t *pids = NULL;
	int nr, i;

	nr = files_tree_other_tasks(dc, &pids);
	for (i = 0; i < nr; i++)
		if (pid_has_socket(pids[i], ino))
			return pids[i];
	return 0;
}

/* Is @ino a socket criu has open (a queued connection unix_sk_dump_icons() accepted)? */
static bool criu_has_socket(uint32_t ino)
{
	char path[300], link[64], want[32];
	struct dirent *de;
	bool ret = false;
	DIR *d;
	ssize_t n;

	snprintf(want, sizeof(want), "socket:[%u]", ino);
	d = opendir("/proc/self/fd");
	if (!d)
		return false;
	while (!ret && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			ret = !strcmp(link, want);
		}
	}
	closedir(d);
	return ret;
}

/*
 * Does any task of the system hold the socket @ino as an fd? (Error path only: it reads every
 * task's fd table.) A socket none holds lives only inside a queued message (SCM_RIGHTS).
 */
static bool any_task_has_socket(uint32_t ino)
{
	struct dirent *de;
	bool ret = false;
	DIR *d;
	char *end;
	long pid;

	d = opendir("/proc");
	if (!d)
		return true;
	while (!ret && (de = readdir(d))) {
		pid = strtol(de->d_name, &end, 10);
		if (pid > 0 && !*end)
			ret = pid_has_socket((pid_t)pid, ino);
	}
	closedir(d);
	return ret;
}

/* Is the client @ino's connection queued on a listening socket of task @pid? */
static bool pid_has_listener_of(pid_t pid, uint32_t ino)
{
	_cleanup_free_ int *fds = NULL;
	char what[32], link[64];
	struct unix_diag l;
	bool ret = false;
	int nr, j;
	size_t i;

	nr = proc_list_fds(pid, &fds);
	for (j = 0; j < nr && !ret; j++) {
		snprintf(what, sizeof(what), "fd/%d", fds[j]);
		if (proc_readlink(pid, what, link, sizeof(link)) < 0 ||
		    strncmp(link, "socket:[", 8))
			continue;
		if (sock_diag_unix(pid, (uint32_t)strtoul(link + 8, NULL, 10), &l) < 0)
			continue;
		for (i = 0; l.state == TCP_LISTEN && i < l.nr_icons; i++)
			if (l.icons[i] == ino)
				ret = true;
		unix_diag_release(&l);
	}
	return ret;
}

/* ... on a listening socket of any task of the tree? */
static bool tree_has_listener_of(struct dump_ctx *dc, uint32_t ino)
{
	_cleanup_free_ pid_t *pids = NULL;
	int nr, i;

	if (pid_has_listener_of(dc->pid, ino))
		return true;
	nr = files_tree_other_tasks(dc, &pids);
	for (i = 0; i < nr; i++)
		if (pid_has_listener_of(pids[i], ino))
			return true;
	return false;
}

/* Is @ino a socket of the dumped tree (this task or another)? */
static bool tree_has_socket(struct dump_ctx *dc, uint32_t ino)
{
	return task_has_socket(dc, ino) || tree_task_of_socket(dc, ino);
}

static int unix_sk_diag(const struct fd_parms *p, struct unix_diag *u)
{
	int ret = sock_diag_unix(p->pid, (uint32_t)p->st.st_ino, u);

	if (ret == -ENOENT)
		pr_err("fd %d of task %d: unix socket %lu is unknown to sock_diag in its network "
		       "namespace",
		       p->fd, p->pid, (unsigned long)p->st.st_ino);
	else if (ret < 0)
		pr_err("fd %d of task %d: sock_diag of unix socket %lu failed: %s", p->fd, p->pid,
		       (unsigned long)p->st.st_ino, strerror(-ret));
	return ret;
}

static int unix_sk_check_peer(struct dump_ctx *dc, const struct fd_parms *p,
			      const struct unix_diag *u)
{
	struct unix_diag peer = { 0 };
	bool named;

	if (u->has_peer && !u->peer) {
		/* its connection is queued on a listener, not accepted yet */
		if (tree_has_listener_of(dc, u->ino))
			return 0;
		if (u->type == SOCK_DGRAM || u->shutdown == (SHUT_RCV_BIT | SHUT_SEND_BIT))
			return 0;	/* the peer was closed */
		pr_err("fd %d of task %d: unix socket %u is connected to a listener outside the "
		       "dumped tree (not accepted yet)", p->fd, p->pid, u->ino);
		return -EOPNOTSUPP;
	}
	/* a peer in another task: restored by one of the two tasks, taken by the other */
	if (!u->peer || tree_has_socket(dc, u->peer))
		return 0;
	/* a queued connection of a listener dumped before: criu accepted it to read it */
	if (criu_has_socket(u->peer))
		return 0;
	named = sock_diag_unix(p->pid, u->peer, &peer) == 0 && peer.namelen > 0;
	unix_diag_release(&peer);
	if (u->type == SOCK_DGRAM && named && dc->opts->ext_unix_sk)
		return 0;
	if (!any_task_has_socket(u->peer)) {
		pr_err("fd %d of task %d: unix socket %u is connected to socket %u that no task "
		       "holds (in flight inside a queued message, SCM_RIGHTS): not supported",
		       p->fd, p->pid, u->ino, u->peer);
		return -EOPNOTSUPP;
	}
	pr_err("fd %d of task %d: unix socket %u is connected to socket %u outside the dumped "
	       "tree%s", p->fd, p->pid, u->ino, u->peer,
	       u->type != SOCK_DGRAM ? "" : named ? " (--ext-unix-sk reconnects it by name)" :
	       " (not bound to a name: cannot be reconnected)");
	return -EOPNOTSUPP;
}

/*
 * The connections queued on listener @u: their clients must be the tree's, or closed. Has one
 * of them data (a closed client: maybe)?
 */
static int unix_sk_check_icons(struct dump_ctx *dc, const struct fd_parms *p,
			       const struct unix_diag *u, bool *ret_data)
{
	struct unix_diag c;
	size_t i;

	*ret_data = false;
	for (i = 0; i < u->nr_icons; i++) {
		if (!u->icons[i]) {
			*ret_data = true;
			continue;
		}
		if (!tree_has_socket(dc, u->icons[i])) {
			pr_err("fd %d of task %d: listening unix socket %u has a queued connection "
			       "from socket %u outside the dumped tree", p->fd, p->pid, u->ino,
			       u->icons[i]);
			return -EOPNOTSUPP;
		}
		if (sock_diag_unix(p->pid, u->icons[i], &c) == 0) {
			*ret_data = *ret_data || c.wqlen;	/* sent, not read yet */
			unix_diag_release(&c);
		}
	}
	return 0;
}

static int unix_sk_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	struct unix_diag u;
	bool data = false;
	int ret;

	ret = unix_sk_diag(p, &u);
	if (ret < 0)
		return ret;
	if (u.type != SOCK_STREAM && u.type != SOCK_DGRAM && u.type != SOCK_SEQPACKET) {
		pr_err("fd %d of task %d: unix socket %u of type %u: not supported", p->fd, p->pid,
		       u.ino, u.type);
		ret = -EOPNOTSUPP;
	}
	if (!ret && u.namelen && u.name[0] && u.name[0] != '/') {
		pr_err("fd %d of task %d: unix socket %u is bound to the relative name '%.*s': "
		       "not supported", p->fd, p->pid, u.ino, (int)u.namelen, u.name);
		ret = -EOPNOTSUPP;
	}
	if (!ret)
		ret = unix_sk_check_peer(dc, p, &u);
	if (!ret && u.state == TCP_LISTEN) {
		ret = unix_sk_check_icons(dc, p, &u, &data);
		if (!ret && data && dc->opts->leave_running) {
			pr_err("fd %d of task %d: listening unix socket %u has queued connections "
			       "with data: reading them needs accepting them, not done with "
			       "--leave-running", p->fd, p->pid, u.ino);
			ret = -EOPNOTSUPP;
		}
	}
	unix_diag_release(&u);
	return ret;
}

/* The FileEntry id of the file criu received as @fd in flight: 0 if not supported. */
static int unix_sk_inflight_id(struct dump_ctx *dc, int fd, uint32_t *ret_id)
{
	char path[64], link[PATH_MAX];
	struct stat st;
	ssize_t n;
	size_t j;
	long r;
	int i, fl, ret;

	for (i = 0; i < dc->nr_fds; i++) {
		r = syscall(SYS_kcmp, getpid(), dc->pid, KCMP_FILE, fd, dc->fds[i].fd);
		if (r == 0) {
			*ret_id = dc->fds[i].id;
			return 0;
		}
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	/* a file of a task dumped before (the sender of a message to a socket in this one) */
	for (j = 0; dc->shared && j < dc->shared->nr_descs; j++) {
		const struct dump_desc *d = &dc->shared->descs[j];

		if (d->pid == dc->pid || d->dev != (uint64_t)st.st_dev ||
		    d->ino != (uint64_t)st.st_ino)
			continue;
		if (syscall(SYS_kcmp, getpid(), d->pid, KCMP_FILE, fd, d->fd) == 0) {
			*ret_id = d->id;
			return 0;
		}
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	if (!S_ISREG(st.st_mode) || link[0] != '/' || strstr(link, " (deleted)") ||
	    !strncmp(link, "/memfd:", 7)) {
		pr_err("task %d: '%s' in flight in a unix socket (SCM_RIGHTS): only regular files "
		       "and the task's own files are supported", dc->pid, link);
		return -EOPNOTSUPP;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	ret = reg_file_add(&dc->files, link, &st, (uint32_t)fl & ~O_CLOEXEC,
			   (uint64_t)lseek(fd, 0, SEEK_CUR), ret_id);
	if (ret < 0)
		return ret;
	reg_file_get(&dc->files, *ret_id)->ops = &reg_file_ops;
	return 0;
}

/* The files in flight and the sender's credentials in the control messages of @m into @pk. */
static int unix_sk_scm(struct dump_ctx *dc, struct msghdr *m, SkPacket *pk)
{
	struct cmsghdr *c;
	int *fds, i, n, ret = 0;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			pk->has_pid = pk->has_uid = pk->has_gid = true;
			pk->pid = uc.pid > 0 ? (uint32_t)uc.pid : 0;
			if (uc.pid > 0 && kill(uc.pid, 0) && errno == ESRCH) {
				pr_warn("task %d: a queued unix message was sent by process %d, "
					"which exited: restored, it names the task restoring "
					"the queue as its sender (uid and gid are kept)",
					dc->pid, uc.pid);
				pk->pid = 0;
			}
			pk->uid = uc.uid;
			pk->gid = uc.gid;
			continue;
		}
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(c);
		pk->fds = realloc(pk->fds, (pk->n_fds + n) * sizeof(*pk->fds));
		if (!pk->fds)
			ret = -ENOMEM;
		for (i = 0; i < n; i++) {
			if (!ret)
				ret = unix_sk_inflight_id(dc, fds[i], &pk->fds[pk->n_fds++]);
			close(fds[i]);
		}
	}
	return ret;
}

/* Did @m carry files in flight? They are closed. */
static bool cmsg_close_rights(struct msghdr *m)
{
	struct cmsghdr *c;
	bool any = false;
	int *fds, i, n;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(c);
		for (i = 0; i < n; i++)
			close(fds[i]);
		any = true;
	}
	return any;
}

static void packets_free(SkPacket **q, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(q[i]->data.data);
		free(q[i]->fds);
		free(q[i]);
	}
	free(q);
}

/*
 * Peek the receive queue of @sk (criu's copy) message by message into *@ret_q (malloc'ed
 * packets, *@ret_n of them; free with packets_free()), each with the credentials the kernel
 * recorded for its sender (SO_PASSCRED on while peeking). @eof_possible: a read of 0 bytes may
 * be the end (a stream, or a socket shut down for reading), else it is a zero-length record.
 * SO_PEEK_OFF and SO_PASSCRED are put back as they were.
 */
static int unix_sk_peek(struct dump_ctx *dc, int sk, bool eof_possible, SkPacket ***ret_q,
			size_t *ret_n)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_SCM_FDS) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cbuf;
	_cleanup_free_ char *buf = NULL;
	SkPacket **q = NULL, *pk, **nq;
	int off = -1, zero = 0, one = 1, passcred = 0, ret = 0;
	socklen_t ol = sizeof(off), pl = sizeof(passcred);
	struct iovec iov;
	struct msghdr m;
	size_t n = 0;
	ssize_t len;

	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, &ol) < 0 ||
	    getsockopt(sk, SOL_SOCKET, SO_PASSCRED, &passcred, &pl) < 0)
		return -errno;
	buf = malloc(PEEK_BUF);
	if (!buf)
		return -ENOMEM;
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return -errno;
	if (!passcred && setsockopt(sk, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		ret = -errno;
		setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
		return ret;
	}
	for (;;) {
		memset(&m, 0, sizeof(m));
		iov.iov_base = buf;
		iov.iov_len = PEEK_BUF;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = cbuf.buf;
		m.msg_controllen = sizeof(cbuf.buf);
		len = recvmsg(sk, &m, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (len < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -errno;
			break;
		}
		if (len == 0 && eof_possible) {
			/*
			 * The end of a stream, or of a shut-down socket's queue; on a datagram or
			 * seqpacket socket also a zero-length record, which cannot be told apart:
			 * the saved queue ends there (files in flight with it: refused).
			 */
			if (cmsg_close_rights(&m)) {
				pr_err("task %d: a zero-length unix message with files in flight on a "
				       "shut-down socket: not supported", dc->pid);
				ret = -EOPNOTSUPP;
			}
			break;
		}
		/*
		 * else a zero-length record: peeked once, the next peek goes past it. One that
		 * was peeked before (MSG_PEEK by the task, an earlier dump -R) is skipped by
		 * every peek at an offset: not seen, not saved.
		 */
		if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			ret = -EMSGSIZE;
			break;
		}
		if (n == MAX_QUEUED) {
			ret = -E2BIG;	/* a queue the kernel would not hold: a peek going round */
			break;
		}
		nq = realloc(q, (n + 1) * sizeof(*q));
		pk = calloc(1, sizeof(*pk));
		if (nq)
			q = nq;
		if (!nq || !pk) {
			free(pk);
			ret = -ENOMEM;
			break;
		}
		sk_packet__init(pk);
		q[n++] = pk;
		pk->data.len = (size_t)len;
		pk->data.data = malloc(len ? (size_t)len : 1);
		if (!pk->data.data) {
			ret = -ENOMEM;
			break;
		}
		memcpy(pk->data.data, buf, (size_t)len);
		ret = unix_sk_scm(dc, &m, pk);
		if (ret < 0)
			break;
	}
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) < 0 && !ret)
		ret = -errno;
	if (!passcred && setsockopt(sk, SOL_SOCKET, SO_PASSCRED, &zero, sizeof(zero)) < 0 &&
	    !ret)
		ret = -errno;
	if (ret < 0) {
		packets_free(q, n);
		return ret;
	}
	*ret_q = q;
	*ret_n = n;
	return 0;
}

static int sockopt_int(int sk, int opt, uint32_t *ret)
{
	socklen_t l = sizeof(int);
	int v;

	if (getsockopt(sk, SOL_SOCKET, opt, &v, &l) < 0)
		return -errno;
	*ret = (uint32_t)v;
	return 0;
}

/*
 * The queued connections of listener @u, accepted from criu's copy @lfd in order: their
 * data (what the clients sent). Only done when one of them has data.
 */
static int unix_sk_dump_icons(struct dump_ctx *dc, const struct fd_parms *p,
			      const struct unix_diag *u, UnixSkEntry *ue)
{
	bool data = false;
	size_t i, n;
	int ret;

	ret = unix_sk_check_icons(dc, p, u, &data);
	if (ret < 0)
		return ret;
	ue->icons = calloc(u->nr_icons ? u->nr_icons : 1, sizeof(*ue->icons));
	if (!ue->icons)
		return -ENOMEM;
	for (i = 0; i < u->nr_icons; i++) {
		UnixSkEmbryo *em = calloc(1, sizeof(*em));

		if (!em)
			return -ENOMEM;
		unix_sk_embryo__init(em);
		ue->icons[ue->n_icons++] = em;
		em->peer = u->icons[i];
	}
	for (i = 0; data && i < ue->n_icons; i++) {
		/*
		 * Left open until criu exits: closing it with data unread would reset its
		 * client (ECONNRESET, shut down), which may be dumped after it.
		 */
		int a = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (a < 0)
			return pr_err_ret(-errno, "fd %d of task %d: cannot accept a queued "
					  "connection to read it", p->fd, p->pid);
		ret = unix_sk_peek(dc, a, true, &ue->icons[i]->queue, &n);
		if (ret < 0)
			return pr_err_ret(ret, "fd %d of task %d: cannot read a queued connection",
					  p->fd, p->pid);
		ue->icons[i]->n_queue = n;
	}
	if (data)
		pr_info("fd %d of task %d: %zu queued connections accepted by criu to read them",
			p->fd, p->pid, ue->n_icons);
	return 0;
}

/* Name, file and peer of @u into @ue. */
static int unix_sk_dump_name(struct dump_ctx *dc, const struct fd_parms *p,
			     const struct unix_diag *u, UnixSkEntry *ue)
{
	struct unix_diag peer = { 0 };
	struct stat st;

	if (u->namelen) {
		ue->has_name = true;
		ue->name.data = (uint8_t *)u->name;
		ue->name.len = u->namelen;	/* a path name: with its NUL */
	}
	if (u->has_vfs) {
		ue->has_vfs_ino = ue->has_vfs_dev = true;
		ue->vfs_ino = u->vfs_ino;
		ue->vfs_dev = u->vfs_dev;
		ue->has_name_deleted = true;
		ue->name_deleted = stat(u->name, &st) < 0 || st.st_ino != u->vfs_ino ||
				   st.st_dev != makedev(u->vfs_dev >> 20, u->vfs_dev & 0xfffff);
	}
	if (u->has_peer && !u->peer && !tree_has_listener_of(dc, u->ino)) {
		ue->has_peer_gone = true;	/* closed: no inode any more */
		ue->peer_gone = true;
	} else if (u->has_peer) {
		ue->has_peer = true;
		/* connected to a queued connection criu accepted: as it was before */
		ue->peer = u->peer;
		if (u->peer && criu_has_socket(u->peer) && !tree_has_socket(dc, u->peer))
			ue->peer = 0;
	} else if (u->state == TCP_ESTABLISHED && u->type != SOCK_DGRAM) {
		ue->has_peer_gone = true;
		ue->peer_gone = true;
	}
	if (u->peer && u->type == SOCK_DGRAM && sock_diag_unix(p->pid, u->peer, &peer) == 0) {
		/* maybe external: keep its name (only used when not in the images) */
		if (peer.namelen) {
			ue->has_peer_name = true;
			ue->peer_name.data = malloc(peer.namelen);
			if (!ue->peer_name.data) {
				unix_diag_release(&peer);
				return -ENOMEM;
			}
			memcpy(ue->peer_name.data, peer.name, peer.namelen);
			ue->peer_name.len = peer.namelen;
		}
		unix_diag_release(&peer);
	}
	(void)p;
	return 0;
}

static int unix_sk_dump_opts(const struct fd_parms *p, UnixSkEntry *ue)
{
	uint32_t v = 0;
	int ret;

	ret = sockopt_int(p->lfd, SO_SNDBUF, &ue->sndbuf);
	if (!ret)
		ret = sockopt_int(p->lfd, SO_RCVBUF, &ue->rcvbuf);
	ue->has_sndbuf = ue->has_rcvbuf = true;
	if (!ret)
		ret = sockopt_int(p->lfd, SO_PASSCRED, &v);
	ue->has_passcred = true;
	ue->passcred = v;
	if (!ret)
		ret = sockopt_int(p->lfd, SO_PASSSEC, &v);
	ue->has_passsec = true;
	ue->passsec = v;
	if (!ret)
		ret = sockopt_int(p->lfd, SO_PEEK_OFF, &v);
	ue->has_peek_off = true;
	ue->peek_off = (int32_t)v;
	if (ret < 0)
		return pr_err_ret(ret, "fd %d of task %d: cannot read its socket options", p->fd,
				  p->pid);
	return 0;
}

static void unix_sk_entry_free(UnixSkEntry *ue)
{
	size_t i;

	packets_free(ue->queue, ue->n_queue);
	for (i = 0; i < ue->n_icons; i++) {
		packets_free(ue->icons[i]->queue, ue->icons[i]->n_queue);
		free(ue->icons[i]);
	}
	free(ue->icons);
	free(ue->peer_name.data);
}

static int unix_sk_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			struct cr_img *img)
{
	UnixSkEntry ue = UNIX_SK_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	struct unix_diag u;
	size_t n = 0;
	char oob;
	int ret;

	ret = unix_sk_diag(p, &u);
	if (ret < 0)
		return ret;
	ue.id = id;
	ue.ino = u.ino;
	ue.type = u.type;
	ue.state = u.state;
	ue.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	ue.has_shutdown = true;
	ue.shutdown = u.shutdown;
	if (u.state == TCP_LISTEN) {
		ue.has_backlog = true;
		ue.backlog = u.wqlen;
	}
	ret = unix_sk_dump_name(dc, p, &u, &ue);
	if (!ret)
		ret = unix_sk_dump_opts(p, &ue);
	if (!ret && u.type == SOCK_STREAM && u.state != TCP_LISTEN &&
	    recv(p->lfd, &oob, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT) == 1) {
		pr_err("fd %d of task %d: unix socket %u has out-of-band data (MSG_OOB) pending: "
		       "not supported", p->fd, p->pid, u.ino);
		ret = -EOPNOTSUPP;
	}
	if (!ret && u.state != TCP_LISTEN) {
		ret = unix_sk_peek(dc, p->lfd, u.type == SOCK_STREAM || (u.shutdown & SHUT_RCV_BIT),
				   &ue.queue, &n);
		ue.n_queue = n;
		if (ret == -EMSGSIZE)
			pr_err("fd %d of task %d: a message queued in unix socket %u is larger "
			       "than %d bytes", p->fd, p->pid, u.ino, PEEK_BUF);
		else if (ret < 0)
			pr_err("fd %d of task %d: cannot read the queue of unix socket %u: %s",
			       p->fd, p->pid, u.ino, strerror(-ret));
	}
	if (!ret && u.state == TCP_LISTEN)
		ret = unix_sk_dump_icons(dc, p, &u, &ue);
	if (!ret) {
		fe.type = FD_TYPES__UNIXSK;
		fe.id = id;
		fe.usk = &ue;
		ret = img_write(img, &fe.base);
		if (ret < 0)
			pr_err("cannot write %s", img_error(img));
	}
	if (!ret)
		pr_debug("fd %d: unix socket %u type %u state %u peer %u, %zu messages queued",
			 p->fd, u.ino, u.type, u.state, u.peer, ue.n_queue);
	unix_sk_entry_free(&ue);
	unix_diag_release(&u);
	return ret;
}

/* ================================ restore side =============================== */

static int unix_sk_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const UnixSkEntry *ue = fe->usk;
	struct stat st;

	(void)c;
	if (!ue) {
		pr_err("%s: file %u has no unix socket entry", what, fe->id);
		return -EBADMSG;
	}
	if (ue->has_name && ue->name.len && ue->name.data[0] == '/' && ue->has_vfs_ino &&
	    !ue->name_deleted && stat((const char *)ue->name.data, &st) == 0 &&
	    (!S_ISSOCK(st.st_mode) || st.st_ino != ue->vfs_ino)) {
		pr_err("%s: the name '%.*s' of unix socket %u is taken by another file", what,
		       (int)ue->name.len, (const char *)ue->name.data, ue->ino);
		return -EADDRINUSE;
	}
	return 0;
}

static const UnixSkEntry *usk(const struct rst_file *f)
{
	return f->ops == &unix_sk_ops ? f->fe->usk : NULL;
}

/* The unix entry of the task whose socket had inode @ino, or NULL. */
static struct rst_file *usk_find(struct rst_files *rf, uint32_t ino)
{
	size_t i;

	for (i = 0; i < rf->nr; i++)
		if (rf->f[i].used && usk(&rf->f[i]) && usk(&rf->f[i])->ino == ino)
			return &rf->f[i];
	return NULL;
}

static socklen_t usk_addr(const ProtobufCBinaryData *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name->data, min(name->len, sizeof(a->sun_path)));
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name->len);
}

static bool usk_is_path(const UnixSkEntry *ue)
{
	return ue->has_name && ue->name.len && ue->name.data[0];
}

/* Options and O_NONBLOCK of the new socket @sk of @ue. */
static int usk_set_opts(struct rst_files *rf, const UnixSkEntry *ue, int sk)
{
	int v;

	if (ue->has_sndbuf && (v = (int)ue->sndbuf / 2) &&
	    setsockopt(sk, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(sk, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)))
		return rst_task_err(rf->t, -errno, "unix socket %u: SO_SNDBUF: %m", ue->ino);
	if (ue->has_rcvbuf && (v = (int)ue->rcvbuf / 2) &&
	    setsockopt(sk, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) &&
	    setsockopt(sk, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		return rst_task_err(rf->t, -errno, "unix socket %u: SO_RCVBUF: %m", ue->ino);
	v = ue->passcred;
	if (v && setsockopt(sk, SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)))
		return rst_task_err(rf->t, -errno, "unix socket %u: SO_PASSCRED: %m", ue->ino);
	v = ue->passsec;
	if (v && setsockopt(sk, SOL_SOCKET, SO_PASSSEC, &v, sizeof(v)))
		return rst_task_err(rf->t, -errno, "unix socket %u: SO_PASSSEC: %m", ue->ino);
	return 0;
}

/* Bind @sk to the name of @ue (removing the dumped socket's own file first). */
static int usk_bind(struct rst_files *rf, const UnixSkEntry *ue, int sk)
{
	struct sockaddr_un a;
	socklen_t len;
	struct stat st;

	if (!ue->has_name || !ue->name.len)
		return 0;
	len = usk_addr(&ue->name, &a);
	if (usk_is_path(ue) && ue->has_vfs_ino && stat(a.sun_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_ino == ue->vfs_ino && unlink(a.sun_path))
		return rst_task_err(rf->t, -errno, "cannot remove the old socket file '%s': %m",
				    a.sun_path);
	if (bind(sk, (struct sockaddr *)&a, len))
		return rst_task_err(rf->t, -errno, "unix socket %u: cannot bind to '%s%s': %m",
				    ue->ino, a.sun_path[0] ? "" : "@",
				    a.sun_path[0] ? a.sun_path : a.sun_path + 1);
	return 0;
}

static int usk_connect(struct rst_files *rf, const UnixSkEntry *ue, int sk,
		       const ProtobufCBinaryData *name)
{
	struct sockaddr_un a;
	socklen_t len = usk_addr(name, &a);

	if (connect(sk, (struct sockaddr *)&a, len))
		return rst_task_err(rf->t, -errno, "unix socket %u: cannot connect to '%s%s': %m",
				    ue->ino, a.sun_path[0] ? "" : "@",
				    a.sun_path[0] ? a.sun_path : a.sun_path + 1);
	return 0;
}

/* A new socket for @f, kept as f->aux: options set, bound unless @nobind. */
static int usk_new(struct rst_files *rf, struct rst_file *f, int sk, bool nobind)
{
	const UnixSkEntry *ue = usk(f);
	int ret;

	if (sk < 0)
		sk = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return rst_task_err(rf->t, -errno, "unix socket %u: socket(): %m", ue->ino);
	f->aux = rst_files_stash(rf, sk);
	if (f->aux < 0) {
		close(sk);
		return rst_task_err(rf->t, f->aux, "cannot move a socket up");
	}
	ret = usk_set_opts(rf, ue, f->aux);
	if (!ret && !nobind)
		ret = usk_bind(rf, ue, f->aux);
	return ret;
}

/*
 * The pid to send @pk as (SCM_CREDENTIALS): its sender's, when it exists. A sender of the tree
 * not created yet is waited for (every task is created before any waits for another's files);
 * one that exited (pid 0: the dump warned) leaves ours.
 */
static pid_t usk_sender_pid(const SkPacket *pk)
{
	struct timespec ms = { 0, 1000000 };
	pid_t pid = (pid_t)pk->pid;
	int i;

	if (!pk->has_pid || pid <= 0 || pid == getpid())
		return getpid();
	for (i = 0; i < 10000; i++) {
		if (kill(pid, 0) == 0 || errno == EPERM)
			return pid;
		if (!rst_files_tree_pid(pid))
			break;
		nanosleep(&ms, NULL);
	}
	return getpid();	/* gone since the dump */
}

/*
 * Send @q from @sk (to @to if not NULL), message by message with its files and as its sender
 * (SCM_CREDENTIALS: pid, uid and gid; the restoring task is still root).
 */
static int usk_send_queue(struct rst_files *rf, int sk, ProtobufCBinaryData *to,
			  SkPacket **q, size_t n, uint32_t ino)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_SCM_FDS) + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cbuf;
	struct ucred uc;
	struct sockaddr_un a;
	struct cmsghdr *c;
	struct msghdr m;
	struct iovec iov;
	struct rst_file *ff;
	int fds[MAX_SCM_FDS], nfd, ret = 0;
	size_t i, j;
	ssize_t s;

	for (i = 0; i < n && !ret; i++) {
		memset(&m, 0, sizeof(m));
		iov.iov_base = q[i]->data.data;
		iov.iov_len = q[i]->data.len;
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		if (to) {
			m.msg_name = &a;
			m.msg_namelen = usk_addr(to, &a);
		}
		nfd = 0;
		for (j = 0; j < q[i]->n_fds && j < MAX_SCM_FDS && !ret; j++) {
			ff = rst_files_find(rf, q[i]->fds[j]);
			if (ff && ff->fd >= 0) {
				fds[nfd++] = ff->fd;
				continue;
			}
			if (ff && ff->aux >= 0 && usk(ff)) {
				fds[nfd++] = ff->aux;
				continue;
			}
			fds[nfd] = -1;
			if (reg_file_find(rf->t->c, q[i]->fds[j]))
				fds[nfd] = reg_file_open(rf->t, reg_file_find(rf->t->c,
						q[i]->fds[j]), "a file in flight");
			if (fds[nfd] < 0)
				ret = fds[nfd] < -1 ? fds[nfd] :
				      rst_task_err(rf->t, -ENOENT, "unix socket %u: file %u in "
						   "flight cannot be opened", ino, q[i]->fds[j]);
			else
				fds[nfd++] |= 1 << 30;	/* ours: closed after sending */
		}
		memset(&cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf.buf;
		m.msg_controllen = (nfd ? CMSG_SPACE(sizeof(int) * nfd) : 0) +
				   (q[i]->has_uid ? CMSG_SPACE(sizeof(uc)) : 0);
		c = m.msg_controllen ? CMSG_FIRSTHDR(&m) : NULL;
		if (nfd) {
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
			for (j = 0; j < (size_t)nfd; j++)
				((int *)CMSG_DATA(c))[j] = fds[j] & ~(1 << 30);
			c = CMSG_NXTHDR(&m, c);
		}
		if (q[i]->has_uid) {
			uc.pid = usk_sender_pid(q[i]);
			uc.uid = q[i]->uid;
			uc.gid = q[i]->has_gid ? q[i]->gid : getgid();
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_CREDENTIALS;
			c->cmsg_len = CMSG_LEN(sizeof(uc));
			memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		}
		if (!m.msg_controllen)
			m.msg_control = NULL;
		if (!ret) {
			s = sendmsg(sk, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (s != (ssize_t)q[i]->data.len)
				ret = rst_task_err(rf->t, s < 0 ? -errno : -EIO, "unix socket %u: "
						   "cannot queue message %zu (%zu bytes): %m",
						   ino, i, q[i]->data.len);
		}
		for (j = 0; j < (size_t)nfd; j++)
			if (fds[j] & (1 << 30))
				close(fds[j] & ~(1 << 30));
	}
	return ret;
}

/* The listener of the task bound to @ue's name (an accepted socket's), or NULL. */
static struct rst_file *usk_listener_by_name(struct rst_files *rf, const UnixSkEntry *ue)
{
	const UnixSkEntry *o;
	size_t i;

	if (!ue->has_name || !ue->name.len)
		return NULL;
	for (i = 0; i < rf->nr; i++) {
		o = usk(&rf->f[i]);
		if (rf->f[i].used && o && o != ue && o->state == TCP_LISTEN && o->has_name &&
		    o->name.len == ue->name.len && !memcmp(o->name.data, ue->name.data,
							   o->name.len))
			return &rf->f[i];
	}
	return NULL;
}

/* A connected pair @f (maybe an accepted socket) and @p. */
static int usk_create_pair(struct rst_files *rf, struct rst_file *f, struct rst_file *p)
{
	const UnixSkEntry *ue = usk(f);
	struct rst_file *l, *acc = f, *cl = p;
	int sv[2], ret, a;

	l = usk_listener_by_name(rf, ue);
	if (!l) {
		acc = p;
		cl = f;
		l = usk_listener_by_name(rf, usk(p));
	}
	if (l && ue->type != SOCK_DGRAM) {
		/* accepted from a listener of the task: connect to it and accept */
		ret = usk_new(rf, cl, -1, false);
		if (!ret)
			ret = usk_connect(rf, usk(cl), cl->aux, &usk(l)->name);
		if (ret)
			return ret;
		a = accept4(l->aux, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0)
			return rst_task_err(rf->t, -errno, "unix socket %u: accept: %m",
					    usk(acc)->ino);
		return usk_new(rf, acc, a, true);
	}
	if (socketpair(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0, sv))
		return rst_task_err(rf->t, -errno, "unix socket %u: socketpair: %m", ue->ino);
	ret = usk_new(rf, f, sv[0], false);
	if (ret) {
		close(sv[1]);
		return ret;
	}
	return usk_new(rf, p, sv[1], false);
}

/* A stream whose peer was closed: a temporary peer sends the data and is closed. */
static int usk_create_orphan(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	int sv[2], ret;

	if (socketpair(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0, sv))
		return rst_task_err(rf->t, -errno, "unix socket %u: socketpair: %m", ue->ino);
	ret = usk_new(rf, f, sv[0], false);
	if (!ret)
		ret = usk_send_queue(rf, sv[1], NULL, ue->queue, ue->n_queue, ue->ino);
	close(sv[1]);
	return ret;
}

/* A listening socket, its queued connections not yet. */
static int usk_create_listener(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	int ret;

	ret = usk_new(rf, f, -1, false);
	if (!ret && listen(f->aux, (int)ue->backlog))
		ret = rst_task_err(rf->t, -errno, "unix socket %u: listen: %m", ue->ino);
	return ret;
}

/* The connections queued on listener @f, in order: clients of the task, or closed ones. */
static int usk_create_icons(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	const UnixSkEmbryo *em;
	struct rst_file *c;
	int ret = 0, tmp;
	size_t i;

	for (i = 0; !ret && i < ue->n_icons; i++) {
		em = ue->icons[i];
		c = em->peer ? usk_find(rf, em->peer) : NULL;
		if (c) {
			if (c->aux >= 0)
				return rst_task_err(rf->t, -EINVAL, "unix socket %u: created twice",
						    usk(c)->ino);
			ret = usk_new(rf, c, -1, false);
			if (!ret)
				ret = usk_connect(rf, usk(c), c->aux, &ue->name);
			continue;	/* its data is sent by .post_open */
		}
		/* the client was closed: a temporary one sends the data */
		tmp = socket(AF_UNIX, (int)ue->type | SOCK_CLOEXEC, 0);
		if (tmp < 0)
			return rst_task_err(rf->t, -errno, "unix socket %u: socket(): %m", ue->ino);
		ret = usk_connect(rf, ue, tmp, &ue->name);
		if (!ret)
			ret = usk_send_queue(rf, tmp, NULL, em->queue, em->n_queue, em->ino);
		close(tmp);
	}
	return ret;
}

/* The listener of the task on which the connection of client @ino is queued, or NULL. */
static struct rst_file *usk_icon_owner(struct rst_files *rf, uint32_t ino)
{
	const UnixSkEntry *l;
	size_t i, j;

	for (i = 0; i < rf->nr; i++) {
		l = usk(&rf->f[i]);
		for (j = 0; rf->f[i].used && l && l->state == TCP_LISTEN && j < l->n_icons; j++)
			if (l->icons[j]->peer == ino)
				return &rf->f[i];
	}
	return NULL;
}

/* Every socket but listeners and the clients of queued connections. */
static int usk_create(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	struct rst_file *p = ue->has_peer ? usk_find(rf, ue->peer) : NULL;
	int ret;

	if (f->aux >= 0 || ue->state == TCP_LISTEN)
		return 0;
	if (ue->has_peer && !ue->peer) {
		if (usk_icon_owner(rf, ue->ino))
			return 0;	/* usk_create_icons() */
		return rst_task_err(rf->t, -ENOENT, "unix socket %u: the listener it is queued "
				    "on is not in the images", ue->ino);
	}
	if (p && usk(p)->has_peer && usk(p)->peer == ue->ino)
		return usk_create_pair(rf, f, p);
	if (ue->peer_gone)
		return usk_create_orphan(rf, f);
	if (p) {
		/* a datagram socket connected to another one of the task */
		ret = usk_create(rf, p);
		if (!ret)
			ret = usk_new(rf, f, -1, false);
		return ret ? ret : usk_connect(rf, ue, f->aux, &usk(p)->name);
	}
	ret = usk_new(rf, f, -1, false);
	if (!ret && ue->has_peer && ue->has_peer_name)
		ret = usk_connect(rf, ue, f->aux, &ue->peer_name);	/* --ext-unix-sk */
	else if (!ret && ue->has_peer)
		ret = rst_task_err(rf->t, -ENOENT, "unix socket %u: its peer %u is not in the "
				   "images", ue->ino, ue->peer);
	return ret;
}

/*
 * Call @fn on every unix socket entry the task uses (only the listening ones if @listeners),
 * in order; stops at the first error and returns it.
 */
static int usk_for_each(struct rst_files *rf, bool listeners,
			int (*fn)(struct rst_files *rf, struct rst_file *f))
{
	size_t i;
	int ret;

	for (i = 0; i < rf->nr; i++) {
		if (!rf->f[i].used || !usk(&rf->f[i]))
			continue;
		if (listeners && usk(&rf->f[i])->state != TCP_LISTEN)
			continue;
		ret = fn(rf, &rf->f[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The first unix entry the task uses creates them all. */
static int unix_sk_prepare(struct rst_files *rf, struct rst_file *f)
{
	size_t i;
	int ret;

	for (i = 0; i < rf->nr && &rf->f[i] != f; i++)
		if (rf->f[i].used && usk(&rf->f[i]))
			return 0;
	ret = usk_for_each(rf, true, usk_create_listener);
	if (ret < 0)
		return ret;
	/* accepted sockets first: the listener's queue is empty while they are accepted */
	ret = usk_for_each(rf, false, usk_create);
	if (ret < 0)
		return ret;
	ret = usk_for_each(rf, true, usk_create_icons);
	if (ret < 0)
		return ret;
	for (i = 0; i < rf->nr; i++)
		if (rf->f[i].used && usk(&rf->f[i]) && rf->f[i].aux < 0)
			return rst_task_err(rf->t, -ENOENT, "unix socket %u was not created",
					    usk(&rf->f[i])->ino);
	return 0;
}

static int unix_sk_open(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	int fd;

	fd = fcntl(f->aux, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "unix socket %u: dup: %m", ue->ino);
	if (fcntl(fd, F_SETFL, ue->flags & O_NONBLOCK) < 0) {
		int err = rst_task_err(rf->t, -errno, "unix socket %u: F_SETFL: %m", ue->ino);

		close(fd);
		return err;
	}
	return fd;
}

/* Refill the receive queue of @f (and of the connections queued on it). */
static int usk_refill(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	struct rst_file *p = ue->has_peer ? usk_find(rf, ue->peer) : NULL, *c;
	ProtobufCBinaryData *to = NULL;
	size_t i;
	int tmp, ret;

	for (i = 0; i < ue->n_icons; i++) {
		c = ue->icons[i]->peer ? usk_find(rf, ue->icons[i]->peer) : NULL;
		if (!c)
			continue;	/* sent by the temporary client already */
		ret = usk_send_queue(rf, c->aux, NULL, ue->icons[i]->queue,
				     ue->icons[i]->n_queue, ue->icons[i]->ino);
		if (ret)
			return ret;
	}
	if (!ue->n_queue || ue->peer_gone)
		return 0;
	if (p && usk(p)->has_peer && usk(p)->peer == ue->ino)
		return usk_send_queue(rf, p->aux, NULL, ue->queue, ue->n_queue, ue->ino);
	if (ue->type != SOCK_DGRAM || !ue->has_name || !ue->name.len)
		return rst_task_err(rf->t, -EINVAL, "unix socket %u: no way to refill its queue",
				    ue->ino);
	tmp = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tmp < 0)
		return rst_task_err(rf->t, -errno, "socket(): %m");
	to = (ProtobufCBinaryData *)&ue->name;
	ret = usk_send_queue(rf, tmp, to, ue->queue, ue->n_queue, ue->ino);
	close(tmp);
	return ret;
}

static int usk_finish(struct rst_files *rf, struct rst_file *f)
{
	const UnixSkEntry *ue = usk(f);
	int how = -1, v;

	if (!ue->peer_gone && ue->has_shutdown) {
		if ((ue->shutdown & (SHUT_RCV_BIT | SHUT_SEND_BIT)) ==
		    (SHUT_RCV_BIT | SHUT_SEND_BIT))
			how = SHUT_RDWR;
		else if (ue->shutdown & SHUT_RCV_BIT)
			how = SHUT_RD;
		else if (ue->shutdown & SHUT_SEND_BIT)
			how = SHUT_WR;
	}
	if (how >= 0 && shutdown(f->aux, how) && errno != ENOTCONN)
		return rst_task_err(rf->t, -errno, "unix socket %u: shutdown: %m", ue->ino);
	if (usk_is_path(ue) && ue->name_deleted && unlink((const char *)ue->name.data) &&
	    errno != ENOENT)
		return rst_task_err(rf->t, -errno, "cannot remove '%s': %m",
				    (const char *)ue->name.data);
	v = ue->has_peek_off ? ue->peek_off : -1;
	if (v >= 0 && setsockopt(f->aux, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)))
		return rst_task_err(rf->t, -errno, "unix socket %u: SO_PEEK_OFF: %m", ue->ino);
	return 0;
}

/* The first unix entry the task uses refills every queue, then sets shutdown states. */
static int unix_sk_post_open(struct rst_files *rf, struct rst_file *f)
{
	size_t i;
	int ret;

	if (!f->used)
		return 0;	/* taken from the task that created it: restored there */
	for (i = 0; i < rf->nr && &rf->f[i] != f; i++)
		if (rf->f[i].used && usk(&rf->f[i]))
			return 0;
	ret = usk_for_each(rf, false, usk_refill);
	if (ret < 0)
		return ret;
	return usk_for_each(rf, false, usk_finish);
}

static bool usk_same_name(const UnixSkEntry *a, const UnixSkEntry *b)
{
	return a->has_name && b->has_name && a->name.len && a->name.len == b->name.len &&
	       !memcmp(a->name.data, b->name.data, a->name.len);
}

/*
 * Created by one task: a socket and its peer, a listener and the clients queued on it, a
 * listener and the sockets accepted from it (they have its name; connected to it and accepted
 * again on restore).
 */
static bool unix_sk_linked(const FileEntry *a, const FileEntry *b)
{
	const UnixSkEntry *x = a->usk, *y = b->usk;
	size_t i;

	if (!x || !y)
		return false;
	if (x->has_peer && x->peer && x->peer == y->ino)
		return true;
	if (x->state != TCP_LISTEN)
		return false;
	for (i = 0; i < x->n_icons; i++)
		if (x->icons[i]->peer && x->icons[i]->peer == y->ino)
			return true;
	return y->state != TCP_LISTEN && y->type == x->type && x->type != SOCK_DGRAM &&
	       usk_same_name(x, y);
}

const struct res_ops unix_sk_ops = {
	.name		= "unix socket",
	.fd_type	= FD_TYPES__UNIXSK,
	.match		= unix_sk_match,
	.need_lfd	= true,
	.can_dump	= unix_sk_can_dump,
	.dump		= unix_sk_dump,
	.check		= unix_sk_check,
	.prepare	= unix_sk_prepare,
	.open		= unix_sk_open,
	.post_open	= unix_sk_post_open,
	.linked		= unix_sk_linked,
};
