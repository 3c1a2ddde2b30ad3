/*
 * epoll (file_entry.epoll): its targets from fdinfo "tfd:" lines (fd number in the task, events,
 * data). Restored at stage 1, once every other descriptor of the task is in place: the targets
 * are added back by their fd numbers.
 */
#define LOG_PREFIX "epoll: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#define EPOLL_FDINFO_MAX	(1 << 20)

/* ================================= dump side ================================= */

static bool epoll_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[eventpoll]");
}

struct epoll_tfd {
	int fd;
	unsigned int events;
	unsigned long long data, ino;
};

/*
 * Non-logging: the targets of fdinfo text @buf, at most @max into @t; returns their number or
 * -E2BIG.
 */
static int epoll_parse(const char *buf, struct epoll_tfd *t, int max)
{
	const char *s = buf;
	int n = 0;

	while ((s = strstr(s, "tfd:"))) {
		struct epoll_tfd e = { 0 };
		const char *ino;

		if (sscanf(s, "tfd: %d events: %x data: %llx", &e.fd, &e.events, &e.data) != 3)
			return -EINVAL;
		ino = strstr(s, "ino:");
		if (ino && ino < strchrnul(s, '\n'))
			e.ino = strtoull(ino + 4, NULL, 16);
		if (n == max)
			return -E2BIG;
		t[n++] = e;
		s += 4;
	}
	return n;
}

/* The targets of epoll @p into *@ret_t (malloc'ed); returns their number. Logging. */
static int epoll_targets(const struct fd_parms *p, struct epoll_tfd **ret_t)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ struct epoll_tfd *t = NULL;
	size_t len = 4096;
	int ret, n;

	for (;;) {
		free(buf);
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		ret = fdinfo_read(p->pid, p->fd, buf, len);
		if (ret != -E2BIG || len >= EPOLL_FDINFO_MAX)
			break;
		len *= 4;
	}
	if (ret < 0)
		return pr_err_ret(ret, "epoll %d of task %d: cannot read its fdinfo", p->fd, p->pid);
	n = ret / 16 + 1;	/* a line is longer than 16 bytes */
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	n = epoll_parse(buf, t, n);
	if (n < 0)
		return pr_err_ret(n, "epoll %d of task %d: cannot parse its targets", p->fd,
				  p->pid);
	*ret_t = TAKE_PTR(t);
	return n;
}

/* Every target must still be the file at its fd number, and not an epoll itself. */
static int epoll_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	_cleanup_free_ struct epoll_tfd *t = NULL;
	char path[64], link[64];
	struct stat st;
	int n, i;

	(void)dc;
	n = epoll_targets(p, &t);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, t[i].fd);
		if (stat(path, &st) < 0 || (t[i].ino && st.st_ino != t[i].ino)) {
			pr_err("epoll %d of task %d watches a file no longer open as fd %d: "
			       "not supported", p->fd, p->pid, t[i].fd);
			return -EOPNOTSUPP;
		}
		snprintf(path, sizeof(path), "fd/%d", t[i].fd);
		if (proc_readlink(p->pid, path, link, sizeof(link)) > 0 &&
		    !strcmp(link, "anon_inode:[eventpoll]")) {
			pr_err("epoll %d of task %d watches epoll %d: nested epoll is not supported",
			       p->fd, p->pid, t[i].fd);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

static int epoll_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
		      struct cr_img *img)
{
	_cleanup_free_ struct epoll_tfd *t = NULL;
	_cleanup_free_ EpollTfdEntry *te = NULL;
	_cleanup_free_ EpollTfdEntry **tp = NULL;
	EpollEntry e = EPOLL_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	int n, i, ret;

	(void)dc;
	n = epoll_targets(p, &t);
	if (n < 0)
		return n;
	te = calloc(n ? n : 1, sizeof(*te));
	tp = calloc(n ? n : 1, sizeof(*tp));
	if (!te || !tp)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		epoll_tfd_entry__init(&te[i]);
		te[i].tfd = (uint32_t)t[i].fd;
		te[i].events = t[i].events;
		te[i].data = t[i].data;
		te[i].has_ino = true;
		te[i].ino = t[i].ino;
		tp[i] = &te[i];
	}
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	e.n_tfds = (size_t)n;
	e.tfds = tp;
	fe.type = FD_TYPES__EVENTPOLL;
	fe.id = id;
	fe.epoll = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: epoll with %d targets", p->fd, n);
	return 0;
}

/* ================================ restore side =============================== */

static int epoll_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	size_t i, j;

	if (!fe->epoll) {
		pr_err("%s: file %u has no epoll entry", what, fe->id);
		return -EBADMSG;
	}
	for (i = 0; i < fe->epoll->n_tfds; i++) {
		for (j = 0; j < c->nr_fds && c->fds[j]->fd != fe->epoll->tfds[i]->tfd; j++)
			;
		if (j == c->nr_fds) {
			pr_err("%s: epoll target fd %u is not a descriptor of task %d", what,
			       fe->epoll->tfds[i]->tfd, c->pid);
			return -EBADMSG;
		}
	}
	return 0;
}

static int epoll_open(struct rst_files *rf, struct rst_file *f)
{
	const EpollEntry *e = f->fe->epoll;
	struct epoll_event ev;
	size_t i;
	int fd, err;

	fd = epoll_create1(EPOLL_CLOEXEC);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "epoll %u: cannot create it: %m", e->id);
	for (i = 0; i < e->n_tfds; i++) {
		ev.events = e->tfds[i]->events;
		ev.data.u64 = e->tfds[i]->data;
		if (epoll_ctl(fd, EPOLL_CTL_ADD, (int)e->tfds[i]->tfd, &ev) < 0) {
			err = rst_task_err(rf->t, -errno, "epoll %u: cannot add fd %u: %m", e->id,
					   e->tfds[i]->tfd);
			close(fd);
			return err;
		}
	}
	if ((e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		err = rst_task_err(rf->t, -errno, "epoll %u: cannot set O_NONBLOCK: %m", e->id);
		close(fd);
		return err;
	}
	return fd;
}

const struct res_ops epoll_ops = {
	.name		= "epoll",
	.fd_type	= FD_TYPES__EVENTPOLL,
	.match		= epoll_match,
	.can_dump	= epoll_can_dump,
	.dump		= epoll_dump,
	.stage		= 1,
	.check		= epoll_check,
	.open		= epoll_open,
};
