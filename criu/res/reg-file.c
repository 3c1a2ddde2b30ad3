/*
 * Files opened by path (FileEntry type REG in files.img): regular files, directories, character
 * devices; also the files behind cwd, root, the exe link and file mappings.
 *
 * Dump: a table of entries built while collecting, written once to files.img.
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "reg-file: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stdio.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"
#include "images/regfile.pb-c.h"
#include "opts.h"
#include "res/files.h"

/* ================================= dump side ================================= */

int reg_file_add(struct file_table *t, const char *name, const struct stat *st, uint32_t flags,
		 uint64_t pos, uint32_t *ret_id)
{
	struct reg_file *f;

	if (t->nr == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 32;

		f = realloc(t->f, ncap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		t->f = f;
		t->cap = ncap;
	}
	f = &t->f[t->nr];
	memset(f, 0, sizeof(*f));
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	f->id = t->id_base + t->nr + 1;
	f->fd = -1;
	f->lfd = -1;
	f->flags = flags;
	f->pos = pos;
	f->mode = st->st_mode;
	f->size = st->st_size;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + st->st_mtim.tv_nsec;
	t->nr++;
	*ret_id = f->id;
	return 0;
}

struct reg_file *reg_file_get(struct file_table *t, uint32_t id)
{
	if (id <= t->id_base || id - t->id_base > t->nr)
		return NULL;
	return &t->f[id - t->id_base - 1];
}

struct reg_file *reg_file_find_ino(struct file_table *t, uint64_t dev, uint64_t ino,
				   uint32_t first_id)
{
	size_t i;

	for (i = first_id > t->id_base ? first_id - t->id_base - 1 : 0; i < t->nr; i++)
		if (t->f[i].dev == dev && t->f[i].ino == ino)
			return &t->f[i];
	return NULL;
}

void file_table_release(struct file_table *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		free(t->f[i].name);
		if (t->f[i].lfd >= 0)
			close(t->f[i].lfd);
	}
	free(t->f);
	memset(t, 0, sizeof(*t));
}

#define DELETED_SUFFIX	" (deleted)"

static bool has_suffix(const char *s, const char *suffix)
{
	size_t l = strlen(s), sl = strlen(suffix);

	return l >= sl && !strcmp(s + l - sl, suffix);
}

/* F_SETOWN/F_SETSIG of criu's copy @lfd into @re. */
static int reg_file_fown(int lfd, RegFileEntry *re)
{
	struct f_owner_ex owner;
	int sig;

	if (fcntl(lfd, F_GETOWN_EX, &owner) < 0)
		return -errno;
	sig = fcntl(lfd, F_GETSIG);
	if (sig < 0)
		return -errno;
	if (owner.pid) {
		re->has_fown_pid = true;
		re->fown_pid = owner.type == F_OWNER_PGRP ? -owner.pid : owner.pid;
	}
	if (sig) {
		re->has_fown_signum = true;
		re->fown_signum = (uint32_t)sig;
	}
	return 0;
}

/* A file deleted while open: its contents into file-data-<id>.img. */
static int reg_file_dump_deleted(struct dump_ctx *dc, const struct reg_file *f,
				 RegFileEntry *re, char *name, size_t len)
{
	struct stat st;
	char proc[64];
	int ret, rfd;

	if (fstat(f->lfd, &st) < 0)
		return pr_err_ret(-errno, "'%s': fstat", f->name);
	if (st.st_nlink || !S_ISREG(st.st_mode) || !has_suffix(f->name, DELETED_SUFFIX))
		return 0;
	snprintf(name, len, "%.*s", (int)(strlen(f->name) - strlen(DELETED_SUFFIX)), f->name);
	re->name = name;
	re->has_deleted = true;
	re->deleted = true;
	re->size = (uint64_t)st.st_size;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->lfd);
	rfd = open(proc, O_RDONLY | O_CLOEXEC);	/* the task's may be write-only */
	if (rfd < 0)
		return pr_err_ret(-errno, "cannot open the deleted file '%s' for reading", f->name);
	ret = files_data_dump(dc, IMG_FILE_DATA, f->id, rfd, (uint64_t)st.st_size);
	close(rfd);
	if (ret < 0)
		return pr_err_ret(ret, "cannot save the contents of the deleted file '%s'",
				  f->name);
	pr_debug("file %u: deleted '%s', %lld bytes saved", f->id, name, (long long)st.st_size);
	return 0;
}

int reg_file_write(struct dump_ctx *dc, struct cr_img *img, const struct reg_file *f)
{
	RegFileEntry re = REG_FILE_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	char name[4096];
	struct stat st;
	int ret;

	re.id = f->id;
	re.flags = f->flags;
	re.pos = f->pos;
	re.name = f->name;
	re.has_mode = true;
	re.mode = f->mode;
	re.has_size = true;
	re.size = f->size;
	re.has_dev = true;
	re.dev = f->dev;
	re.has_ino = true;
	re.ino = f->ino;
	re.has_mtime_ns = true;
	re.mtime_ns = f->mtime_ns;

	if (f->lfd >= 0) {
		if (fstat(f->lfd, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
			re.has_rdev = true;
			re.rdev = st.st_rdev;
		}
		ret = f->flags & O_PATH ? 0 : reg_file_fown(f->lfd, &re);	/* no owner */
		if (ret < 0)
			return pr_err_ret(ret, "'%s': cannot read its owner", f->name);
		ret = reg_file_dump_deleted(dc, f, &re, name, sizeof(name));
		if (ret < 0)
			return ret;
	}

	fe.type = FD_TYPES__REG;
	fe.id = f->id;
	fe.reg = &re;
	ret = file_locks_dump(dc, f, &fe);
	if (ret < 0)
		return ret;
	ret = img_write(img, &fe.base);
	file_locks_release(&fe);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	return 0;
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

/* A file opened by path: a regular file, a directory, a character device (not a pty master). */
static bool reg_file_match(const struct fd_parms *p)
{
	mode_t m = p->st.st_mode;

	if (p->link[0] != '/' || !strncmp(p->link, "/memfd:", 7))
		return false;
	if (S_ISCHR(m))
		return !is_pty_master(p->st.st_rdev, p->link);
	return S_ISREG(m) || S_ISDIR(m);
}

static int reg_file_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	if (S_ISCHR(p->st.st_mode) && is_terminal(p->st.st_rdev, p->link) &&
	    !dc->opts->shell_job) {
		pr_err("fd %d of task %d is a terminal: use --shell-job", p->fd, p->pid);
		return -EOPNOTSUPP;
	}
	if (has_suffix(p->link, DELETED_SUFFIX) && p->st.st_nlink == 0 &&
	    !S_ISREG(p->st.st_mode)) {
		pr_err("fd %d of task %d is a deleted %s ('%s'): not supported", p->fd, p->pid,
		       S_ISDIR(p->st.st_mode) ? "directory" : "device", p->link);
		return -EOPNOTSUPP;
	}
	return file_locks_can_dump(dc, p);
}

int reg_file_dump_all(struct dump_ctx *dc)
{
	struct cr_img *img = NULL;
	size_t i;
	int ret;

	ret = img_open(dc->dir, IMG_FILES, 0, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	for (i = 0; i < dc->files.nr; i++) {
		ret = reg_file_write(dc, img, &dc->files.f[i]);
		if (ret < 0) {
			pr_err_ret(ret, "cannot write %s", img_error(img));
			img_close(img);
			return ret;
		}
	}
	ret = img_close(img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write files.img");
	pr_debug("files.img: %zu entries", dc->files.nr);
	return 0;
}

/* ================================ restore side =============================== */

#include <inttypes.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "opts.h"

const RegFileEntry *reg_file_find(const struct rst_ctx *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->nr_files; i++)
		if (c->files[i]->id == id)
			return c->files[i]->type == FD_TYPES__REG ? c->files[i]->reg : NULL;
	return NULL;
}

static bool is_tty(const struct stat *st)
{
	unsigned int maj = major(st->st_rdev);

	return S_ISCHR(st->st_mode) && (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143));
}

/* A deleted file is created again in its directory: that must exist. */
static int reg_file_check_deleted(const RegFileEntry *r, const char *what)
{
	char dir[4096], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", r->name);
	slash = strrchr(dir, '/');
	if (!slash || r->name[0] != '/') {
		pr_err("%s: bad name '%s' of a deleted file", what, r->name);
		return -EBADMSG;
	}
	slash[slash == dir] = '\0';
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		pr_err("%s: the directory '%s' of the deleted file '%s' is gone", what, dir,
		       r->name);
		return -ENOENT;
	}
	return 0;
}

int reg_file_check(const struct rst_ctx *c, uint32_t id, const char *what, bool mapped)
{
	const RegFileEntry *r = reg_file_find(c, id);
	struct stat st;

	if (!r) {
		pr_err("%s: file id %u is not a regular file entry of files.img", what, id);
		return -EBADMSG;
	}
	if (r->deleted)
		return reg_file_check_deleted(r, what);
	if (stat(r->name, &st) < 0)
		return pr_err_ret(-errno, "%s: cannot find '%s'", what, r->name);
	if (r->has_mode && (st.st_mode & S_IFMT) != (r->mode & S_IFMT)) {
		pr_err("%s: '%s' is no longer the same kind of file (mode %o, was %o)",
		       what, r->name, st.st_mode, r->mode);
		return -EINVAL;
	}
	if (r->has_size && S_ISREG(st.st_mode) && (uint64_t)st.st_size != r->size) {
		if (mapped) {
			pr_err("%s: '%s' has changed size (%" PRIu64 " bytes, was %" PRIu64 ")",
			       what, r->name, (uint64_t)st.st_size, r->size);
			return -EINVAL;
		}
		pr_warn("%s: '%s' has changed size (%" PRIu64 " bytes, was %" PRIu64 "), ignoring",
			what, r->name, (uint64_t)st.st_size, r->size);
	}
	if (r->has_rdev && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) &&
	    st.st_rdev != (dev_t)r->rdev) {
		pr_err("%s: '%s' is device %u:%u now, was %u:%u", what, r->name,
		       major(st.st_rdev), minor(st.st_rdev), major(r->rdev), minor(r->rdev));
		return -EINVAL;
	}
	if (is_tty(&st) && !c->opts->shell_job) {
		pr_err("%s is the terminal '%s': restore with --shell-job (-j)", what, r->name);
		return -EINVAL;
	}
	return 0;
}

static int reg_file_check_entry(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	return reg_file_check(c, fe->id, what, false);
}

/*
 * A deleted file: created again under its name (or, if that name is taken, as an O_TMPFILE in
 * its directory), unlinked at once, filled with its contents; kept in f->aux.
 */
static int reg_file_prepare(struct rst_files *rf, struct rst_file *f)
{
	const RegFileEntry *r = f->fe->reg;
	char dir[4096], *slash;
	int fd;

	if (!r || !r->deleted)
		return 0;
	fd = open(r->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, r->mode & 07777);
	if (fd >= 0) {
		unlink(r->name);
	} else if (errno == EEXIST) {
		snprintf(dir, sizeof(dir), "%s", r->name);
		slash = strrchr(dir, '/');
		slash[slash == dir] = '\0';
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, r->mode & 07777);
	}
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "cannot create the deleted file '%s' again: %m",
				    r->name);
	f->aux = rst_files_stash(rf, fd);
	if (f->aux < 0)
		return rst_task_err(rf->t, f->aux, "'%s': cannot move it up", r->name);
	return rst_files_data_fill(rf, IMG_FILE_DATA, f->fe->id, f->aux, r->size);
}

static int reg_file_set_fown(struct rst_files *rf, const RegFileEntry *r, int fd)
{
	struct f_owner_ex owner;

	if (r->has_fown_pid && r->fown_pid) {
		owner.type = r->fown_pid < 0 ? F_OWNER_PGRP : F_OWNER_PID;
		owner.pid = r->fown_pid < 0 ? -r->fown_pid : r->fown_pid;
		if (fcntl(fd, F_SETOWN_EX, &owner) < 0)
			return rst_task_err(rf->t, -errno, "'%s': cannot set its owner %d: %m",
					    r->name, r->fown_pid);
	}
	if (r->has_fown_signum && fcntl(fd, F_SETSIG, (int)r->fown_signum) < 0)
		return rst_task_err(rf->t, -errno, "'%s': cannot set its signal %u: %m", r->name,
				    r->fown_signum);
	return 0;
}

static int reg_file_open_entry(struct rst_files *rf, struct rst_file *f)
{
	const RegFileEntry *r = f->fe->reg;
	char what[32], path[64];
	int fd, ret;

	snprintf(what, sizeof(what), "file %u", f->fe->id);
	if (!r)
		return rst_task_err(rf->t, -EBADMSG, "%s: no reg entry", what);
	if (r->deleted) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", f->aux);
		fd = open(path, (r->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return rst_task_err(rf->t, -errno, "%s: cannot open the deleted '%s': %m",
					    what, r->name);
		if (lseek(fd, (off_t)r->pos, SEEK_SET) < 0) {
			ret = rst_task_err(rf->t, -errno, "%s: cannot seek: %m", what);
			close(fd);
			return ret;
		}
	} else {
		fd = reg_file_open(rf->t, r, what);
		if (fd < 0)
			return fd;
	}
	ret = reg_file_set_fown(rf, r, fd);
	if (!ret && (r->flags & O_ASYNC) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) < 0)
		ret = rst_task_err(rf->t, -errno, "%s: cannot set O_ASYNC: %m", what);	/* open() ignores it */
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

const struct res_ops reg_file_ops = {
	.name		= "file",
	.fd_type	= FD_TYPES__REG,
	.match		= reg_file_match,
	.can_dump	= reg_file_can_dump,
	.need_lfd	= true,		/* owner, deleted contents, device number */
	.check		= reg_file_check_entry,
	.prepare	= reg_file_prepare,
	.open		= reg_file_open_entry,
	.post_open	= file_locks_restore,
};

int reg_file_open(struct rst_task *t, const RegFileEntry *r, const char *what)
{
	int flags = r->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	int fd;

	if (!(flags & O_PATH))
		flags |= O_NOCTTY;
	fd = open(r->name, flags);
	if (fd < 0)
		return rst_task_err(t, -errno, "%s: cannot open '%s': %m", what, r->name);
	if (!(flags & O_PATH) && lseek(fd, r->pos, SEEK_SET) < 0 && errno != ESPIPE) {
		int err = rst_task_err(t, -errno, "%s: cannot seek '%s' to %" PRIu64 ": %m",
				       what, r->name, r->pos);

		close(fd);
		return err;
	}
	return fd;
}
