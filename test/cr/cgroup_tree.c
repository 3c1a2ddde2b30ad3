/*
 * A tree spread over cgroups comes back in them: the root joins cgroup A and its child cgroup
 * B (zdtm-cg-$ZDTM_RUN_ID/{a,b}), both in the v1 pids hierarchy and in cgroup v2; the child's
 * child stays in B with it. After restore each checks its /proc/self/cgroup from the inside;
 * then they leave and the root removes the cgroups.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *const roots[] = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified" };
static const char *const lines[] = { ":pids:/", "0::/" };	/* before the path */
static char base[64];

static int join(const char *root, const char *sub)
{
	char path[256];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s/%s/cgroup.procs", root, base, sub);
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, "0", 1) == 1;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Is this process in cgroup @sub of both hierarchies? 0, or -1 with the reason in @why. */
static int check_in(const char *sub, char *why, size_t len)
{
	char buf[4096], want[128];
	ssize_t n;
	int fd, i;

	fd = open("/proc/self/cgroup", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "%s%s/%s\n", lines[i], base, sub);
		if (!strstr(buf, want)) {
			snprintf(why, len, "pid %d is not in %s/%s/%s: %.300s", getpid(), roots[i], base,
				 sub, buf);
			return -1;
		}
	}
	return 0;
}

static void child(int ready)
{
	char why[512];
	pid_t g;
	int status;

	if (join(roots[0], "b") || join(roots[1], "b"))
		_exit(3);
	g = fork();
	if (g == 0) {
		if (write(ready, "g", 1) != 1)
			_exit(3);
		test_waitsig();
		_exit(check_in("b", why, sizeof(why)) ? (test_msg("%s", why), 4) : 0);
	}
	if (g < 0 || write(ready, "c", 1) != 1)
		_exit(3);
	test_waitsig();
	if (check_in("b", why, sizeof(why))) {
		test_msg("%s", why);
		_exit(4);
	}
	kill(g, SIGTERM);
	status = test_reap(g);
	_exit(status == 0 ? 0 : 5);
}

int main(int argc, char **argv)
{
	char path[256], why[512], c;
	const char *subs[] = { "a", "b" };
	int p[2], i, j, status;
	pid_t kid;

	test_init(argc, argv);
	if (!getenv("ZDTM_RUN_ID"))
		skip("no ZDTM_RUN_ID in the environment (run it from test/run.py)");
	snprintf(base, sizeof(base), "zdtm-cg-%s", getenv("ZDTM_RUN_ID"));
	for (i = 0; i < 2; i++) {
		if (access(roots[i], F_OK))
			skip("no cgroup hierarchy at %s", roots[i]);
		snprintf(path, sizeof(path), "%s/%s", roots[i], base);
		if (mkdir(path, 0755) && errno != EEXIST)
			fail("mkdir %s: %m", path);
		for (j = 0; j < 2; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s", roots[i], base, subs[j]);
			if (mkdir(path, 0755) && errno != EEXIST)
				fail("mkdir %s: %m", path);
		}
	}
	if (join(roots[0], "a") || join(roots[1], "a"))
		fail("cannot join %s/a: %m", base);
	if (pipe(p))
		fail("pipe: %m");
	kid = fork();
	if (kid < 0)
		fail("fork: %m");
	if (kid == 0)
		child(p[1]);
	for (i = 0; i < 2; i++)
		if (read(p[0], &c, 1) != 1)
			fail("the child failed to set up");

	test_ready();
	test_waitsig();

	if (check_in("a", why, sizeof(why)))
		fail("%s", why);
	kill(kid, SIGTERM);
	status = test_reap(kid);
	if (status != 0)
		fail("the child's check failed (status %#x: 4 = not in its cgroup, see above)", status);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", roots[i]);
		j = open(path, O_WRONLY);
		if (j < 0 || write(j, "0", 1) != 1)
			fail("cannot leave the test cgroups: %m");
		close(j);
		for (j = 0; j < 2; j++) {
			snprintf(path, sizeof(path), "%s/%s/%s", roots[i], base, subs[j]);
			rmdir(path);
		}
		snprintf(path, sizeof(path), "%s/%s", roots[i], base);
		rmdir(path);
	}
	pass();
}
