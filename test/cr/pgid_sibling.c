/*
 * Process groups whose leader is not an ancestor and was created after a member: the root forks
 * A, B and C in that order. B leads its own group and so does its child B1. A joins B's group
 * (its leader is a sibling created after it) and then forks A1, which inherits B's group. C
 * joins B1's group (its leader is a nephew). A restore that creates the tasks in the recorded
 * order must still put each one in its group. After restore every task checks its pid, parent,
 * group and session from the inside; the root forwards SIGTERM down the tree and passes only
 * if every task exited 0.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static int ready[2];		/* every task writes a byte here once its group is set */

static void get_ids(struct ids *i)
{
	i->pid = getpid();
	i->ppid = getppid();
	i->pgid = getpgid(0);
	i->sid = getsid(0);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 10;
	if (!WIFEXITED(status))
		return 11;
	return WEXITSTATUS(status);
}

/*
 * A task below the root, whose group is set: report ready, wait for SIGTERM, pass it to @kid
 * (or -1), check the ids. Exits 0, 2 if its own ids changed, or its child's code.
 */
static __attribute__((noreturn)) void live(pid_t kid)
{
	struct ids was, now;
	int ret;

	get_ids(&was);
	if (write(ready[1], "r", 1) != 1)
		_exit(5);
	test_waitsig();
	if (kid > 0)
		kill(kid, SIGTERM);
	get_ids(&now);
	ret = memcmp(&now, &was, sizeof(now)) ? 2 : 0;
	if (kid > 0 && !ret)
		ret = wait_child(kid);
	_exit(ret);
}

static pid_t fork_task(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		fn(arg);
		_exit(6);
	}
	return pid;
}

/* B and B1: group leaders. */
static void leader_with_kid(void *arg)
{
	pid_t kid;

	(void)arg;
	if (setpgid(0, 0))
		_exit(7);
	kid = fork();
	if (kid < 0)
		_exit(8);
	if (kid == 0) {
		if (setpgid(0, 0))
			_exit(7);
		live(-1);
	}
	/* the child's group exists once it reports: wait for it here, then report ourselves */
	live(kid);
}

/* A: waits for a byte with B's pid, joins B's group, forks A1 (which inherits it). */
static void joiner_with_kid(void *arg)
{
	int *go = arg;
	pid_t pgid, kid;

	if (read(go[0], &pgid, sizeof(pgid)) != sizeof(pgid))
		_exit(9);
	if (setpgid(0, pgid))
		_exit(7);
	kid = fork();
	if (kid < 0)
		_exit(8);
	if (kid == 0)
		live(-1);
	live(kid);
}

/* C: joins the group given (B1's). */
static void joiner(void *arg)
{
	if (setpgid(0, *(pid_t *)arg))
		_exit(7);
	live(-1);
}

/* The (only) child of @pid. */
static pid_t child_of(pid_t pid)
{
	char path[64], buf[64];
	pid_t kid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f) || sscanf(buf, "%d", &kid) != 1)
		fail("cannot find the child of %d", pid);
	fclose(f);
	return kid;
}

static void wait_ready(int n)
{
	char c;

	while (n--)
		if (read(ready[0], &c, 1) != 1)
			fail("a task died before it was ready");
}

int main(int argc, char **argv)
{
	pid_t a, b, b1, c, a_pgid, c_pgid;
	int go[2], i, ret;
	pid_t kids[3];

	test_init(argc, argv);
	if (pipe(ready) || pipe(go))
		fail("pipe: %m");
	a = fork_task(joiner_with_kid, go);
	b = fork_task(leader_with_kid, NULL);
	wait_ready(2);			/* B1 and B */
	b1 = child_of(b);
	if (write(go[1], &b, sizeof(b)) != sizeof(b))
		fail("write: %m");
	wait_ready(2);			/* A1 and A */
	c = fork_task(joiner, &b1);
	wait_ready(1);
	a_pgid = getpgid(a);
	c_pgid = getpgid(c);
	if (a_pgid != b || c_pgid != b1 || getpgid(b) != b || getpgid(b1) != b1)
		fail("setup: the groups are %d %d %d %d", a_pgid, getpgid(b), c_pgid, getpgid(b1));

	test_ready();
	test_waitsig();

	if (getpgid(a) != b || getpgid(c) != b1)
		fail("after restore A is in group %d (want %d), C in %d (want %d)", getpgid(a), b,
		     getpgid(c), b1);
	kids[0] = a;
	kids[1] = b;
	kids[2] = c;
	for (i = 0; i < 3; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < 3; i++) {
		ret = wait_child(kids[i]);
		if (ret)
			fail("task %c (pid %d) failed with code %d (2: its pid, parent, group or "
			     "session changed)", "ABC"[i], kids[i], ret);
	}
	pass();
}
