/*
 * POSIX timers (timer_create(2)) of a process.
 *
 * Dump: /proc/PID/timers lists each timer's id, signal and value, how it notifies (and which
 * thread) and its clock; the time left and the interval come from timer_gettime(2), run in the
 * seized task (its answer written below the red zone of its stack and read back at once), and
 * the overrun count from timer_getoverrun(2). They go into core-PID.img.
 * Restore: the restorer creates each timer with its id (prctl PR_TIMER_CREATE_RESTORE_IDS,
 * Linux 6.17) and arms it with the time that was left, as the last thing before rt_sigreturn
 * (see set_timers() in criu/pie/restorer.c). The overrun count cannot be set again: it starts
 * from zero.
 */
#define LOG_PREFIX "timers: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "core/log.h"
#include "images/core.pb-c.h"

/* ================================= dump side ================================= */

#define SIGEV_SIGNAL_		0
#define SIGEV_NONE_		1
#define SIGEV_THREAD_		2
#define SIGEV_THREAD_ID_	4
#define TIMERS_BUF_SIZE		(1024 * 1024)

static int timer_add(struct dump_ctx *dc, struct dump_posix_timer **ret_t)
{
	struct dump_posix_timer *n;

	n = realloc(dc->ptimers, (dc->nr_ptimers + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	dc->ptimers = n;
	*ret_t = &n[dc->nr_ptimers++];
	memset(*ret_t, 0, sizeof(**ret_t));
	return 0;
}

/* "notify: signal/pid.123", "none/pid.123", "signal/tid.124", ... */
static int parse_notify(const char *s, struct dump_posix_timer *t)
{
	char how[16], who[8];
	int id;

	if (sscanf(s, "%15[a-z]/%7[a-z].%d", how, who, &id) != 3)
		return -EINVAL;
	if (!strcmp(how, "signal"))
		t->notify = SIGEV_SIGNAL_;
	else if (!strcmp(how, "none"))
		t->notify = SIGEV_NONE_;
	else if (!strcmp(how, "thread"))
		t->notify = SIGEV_THREAD_;
	else
		return -EINVAL;
	if (!strcmp(who, "tid")) {
		t->notify |= SIGEV_THREAD_ID_;
		t->notify_tid = id;
	} else if (strcmp(who, "pid")) {
		return -EINVAL;
	}
	return 0;
}

/* Non-logging: the text of /proc/PID/timers into dc->ptimers. */
int timers_parse(struct dump_ctx *dc, const char *buf)
{
	struct dump_posix_timer *t = NULL;
	const char *line, *nl;
	unsigned long long v;
	int ret = 0, n;

	for (line = buf; *line && ret == 0; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		if (!strncmp(line, "ID:", 3)) {
			ret = timer_add(dc, &t);
			if (ret == 0 && sscanf(line + 3, "%d", &t->id) != 1)
				ret = -EINVAL;
		} else if (!t) {
			ret = -EINVAL;
		} else if (!strncmp(line, "signal:", 7)) {
			if (sscanf(line + 7, "%d/%llx", &n, &v) != 2)
				ret = -EINVAL;
			t->signo = n;
			t->sival = v;
		} else if (!strncmp(line, "notify:", 7)) {
			ret = parse_notify(line + 8, t);
		} else if (!strncmp(line, "ClockID:", 8)) {
			if (sscanf(line + 8, "%d", &t->clock_id) != 1)
				ret = -EINVAL;
		}
	}
	return ret;
}

/* struct itimerspec of x86_64. */
struct its_raw {
	int64_t isec, insec, vsec, vnsec;
};

static int timer_read_remote(struct dump_ctx *dc, struct compel_ctl *ctl, uint64_t at,
			     struct dump_posix_timer *t)
{
	struct its_raw its;
	struct iovec local = { &its, sizeof(its) }, remote = { (void *)at, sizeof(its) };
	long r;
	int ret;

	ret = compel_syscall(ctl, __NR_timer_gettime, &r, t->id, at, 0, 0, 0, 0);
	if (ret == 0 && r < 0)
		ret = (int)r;
	if (ret < 0)
		return pr_err_ret(ret, "timer_gettime(%d) in task %d failed", t->id, dc->pid);
	if (process_vm_readv(dc->pid, &local, 1, &remote, 1, 0) != sizeof(its))
		return pr_err_ret(-errno, "cannot read the timer of task %d", dc->pid);
	ret = compel_syscall(ctl, __NR_timer_getoverrun, &r, t->id, 0, 0, 0, 0, 0);
	if (ret == 0 && r < 0)
		ret = (int)r;
	if (ret < 0)
		return pr_err_ret(ret, "timer_getoverrun(%d) in task %d failed", t->id, dc->pid);
	t->isec = its.isec;
	t->insec = its.insec;
	t->vsec = its.vsec;
	t->vnsec = its.vnsec;
	t->overrun = r;
	if (r > 0)
		pr_warn("timer %d of task %d: its overrun count %ld is lost: Linux has no call to "
			"set it, timer_getoverrun() reads 0 until the timer overruns again", t->id,
			dc->pid, r);
	return 0;
}

int timers_collect(struct dump_ctx *dc, struct compel_ctl *ctl)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct user_regs_struct regs;
	char path[64];
	size_t len = 0;
	ssize_t n;
	int i, ret;

	snprintf(path, sizeof(path), "/proc/%d/timers", dc->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pr_err_ret(-errno, "cannot open %s", path);
	buf = malloc(TIMERS_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	while ((n = read(fd, buf + len, TIMERS_BUF_SIZE - 1 - len)) > 0)
		len += n;
	if (n < 0)
		return pr_err_ret(-errno, "cannot read %s", path);
	buf[len] = '\0';
	ret = timers_parse(dc, buf);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse %s", path);
	if (!dc->nr_ptimers)
		return 0;

	ret = compel_get_regs(ctl, &regs);
	if (ret < 0)
		return pr_err_ret(ret, "cannot get the registers of task %d", dc->pid);
	for (i = 0; i < dc->nr_ptimers; i++) {
		ret = timer_read_remote(dc, ctl, ((uint64_t)regs.rsp - 2048) & ~15ULL,
					&dc->ptimers[i]);
		if (ret < 0)
			return ret;
	}
	pr_info("task %d: %d posix timers", dc->pid, dc->nr_ptimers);
	return 0;
}

void timers_release(struct dump_ctx *dc)
{
	free(dc->ptimers);
	dc->ptimers = NULL;
	dc->nr_ptimers = 0;
}

int timers_fill_core(const struct dump_ctx *dc, TaskCoreEntry *tc, void **ret_mem)
{
	PosixTimerEntry **ptrs, *e;
	int i;

	*ret_mem = NULL;
	if (!dc->nr_ptimers)
		return 0;
	ptrs = calloc(1, dc->nr_ptimers * (sizeof(*ptrs) + sizeof(*e)));
	if (!ptrs)
		return -ENOMEM;
	e = (PosixTimerEntry *)(ptrs + dc->nr_ptimers);
	for (i = 0; i < dc->nr_ptimers; i++) {
		const struct dump_posix_timer *t = &dc->ptimers[i];

		posix_timer_entry__init(&e[i]);
		e[i].id = t->id;
		e[i].clock_id = t->clock_id;
		e[i].notify = t->notify;
		if (t->notify & SIGEV_THREAD_ID_) {
			e[i].has_notify_tid = true;
			e[i].notify_tid = t->notify_tid;
		}
		e[i].signo = t->signo;
		e[i].sival = t->sival;
		e[i].isec = t->isec;
		e[i].insec = t->insec;
		e[i].vsec = t->vsec;
		e[i].vnsec = t->vnsec;
		e[i].has_overrun = true;
		e[i].overrun = t->overrun;
		ptrs[i] = &e[i];
	}
	tc->n_posix_timers = dc->nr_ptimers;
	tc->posix_timers = ptrs;
	*ret_mem = ptrs;
	return 0;
}

/* ================================ restore side =============================== */

#define PR_TIMER_CREATE_RESTORE_IDS_	77
#define PR_TIMER_CREATE_RESTORE_IDS_GET	2

size_t timers_args_size(const struct rst_ctx *c)
{
	return c->core->tc->n_posix_timers * sizeof(struct rst_posix_timer) + 8;
}

int timers_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	struct rst_posix_timer *r;
	size_t i;

	a->nr_timers = 0;
	a->timers_off = 0;
	if (!tc->n_posix_timers)
		return 0;
	if (prctl(PR_TIMER_CREATE_RESTORE_IDS_, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0) < 0)
		return rst_task_err(t, -EOPNOTSUPP, "core-%d.img: the task has %zu posix timers, "
				    "and this kernel cannot create timers with given ids "
				    "(PR_TIMER_CREATE_RESTORE_IDS, Linux 6.17): %m", t->c->pid,
				    tc->n_posix_timers);
	*off = ALIGN_UP(*off, 8);
	a->nr_timers = tc->n_posix_timers;
	a->timers_off = *off;
	r = (struct rst_posix_timer *)((char *)a + *off);
	for (i = 0; i < tc->n_posix_timers; i++) {
		const PosixTimerEntry *e = tc->posix_timers[i];

		if (e->id < 0 || e->insec >= 1000000000ULL || e->vnsec >= 1000000000ULL ||
		    ((e->notify & SIGEV_THREAD_ID_) && !e->has_notify_tid))
			return rst_task_err(t, -EBADMSG, "core-%d.img: bad posix timer %d",
					    t->c->pid, e->id);
		memset(&r[i], 0, sizeof(r[i]));
		r[i].id = e->id;
		r[i].clock_id = e->clock_id;
		r[i].notify = e->notify;
		r[i].notify_tid = e->has_notify_tid ? e->notify_tid : 0;
		r[i].signo = e->signo;
		r[i].sival = e->sival;
		r[i].isec = e->isec;
		r[i].insec = e->insec;
		r[i].vsec = e->vsec;
		r[i].vnsec = e->vnsec;
	}
	*off += tc->n_posix_timers * sizeof(*r);
	return 0;
}
