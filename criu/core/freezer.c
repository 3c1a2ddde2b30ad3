/*
 * The cgroup freezer: freeze a cgroup, seize its tasks while they are frozen, thaw.
 *
 * v1: write FROZEN to freezer.state and read it until it says FROZEN (FREEZING meanwhile; the
 * write is repeated, as a task forking while it freezes may need it). v2: write 1 to
 * cgroup.freeze and wait for "frozen 1" in cgroup.events.
 *
 * PTRACE_SEIZE and PTRACE_INTERRUPT work on frozen tasks, but a v1-frozen task only reaches the
 * ptrace stop once thawed (a v2-frozen one reaches it at once): so attach, thaw, then wait.
 */
#define LOG_PREFIX "freezer: "
#include "core/freezer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "core/log.h"

#define FREEZER_DEFAULT_TIMEOUT	10	/* seconds */

struct freezer {
	bool v2;
	bool was_frozen;	/* frozen before freezer_freeze() */
	bool frozen;		/* frozen by us right now */
	int timeout_ms;
	char dir[PATH_MAX];	/* the cgroup's directory */
	char rel[PATH_MAX];	/* its path inside the hierarchy, "/" for the root */
};

/* The mount points of the v1 freezer hierarchy and of cgroup2, from /proc/self/mountinfo. */
static int cgroup_mounts(char *v1, char *v2, size_t len)
{
	_cleanup_free_ char *line = NULL;
	char mnt[PATH_MAX], fstype[64], opts[512], *sep;
	size_t cap = 0;
	FILE *f;

	v1[0] = v2[0] = '\0';
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2") && !v2[0])
			snprintf(v2, len, "%s", mnt);
		else if (!strcmp(fstype, "cgroup") && !v1[0] &&
			 (strstr(opts, ",freezer") || !strncmp(opts, "freezer", 7)))
			snprintf(v1, len, "%s", mnt);
	}
	fclose(f);
	return 0;
}

static bool has_file(const char *dir, const char *name)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* @dir is a cgroup of hierarchy @mnt (v2 or not): fill @f. */
static bool freezer_try(struct freezer *f, const char *mnt, const char *dir, bool v2)
{
	char real[PATH_MAX], rmnt[PATH_MAX];
	size_t n;

	if (!mnt[0] || !realpath(dir, real) || !realpath(mnt, rmnt))
		return false;
	n = strlen(rmnt);
	if (strncmp(real, rmnt, n) || (real[n] && real[n] != '/'))
		return false;
	if (!has_file(real, v2 ? "cgroup.freeze" : "freezer.state"))
		return false;
	f->v2 = v2;
	snprintf(f->dir, sizeof(f->dir), "%s", real);
	snprintf(f->rel, sizeof(f->rel), "%s", real[n] ? real + n : "/");
	return true;
}

int freezer_open(const char *path, int timeout_s, struct freezer **ret_f)
{
	_cleanup_free_ struct freezer *f = NULL;
	char v1[PATH_MAX], v2[PATH_MAX], dir[2 * PATH_MAX + 2];
	const char *rel = path;
	int ret;

	if (!path || !path[0]) {
		pr_err("--freeze-cgroup needs a cgroup path");
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->timeout_ms = (timeout_s > 0 ? timeout_s : FREEZER_DEFAULT_TIMEOUT) * 1000;
	ret = cgroup_mounts(v1, v2, sizeof(v1));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/self/mountinfo");

	if (path[0] == '/' && (freezer_try(f, v1, path, false) || freezer_try(f, v2, path, true)))
		goto found;
	while (*rel == '/')
		rel++;
	snprintf(dir, sizeof(dir), "%s/%s", v1, rel);
	if (v1[0] && freezer_try(f, v1, dir, false))
		goto found;
	snprintf(dir, sizeof(dir), "%s/%s", v2, rel);
	if (v2[0] && freezer_try(f, v2, dir, true))
		goto found;
	pr_err("freeze cgroup '%s': no such cgroup in the v1 freezer hierarchy ('%s') or the v2 "
	       "hierarchy ('%s')", path, v1[0] ? v1 : "not mounted", v2[0] ? v2 : "not mounted");
	return -ENOENT;
found:
	if (!strcmp(f->rel, "/")) {
		pr_err("freeze cgroup '%s' is the root cgroup, which cannot be frozen", path);
		return -EINVAL;
	}
	pr_info("freeze cgroup '%s' (cgroup v%d)", f->dir, f->v2 ? 2 : 1);
	*ret_f = TAKE_PTR(f);
	return 0;
}

void freezer_free(struct freezer *f)
{
	free(f);
}

const char *freezer_path(const struct freezer *f)
{
	return f->dir;
}

static int file_read(const struct freezer *f, const char *name, char *buf, size_t len)
{
	char p[PATH_MAX + 32];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

static int file_write(const struct freezer *f, const char *name, const char *val)
{
	char p[PATH_MAX + 32];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", f->dir, name);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

/* 1 frozen, 0 not (yet), or -errno. */
static int freezer_state(const struct freezer *f)
{
	char buf[512], *p;
	int ret;

	ret = file_read(f, f->v2 ? "cgroup.events" : "freezer.state", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (!f->v2)
		return !strncmp(buf, "FROZEN", 6);
	p = strstr(buf, "frozen ");
	if (!p || (p != buf && p[-1] != '\n'))
		return -EIO;
	return p[7] == '1';
}

static int freezer_set(const struct freezer *f, bool frozen)
{
	if (f->v2)
		return file_write(f, "cgroup.freeze", frozen ? "1" : "0");
	return file_write(f, "freezer.state", frozen ? "FROZEN" : "THAWED");
}

int freezer_check_task(const struct freezer *f, pid_t pid)
{
	_cleanup_free_ char *line = NULL;
	char p[64], *cg;
	size_t cap = 0, n = strlen(f->rel);
	int ret = -ESRCH;
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
	fp = fopen(p, "re");
	if (!fp)
		return -errno;
	while (getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		cg = strchr(line, ':');
		if (!cg)
			continue;
		if (f->v2 ? strncmp(line, "0::", 3) : !strstr(cg, ":freezer:") &&
							 !strstr(cg, ",freezer:") &&
							 !strstr(cg, ":freezer,"))
			continue;
		cg = strrchr(line, ':') + 1;
		if (!strncmp(cg, f->rel, n) && (cg[n] == '\0' || cg[n] == '/')) {
			ret = 0;
			break;
		}
	}
	fclose(fp);
	return ret;
}

/* The state letter of /proc/TID/stat. */
static int proc_state(pid_t tid, char *ret_state)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	*ret_state = p[2];
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/*
 * v1 only: a stopped task (SIGSTOP) that gets frozen cannot be seized any more (PTRACE_SEIZE
 * waits for it to re-trap, which a frozen task never does): find one in @dir or below it.
 */
static int v1_find_stopped(const char *dir, pid_t *ret_tid)
{
	char path[PATH_MAX + 32], state;
	struct dirent *de;
	int tid, ret = 0;
	FILE *fp;
	DIR *d;

	snprintf(path, sizeof(path), "%s/tasks", dir);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	while (fscanf(fp, "%d", &tid) == 1) {
		if (proc_state(tid, &state) == 0 && state == 'T') {
			*ret_tid = tid;
			fclose(fp);
			return 1;
		}
	}
	fclose(fp);
	d = opendir(dir);
	if (!d)
		return -errno;
	while (ret == 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = v1_find_stopped(path, ret_tid);
	}
	closedir(d);
	return ret;
}

int freezer_freeze(struct freezer *f)
{
	long deadline = now_ms() + f->timeout_ms, tries = 0;
	pid_t tid;
	int ret;

	if (!f->v2) {
		ret = v1_find_stopped(f->dir, &tid);
		if (ret < 0)
			return pr_err_ret(ret, "cannot list the tasks of cgroup '%s'", f->dir);
		if (ret > 0) {
			pr_err("task %d in cgroup '%s' is stopped: a cgroup v1 freezer would keep it "
			       "from being seized; dump it without --freeze-cgroup", tid, f->dir);
			return -EOPNOTSUPP;
		}
	}

	ret = freezer_state(f);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the state of cgroup '%s'", f->dir);
	f->was_frozen = ret == 1;
	for (;;) {
		if (tries++ % 100 == 0) {
			ret = freezer_set(f, true);
			if (ret < 0)
				return pr_err_ret(ret, "cannot freeze cgroup '%s'", f->dir);
			f->frozen = true;
		}
		ret = freezer_state(f);
		if (ret < 0)
			return pr_err_ret(ret, "cannot read the state of cgroup '%s'", f->dir);
		if (ret == 1)
			break;
		if (now_ms() > deadline) {
			pr_err("cgroup '%s' is not frozen after %d ms", f->dir, f->timeout_ms);
			freezer_thaw(f);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	pr_info("froze cgroup '%s'%s", f->dir, f->was_frozen ? " (it was frozen already)" : "");
	return 0;
}

int freezer_thaw(struct freezer *f)
{
	int ret;

	if (!f->frozen && !f->was_frozen)
		return 0;
	ret = freezer_set(f, false);
	if (ret < 0)
		return pr_err_ret(ret, "cannot thaw cgroup '%s'", f->dir);
	f->frozen = false;
	pr_info("thawed cgroup '%s'", f->dir);
	return 0;
}

int freezer_restore(struct freezer *f)
{
	int ret;

	if (!f->was_frozen)
		return freezer_thaw(f);
	ret = freezer_set(f, true);
	if (ret < 0)
		return pr_err_ret(ret, "cannot freeze cgroup '%s' again", f->dir);
	pr_info("cgroup '%s' is frozen again, as it was", f->dir);
	return 0;
}

int freezer_seize(struct freezer *f, const pid_t *pids, size_t nr,
		  enum compel_task_state *states)
{
	size_t i, caught, waited = 0;
	int ret = 0, ret2;

	for (caught = 0; caught < nr; caught++) {
		ret = compel_seize_catch(pids[caught], &states[caught]);
		if (ret < 0) {
			pr_err_ret(ret, "cannot seize frozen task %d", pids[caught]);
			break;
		}
	}
	ret2 = freezer_thaw(f);
	if (ret == 0)
		ret = ret2;
	for (; ret == 0 && waited < caught; waited++) {
		if (states[waited] != COMPEL_TASK_ALIVE)
			continue;	/* zombie or dead: nothing to wait for */
		ret = compel_seize_wait(pids[waited], &states[waited]);	/* detaches on failure */
		if (ret < 0)
			pr_err_ret(ret, "cannot stop task %d", pids[waited]);
	}
	if (ret == 0)
		return 0;
	/* Let every task go: the ones that stopped, and the ones still on their way to the stop. */
	for (i = 0; i < caught; i++) {
		if (i + 1 == waited || states[i] == COMPEL_TASK_ZOMBIE ||
		    states[i] == COMPEL_TASK_DEAD)
			continue;	/* the failed one is detached already */
		if (i >= waited && compel_seize_wait(pids[i], &states[i]) < 0)
			continue;
		compel_release(pids[i], states[i]);
	}
	return ret;
}
