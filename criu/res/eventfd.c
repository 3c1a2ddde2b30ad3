/*
 * eventfd (file_entry.eventfd): the counter and the semaphore flag, from fdinfo.
 * Restore: eventfd() with the counter (written when it does not fit eventfd()'s initval).
 */
#define LOG_PREFIX "eventfd: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

/* ================================= dump side ================================= */

static bool eventfd_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

/* Non-logging: the counter and the semaphore flag of @buf (fdinfo text). */
static int eventfd_parse(const char *buf, uint64_t *ret_count, bool *ret_sem)
{
	const char *s = fdinfo_field(buf, "eventfd-count:");
	char *end;

	if (!s)
		return -ENOENT;
	*ret_count = strtoull(s, &end, 16);
	if (end == s)
		return -EINVAL;
	s = fdinfo_field(buf, "eventfd-semaphore:");
	*ret_sem = s && strtoul(s, NULL, 10) != 0;
	return 0;
}

static int eventfd_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			struct cr_img *img)
{
	EventfdEntry e = EVENTFD_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	char buf[1024];
	bool sem = false;
	int ret;

	(void)dc;
	ret = fdinfo_read(p->pid, p->fd, buf, sizeof(buf));
	if (ret >= 0)
		ret = eventfd_parse(buf, &e.counter, &sem);
	if (ret < 0)
		return pr_err_ret(ret, "eventfd %d of task %d: cannot read its counter", p->fd,
				  p->pid);
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	e.has_semaphore = true;
	e.semaphore = sem;
	fe.type = FD_TYPES__EVENTFD;
	fe.id = id;
	fe.eventfd = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: eventfd, counter %llu%s", p->fd, (unsigned long long)e.counter,
		 sem ? ", semaphore" : "");
	return 0;
}

/* ================================ restore side =============================== */

static int eventfd_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	(void)c;
	if (!fe->eventfd) {
		pr_err("%s: file %u has no eventfd entry", what, fe->id);
		return -EBADMSG;
	}
	if (fe->eventfd->counter == UINT64_MAX) {
		pr_err("%s: eventfd counter %llu out of range", what,
		       (unsigned long long)fe->eventfd->counter);
		return -EBADMSG;
	}
	return 0;
}

static int eventfd_open(struct rst_files *rf, struct rst_file *f)
{
	const EventfdEntry *e = f->fe->eventfd;
	int flags = EFD_CLOEXEC | (e->flags & O_NONBLOCK ? EFD_NONBLOCK : 0);
	uint64_t v = e->counter;
	int fd;

	if (e->semaphore)
		flags |= EFD_SEMAPHORE;
	fd = eventfd(v <= 0xffffffffu ? (unsigned int)v : 0, flags);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "eventfd %u: cannot create it: %m", e->id);
	if (v > 0xffffffffu && write(fd, &v, sizeof(v)) != sizeof(v)) {
		int err = rst_task_err(rf->t, -errno, "eventfd %u: cannot set its counter: %m",
				       e->id);

		close(fd);
		return err;
	}
	return fd;
}

const struct res_ops eventfd_ops = {
	.name		= "eventfd",
	.fd_type	= FD_TYPES__EVENTFD,
	.match		= eventfd_match,
	.dump		= eventfd_dump,
	.check		= eventfd_check,
	.open		= eventfd_open,
};
