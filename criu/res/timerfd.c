/*
 * timerfd (file_entry.timerfd): clock, settime flags, time left, interval and the expirations
 * not read yet, from fdinfo.
 * Restore: timerfd_create(), armed with the time that was left (an absolute timer: now + left,
 * so TFD_TIMER_CANCEL_ON_SET stays), then TFD_IOC_SET_TICKS puts the unread expirations back.
 */
#define LOG_PREFIX "timerfd: "
#include "res/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>

#include "core/image.h"
#include "core/log.h"
#include "images/fdinfo.pb-c.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS	_IOW('T', 0, uint64_t)	/* <linux/timerfd.h>, clashes with libc */
#endif
#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET	(1 << 1)
#endif

/* ================================= dump side ================================= */

static bool timerfd_match(const struct fd_parms *p)
{
	return !strcmp(p->link, "anon_inode:[timerfd]");
}

/* Non-logging: the settings of fdinfo text @buf into @e. */
static int timerfd_parse(const char *buf, TimerfdEntry *e)
{
	const char *s;
	unsigned long long a, b;

	s = fdinfo_field(buf, "clockid:");
	if (!s)
		return -ENOENT;
	e->clockid = (uint32_t)strtoul(s, NULL, 10);
	s = fdinfo_field(buf, "ticks:");
	if (!s)
		return -ENOENT;
	e->ticks = strtoull(s, NULL, 10);
	s = fdinfo_field(buf, "settime flags:");
	if (!s)
		return -ENOENT;
	e->settime_flags = (uint32_t)strtoul(s, NULL, 8);
	s = fdinfo_field(buf, "it_value:");
	if (!s || sscanf(s, " (%llu, %llu)", &a, &b) != 2)
		return -ENOENT;
	e->vsec = a;
	e->vnsec = b;
	s = fdinfo_field(buf, "it_interval:");
	if (!s || sscanf(s, " (%llu, %llu)", &a, &b) != 2)
		return -ENOENT;
	e->isec = a;
	e->insec = b;
	return 0;
}

static int timerfd_dump(struct dump_ctx *dc, const struct fd_parms *p, uint32_t id,
			struct cr_img *img)
{
	TimerfdEntry e = TIMERFD_ENTRY__INIT;
	FileEntry fe = FILE_ENTRY__INIT;
	char buf[1024];
	int ret;

	(void)dc;
	ret = fdinfo_read(p->pid, p->fd, buf, sizeof(buf));
	if (ret >= 0)
		ret = timerfd_parse(buf, &e);
	if (ret < 0)
		return pr_err_ret(ret, "timerfd %d of task %d: cannot read its settings", p->fd,
				  p->pid);
	e.id = id;
	e.flags = p->fi.flags & (O_ACCMODE | O_NONBLOCK);
	fe.type = FD_TYPES__TIMERFD;
	fe.id = id;
	fe.timerfd = &e;
	ret = img_write(img, &fe.base);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write %s", img_error(img));
	pr_debug("fd %d: timerfd clock %u, left %llu.%09llu, interval %llu.%09llu, %llu ticks",
		 p->fd, e.clockid, (unsigned long long)e.vsec, (unsigned long long)e.vnsec,
		 (unsigned long long)e.isec, (unsigned long long)e.insec,
		 (unsigned long long)e.ticks);
	return 0;
}

/* ================================ restore side =============================== */

static int timerfd_check(const struct rst_ctx *c, const FileEntry *fe, const char *what)
{
	const TimerfdEntry *e = fe->timerfd;

	(void)c;
	if (!e) {
		pr_err("%s: file %u has no timerfd entry", what, fe->id);
		return -EBADMSG;
	}
	if (e->vnsec >= 1000000000ULL || e->insec >= 1000000000ULL) {
		pr_err("%s: timerfd %u has bad times", what, fe->id);
		return -EBADMSG;
	}
	return 0;
}

static int timerfd_arm(int fd, const TimerfdEntry *e)
{
	struct itimerspec its = {
		.it_value = { (time_t)e->vsec, (long)e->vnsec },
		.it_interval = { (time_t)e->isec, (long)e->insec },
	};
	struct timespec now;
	int flags = 0;

	if (!e->vsec && !e->vnsec) {
		if (!e->isec && !e->insec)
			return 0;	/* disarmed */
		/* expired, not yet forwarded (its tick is counted): next one an interval on */
		its.it_value = its.it_interval;
	}
	if (e->settime_flags & TFD_TIMER_ABSTIME) {
		if (clock_gettime(e->clockid, &now) < 0)
			return -errno;
		its.it_value.tv_sec += now.tv_sec;
		its.it_value.tv_nsec += now.tv_nsec;
		if (its.it_value.tv_nsec >= 1000000000L) {
			its.it_value.tv_sec++;
			its.it_value.tv_nsec -= 1000000000L;
		}
		flags = e->settime_flags & (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
	}
	return timerfd_settime(fd, flags, &its, NULL) < 0 ? -errno : 0;
}

static int timerfd_open(struct rst_files *rf, struct rst_file *f)
{
	const TimerfdEntry *e = f->fe->timerfd;
	uint64_t ticks = e->ticks;
	int fd, ret;

	fd = timerfd_create(e->clockid, TFD_CLOEXEC | (e->flags & O_NONBLOCK ? TFD_NONBLOCK : 0));
	if (fd < 0)
		return rst_task_err(rf->t, -errno, "timerfd %u: cannot create it (clock %u): %m",
				    e->id, e->clockid);
	ret = timerfd_arm(fd, e);
	if (ret < 0) {
		rst_task_err(rf->t, ret, "timerfd %u: cannot arm it: %s", e->id, strerror(-ret));
		close(fd);
		return ret;
	}
	if (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0) {
		ret = rst_task_err(rf->t, -errno, "timerfd %u: cannot set %llu ticks: %m", e->id,
				   (unsigned long long)ticks);
		close(fd);
		return ret;
	}
	return fd;
}

const struct res_ops timerfd_ops = {
	.name		= "timerfd",
	.fd_type	= FD_TYPES__TIMERFD,
	.match		= timerfd_match,
	.dump		= timerfd_dump,
	.check		= timerfd_check,
	.open		= timerfd_open,
};
