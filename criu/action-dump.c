/*
 * criu dump -t PID -D DIR: checkpoint the process tree under PID, every thread of every task.
 *
 * Two step tables run by small loops. The tree's steps: validate the root, freeze the cgroup
 * (--freeze-cgroup), seize the whole tree (core/seize.c), check its sessions and groups, dump
 * each live task, write the tree's images (zombies, files.img, pstree.img), mark the set
 * complete, then kill the tree or let it run. Inside "tasks", the per-task steps run once per
 * live process, parents first. When a step fails, the undo steps of those run so far run in
 * reverse order: the failing task is cured (the tasks dumped before it were cured at the end
 * of their pass), every seized thread is released exactly as it was (stopped if it was
 * stopped), the cgroup is put back, and inventory.img stays "incomplete". Ordering only: the
 * work is done by criu/res/ and criu/core/.
 */
#define LOG_PREFIX "dump: "
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "common/compiler.h"
#include "common/page.h"
#include "core/freezer.h"
#include "core/image.h"
#include "core/log.h"
#include "core/parasite.h"
#include "core/pstree.h"
#include "core/seize.h"
#include "images/inventory.pb-c.h"
#include "opts.h"
#include "res/res.h"

#ifndef CRIU_VERSION
#define CRIU_VERSION "0.1"
#endif

#define PF_KTHREAD	0x00200000

/* The whole dump: the tree, what its tasks share, a context per task. */
struct dump_tree {
	const struct cr_opts *opts;	/* borrowed */
	pid_t root;
	struct img_dir *dir;		/* owned */
	struct freezer *freezer;	/* owned: --freeze-cgroup, or NULL */
	struct pstree tree;		/* owned */
	struct dump_ctx *tasks;		/* owned, one per tree item (zombies: pid only) */
	size_t nr_dumped;		/* tasks whose per-task pass is complete */
	struct dump_shared shared;	/* owned */
	uint64_t nr_pages, pages_written;
	uint64_t cow_pages;		/* pages a child shares with its parent: not dumped */
	uint64_t xfeatures;		/* of the last task dumped (one CPU: all the same) */
	uint32_t xsave_size;
};

struct task_step {
	const char *name;
	int (*run)(struct dump_ctx *dc);
	void (*undo)(struct dump_ctx *dc);	/* may be NULL; must cope with a failed run */
};

struct tree_step {
	const char *name;
	int (*run)(struct dump_tree *dt);
	void (*undo)(struct dump_tree *dt);	/* may be NULL; must cope with a failed run */
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
	page_runs_release(&dc->cow);
	core_release(dc);
	freezer_free(dc->freezer);
	creds_release(dc);
	cgroup_release(dc);
	timers_release(dc);
	dc->freezer = NULL;
	free(dc->shared_si);
	dc->shared_si = NULL;
	free(dc->thread_si);
	dc->thread_si = NULL;
}

/* ---- validation: nothing touches the tree before its root passes ---- */

static int check_task(pid_t pid, const struct proc_stat *st, const struct proc_status *status)
{
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
	return 0;
}

static int step_validate(struct dump_tree *dt)
{
	struct proc_status status;
	struct proc_stat st;
	int ret;

	if (dt->root <= 0) {
		pr_err("no task to dump: use -t PID");
		return -EINVAL;
	}
	if (dt->root == getpid() || dt->root == getppid()) {
		pr_err("task %d is criu itself or its parent: cannot dump it", dt->root);
		return -EINVAL;
	}
	ret = proc_parse_stat(dt->root, &st);
	if (ret == -ENOENT) {
		pr_err("task %d does not exist", dt->root);
		return -ESRCH;
	}
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/stat", dt->root);
	ret = proc_parse_status(dt->root, &status);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/status", dt->root);
	if (status.tracer_pid) {
		pr_err("task %d is traced by %d: cannot seize it", dt->root, status.tracer_pid);
		return -EBUSY;
	}
	return check_task(dt->root, &st, &status);
}

/* ---- inventory ---- */

static int inventory_write(struct dump_tree *dt, bool complete)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT;
	struct cr_img *img = NULL;
	struct utsname uts;
	struct timespec ts;
	int ret;

	e.img_version = IMG_VERSION;
	e.root_pid = dt->root;
	e.kind = DUMP_KIND__DUMP;
	e.complete = complete;
	e.criu_version = CRIU_VERSION;
	if (complete) {
		if (uname(&uts) == 0)
			e.kernel_release = uts.release;
		e.has_xfeatures = true;
		e.xfeatures = dt->xfeatures;
		e.has_xsave_size = true;
		e.xsave_size = dt->xsave_size;
		clock_gettime(CLOCK_REALTIME, &ts);
		e.has_dump_time_ns = true;
		e.dump_time_ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}

	ret = img_open(dt->dir, IMG_INVENTORY, 0, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dt->dir));
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

static int step_images(struct dump_tree *dt)
{
	int ret;

	ret = img_dir_open(dt->opts->images_dir, true, &dt->dir);
	if (ret < 0)
		return pr_err_ret(ret, "cannot open the images directory '%s'",
				  dt->opts->images_dir);
	return inventory_write(dt, false);
}

static int step_inventory_complete(struct dump_tree *dt)
{
	return inventory_write(dt, true);
}

/* ---- freeze, seize and release ---- */

/* --freeze-cgroup: freeze the tree's cgroup; seizing thaws it once every task is seized. */
static int step_freeze(struct dump_tree *dt)
{
	int ret;

	if (!dt->opts->freeze_cgroup)
		return 0;
	ret = freezer_open(dt->opts->freeze_cgroup, dt->opts->timeout, &dt->freezer);
	if (ret < 0)
		return ret;
	ret = freezer_check_task(dt->freezer, dt->root);
	if (ret == -ESRCH) {
		pr_err("task %d is not in the freeze cgroup '%s'", dt->root,
		       freezer_path(dt->freezer));
		return -EINVAL;
	}
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/%d/cgroup", dt->root);
	return freezer_freeze(dt->freezer);
}

/* The cgroup as it was before the dump: thawed (or frozen again if it was frozen). */
static void undo_freeze(struct dump_tree *dt)
{
	if (dt->freezer)
		freezer_restore(dt->freezer);
}

static int step_unfreeze(struct dump_tree *dt)
{
	return dt->freezer ? freezer_restore(dt->freezer) : 0;
}

static int step_seize(struct dump_tree *dt)
{
	int ret;

	ret = seize_tree(dt->root, &dt->tree, dt->freezer);
	if (ret < 0)
		return pr_err_ret(ret, "cannot seize the tree of task %d", dt->root);
	return 0;
}

static void undo_seize(struct dump_tree *dt)
{
	seize_release_all(&dt->tree);
}

/*
 * Sessions and process groups come back only if their leader comes back: each must be led by
 * a task of the tree, or be the root's own (then criu's, or its caller's, at restore time), or
 * have lost its leader, which exited: then a helper of the leader's pid makes it again at
 * restore (pstree.proto). A task that does not lead its session is made in its parent's, or in
 * the one its parent was born in and left after forking it (made before the parent's setsid()
 * at restore), or, adopted by its parent (a child subreaper) from another session, by a creator
 * in that session which then exits, so that the task is reparented to its parent.
 */
static bool is_ancestor(const struct pstree *t, int anc, int i)
{
	for (i = t->items[i].parent; i >= 0; i = t->items[i].parent)
		if (i == anc)
			return true;
	return false;
}

static bool pid_exists(pid_t pid)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return access(path, F_OK) == 0;
}

/* Does item @j need a creator (its session is not its parent's and not its own)? */
static bool needs_creator(const struct pstree *t, int j)
{
	const struct pstree_item *it = &t->items[j];

	return j > 0 && it->sid != it->pid && it->sid != t->items[it->parent].sid;
}

/* Can live task @j, in the session of task @i below its parent, create @i at restore? */
static bool can_create(const struct pstree *t, int i, int j)
{
	const struct pstree_item *it = &t->items[i], *c = &t->items[j];

	return !c->zombie && c->sid == it->sid && j != i && is_ancestor(t, it->parent, j) &&
	       !is_ancestor(t, i, j) && !needs_creator(t, j);
}

/*
 * Is task @i in the session its parent was in before it made its own (setsid() after forking
 * @i)? At restore the parent is born in its own parent's session: it can create @i there
 * before it leads its own.
 */
static bool born_before_setsid(const struct pstree *t, int i)
{
	const struct pstree_item *it = &t->items[i], *p = &t->items[it->parent];

	return it->parent > 0 && p->sid == p->pid && it->sid != p->sid &&
	       it->sid == t->items[p->parent].sid;
}

/* Task @i is in a session its parent is not in: who creates it at restore. */
static int plan_creator(struct pstree *t, int i)
{
	struct pstree_item *it = &t->items[i];
	const struct pstree_item *p = &t->items[it->parent];
	struct pstree_helper h = { it->sid, p->pid, it->sid, it->sid }, *hp;
	int l = pstree_find(t, it->sid), j;

	if (born_before_setsid(t, i)) {
		it->before_setsid = true;
		pr_info("task %d: its parent %d made its own session after forking it: it creates "
			"it first at restore", it->pid, p->pid);
		return 0;
	}
	if (it->zombie) {
		pr_err("zombie %d is in session %d, but its parent %d is not: cannot be restored",
		       it->pid, it->sid, p->pid);
		return -EOPNOTSUPP;
	}
	if (it->sid != t->items[0].sid && !pstree_leads_session(t, it->sid)) {
		if (l >= 0 || pid_exists(it->sid)) {
			pr_err("task %d is in session %d, whose leader is outside the tree: "
			       "cannot be restored", it->pid, it->sid);
			return -EOPNOTSUPP;
		}
		/* the leader exited: a helper of its pid, child of the adopter, makes it again */
		hp = pstree_find_helper(t, it->sid);
		if (hp && hp->ppid != p->pid) {
			pr_err("tasks of session %d, whose leader exited, have different parents "
			       "(%d and %d): cannot be restored", it->sid, hp->ppid, p->pid);
			return -EOPNOTSUPP;
		}
		it->creator = it->sid;
		return hp ? 0 : pstree_add_helper(t, &h);
	}
	/* a task of that session below the parent (its leader, if it can) */
	if (l >= 0 && can_create(t, i, l)) {
		it->creator = it->sid;
		return 0;
	}
	for (j = 0; j < (int)t->nr; j++) {
		if (can_create(t, i, j)) {
			it->creator = t->items[j].pid;
			return 0;
		}
	}
	pr_err("task %d is in session %d, but its parent %d is not (it changed session after "
	       "forking it?), and no task of that session below %d could create it: cannot be "
	       "restored", it->pid, it->sid, p->pid, p->pid);
	return -EOPNOTSUPP;
}

/* Task @i is in a process group: whether it can be made, with a helper if its leader exited. */
static int plan_group(struct pstree *t, int i)
{
	const struct pstree_item *it = &t->items[i], *p;
	struct pstree_helper h = { it->pgid, 0, it->pgid, it->sid }, *hp;

	if (it->pgid == it->pid || it->pgid == t->items[0].pgid ||
	    pstree_leads_group(t, it->pgid))
		return 0;
	if (pstree_find(t, it->pgid) >= 0) {
		pr_err("task %d is in process group %d, whose leader left it: cannot be restored",
		       it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	hp = pstree_find_helper(t, it->pgid);
	if (hp)
		return hp->sid == it->sid ? 0 : -EBADMSG;
	if (pid_exists(it->pgid)) {
		pr_err("task %d is in process group %d, whose leader is outside the tree: "
		       "cannot be restored", it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	if (it->zombie) {
		pr_err("zombie %d is in process group %d, whose leader exited: cannot be restored",
		       it->pid, it->pgid);
		return -EOPNOTSUPP;
	}
	/* the leader exited: a helper of its pid, in the session, makes the group again */
	p = &t->items[it->parent];
	h.ppid = p->sid == it->sid ? p->pid : it->pid;
	return pstree_add_helper(t, &h);
}

static int step_check_tree(struct dump_tree *dt)
{
	struct pstree *t = &dt->tree;
	size_t i;
	int ret;

	for (i = 1; i < t->nr; i++) {
		if (needs_creator(t, i)) {
			ret = plan_creator(t, i);
			if (ret < 0)
				return ret;
		}
		ret = plan_group(t, i);
		if (ret < 0)
			return ret;
	}
	for (i = 0; i < t->nr_helpers; i++)
		pr_info("helper %d (child of %d) makes the %s %d again at restore: its leader "
			"exited", t->helpers[i].pid, t->helpers[i].ppid,
			t->helpers[i].sid == t->helpers[i].pid ? "session" : "process group",
			t->helpers[i].pid);
	dt->tasks = calloc(t->nr, sizeof(*dt->tasks));
	if (!dt->tasks)
		return -ENOMEM;
	return 0;
}

/*
 * A created task is reparented, when its creator exits, to the nearest child subreaper above
 * the creator: that must be its parent, as its parent must have been to adopt it. Known once
 * the tasks told whether they are subreapers.
 */
static int step_check_reapers(struct dump_tree *dt)
{
	const struct pstree *t = &dt->tree;
	size_t i;
	int k;

	for (i = 1; i < t->nr; i++) {
		const struct pstree_item *it = &t->items[i];

		if (!it->creator)
			continue;
		if (!dt->tasks[it->parent].misc.child_subreaper) {
			pr_err("task %d is in session %d, but its parent %d is not, and %d is not a "
			       "child subreaper (it did not adopt %d): cannot be restored", it->pid,
			       it->sid, it->ppid, it->ppid, it->pid);
			return -EOPNOTSUPP;
		}
		for (k = pstree_find(t, it->creator); k >= 0 && k != it->parent;
		     k = t->items[k].parent) {
			if (dt->tasks[k].misc.child_subreaper) {
				pr_err("task %d would be adopted by %d, a child subreaper below its "
				       "parent %d, at restore: cannot be restored", it->pid,
				       t->items[k].pid, it->ppid);
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

/* ---- one task: the per-task steps ---- */

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
		ret = timers_collect(dc, ctl);
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

static const struct task_step task_steps[] = {
	{ "proc",		step_proc,		NULL },
	{ "creds",		creds_collect,		NULL },
	{ "cgroups",		cgroup_collect,		NULL },
	{ "limits, seccomp",	core_collect_task,	NULL },
	{ "mm",			mm_collect,		NULL },
	{ "remote syscalls",	step_remote,		NULL },
	{ "threads",		core_collect_threads,	NULL },
	{ "ptrace state",	core_collect_ptrace,	NULL },
	{ "fs",			fs_collect,		NULL },
	{ "files",		files_collect,		NULL },
	{ "page listing",	pages_collect,		NULL },
	{ "copy-on-write",	pages_cow,		NULL },
	{ "infect",		step_infect,		undo_infect },
	{ "misc",		step_misc,		NULL },
	{ "drain fds",		files_drain,		NULL },
	{ "pages",		pages_dump,		NULL },
	{ "core",		core_dump,		NULL },
	{ "thread cores",	core_dump_threads,	NULL },
	{ "mm image",		mm_dump,		NULL },
	{ "files image",	files_dump,		NULL },
	{ "fdinfo image",	fdinfo_dump,		NULL },
	{ "fs image",		fs_dump,		NULL },
	{ "cure",		step_cure,		NULL },
};

static int task_run(struct dump_ctx *dc)
{
	size_t i, failed;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(task_steps); i++) {
		pr_debug("task %d: step '%s'", dc->pid, task_steps[i].name);
		ret = task_steps[i].run(dc);
		if (ret < 0)
			break;
	}
	if (ret >= 0)
		return 0;

	failed = i;
	pr_err("dump of task %d failed at step '%s': %s", dc->pid, task_steps[failed].name,
	       strerror(-ret));
	for (i = failed + 1; i-- > 0;)
		if (task_steps[i].undo)
			task_steps[i].undo(dc);
	return ret;
}

/* The per-task steps for each live task, parents first; ids of files.img continue across them. */
static int step_tasks(struct dump_tree *dt)
{
	uint32_t next_id = 0;
	size_t i, j;
	int ret;

	for (i = 0; i < dt->tree.nr; i++) {
		struct pstree_item *it = &dt->tree.items[i];
		struct dump_ctx *dc = &dt->tasks[i];

		dc->opts = dt->opts;
		dc->pid = it->pid;
		dc->dir = dt->dir;
		dc->shared = &dt->shared;
		if (it->zombie)
			continue;
		dc->tids = calloc(it->nr_threads, sizeof(*dc->tids));
		if (!dc->tids)
			return -ENOMEM;
		for (j = 0; j < it->nr_threads; j++)
			dc->tids[j] = it->threads[j].tid;
		dc->nr_tids = it->nr_threads;
		dc->seized = true;
		dc->seize_state = it->threads[0].state;
		dc->files.id_base = next_id;
		/* pages it still shares with its parent are not dumped again (pages_cow()) */
		if (it->parent >= 0 && !dt->tree.items[it->parent].zombie && !it->creator &&
		    !it->before_setsid)	/* created before its parent has its memory */
			dc->cow_parent = &dt->tasks[it->parent];
		ret = task_run(dc);
		if (ret < 0)
			return ret;
		dt->cow_pages += dc->cow.nr_pages;
		next_id = dc->files.id_base + dc->files.nr;
		dt->nr_pages += dc->runs.nr_pages;
		dt->pages_written += dc->pages_written;
		dt->xfeatures = dc->xfeatures;
		dt->xsave_size = dc->xsave_size;
		dt->nr_dumped++;
	}
	return 0;
}

/* ---- the tree's images ---- */

static int step_files_img(struct dump_tree *dt)
{
	int ret;

	ret = img_open(dt->dir, IMG_FILES, 0, O_WRONLY, &dt->shared.files_img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dt->dir));
	return 0;
}

static void undo_files_img(struct dump_tree *dt)
{
	img_close(dt->shared.files_img);
	dt->shared.files_img = NULL;
}

static int step_files_img_close(struct dump_tree *dt)
{
	int ret;

	ret = img_close(dt->shared.files_img);
	dt->shared.files_img = NULL;
	if (ret < 0)
		return pr_err_ret(ret, "cannot write files.img");
	return 0;
}

static int step_zombies(struct dump_tree *dt)
{
	struct proc_stat st;
	size_t i;
	int ret;

	for (i = 0; i < dt->tree.nr; i++) {
		const struct pstree_item *it = &dt->tree.items[i];

		if (!it->zombie)
			continue;
		ret = proc_parse_stat(it->pid, &st);
		if (ret < 0)
			return pr_err_ret(ret, "cannot parse /proc/%d/stat", it->pid);
		ret = core_dump_zombie(dt->dir, it->pid, st.comm, it->exit_code);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int step_pstree(struct dump_tree *dt)
{
	int ret;

	ret = pstree_write(&dt->tree, dt->dir);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write pstree.img");
	return 0;
}

/* ---- the end: kill the tree or let it run ---- */

static int step_finish(struct dump_tree *dt)
{
	if (!dt->opts->leave_running)
		return seize_kill_all(&dt->tree);
	seize_release_all(&dt->tree);
	return 0;
}

/*
 * The set is marked complete before the tree is killed: should criu die in between, the tree
 * still runs (and a restore would find its pids taken), never the other way round.
 */
static const struct tree_step tree_steps[] = {
	{ "validate",		step_validate,		NULL },
	{ "images",		step_images,		NULL },
	{ "freeze",		step_freeze,		undo_freeze },
	{ "seize",		step_seize,		undo_seize },
	{ "check tree",		step_check_tree,	NULL },
	{ "files.img",		step_files_img,		undo_files_img },
	{ "tasks",		step_tasks,		NULL },
	{ "files.img close",	step_files_img_close,	NULL },
	{ "check reapers",	step_check_reapers,	NULL },
	{ "zombies",		step_zombies,		NULL },
	{ "pstree image",	step_pstree,		NULL },
	{ "inventory",		step_inventory_complete, NULL },
	{ "finish",		step_finish,		NULL },
	{ "freeze cgroup",	step_unfreeze,		NULL },
};

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int dump_run(struct dump_tree *dt)
{
	size_t i, failed;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(tree_steps); i++) {
		pr_debug("step '%s'", tree_steps[i].name);
		ret = tree_steps[i].run(dt);
		if (ret < 0)
			break;
	}
	if (ret >= 0)
		return 0;

	failed = i;
	pr_err("dump of the tree of task %d failed at step '%s': %s", dt->root,
	       tree_steps[failed].name, strerror(-ret));
	for (i = failed + 1; i-- > 0;)
		if (tree_steps[i].undo)
			tree_steps[i].undo(dt);
	return ret;
}

static void dump_tree_release(struct dump_tree *dt)
{
	size_t i;

	for (i = 0; dt->tasks && i < dt->tree.nr; i++) {
		dump_ctx_release(&dt->tasks[i]);
		free(dt->tasks[i].tids);
	}
	free(dt->tasks);
	img_close(dt->shared.files_img);
	free(dt->shared.shm);
	free(dt->shared.descs);
	pstree_release(&dt->tree);
	freezer_free(dt->freezer);
	img_dir_free(dt->dir);
}

int action_dump(const struct cr_opts *opts)
{
	struct dump_tree dt = { .opts = opts, .root = opts->tree };
	struct timespec t0;
	size_t i, nr_threads = 0, nr_zombies = 0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = dump_run(&dt);
	if (ret == 0) {
		for (i = 0; i < dt.tree.nr; i++) {
			nr_threads += dt.tree.items[i].nr_threads;
			nr_zombies += dt.tree.items[i].zombie;
		}
		pr_info("dumped the tree of task %d: %zu tasks (%zu zombies), %zu threads, %" PRIu64
			" pages (%" PRIu64 " KiB; %" PRIu64 " more copy-on-write shared with a "
			"parent, not dumped), %" PRIu64 " pages of shared memory dumped once, in "
			"%.3f s", dt.root,
			dt.tree.nr, nr_zombies, nr_threads, dt.nr_pages, dt.pages_written / 1024,
			dt.cow_pages, dt.shared.shm_pages_skipped, elapsed(&t0));
	}
	dump_tree_release(&dt);
	return ret;
}
