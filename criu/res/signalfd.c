/*
 * signalfd (file_entry.signalfd): the signal mask, from fdinfo. Restore: signalfd4() with it.
 */
#define LOG_PREFIX "signalfd: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

/* ================================= dump side ================================= */

static bool signalfd_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			 struct cr_img *img)
{
	SignalfdEntry e = SIGNALFD_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	const char *s = NULL;
	char buf[1024], *end = NULL;
	int ret;

	(void)dc;
	ret = fdinfo_read(p->pid, p->fd, buf, sizeof(buf));
	if (ret >= 0) {
		s = fdinfo_field(buf, "sigmask:");
		if (s)
			e.sigmask = strtoull(s, &end, 16);
		ret = s && end != s ? 0 : -ENOENT;
	}
	if (ret < 0)
		return pr_err_ret(ret, "signalfd %d of task %d: cannot read its mask", p->fd,
				  p->pid);
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	fe.type = FD_TYPES__SIGNALFD;
	fe.id = id;
	fe.signalfd = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: signalfd, mask %#llx", p->fd, (unsigned long long)e.sigmask);
	return 0;
}

/* ================================ restore side =============================== */

static int signalfd_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	(void)c;
	if (!fe->signalfd) {
		pr_err("%s: file %u has no signalfd entry", what, fe->id);
		return -EBADMSG;
	}
	return 0;
}

static int signalfd_open(struct rst_files *rf, struct rst_file *f)
{
	const SignalfdEntry *e = f->fe->signalfd;
	int flags = SFD_CLOEXEC | (e->flags & O_NONBLOCK ? SFD_NONBLOCK : 0);
	uint64_t mask = e->sigmask;
	long fd;

	fd = syscall(SYS_signalfd4, -1, &mask, sizeof(mask), flags);
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "signalfd %u: cannot create it: %m", e->id);
	return (int)fd;
}

const struct res_ops signalfd_ops = {
	.name		= "signalfd",
	.fd_type	= FD_TYPES__SIGNALFD,
	.match		= signalfd_match,
	.dump		= signalfd_dump,
	.check		= signalfd_check,
	.open		= signalfd_open,
};
