/*
 * inotify (file_entry.inotify): its watches from fdinfo ("inotify wd:..."), each turned into a
 * path at dump time through the kernel's file handle (open_by_handle_at() on the mount of the
 * watched inode: needs CAP_DAC_READ_SEARCH).
 * Restore: inotify_init1(), then each watch added again by path with the same watch descriptor:
 * the kernel hands wds out in increasing order (idr_alloc_cyclic), so watches are added in wd
 * order and any lower wd the kernel offers is removed and asked again. The IN_IGNORED events
 * of those removals are read off before the task gets the fd. Events queued at dump time are
 * not saved: such an instance is refused.
 */
#define LOG_PREFIX "inotify: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#define INOTIFY_FDINFO_MAX	(1 << 22)
#define INOTIFY_WD_MAX		(1 << 20)	/* highest wd restored by walking up to it */

/* ================================= dump side ================================= */

static bool inotify_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

struct inotify_wd {
	unsigned int wd, mask, ignored_mask, sdev, hbytes;
	int htype;
	unsigned long long ino;
	unsigned char handle[MAX_HANDLE_SZ];
	char path[4096];
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Non-logging: one "inotify wd:..." line at @s into @w. */
static int inotify_parse_line(const char *s, struct inotify_wd *w)
{
	const char *h;
	unsigned int i;
	int n = 0, hi, lo;

	if (sscanf(s, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x "
		   "fhandle-bytes:%x fhandle-type:%x f_handle:%n", &w->wd, &w->ino, &w->sdev,
		   &w->mask, &w->ignored_mask, &w->hbytes, (unsigned int *)&w->htype, &n) != 7 ||
	    !n)
		return -EINVAL;
	if (w->hbytes > MAX_HANDLE_SZ)
		return -E2BIG;
	h = s + n;
	for (i = 0; i < w->hbytes; i++) {
		hi = hexval(h[2 * i]);
		lo = hi < 0 ? -1 : hexval(h[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		w->handle[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* The mount fd of task @pid for the filesystem of kernel dev @sdev. Non-logging. */
static int inotify_mount_fd(pid_t pid, unsigned int sdev)
{
	_cleanup_free_ char *line = NULL;
	char path[4200], mnt[4096];
	unsigned int maj, min;
	size_t cap = 0;
	FILE *f;
	int fd = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, mnt) != 3)
			continue;
		if (maj != sdev >> 20 || min != (sdev & 0xfffff))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, mnt);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);	/* not O_PATH */
		if (fd >= 0)
			break;
		fd = -errno;
	}
	fclose(f);
	return fd;
}

/* The path of the watched inode of @w into w->path. Logging. */
static int inotify_resolve(const struct fd_parms *p, struct inotify_wd *w)
{
	_cleanup_close_ int mfd = -1, fd = -1;
	_cleanup_free_ struct file_handle *fh = NULL;
	struct stat st, pst;
	char link[64];
	ssize_t n;

	mfd = inotify_mount_fd(p->pid, w->sdev);
	if (mfd < 0) {
		/* not -ENOENT: files.c would take that for an fd closed meanwhile and drop it */
		pr_err("inotify %d of task %d: watch %u: no mount of device %u:%u to find it by",
		       p->fd, p->pid, w->wd, w->sdev >> 20, w->sdev & 0xfffff);
		return -EOPNOTSUPP;
	}
	fh = malloc(sizeof(*fh) + w->hbytes);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = w->hbytes;
	fh->handle_type = w->htype;
	memcpy(fh->f_handle, w->handle, w->hbytes);
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return pr_err_ret(-errno, "inotify %d of task %d: watch %u (inode %llu): "
				  "cannot open it by its handle", p->fd, p->pid, w->wd, w->ino);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, w->path, sizeof(w->path) - 1);
	if (n < 0)
		return pr_err_ret(-errno, "inotify %d of task %d: watch %u: readlink", p->fd, p->pid,
				  w->wd);
	w->path[n] = '\0';
	if (w->path[0] != '/' || strstr(w->path, " (deleted)")) {
		pr_err("inotify %d of task %d: watch %u is on '%s', which has no path: "
		       "not supported", p->fd, p->pid, w->wd, w->path);
		return -EOPNOTSUPP;
	}
	/* a path under a directory mounted over leads somewhere else: restore would watch that */
	if (fstat(fd, &st) || lstat(w->path, &pst) || st.st_ino != pst.st_ino ||
	    st.st_dev != pst.st_dev) {
		pr_err("inotify %d of task %d: watch %u: '%s' does not lead to the watched inode "
		       "(mounted over?): not supported", p->fd, p->pid, w->wd, w->path);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The watches of inotify @p, with their paths, into *@ret_w; returns their number. Logging. */
static int inotify_watches(const struct fd_parms *p, struct inotify_wd **ret_w)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ struct inotify_wd *w = NULL;
	const char *s;
	size_t len = 8192;
	int ret, n = 0, max;

	for (;;) {
		free(buf);
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		ret = fdinfo_read(p->pid, p->fd, buf, len);
		if (ret != -E2BIG || len >= INOTIFY_FDINFO_MAX)
			break;
		len *= 4;
	}
	if (ret < 0)
		return pr_err_ret(ret, "inotify %d of task %d: cannot read its fdinfo", p->fd,
				  p->pid);
	max = ret / 32 + 1;
	w = calloc(max, sizeof(*w));
	if (!w)
		return -ENOMEM;
	for (s = strstr(buf, "inotify wd:"); s; s = strstr(s + 1, "inotify wd:")) {
		if (n == max)
			return -E2BIG;
		ret = inotify_parse_line(s, &w[n]);
		if (ret < 0)
			return pr_err_ret(ret, "inotify %d of task %d: cannot parse a watch",
					  p->fd, p->pid);
		ret = inotify_resolve(p, &w[n]);
		if (ret < 0)
			return ret;
		n++;
	}
	*ret_w = TAKE_PTR(w);
	return n;
}

static int inotify_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	_cleanup_free_ struct inotify_wd *w = NULL;
	int n, i;

	(void)dc;
	n = inotify_watches(p, &w);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (w[i].wd > INOTIFY_WD_MAX) {
			pr_err("inotify %d of task %d: watch descriptor %u is too high to restore",
			       p->fd, p->pid, w[i].wd);
			return -EOPNOTSUPP;
		}
	return 0;
}

static int inotify_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			struct cr_img *img)
{
	_cleanup_free_ struct inotify_wd *w = NULL;
	_cleanup_free_ InotifyWdEntry *we = NULL;
	_cleanup_free_ InotifyWdEntry **wp = NULL;
	InotifyEntry e = INOTIFY_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	int n, i, ret, queued = 0;

	(void)dc;
	if (ioctl(p->lfd, FIONREAD, &queued) < 0)
		return pr_err_ret(-errno, "inotify %d of task %d: FIONREAD", p->fd, p->pid);
	if (queued) {
		pr_err("inotify %d of task %d has %d bytes of events queued: not supported yet",
		       p->fd, p->pid, queued);
		return -EOPNOTSUPP;
	}
	n = inotify_watches(p, &w);
	if (n < 0)
		return n;
	we = calloc(n ? n : 1, sizeof(*we));
	wp = calloc(n ? n : 1, sizeof(*wp));
	if (!we || !wp)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		inotify_wd_entry__init(&we[i]);
		we[i].wd = w[i].wd;
		we[i].mask = w[i].mask;
		we[i].has_ignored_mask = true;
		we[i].ignored_mask = w[i].ignored_mask;
		we[i].path = w[i].path;
		we[i].has_ino = true;
		we[i].ino = w[i].ino;
		we[i].has_s_dev = true;
		we[i].s_dev = w[i].sdev;
		wp[i] = &we[i];
		pr_debug("fd %d: watch %u on '%s' mask %#x", p->fd, w[i].wd, w[i].path, w[i].mask);
	}
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	e.n_wds = (size_t)n;
	e.wds = wp;
	fe.type = FD_TYPES__INOTIFY;
	fe.id = id;
	fe.inotify = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	return 0;
}

/* ================================ restore side =============================== */

static int inotify_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const InotifyEntry *e = fe->inotify;
	struct stat st;
	size_t i;

	(void)c;
	if (!e) {
		pr_err("%s: file %u has no inotify entry", what, fe->id);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_wds; i++) {
		if (e->wds[i]->wd == 0 || e->wds[i]->wd > INOTIFY_WD_MAX) {
			pr_err("%s: inotify %u: bad watch descriptor %u", what, fe->id,
			       e->wds[i]->wd);
			return -EBADMSG;
		}
		if (stat(e->wds[i]->path, &st) < 0)
			return pr_err_ret(-errno, "%s: inotify %u: watched path '%s' is gone", what,
					  fe->id, e->wds[i]->path);
	}
	return 0;
}

/* Read off every queued event (those of our own removals). */
static void inotify_drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int inotify_add(struct rst_files *rf, int fd, const InotifyWdEntry *w)
{
	uint32_t mask = w->mask & ~(IN_MASK_ADD | IN_MASK_CREATE);
	int wd;

	for (;;) {
		wd = inotify_add_watch(fd, w->path, mask);
		if (wd < 0)
			return rst_task_err(rf->t, -errno, "cannot watch '%s': %m", w->path);
		if ((uint32_t)wd == w->wd)
			return 0;
		if ((uint32_t)wd > w->wd)
			return rst_task_err(rf->t, -EBUSY, "watch of '%s': got wd %d, want %u",
					    w->path, wd, w->wd);
		inotify_rm_watch(fd, wd);
	}
}

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWdEntry *x = *(InotifyWdEntry *const *)a, *y = *(InotifyWdEntry *const *)b;

	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

/* Watches are added in wd order. Two watches on one inode cannot exist: each add is new. */
static int inotify_open(struct rst_files *rf, struct rst_file *f)
{
	const InotifyEntry *e = f->fe->inotify;
	size_t i;
	int fd, ret;

	/* the entry belongs to this task's copy of the images: sorting it in place is fine */
	qsort(e->wds, e->n_wds, sizeof(*e->wds), cmp_wd);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "inotify %u: cannot create it: %m", e->id);
	for (i = 0; i < e->n_wds; i++) {
		if (i && e->wds[i]->wd == e->wds[i - 1]->wd) {
			close(fd);
			return rst_task_err(rf->t, -EBADMSG, "inotify %u: wd %u twice", e->id,
					    e->wds[i]->wd);
		}
		ret = inotify_add(rf, fd, e->wds[i]);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	inotify_drain(fd);
	if (!(e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, 0) < 0) {
		ret = rst_task_err(rf->t, -errno, "inotify %u: cannot clear O_NONBLOCK: %m", e->id);
		close(fd);
		return ret;
	}
	return fd;
}

const struct res_ops inotify_ops = {
	.name		= "inotify",
	.fd_type	= FD_TYPES__INOTIFY,
	.match		= inotify_match,
	.need_lfd	= true,
	.can_dump	= inotify_can_dump,
	.dump		= inotify_dump,
	.check		= inotify_check,
	.open		= inotify_open,
};
