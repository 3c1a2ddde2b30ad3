/*
 * Pipes and FIFOs (file_entry.pipe, file_entry.fifo: PipeEntry).
 *
 * Dump: every end is one entry; the ends of one pipe share pipe_id (the inode). The bytes queued
 * in a pipe are copied once, by the first entry of the pipe, with tee() into a pipe of ours of
 * the same capacity (nothing is consumed), then spliced into pipe-data-<pipe_id>.img.
 * Restore: the first entry of a pipe the task uses creates it (pipe2, or opening the FIFO
 * O_RDWR), sets its capacity and writes the queued bytes back, and keeps both ends above the
 * task's fds; each entry then gets its end (dup, or a new open file description for a second
 * one of the same direction), with its O_NONBLOCK. Packet-mode pipes (O_DIRECT) are created
 * so; with data queued they are refused (the packet boundaries would be lost).
 */
#define LOG_PREFIX "pipe: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#define DELETED_SUFFIX	" (deleted)"

/* ================================= dump side ================================= */

static bool pipe_match(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && !strncmp(p->link, "pipe:", 5);
}

static bool fifo_match(const struct fd_parms *p)
{
	return S_ISFIFO(p->st.st_mode) && p->link[0] == '/';
}

static int fifo_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	size_t l = strlen(p->link), sl = strlen(DELETED_SUFFIX);

	(void)dc;
	if (l >= sl && !strcmp(p->link + l - sl, DELETED_SUFFIX)) {
		pr_err("fd %d of task %d is a fifo that was unlinked ('%s'): not supported",
		       p->fd, p->pid, p->link);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Is @id the first entry of the pipe or FIFO @p (whose entry carries the data)? */
static bool pipe_first(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id)
{
	const struct reg_file *f;
	size_t i;

	for (i = 0; i < dc->files.nr && dc->files.f[i].id != id; i++) {
		f = &dc->files.f[i];
		if ((f->ops == &pipe_ops || f->ops == &fifo_ops) &&
		    f->dev == (uint64_t)p->st.st_dev && f->ino == (uint64_t)p->st.st_ino)
			return false;
	}
	return true;
}

/* Copy the queued bytes of the pipe of @p (criu's copy p->lfd) into pipe-data-@pipe_id.img. */
static int pipe_dump_data(struct dump_ctx *dc, const struct fd_parms *p, uint32_t pipe_id,
			  int size, uint64_t *ret_len)
{
	_cleanup_close_ int rfd = -1, t0 = -1, t1 = -1;
	char path[64];
	int queued = 0, tp[2];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->lfd);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		return pr_err_ret(-errno, "fd %d of task %d: cannot open a read end", p->fd, p->pid);
	if (ioctl(rfd, FIONREAD, &queued) < 0)
		return pr_err_ret(-errno, "fd %d of task %d: FIONREAD", p->fd, p->pid);
	*ret_len = (uint64_t)queued;
	if (!queued)
		return 0;
	if (p->fi.flags & O_DIRECT) {
		pr_err("fd %d of task %d is a packet-mode (O_DIRECT) pipe with data queued: "
		       "not supported", p->fd, p->pid);
		return -EOPNOTSUPP;
	}
	if (pipe2(tp, O_CLOEXEC) < 0)
		return pr_err_ret(-errno, "cannot create a pipe");
	t0 = tp[0];
	t1 = tp[1];
	if (fcntl(t1, F_SETPIPE_SZ, size) < 0)
		return pr_err_ret(-errno, "cannot size a pipe to %d bytes", size);
	n = tee(rfd, t1, (size_t)queued, SPLICE_F_NONBLOCK);
	if (n != queued) {
		if (n < 0)
			return pr_err_ret(-errno, "fd %d of task %d: tee", p->fd, p->pid);
		pr_err("fd %d of task %d: tee copied %zd of %d queued bytes", p->fd, p->pid, n,
		       queued);
		return -EIO;
	}
	close(TAKE_FD(t1));
	n = files_data_dump(dc, IMG_PIPE_DATA, pipe_id, t0, (uint64_t)queued);
	if (n < 0)
		return pr_err_ret((int)n, "cannot write pipe-data-%u.img", pipe_id);
	return 0;
}

static int pipe_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
		     struct cr_img *img)
{
	FileEntry fe = FILE_ENTRY__INIT;
	PipeEntry pe = PIPE_ENTRY__INIT;
	bool fifo = fifo_match(p);
	const struct reg_file *f;
	uint64_t len = 0;
	int size, ret;

	pe.id = id;
	pe.pipe_id = (uint32_t)p->st.st_ino;
	pe.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK | (fifo ? 0 : O_DIRECT));
	size = fcntl(p->lfd, F_GETPIPE_SZ);
	if (size < 0)
		return pr_err_ret(-errno, "fd %d of task %d: F_GETPIPE_SZ", p->fd, p->pid);
	pe.has_pipe_size = true;
	pe.pipe_size = (uint32_t)size;
	f = reg_file_get(&dc->files, id);
	if (f && f->peer_pid && !fifo) {
		pe.has_peer_pid = pe.has_peer_fd = true;
		pe.peer_pid = f->peer_pid;
		pe.peer_fd = (uint32_t)f->peer_fd;
	}
	if ((!f || !f->peer_pid) && pipe_first(dc, p, id)) {	/* a peer task has the data */
		ret = pipe_dump_data(dc, p, pe.pipe_id, size, &len);
		if (ret < 0)
			return ret;
		pe.has_has_data = true;
		pe.has_data = true;
		pe.has_data_len = true;
		pe.data_len = len;
	}
	if (fifo)
		pe.name = (char *)p->link;

	fe.id = id;
	if (fifo) {
		fe.type = FD_TYPES__FIFO;
		fe.fifo = &pe;
	} else {
		fe.type = FD_TYPES__PIPE;
		fe.pipe = &pe;
	}
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: %s %u, %s, %" PRIu64 " bytes queued", p->fd, fifo ? "fifo" : "pipe",
		 pe.pipe_id, (pe.flags & O_ACCMODE) == O_RDONLY ? "read end" : "write end", len);
	return 0;
}

/* ================================ restore side =============================== */

static const PipeEntry *pipe_entry(const FileEntry *fe)
{
	return fe->type == FD_TYPES__FIFO ? fe->fifo : fe->pipe;
}

static int pipe_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const PipeEntry *pe = pipe_entry(fe);
	struct stat st;

	(void)c;
	if (!pe) {
		pr_err("%s: file %u has no pipe entry", what, fe->id);
		return -EBADMSG;
	}
	if (fe->type != FD_TYPES__FIFO)
		return 0;
	if (!pe->name) {
		pr_err("%s: fifo %u has no name", what, fe->id);
		return -EBADMSG;
	}
	if (stat(pe->name, &st) < 0)
		return pr_err_ret(-errno, "%s: cannot find the fifo '%s'", what, pe->name);
	if (!S_ISFIFO(st.st_mode)) {
		pr_err("%s: '%s' is no longer a fifo", what, pe->name);
		return -EINVAL;
	}
	return 0;
}

/* The entry of the pipe of @pe holding its ends (aux: read or O_RDWR end, aux2: write end). */
static struct rst_file *pipe_holder(struct rst_files *rf, const PipeEntry *pe)
{
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		struct rst_file *f = &rf->f[i];

		if (f->ops != &pipe_ops && f->ops != &fifo_ops)
			continue;
		if (f->aux >= 0 && pipe_entry(f->fe)->pipe_id == pe->pipe_id)
			return f;
	}
	return NULL;
}

/* The entry of the pipe of @pe that carries its data, or NULL. */
static const PipeEntry *pipe_data_entry(struct rst_files *rf, const PipeEntry *pe)
{
	const PipeEntry *o;
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		if (!rf->f[i].used || (rf->f[i].ops != &pipe_ops && rf->f[i].ops != &fifo_ops))
			continue;
		o = pipe_entry(rf->f[i].fe);
		if (o && o->pipe_id == pe->pipe_id && o->has_data)
			return o;
	}
	return NULL;
}

static int pipe_fill(struct rst_files *rf, const PipeEntry *pe, int wfd)
{
	const PipeEntry *d;

	if (pe->has_pipe_size && fcntl(wfd, F_SETPIPE_SZ, pe->pipe_size) < 0)
		return rst_task_err(rf->t, -errno, "pipe %u: cannot set its size to %u: %m",
				    pe->pipe_id, pe->pipe_size);
	d = pipe_data_entry(rf, pe);
	if (d && d->data_len)
		return rst_files_data_fill(rf, IMG_PIPE_DATA, pe->pipe_id, wfd, d->data_len);
	return 0;
}

/* O_DIRECT if the write end of the pipe of @pe is in packet mode (only it has the flag). */
static int pipe_direct(struct rst_files *rf, const PipeEntry *pe)
{
	const PipeEntry *o;
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		if (rf->f[i].ops != &pipe_ops)
			continue;
		o = pipe_entry(rf->f[i].fe);
		if (o && o->pipe_id == pe->pipe_id && (o->flags & O_DIRECT))
			return O_DIRECT;
	}
	return 0;
}

static int pipe_prepare(struct rst_files *rf, struct rst_file *f)
{
	const PipeEntry *pe = pipe_entry(f->fe);
	int p[2];

	if (pipe_holder(rf, pe) || (pe->has_peer_pid && pe->peer_pid))
		return 0;	/* made already, or reached through the task that has it */
	if (f->fe->type == FD_TYPES__FIFO) {
		p[0] = open(pe->name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (p[0] < 0)
			return rst_task_err(rf->t, -errno, "cannot open the fifo '%s': %m",
					    pe->name);
		p[1] = -1;
	} else if (pipe2(p, O_CLOEXEC | pipe_direct(rf, pe)) < 0) {
		return rst_task_err(rf->t, -errno, "cannot create a pipe: %m");
	}
	f->aux = rst_files_stash(rf, p[0]);
	if (p[1] >= 0)
		f->aux2 = rst_files_stash(rf, p[1]);
	if (f->aux < 0 || (p[1] >= 0 && f->aux2 < 0))
		return rst_task_err(rf->t, f->aux < 0 ? f->aux : f->aux2,
				    "cannot move a pipe end up: %m");
	return pipe_fill(rf, pe, f->aux2 >= 0 ? f->aux2 : f->aux);
}

/* Has an entry of the same pipe and direction as @f already got its end? */
static bool pipe_end_taken(struct rst_files *rf, const struct rst_file *f)
{
	const PipeEntry *pe = pipe_entry(f->fe), *o;
	size_t i;

	for (i = 0; i < rf->nr; i++) {
		if (&rf->f[i] == f || rf->f[i].fd < 0 || rf->f[i].ops != f->ops)
			continue;
		o = pipe_entry(rf->f[i].fe);
		if (o->pipe_id == pe->pipe_id &&
		    (o->flags & O_ACCMODE) == (pe->flags & O_ACCMODE))
			return true;
	}
	return false;
}

static int pipe_open(struct rst_files *rf, struct rst_file *f)
{
	const PipeEntry *pe = pipe_entry(f->fe);
	struct rst_file *h = pipe_holder(rf, pe);
	int acc = pe->flags & O_ACCMODE, end, fd;
	char path[64];

	if (pe->has_peer_pid && pe->peer_pid) {
		fd = rst_files_wait_task(rf, pe->peer_pid);
		if (fd < 0)
			return fd;
		fd = rst_files_reopen_peer(rf, pe->peer_pid, (int)pe->peer_fd, acc);
		if (fd < 0)
			return fd;
	} else if (!h) {
		return rst_task_err(rf->t, -ENOENT, "pipe %u was not created", pe->pipe_id);
	} else if (f->fe->type == FD_TYPES__FIFO) {
		fd = open(pe->name, acc | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return rst_task_err(rf->t, -errno, "cannot open the fifo '%s': %m",
					    pe->name);
	} else {
		end = acc == O_RDONLY ? h->aux : h->aux2;
		if (pipe_end_taken(rf, f) || acc == O_RDWR) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", end);
			fd = open(path, acc | O_CLOEXEC);
		} else {
			fd = fcntl(end, F_DUPFD_CLOEXEC, 0);
		}
		if (fd < 0)
			return rst_task_err(rf->t, -errno, "pipe %u: cannot get its %s end: %m",
					    pe->pipe_id, acc == O_RDONLY ? "read" : "write");
	}
	if (fcntl(fd, F_SETFL, pe->flags & (O_NONBLOCK | O_DIRECT)) < 0) {	/* pipes: allowed */
		int err = rst_task_err(rf->t, -errno, "pipe %u: cannot set its flags: %m",
				       pe->pipe_id);

		close(fd);
		return err;
	}
	return fd;
}

const struct res_ops pipe_ops = {
	.name		= "pipe",
	.fd_type	= FD_TYPES__PIPE,
	.match		= pipe_match,
	.need_lfd	= true,
	.dump		= pipe_dump,
	.check		= pipe_check,
	.prepare	= pipe_prepare,
	.open		= pipe_open,
};

const struct res_ops fifo_ops = {
	.name		= "fifo",
	.fd_type	= FD_TYPES__FIFO,
	.match		= fifo_match,
	.need_lfd	= true,
	.can_dump	= fifo_can_dump,
	.dump		= pipe_dump,
	.check		= pipe_check,
	.prepare	= pipe_prepare,
	.open		= pipe_open,
};
