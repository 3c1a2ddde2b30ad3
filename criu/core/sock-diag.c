/* sock_diag netlink queries for AF_UNIX sockets: one exact lookup by inode. */
#include "core/sock-diag.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "common/cleanup.h"

#define DIAG_SHOW	(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | \
			 UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID)

static int unix_diag_attr(struct unix_diag *u, const struct nlattr *a, const void *d, size_t len)
{
	switch (a->nla_type) {
	case UNIX_DIAG_NAME:
		if (len > UNIX_NAME_MAX)
			return -EBADMSG;
		memcpy(u->name, d, len);
		u->namelen = len;
		break;
	case UNIX_DIAG_VFS:
		if (len < sizeof(struct unix_diag_vfs))
			return -EBADMSG;
		u->has_vfs = true;
		u->vfs_ino = ((const struct unix_diag_vfs *)d)->udiag_vfs_ino;
		u->vfs_dev = ((const struct unix_diag_vfs *)d)->udiag_vfs_dev;
		break;
	case UNIX_DIAG_PEER:
		if (len < 4)
			return -EBADMSG;
		memcpy(&u->peer, d, 4);
		u->has_peer = true;
		break;
	case UNIX_DIAG_ICONS:
		free(u->icons);
		u->nr_icons = len / 4;
		u->icons = malloc(len ? len : 1);
		if (!u->icons)
			return -ENOMEM;
		memcpy(u->icons, d, u->nr_icons * 4);
		break;
	case UNIX_DIAG_RQLEN:
		if (len < sizeof(struct unix_diag_rqlen))
			return -EBADMSG;
		u->rqlen = ((const struct unix_diag_rqlen *)d)->udiag_rqueue;
		u->wqlen = ((const struct unix_diag_rqlen *)d)->udiag_wqueue;
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len < 1)
			return -EBADMSG;
		u->shutdown = *(const uint8_t *)d;
		break;
	case UNIX_DIAG_UID:
		if (len < 4)
			return -EBADMSG;
		u->has_uid = true;
		memcpy(&u->uid, d, 4);
		break;
	}
	return 0;
}

static int unix_diag_parse(const struct nlmsghdr *h, struct unix_diag *u)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;
	size_t off, len;
	int ret;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	memset(u, 0, sizeof(*u));
	u->ino = m->udiag_ino;
	u->type = m->udiag_type;
	u->state = m->udiag_state;
	off = NLMSG_ALIGN(sizeof(*m));
	len = h->nlmsg_len - NLMSG_LENGTH(0);
	while (off + NLA_HDRLEN <= len) {
		a = (const void *)((const char *)m + off);
		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > len)
			break;
		ret = unix_diag_attr(u, a, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
		if (ret < 0) {
			unix_diag_release(u);
			return ret;
		}
		off += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

/* A sock_diag netlink socket in the network namespace of @pid (0: criu's). */
static int sock_diag_open(pid_t pid)
{
	_cleanup_close_ int self = -1, ns = -1;
	struct stat a, b;
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (!pid || stat(path, &a) < 0 || stat("/proc/self/ns/net", &b) < 0 ||
	    (a.st_ino == b.st_ino && a.st_dev == b.st_dev)) {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		return fd < 0 ? -errno : fd;
	}
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || ns < 0)
		return -errno;
	if (setns(ns, CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	err = errno;
	if (setns(self, CLONE_NEWNET) < 0) {
		err = errno;	/* cannot happen: our own namespace is held open */
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd < 0 ? -err : fd;
}

int sock_diag_unix(pid_t pid, uint32_t ino, struct unix_diag *ret)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = 1,
		},
		.r = {
			.sdiag_family = AF_UNIX,
			.udiag_states = ~0U,
			.udiag_ino = ino,
			.udiag_show = DIAG_SHOW,
			.udiag_cookie = { ~0U, ~0U },
		},
	};
	_cleanup_close_ int fd = -1;
	struct nlmsghdr *h;
	union {
		char buf[16384];
		struct nlmsghdr align;
	} u;
	ssize_t n;

	fd = sock_diag_open(pid);
	if (fd < 0)
		return fd;
	if (send(fd, &req, sizeof(req), 0) != sizeof(req))
		return -errno;
	n = recv(fd, u.buf, sizeof(u.buf), 0);
	if (n < 0)
		return -errno;
	for (h = &u.align; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			return e->error ? e->error : -ENOENT;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
			return unix_diag_parse(h, ret);
	}
	return -EBADMSG;
}

void unix_diag_release(struct unix_diag *u)
{
	free(u->icons);
	u->icons = NULL;
	u->nr_icons = 0;
}
