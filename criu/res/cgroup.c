/*
 * Cgroup membership: which cgroup of each hierarchy a process is in (task_core_entry.cgroups).
 *
 * Dump: /proc/PID/cgroup, one (controllers, path) pair per hierarchy: the v1 controllers of
 * the hierarchy ("cpu,cpuacct", "name=systemd"), "" for cgroup v2. Only membership: the
 * cgroups' own settings (limits, ...) are not saved.
 * Restore: each process, first thing in its own life (before it maps its memory, which a memory
 * cgroup then charges, and before it creates its children, which inherit it), joins the cgroup
 * it was in, in each hierarchy where it is elsewhere now: the hierarchy's mount (mountinfo: a
 * "cgroup" mount with those controllers among its options, or "cgroup2") plus the path; a
 * missing cgroup is created (empty). A hierarchy not mounted here is skipped with a warning. A
 * frozen cgroup (v1 freezer.state, v2 cgroup.freeze or a frozen ancestor) is refused: the
 * task would freeze halfway through its restore. --manage-cgroups=ignore (or none) leaves the
 * tree in criu's cgroups.
 */
#define LOG_PREFIX "cgroup: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "opts.h"
#include "core/log.h"
#include "core/proc-parse.h"
#include "images/core.pb-c.h"

/* ================================= dump side ================================= */

/* The lines "ID:CONTROLLERS:PATH" of /proc/@pid/cgroup (or a task's) into @ret/@ret_nr. */
static int cgroup_parse(const char *path, struct dump_cgroup **ret, size_t *ret_nr)
{
	_cleanup_free_ char *buf = NULL;
	struct dump_cgroup *cg = NULL, *n;
	char *line, *save = NULL, *c, *p;
	size_t nr = 0;
	int ret_code;

	ret_code = proc_read_file(path, &buf);
	if (ret_code < 0)
		return ret_code;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		c = strchr(line, ':');
		p = c ? strchr(c + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = '\0';
		n = realloc(cg, (nr + 1) * sizeof(*cg));
		if (!n)
			goto nomem;
		cg = n;
		cg[nr].controllers = strdup(c + 1);
		cg[nr].path = strdup(p);
		nr++;
		if (!cg[nr - 1].controllers || !cg[nr - 1].path)
			goto nomem;
	}
	*ret = cg;
	*ret_nr = nr;
	return 0;
nomem:
	while (nr--) {
		free(cg[nr].controllers);
		free(cg[nr].path);
	}
	free(cg);
	return -ENOMEM;
}

int cgroup_collect(struct dump_ctx *dc)
{
	char path[64];
	size_t i;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", dc->pid);
	ret = cgroup_parse(path, &dc->cgroups, &dc->nr_cgroups);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read %s", path);
	for (i = 0; i < dc->nr_cgroups; i++)
		pr_debug("task %d: cgroup '%s' of hierarchy '%s'", dc->pid, dc->cgroups[i].path,
			 dc->cgroups[i].controllers);
	return 0;
}

void cgroup_release(struct dump_ctx *dc)
{
	size_t i;

	for (i = 0; i < dc->nr_cgroups; i++) {
		free(dc->cgroups[i].controllers);
		free(dc->cgroups[i].path);
	}
	free(dc->cgroups);
	dc->cgroups = NULL;
	dc->nr_cgroups = 0;
}

int cgroup_fill_core(const struct dump_ctx *dc, TaskCoreEntry *tc, void **ret_mem)
{
	CgroupEntry *e, **pp;
	size_t i;

	*ret_mem = NULL;
	if (!dc->nr_cgroups)
		return 0;
	pp = calloc(dc->nr_cgroups, sizeof(*pp) + sizeof(*e));
	if (!pp)
		return -ENOMEM;
	e = (CgroupEntry *)(pp + dc->nr_cgroups);
	for (i = 0; i < dc->nr_cgroups; i++) {
		cgroup_entry__init(&e[i]);
		e[i].controllers = dc->cgroups[i].controllers;
		e[i].path = dc->cgroups[i].path;
		pp[i] = &e[i];
	}
	tc->n_cgroups = dc->nr_cgroups;
	tc->cgroups = pp;
	*ret_mem = pp;
	return 0;
}

/* ================================ restore side =============================== */

/* Has the comma-separated @opts every controller of the comma-separated @want? */
static bool has_controllers(const char *opts, const char *want)
{
	const char *w = want, *e, *o, *oe;
	size_t len;
	bool found;

	while (*w) {
		e = strchrnul(w, ',');
		len = (size_t)(e - w);
		found = false;
		for (o = opts; *o && !found; o = *oe ? oe + 1 : oe) {
			oe = strchrnul(o, ',');
			found = (size_t)(oe - o) == len && !strncmp(o, w, len);
		}
		if (!found)
			return false;
		w = *e ? e + 1 : e;
	}
	return true;
}

/*
 * The directory of cgroup @path of the hierarchy with @controllers ("" : v2) into @dir, from
 * our mountinfo; -ENOENT: not mounted here.
 */
static int cgroup_dir(const char *controllers, const char *path, char *dir, size_t len)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL, root[1024], mnt[1024], fstype[64], opts[1024], *sep;
	size_t rl;
	int ret;

	ret = proc_read_file("/proc/self/mountinfo", &buf);
	if (ret < 0)
		return ret;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*d %*d %*s %1023s %1023s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (*controllers ? strcmp(fstype, "cgroup") || !has_controllers(opts, controllers) :
				   strcmp(fstype, "cgroup2"))
			continue;
		rl = strcmp(root, "/") ? strlen(root) : 0;
		if (strncmp(path, root, rl) || (path[rl] && path[rl] != '/'))
			continue;	/* a bind mount of another part of the hierarchy */
		snprintf(dir, len, "%s%s", mnt, path + rl);
		return 0;
	}
	return -ENOENT;
}

/* mkdir -p @dir (under a cgroup mount: the rest exists). */
static int mkdir_p(char *dir)
{
	char *s;

	for (s = dir + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			*s = '/';
			return -errno;
		}
		*s = '/';
	}
	return mkdir(dir, 0755) && errno != EEXIST ? -errno : 0;
}

/* The first bytes of file @name of @dir ("" if it cannot be read). */
static void read_small(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX + 32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

static int cgroup_join(struct rst_task *t, const CgroupEntry *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], state[32], events[256];
	struct stat st;
	bool frozen;
	int fd, ret;

	ret = cgroup_dir(e->controllers, e->path, dir, sizeof(dir));
	if (ret == -ENOENT) {
		pr_warn("pid %d: no cgroup hierarchy '%s' is mounted here: not put back in '%s'",
			t->c->pid, *e->controllers ? e->controllers : "(v2)", e->path);
		return 0;
	}
	if (ret < 0)
		return rst_task_err(t, ret, "cannot read /proc/self/mountinfo: %s", strerror(-ret));
	if (stat(dir, &st)) {
		ret = mkdir_p(dir);
		if (ret < 0)
			return rst_task_err(t, ret, "cannot create cgroup %s: %s (--manage-cgroups="
					    "ignore restores into criu's)", dir, strerror(-ret));
		pr_info("pid %d: created cgroup %s", t->c->pid, dir);
	}
	if (*e->controllers) {
		read_small(dir, "freezer.state", state, sizeof(state));
		frozen = !strncmp(state, "FROZEN", 6) || !strncmp(state, "FREEZING", 8);
	} else {
		read_small(dir, "cgroup.freeze", state, sizeof(state));
		frozen = state[0] == '1';
		read_small(dir, "cgroup.events", events, sizeof(events));
		frozen = frozen || strstr(events, "frozen 1");	/* an ancestor's freeze */
	}
	if (frozen)
		return rst_task_err(t, -EBUSY, "cgroup %s is frozen: thaw it to restore into it",
				    dir);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return rst_task_err(t, ret, "cannot join cgroup %s: %s (--manage-cgroups=ignore "
				    "restores into criu's)", dir, strerror(-ret));
	}
	close(fd);
	pr_debug("pid %d: joined cgroup %s", t->c->pid, dir);
	return 0;
}

int cgroup_restore(struct rst_task *t)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	struct dump_cgroup *now = NULL;
	size_t i, j, nr = 0;
	int ret;

	if (!tc->n_cgroups || t->c->opts->cgroups_ignore)
		return 0;
	ret = cgroup_parse("/proc/self/cgroup", &now, &nr);
	if (ret < 0)
		return rst_task_err(t, ret, "cannot read /proc/self/cgroup: %s", strerror(-ret));
	for (i = 0; i < tc->n_cgroups && !ret; i++) {
		const CgroupEntry *e = tc->cgroups[i];

		for (j = 0; j < nr && strcmp(now[j].controllers, e->controllers); j++)
			;
		if (j < nr && !strcmp(now[j].path, e->path))
			continue;	/* there already (inherited, or criu's own) */
		ret = cgroup_join(t, e);
	}
	for (j = 0; j < nr; j++) {
		free(now[j].controllers);
		free(now[j].path);
	}
	free(now);
	return ret;
}
