/*
 * File locks held through an open file description (file_entry.locks): flock(), POSIX and OFD
 * locks, as /proc/PID/fdinfo/FD "lock:" lines show them (the kernel lists there only the locks
 * of that file description, and for POSIX locks only those of the task's fd table).
 * Dumped only with --file-locks (-l); without it a task holding a lock is refused.
 * Restore: taken again through the task's first fd on the file, once every fd is in place.
 */
#define LOG_PREFIX "file-lock: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "common/cleanup.h"
#include "core/log.h"
#include "opts.h"
#include "images/fdinfo.pb-c.h"

#define LOCK_FDINFO_MAX	(1 << 20)

/* ================================= dump side ================================= */

struct file_lock {
	FileLockKind kind;
	bool write;
	uint64_t start, len;
};

/*
 * Non-logging: the "lock:" lines of fdinfo text @buf into @l (at most @max); returns their
 * number, -EOPNOTSUPP for a lease or a lock of an unknown kind.
 */
static int file_locks_parse(const char *buf, struct file_lock *l, int max)
{
	char kind[16], adv[16], rw[16], end[32];
	unsigned long long start;
	const char *s;
	int n = 0, pid;

	for (s = strstr(buf, "lock:"); s; s = strstr(s + 1, "lock:")) {
		if (s != buf && s[-1] != '\n')
			continue;
		if (sscanf(s, "lock:\t%*d: %15s %15s %15s %d %*s %llu %31s", kind, adv, rw, &pid,
			   &start, end) != 6)
			return -EINVAL;
		if (n == max)
			return -E2BIG;
		if (!strcmp(kind, "FLOCK"))
			l[n].kind = FILE_LOCK_KIND__FLOCK;
		else if (!strcmp(kind, "POSIX"))
			l[n].kind = FILE_LOCK_KIND__POSIX;
		else if (!strcmp(kind, "OFDLCK"))
			l[n].kind = FILE_LOCK_KIND__OFD;
		else
			return -EOPNOTSUPP;
		if (strcmp(adv, "ADVISORY") || (strcmp(rw, "READ") && strcmp(rw, "WRITE")))
			return -EOPNOTSUPP;
		l[n].write = !strcmp(rw, "WRITE");
		l[n].start = start;
		l[n].len = !strcmp(end, "EOF") ? 0 : strtoull(end, NULL, 10) - start + 1;
		n++;
	}
	return n;
}

/* The locks held through fd @fd of task @pid into *@ret_l; returns their number. Logging. */
static int file_locks_get(pid_t pid, int fd, struct file_lock **ret_l)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ struct file_lock *l = NULL;
	size_t len = 4096;
	int ret, n;

	for (;;) {
		free(buf);
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		ret = fdinfo_read(pid, fd, buf, len);
		if (ret != -E2BIG || len >= LOCK_FDINFO_MAX)
			break;
		len *= 4;
	}
	if (ret < 0)
		return pr_err_ret(ret, "fd %d of task %d: cannot read its fdinfo", fd, pid);
	n = ret / 32 + 1;
	l = calloc(n, sizeof(*l));
	if (!l)
		return -ENOMEM;
	n = file_locks_parse(buf, l, n);
	if (n == -EOPNOTSUPP) {
		pr_err("fd %d of task %d holds a lease or a mandatory lock: not supported", fd, pid);
		return n;
	}
	if (n < 0)
		return pr_err_ret(n, "fd %d of task %d: cannot parse its locks", fd, pid);
	*ret_l = TAKE_PTR(l);
	return n;
}

int file_locks_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	_cleanup_free_ struct file_lock *l = NULL;
	int n;

	n = file_locks_get(p->pid, p->fd, &l);
	if (n <= 0)
		return n;
	if (!dc->opts->file_locks) {
		pr_err("fd %d of task %d ('%s') holds a file lock: use --file-locks", p->fd,
		       p->pid, p->link);
		return -EOPNOTSUPP;
	}
	return 0;
}

int file_locks_dump(struct dump_ctx *dc, const struct reg_file *f, FileEntry *fe)
{
	_cleanup_free_ struct file_lock *l = NULL;
	FileLockEntry *e, **ep;
	int n, i;

	fe->n_locks = 0;
	fe->locks = NULL;
	if (f->fd < 0 || !dc->opts->file_locks)
		return 0;
	n = file_locks_get(dc->pid, f->fd, &l);
	if (n <= 0)
		return n;
	e = calloc(n, sizeof(*e));
	ep = calloc(n, sizeof(*ep));
	if (!e || !ep) {
		free(e);
		free(ep);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		file_lock_entry__init(&e[i]);
		e[i].kind = l[i].kind;
		e[i].write = l[i].write;
		e[i].start = l[i].start;
		e[i].len = l[i].len;
		ep[i] = &e[i];
		pr_debug("fd %d: %s lock %s %llu+%llu", f->fd,
			 l[i].kind == FILE_LOCK_KIND__FLOCK ? "flock" :
			 l[i].kind == FILE_LOCK_KIND__POSIX ? "posix" : "ofd",
			 l[i].write ? "write" : "read", (unsigned long long)l[i].start,
			 (unsigned long long)l[i].len);
	}
	fe->n_locks = (size_t)n;
	fe->locks = ep;
	return n;
}

void file_locks_release(FileEntry *fe)
{
	if (fe->n_locks)
		free(fe->locks[0]);
	free(fe->locks);
	fe->locks = NULL;
	fe->n_locks = 0;
}

/* ================================ restore side =============================== */

static int file_lock_take(int fd, const FileLockEntry *l)
{
	struct flock fl = {
		.l_type = l->write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)l->start,
		.l_len = (off_t)l->len,
	};

	switch (l->kind) {
	case FILE_LOCK_KIND__FLOCK:
		return flock(fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0 ? -errno : 0;
	case FILE_LOCK_KIND__POSIX:
		return fcntl(fd, F_SETLK, &fl) < 0 ? -errno : 0;
	case FILE_LOCK_KIND__OFD:
		return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
	default:
		return -EINVAL;
	}
}

int file_locks_restore(struct rst_files *rf, struct rst_file *f)
{
	size_t i;
	int ret;

	for (i = 0; i < f->fe->n_locks; i++) {
		ret = file_lock_take(f->fd, f->fe->locks[i]);
		if (ret < 0)
			return rst_task_err(rf->t, ret, "fd %d: cannot take its %s lock at %llu: %s",
					    f->fd, f->fe->locks[i]->kind == FILE_LOCK_KIND__FLOCK ?
					    "flock" : f->fe->locks[i]->kind == FILE_LOCK_KIND__POSIX ?
					    "posix" : "ofd", (unsigned long long)f->fe->locks[i]->start,
					    strerror(-ret));
	}
	return 0;
}
