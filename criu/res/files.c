/*
 * The descriptor table of a task (fdinfo-PID.img) and the registry of file kinds.
 *
 * Dump: list /proc/PID/fd, tell the kind of each descriptor from its link and stat, refuse the
 * kinds we cannot dump yet (before the task is infected), give descriptors sharing one open file
 * description one FileEntry (kcmp), and write fdinfo-PID.img.
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "files: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "opts.h"
#include "images/fdinfo.pb-c.h"

/* ================================= dump side ================================= */

#define DELETED_SUFFIX	" (deleted)"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);

	return l >= sl && !strcmp(s + l - sl, suffix);
}

/* Is the character device @rdev (or path @link) a terminal? */
static bool is_terminal(dev_t rdev, const char *link)
{
	unsigned int maj = major(rdev);

	if (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143))
		return true;
	return !strncmp(link, "/dev/pts/", 9) || !strncmp(link, "/dev/tty", 8) ||
	       !strcmp(link, "/dev/console");
}

static bool is_pty_master(dev_t rdev, const char *link)
{
	return (major(rdev) == 5 && minor(rdev) == 2) || !strcmp(link, "/dev/ptmx") ||
	       !strcmp(link, "/dev/pts/ptmx");
}

/*
 * Why a descriptor with link @link and stat @st cannot be dumped as a REG file, or NULL if it
 * can. @buf holds a composed reason.
 */
static const char *fd_unsupported(const char *link, const struct stat *st, char *buf, size_t len)
{
	if (S_ISSOCK(st->st_mode))
		return "a socket";
	if (S_ISFIFO(st->st_mode))
		return strncmp(link, "pipe:", 5) ? "a fifo" : "a pipe";
	if (!strncmp(link, "anon_inode:", 11)) {
		snprintf(buf, len, "an %s", link);
		return buf;
	}
	if (link[0] != '/') {
		snprintf(buf, len, "'%s'", link);
		return buf;
	}
	if (!strncmp(link, "/memfd:", 7))
		return "a memfd";
	if (S_ISBLK(st->st_mode))
		return "a block device";
	if (S_ISCHR(st->st_mode) && is_pty_master(st->st_rdev, link))
		return "a pty master";
	if (S_ISCHR(st->st_mode) && is_terminal(st->st_rdev, link))
		return NULL;	/* the caller wants --shell-job */
	if (has_suffix(link, DELETED_SUFFIX) && st->st_nlink == 0)
		return "a deleted file";
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISCHR(st->st_mode)) {
		snprintf(buf, len, "a file of mode %o", st->st_mode & S_IFMT);
		return buf;
	}
	return NULL;
}

/*
 * The id of the entry of an earlier descriptor sharing the open file description of @fd:
 * returns 1 and sets *@ret_id, or 0. Only candidates with the same file, flags and position
 * are compared (kcmp), with one descriptor each.
 */
static int shared_file_id(const struct dump_ctx *dc, int fd, const struct stat *st,
			  const struct proc_fdinfo *fi, uint32_t *ret_id)
{
	const struct reg_file *f;
	size_t i;
	long r;

	for (i = 0; i < dc->files.nr; i++) {
		f = &dc->files.f[i];
		if (f->fd < 0 || f->dev != (uint64_t)st->st_dev ||
		    f->ino != (uint64_t)st->st_ino || f->pos != fi->pos ||
		    f->flags != (fi->flags & ~O_CLOEXEC))
			continue;
		r = syscall(SYS_kcmp, dc->pid, dc->pid, KCMP_FILE, f->fd, fd);
		if (r < 0)
			return -errno;
		if (r == 0) {
			*ret_id = f->id;
			return 1;
		}
	}
	return 0;
}

static int file_collect_one(struct dump_ctx *dc, int fd)
{
	struct proc_fdinfo fi;
	char link[4096], what[32], path[64], why[4200];
	const char *reason;
	struct stat st;
	uint32_t id = 0;
	int ret;

	snprintf(what, sizeof(what), "fd/%d", fd);
	ret = proc_readlink(dc->pid, what, link, sizeof(link));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the link of fd %d of task %d", fd, dc->pid);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", dc->pid, fd);
	if (stat(path, &st) < 0)
		return pr_err_ret(-errno, "cannot stat fd %d of task %d ('%s')", fd, dc->pid, link);

	reason = fd_unsupported(link, &st, why, sizeof(why));
	if (reason) {
		pr_err("fd %d of task %d is %s: not supported yet", fd, dc->pid, reason);
		return -EOPNOTSUPP;
	}
	if (S_ISCHR(st.st_mode) && is_terminal(st.st_rdev, link) && !dc->opts->shell_job) {
		pr_err("fd %d of task %d is a terminal: use --shell-job", fd, dc->pid);
		return -EOPNOTSUPP;
	}
	if (has_suffix(link, DELETED_SUFFIX) && st.st_nlink == 0) {
		pr_err("fd %d of task %d is a terminal that is gone ('%s'): cannot be restored",
		       fd, dc->pid, link);
		return -EOPNOTSUPP;
	}

	ret = proc_parse_fdinfo(dc->pid, fd, &fi);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/fdinfo/%d", dc->pid, fd);

	ret = shared_file_id(dc, fd, &st, &fi, &id);
	if (ret < 0)
		return pr_err_ret(ret, "kcmp of fd %d of task %d failed", fd, dc->pid);
	if (ret == 0) {
		ret = reg_file_add(&dc->files, link, &st, fi.flags & ~O_CLOEXEC, fi.pos, &id);
		if (ret < 0)
			return pr_err_ret(ret, "fd %d of task %d", fd, dc->pid);
		reg_file_get(&dc->files, id)->fd = fd;
	}

	dc->fds[dc->nr_fds].fd = fd;
	dc->fds[dc->nr_fds].id = id;
	dc->fds[dc->nr_fds].fd_flags = (fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	dc->nr_fds++;
	pr_debug("fd %d: '%s' flags 0%o pos %llu -> file %u", fd, link, fi.flags,
		 (unsigned long long)fi.pos, id);
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

int fdinfo_dump(struct dump_ctx *dc)
{
	struct cr_img *img = NULL;
	int i, ret;

	ret = img_open(dc->dir, IMG_FDINFO, dc->pid, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	for (i = 0; i < dc->nr_fds; i++) {
		FdinfoEntry e = FDINFO_ENTRY__INIT;

		e.id = dc->fds[i].id;
		e.flags = dc->fds[i].fd_flags;
		e.type = FD_TYPES__REG;
		e.fd = dc->fds[i].fd;
		ret = img_write(img, &e.base);
		if (ret < 0) {
			pr_err_ret(ret, "cannot write %s", img_error(img));
			img_close(img);
			return ret;
		}
	}
	ret = img_close(img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write fdinfo-%d.img", dc->pid);
	return 0;
}

/* ================================ restore side =============================== */

#include "images/fs.pb-c.h"
#include "images/mm.pb-c.h"

int files_check(const struct rst_ctx *c)
{
	char what[64];
	size_t i;
	int ret;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		snprintf(what, sizeof(what), "fd %u", e->fd);
		if (e->type != FD_TYPES__REG) {
			pr_err("%s: files of type %d are not supported yet", what, e->type);
			return -EOPNOTSUPP;
		}
		ret = reg_file_check(c, e->id, what, false);
		if (ret)
			return ret;
	}
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

/* Move criu's fds above the task's highest fd, then close every other fd of criu. */
static int files_move_criu(struct rst_task *t)
{
	int *fds[2] = { &t->status_fd, &t->go_fd };
	int keep[2], base = 0, i, nf;
	size_t j;

	for (j = 0; j < t->c->nr_fds; j++)
		base = max(base, (int)t->c->fds[j]->fd + 1);
	for (i = 0; i < 2; i++) {
		nf = fcntl(*fds[i], F_DUPFD_CLOEXEC, base);
		if (nf < 0)
			return rst_task_err(t, -errno, "cannot move criu's fd %d above %d: %m",
					    *fds[i], base);
		close(*fds[i]);
		*fds[i] = keep[i] = nf;
	}
	qsort(keep, 2, sizeof(keep[0]), cmp_int);
	if (keep[0] > 0)
		close_range(0, keep[0] - 1, 0);
	if (keep[1] > keep[0] + 1)
		close_range(keep[0] + 1, keep[1] - 1, 0);
	close_range(keep[1] + 1, ~0U, 0);
	return 0;
}

/* Open each descriptor at its number; fds sharing one open file description share it again. */
static int files_open(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	int fd, cloexec;
	char what[32];
	size_t i, j;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		cloexec = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;
		for (j = 0; j < i && c->fds[j]->id != e->id; j++)
			;
		if (j < i) {
			if (dup3(c->fds[j]->fd, e->fd, cloexec) < 0)
				return rst_task_err(t, -errno, "fd %u: cannot dup fd %u: %m", e->fd,
						    c->fds[j]->fd);
			continue;
		}
		snprintf(what, sizeof(what), "fd %u", e->fd);
		fd = reg_file_open(t, reg_file_find(c, e->id), what);
		if (fd < 0)
			return fd;
		if (fd == (int)e->fd) {
			if (cloexec && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
				return rst_task_err(t, -errno, "%s: cannot set FD_CLOEXEC: %m", what);
			continue;
		}
		if (dup3(fd, e->fd, cloexec) < 0)
			return rst_task_err(t, -errno, "%s: cannot move it into place: %m", what);
		close(fd);
	}
	return 0;
}

int files_restore(struct rst_task *t)
{
	int ret;

	ret = files_move_criu(t);
	if (!ret)
		ret = files_open(t);
	return ret;
}
