/*
 * memfd (file_entry.memfd): name, size, mode, seals and contents; the contents go once per
 * memfd into memfd-data-<inode_id>.img, inode_id being the id of its first entry.
 * Restore: the first entry of a memfd the task uses creates it (memfd_create() with
 * MFD_ALLOW_SEALING, contents written back, then the seals), kept above the task's fds; every
 * entry opens it again through /proc/self/fd with its own flags and offset.
 * Mappings of memfds are refused by mm.c.
 */
#define LOG_PREFIX "memfd: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#define MEMFD_PREFIX		"/memfd:"
#define DELETED_SUFFIX		" (deleted)"
#define HUGETLBFS_MAGIC		0x958458f6

/* ================================= dump side ================================= */

static bool memfd_match(const struct fd_parms *p)
{
	return S_ISREG(p->st.st_mode) && !strncmp(p->link, MEMFD_PREFIX, strlen(MEMFD_PREFIX));
}

static int memfd_can_dump(struct dump_ctx *dc, const struct fd_parms *p)
{
	struct statfs sfs;
	char path[64];

	(void)dc;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, p->fd);
	if (statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
		pr_err("fd %d of task %d is a hugetlb memfd ('%s'): not supported", p->fd, p->pid,
		       p->link);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* The id of the first entry of the memfd of @p (which carries the data). */
static uint32_t memfd_inode_id(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id)
{
	const struct reg_file *f;
	size_t i;

	for (i = 0; i < dc->files.nr && dc->files.f[i].id != id; i++) {
		f = &dc->files.f[i];
		if (f->ops == &memfd_ops && f->dev == (uint64_t)p->st.st_dev &&
		    f->ino == (uint64_t)p->st.st_ino)
			return f->id;
	}
	return id;
}

static int memfd_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
		      struct cr_img *img)
{
	MemfdEntry e = MEMFD_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	char name[4096];
	size_t l, sl = strlen(DELETED_SUFFIX);
	const struct reg_file *f;
	struct stat st;
	int seals, ret;

	snprintf(name, sizeof(name), "%s", p->link + strlen(MEMFD_PREFIX));
	l = strlen(name);
	if (l >= sl && !strcmp(name + l - sl, DELETED_SUFFIX))
		name[l - sl] = '\0';
	if (fstat(p->lfd, &st) < 0)
		return pr_err_ret(-errno, "memfd %d of task %d: fstat", p->fd, p->pid);
	seals = fcntl(p->lfd, F_GET_SEALS);
	if (seals < 0)
		return pr_err_ret(-errno, "memfd %d of task %d: F_GET_SEALS", p->fd, p->pid);

	e.id = id;
	e.flags = p->fi.flags & ~O_CLOEXEC;
	e.pos = p->fi.pos;
	e.name = name;
	e.size = (uint64_t)st.st_size;
	e.seals = (uint32_t)seals;
	e.inode_id = memfd_inode_id(dc, p, id);
	e.has_mode = true;
	e.mode = st.st_mode & 07777;
	f = reg_file_get(&dc->files, id);
	if (f && f->peer_pid) {
		e.has_peer_pid = e.has_peer_fd = true;
		e.peer_pid = f->peer_pid;
		e.peer_fd = (uint32_t)f->peer_fd;
	}
	if (e.inode_id == id && e.size && !e.has_peer_pid) {
		ret = files_data_dump(dc, IMG_MEMFD_DATA, id, p->lfd, e.size);
		if (ret < 0)
			return pr_err_ret(ret, "memfd %d of task %d: cannot write its contents",
					  p->fd, p->pid);
	}
	fe.type = FD_TYPES__MEMFD;
	fe.id = id;
	fe.memfd = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: memfd '%s', %llu bytes, seals %#x, inode of file %u", p->fd, name,
		 (unsigned long long)e.size, e.seals, e.inode_id);
	return 0;
}

/* ================================ restore side =============================== */

static int memfd_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const FileEntry *d;

	if (!fe->memfd) {
		pr_err("%s: file %u has no memfd entry", what, fe->id);
		return -EBADMSG;
	}
	d = rst_file_entry(c, fe->memfd->inode_id);
	if (!d || d->type != FD_TYPES__MEMFD || !d->memfd) {
		pr_err("%s: memfd %u: its inode's entry %u is missing", what, fe->id,
		       fe->memfd->inode_id);
		return -EBADMSG;
	}
	return 0;
}

/* The entry of the task holding the memfd of @e created (aux), or NULL. */
static struct rst_file *memfd_holder(struct rst_files *rf, const MemfdEntry *e)
{
	size_t i;

	for (i = 0; i < rf->nr; i++)
		if (rf->f[i].ops == &memfd_ops && rf->f[i].aux >= 0 &&
		    rf->f[i].fe->memfd->inode_id == e->inode_id)
			return &rf->f[i];
	return NULL;
}

static int memfd_prepare(struct rst_files *rf, struct rst_file *f)
{
	const MemfdEntry *e = rst_file_entry(rf->t->c, f->fe->memfd->inode_id)->memfd;
	int fd, ret;

	if (memfd_holder(rf, e) || (f->fe->memfd->has_peer_pid && f->fe->memfd->peer_pid))
		return 0;	/* made already, or reached through the task that has it */
	fd = memfd_create(e->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "memfd '%s': cannot create it: %m", e->name);
	f->aux = rst_files_stash(rf, fd);
	if (f->aux < 0)
		return rst_task_err(rf->t, f->aux, "memfd '%s': cannot move it up", e->name);
	if (ftruncate(f->aux, (off_t)e->size) < 0)
		return rst_task_err(rf->t, -errno, "memfd '%s': cannot size it: %m", e->name);
	if (e->size) {
		ret = rst_files_data_fill(rf, IMG_MEMFD_DATA, e->id, f->aux, e->size);
		if (ret < 0)
			return ret;
	}
	if (e->has_mode && fchmod(f->aux, e->mode) < 0)
		return rst_task_err(rf->t, -errno, "memfd '%s': chmod: %m", e->name);
	if (e->seals && fcntl(f->aux, F_ADD_SEALS, e->seals) < 0)
		return rst_task_err(rf->t, -errno, "memfd '%s': cannot seal it (%#x): %m",
				    e->name, e->seals);
	return 0;
}

static int memfd_open(struct rst_files *rf, struct rst_file *f)
{
	const MemfdEntry *e = f->fe->memfd;
	struct rst_file *h = memfd_holder(rf, e);
	char path[64];
	int fd, err;

	if (e->has_peer_pid && e->peer_pid) {
		fd = rst_files_wait_task(rf, e->peer_pid);
		if (fd >= 0)
			fd = rst_files_reopen_peer(rf, e->peer_pid, (int)e->peer_fd, (int)e->flags);
		if (fd < 0)
			return fd;
		goto seek;
	}
	if (!h)
		return rst_task_err(rf->t, -ENOENT, "memfd %u was not created", e->id);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", h->aux);
	fd = open(path, (e->flags & ~(O_CREAT | O_EXCL | O_TRUNC)) | O_CLOEXEC);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "memfd '%s': cannot open it again: %m",
				    e->name);
seek:
	if (lseek(fd, (off_t)e->pos, SEEK_SET) < 0) {
		err = rst_task_err(rf->t, -errno, "memfd '%s': cannot seek: %m", e->name);
		close(fd);
		return err;
	}
	return fd;
}

const struct res_ops memfd_ops = {
	.name		= "memfd",
	.fd_type	= FD_TYPES__MEMFD,
	.match		= memfd_match,
	.need_lfd	= true,
	.can_dump	= memfd_can_dump,
	.dump		= memfd_dump,
	.check		= memfd_check,
	.prepare	= memfd_prepare,
	.open		= memfd_open,
};
