/*
 * criu dump -t PID -D DIR: checkpoint one single-threaded process without children.
 *
 * A table of steps run in order by a small loop; when one fails, the undo steps of those run so
 * far run in reverse order: the parasite is cured and the task released exactly as it was
 * (stopped if it was stopped), and inventory.img stays "incomplete". Ordering only: the work
 * is done by criu/res/ (collect from /proc, then write images) and criu/core/.
 */
#define LOG_PREFIX "dump: "
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "common/compiler.h"
#include "common/page.h"
#include "core/image.h"
#include "core/log.h"
#include "core/parasite.h"
#include "images/inventory.pb-c.h"
#include "opts.h"
#include "res/res.h"

#ifndef CRIU_VERSION
#define CRIU_VERSION "0.1"
#endif

#define PF_KTHREAD	0x00200000

struct dump_step {
	const char *name;
	int (*run)(struct dump_ctx *dc);
	void (*undo)(struct dump_ctx *dc);	/* may be NULL; must cope with a failed run */
};

void dump_ctx_release(struct dump_ctx *dc)
{
	free(dc->auxv);
	dc->auxv = NULL;
	proc_vmas_release(&dc->vmas);
	free(dc->dvmas);
	dc->dvmas = NULL;
	file_table_release(&dc->files);
	free(dc->fds);
	dc->fds = NULL;
	dc->nr_fds = 0;
	page_runs_release(&dc->runs);
	core_release(dc);
	free(dc->shared_si);
	dc->shared_si = NULL;
	free(dc->thread_si);
	dc->thread_si = NULL;
}

/* ---- validation: nothing touches the task before it passes ---- */

static int check_task(pid_t pid, const struct proc_stat *st, const struct proc_status *status)
{
	int nr;

	if (st->state == 'Z' || st->state == 'X') {
		pr_err("task %d is a zombie: nothing to dump", pid);
		return -ESRCH;
	}
	if (st->flags & PF_KTHREAD) {
		pr_err("task %d is a kernel thread: cannot be dumped", pid);
		return -EPERM;
	}
	if (status->tgid != pid) {
		pr_err("task %d is a thread of process %d: dump the process", pid, status->tgid);
		return -EINVAL;
	}
	nr = proc_count_threads(pid);
	if (nr < 0)
		return pr_err_ret(nr, "cannot list the threads of task %d", pid);
	if (nr > 1) {
		pr_err("task %d has %d threads: multi-threaded tasks are not supported yet", pid, nr);
		return -EOPNOTSUPP;
	}
	nr = proc_count_children(pid);
	if (nr < 0)
		return pr_err_ret(nr, "cannot list the children of task %d", pid);
	if (nr > 0) {
		pr_err("task %d has %d children: process trees are not supported yet", pid, nr);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int step_validate(struct dump_ctx *dc)
{
	struct proc_status status;
	struct proc_stat st;
	int ret;

	if (dc->pid <= 0) {
		pr_err("no task to dump: use -t PID");
		return -EINVAL;
	}
	if (dc->pid == getpid() || dc->pid == getppid()) {
		pr_err("task %d is criu itself or its parent: cannot dump it", dc->pid);
		return -EINVAL;
	}
	ret = proc_parse_stat(dc->pid, &st);
	if (ret == -ENOENT) {
		pr_err("task %d does not exist", dc->pid);
		return -ESRCH;
	}
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/stat", dc->pid);
	ret = proc_parse_status(dc->pid, &status);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/status", dc->pid);
	if (status.tracer_pid) {
		pr_err("task %d is traced by %d: cannot seize it", dc->pid, status.tracer_pid);
		return -EBUSY;
	}
	return check_task(dc->pid, &st, &status);
}

/* ---- inventory ---- */

static int inventory_write(struct dump_ctx *dc, bool complete)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT;
	struct cr_img *img = NULL;
	struct utsname uts;
	struct timespec ts;
	int ret;

	e.img_version = IMG_VERSION;
	e.root_pid = dc->pid;
	e.kind = DUMP_KIND__DUMP;
	e.complete = complete;
	e.criu_version = CRIU_VERSION;
	if (complete) {
		if (uname(&uts) == 0)
			e.kernel_release = uts.release;
		e.has_xfeatures = true;
		e.xfeatures = dc->xfeatures;
		e.has_xsave_size = true;
		e.xsave_size = dc->xsave_size;
		clock_gettime(CLOCK_REALTIME, &ts);
		e.has_dump_time_ns = true;
		e.dump_time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}

	ret = img_open(dc->dir, IMG_INVENTORY, 0, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	ret = img_write(img, &e.base);
	if (ret < 0) {
		pr_err_ret(ret, "cannot write %s", img_error(img));
		img_close(img);
		return ret;
	}
	ret = img_close(img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write inventory.img");
	return 0;
}

static int step_images(struct dump_ctx *dc)
{
	int ret;

	ret = img_dir_open(dc->opts->images_dir, true, &dc->dir);
	if (ret < 0)
		return pr_err_ret(ret, "cannot open the images directory '%s'",
				  dc->opts->images_dir);
	return inventory_write(dc, false);
}

static int step_inventory_complete(struct dump_ctx *dc)
{
	return inventory_write(dc, true);
}

/* ---- seize and release ---- */

static int step_seize(struct dump_ctx *dc)
{
	int ret;

	ret = compel_seize(dc->pid, &dc->seize_state);
	if (ret < 0)
		return pr_err_ret(ret, "cannot seize task %d", dc->pid);
	if (dc->seize_state == COMPEL_TASK_ZOMBIE || dc->seize_state == COMPEL_TASK_DEAD) {
		pr_err("task %d exited before it could be seized", dc->pid);
		return -ESRCH;
	}
	dc->seized = true;
	pr_info("seized task %d (%s)", dc->pid,
		dc->seize_state == COMPEL_TASK_STOPPED ? "stopped" : "running");
	return 0;
}

static void undo_seize(struct dump_ctx *dc)
{
	int ret;

	if (!dc->seized)
		return;
	ret = compel_release(dc->pid, dc->seize_state);
	if (ret < 0)
		pr_err_ret(ret, "cannot release task %d", dc->pid);
	else
		pr_info("released task %d %s", dc->pid,
			dc->seize_state == COMPEL_TASK_STOPPED ? "stopped" : "running");
	dc->seized = false;
}

/* Now that it cannot change any more, look at the task again. */
static int step_proc(struct dump_ctx *dc)
{
	int ret;

	ret = proc_parse_stat(dc->pid, &dc->stat);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/stat", dc->pid);
	ret = proc_parse_status(dc->pid, &dc->status);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/status", dc->pid);
	return check_task(dc->pid, &dc->stat, &dc->status);
}

/* ---- the parasite ---- */

/* What needs a syscall run in the task, before the parasite is there (compel refuses then). */
static int step_remote(struct dump_ctx *dc)
{
	struct compel_ctl *ctl = NULL;
	int ret, ret2;

	ret = compel_prepare(dc->pid, &ctl);
	if (ret < 0)
		return pr_err_ret(ret, "cannot prepare task %d for remote syscalls", dc->pid);
	ret = mm_collect_brk(dc, ctl);
	if (ret == 0)
		ret = core_collect_remote(dc, ctl);
	ret2 = compel_cure(ctl);	/* registers, FPU state and mask back as they were */
	if (ret2 < 0 && ret == 0)
		ret = pr_err_ret(ret2, "cannot restore task %d after remote syscalls", dc->pid);
	return ret;
}

static int step_infect(struct dump_ctx *dc)
{
	int ret;

	ret = parasite_infect(dc->pid, &dc->ctl);
	if (ret < 0)
		return pr_err_ret(ret, "cannot infect task %d", dc->pid);
	return 0;
}

static void undo_infect(struct dump_ctx *dc)
{
	if (!dc->ctl)
		return;
	parasite_cure(dc->ctl);		/* frees the ctl, logs its failure */
	dc->ctl = NULL;
}

static int step_misc(struct dump_ctx *dc)
{
	int ret;

	ret = parasite_dump_misc(dc->ctl, &dc->misc);
	if (ret < 0)
		return pr_err_ret(ret, "cannot get the state of task %d from the parasite", dc->pid);
	return 0;
}

static int step_cure(struct dump_ctx *dc)
{
	struct compel_ctl *ctl = dc->ctl;

	dc->ctl = NULL;
	return parasite_cure(ctl);
}

/* ---- the end: kill the task or let it run ---- */

static int kill_task(struct dump_ctx *dc)
{
	int status;

	if (kill(dc->pid, SIGKILL) < 0)
		return pr_err_ret(-errno, "cannot kill task %d", dc->pid);
	/* We are its tracer: collect its exit, which hands it over to its parent. */
	for (;;) {
		if (waitpid(dc->pid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WIFSTOPPED(status))
			ptrace(PTRACE_CONT, dc->pid, NULL, NULL);
	}
	dc->seized = false;
	pr_info("killed task %d", dc->pid);
	return 0;
}

static int step_finish(struct dump_ctx *dc)
{
	if (!dc->opts->leave_running)
		return kill_task(dc);
	undo_seize(dc);
	return 0;
}

static const struct dump_step dump_steps[] = {
	{ "validate",		step_validate,		NULL },
	{ "images",		step_images,		NULL },
	{ "seize",		step_seize,		undo_seize },
	{ "proc",		step_proc,		NULL },
	{ "limits, seccomp",	core_collect_task,	NULL },
	{ "mm",			mm_collect,		NULL },
	{ "remote syscalls",	step_remote,		NULL },
	{ "ptrace state",	core_collect_ptrace,	NULL },
	{ "fs",			fs_collect,		NULL },
	{ "files",		files_collect,		NULL },
	{ "page listing",	pages_collect,		NULL },
	{ "infect",		step_infect,		undo_infect },
	{ "misc",		step_misc,		NULL },
	{ "drain fds",		files_drain,		NULL },
	{ "pages",		pages_dump,		NULL },
	{ "core",		core_dump,		NULL },
	{ "mm image",		mm_dump,		NULL },
	{ "files image",	files_dump,		NULL },
	{ "fdinfo image",	fdinfo_dump,		NULL },
	{ "fs image",		fs_dump,		NULL },
	{ "pstree image",	pstree_dump,		NULL },
	{ "cure",		step_cure,		NULL },
	{ "finish",		step_finish,		NULL },
	{ "inventory",		step_inventory_complete, NULL },
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int dump_run(struct dump_ctx *dc)
{
	size_t i, failed;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(dump_steps); i++) {
		pr_debug("step '%s'", dump_steps[i].name);
		ret = dump_steps[i].run(dc);
		if (ret < 0)
			break;
	}
	if (ret >= 0)
		return 0;

	failed = i;
	pr_err("dump of task %d failed at step '%s': %s", dc->pid, dump_steps[failed].name,
	       strerror(-ret));
	for (i = failed + 1; i-- > 0;)
		if (dump_steps[i].undo)
			dump_steps[i].undo(dc);
	return ret;
}

int action_dump(const struct cr_opts *opts)
{
	struct dump_ctx dc = { .opts = opts, .pid = opts->tree };
	struct timespec t0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = dump_run(&dc);
	if (ret == 0)
		pr_info("dumped task %d: %" PRIu64 " pages (%" PRIu64 " KiB) in %zu runs, "
			"%zu vmas, %d fds, in %.3f s", dc.pid, dc.runs.nr_pages,
			dc.pages_written / 1024, dc.runs.nr, dc.vmas.nr, dc.nr_fds, elapsed(&t0));
	dump_ctx_release(&dc);
	img_dir_free(dc.dir);
	return ret;
}
