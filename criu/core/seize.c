/*
 * Seize a process tree top-down (see seize.h). Each process is seized thread by thread, then
 * its children are listed from /proc/PID/task/TID/children; the walk repeats until a whole
 * pass finds no new thread and no new child, so nothing forked or cloned during the walk
 * escapes.
 */
#define LOG_PREFIX "seize: "
#include "core/seize.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "arch/x86/syscall-restart.h"
#include "common/cleanup.h"
#include "core/freezer.h"
#include "core/log.h"
#include "core/proc-parse.h"
#include "core/pstree.h"
#include "uapi/compel/compel.h"

/* The numeric entries of @path (pids, tids), sorted; or -errno. */
static int list_ids(const char *path, pid_t **ret_ids)
{
	DIR *d;
	struct dirent *de;
	pid_t *ids = NULL, *n;
	size_t nr = 0, cap = 0, i, j;
	char *end;
	long v;

	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		v = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || v <= 0)
			continue;
		if (nr == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(ids, cap * sizeof(*ids));
			if (!n) {
				free(ids);
				closedir(d);
				return -ENOMEM;
			}
			ids = n;
		}
		ids[nr++] = (pid_t)v;
	}
	closedir(d);
	for (i = 1; i < nr; i++)	/* few entries: insertion sort */
		for (j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			pid_t x = ids[j];

			ids[j] = ids[j - 1];
			ids[j - 1] = x;
		}
	*ret_ids = ids;
	return (int)nr;
}

static int item_read_stat(struct pstree_item *it, struct proc_stat *st)
{
	int ret;

	ret = proc_parse_stat(it->pid, st);
	if (ret == -ENOENT)
		return -ESRCH;
	if (ret < 0)
		return ret;
	it->pgid = st->pgid;
	it->sid = st->sid;
	return 0;
}

/* A process found dead: a zombie is recorded with its exit status; one already gone is an error. */
static int item_mark_zombie(struct pstree_item *it)
{
	struct proc_stat st;
	int ret;

	ret = item_read_stat(it, &st);
	if (ret < 0 || (st.state != 'Z')) {
		pr_err("task %d exited while the tree was seized", it->pid);
		return -ESRCH;
	}
	if (it->nr_threads) {
		pr_err("task %d: its main thread exited while other threads run: not supported",
		       it->pid);
		return -EOPNOTSUPP;
	}
	it->zombie = true;
	it->exit_code = st.exit_code;
	pr_info("task %d is a zombie (exit status %#x)", it->pid, st.exit_code);
	return 0;
}

static int seize_one_thread(struct pstree_item *it, pid_t tid, bool *changed)
{
	enum compel_task_state state;
	struct pstree_thread *th;
	int ret;

	ret = compel_seize(tid, &state);
	if (ret == -ESRCH && tid != it->pid)
		return 0;		/* the thread exited before we got it */
	if (ret < 0)
		return pr_err_ret(ret, "cannot seize thread %d of task %d", tid, it->pid);
	if (state == COMPEL_TASK_ZOMBIE || state == COMPEL_TASK_DEAD) {
		if (tid == it->pid)
			return item_mark_zombie(it);
		return 0;		/* an exiting thread: not part of the task any more */
	}
	ret = pstree_add_thread(it, tid, &th);
	if (ret < 0) {
		compel_release(tid, state);
		return ret;
	}
	th->state = state;
	th->seized = true;
	*changed = true;
	pr_debug("seized thread %d of task %d (%s)", tid, it->pid,
		 state == COMPEL_TASK_STOPPED ? "stopped" : "running");
	return 0;
}

/* Seize the threads of item @it we do not have yet, the main thread first. */
static int seize_threads(struct pstree_item *it, bool *changed)
{
	_cleanup_free_ pid_t *tids = NULL;
	char path[64];
	int nr, i, ret;

	if (!it->nr_threads) {
		ret = seize_one_thread(it, it->pid, changed);
		if (ret < 0 || it->zombie)
			return ret;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", it->pid);
	nr = list_ids(path, &tids);
	if (nr < 0)
		return pr_err_ret(nr, "cannot list the threads of task %d", it->pid);
	for (i = 0; i < nr; i++) {
		if (pstree_find_thread(it, tids[i]))
			continue;
		ret = seize_one_thread(it, tids[i], changed);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Add the children of every thread of item @idx that the tree does not have yet. */
static int scan_children(struct pstree *t, size_t idx, bool *changed)
{
	size_t i, nr_threads = t->items[idx].nr_threads, new_idx;
	pid_t pid = t->items[idx].pid;
	char path[96];
	int ret;

	for (i = 0; i < nr_threads; i++) {
		_cleanup_free_ char *buf = NULL;
		char *p, *end;
		long child;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid,
			 t->items[idx].threads[i].tid);
		ret = proc_read_file(path, &buf);
		if (ret < 0)
			return pr_err_ret(ret, "cannot read \"%s\"", path);
		for (p = buf;; p = end) {
			child = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pstree_find(t, (pid_t)child) >= 0)
				continue;
			ret = pstree_add(t, (pid_t)child, (int)idx, &new_idx);
			if (ret < 0)
				return ret;
			*changed = true;
			pr_debug("task %d: child %ld", pid, child);
		}
	}
	return 0;
}

/* Once nothing moves: the session and group of each process, and every zombie still there. */
static int tree_read_ids(struct pstree *t)
{
	struct proc_stat st;
	size_t i;
	int ret;

	for (i = 0; i < t->nr; i++) {
		struct pstree_item *it = &t->items[i];

		ret = item_read_stat(it, &st);
		if (ret == 0 && it->zombie && st.state != 'Z')
			ret = -ESRCH;
		if (ret < 0)
			return pr_err_ret(ret, "task %d changed while the tree was seized", it->pid);
	}
	return 0;
}

/* A frozen tree cannot change: list it, then seize every thread at once (which thaws it). */
static int seize_frozen(struct pstree *t, struct freezer *f)
{
	_cleanup_free_ pid_t *all = NULL;
	_cleanup_free_ enum compel_task_state *states = NULL;
	struct pstree_thread *th;
	size_t i, j, n = 0;
	struct proc_stat st;
	char path[64];
	bool changed;
	int nr, ret;

	for (i = 0; i < t->nr; i++) {
		_cleanup_free_ pid_t *tids = NULL;
		struct pstree_item *it = &t->items[i];

		ret = item_read_stat(it, &st);
		if (ret < 0)
			return pr_err_ret(ret, "task %d exited while the tree was frozen", it->pid);
		if (st.state == 'Z') {
			ret = item_mark_zombie(it);
			if (ret < 0)
				return ret;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%d/task", it->pid);
		nr = list_ids(path, &tids);
		if (nr < 0)
			return pr_err_ret(nr, "cannot list the threads of task %d", it->pid);
		ret = pstree_add_thread(&t->items[i], it->pid, &th);
		for (j = 0; ret == 0 && j < (size_t)nr; j++)
			if (tids[j] != t->items[i].pid)
				ret = pstree_add_thread(&t->items[i], tids[j], &th);
		if (ret == 0)
			ret = scan_children(t, i, &changed);
		if (ret < 0)
			return ret;
		n += t->items[i].nr_threads;
	}
	all = calloc(n + 1, sizeof(*all));
	states = calloc(n + 1, sizeof(*states));
	if (!all || !states)
		return -ENOMEM;
	for (i = 0, n = 0; i < t->nr; i++)
		for (j = 0; j < t->items[i].nr_threads; j++)
			all[n++] = t->items[i].threads[j].tid;
	ret = freezer_seize(f, all, n, states);	/* releases its own on failure */
	if (ret < 0)
		return ret;
	for (i = 0, n = 0; i < t->nr; i++)
		for (j = 0; j < t->items[i].nr_threads; j++, n++) {
			t->items[i].threads[j].state = states[n];
			t->items[i].threads[j].seized = true;
		}
	return 0;
}

int seize_tree(pid_t root, struct pstree *t, struct freezer *f)
{
	bool changed;
	size_t i, idx;
	int ret, pass = 0;

	ret = pstree_add(t, root, -1, &idx);
	if (ret < 0)
		return ret;
	if (f) {
		ret = seize_frozen(t, f);
		if (ret < 0)
			return ret;
	}
	do {
		changed = false;
		for (i = 0; i < t->nr; i++) {
			if (t->items[i].zombie)
				continue;
			ret = seize_threads(&t->items[i], &changed);
			if (ret < 0)
				return ret;
			if (t->items[i].zombie)
				continue;
			ret = scan_children(t, i, &changed);
			if (ret < 0)
				return ret;
		}
		pass++;
	} while (changed);
	ret = tree_read_ids(t);
	if (ret < 0)
		return ret;
	pr_info("seized %zu tasks in %d passes", t->nr, pass);
	return 0;
}

/*
 * A thread that goes on with restart_syscall() next (a sleep, a timed futex wait or a poll we
 * interrupted) runs its syscall itself again instead: a later dump could not tell which
 * syscall restart_syscall() continues (the thread would get EINTR after that restore). A
 * relative sleep goes on for the time it had left; a futex wait or a poll waits its whole
 * timeout again.
 */
static void release_rerun(const struct pstree_thread *th)
{
	struct user_regs_struct r;

	if ((th->state == COMPEL_TASK_ALIVE || th->state == COMPEL_TASK_STOPPED) &&
	    ptrace(PTRACE_GETREGS, th->tid, NULL, &r) == 0 && arch_restart_as_rerun(&r) &&
	    ptrace(PTRACE_SETREGS, th->tid, NULL, &r))
		pr_debug("thread %d: PTRACE_SETREGS: %m", th->tid);
}

void seize_release_all(struct pstree *t)
{
	size_t i, j;
	int ret;

	for (i = t->nr; i-- > 0;) {
		struct pstree_item *it = &t->items[i];

		for (j = it->nr_threads; j-- > 0;) {
			struct pstree_thread *th = &it->threads[j];

			if (!th->seized)
				continue;
			release_rerun(th);
			ret = compel_release(th->tid, th->state);
			if (ret < 0)
				pr_err_ret(ret, "cannot release thread %d of task %d", th->tid, it->pid);
			th->seized = false;
		}
		pr_debug("released task %d", it->pid);
	}
}

/* We trace @tid: collect its exit (which hands it over to its parent). */
static void wait_exit(pid_t tid)
{
	int status;

	for (;;) {
		if (waitpid(tid, &status, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return;
		if (WIFSTOPPED(status))
			ptrace(PTRACE_CONT, tid, NULL, NULL);
	}
}

/*
 * Free the memory of a killed task in our own context (process_mrelease(2), 5.15+), while the
 * task frees it too on its way out: on two CPUs the teardown of a large address space takes
 * about half as long (1 GiB: ~40 ms instead of ~70). It must come before the task itself gets
 * to exit_mm() (after that the kernel answers ESRCH and the exit frees it alone), so the pidfds
 * are opened before the kill. Best effort: a kernel without it, or an mm that a task outside
 * the tree shares, leaves it to the exit alone.
 */
static void mrelease(int pidfd, pid_t pid)
{
#ifdef SYS_process_mrelease
	if (pidfd >= 0 && syscall(SYS_process_mrelease, pidfd, 0) && errno != ESRCH)
		pr_debug("task %d: process_mrelease: %m", pid);
#else
	(void)pidfd;
	(void)pid;
#endif
}

static int kill_loop(const struct pstree *t)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < t->nr; i++)
		if (!t->items[i].zombie && kill(t->items[i].pid, SIGKILL) < 0 && !ret)
			ret = -errno;
	return ret;
}

static int kill_err;	/* kill_loop()'s, from the vfork()ed child */

/*
 * SIGKILL every task of @t, from a vfork()ed child: criu killed meanwhile (its images are
 * complete by now) cannot leave part of the tree running, the child goes on alone. 0, or the
 * first kill()'s -errno.
 */
static int kill_tree(const struct pstree *t)
{
	int status;
	pid_t k;

	kill_err = 0;
	k = vfork();
	if (k == 0) {
		kill_err = kill_loop(t);
		_exit(0);
	}
	if (k < 0)
		return kill_loop(t);
	while (waitpid(k, &status, 0) < 0 && errno == EINTR)
		;
	return kill_err;
}

int seize_kill_all(struct pstree *t)
{
	_cleanup_free_ int *pidfds = calloc(t->nr ? t->nr : 1, sizeof(int));
	size_t i, j;
	int ret = 0;

	/* still ours (traced) until wait_exit() below: the pids cannot be reused meanwhile */
	for (i = 0; i < t->nr; i++)
		if (pidfds)
			pidfds[i] = t->items[i].zombie ? -1 :
				    (int)syscall(SYS_pidfd_open, t->items[i].pid, 0);
	ret = kill_tree(t);
	if (ret < 0)
		pr_err("cannot kill the tree: %s", strerror(-ret));
	for (i = 0; pidfds && i < t->nr; i++) {
		if (!ret)
			mrelease(pidfds[i], t->items[i].pid);
		if (pidfds[i] >= 0)
			close(pidfds[i]);
	}
	for (i = 0; i < t->nr; i++) {
		struct pstree_item *it = &t->items[i];

		/* the leader's exit is reported once its other threads are gone */
		for (j = it->nr_threads; j-- > 0;) {
			if (!it->threads[j].seized)
				continue;
			wait_exit(it->threads[j].tid);
			it->threads[j].seized = false;
		}
	}
	if (!ret)
		pr_info("killed %zu tasks", t->nr);
	return ret;
}
