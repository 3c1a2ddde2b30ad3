/*
 * fanotify (file_entry.fanotify): a group's fanotify_init() flags and its marks, from fdinfo
 * ("fanotify flags:.. event-flags:.." and one "fanotify ..." line per mark). Each mark is kept
 * with a path it can be added again by:
 *  - an inode mark: the path of its inode, found by opening the kernel's file handle (kept in
 *    the image too) on a mount of the inode's filesystem (needs CAP_DAC_READ_SEARCH);
 *  - a mount mark: the mount point of that mount (mnt_id, from /proc/PID/mountinfo);
 *  - a filesystem mark: the mount point of a mount of that filesystem (sdev).
 * Every lookup goes through O_PATH files, which make no fanotify events (an open would queue one
 * in the very group being dumped), and a path is kept only if it leads criu back to the same
 * inode (and mount): marks on deleted or hidden (overmounted) objects are refused.
 *
 * Refused, with the task left running:
 *  - a group with events queued: they cannot be read without consuming them;
 *  - a permission-class group (FAN_CLASS_CONTENT, FAN_CLASS_PRE_CONTENT) with a mark asking for
 *    permission events: while the task is frozen every access to a marked file waits for its
 *    answer (criu's own accesses too), and events it has read but not answered yet could not be
 *    answered by the restored task. Permission-class groups without such marks are dumped;
 *  - mount namespace and user namespace marks (mnt_ns, user_ns_id lines).
 *
 * Restore: fanotify_init() with the recorded flags in .open (stage 0: an epoll may watch it),
 * then the marks in .post_open, oldest first, once every other descriptor of the task is open
 * (those opens must not be reported): the mask, then the ignored mask with its flags. The marks
 * are then read back from fdinfo and compared with the image: the kernel silently drops an
 * ignored mask that does not survive modification on a file open for writing.
 * Not carried over: what the restore does after .post_open (opening the cwd, the exe, shared
 * mappings; the other tasks of the tree) is reported to marks that cover it; a group made by an
 * unprivileged user comes back made by criu (root).
 */
#define LOG_PREFIX "fanotify: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE	0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE		0x00000400
#endif
#ifndef FAN_PRE_ACCESS
#define FAN_PRE_ACCESS		0x00100000
#endif

#define FANOTIFY_FDINFO_MAX	(1 << 24)
/* Events a permission-class group must answer. */
#define FANOTIFY_PERM_EVENTS	(FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM | \
				 FAN_PRE_ACCESS)
/* The mark flags fdinfo shows ("mflags"), which restore sets again. */
#define FANOTIFY_MFLAGS		(FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_EVICTABLE | \
				 FAN_MARK_IGNORE)

/* One mark of a group, as fdinfo shows it, and the path it is added again by. */
struct fan_mark {
	int kind;			/* FANOTIFY_MARK_KIND__FAN_* */
	unsigned int mflags, mask, ignored_mask;
	unsigned int sdev;		/* inode, filesystem: the kernel's major << 20 | minor */
	unsigned int mnt_id;		/* mount */
	unsigned long long ino;		/* inode */
	unsigned int hbytes;		/* inode: its file handle, 0: none shown */
	int htype;
	unsigned char handle[MAX_HANDLE_SZ];
	char path[PATH_MAX];		/* dump: filled by fan_resolve() */
};

/* A group: its "fanotify flags:" line and its marks, in fdinfo order (the newest first). */
struct fan_group {
	unsigned int flags, event_flags;
	struct fan_mark *marks;		/* owned */
	int nr;
};

static void fan_group_release(struct fan_group *g)
{
	free(g->marks);
	g->marks = NULL;
	g->nr = 0;
}

static const char *fan_kind_name(int kind)
{
	switch (kind) {
	case FANOTIFY_MARK_KIND__FAN_INODE:
		return "inode";
	case FANOTIFY_MARK_KIND__FAN_MOUNT:
		return "mount";
	case FANOTIFY_MARK_KIND__FAN_FILESYSTEM:
		return "filesystem";
	}
	return "unknown";
}

/* ============================ fdinfo (both sides) ============================ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Non-logging: " fhandle-bytes:.. fhandle-type:.. f_handle:HEX" at @s, if there, into @m. */
static int fan_parse_handle(const char *s, struct fan_mark *m)
{
	unsigned int i, type;
	int n = 0, hi, lo;

	if (strncmp(s, " fhandle-bytes:", 15))
		return 0;		/* the kernel could not encode one */
	if (sscanf(s, " fhandle-bytes:%x fhandle-type:%x f_handle:%n", &m->hbytes, &type,
		   &n) != 2 || !n)
		return -EINVAL;
	if (m->hbytes > MAX_HANDLE_SZ)
		return -E2BIG;
	m->htype = (int)type;
	s += n;
	for (i = 0; i < m->hbytes; i++) {
		hi = hexval(s[2 * i]);
		lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		m->handle[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Non-logging: one mark line @s (after "fanotify ") into @m. -EOPNOTSUPP: a kind of mark not
 * known here (mount or user namespace marks), -EINVAL: malformed.
 */
static int fan_parse_mark(const char *s, struct fan_mark *m)
{
	int n = 0;

	memset(m, 0, sizeof(*m));
	if (sscanf(s, "ino:%llx sdev:%x mflags:%x mask:%x ignored_mask:%x%n", &m->ino, &m->sdev,
		   &m->mflags, &m->mask, &m->ignored_mask, &n) == 5 && n) {
		m->kind = FANOTIFY_MARK_KIND__FAN_INODE;
		return fan_parse_handle(s + n, m);
	}
	if (sscanf(s, "mnt_id:%x mflags:%x mask:%x ignored_mask:%x", &m->mnt_id, &m->mflags,
		   &m->mask, &m->ignored_mask) == 4) {
		m->kind = FANOTIFY_MARK_KIND__FAN_MOUNT;
		return 0;
	}
	if (sscanf(s, "sdev:%x mflags:%x mask:%x ignored_mask:%x", &m->sdev, &m->mflags, &m->mask,
		   &m->ignored_mask) == 4) {
		m->kind = FANOTIFY_MARK_KIND__FAN_FILESYSTEM;
		return 0;
	}
	return strchr(s, ':') ? -EOPNOTSUPP : -EINVAL;
}

/*
 * Non-logging: the group of the fdinfo text @buf into @g (release with fan_group_release()).
 * On -EOPNOTSUPP *@ret_bad is the line of a mark of a kind not known here.
 */
static int fan_parse(const char *buf, struct fan_group *g, const char **ret_bad)
{
	const char *s;
	int max = 0, ret;
	bool head = false;

	memset(g, 0, sizeof(*g));
	for (s = strstr(buf, "fanotify "); s; s = strstr(s + 1, "fanotify "))
		max++;
	g->marks = calloc(max ? max : 1, sizeof(*g->marks));
	if (!g->marks)
		return -ENOMEM;
	for (s = buf; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL) {
		if (strncmp(s, "fanotify ", 9))
			continue;
		if (sscanf(s, "fanotify flags:%x event-flags:%x", &g->flags, &g->event_flags) == 2) {
			head = true;
			continue;
		}
		if (g->nr == max)
			return -EINVAL;
		ret = fan_parse_mark(s + 9, &g->marks[g->nr]);
		if (ret == -EOPNOTSUPP)
			*ret_bad = s;
		if (ret < 0)
			return ret;
		g->nr++;
	}
	return head ? 0 : -ENODATA;
}

/* Non-logging: the group of fd @fd of task @pid into @g; -EOPNOTSUPP as fan_parse(). */
static int fan_read(pid_t pid, int fd, struct fan_group *g, const char **ret_bad,
		    char **ret_buf)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 8192;
	int ret;

	memset(g, 0, sizeof(*g));
	for (;;) {
		free(buf);
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		ret = fdinfo_read(pid, fd, buf, len);
		if (ret != -E2BIG || len >= FANOTIFY_FDINFO_MAX)
			break;
		len *= 4;
	}
	if (ret < 0)
		return ret;
	ret = fan_parse(buf, g, ret_bad);
	if (ret < 0)
		fan_group_release(g);
	*ret_buf = TAKE_PTR(buf);	/* *ret_bad points into it */
	return ret;
}

/* ================================= dump side ================================= */

static bool fanotify_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[fanotify]");
}

/* One mount of /proc/PID/mountinfo. */
struct fan_mnt {
	unsigned int id, sdev;
	char mp[PATH_MAX];		/* its mount point, unescaped, in the task's root */
};

/* Undo the octal escapes (\040) of a mountinfo path. */
static void fan_unescape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	while (*s && n + 1 < len) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			out[n++] = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
}

/* Non-logging: the next mount of @f into @m; 1, or 0 at the end. */
static int fan_mnt_next(FILE *f, char **line, size_t *cap, struct fan_mnt *m)
{
	char raw[PATH_MAX];
	unsigned int maj, min;

	while (getline(line, cap, f) > 0) {
		if (sscanf(*line, "%u %*u %u:%u %*s %4095s", &m->id, &maj, &min, raw) != 4)
			continue;
		m->sdev = maj << 20 | min;
		fan_unescape(raw, m->mp, sizeof(m->mp));
		return 1;
	}
	return 0;
}

/* Non-logging: an O_PATH fd (no fanotify events) of mount point @mp of task @pid. */
static int fan_open_mp(pid_t pid, const char *mp)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, mp);
	fd = open(path, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static dev_t fan_dev(unsigned int sdev)
{
	return makedev(sdev >> 20, sdev & 0xfffff);
}

/* Non-logging: the mount id of @path (or of @fd if @path is ""). */
static int fan_mnt_id(int fd, const char *path, unsigned int *ret_id)
{
	struct statx stx;

	if (statx(fd, path, AT_SYMLINK_NOFOLLOW | (*path ? 0 : AT_EMPTY_PATH), STATX_MNT_ID,
		  &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*ret_id = (unsigned int)stx.stx_mnt_id;
	return 0;
}

/*
 * Non-logging: the path of @fd as criu sees it into @buf, if that path leads back to the same
 * inode (and, with @mnt_id, to that mount); -ENOENT otherwise.
 */
static int fan_fd_path(int fd, char *buf, size_t len, const unsigned int *mnt_id)
{
	struct stat a, b;
	unsigned int id;
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (buf[0] != '/' || fstat(fd, &a) < 0 || lstat(buf, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -ENOENT;
	if (mnt_id && (fan_mnt_id(AT_FDCWD, buf, &id) < 0 || id != *mnt_id))
		return -ENOENT;
	return 0;
}

/*
 * Non-logging: open the file handle of @m, O_PATH, on the mount of @mfd (O_PATH too). A mount
 * fd given to open_by_handle_at() must not be O_PATH, and opening one would make an event:
 * criu's cwd stands in for it for the call (AT_FDCWD).
 */
static int fan_open_handle(int mfd, const struct fan_mark *m)
{
	_cleanup_free_ struct file_handle *fh = NULL;
	_cleanup_close_ int cwd = -1;
	int fd, err;

	fh = malloc(sizeof(*fh) + m->hbytes);
	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = m->hbytes;
	fh->handle_type = m->htype;
	memcpy(fh->f_handle, m->handle, m->hbytes);
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return -errno;
	if (fchdir(mfd) < 0)
		return -errno;
	fd = open_by_handle_at(AT_FDCWD, fh, O_PATH | O_CLOEXEC);
	err = -errno;
	if (fchdir(cwd) < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd < 0 ? err : fd;
}

/* Non-logging: does @fd of mount @mt lead to the object of @m? Then its path is in m->path. */
static int fan_try_mount(int fd, const struct fan_mnt *mt, struct fan_mark *m)
{
	_cleanup_close_ int ifd = -1;
	unsigned int id;
	struct stat st;

	switch (m->kind) {
	case FANOTIFY_MARK_KIND__FAN_INODE:
		ifd = fan_open_handle(fd, m);
		if (ifd < 0)
			return ifd;
		if (fstat(ifd, &st) < 0)
			return -errno;
		if (st.st_dev != fan_dev(m->sdev) || st.st_ino != m->ino)
			return -ESTALE;
		return fan_fd_path(ifd, m->path, sizeof(m->path), NULL);
	case FANOTIFY_MARK_KIND__FAN_MOUNT:
		/* the mount itself, not one mounted over it in the task's view */
		if (fan_mnt_id(fd, "", &id) < 0 || id != m->mnt_id)
			return -ENOENT;
		return fan_fd_path(fd, m->path, sizeof(m->path), &m->mnt_id);
	case FANOTIFY_MARK_KIND__FAN_FILESYSTEM:
		if (fstat(fd, &st) < 0)
			return -errno;
		if (st.st_dev != fan_dev(m->sdev))
			return -ENOENT;
		return fan_fd_path(fd, m->path, sizeof(m->path), &mt->id);
	}
	return -EINVAL;
}

/* Non-logging: a path for @m through the mounts of task @pid (see fan_try_mount()). */
static int fan_resolve(pid_t pid, struct fan_mark *m)
{
	_cleanup_free_ char *line = NULL;
	char path[64];
	struct fan_mnt mt;
	size_t cap = 0;
	int fd, ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fan_mnt_next(f, &line, &cap, &mt)) {
		if (m->kind == FANOTIFY_MARK_KIND__FAN_MOUNT ? mt.id != m->mnt_id :
		    mt.sdev != m->sdev)
			continue;
		fd = fan_open_mp(pid, mt.mp);
		if (fd < 0) {
			ret = fd;
			continue;
		}
		ret = fan_try_mount(fd, &mt, m);
		close(fd);
		if (ret == 0 || ret == -ENOMEM)
			break;
	}
	fclose(f);
	return ret;
}

/* What @m is on, for messages. */
static const char *fan_mark_what(const struct fan_mark *m, char *buf, size_t len)
{
	switch (m->kind) {
	case FANOTIFY_MARK_KIND__FAN_INODE:
		snprintf(buf, len, "inode mark on inode %llu of device %u:%u", m->ino,
			 m->sdev >> 20, m->sdev & 0xfffff);
		break;
	case FANOTIFY_MARK_KIND__FAN_MOUNT:
		snprintf(buf, len, "mount mark on mount %u", m->mnt_id);
		break;
	default:
		snprintf(buf, len, "filesystem mark on device %u:%u", m->sdev >> 20,
			 m->sdev & 0xfffff);
	}
	return buf;
}

/* The group of @p with a path for every mark, or a refusal naming @p. Logging. */
static int fanotify_group(const struct fd_parms *p, struct fan_group *g)
{
	_cleanup_free_ char *buf = NULL;
	const char *bad = NULL;
	char what[128];
	int i, ret;

	ret = fan_read(p->pid, p->fd, g, &bad, &buf);
	if (ret == -EOPNOTSUPP) {
		pr_err("fanotify %d of task %d has a mark of a kind not supported yet: '%.*s'",
		       p->fd, p->pid, (int)strcspn(bad, "\n"), bad);
		return ret;
	}
	if (ret < 0)
		return pr_err_ret(ret, "fanotify %d of task %d: cannot read its fdinfo", p->fd,
				  p->pid);
	for (i = 0; i < g->nr; i++) {
		struct fan_mark *m = &g->marks[i];

		if ((g->flags & (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)) &&
		    (m->mask & FANOTIFY_PERM_EVENTS)) {
			pr_err("fanotify %d of task %d asks for permission events (%s, mask %#x): "
			       "not supported (accesses wait on the frozen task, unanswered events "
			       "cannot be carried over)", p->fd, p->pid,
			       fan_mark_what(m, what, sizeof(what)), m->mask);
			ret = -EOPNOTSUPP;
			break;
		}
		if (m->mflags & ~FANOTIFY_MFLAGS) {
			pr_err("fanotify %d of task %d: %s has mark flags %#x: not supported yet",
			       p->fd, p->pid, fan_mark_what(m, what, sizeof(what)), m->mflags);
			ret = -EOPNOTSUPP;
			break;
		}
		if (m->kind == FANOTIFY_MARK_KIND__FAN_INODE && !m->hbytes) {
			pr_err("fanotify %d of task %d: %s has no file handle: not supported",
			       p->fd, p->pid, fan_mark_what(m, what, sizeof(what)));
			ret = -EOPNOTSUPP;
			break;
		}
		ret = fan_resolve(p->pid, m);
		if (ret < 0) {
			pr_err("fanotify %d of task %d: %s has no path criu can reach (deleted or "
			       "mounted over?): %s", p->fd, p->pid,
			       fan_mark_what(m, what, sizeof(what)), strerror(-ret));
			ret = -EOPNOTSUPP;	/* a refusal; -ENOENT would read "fd closed" */
			break;
		}
		pr_debug("fd %d: %s mark on '%s' mask %#x ignored %#x mflags %#x", p->fd,
			 fan_kind_name(m->kind), m->path, m->mask, m->ignored_mask, m->mflags);
	}
	if (ret < 0)
		fan_group_release(g);
	return ret < 0 ? ret : 0;
}

/* Logging: refuse @p if events are queued in it (checked through @fd, a copy of it). */
static int fan_check_queue(const struct fd_parms *p, int fd)
{
	int queued = 0;

	if (ioctl(fd, FIONREAD, &queued) < 0)
		return pr_err_ret(-errno, "fanotify %d of task %d: FIONREAD", p->fd, p->pid);
	if (queued) {
		pr_err("fanotify %d of task %d has %d bytes of events queued: not supported "
		       "(reading them would consume them)", p->fd, p->pid, queued);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Non-logging: a copy of fd @fd of task @pid (pidfd_getfd()), or -errno. */
static int fan_getfd(pid_t pid, int fd)
{
	_cleanup_close_ int pidfd = -1;
	int nfd;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	nfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	return nfd < 0 ? -errno : nfd;
}

/* Before infection: the queue (again in .dump: events may come meanwhile) and the marks. */
static int fanotify_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	_cleanup_close_ int fd = -1;
	struct fan_group g;
	int ret;

	(void)dc;
	fd = fan_getfd(p->pid, p->fd);
	if (fd >= 0) {
		ret = fan_check_queue(p, fd);
		if (ret < 0)
			return ret;
	}
	ret = fanotify_group(p, &g);
	fan_group_release(&g);
	return ret;
}

static int fanotify_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			 struct cr_img *img)
{
	_cleanup_free_ FanotifyMarkEntry *me = NULL;
	_cleanup_free_ FanotifyMarkEntry **mp = NULL;
	FanotifyEntry e = FANOTIFY_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	struct fan_group g;
	int i, ret;

	(void)dc;
	ret = fan_check_queue(p, p->lfd);
	if (ret < 0)
		return ret;
	ret = fanotify_group(p, &g);
	if (ret < 0)
		return ret;
	me = calloc(g.nr ? g.nr : 1, sizeof(*me));
	mp = calloc(g.nr ? g.nr : 1, sizeof(*mp));
	if (!me || !mp) {
		fan_group_release(&g);
		return -ENOMEM;
	}
	for (i = 0; i < g.nr; i++) {
		const struct fan_mark *m = &g.marks[i];

		fanotify_mark_entry__init(&me[i]);
		me[i].kind = m->kind;
		me[i].mflags = m->mflags;
		me[i].mask = m->mask;
		me[i].ignored_mask = m->ignored_mask;
		me[i].path = (char *)m->path;
		if (m->kind != FANOTIFY_MARK_KIND__FAN_MOUNT) {
			me[i].has_s_dev = true;
			me[i].s_dev = m->sdev;
		}
		if (m->kind == FANOTIFY_MARK_KIND__FAN_MOUNT) {
			me[i].has_mnt_id = true;
			me[i].mnt_id = m->mnt_id;
		}
		if (m->kind == FANOTIFY_MARK_KIND__FAN_INODE) {
			me[i].has_ino = true;
			me[i].ino = m->ino;
			me[i].has_fhandle_type = true;
			me[i].fhandle_type = m->htype;
			me[i].has_fhandle = true;
			me[i].fhandle.len = m->hbytes;
			me[i].fhandle.data = (uint8_t *)m->handle;
		}
		mp[i] = &me[i];
	}
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	e.init_flags = g.flags;
	e.event_flags = g.event_flags;
	e.n_marks = (size_t)g.nr;
	e.marks = mp;
	fe.type = FD_TYPES__FANOTIFY;
	fe.id = id;
	fe.fanotify = &e;
	ret = img_write(img, &fe.base);
	fan_group_release(&g);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	return 0;
}

/* ================================ restore side =============================== */

static int fanotify_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const FanotifyEntry *e = fe->fanotify;
	struct statx stx;
	size_t i;

	(void)c;
	if (!e) {
		pr_err("%s: file %u has no fanotify entry", what, fe->id);
		return -EBADMSG;
	}
	for (i = 0; i < e->n_marks; i++) {
		const FanotifyMarkEntry *m = e->marks[i];

		if (m->kind < FANOTIFY_MARK_KIND__FAN_INODE ||
		    m->kind > FANOTIFY_MARK_KIND__FAN_FILESYSTEM || (!m->mask && !m->ignored_mask) ||
		    (m->mflags & ~FANOTIFY_MFLAGS)) {
			pr_err("%s: fanotify %u: bad mark %zu", what, fe->id, i);
			return -EBADMSG;
		}
		if (statx(AT_FDCWD, m->path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
			return pr_err_ret(-errno, "%s: fanotify %u: marked path '%s' is gone", what,
					  fe->id, m->path);
		if (m->kind == FANOTIFY_MARK_KIND__FAN_INODE)
			continue;
		if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		    !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
			pr_err("%s: fanotify %u: %s mark on '%s', which is no longer a mount point",
			       what, fe->id, fan_kind_name(m->kind), m->path);
			return -ENOENT;
		}
		if (m->has_s_dev && makedev(stx.stx_dev_major, stx.stx_dev_minor) !=
		    fan_dev(m->s_dev))
			pr_warn("%s: fanotify %u: '%s' is on device %u:%u, was %u:%u; marking it "
				"anyway", what, fe->id, m->path, stx.stx_dev_major,
				stx.stx_dev_minor, m->s_dev >> 20, m->s_dev & 0xfffff);
	}
	return 0;
}

static int fanotify_open(struct rst_files *rf, struct rst_file *f)
{
	const FanotifyEntry *e = f->fe->fanotify;
	int fd, fl, err;

	fd = fanotify_init(e->init_flags, e->event_flags);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "fanotify %u: cannot create it (flags %#x, "
				    "event flags %#x): %m", e->id, e->init_flags, e->event_flags);
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK) != (int)(e->flags & O_NONBLOCK))
		fl = fcntl(fd, F_SETFL, (fl & ~O_NONBLOCK) | (e->flags & O_NONBLOCK));
	if (fl < 0) {
		err = rst_task_err(rf->t, -errno, "fanotify %u: cannot set O_NONBLOCK: %m", e->id);
		close(fd);
		return err;
	}
	return fd;
}

static unsigned int fan_kind_flag(int kind)
{
	if (kind == FANOTIFY_MARK_KIND__FAN_MOUNT)
		return FAN_MARK_MOUNT;
	if (kind == FANOTIFY_MARK_KIND__FAN_FILESYSTEM)
		return FAN_MARK_FILESYSTEM;
	return FAN_MARK_INODE | FAN_MARK_DONT_FOLLOW;	/* the path is of the inode itself */
}

static int fan_mark_call(struct rst_files *rf, int fd, const FanotifyMarkEntry *m,
			 unsigned int flags, uint64_t mask)
{
	if (fanotify_mark(fd, flags | fan_kind_flag(m->kind), mask, AT_FDCWD, m->path) == 0)
		return 0;
	return rst_task_err(rf->t, -errno, "cannot add a fanotify %s mark on '%s' (flags %#x, "
			    "mask %#llx): %m", fan_kind_name(m->kind), m->path, flags,
			    (unsigned long long)mask);
}

/*
 * The mask, then the ignored mask with its flags. Flags of an ignored mask emptied since
 * (they stay on the mark) are set by adding a bit to it and removing it.
 */
static int fan_add_mark(struct rst_files *rf, int fd, const FanotifyMarkEntry *m)
{
	unsigned int add = FAN_MARK_ADD | (m->mflags & FAN_MARK_EVICTABLE);
	unsigned int ign = (m->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;
	unsigned int surv = m->mflags & FAN_MARK_IGNORED_SURV_MODIFY;
	int ret = 0;

	if (m->mask)
		ret = fan_mark_call(rf, fd, m, add, m->mask);
	if (!ret && m->ignored_mask)
		ret = fan_mark_call(rf, fd, m, add | ign | surv, m->ignored_mask);
	else if (!ret && m->mask && (m->mflags & (FAN_MARK_IGNORE | surv))) {
		ret = fan_mark_call(rf, fd, m, add | ign | surv, FAN_ACCESS);
		if (!ret)
			ret = fan_mark_call(rf, fd, m, FAN_MARK_REMOVE | ign, FAN_ACCESS);
	}
	return ret;
}

static bool fan_same_mark(const FanotifyMarkEntry *a, const struct fan_mark *b)
{
	return (int)a->kind == b->kind && a->mflags == b->mflags && a->mask == b->mask &&
	       a->ignored_mask == b->ignored_mask;
}

/*
 * The marks of @fd, as the kernel shows them now, are those of @e (an evictable mark may be gone
 * already: its inode was evicted).
 */
static int fan_verify(struct rst_files *rf, int fd, const FanotifyEntry *e)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ bool *seen = NULL;
	const char *bad = NULL;
	struct fan_group g;
	size_t i, found = 0;
	int j, ret;

	ret = fan_read(getpid(), fd, &g, &bad, &buf);
	if (ret < 0)
		return rst_task_err(rf->t, ret, "fanotify %u: cannot read its marks back: %s",
				    e->id, strerror(-ret));
	seen = calloc(g.nr ? g.nr : 1, sizeof(*seen));
	if (!seen) {
		fan_group_release(&g);
		return rst_task_err(rf->t, -ENOMEM, "out of memory");
	}
	for (i = 0; i < e->n_marks; i++) {
		for (j = 0; j < g.nr; j++)
			if (!seen[j] && fan_same_mark(e->marks[i], &g.marks[j]))
				break;
		if (j == g.nr && (e->marks[i]->mflags & FAN_MARK_EVICTABLE))
			continue;
		if (j == g.nr) {
			ret = rst_task_err(rf->t, -EIO, "fanotify %u: the %s mark on '%s' (mask "
					   "%#x, ignored %#x, flags %#x) did not come back as it was",
					   e->id, fan_kind_name(e->marks[i]->kind),
					   e->marks[i]->path, e->marks[i]->mask,
					   e->marks[i]->ignored_mask, e->marks[i]->mflags);
			break;
		}
		seen[j] = true;
		found++;
	}
	if (!ret && (size_t)g.nr != found)
		ret = rst_task_err(rf->t, -EIO, "fanotify %u: %d marks instead of %zu", e->id,
				   g.nr, found);
	fan_group_release(&g);
	return ret;
}

/* Once every descriptor is in: the marks, oldest first (fdinfo lists the newest first). */
static int fanotify_post_open(struct rst_files *rf, struct rst_file *f)
{
	const FanotifyEntry *e = f->fe->fanotify;
	size_t i;
	int ret;

	for (i = e->n_marks; i-- > 0;) {
		ret = fan_add_mark(rf, f->fd, e->marks[i]);
		if (ret < 0)
			return ret;
	}
	return fan_verify(rf, f->fd, e);
}

const struct res_ops fanotify_ops = {
	.name		= "fanotify",
	.fd_type	= FD_TYPES__FANOTIFY,
	.match		= fanotify_match,
	.need_lfd	= true,
	.can_dump	= fanotify_can_dump,
	.dump		= fanotify_dump,
	.check		= fanotify_check,
	.open		= fanotify_open,
	.post_open	= fanotify_post_open,
};
