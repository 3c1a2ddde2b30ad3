/*
 * Freezing a tree through the cgroup freezer (--freeze-cgroup PATH), v1 (freezer.state) or v2
 * (cgroup.freeze + cgroup.events).
 *
 * A frozen task cannot fork, exit or run while criu seizes it; freezer_seize() attaches to the
 * given tasks while they are frozen, thaws the cgroup and waits for their ptrace stops, so
 * afterwards they are seized exactly as compel_seize() leaves them and the cgroup is thawed.
 *
 * All functions here log their own failures and return 0 or a negative errno.
 */
#ifndef CRIU_CORE_FREEZER_H
#define CRIU_CORE_FREEZER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "uapi/compel/compel.h"

struct freezer;

/*
 * Find the cgroup @path: an absolute path of a cgroup directory, or a path relative to (or
 * absolute inside) the v1 freezer hierarchy or the v2 hierarchy, tried in that order.
 * *@ret_f is owned by the caller (freezer_free()). @timeout_s: how long freezing may take.
 */
int freezer_open(const char *path, int timeout_s, struct freezer **ret_f);

/* Frees @f (NULL is fine); does not change the cgroup's state. */
void freezer_free(struct freezer *f);

/* The cgroup's directory (borrowed, valid as long as @f). */
const char *freezer_path(const struct freezer *f);

/* 0 if task @pid is in the cgroup or one below it, -ESRCH if not, another -errno on failure. */
int freezer_check_task(const struct freezer *f, pid_t pid);

/* Freeze the cgroup and wait until the kernel says it is frozen. */
int freezer_freeze(struct freezer *f);

/* Thaw the cgroup (if we froze it or it was frozen before, see freezer_restore()). */
int freezer_thaw(struct freezer *f);

/*
 * With the cgroup frozen: attach to @pids[0..nr) (compel_seize_catch()), thaw, then wait for
 * each stop (compel_seize_wait()); states[i] gets what compel_seize() would say. On failure the
 * tasks seized so far are released and the cgroup is thawed.
 */
int freezer_seize(struct freezer *f, const pid_t *pids, size_t nr,
		  enum compel_task_state *states);

/* Put the cgroup back as it was found by freezer_freeze(): frozen again if it was frozen then. */
int freezer_restore(struct freezer *f);

#endif
