/*
 * Seizing a whole process tree: every thread of every process under the root is ptrace-seized
 * and stopped, top-down, re-scanning threads and children until nothing new appears (a task
 * that forks or clones while we walk is caught). Zombies are recorded, never seized.
 *
 * With --freeze-cgroup the tree is frozen before seize_tree() runs (core/freezer.c); seizing a
 * frozen tree works the same way.
 *
 * Logging functions: they log their own failures once and return 0 or a negative errno.
 */
#ifndef CRIU_CORE_SEIZE_H
#define CRIU_CORE_SEIZE_H

#include <sys/types.h>

struct freezer;
struct pstree;

/*
 * Collect and seize the tree under @root into @t (empty on entry). With @f (its cgroup frozen
 * by freezer_freeze()), the frozen tree is listed first and seized at once by freezer_seize(),
 * which thaws it. On failure what was seized stays seized and recorded in @t:
 * seize_release_all() lets it go.
 */
int seize_tree(pid_t root, struct pstree *t, struct freezer *f);

/* Release every thread seized, in reverse order: each exactly as it was (stopped stays stopped). */
void seize_release_all(struct pstree *t);

/*
 * Kill every process of the tree (SIGKILL) and collect the exit of every thread we trace, so
 * that each is gone when this returns. Zombies stay for their parents.
 */
int seize_kill_all(struct pstree *t);

#endif
