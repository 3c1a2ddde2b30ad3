/*
 * criu restore -D DIR: bring back a process tree from its image set.
 *
 * criu reads and checks every image first, then clone3()s the root with its recorded PID. Each
 * task (still running criu's code) sets its session and group, premaps its private memory at a
 * temporary place and reads the dumped pages straight into it, then creates its own children
 * (which so inherit the pages they share copy-on-write with it), opens its files, prepares the
 * restorer's args and jumps into the restorer blob (criu/pie/restorer.c), which replaces criu's
 * address space with the task's and returns into the task with rt_sigreturn. criu follows that
 * last step with ptrace and unmaps the blob, so nothing of criu remains in the task.
 *
 * Errors in the child before the point of no return travel back to criu over the status pipe as
 * text; criu logs them, reaps the child and fails.
 */
#define LOG_PREFIX "restore: "
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
#include <linux/futex.h>
#include <linux/sched.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "common/page.h"
#include "core/image.h"
#include "core/log.h"
#include "opts.h"
#include "res/res.h"
#include "res/files.h"
#include "arch/x86/sigframe.h"
#include "arch/x86/syscall-restart.h"
#include "proto/restorer.h"
#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/core.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/fs.pb-c.h"
#include "criu/pie/restorer-blob.h"

#define MAX_UNMAP	4096		/* criu's own mappings the restorer unmaps */
#define RST_TIMEOUT	60		/* seconds a task may take to get ready (--timeout) */
#define MAPS_BUF_SIZE	(1u << 20)

/* ---------------------------------------------------------------------------------------------
 * Reading the images
 */

/* The whole process tree being restored: the tasks in pstree.img order, parents first. */
struct rst_tree {
	const struct cr_opts *opts;	/* borrowed */
	struct img_dir *dir;		/* owned */
	InventoryEntry *inv;		/* owned */
	PstreeEntry **ps;		/* owned, nr entries */
	struct rst_ctx *tasks;		/* owned, nr entries */
	size_t nr;
	bool subreaper;			/* we made criu a child subreaper */
	int *shm_fds;			/* owned: the shared memory objects (mm_shmem_create()) */
	size_t nr_shm;
	struct timespec start;		/* CLOCK_MONOTONIC when the restore began */
	uint64_t cow_pages;		/* pages a child takes over from its parent (PE_COW) */
	bool *cow_kids;			/* owned, per task: a child of it has PE_COW runs */
	uint32_t *group_ready;		/* shared with the tasks, one per task: 1 its session and
					 * group exist, 2 it joined its group (futexes;
					 * child_join_group()) */
	size_t nr_helpers;		/* the last entries: stand-ins for exited leaders */
};

static int read_entries(struct img_dir *dir, enum img_kind kind, unsigned int id,
			const ProtobufCMessageDescriptor *first,
			const ProtobufCMessageDescriptor *desc, void ***ret_arr, size_t *ret_nr)
{
	_cleanup_img_ struct cr_img *img = NULL;
	ProtobufCMessage *msg;
	void **arr = NULL, **n;
	size_t nr = 0;
	int ret;

	ret = img_open(dir, kind, id, O_RDONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(dir));
	for (;;) {
		ret = img_read(img, nr == 0 && first ? first : desc, &msg);
		if (ret < 0) {
			pr_err("%s", img_error(img));
			goto out_free;
		}
		if (ret == 0)
			break;
		n = realloc(arr, (nr + 1) * sizeof(*arr));
		if (!n) {
			protobuf_c_message_free_unpacked(msg, NULL);
			ret = -ENOMEM;
			goto out_free;
		}
		arr = n;
		arr[nr++] = msg;
	}
	*ret_arr = arr;
	*ret_nr = nr;
	return 0;

out_free:
	while (nr)
		protobuf_c_message_free_unpacked(arr[--nr], NULL);
	free(arr);
	return ret;
}

static int read_one(struct img_dir *dir, enum img_kind kind, unsigned int id,
		    const ProtobufCMessageDescriptor *desc, void *ret_msg)
{
	_cleanup_img_ struct cr_img *img = NULL;
	int ret;

	ret = img_open(dir, kind, id, O_RDONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(dir));
	ret = img_read_one(img, desc, (ProtobufCMessage **)ret_msg);
	if (ret < 0)
		pr_err("%s", img_error(img));
	return ret;
}

static int check_inventory(const InventoryEntry *e)
{
	struct utsname u;
	uint64_t xcr0;
	uint32_t xsize;
	char err[256];
	int ret;

	ret = img_check_inventory(e, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		return ret;
	}
	if (e->kind != DUMP_KIND__DUMP) {
		pr_err("inventory.img: the images are a pre-dump, not a dump");
		return -EINVAL;
	}
	uname(&u);
	if (e->kernel_release && strcmp(e->kernel_release, u.release)) {
		pr_err("the images come from kernel %s, this is %s: the vdso differs",
		       e->kernel_release, u.release);
		return -EINVAL;
	}
	arch_xsave_caps(&xcr0, &xsize);
	if (e->has_xfeatures && (e->xfeatures & ~xcr0)) {
		pr_err("the dump used xsave features %#" PRIx64 " this CPU lacks (it has %#" PRIx64 ")",
		       e->xfeatures, xcr0);
		return -EINVAL;
	}
	if (e->has_xsave_size && e->xsave_size > xsize) {
		pr_err("the dump's xsave area has %u bytes, this CPU's %u", e->xsave_size, xsize);
		return -EINVAL;
	}
	return 0;
}

static bool is_zombie(const struct rst_ctx *c)
{
	return c->core && c->core->tc && c->core->tc->state == TASK_STATE__TASK_ZOMBIE;
}

/* A stand-in for a session or group leader that had exited (pstree.proto): no images. */
static bool is_helper(const struct rst_ctx *c)
{
	return c->ps->has_helper && c->ps->helper;
}

/* Who creates the task at restore, if not its parent (pstree.proto), or 0. */
/* Does the parent of @c create it before it leads its own session (pstree.proto)? */
static bool before_setsid(const struct rst_ctx *c)
{
	return c->ps->has_before_setsid && c->ps->before_setsid;
}

static pid_t creator_of(const struct rst_ctx *c)
{
	return c->ps->has_creator ? (pid_t)c->ps->creator : 0;
}

/* A zombie has its core image (state, comm, wait status) and nothing else. */
static int read_zombie(struct rst_ctx *c)
{
	if (!c->core->tc->has_exit_code) {
		pr_err("core-%d.img: a zombie without its exit status", c->pid);
		return -EBADMSG;
	}
	return 0;
}

static int read_task_images(struct rst_ctx *c)
{
	int ret;

	ret = read_one(c->dir, IMG_CORE, c->pid, &core_entry__descriptor, &c->core);
	if (ret)
		return ret;
	if (!c->core->tc) {
		pr_err("core-%d.img: no task state", c->pid);
		return -EBADMSG;
	}
	if (is_zombie(c))
		return read_zombie(c);
	if (c->ps->n_threads && (pid_t)c->ps->threads[0] != c->pid) {
		pr_err("pstree.img: the first thread of pid %d is %u", c->pid, c->ps->threads[0]);
		return -EBADMSG;
	}
	if (c->ps->n_threads > 1) {
		c->thread_cores = calloc(c->ps->n_threads - 1, sizeof(*c->thread_cores));
		if (!c->thread_cores)
			return -ENOMEM;
	}
	for (size_t i = 1; i < c->ps->n_threads; i++) {
		ret = read_one(c->dir, IMG_CORE, c->ps->threads[i], &core_entry__descriptor,
			       &c->thread_cores[i - 1]);
		if (ret)
			return ret;
		c->nr_threads++;
	}
	ret = read_one(c->dir, IMG_MM, c->pid, &mm_entry__descriptor, &c->mm);
	if (!ret)
		ret = read_one(c->dir, IMG_FS, c->pid, &fs_entry__descriptor, &c->fs);
	if (!ret)
		ret = read_entries(c->dir, IMG_FILES, 0, NULL, &file_entry__descriptor,
				   (void ***)&c->files, &c->nr_files);
	if (!ret)
		ret = read_entries(c->dir, IMG_FDINFO, c->pid, NULL, &fdinfo_entry__descriptor,
				   (void ***)&c->fds, &c->nr_fds);
	if (!ret)
		ret = read_entries(c->dir, IMG_PAGEMAP, c->pid, &pagemap_head__descriptor,
				   &pagemap_entry__descriptor, (void ***)&c->pms, &c->nr_pms);
	if (ret)
		return ret;
	if (!c->nr_pms) {
		pr_err("pagemap-%d.img: no pagemap head", c->pid);
		return -EBADMSG;
	}
	/* The first entry is the head: keep it apart. */
	c->pm_head = (PagemapHead *)c->pms[0];
	memmove(c->pms, c->pms + 1, --c->nr_pms * sizeof(*c->pms));

	ret = img_open(c->dir, IMG_PAGES, c->pm_head->pages_id, O_RDONLY, &c->pages);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(c->dir));
	return pages_open_parents(c);
}

static const PstreeEntry *find_entry(const struct rst_tree *tr, pid_t pid)
{
	size_t i;

	for (i = 0; i < tr->nr; i++)
		if ((pid_t)tr->ps[i]->pid == pid)
			return tr->ps[i];
	return NULL;
}

/*
 * Helpers come last, lead their session or group and are no one's parent; a task's creator is
 * another entry, and so is, for a task, its parent.
 */
static int check_helpers(struct rst_tree *tr)
{
	const PstreeEntry *e, *o;
	size_t i;

	if ((tr->ps[0]->has_helper && tr->ps[0]->helper) || tr->ps[0]->has_creator) {
		pr_err("pstree.img: the root is a helper or has a creator");
		return -EBADMSG;
	}
	for (i = 1; i < tr->nr; i++) {
		e = tr->ps[i];
		o = find_entry(tr, e->ppid);
		if (e->has_helper && e->helper) {
			if (e->n_threads || e->has_creator || (e->sid != e->pid && e->pgid != e->pid) ||
			    (o->has_helper && o->helper)) {
				pr_err("pstree.img: helper %u is not a session or group leader of no "
				       "threads, child of a task", e->pid);
				return -EBADMSG;
			}
			tr->nr_helpers++;
			continue;
		}
		if (tr->nr_helpers || (o->has_helper && o->helper)) {
			pr_err("pstree.img: pid %u comes after a helper or is its child", e->pid);
			return -EBADMSG;
		}
		if (e->has_creator && (e->creator == e->pid || !find_entry(tr, e->creator))) {
			pr_err("pstree.img: the creator %u of pid %u is not in the tree", e->creator,
			       e->pid);
			return -EBADMSG;
		}
		if (e->has_before_setsid && e->before_setsid &&
		    (e->has_creator || o == tr->ps[0] || o->sid != o->pid || e->sid == o->sid)) {
			pr_err("pstree.img: pid %u, made before its parent's setsid(), has a creator "
			       "or a parent that is the root or leads no session of its own", e->pid);
			return -EBADMSG;
		}
	}
	/* who makes whom (creator, else parent) leads back to the root from every task */
	for (i = 1; i < tr->nr; i++) {
		size_t n;

		for (e = tr->ps[i], n = 0; e && e != tr->ps[0] && n <= tr->nr; n++)
			e = find_entry(tr, e->has_creator ? e->creator : e->ppid);
		if (e != tr->ps[0]) {
			pr_err("pstree.img: pid %u is made by a cycle of creators", tr->ps[i]->pid);
			return -EBADMSG;
		}
	}
	return 0;
}

/* pstree.img: the root first, every other process after its parent, pids unique. */
static int check_pstree(struct rst_tree *tr)
{
	size_t i, j;

	if (!tr->nr || tr->ps[0]->pid != tr->inv->root_pid || tr->ps[0]->ppid) {
		pr_err("pstree.img: the root is not pid %u of inventory.img", tr->inv->root_pid);
		return -EBADMSG;
	}
	for (i = 1; i < tr->nr; i++) {
		for (j = 0; j < i && tr->ps[j]->pid != tr->ps[i]->ppid; j++)
			if (tr->ps[j]->pid == tr->ps[i]->pid)
				break;
		if (j == i || tr->ps[j]->pid == tr->ps[i]->pid) {
			pr_err("pstree.img: pid %u comes before its parent %u or twice",
			       tr->ps[i]->pid, tr->ps[i]->ppid);
			return -EBADMSG;
		}
	}
	return check_helpers(tr);
}

static int read_images(struct rst_tree *tr)
{
	size_t i;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &tr->start);
	ret = img_dir_open(tr->opts->images_dir, false, &tr->dir);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(tr->dir));
	ret = read_one(tr->dir, IMG_INVENTORY, 0, &inventory_entry__descriptor, &tr->inv);
	if (!ret)
		ret = check_inventory(tr->inv);
	if (!ret)
		ret = read_entries(tr->dir, IMG_PSTREE, 0, NULL, &pstree_entry__descriptor,
				   (void ***)&tr->ps, &tr->nr);
	if (!ret)
		ret = check_pstree(tr);
	if (ret)
		return ret;
	tr->tasks = calloc(tr->nr, sizeof(*tr->tasks));
	if (!tr->tasks)
		return -ENOMEM;
	for (i = 0; i < tr->nr; i++) {
		struct rst_ctx *c = &tr->tasks[i];

		c->opts = tr->opts;
		c->dir = tr->dir;
		c->inv = tr->inv;
		c->ps = tr->ps[i];
		c->pid = c->ps->pid;
		c->status_pipe[0] = c->status_pipe[1] = c->go_pipe[0] = c->go_pipe[1] = -1;
		c->exit_status = -1;
		if (is_helper(c))
			continue;
		ret = read_task_images(c);
		if (ret)
			return ret;
	}
	return 0;
}

static void free_msgs(void **arr, size_t nr)
{
	while (nr)
		protobuf_c_message_free_unpacked(arr[--nr], NULL);
	free(arr);
}

static void rst_ctx_release(struct rst_ctx *c)
{
	pages_release_parents(c);
	img_close(c->pages);
	if (c->pm_head)
		protobuf_c_message_free_unpacked(&c->pm_head->base, NULL);
	free_msgs((void **)c->pms, c->nr_pms);
	free_msgs((void **)c->fds, c->nr_fds);
	free_msgs((void **)c->files, c->nr_files);
	if (c->fs)
		protobuf_c_message_free_unpacked(&c->fs->base, NULL);
	if (c->mm)
		protobuf_c_message_free_unpacked(&c->mm->base, NULL);
	if (c->core)
		protobuf_c_message_free_unpacked(&c->core->base, NULL);
	while (c->nr_threads)
		protobuf_c_message_free_unpacked(&c->thread_cores[--c->nr_threads]->base, NULL);
	free(c->thread_cores);
	free(c->kinds);
	free(c->shm_fds);
}

static void close_pipes(struct rst_ctx *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (c->status_pipe[i] >= 0)
			close(c->status_pipe[i]);
		if (c->go_pipe[i] >= 0)
			close(c->go_pipe[i]);
		c->status_pipe[i] = c->go_pipe[i] = -1;
	}
}

static void rst_tree_release(struct rst_tree *tr)
{
	size_t i;

	for (i = 0; tr->tasks && i < tr->nr; i++) {
		close_pipes(&tr->tasks[i]);
		rst_ctx_release(&tr->tasks[i]);
	}
	free(tr->tasks);
	free(tr->cow_kids);
	while (tr->nr_shm)
		close(tr->shm_fds[--tr->nr_shm]);
	free(tr->shm_fds);
	if (tr->group_ready)
		munmap(tr->group_ready, PAGE_ALIGN(tr->nr * sizeof(*tr->group_ready)));
	free_msgs((void **)tr->ps, tr->nr);
	if (tr->inv)
		protobuf_c_message_free_unpacked(&tr->inv->base, NULL);
	img_dir_free(tr->dir);
}

/* ---------------------------------------------------------------------------------------------
 * Checks, all before anything is created
 */

/* The state letter of task @pid ('Z': a zombie) and its parent; 0: no such task. */
static char pid_state(pid_t pid, pid_t *ret_ppid)
{
	char path[32], buf[512], *p, st = 0;
	int fd, ppid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", &st, &ppid) != 2)
		st = '?';
	*ret_ppid = ppid;
	return st;
}

/*
 * Is @pid taken? A task that is dying, or dead and not reaped yet (the dumped tree, killed by
 * the dump just before, whose orphans wait for a slow init), is waited for a while: 2 s.
 */
static bool pid_in_use(pid_t pid)
{
	struct timespec ms = { 0, 5 * 1000 * 1000 };
	pid_t ppid;
	char st;
	int i;

	for (i = 0; i < 400; i++) {
		st = pid_state(pid, &ppid);
		if (!st)
			return false;
		if (st != 'Z' && st != 'X')
			return true;
		nanosleep(&ms, NULL);
	}
	return pid_state(pid, &ppid) != 0;
}

static int check_pid_free(const struct rst_ctx *c)
{
	pid_t ppid = 0;

	if (pid_in_use(c->pid)) {
		if (pid_state(c->pid, &ppid) == 'Z')
			pr_err("pid %d is already in use: a zombie its parent %d has not reaped",
			       c->pid, ppid);
		else
			pr_err("pid %d is already in use", c->pid);
		return -EEXIST;
	}
	return 0;
}

/* The parent of task @i in the tree (pstree.img lists it before), or NULL for the root. */
static const struct rst_ctx *tree_parent(const struct rst_tree *tr, size_t i)
{
	size_t j;

	for (j = 0; i && j < i; j++)
		if (tr->tasks[j].pid == (pid_t)tr->tasks[i].ps->ppid)
			return &tr->tasks[j];
	return NULL;
}

static const struct rst_ctx *find_task(const struct rst_tree *tr, pid_t pid)
{
	size_t i;

	for (i = 0; i < tr->nr; i++)
		if (tr->tasks[i].pid == pid)
			return &tr->tasks[i];
	return NULL;
}

/* Pages a task shares copy-on-write with its parent come from the parent's memory. */
static int check_cow(struct rst_tree *tr, size_t i)
{
	const struct rst_ctx *c = &tr->tasks[i], *p = tree_parent(tr, i);
	uint64_t pages = 0;
	int ret;

	if (creator_of(c) || before_setsid(c))	/* created by another, or before the parent
						 * has its memory: shares nothing with it */
		p = NULL;
	ret = pages_check_cow(c, p && !is_zombie(p) ? p : NULL, &pages);
	if (ret || !pages)
		return ret;
	pr_info("pid %d: %" PRIu64 " pages stay shared copy-on-write with its parent %d", c->pid,
		pages, p->pid);
	tr->cow_pages += pages;
	tr->cow_kids[p - tr->tasks] = true;
	return 0;
}

static pid_t ctty_source(const struct rst_tree *tr, size_t idx, struct rst_task *t,
			 const FdinfoEntry **ret_e);

/*
 * The tasks of a session get its controlling terminal by fork from its leader (tty.c): a pty
 * the leader can only take from a task it creates itself cannot be theirs.
 */
static int check_ctty(struct rst_tree *tr)
{
	const FdinfoEntry *e;
	size_t i;

	for (i = 0; i < tr->nr; i++) {
		struct rst_task t = { .c = &tr->tasks[i] };

		if (is_helper(t.c) || is_zombie(t.c) || ctty_source(tr, i, &t, &e) != -2)
			continue;
		pr_err("pid %d: the pty that is the controlling terminal of its session comes from "
		       "task %d, which it creates: the other tasks of the session cannot get it "
		       "back (not supported)", t.c->pid, rst_files_source(&t, e->fd));
		return -EOPNOTSUPP;
	}
	return 0;
}

static int check_images(struct rst_tree *tr)
{
	size_t i;
	int ret = 0;

	tr->cow_kids = calloc(tr->nr, sizeof(*tr->cow_kids));
	if (!tr->cow_kids)
		return -ENOMEM;

	for (i = 0; !ret && i < tr->nr; i++) {
		struct rst_ctx *c = &tr->tasks[i];

		if (is_zombie(c)) {
			ret = check_pid_free(c);
			continue;
		}
		if (is_helper(c) || creator_of(c)) {
			/* made by a live task (or a helper), never by a zombie */
			const struct rst_ctx *m = creator_of(c) ? find_task(tr, creator_of(c)) :
								   tree_parent(tr, i);

			if (!m || is_zombie(m)) {
				pr_err("pstree.img: pid %d is created by a zombie", c->pid);
				return -EBADMSG;
			}
		}
		if (is_helper(c)) {
			if (pid_in_use(c->pid)) {
				pr_err("pid %d is already in use: it is needed to make the %s %d again, "
				       "whose leader had exited", c->pid, (pid_t)c->ps->sid == c->pid ?
				       "session" : "process group", c->pid);
				ret = -EEXIST;
			}
			continue;
		}
		ret = core_check(c);
		if (!ret)
			ret = mm_check(c);
		if (!ret)
			ret = files_check(c);
		if (!ret)
			ret = check_cow(tr, i);
		if (!ret)
			ret = check_pid_free(c);
	}
	if (!ret)
		ret = check_ctty(tr);
	if (!ret)
		ret = mm_shmem_create(tr->tasks, tr->nr - tr->nr_helpers, &tr->shm_fds, &tr->nr_shm);
	return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The child: it becomes the task. Each step returns 0 or -errno with a message in t->err;
 * the first failure goes back to criu over the status pipe and the child exits.
 */

static int child_signals(struct rst_task *t)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t all;
	int sig;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	/* a created task gets it once it is its parent's (child_join_group()) */
	if (!creator_of(t->c) && prctl(PR_SET_PDEATHSIG, SIGKILL))
		return rst_task_err(t, -errno, "cannot set the parent death signal: %m");
	t->maps_buf = malloc(MAPS_BUF_SIZE);
	if (!t->maps_buf)
		return rst_task_err(t, -ENOMEM, "out of memory");
	return 0;
}

/* glibc registered rseq for criu's thread; that area is about to disappear. */
static int child_rseq_off(struct rst_task *t)
{
	void *abi = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (!__rseq_size)
		return 0;
	if (syscall(SYS_rseq, abi, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0)
		return 0;
	if (syscall(SYS_rseq, abi, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) && errno != EINVAL)
		return rst_task_err(t, -errno, "cannot unregister criu's rseq: %m");
	return 0;
}

static int child_open_exe(struct rst_task *t)
{
	const RegFileEntry *exe;

	if (!t->c->mm->exe_file_id)
		return 0;
	exe = reg_file_find(t->c, t->c->mm->exe_file_id);
	t->exe_fd = open(exe->name, O_RDONLY | O_CLOEXEC);
	if (t->exe_fd < 0)
		return rst_task_err(t, -errno, "cannot open the executable '%s': %m", exe->name);
	return 0;
}

static uint64_t vdso_span(const struct rst_ctx *c)
{
	if (!c->nr_vdso_now)
		return 0;
	return c->vdso_now[c->nr_vdso_now - 1].end - c->vdso_now[0].start;
}

/* The restorer's area: blob, args, stack, a hole for the vDSO unit on its way. */
static int child_size_restorer(struct rst_task *t)
{
	t->args_len = PAGE_ALIGN(sizeof(struct restorer_args) + mm_args_size(t) +
				 core_args_size(t->c) + creds_args_size(t->c) +
				 timers_args_size(t->c) +
				 MAX_UNMAP * sizeof(struct rst_range) + 64);
	t->rst_len = PAGE_ALIGN(restorer_blob_len) + t->args_len + RESTORER_STACK_SIZE +
		     t->c->nr_threads * RESTORER_THREAD_STACK + PAGE_ALIGN(vdso_span(t->c));
	return 0;
}

static int child_map_restorer(struct rst_task *t)
{
	uint64_t rst = t->area + t->premap_len;
	struct restorer_args *a;
	size_t off = sizeof(*a);
	void *p;
	int ret;

	p = mmap((void *)rst, t->rst_len - PAGE_ALIGN(vdso_span(t->c)),
		 PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return rst_task_err(t, -errno, "cannot map the restorer at %#" PRIx64 ": %m", rst);
	memcpy(p, restorer_blob, restorer_blob_len);
	a = t->args = (void *)(rst + PAGE_ALIGN(restorer_blob_len));
	t->thread_stacks = (uint64_t)a + t->args_len + RESTORER_STACK_SIZE;

	a->version = RESTORER_PROTO_VERSION;
	a->status_fd = t->status_fd;
	a->go_fd = t->go_fd;
	a->self_start = rst;
	a->self_len = t->rst_len;
	a->vdso_tmp = rst + t->rst_len - PAGE_ALIGN(vdso_span(t->c));
	mm_fill_args(t, a, &off);
	ret = core_fill_args(t, a, &off);
	if (!ret)
		ret = creds_fill_args(t, a, &off);
	if (!ret)
		ret = timers_fill_args(t, a, &off);
	if (ret)
		return ret;
	a->unmap_off = ALIGN_UP(off, 16);
	return 0;
}

static bool in_vdso_unit(const char *name)
{
	return !strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") ||
	       !strcmp(name, "[vvar_vclock]") || !strcmp(name, "[vsyscall]");
}

/*
 * The very last step before the jump: every mapping of ours but the reservation and the vDSO
 * unit goes to the unmap list. Nothing may be allocated or mapped after this.
 */
static int child_list_unmap(struct rst_task *t)
{
	struct restorer_args *a = t->args;
	struct rst_range *r = (struct rst_range *)((char *)a + a->unmap_off);
	uint64_t lo = t->area, hi = t->area + t->premap_len + t->rst_len;
	unsigned long s, e;
	char *p, *nl, *name;
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rst_task_err(t, -errno, "cannot open /proc/self/maps: %m");
	while ((n = read(fd, t->maps_buf + len, MAPS_BUF_SIZE - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0 || len >= MAPS_BUF_SIZE - 1)
		return rst_task_err(t, -EIO, "cannot read /proc/self/maps");
	t->maps_buf[len] = '\0';

	for (p = t->maps_buf; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = '\0';
		s = strtoul(p, &name, 16);
		e = strtoul(name + 1, &name, 16);
		name = strrchr(p, ' ');
		name = name ? name + 1 : p;
		if ((s >= lo && e <= hi) || in_vdso_unit(name))
			continue;
		if (a->nr_unmap == MAX_UNMAP)
			return rst_task_err(t, -E2BIG, "criu has more than %d mappings", MAX_UNMAP);
		r[a->nr_unmap].start = s;
		r[a->nr_unmap++].end = e;
	}
	return 0;
}

struct child_step {
	const char *name;
	int (*run)(struct rst_task *t);
};

/* Before the task creates its children: what they inherit (blocked signals, session, group)... */
static const struct child_step child_steps_first[] = {
	{ "cgroups",		cgroup_restore },
	{ "signals",		child_signals },
	{ "task",		core_restore_task },
};

/*
 * ... and, if they share pages copy-on-write with it (PE_COW), its memory, premapped and filled,
 * so that those pages are theirs too: each child takes them over (pages_cow_take()) and unmaps
 * the rest. Children that share nothing are created before, to restore alongside it.
 */
static const struct child_step child_steps_mem[] = {
	{ "rseq",		child_rseq_off },
	{ "vmas",		mm_list_vmas },
	{ "restorer size",	child_size_restorer },
	{ "premap",		mm_premap },
	{ "copy-on-write",	pages_cow_take },
	{ "pages",		pages_restore },
};

static const struct child_step child_steps[] = {
	{ "pages images",	pages_close },
	/* criu's fds are closed now, but for the two pipes: the task's fds can go in */
	{ "files",		files_restore },
	{ "fs",			fs_restore },
	{ "exe",		child_open_exe },
	{ "shared file vmas",	mm_open_shared },
	{ "restorer",		child_map_restorer },
	{ "signal state",	core_restore_signals },
	{ "limits",		core_restore_limits },
	{ "unmap list",		child_list_unmap },	/* the last: nothing is mapped after it */
};

static __noreturn void child_failed(struct rst_task *t)
{
	char buf[RESTORER_ERR_MAX + 64];
	int n;

	n = snprintf(buf, sizeof(buf), "%c%s", RESTORER_MSG_FAIL, t->err);
	if (write(t->status_fd, buf, min(n, RESTORER_ERR_MAX + 1)) < 0)
		_exit(2);
	_exit(1);
}

/*
 * Run @nr steps in order; a failing one ends the task. @log: a debug line after each (per-step
 * timing in the log); only while criu's log fd is still ours, before files_restore().
 */
static void child_run_steps(struct rst_task *t, const struct child_step *s, size_t nr, bool log)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		if (s[i].run(t) < 0)
			child_failed(t);
		if (log)
			pr_debug("pid %d: %s done", t->c->pid, s[i].name);
	}
}

static __noreturn void rst_child(struct rst_tree *tr, size_t idx, const struct rst_task *parent);
static __noreturn void zombie_child(struct rst_tree *tr, size_t idx);
static __noreturn void helper_child(struct rst_tree *tr, size_t idx);

/* clone3() with the pid @pid: returns it, 0 in the child, or -errno. */
static long clone_pid(pid_t pid)
{
	pid_t tid = pid;
	struct clone_args ca = {
		.exit_signal	= SIGCHLD,
		.set_tid	= (uintptr_t)&tid,
		.set_tid_size	= 1,
	};
	long ret;

	ret = syscall(SYS_clone3, &ca, sizeof(ca));
	return ret < 0 ? -errno : ret;
}

static void group_mark(struct rst_tree *tr, size_t idx, uint32_t v)
{
	__atomic_store_n(&tr->group_ready[idx], v, __ATOMIC_RELEASE);
	syscall(SYS_futex, &tr->group_ready[idx], FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* The task's session and group exist now: tasks may join the group (child_join_group()). */
static void group_ready(struct rst_tree *tr, size_t idx)
{
	group_mark(tr, idx, 1);
}

/* Wait until tr->group_ready[@idx] reaches @v; false after RST_TIMEOUT seconds. */
static bool group_wait(struct rst_tree *tr, size_t idx, uint32_t v)
{
	struct timespec ts = { .tv_sec = RST_TIMEOUT };
	uint32_t now;

	while ((now = __atomic_load_n(&tr->group_ready[idx], __ATOMIC_ACQUIRE)) < v)
		if (syscall(SYS_futex, &tr->group_ready[idx], FUTEX_WAIT, now, &ts, NULL, 0) &&
		    errno == ETIMEDOUT)
			return false;
	return true;
}

/* A SIGCHLD of a child we reaped ourselves must not stay pending for the task. */
static void drop_sigchld(void)
{
	struct timespec now = { 0, 0 };
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigtimedwait(&chld, NULL, &now);
}

/*
 * The recorded group of a task may be led by a task that is not its ancestor (a sibling, a
 * nephew), maybe created after it: the task joins it once its leader made it, after creating
 * its own children (so it never waits for a task it has to create). The children join their
 * own groups the same way, whatever they inherited.
 */
static int join_group(struct rst_tree *tr, size_t idx, struct rst_task *t)
{
	pid_t pgid = tr->tasks[idx].ps->pgid;
	size_t j;

	if (getpgid(0) == pgid)
		return 0;
	for (j = 0; j < tr->nr && tr->tasks[j].pid != pgid; j++)
		;
	if (j == tr->nr) {
		/* led from outside the tree: the root's group (the dump checks it is) */
		if (pgid != (pid_t)tr->ps[0]->pgid)
			return rst_task_err(t, -EINVAL, "process group %d has no leader in the tree",
					    pgid);
		pgid = getpgid(tr->tasks[0].pid);
		if (pgid < 0 || getpgid(0) == pgid)
			return 0;
	}
	if (j < tr->nr && !group_wait(tr, j, 1))
		return rst_task_err(t, -ETIMEDOUT, "the leader of process group %d did not "
				    "create it", pgid);
	if (setpgid(0, pgid))
		return rst_task_err(t, -errno, "cannot join process group %d: %m", pgid);
	return 0;
}

static const char *helper_failure(int status)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return "could not lead it";
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return "could not create its tasks";
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		return "timed out waiting for the group's tasks";
	return "died";
}

/*
 * Join the recorded group; then the helpers this task created (stand-ins for exited leaders)
 * can go once their groups are complete: reap them. A task a creator made waits until it is
 * its recorded parent's (the creator exited) and only then asks to die with its parent.
 */
static int child_join_group(struct rst_tree *tr, size_t idx, struct rst_task *t)
{
	struct timespec ms = { 0, 1000000 };
	pid_t me = tr->tasks[idx].pid, ppid = tr->tasks[idx].ps->ppid;
	int ret, status, i;
	size_t j;

	ret = join_group(tr, idx, t);
	if (ret)
		return ret;
	group_mark(tr, idx, 2);
	for (j = 0; j < tr->nr; j++) {
		struct rst_ctx *h = &tr->tasks[j];

		if (!is_helper(h) || (pid_t)h->ps->ppid != me)
			continue;
		while (waitpid(h->pid, &status, 0) < 0)
			if (errno != EINTR)
				return rst_task_err(t, -errno, "cannot reap helper %d: %m", h->pid);
		drop_sigchld();
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return rst_task_err(t, -EIO, "the helper making again the %s %d of an "
					    "exited leader %s", (pid_t)h->ps->sid == h->pid ?
					    "session" : "process group", h->pid,
					    helper_failure(status));
	}
	if (!creator_of(&tr->tasks[idx]))
		return 0;
	for (i = 0; getppid() != ppid; i++) {
		if (i > RST_TIMEOUT * 1000)
			return rst_task_err(t, -ETIMEDOUT, "was not reparented to %d after its "
					    "creator %d exited", ppid, creator_of(&tr->tasks[idx]));
		nanosleep(&ms, NULL);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return rst_task_err(t, -errno, "cannot set the parent death signal: %m");
	if (getppid() != ppid)
		return rst_task_err(t, -ESRCH, "its parent %d died", ppid);
	return 0;
}

/*
 * The task creates its own children, which restore themselves (and their children). @mem: its
 * memory is in place, and they inherit what of it they share.
 */
/* Create task @i (a task, zombie or helper); @parent: ours if it inherits our memory. */
static int fork_task(struct rst_tree *tr, size_t i, const struct rst_task *parent,
		     struct rst_task *t)
{
	long ret = clone_pid(tr->tasks[i].pid);

	if (ret == 0 && is_zombie(&tr->tasks[i]))
		zombie_child(tr, i);
	if (ret == 0 && is_helper(&tr->tasks[i]))
		helper_child(tr, i);
	if (ret == 0)
		rst_child(tr, i, parent);
	if (ret > 0 && is_zombie(&tr->tasks[i])) {
		siginfo_t si;

		/* it is dead once waitid() says so; its SIGCHLD was had long ago */
		waitid(P_PID, ret, &si, WEXITED | WNOWAIT);
		drop_sigchld();
	}
	if (ret == -EEXIST)
		return rst_task_err(t, ret, "pid %d is already in use", tr->tasks[i].pid);
	if (ret < 0)
		return rst_task_err(t, ret, "cannot create pid %d: %s", tr->tasks[i].pid,
				    strerror(-ret));
	return 0;
}

/* Create every task whose creator is @pid (pstree.proto). */
static int fork_created(struct rst_tree *tr, pid_t pid, struct rst_task *t)
{
	size_t i;
	int ret;

	for (i = 1; i < tr->nr; i++) {
		if (creator_of(&tr->tasks[i]) != pid)
			continue;
		ret = fork_task(tr, i, NULL, t);
		if (ret)
			return ret;
	}
	return 0;
}

static bool is_tree_pid(const struct rst_tree *tr, pid_t pid)
{
	size_t i;

	for (i = 0; i < tr->nr; i++)
		if (tr->tasks[i].pid == pid)
			return true;
	return false;
}

/*
 * The tasks this task creates for their parent (adopted into our session): a process of any
 * pid that is none of the tree's creates them and exits at once, so that they are reparented
 * to their parent, the nearest child subreaper above us (the dump checked it).
 */
static int fork_adopted(struct rst_tree *tr, size_t idx, struct rst_task *t)
{
	struct clone_args ca = { .exit_signal = SIGCHLD };
	pid_t me = tr->tasks[idx].pid;
	int tries, status;
	size_t i;
	long pid;

	for (i = 1; i < tr->nr && creator_of(&tr->tasks[i]) != me; i++)
		;
	if (i == tr->nr)
		return 0;
	for (tries = 0; tries < 100; tries++) {
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
		if (pid < 0)
			return rst_task_err(t, -errno, "cannot fork: %m");
		if (pid == 0) {
			if (is_tree_pid(tr, getpid()))
				_exit(99);	/* taken from a task not created yet: again */
			_exit(fork_created(tr, me, t) ? 2 : 0);
		}
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return rst_task_err(t, -errno, "waitpid(%ld): %m", pid);
		drop_sigchld();
		if (WIFEXITED(status) && WEXITSTATUS(status) == 99)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			return rst_task_err(t, -EIO, "could not create the tasks adopted from its "
					    "session (pid %d)", tr->tasks[i].pid);
		return 0;
	}
	return rst_task_err(t, -EAGAIN, "no free pid for a process to create pid %d",
			    tr->tasks[i].pid);
}

/* Is task @pid created by task @idx or by a task it creates (its maker: creator or parent)? */
static bool made_by(const struct rst_tree *tr, pid_t pid, size_t idx)
{
	const struct rst_ctx *c = find_task(tr, pid);
	size_t n;

	for (n = 0; c && n <= tr->nr; n++) {
		if (c == &tr->tasks[idx])
			return true;
		c = find_task(tr, creator_of(c) ? creator_of(c) : (pid_t)c->ps->ppid);
	}
	return false;
}

/* The controlling terminal task @c had (tty_nr of /proc/PID/stat), 0: none or not recorded. */
static uint32_t dumped_tty(const struct rst_ctx *c)
{
	if (is_helper(c) || is_zombie(c) || !c->core->tc->has_tty_nr)
		return 0;
	return c->core->tc->tty_nr;
}

/* Had another task of the session led by task @idx its controlling terminal? */
static bool ctty_shared(const struct rst_tree *tr, size_t idx)
{
	const struct rst_ctx *l = &tr->tasks[idx];
	size_t j;

	for (j = 0; dumped_tty(l) && j < tr->nr; j++)
		if (j != idx && tr->tasks[j].ps->sid == l->ps->sid &&
		    dumped_tty(&tr->tasks[j]) == dumped_tty(l))
			return true;
	return false;
}

/*
 * Session leader @idx whose terminal is a pty of the tree that other tasks of its session had:
 * the task that has its end of it (*@ret_e), 0: the leader creates the pty, -1: nothing to do
 * before its children exist (-2: its source is a task it creates, check_ctty()). The source
 * restores its files without waiting for the tasks the leader creates (they are in the
 * leader's session or below it, the source is not; it waits only for tasks before it in
 * pstree order, files.h).
 */
static pid_t ctty_source(const struct rst_tree *tr, size_t idx, struct rst_task *t,
			 const FdinfoEntry **ret_e)
{
	pid_t from;

	*ret_e = tty_ctty_fd(t->c);
	if (!*ret_e || !ctty_shared(tr, idx))
		return -1;
	from = rst_files_source(t, (*ret_e)->fd);
	if (from < 0)
		return -1;
	return from > 0 && made_by(tr, from, idx) ? -2 : from;
}

/* The session's controlling terminal, before the leader creates the tasks that inherit it. */
static int child_ctty(struct rst_tree *tr, size_t idx, struct rst_task *t)
{
	const FdinfoEntry *e;
	pid_t from = ctty_source(tr, idx, t, &e);

	return from < 0 ? 0 : tty_ctty_early(t, e, from);
}

static int child_fork_children(struct rst_tree *tr, size_t idx, struct rst_task *t, bool mem)
{
	size_t i;
	long ret;
	int pass;

	ret = child_ctty(tr, idx, t);
	if (!ret && mem)
		ret = pages_cow_hide(t, tr->tasks, tr->nr, true);
	/*
	 * Zombies last: we wait for each to die, and one in the group of a sibling waits for
	 * that sibling to lead it first.
	 */
	for (pass = 0; pass < 2; pass++)
		for (i = idx + 1; i < tr->nr && !ret; i++) {
			if ((pid_t)tr->tasks[i].ps->ppid != tr->tasks[idx].pid ||
			    creator_of(&tr->tasks[i]) || before_setsid(&tr->tasks[i]) ||
			    is_zombie(&tr->tasks[i]) != (pass == 1))
				continue;
			ret = fork_task(tr, i, mem ? t : NULL, t);
		}
	if (!ret)
		ret = fork_adopted(tr, idx, t);
	if (!ret && mem)
		ret = pages_cow_hide(t, tr->tasks, tr->nr, false);
	if (ret)
		return ret;
	/* Every pipe end but our own two: a task that dies must leave EOF behind it. */
	for (i = 0; i < tr->nr; i++) {
		struct rst_ctx *o = &tr->tasks[i];

		if (i != idx) {
			if (o->status_pipe[1] >= 0)
				close(o->status_pipe[1]);
			if (o->go_pipe[0] >= 0)
				close(o->go_pipe[0]);
		}
		if (o->status_pipe[0] >= 0)
			close(o->status_pipe[0]);
		if (o->go_pipe[1] >= 0)
			close(o->go_pipe[1]);
	}
	return 0;
}

/*
 * A zombie: it dies at once the way it died (its comm set, its wait status reproduced) and
 * stays a zombie until its restored parent waits for it.
 */
static __noreturn void zombie_child(struct rst_tree *tr, size_t idx)
{
	struct rst_ctx *c = &tr->tasks[idx];
	int status = c->core->tc->exit_code;
	sigset_t set;

	/* a zombie may lead a session or a group the others are in, or be in a sibling's group */
	if ((pid_t)c->ps->sid == c->pid) {
		setsid();
	} else if ((pid_t)c->ps->pgid == c->pid) {
		setpgid(0, 0);
	} else {
		struct rst_task t = { .c = c, .status_fd = -1, .go_fd = -1, .pages_fd = -1,
				      .exe_fd = -1 };

		/* created after its parent's other children: its leader is made or on its way */
		if (join_group(tr, idx, &t) < 0)
			pr_err("pid %d (a zombie): %s", c->pid, t.err);	/* rst_check_groups() fails */
	}
	group_ready(tr, idx);
	prctl(PR_SET_NAME, c->core->tc->comm);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		prctl(PR_SET_DUMPABLE, 0);	/* no core file */
		sigemptyset(&set);
		sigaddset(&set, WTERMSIG(status));
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), WTERMSIG(status));
	}
	_exit(WEXITSTATUS(status));
}

/*
 * A helper: the stand-in for the exited leader of a session or group. It leads it again,
 * creates the tasks adopted from it, lets go of criu's fds, waits until every task of its
 * group joined it (then the group lives on without it) and exits; its parent reaps it. Exit
 * codes: 1 cannot lead, 2 cannot create, 3 timeout (helper_failure()).
 */
static __noreturn void helper_child(struct rst_tree *tr, size_t idx)
{
	struct rst_ctx *c = &tr->tasks[idx];
	struct rst_task t = { .c = c, .status_fd = -1, .go_fd = -1, .pages_fd = -1, .exe_fd = -1 };
	size_t j;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((pid_t)c->ps->sid == c->pid ? setsid() < 0 : setpgid(0, 0) < 0)
		_exit(1);
	group_ready(tr, idx);
	if (fork_created(tr, c->pid, &t))
		_exit(2);
	syscall(SYS_close_range, 3, ~0U, 0);
	for (j = 0; j < tr->nr; j++) {
		struct rst_ctx *m = &tr->tasks[j];

		if (j != idx && (pid_t)m->ps->pgid == c->pid && !is_helper(m) && !is_zombie(m) &&
		    !group_wait(tr, j, 2))
			_exit(3);
	}
	_exit(0);
}

/*
 * The children that stay in the session this task was born in (it made its own after forking
 * them): created first of all, before it leads its session ("task" step). They share no page
 * with it (the dump took all of theirs).
 */
static int fork_before_setsid(struct rst_tree *tr, size_t idx, struct rst_task *t)
{
	size_t i;
	int ret;

	for (i = idx + 1; i < tr->nr; i++) {
		if ((pid_t)tr->tasks[i].ps->ppid != tr->tasks[idx].pid ||
		    !before_setsid(&tr->tasks[i]))
			continue;
		ret = fork_task(tr, i, NULL, t);
		if (ret)
			return ret;
	}
	return 0;
}

/* @parent: the parent's task, in the memory we inherited; NULL for the root. */
static __noreturn void rst_child(struct rst_tree *tr, size_t idx, const struct rst_task *parent)
{
	struct rst_ctx *c = &tr->tasks[idx];
	struct rst_task t = {
		.c = c,
		.status_fd = c->status_pipe[1],
		.go_fd = c->go_pipe[0],
		.pages_fd = img_raw_fd(c->pages),
		.exe_fd = -1,
		.parent = parent,
	};

	if (fork_before_setsid(tr, idx, &t) < 0)
		child_failed(&t);
	child_run_steps(&t, child_steps_first, ARRAY_SIZE(child_steps_first), true);
	group_ready(tr, idx);
	if (!tr->cow_kids[idx] && child_fork_children(tr, idx, &t, false) < 0)
		child_failed(&t);
	child_run_steps(&t, child_steps_mem, ARRAY_SIZE(child_steps_mem), true);
	if (tr->cow_kids[idx] && child_fork_children(tr, idx, &t, true) < 0)
		child_failed(&t);
	if (tr->cow_kids[idx])
		pr_debug("pid %d: children created", c->pid);
	if (child_join_group(tr, idx, &t) < 0 || tty_ctty_drop(&t) < 0)
		child_failed(&t);
	child_run_steps(&t, child_steps, ARRAY_SIZE(child_steps), false);
	arch_jump_to_restorer(t.area + t.premap_len, (unsigned long)t.args + t.args_len +
			      RESTORER_STACK_SIZE, (unsigned long)t.args);
}

/* ---------------------------------------------------------------------------------------------
 * criu's side: create the task, wait for the restorer, follow it through rt_sigreturn
 */

/* Pipes for every task, then the root; it creates the rest of the tree. */
static int rst_fork(struct rst_tree *tr)
{
	struct rst_ctx *root = &tr->tasks[0];
	int was = 0;
	size_t i;
	long pid;

	for (i = 0; i < tr->nr; i++) {
		struct rst_ctx *c = &tr->tasks[i];

		if (is_helper(c))
			continue;
		if (pipe2(c->status_pipe, O_CLOEXEC) || pipe2(c->go_pipe, O_CLOEXEC))
			return pr_err_ret(-errno, "cannot create the sync pipes");
	}
	tr->group_ready = mmap(NULL, PAGE_ALIGN(tr->nr * sizeof(*tr->group_ready)),
			       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tr->group_ready == MAP_FAILED) {
		tr->group_ready = NULL;
		return pr_err_ret(-errno, "cannot map the tasks' futexes");
	}
	/* Orphans of a failed restore come to us, to be reaped. */
	if (tr->nr > 1 && !prctl(PR_GET_CHILD_SUBREAPER, &was, 0, 0, 0) && !was &&
	    !prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		tr->subreaper = true;
	fflush(NULL);
	pid = clone_pid(root->pid);
	if (pid == -EEXIST) {
		pr_err("pid %d is already in use", root->pid);
		return -EEXIST;
	}
	if (pid < 0)
		return pr_err_ret(pid, "cannot create pid %d", root->pid);
	if (pid == 0)
		rst_child(tr, 0, NULL);
	for (i = 0; i < tr->nr; i++) {
		struct rst_ctx *c = &tr->tasks[i];

		if (c->status_pipe[1] >= 0)
			close(c->status_pipe[1]);
		if (c->go_pipe[0] >= 0)
			close(c->go_pipe[0]);
		c->status_pipe[1] = c->go_pipe[0] = -1;
		c->child = c->pid;
	}
	pr_info("created pid %d", root->pid);
	return 0;
}

/* Is @pid a descendant of criu (so one of the tasks we created, not a stranger)? */
static bool is_ours(pid_t pid, size_t depth)
{
	char path[32], buf[512], *p;
	FILE *f;
	int ppid;

	while (depth--) {
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f)
			return false;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (!p || !(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %d", &ppid) != 1)
			return false;
		if (ppid == getpid())
			return true;
		pid = ppid;
	}
	return false;
}

/* Kill what exists of the tree (children before parents) and reap it. */
static void rst_kill(struct rst_tree *tr)
{
	size_t i = tr->nr;
	int status;

	while (i-- > 0)
		if (tr->tasks[i].child > 0 && is_ours(tr->tasks[i].child, tr->nr + 1))
			kill(tr->tasks[i].child, SIGKILL);
	/* Our child is the root; with a subreaper, the orphans of the tree come to us too. */
	while (waitpid(-1, &status, __WALL) > 0 || errno == EINTR)
		;
	for (i = 0; i < tr->nr; i++)
		tr->tasks[i].child = 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
}

/* A task says either READY (+ struct restorer_ready) or FAIL (+ text), or dies. */
static int rst_wait_one(struct rst_ctx *c, bool is_root)
{
	struct pollfd pfd = { .fd = c->status_pipe[0], .events = POLLIN };
	int timeout = (c->opts->timeout > 0 ? c->opts->timeout : RST_TIMEOUT) * 1000;
	char buf[RESTORER_ERR_MAX + 2], how[64] = "died";
	size_t len = 0;
	ssize_t n;
	int status;

	while (len < sizeof(buf) - 1) {
		n = poll(&pfd, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			pr_err("pid %d is not ready after %d s: giving up", c->pid, timeout / 1000);
			return -ETIMEDOUT;
		}
		n = read(c->status_pipe[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (buf[0] == RESTORER_MSG_READY && len >= 1 + sizeof(c->ready))
			break;
	}
	if (len >= 1 + sizeof(c->ready) && buf[0] == RESTORER_MSG_READY) {
		memcpy(&c->ready, buf + 1, sizeof(c->ready));
		pr_info("restorer of pid %d is ready", c->pid);
		return 0;
	}
	if (len > 1 && buf[0] == RESTORER_MSG_FAIL) {
		buf[len] = '\0';
		pr_err("pid %d: %s", c->pid, buf + 1);
		return -EIO;
	}
	if (is_root && waitpid(c->pid, &status, __WALL) == c->pid) {
		c->child = 0;
		describe_status(status, how, sizeof(how));
	}
	pr_err("pid %d %s before it was restored", c->pid, how);
	return -EIO;
}

static int rst_wait_ready(struct rst_tree *tr)
{
	size_t i;
	int ret;

	for (i = 0; i < tr->nr; i++) {
		if (is_zombie(&tr->tasks[i]) || is_helper(&tr->tasks[i]))
			continue;
		ret = rst_wait_one(&tr->tasks[i], i == 0);
		if (ret)
			return ret;
	}
	return 0;
}

/* The controlling terminal of task @pid now (tty_nr of /proc/PID/stat), -1: unreadable. */
/* The process group, session and controlling terminal of task @pid now; -1: unreadable. */
static int stat_ids(pid_t pid, int *pgid, int *sid, unsigned int *tty)
{
	char path[32], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %*c %*d %d %d %u", pgid, sid, tty) != 3)
		return -1;
	return 0;
}

static int64_t tty_now(pid_t pid)
{
	unsigned int tty;
	int pgid, sid;

	return stat_ids(pid, &pgid, &sid, &tty) ? -1 : (int64_t)tty;
}

/*
 * Every task, zombies too, is in the process group and the session it was in: the recorded
 * ones where the tree has their leader (a task, or a helper standing in for an exited one),
 * else the root's (led from outside the tree, which the dump checked).
 */
static int rst_check_groups(struct rst_tree *tr)
{
	int rpgid, rsid, pgid, sid, want_pgid, want_sid;
	const struct rst_ctx *c;
	unsigned int tty;
	size_t i;

	if (stat_ids(tr->tasks[0].pid, &rpgid, &rsid, &tty))
		return pr_err_ret(-ESRCH, "cannot read /proc/%d/stat", tr->tasks[0].pid);
	for (i = 0; i < tr->nr; i++) {
		c = &tr->tasks[i];
		if (is_helper(c))
			continue;
		if (stat_ids(c->pid, &pgid, &sid, &tty))
			return pr_err_ret(-ESRCH, "cannot read /proc/%d/stat", c->pid);
		want_pgid = is_tree_pid(tr, (pid_t)c->ps->pgid) ? (int)c->ps->pgid : rpgid;
		want_sid = is_tree_pid(tr, (pid_t)c->ps->sid) ? (int)c->ps->sid : rsid;
		if (pgid == want_pgid && sid == want_sid)
			continue;
		pr_err("pid %d%s: process group %d, session %d after restore; %d, %d expected "
		       "(dumped: %u, %u)", c->pid, is_zombie(c) ? " (a zombie)" : "", pgid, sid,
		       want_pgid, want_sid, c->ps->pgid, c->ps->sid);
		return -EIO;
	}
	return 0;
}

/*
 * Every task has the controlling terminal it had: none if it had none, and a task that had its
 * session's pty (its leader's, restored by the tree) has the one its leader has now. Another
 * terminal (criu's, --shell-job) is not compared: it is the one criu runs on.
 */
static int rst_check_ttys(struct rst_tree *tr)
{
	const struct rst_ctx *c, *l;
	int64_t now, want;
	size_t i;

	for (i = 0; i < tr->nr; i++) {
		c = &tr->tasks[i];
		if (is_helper(c) || is_zombie(c) || !c->core->tc->has_tty_nr)
			continue;
		l = find_task(tr, c->ps->sid);
		want = c->core->tc->tty_nr;
		if (want && (!l || !tty_ctty_fd(l) || dumped_tty(l) != (uint32_t)want))
			continue;
		now = tty_now(c->pid);
		if (want)	/* the pty's number may differ: the one its leader has now */
			want = tty_now(l->pid);
		if (now >= 0 && now == want && (now || !c->core->tc->tty_nr))
			continue;
		pr_err("pid %d: its controlling terminal is %#llx after restore, %#llx expected "
		       "(dumped: %#x)", c->pid, (long long)now, (long long)want,
		       c->core->tc->tty_nr);
		return -EIO;
	}
	return 0;
}

/* Wait for the next stop of the traced thread @tid; -ESRCH if the task died. */
static int trace_wait(struct rst_ctx *c, pid_t tid, int *ret_status)
{
	int status;

	while (waitpid(tid, &status, __WALL) < 0)
		if (errno != EINTR)
			return pr_err_ret(-errno, "waitpid(%d)", tid);
	if (!WIFSTOPPED(status)) {
		char how[64];

		describe_status(status, how, sizeof(how));
		pr_err("pid %d (thread %d) %s while criu traced it", c->pid, tid, how);
		if (tid == c->pid)
			c->child = 0;
		return -ESRCH;
	}
	*ret_status = status;
	return 0;
}

/* Resume to the next syscall stop; signals that stop the thread on the way are passed on. */
static int trace_next_syscall(struct rst_ctx *c, pid_t tid, struct __ptrace_syscall_info *info)
{
	int status, sig = 0, ret;

	for (;;) {
		if (ptrace(PTRACE_SYSCALL, tid, 0, sig))
			return pr_err_ret(-errno, "ptrace(PTRACE_SYSCALL, %d)", tid);
		ret = trace_wait(c, tid, &status);
		if (ret)
			return ret;
		sig = 0;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80))
			break;
		if ((status >> 16) == 0)
			sig = WSTOPSIG(status);
	}
	if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(*info), info) <= 0)
		return pr_err_ret(-errno, "ptrace(PTRACE_GET_SYSCALL_INFO, %d)", tid);
	return 0;
}

/* Make the stopped main thread run munmap() of the restorer's area at its "syscall". */
static int unmap_restorer(struct rst_ctx *c, const struct user_regs_struct *saved)
{
	struct user_regs_struct regs = *saved;
	struct __ptrace_syscall_info info;
	int ret;

	regs.rip = c->ready.syscall_ip;
	regs.rax = SYS_munmap;
	regs.orig_rax = -1;
	regs.rdi = c->ready.self_start;
	regs.rsi = c->ready.self_len;
	if (ptrace(PTRACE_SETREGS, c->pid, 0, &regs))
		return pr_err_ret(-errno, "cannot set the registers of pid %d", c->pid);
	ret = trace_next_syscall(c, c->pid, &info);
	if (!ret && (info.op != PTRACE_SYSCALL_INFO_ENTRY || info.entry.nr != SYS_munmap))
		ret = -EIO;
	if (!ret)
		ret = trace_next_syscall(c, c->pid, &info);
	if (!ret && (info.op != PTRACE_SYSCALL_INFO_EXIT || info.exit.rval != 0))
		ret = -EIO;
	if (ret)
		return pr_err_ret(ret, "pid %d: cannot unmap the restorer", c->pid);
	if (ptrace(PTRACE_SETREGS, c->pid, 0, saved))
		return pr_err_ret(-errno, "cannot set the registers of pid %d", c->pid);
	return 0;
}

/* Give thread @tid its byte and follow it to the end of its rt_sigreturn. */
static int trace_to_sigreturn(struct rst_ctx *c, pid_t tid)
{
	struct __ptrace_syscall_info info;
	long last_nr = -1;
	char go = 1;
	int ret;

	if (write(c->go_pipe[1], &go, 1) != 1)
		return pr_err_ret(-errno, "cannot wake the restorer of pid %d", c->pid);
	for (;;) {
		ret = trace_next_syscall(c, tid, &info);
		if (ret)
			return ret;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			last_nr = info.entry.nr;
		else if (info.op == PTRACE_SYSCALL_INFO_EXIT && last_nr == SYS_rt_sigreturn)
			return 0;
	}
}

static pid_t thread_tid(const struct rst_ctx *c, size_t i)
{
	return i ? (pid_t)c->ps->threads[i] : c->pid;
}

static uint64_t thread_sigmask(const struct rst_ctx *c, size_t i)
{
	const ThreadCoreEntry *th;

	if (!i)
		return core_sigmask(c);
	th = c->thread_cores[i - 1]->thread_core;
	return th && th->has_blk_sigset ? th->blk_sigset : core_sigmask(c);
}

/*
 * Trace every thread from its wait for our byte to the end of its rt_sigreturn, the main one
 * last: then the registers are the task's own, and the restorer can go. The threads stay
 * stopped until rst_finish() lets the whole tree go.
 */
static int rst_finish_one(struct rst_ctx *c)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
	size_t i, nr = c->nr_threads + 1;
	struct user_regs_struct regs;
	uint64_t mask;
	int status, ret;

	/* A restored seccomp filter must filter neither the restorer's end nor our munmap. */
	if (c->core->tc->has_seccomp_mode && c->core->tc->seccomp_mode)
		opts |= PTRACE_O_SUSPEND_SECCOMP;
	for (i = 0; i < nr; i++) {
		if (ptrace(PTRACE_SEIZE, thread_tid(c, i), 0, opts))
			return pr_err_ret(-errno, "cannot trace pid %d (thread %d)", c->pid,
					  thread_tid(c, i));
		if (ptrace(PTRACE_INTERRUPT, thread_tid(c, i), 0, 0))
			return pr_err_ret(-errno, "cannot stop pid %d", c->pid);
		ret = trace_wait(c, thread_tid(c, i), &status);
		if (ret)
			return ret;
	}
	for (i = nr; i-- > 0;) {
		ret = trace_to_sigreturn(c, thread_tid(c, i));
		if (ret)
			return ret;
	}
	if (ptrace(PTRACE_GETREGS, c->pid, 0, &regs))
		return pr_err_ret(-errno, "cannot read the registers of pid %d", c->pid);
	ret = unmap_restorer(c, &regs);
	if (ret)
		return ret;
	/* The frames kept every signal blocked while we worked; now the task's own masks. */
	for (i = 0; i < nr; i++) {
		mask = thread_sigmask(c, i);
		if (ptrace(PTRACE_SETSIGMASK, thread_tid(c, i), sizeof(mask), &mask))
			return pr_err_ret(-errno, "cannot set the signal mask of pid %d", c->pid);
	}
	return 0;
}

/* Does thread @tid of @pid have a signal pending that its mask lets in? */
static bool signal_deliverable(pid_t pid, pid_t tid)
{
	unsigned long long pnd = 0, shd = 0, blk = 0;
	_cleanup_free_ char *line = NULL;
	char path[64];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return true;	/* cannot tell: do not step */
	while (getline(&line, &cap, f) > 0) {
		sscanf(line, "SigPnd: %llx", &pnd);
		sscanf(line, "ShdPnd: %llx", &shd);
		sscanf(line, "SigBlk: %llx", &blk);
	}
	fclose(f);
	return (pnd | shd) & ~blk;
}

/*
 * A thread dumped inside a syscall was restored to restart it: it sits on its syscall
 * instruction. A signal that came now would run its handler and then the syscall would start
 * over, where the original thread, asleep in it, would have seen it interrupted (pause()
 * returns EINTR). Let such a thread, unless a signal waits for it anyway, run into the syscall
 * before we let it go: returns true when it is at its syscall-entry stop.
 * Not a sleep, a timed futex wait or a poll: our detach wakes the thread (TIF_SIGPENDING), which
 * then interrupts the syscall it just entered, and the kernel restarts it through
 * restart_syscall(), whose arguments a later dump cannot tell (it would give the thread EINTR).
 * Those start on their own after the detach, fresh; a signal in the few instructions before
 * runs its handler and the sleep goes on.
 */
static bool step_into_syscall(struct rst_ctx *c, pid_t tid)
{
	struct __ptrace_syscall_info info;
	struct user_regs_struct regs;
	long text;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs))
		return false;
	errno = 0;
	text = ptrace(PTRACE_PEEKTEXT, tid, regs.rip, 0);
	if (errno || !arch_is_syscall_insn(text) || arch_syscall_restarts_by_block(&regs))
		return false;
	if (signal_deliverable(c->pid, tid))
		return false;
	if (trace_next_syscall(c, tid, &info) || info.op != PTRACE_SYSCALL_INFO_ENTRY) {
		pr_warn("pid %d (thread %d): did not reach its syscall", c->pid, tid);
		return false;
	}
	return true;
}

/* Every task is held at the end of its rt_sigreturn until all are; then they all go. */
static int rst_finish(struct rst_tree *tr)
{
	struct rst_ctx *c;
	size_t i, j;
	int ret;

	for (i = 0; i < tr->nr; i++) {
		if (is_zombie(&tr->tasks[i]) || is_helper(&tr->tasks[i]))
			continue;
		ret = rst_finish_one(&tr->tasks[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < tr->nr; i++) {
		c = &tr->tasks[i];
		if (is_zombie(c) || is_helper(c))
			continue;
		for (j = c->nr_threads + 1; j-- > 0;) {
			if (c->core->tc->state != TASK_STATE__TASK_STOPPED)
				step_into_syscall(c, thread_tid(c, j));
			if (ptrace(PTRACE_DETACH, thread_tid(c, j), 0, 0))
				return pr_err_ret(-errno, "cannot detach from pid %d", c->pid);
		}
		if (c->core->tc->state == TASK_STATE__TASK_STOPPED && kill(c->child, SIGSTOP))
			return pr_err_ret(-errno, "cannot stop pid %d again", c->pid);
		pr_info("pid %d is running", c->pid);
	}
	if (tr->subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	return 0;
}

static int write_pidfile(struct rst_tree *tr)
{
	struct rst_ctx *c = &tr->tasks[0];
	_cleanup_close_ int fd = -1;
	char buf[16];
	int len;

	if (!c->opts->pidfile)
		return 0;
	fd = open(c->opts->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return pr_err_ret(-errno, "cannot create the pidfile '%s'", c->opts->pidfile);
	len = snprintf(buf, sizeof(buf), "%d", c->pid);
	if (write(fd, buf, len) != len)
		return pr_err_ret(-errno, "cannot write the pidfile '%s'", c->opts->pidfile);
	return 0;
}

/* What was restored and how long it took: on the log, and on stdout with --display-stats. */
static int rst_report(struct rst_tree *tr)
{
	uint64_t pages = 0, vmas = 0;
	struct timespec now;
	size_t i, j;
	double secs;

	for (i = 0; i < tr->nr; i++) {
		if (!tr->tasks[i].mm)
			continue;
		vmas += tr->tasks[i].mm->n_vmas;
		for (j = 0; j < tr->tasks[i].nr_pms; j++)
			pages += tr->tasks[i].pms[j]->nr_pages;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (now.tv_sec - tr->start.tv_sec) + (now.tv_nsec - tr->start.tv_nsec) / 1e9;
	pages -= tr->cow_pages;
	pr_info("restored %zu task(s): %" PRIu64 " vmas, %" PRIu64 " pages (%" PRIu64 " KiB) "
		"and %" PRIu64 " pages kept shared copy-on-write with a parent, in %.3f s",
		tr->nr - tr->nr_helpers,
		vmas, pages, pages * (PAGE_SIZE / 1024), tr->cow_pages, secs);
	if (tr->opts->display_stats)
		pr_msg("Restore statistics\n  tasks: %zu\n  vmas: %" PRIu64 "\n  pages restored: %"
		       PRIu64 "\n  pages shared with a parent: %" PRIu64 "\n  restore time: %.3f s\n",
		       tr->nr - tr->nr_helpers, vmas, pages, tr->cow_pages, secs);
	return 0;
}

static int rst_wait_task(struct rst_tree *tr)
{
	struct rst_ctx *c = &tr->tasks[0];
	char how[64];

	if (c->opts->restore_detached) {
		c->child = 0;
		return 0;
	}
	while (waitpid(c->child, &c->exit_status, 0) < 0)
		if (errno != EINTR)
			return pr_err_ret(-errno, "waitpid(%d)", c->pid);
	c->child = 0;
	describe_status(c->exit_status, how, sizeof(how));
	pr_info("pid %d %s", c->pid, how);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The step table
 */

struct rst_step {
	const char *name;
	int (*run)(struct rst_tree *tr);
	void (*undo)(struct rst_tree *tr);
};

static const struct rst_step rst_steps[] = {
	{ "read the images",		read_images,	NULL },
	{ "check the images",		check_images,	NULL },
	{ "create the task",		rst_fork,	rst_kill },
	{ "wait for the restorer",	rst_wait_ready,	NULL },
	{ "check the groups",		rst_check_groups, NULL },
	{ "check the terminals",	rst_check_ttys,	NULL },
	{ "finish the restore",		rst_finish,	NULL },
	{ "report",			rst_report,	NULL },
	{ "write the pidfile",		write_pidfile,	NULL },
	{ "wait for the task",		rst_wait_task,	NULL },
};

int action_restore(const struct cr_opts *opts)
{
	struct rst_tree tr = { .opts = opts };
	int status = -1;
	size_t i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(rst_steps); i++) {
		pr_debug("step: %s", rst_steps[i].name);
		ret = rst_steps[i].run(&tr);
		if (ret < 0) {
			pr_debug("step '%s' failed: %s", rst_steps[i].name, strerror(-ret));
			break;
		}
	}
	if (ret < 0)
		while (i-- > 0)
			if (rst_steps[i].undo)
				rst_steps[i].undo(&tr);
	if (tr.tasks)
		status = tr.tasks[0].exit_status;
	if (tr.subreaper)
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	rst_tree_release(&tr);
	if (ret < 0 || status == -1)
		return ret;

	/* Without -d, criu exits with the restored task's status, as CRIU does. */
	log_fini();
	if (WIFEXITED(status))
		exit(WEXITSTATUS(status));
	exit(128 + WTERMSIG(status));
}
