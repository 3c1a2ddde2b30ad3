/*
 * The process tree of a dump: one item per process under the root, parents before children,
 * each with its threads (the main thread first) and, once seized, how each thread was found.
 * Pure data and pstree.img; collecting and seizing it is core/seize.c's job.
 *
 * Non-logging: functions return 0 (or a count) or a negative errno.
 */
#ifndef CRIU_CORE_PSTREE_H
#define CRIU_CORE_PSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "uapi/compel/compel.h"

struct img_dir;

struct pstree_thread {
	pid_t tid;
	enum compel_task_state state;	/* what compel_seize() found */
	bool seized;			/* ours to release */
};

struct pstree_item {
	pid_t pid;
	pid_t ppid;			/* 0 for the root (its parent is outside the tree) */
	pid_t pgid, sid;
	int parent;			/* index of the parent item, -1 for the root */
	bool zombie;			/* state Z: recorded, never seized */
	int exit_code;			/* zombies: the wait status (/proc/PID/stat exit_code) */
	pid_t creator;			/* 0, or who creates it at restore (pstree.proto) */
	bool before_setsid;		/* its parent creates it before its setsid() (pstree.proto) */
	struct pstree_thread *threads;	/* owned, nr_threads, the main thread first */
	size_t nr_threads;
};

/* A stand-in for a session or group leader that had exited (pstree.proto: helper). */
struct pstree_helper {
	pid_t pid, ppid, pgid, sid;
};

struct pstree {
	struct pstree_item *items;	/* owned, nr, parents before children */
	size_t nr, cap;
	struct pstree_helper *helpers;	/* owned, nr_helpers: written after the items */
	size_t nr_helpers;
};

/* Add process @pid (child of item @parent, -1: the root); *@ret_idx gets its index. */
int pstree_add(struct pstree *t, pid_t pid, int parent, size_t *ret_idx);
/* The index of process @pid, or -ENOENT. */
int pstree_find(const struct pstree *t, pid_t pid);
/* Add thread @tid to item @it (the main thread must come first). */
int pstree_add_thread(struct pstree_item *it, pid_t tid, struct pstree_thread **ret_th);
struct pstree_thread *pstree_find_thread(const struct pstree_item *it, pid_t tid);
/* Whether some process of the tree has pid @pid and leads the session (@sid) or group. */
bool pstree_leads_session(const struct pstree *t, pid_t sid);
bool pstree_leads_group(const struct pstree *t, pid_t pgid);
/* The helper with pid @pid, or NULL; add one (its pid must be new). */
struct pstree_helper *pstree_find_helper(const struct pstree *t, pid_t pid);
int pstree_add_helper(struct pstree *t, const struct pstree_helper *h);
void pstree_release(struct pstree *t);
/* Write pstree.img: one PstreeEntry per item in order, then one per helper. */
int pstree_write(const struct pstree *t, struct img_dir *dir);

#endif
