/*
 * The descriptor table of a task (fdinfo-PID.img) and the registry of file kinds (files.h).
 *
 * Dump: list /proc/PID/fd, find the kind of each descriptor (the first .match of fd_kinds),
 * refuse what no kind handles before the task is infected, give descriptors sharing one open
 * file description one FileEntry (kcmp), fetch criu's copies of the fds the kinds need through
 * the parasite, and write files.img and fdinfo-PID.img.
 * Restore: see files_restore().
 */
#define LOG_PREFIX "files: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "core/parasite.h"
#include "opts.h"
#include "images/fdinfo.pb-c.h"

/* Every kind, most specific first: the first whose .match says yes takes a descriptor. */
static const struct res_ops *const fd_kinds[] = {
	&pipe_ops,
	&fifo_ops,
	&eventfd_ops,
	&signalfd_ops,
	&timerfd_ops,
	&epoll_ops,
	&inotify_ops,
	&fanotify_ops,
	&memfd_ops,
	&unix_sk_ops,
	&tty_ops,
	&reg_file_ops,
};

static const struct res_ops *fd_kind_by_type(uint32_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->fd_type == type)
			return fd_kinds[i];
	return NULL;
}

/* ================================= dump side ================================= */

int fdinfo_read(pid_t pid, int fd, char *buf, size_t len)
{
	_cleanup_close_ int pfd = -1;
	char path[64];
	size_t off = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	while (off + 1 < len) {
		n = read(pfd, buf + off, len - 1 - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off + 1 >= len)
		return -E2BIG;
	buf[off] = '\0';
	return (int)off;
}

const char *fdinfo_field(const char *buf, const char *key)
{
	size_t kl = strlen(key);
	const char *s = buf;

	while (s && *s) {
		if (!strncmp(s, key, kl))
			return s + kl;
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	return NULL;
}

struct dump_fd *files_dump_fd(struct dump_ctx *dc, int fd)
{
	int i;

	for (i = 0; i < dc->nr_fds; i++)
		if (dc->fds[i].fd == fd)
			return &dc->fds[i];
	return NULL;
}

/* Why no kind takes @p: a short description of what it is. */
static const char *fd_describe(const struct fd_parms *p, char *buf, size_t len)
{
	mode_t m = p->st.st_mode;

	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISFIFO(m))
		return strncmp(p->link, "pipe:", 5) ? "a fifo" : "a pipe";
	if (!strncmp(p->link, "anon_inode:", 11)) {
		snprintf(buf, len, "an %s", p->link);
		return buf;
	}
	if (p->link[0] != '/') {
		snprintf(buf, len, "'%s'", p->link);
		return buf;
	}
	if (!strncmp(p->link, "/memfd:", 7))
		return "a memfd";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a pty master";
	snprintf(buf, len, "a file of mode %o ('%s')", m & S_IFMT, p->link);
	return buf;
}

/* Fill @p for descriptor @fd of task @pid; @link (@len bytes) holds the link. Non-logging. */
static int fd_parms_get(pid_t pid, int fd, struct fd_parms *p, char *link, size_t len)
{
	char what[32];
	int ret;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->fd = fd;
	p->lfd = -1;
	p->link = link;
	snprintf(what, sizeof(what), "fd/%d", fd);
	ret = proc_readlink(pid, what, link, len);
	if (ret < 0)
		return ret;
	snprintf(what, sizeof(what), "/proc/%d/fd/%d", pid, fd);
	if (stat(what, &p->st) < 0)
		return -errno;
	return proc_parse_fdinfo(pid, fd, &p->fi);
}

/*
 * The id of the entry of an earlier descriptor sharing the open file description of @p:
 * returns 1 and sets *@ret_id, or 0. Only candidates of the same file, flags and position are
 * compared (kcmp), one descriptor each.
 */
static int shared_file_id(const struct dump_ctx *dc, const struct fd_parms *p, uint32_t *ret_id)
{
	const struct reg_file *f;
	size_t i;
	long r;

	for (i = 0; i < dc->files.nr; i++) {
		f = &dc->files.f[i];
		if (f->fd < 0 || f->dev != (uint64_t)p->st.st_dev ||
		    f->ino != (uint64_t)p->st.st_ino || f->pos != p->fi.pos ||
		    f->flags != (p->fi.flags & ~O_CLOEXEC))
			continue;
		r = syscall(SYS_kcmp, dc->pid, dc->pid, KCMP_FILE, f->fd, p->fd);
		if (r < 0)
			return -errno;
		if (r == 0) {
			*ret_id = f->id;
			return 1;
		}
	}
	return 0;
}

/*
 * Across tasks: an open file description of an earlier task of the tree is not dumped again;
 * the fd records that task and its fd (owner), and the restored task takes that very
 * description from it (pidfd_getfd()). Returns 1 and *@ret_d for such a description, 0 for a
 * new one, or -EOPNOTSUPP (logged) for a pipe, FIFO or memfd another task has open through
 * another description (each task would create its own).
 */
static int files_check_tasks(struct dump_ctx *dc, const struct fd_parms *p,
			     const struct res_ops *ops, const struct dump_desc **ret_d)
{
	const struct dump_desc *d, *other = NULL;
	size_t i;
	long r;

	if (!dc->shared)
		return 0;
	for (i = 0; i < dc->shared->nr_descs; i++) {
		d = &dc->shared->descs[i];
		if (d->pid == dc->pid || d->dev != (uint64_t)p->st.st_dev ||
		    d->ino != (uint64_t)p->st.st_ino)
			continue;
		r = syscall(SYS_kcmp, d->pid, dc->pid, KCMP_FILE, d->fd, p->fd);
		if (r < 0)
			return pr_err_ret(-errno, "kcmp of fd %d of task %d and fd %d of task %d",
					  d->fd, d->pid, p->fd, p->pid);
		if (r == 0) {
			*ret_d = d;
			return 1;
		}
		other = d;
	}
	if (other && (ops == &pipe_ops || ops == &fifo_ops || ops == &memfd_ops)) {
		*ret_d = other;		/* a new description of a pipe or memfd seen earlier */
		return 0;
	}
	return 0;
}

/* Remember the new description @p of this task for the tasks dumped after it. */
static int files_note_desc(struct dump_ctx *dc, const struct fd_parms *p,
			   const struct res_ops *ops, uint32_t id)
{
	struct dump_shared *sh = dc->shared;
	struct dump_desc *n;

	if (!sh)
		return 0;
	if (sh->nr_descs == sh->cap_descs) {
		size_t cap = sh->cap_descs ? sh->cap_descs * 2 : 64;

		n = realloc(sh->descs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sh->descs = n;
		sh->cap_descs = cap;
	}
	sh->descs[sh->nr_descs++] = (struct dump_desc){
		.pid = dc->pid, .fd = p->fd, .dev = p->st.st_dev, .ino = p->st.st_ino, .ops = ops,
		.id = id,
	};
	return 0;
}

static const struct res_ops *fd_kind(const struct fd_parms *p)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fd_kinds); i++)
		if (fd_kinds[i]->match(p))
			return fd_kinds[i];
	return NULL;
}

/* A dup of a description owned by an earlier task has that owner too: its pid, and fd. */
static pid_t files_dump_fd_owner(struct dump_ctx *dc, uint32_t id, int *ret_fd)
{
	int i;

	for (i = 0; i < dc->nr_fds; i++)
		if (dc->fds[i].id == id && dc->fds[i].owner_pid) {
			*ret_fd = dc->fds[i].owner_fd;
			return dc->fds[i].owner_pid;
		}
	return 0;
}

static int file_collect_one(struct dump_ctx *dc, int fd)
{
	const struct dump_desc *d = NULL;
	struct dump_fd *df;
	const struct res_ops *ops;
	struct reg_file *f;
	char link[4096], why[4200];
	struct fd_parms p;
	uint32_t id = 0;
	int ret;

	ret = fd_parms_get(dc->pid, fd, &p, link, sizeof(link));
	if (ret == -ENOENT)
		return ret;
	if (ret < 0)
		return pr_err_ret(ret, "cannot read fd %d of task %d", fd, dc->pid);
	ops = fd_kind(&p);
	if (!ops) {
		pr_err("fd %d of task %d is %s: not supported yet", fd, dc->pid,
		       fd_describe(&p, why, sizeof(why)));
		return -EOPNOTSUPP;
	}
	ret = shared_file_id(dc, &p, &id);
	if (ret < 0)
		return pr_err_ret(ret, "kcmp of fd %d of task %d failed", fd, dc->pid);
	df = &dc->fds[dc->nr_fds];
	memset(df, 0, sizeof(*df));
	if (ret == 0) {
		ret = files_check_tasks(dc, &p, ops, &d);
		if (ret < 0)
			return ret;
	}
	if (ret == 0 && (p.fi.flags & O_ASYNC) && ops != &reg_file_ops) {
		pr_err("fd %d of task %d is a %s with O_ASYNC: not supported yet", fd, dc->pid,
		       ops->name);
		return -EOPNOTSUPP;
	}
	if (ret == 0 && ops->can_dump) {
		ret = ops->can_dump(dc, &p);
		if (ret < 0)
			return ret;
	}
	if (ret == 0) {
		ret = reg_file_add(&dc->files, link, &p.st, p.fi.flags & ~O_CLOEXEC, p.fi.pos, &id);
		if (ret < 0)
			return pr_err_ret(ret, "fd %d of task %d", fd, dc->pid);
		f = reg_file_get(&dc->files, id);
		f->fd = fd;
		f->ops = ops;
		f->need_lfd = f->need_lfd || ops->need_lfd;
		if (d) {
			f->peer_pid = d->pid;
			f->peer_fd = d->fd;
			d = NULL;
		}
		ret = files_note_desc(dc, &p, ops, id);
		if (ret < 0)
			return ret;
	} else if (d) {
		id = d->id;
		df->owner_pid = d->pid;
		df->owner_fd = d->fd;
		pr_debug("fd %d: the description of fd %d of task %d", fd, d->fd, d->pid);
	} else {
		df->owner_pid = files_dump_fd_owner(dc, id, &df->owner_fd);
	}

	df->type = ops->fd_type;
	dc->fds[dc->nr_fds].fd = fd;
	dc->fds[dc->nr_fds].id = id;
	dc->fds[dc->nr_fds].fd_flags = (p.fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	dc->nr_fds++;
	pr_debug("fd %d: %s '%s' flags 0%o pos %llu -> file %u", fd, ops->name, link, p.fi.flags,
		 (unsigned long long)p.fi.pos, id);
	return 0;
}

int files_collect(struct dump_ctx *dc)
{
	_cleanup_free_ int *fds = NULL;
	int nr, i, ret;

	nr = proc_list_fds(dc->pid, &fds);
	if (nr < 0)
		return pr_err_ret(nr, "cannot list /proc/%d/fd", dc->pid);
	dc->fds = calloc(nr ? nr : 1, sizeof(*dc->fds));
	if (!dc->fds)
		return -ENOMEM;
	dc->nr_fds = 0;
	for (i = 0; i < nr; i++) {
		ret = file_collect_one(dc, fds[i]);
		if (ret == -ENOENT)
			continue;	/* closed meanwhile (cannot happen once seized) */
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Room for @nr more fds in criu: raise the soft limit up to the hard one if needed. */
static int files_room(size_t nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= nr + 256 || rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = min((rlim_t)(nr + 256), rl.rlim_max);
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

int files_drain(struct dump_ctx *dc)
{
	_cleanup_free_ int *fds = NULL, *lfds = NULL;
	struct reg_file *f;
	size_t i, nr = 0;
	int ret;

	for (i = 0; i < dc->files.nr; i++)
		nr += dc->files.f[i].fd >= 0 && dc->files.f[i].need_lfd;
	if (!nr)
		return 0;
	fds = calloc(nr, sizeof(*fds));
	lfds = calloc(nr, sizeof(*lfds));
	if (!fds || !lfds)
		return -ENOMEM;
	nr = 0;
	for (i = 0; i < dc->files.nr; i++)
		if (dc->files.f[i].fd >= 0 && dc->files.f[i].need_lfd)
			fds[nr++] = dc->files.f[i].fd;
	ret = files_room(nr);
	if (ret < 0)
		pr_warn("cannot raise criu's open files limit for %zu fds: %s, ignoring", nr,
			strerror(-ret));
	ret = parasite_drain_fds(dc->ctl, fds, nr, lfds);
	if (ret < 0)
		return pr_err_ret(ret, "cannot get %zu fds of task %d from the parasite", nr,
				  dc->pid);
	nr = 0;
	for (i = 0; i < dc->files.nr; i++) {
		f = &dc->files.f[i];
		if (f->fd >= 0 && f->need_lfd)
			f->lfd = lfds[nr++];
	}
	pr_debug("%zu fds of task %d drained", nr, dc->pid);
	return 0;
}

int files_data_dump(struct dump_ctx *dc, int kind, uint32_t id, int fd, uint64_t len)
{
	_cleanup_img_ struct cr_img *img = NULL;
	struct stat st;
	off_t off = 0;
	ssize_t n;
	int ret, out;

	ret = img_open(dc->dir, kind, id, O_WRONLY, &img);
	if (ret < 0)
		return ret;
	out = img_raw_fd(img);
	if (fstat(fd, &st) < 0)
		return -errno;
	while (len) {
		if (S_ISFIFO(st.st_mode))
			n = splice(fd, NULL, out, NULL, len, SPLICE_F_MOVE);
		else
			n = sendfile(out, fd, &off, min(len, (uint64_t)(1 << 30)));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* shorter than it said */
		len -= (uint64_t)n;
	}
	return img_close(TAKE_PTR(img));
}

static int file_dump_one(struct dump_ctx *dc, struct cr_img *img, const struct reg_file *f)
{
	char link[4096];
	struct fd_parms p;
	int ret;

	if (!f->ops || f->ops == &reg_file_ops)
		return reg_file_write(dc, img, f);
	ret = fd_parms_get(dc->pid, f->fd, &p, link, sizeof(link));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read fd %d of task %d", f->fd, dc->pid);
	p.lfd = f->lfd;
	return f->ops->dump(dc, &p, f->id, img);
}

/* The task's entries into @img (files.img, shared by the tasks of a tree). */
static int files_write(struct dump_ctx *dc, struct cr_img *img)
{
	size_t i;
	int ret;

	for (i = 0; i < dc->files.nr; i++) {
		ret = file_dump_one(dc, img, &dc->files.f[i]);
		if (ret < 0) {
			if (ret == -EIO || ret == -ENOSPC)
				pr_err_ret(ret, "cannot write %s", img_error(img));
			return ret;
		}
	}
	return 0;
}

int files_dump(struct dump_ctx *dc)
{
	_cleanup_img_ struct cr_img *img = NULL;
	int ret;

	if (dc->shared && dc->shared->files_img)
		return files_write(dc, dc->shared->files_img);
	ret = img_open(dc->dir, IMG_FILES, 0, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	ret = files_write(dc, img);
	if (ret < 0)
		return ret;
	ret = img_close(TAKE_PTR(img));
	if (ret < 0)
		return pr_err_ret(ret, "cannot write files.img");
	pr_debug("files.img: %zu entries", dc->files.nr);
	return 0;
}

int fdinfo_dump(struct dump_ctx *dc)
{
	_cleanup_img_ struct cr_img *img = NULL;
	int i, ret;

	ret = img_open(dc->dir, IMG_FDINFO, dc->pid, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	for (i = 0; i < dc->nr_fds; i++) {
		FdinfoEntry e = FDINFO_ENTRY__INIT;

		e.id = dc->fds[i].id;
		e.flags = dc->fds[i].fd_flags;
		e.type = dc->fds[i].type;
		e.fd = dc->fds[i].fd;
		if (dc->fds[i].owner_pid) {
			e.has_owner_pid = e.has_owner_fd = true;
			e.owner_pid = dc->fds[i].owner_pid;
			e.owner_fd = (uint32_t)dc->fds[i].owner_fd;
		}
		ret = img_write(img, &e.base);
		if (ret < 0)
			return pr_err_ret(ret, "cannot write %s", img_error(img));
	}
	ret = img_close(TAKE_PTR(img));
	if (ret < 0)
		return pr_err_ret(ret, "cannot write fdinfo-%d.img", dc->pid);
	return 0;
}

/* Add @pid to *@pids (once). Returns 0 or -ENOMEM. */
static int pids_add(pid_t **pids, size_t *nr, size_t *cap, pid_t pid)
{
	pid_t *n;
	size_t i;

	for (i = 0; i < *nr; i++)
		if ((*pids)[i] == pid)
			return 0;
	if (*nr == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		n = realloc(*pids, *cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		*pids = n;
	}
	(*pids)[(*nr)++] = pid;
	return 0;
}

/* Add the descendants of (*@pids)[@from..] to *@pids, breadth first. */
static int pids_add_descendants(pid_t **pids, size_t *nr, size_t *cap, size_t from)
{
	char path[64], *buf, *s, *e;
	int ret = 0;
	size_t j;

	for (j = from; j < *nr && !ret; j++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (*pids)[j], (*pids)[j]);
		if (proc_read_file(path, &buf) < 0)
			continue;
		for (s = buf; *s && !ret; s = e) {
			long v = strtol(s, &e, 10);

			if (e == s)
				break;
			ret = pids_add(pids, nr, cap, (pid_t)v);
		}
		free(buf);
	}
	return ret;
}

/*
 * The other tasks of the dumped tree that criu can see from this one: those dumped before it
 * (their descriptions are in dc->shared), the descendants of the first of them (the root,
 * dumped first: so siblings too) and its own descendants. *@ret_pids is malloc'ed.
 */
int files_tree_other_tasks(struct dump_ctx *dc, pid_t **ret_pids)
{
	pid_t *pids = NULL;
	size_t nr = 0, cap = 0, i, from;
	int ret = 0;

	for (i = 0; dc->shared && i < dc->shared->nr_descs && !ret; i++)
		ret = pids_add(&pids, &nr, &cap, dc->shared->descs[i].pid);
	if (!ret && nr)
		ret = pids_add_descendants(&pids, &nr, &cap, 0);
	from = nr;
	if (!ret)
		ret = pids_add(&pids, &nr, &cap, dc->pid);
	if (!ret && nr > from)	/* not a descendant of the tasks before it: the root */
		ret = pids_add_descendants(&pids, &nr, &cap, from);
	if (ret < 0) {
		free(pids);
		return ret;
	}
	for (i = 0; i < nr; i++)
		if (pids[i] == dc->pid)
			pids[i] = pids[--nr];
	*ret_pids = pids;
	return (int)nr;
}

/* ================================ restore side =============================== */

#include "images/fs.pb-c.h"
#include "images/mm.pb-c.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <time.h>

/*
 * Which tasks of the tree have their descriptors in place, for the tasks that take a
 * description from an earlier task (FdinfoEntry.owner_pid): mapped shared by criu before the
 * tree is forked, so every restored task sees it (the restorer unmaps it with criu's memory).
 */
#define FILES_SYNC_MAX		4096
#define FILES_SYNC_WAIT_S	60

#define FILES_HANDOFF_MAX	4096

enum { SYNC_PENDING, SYNC_DONE, SYNC_FAILED };

struct files_sync {
	uint32_t nr;
	struct {
		int32_t pid;
		uint32_t state;		/* futex word */
	} t[FILES_SYNC_MAX];
	/* entries created by one task for others (files.h): where they wait to be taken */
	uint32_t nr_handoffs;
	struct {
		uint32_t id;		/* the FileEntry */
		int32_t pid;		/* its creator */
		int32_t fd;		/* the creator's fd on it */
		uint32_t taken;		/* futex word: how many tasks took it */
	} h[FILES_HANDOFF_MAX];
};

static struct files_sync *files_sync;	/* the one piece of state shared by forked tasks */

/*
 * Which task holds which entry through a descriptor of its own (not taken from an owner), in
 * the order files_check() saw the tasks (pstree order): built by criu before the tree is
 * forked, inherited by every task.
 */
static struct {
	pid_t *pids;		/* tasks in order */
	size_t nr_pids;
	struct files_holder {
		uint32_t id;
		uint32_t rank;	/* index in pids */
	} *h;
	size_t nr, cap;
} files_holders;

static int files_holders_add(const struct rst_ctx *c)
{
	struct files_holder *n;
	pid_t *np;
	size_t i;

	np = realloc(files_holders.pids, (files_holders.nr_pids + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	files_holders.pids = np;
	np[files_holders.nr_pids++] = c->pid;
	for (i = 0; i < c->nr_fds; i++) {
		if (c->fds[i]->has_owner_pid && c->fds[i]->owner_pid)
			continue;
		if (files_holders.nr == files_holders.cap) {
			size_t cap = files_holders.cap ? files_holders.cap * 2 : 64;

			n = realloc(files_holders.h, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			files_holders.h = n;
			files_holders.cap = cap;
		}
		files_holders.h[files_holders.nr++] = (struct files_holder){
			.id = c->fds[i]->id, .rank = (uint32_t)files_holders.nr_pids - 1,
		};
	}
	return 0;
}

bool rst_files_tree_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < files_holders.nr_pids; i++)
		if (files_holders.pids[i] == pid)
			return true;
	return false;
}

bool rst_files_held_by(uint32_t id, pid_t pid)
{
	size_t i;

	for (i = 0; i < files_holders.nr; i++)
		if (files_holders.h[i].id == id &&
		    files_holders.pids[files_holders.h[i].rank] == pid)
			return true;
	return false;
}

/* The rank of the first task holding @id, or UINT32_MAX: none. */
static uint32_t files_first_holder(uint32_t id)
{
	uint32_t r = UINT32_MAX;
	size_t i;

	for (i = 0; i < files_holders.nr; i++)
		if (files_holders.h[i].id == id && files_holders.h[i].rank < r)
			r = files_holders.h[i].rank;
	return r;
}

/* How many tasks other than @pid hold @id. */
static uint32_t files_other_holders(uint32_t id, pid_t pid)
{
	uint32_t n = 0, last = UINT32_MAX;
	size_t i;

	for (i = 0; i < files_holders.nr; i++)
		if (files_holders.h[i].id == id && files_holders.pids[files_holders.h[i].rank] != pid &&
		    files_holders.h[i].rank != last) {
			last = files_holders.h[i].rank;
			n++;
		}
	return n;
}

static int files_sync_add(pid_t pid)
{
	void *p;
	uint32_t i;

	if (!files_sync) {
		p = mmap(NULL, sizeof(*files_sync), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
		files_sync = p;
	}
	for (i = 0; i < files_sync->nr; i++)
		if (files_sync->t[i].pid == pid)
			return 0;
	if (files_sync->nr == FILES_SYNC_MAX)
		return -E2BIG;
	files_sync->t[files_sync->nr++].pid = pid;
	return 0;
}

static uint32_t *files_sync_word(pid_t pid)
{
	uint32_t i;

	for (i = 0; files_sync && i < files_sync->nr; i++)
		if (files_sync->t[i].pid == pid)
			return &files_sync->t[i].state;
	return NULL;
}

static void files_sync_set(pid_t pid, uint32_t state)
{
	uint32_t *w = files_sync_word(pid);

	if (!w)
		return;
	__atomic_store_n(w, state, __ATOMIC_RELEASE);
	syscall(SYS_futex, w, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Wait until task @pid has its descriptors in place. */
static int files_sync_wait(struct rst_files *rf, pid_t pid)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	uint32_t *w = files_sync_word(pid), v;
	int i;

	if (!w)
		return rst_task_err(rf->t, -ESRCH, "task %d is not restored here", pid);
	for (i = 0; i < FILES_SYNC_WAIT_S * 5; i++) {
		v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v == SYNC_DONE)
			return 0;
		if (v == SYNC_FAILED)
			return rst_task_err(rf->t, -ESRCH, "task %d failed to open its fds", pid);
		syscall(SYS_futex, w, FUTEX_WAIT, v, &ts, NULL, 0);
	}
	return rst_task_err(rf->t, -ETIMEDOUT, "task %d did not open its fds in %d s", pid,
			    FILES_SYNC_WAIT_S);
}

int rst_files_wait_task(struct rst_files *rf, pid_t pid)
{
	return files_sync_wait(rf, pid);
}

int rst_files_reopen_peer(struct rst_files *rf, pid_t pid, int fd, int flags)
{
	char path[64];
	int keep = -1, nfd, err;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
		/* a reader and a writer: opening one end then never blocks */
		keep = open(path, O_RDWR | O_CLOEXEC);
		if (keep < 0)
			return rst_task_err(rf->t, -errno, "cannot open '%s': %m", path);
	}
	nfd = open(path, (flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC | O_NOCTTY);
	err = -errno;
	if (keep >= 0)
		close(keep);
	if (nfd < 0)
		return rst_task_err(rf->t, err, "cannot open '%s' again: %s", path, strerror(-err));
	return nfd;
}

/* The open file description that is fd @e->owner_fd of task @e->owner_pid, as a new fd. */
static int files_grab(struct rst_files *rf, const FdinfoEntry *e)
{
	int pidfd, fd, ret;

	ret = files_sync_wait(rf, e->owner_pid);
	if (ret < 0)
		return ret;
	pidfd = (int)syscall(SYS_pidfd_open, e->owner_pid, 0);
	if (pidfd < 0)
		return rst_task_err(rf->t, -errno, "fd %u: pidfd_open(%d): %m", e->fd,
				    e->owner_pid);
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, e->owner_fd, 0);
	ret = -errno;
	close(pidfd);
	if (fd < 0)
		return rst_task_err(rf->t, ret, "fd %u: cannot take fd %u of task %d: %s", e->fd,
				    e->owner_fd, e->owner_pid, strerror(-ret));
	return fd;
}

/* Creator: publish its fd @fd on entry @id for the tasks that take it. */
static int files_handoff_put(struct rst_files *rf, uint32_t id, int fd)
{
	uint32_t i = __atomic_fetch_add(&files_sync->nr_handoffs, 1, __ATOMIC_ACQ_REL);

	if (i >= FILES_HANDOFF_MAX)
		return rst_task_err(rf->t, -E2BIG, "more than %d files handed over between tasks",
				    FILES_HANDOFF_MAX);
	files_sync->h[i].id = id;
	files_sync->h[i].pid = rf->t->c->pid;
	files_sync->h[i].fd = fd;
	__atomic_store_n(&files_sync->h[i].taken, 0, __ATOMIC_RELEASE);
	return 0;
}

/* The slot of entry @id created by task @pid, or NULL. */
static uint32_t *files_handoff_slot(uint32_t id, pid_t pid, int *ret_fd)
{
	uint32_t i, nr = min(__atomic_load_n(&files_sync->nr_handoffs, __ATOMIC_ACQUIRE),
			     (uint32_t)FILES_HANDOFF_MAX);

	for (i = 0; i < nr; i++)
		if (files_sync->h[i].id == id && files_sync->h[i].pid == pid) {
			*ret_fd = files_sync->h[i].fd;
			return &files_sync->h[i].taken;
		}
	return NULL;
}

/* The entry of @e created by task f->take_from for us, as a new fd. */
static int files_take(struct rst_files *rf, struct rst_file *f, const FdinfoEntry *e)
{
	FdinfoEntry from = *e;
	uint32_t *taken;
	int cfd = -1, fd;

	if (!files_sync)
		return rst_task_err(rf->t, -ESRCH, "fd %u: no fd sharing area", e->fd);
	fd = files_sync_wait(rf, f->take_from);
	if (fd < 0)
		return fd;
	taken = files_handoff_slot(f->fe->id, f->take_from, &cfd);
	if (!taken)
		return rst_task_err(rf->t, -ENOENT, "fd %u: task %d did not create %s %u for us",
				    e->fd, f->take_from, f->ops->name, f->fe->id);
	from.owner_pid = f->take_from;
	from.owner_fd = (uint32_t)cfd;
	fd = files_grab(rf, &from);
	if (fd < 0)
		return fd;
	__atomic_add_fetch(taken, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, taken, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
	return fd;
}

/* Creator, its files in place: one fd on each entry it restored for other tasks, published. */
static int files_handoff_open(struct rst_files *rf)
{
	struct rst_file *f;
	size_t i;
	int fd, ret;

	for (i = 0; i < rf->nr; i++) {
		f = &rf->f[i];
		if (!f->handoff)
			continue;
		fd = f->ops->open(rf, f);
		if (fd < 0)
			return fd;
		f->handoff_fd = rst_files_stash(rf, fd);
		if (f->handoff_fd < 0) {
			close(fd);
			return rst_task_err(rf->t, f->handoff_fd, "cannot move a %s up",
					    f->ops->name);
		}
		ret = files_handoff_put(rf, f->fe->id, f->handoff_fd);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Has a task that holds @id (but @me) failed, or died, before it could take it? */
static bool files_holder_failed(uint32_t id, pid_t me)
{
	char path[64], buf[256], *p;
	uint32_t *w;
	pid_t pid;
	size_t i;
	int fd;
	ssize_t n;

	for (i = 0; i < files_holders.nr; i++) {
		pid = files_holders.pids[files_holders.h[i].rank];
		if (files_holders.h[i].id != id || pid == me)
			continue;
		w = files_sync_word(pid);
		if (w && __atomic_load_n(w, __ATOMIC_ACQUIRE) == SYNC_FAILED)
			return true;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			/*
			 * Not created yet (its parent, in another branch of the tree, may still be
			 * restoring its memory), or dead and reaped: then criu, told by its parent,
			 * kills the tree. Taking it for failed would close the entry under its feet.
			 */
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		p = strrchr(buf, ')');
		if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
			return true;
	}
	return false;
}

/*
 * Creator, after SYNC_DONE: wait until every task holding a handed-over entry took it. A task
 * that failed first is left to criu to report (its own message says why).
 */
static int files_handoff_wait(struct rst_files *rf)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	pid_t me = rf->t->c->pid;
	struct rst_file *f;
	uint32_t *w, want, v;
	int fd, j;
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		f = &rf->f[i];
		if (f->handoff_fd < 0)
			continue;
		w = files_handoff_slot(f->fe->id, me, &fd);
		want = files_other_holders(f->fe->id, me);
		for (j = 0; w && j < FILES_SYNC_WAIT_S * 5; j++) {
			v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
			if (v >= want)
				break;
			if (files_holder_failed(f->fe->id, me)) {
				v = want;
				break;
			}
			syscall(SYS_futex, w, FUTEX_WAIT, v, &ts, NULL, 0);
		}
		if (!w || (v < want && j == FILES_SYNC_WAIT_S * 5))
			return rst_task_err(rf->t, -ETIMEDOUT, "%s %u created for another task was "
					    "not taken in %d s", f->ops->name, f->fe->id,
					    FILES_SYNC_WAIT_S);
		close(f->handoff_fd);
		f->handoff_fd = -1;
	}
	return 0;
}

const FileEntry *rst_file_entry(const struct rst_ctx *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->nr_files; i++)
		if (c->files[i]->id == id)
			return c->files[i];
	return NULL;
}

int files_check(const struct rst_ctx *c)
{
	const struct res_ops *ops;
	const FileEntry *fe;
	char what[64];
	size_t i;
	int ret;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		snprintf(what, sizeof(what), "fd %u", e->fd);
		fe = rst_file_entry(c, e->id);
		if (!fe) {
			pr_err("%s: file id %u is not in files.img", what, e->id);
			return -EBADMSG;
		}
		if (fe->type != e->type) {
			pr_err("%s: file id %u has type %d in files.img, %d in fdinfo-%d.img",
			       what, e->id, fe->type, e->type, c->pid);
			return -EBADMSG;
		}
		ops = fd_kind_by_type(fe->type);
		if (!ops) {
			pr_err("%s: files of type %d are not supported yet", what, fe->type);
			return -EOPNOTSUPP;
		}
		ret = ops->check ? ops->check(c, fe, what) : 0;
		if (ret)
			return ret;
	}
	ret = files_sync_add(c->pid);
	if (!ret)
		ret = files_holders_add(c);
	if (ret < 0)
		return pr_err_ret(ret, "cannot set up the fd sharing area for pid %d", c->pid);
	ret = reg_file_check(c, c->fs->cwd_id, "cwd", false);
	if (!ret)
		ret = reg_file_check(c, c->fs->root_id, "root", false);
	if (!ret && c->mm->exe_file_id)
		ret = reg_file_check(c, c->mm->exe_file_id, "exe", false);
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int rst_files_stash(struct rst_files *rf, int fd)
{
	int nf;

	if (fd >= rf->base)
		return fd;
	nf = fcntl(fd, F_DUPFD_CLOEXEC, rf->base);
	if (nf < 0)
		return -errno;
	close(fd);
	return nf;
}

int rst_files_data_fill(struct rst_files *rf, int kind, uint32_t id, int fd, uint64_t len)
{
	struct cr_img *img = NULL;
	char name[64];
	off_t off = 0;
	ssize_t n;
	int ret;

	img_name(kind, id, name, sizeof(name));
	ret = img_open(rf->t->c->dir, kind, id, O_RDONLY, &img);
	if (ret < 0)
		return rst_task_err(rf->t, ret, "cannot open %s: %s", name, strerror(-ret));
	while (len) {
		n = sendfile(fd, img_raw_fd(img), &off, min(len, (uint64_t)(1 << 30)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : -ENODATA;
			img_close(img);
			return rst_task_err(rf->t, ret, "cannot copy %s: %s", name,
					    n ? strerror(-ret) : "too short");
		}
		len -= (uint64_t)n;
	}
	img_close(img);
	return 0;
}

struct rst_file *rst_files_find(struct rst_files *rf, uint32_t id)
{
	size_t i;

	for (i = 0; i < rf->nr; i++)
		if (rf->f[i].fe->id == id)
			return &rf->f[i];
	return NULL;
}

/* Close every fd but those of @keep[0..@nr) (sorted, all >= 0). */
static void close_all_but(int *keep, size_t nr)
{
	unsigned int from = 0;
	size_t i;

	qsort(keep, nr, sizeof(*keep), cmp_int);
	for (i = 0; i < nr; i++) {
		if ((unsigned int)keep[i] > from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/*
 * Move criu's fds above the task's highest fd, let the kinds open what they need while the
 * images are open, then close every other fd of criu.
 */
static int files_prepare(struct rst_files *rf)
{
	struct rst_task *t = rf->t;
	int *fds[2] = { &t->status_fd, &t->go_fd };
	_cleanup_free_ int *keep = NULL;
	size_t i, nr = 0;
	int nf, ret;

	for (i = 0; i < 2; i++) {
		nf = fcntl(*fds[i], F_DUPFD_CLOEXEC, rf->base);
		if (nf < 0)
			return rst_task_err(t, -errno, "cannot move criu's fd %d above %d: %m",
					    *fds[i], rf->base);
		close(*fds[i]);
		*fds[i] = nf;
	}
	for (i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];

		if (!f->used || !f->ops->prepare)
			continue;
		ret = f->ops->prepare(rf, f);
		if (ret < 0)
			return ret;
	}
	keep = calloc(2 + 2 * rf->nr, sizeof(*keep));
	if (!keep)
		return rst_task_err(t, -ENOMEM, "out of memory");
	keep[nr++] = t->status_fd;
	keep[nr++] = t->go_fd;
	for (i = 0; i < rf->nr; i++) {
		if (rf->f[i].aux >= 0)
			keep[nr++] = rf->f[i].aux;
		if (rf->f[i].aux2 >= 0)
			keep[nr++] = rf->f[i].aux2;
	}
	close_all_but(keep, nr);
	return 0;
}

/* Put the new fd @fd of @f at @e's number. */
static int file_place(struct rst_files *rf, struct rst_file *f, int fd, const FdinfoEntry *e)
{
	int cloexec = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;

	if (fd == (int)e->fd) {
		if (fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) < 0)
			return rst_task_err(rf->t, -errno, "fd %u: cannot set FD_CLOEXEC: %m",
					    e->fd);
	} else {
		if (dup3(fd, e->fd, cloexec) < 0) {
			int err = rst_task_err(rf->t, -errno, "fd %u: cannot move it into place: %m",
					       e->fd);

			close(fd);
			return err;
		}
		close(fd);
	}
	f->fd = e->fd;
	return 0;
}

/* Open each descriptor at its number; fds sharing one open file description share it again. */
static int files_open(struct rst_files *rf, int stage)
{
	struct rst_ctx *c = rf->t->c;
	struct rst_file *f;
	bool owned;
	size_t i;
	int fd, ret;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		f = rst_files_find(rf, e->id);
		owned = e->has_owner_pid && e->owner_pid;
		if ((owned || f->take_from ? 0 : f->ops->stage) != stage)
			continue;
		if (f->fd < 0 && (owned || f->take_from)) {
			fd = owned ? files_grab(rf, e) : files_take(rf, f, e);
			if (fd < 0)
				return fd;
			ret = file_place(rf, f, fd, e);
			if (ret < 0)
				return ret;
			continue;
		}
		if (f->fd >= 0) {
			if (dup3(f->fd, e->fd, (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
				return rst_task_err(rf->t, -errno, "fd %u: cannot dup fd %d: %m",
						    e->fd, f->fd);
			continue;
		}
		fd = f->ops->open(rf, f);
		if (fd < 0)
			return fd;
		ret = file_place(rf, f, fd, e);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int files_post_open(struct rst_files *rf)
{
	size_t i;
	int ret;

	for (i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];

		/* kinds with .linked also see the ends they took (handed over or from an owner) */
		if (!f->ops->post_open || (!f->used && !(f->ops->linked && f->fd >= 0)))
			continue;
		ret = f->ops->post_open(rf, f);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Room for fd numbers below @base in the task (its own limits come back later). */
static int files_limit(struct rst_files *rf)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return rst_task_err(rf->t, -errno, "getrlimit: %m");
	if (rl.rlim_cur >= (rlim_t)rf->base + 16)
		return 0;
	if (rl.rlim_max < (rlim_t)rf->base + 3)
		return rst_task_err(rf->t, -EMFILE, "fd %d is above the open files limit %llu",
				    rf->base - 1, (unsigned long long)rl.rlim_max);
	rl.rlim_cur = min(rl.rlim_max, (rlim_t)rf->base + 16);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return rst_task_err(rf->t, -errno, "cannot raise the open files limit: %m");
	return 0;
}

static size_t uf_find(size_t *up, size_t i)
{
	while (up[i] != i)
		i = up[i] = up[up[i]];
	return i;
}

/*
 * Who creates what (files.h): entries of the groups .linked makes get the first task holding
 * one of them as creator; the task takes the ones it holds from another creator
 * (f->take_from) and restores those other tasks hold when it is the creator (f->handoff).
 */
static int files_creators(struct rst_files *rf)
{
	_cleanup_free_ size_t *up = NULL;
	_cleanup_free_ uint32_t *rank = NULL;
	uint32_t me = UINT32_MAX, r;
	struct rst_file *a, *b;
	size_t i, j;

	up = calloc(rf->nr ? rf->nr : 1, sizeof(*up));
	rank = calloc(rf->nr ? rf->nr : 1, sizeof(*rank));
	if (!up || !rank)
		return rst_task_err(rf->t, -ENOMEM, "out of memory");
	for (i = 0; i < files_holders.nr_pids; i++)
		if (files_holders.pids[i] == rf->t->c->pid)
			me = (uint32_t)i;
	for (i = 0; i < rf->nr; i++) {
		up[i] = i;
		rank[i] = UINT32_MAX;
	}
	for (i = 0; i < rf->nr; i++) {
		a = &rf->f[i];
		for (j = i + 1; a->ops && a->ops->linked && j < rf->nr; j++) {
			b = &rf->f[j];
			if (b->ops == a->ops && (a->ops->linked(a->fe, b->fe) ||
						 a->ops->linked(b->fe, a->fe)))
				up[uf_find(up, j)] = uf_find(up, i);
		}
	}
	for (i = 0; i < rf->nr; i++) {
		r = files_first_holder(rf->f[i].fe->id);
		j = uf_find(up, i);
		rank[j] = min(rank[j], r);
	}
	for (i = 0; i < rf->nr; i++) {
		a = &rf->f[i];
		r = rank[uf_find(up, i)];
		if (!a->ops || !a->ops->linked || r == UINT32_MAX || me == UINT32_MAX)
			continue;
		if (rst_files_held_by(a->fe->id, rf->t->c->pid) && r != me) {
			a->take_from = files_holders.pids[r];
			a->used = false;
		} else if (r == me && !rst_files_held_by(a->fe->id, rf->t->c->pid) &&
			   files_first_holder(a->fe->id) != UINT32_MAX) {
			a->used = a->handoff = true;
		}
	}
	return 0;
}

static int files_init(struct rst_files *rf, struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	struct rst_file *f;
	size_t i;

	rf->t = t;
	rf->nr = c->nr_files;
	rf->f = calloc(rf->nr ? rf->nr : 1, sizeof(*rf->f));
	if (!rf->f)
		return rst_task_err(t, -ENOMEM, "out of memory");
	for (i = 0; i < rf->nr; i++) {
		rf->f[i].fe = c->files[i];
		rf->f[i].ops = fd_kind_by_type(c->files[i]->type);
		rf->f[i].fd = rf->f[i].aux = rf->f[i].aux2 = rf->f[i].handoff_fd = -1;
	}
	rf->base = 0;
	for (i = 0; i < c->nr_fds; i++) {
		rf->base = max(rf->base, (int)c->fds[i]->fd + 1);
		f = rst_files_find(rf, c->fds[i]->id);
		if (!f || !f->ops)	/* files_check() said so */
			return rst_task_err(t, -EBADMSG, "fd %u: bad file %u", c->fds[i]->fd,
					    c->fds[i]->id);
		if (!c->fds[i]->has_owner_pid || !c->fds[i]->owner_pid)
			f->used = true;	/* opened here, not taken from its owner */
	}
	return files_creators(rf);
}

static void files_release(struct rst_files *rf)
{
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		if (rf->f[i].aux >= 0)
			close(rf->f[i].aux);
		if (rf->f[i].aux2 >= 0)
			close(rf->f[i].aux2);
		if (rf->f[i].handoff_fd >= 0)
			close(rf->f[i].handoff_fd);
	}
	free(rf->f);
	rf->f = NULL;
}

int files_restore(struct rst_task *t)
{
	struct rst_files rf = { 0 };
	int ret;

	ret = files_init(&rf, t);
	if (!ret)
		ret = files_limit(&rf);
	if (!ret)
		ret = files_prepare(&rf);
	if (!ret)
		ret = files_open(&rf, 0);
	if (!ret)
		ret = files_open(&rf, 1);
	if (!ret)
		ret = files_handoff_open(&rf);
	if (!ret)
		ret = files_post_open(&rf);
	files_sync_set(t->c->pid, ret ? SYNC_FAILED : SYNC_DONE);
	if (!ret)
		ret = files_handoff_wait(&rf);
	files_release(&rf);
	return ret;
}

/* The descriptor @fd of the task, or NULL. */
static const FdinfoEntry *files_fdinfo(const struct rst_ctx *c, uint32_t fd)
{
	size_t i;

	for (i = 0; i < c->nr_fds; i++)
		if (c->fds[i]->fd == fd)
			return c->fds[i];
	return NULL;
}

/*
 * Where descriptor @fd of the task comes from (the owner of its description, or the creator of
 * its group), or 0: opened here. *@ret_fd: the other task's fd on it, -1: known only once that
 * task has its fds in place (a handed-over entry).
 */
static pid_t files_source(struct rst_task *t, uint32_t fd, int *ret_fd)
{
	struct rst_files rf = { 0 };
	const FdinfoEntry *e = files_fdinfo(t->c, fd);
	struct rst_file *f;
	pid_t pid = 0;
	int ret;

	if (!e)
		return rst_task_err(t, -ENOENT, "fd %u is not in the images", fd);
	*ret_fd = -1;
	if (e->has_owner_pid && e->owner_pid) {
		*ret_fd = (int)e->owner_fd;
		return (pid_t)e->owner_pid;
	}
	ret = files_init(&rf, t);
	if (ret < 0) {
		if (rf.f)
			files_release(&rf);
		return ret;
	}
	f = rst_files_find(&rf, e->id);
	if (f && f->take_from)
		pid = f->take_from;
	files_release(&rf);
	return pid;
}

pid_t rst_files_source(struct rst_task *t, uint32_t fd)
{
	int ofd;

	return files_source(t, fd, &ofd);
}

int rst_files_peek(struct rst_task *t, uint32_t fd)
{
	struct rst_files rf = { .t = t };
	FdinfoEntry from = FDINFO_ENTRY__INIT;
	const FdinfoEntry *e = files_fdinfo(t->c, fd);
	int ofd = -1, ret;
	pid_t pid;

	pid = files_source(t, fd, &ofd);
	if (pid <= 0)
		return pid < 0 ? pid : rst_task_err(t, -ENOENT, "fd %u is opened here", fd);
	if (!files_sync)
		return rst_task_err(t, -ESRCH, "fd %u: no fd sharing area", fd);
	ret = files_sync_wait(&rf, pid);
	if (ret < 0)
		return ret;
	if (ofd < 0 && !files_handoff_slot(e->id, pid, &ofd))
		return rst_task_err(t, -ENOENT, "fd %u: task %d did not create file %u for us",
				    fd, pid, e->id);
	from.fd = fd;
	from.owner_pid = (uint32_t)pid;
	from.owner_fd = (uint32_t)ofd;
	return files_grab(&rf, &from);
}
