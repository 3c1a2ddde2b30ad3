/*
 * A process tree for the error cases of tree dumps (test/errors/cases.py), zdtm protocol:
 *
 *   tree stable     the root, two children, a grandchild under the first; all sleep
 *   tree churn      the same, and meanwhile the first child forks short-lived children (which
 *                   exit at once and are reaped) and the second creates and joins threads
 *   tree lost_group the root is a child subreaper; a child makes a process group of its own,
 *                   forks a grandchild into it and exits: the grandchild, now the root's child,
 *                   is in a group whose leader is gone
 *   tree adopted    the root is a child subreaper; a child leads a session of its own (and
 *                   stays); its child forks a grandchild into that session and exits: the
 *                   grandchild, now the root's child, is in a session its parent is not in
 *   tree parent_setsid  a child forks a grandchild, then starts a session of its own: the
 *                   grandchild is in a session its parent is not in, but was not adopted
 *
 * The root counts and publishes its count in <dir>/counter every 10 ms, and writes the pids of
 * the tree to <dir>/pids. Every task keeps a buffer of data seeded by its role. After SIGTERM
 * each task checks its pid, parent (the orphan: the root), group, session and data, and its
 * churn still works; the root collects the verdicts (exit codes) and reports PASS.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define MEM_SIZE	(256 << 10)

static bool churn;
static pid_t root_pid;		/* the orphan's parent, once adopted */
static pid_t premade_kid = -1;	/* role 7: its child, forked before it changed session */

static void *nothing(void *arg)
{
	return arg;
}

/* One round of churn: a child that exits at once (reaped), or a thread (joined). */
static int churn_once(int role)
{
	pthread_t th;
	pid_t pid;
	int status;

	if (role == 1) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(0);
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return -1;
		return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
	}
	if (pthread_create(&th, NULL, nothing, NULL))
		return -1;
	return pthread_join(th, NULL) ? -1 : 0;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 10;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 11;
}

/* A task below the root (role 1, 2; 3 is the grandchild; 4 the orphan of lost_group or
 * adopted, 5 the session leader of adopted; 6 and 7 the child and parent of parent_setsid).
 * Exit: 0 fine, 2 ids, 3 data, 4 churn broken, 20+N its child failed with N. */
static void task(int role, int ready_fd)
{
	struct timespec ts = { 0, 1000000 };
	pid_t pid, ppid, pgid, sid, kid = role == 7 ? premade_kid : -1;
	unsigned char *mem;
	uint64_t sum;
	int ret = 0;

	if (role == 1) {
		kid = fork();
		if (kid < 0)
			_exit(4);
		if (kid == 0) {
			role = 3;
			kid = -1;
		}
	}
	mem = malloc(MEM_SIZE);
	if (!mem)
		_exit(3);
	test_fill(mem, MEM_SIZE, 77 + role);
	sum = test_csum(mem, MEM_SIZE);
	pid = getpid();
	ppid = role == 4 ? root_pid : getppid();
	pgid = getpgid(0);
	sid = getsid(0);
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	close(ready_fd);
	while (!test_sig_flag) {
		if (churn && role != 3 && churn_once(role) < 0)
			ret = 4;
		nanosleep(&ts, NULL);
	}
	if (getpid() != pid || getppid() != ppid || getpgid(0) != pgid || getsid(0) != sid)
		ret = 2;
	else if (test_csum(mem, MEM_SIZE) != sum)
		ret = 3;
	else if (churn && role != 3 && churn_once(role) < 0)
		ret = 4;
	if (kid > 0) {
		int kr;

		kill(kid, SIGTERM);
		kr = wait_child(kid);
		if (!ret && kr)
			ret = 20 + kr;
	}
	_exit(ret);
}

static void publish(const char *path, const char *text)
{
	char tmp[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0)
		test_msg("cannot write '%s': %m", tmp);
	close(fd);
	rename(tmp, path);
}

static void publish(const char *path, const char *text);

/* lost_group: returns the orphan (the root's child now), in the group of its dead parent. */
static pid_t make_lost_group(int ready_fd)
{
	pid_t mid, orphan;
	int status;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return -1;
	mid = fork();
	if (mid < 0)
		return -1;
	if (mid == 0) {
		if (setpgid(0, 0) < 0)
			_exit(1);
		orphan = fork();
		if (orphan < 0)
			_exit(1);
		if (orphan == 0)
			task(4, ready_fd);
		_exit(0);
	}
	if (waitpid(mid, &status, 0) != mid || status)
		return -1;
	return mid;		/* the group's id: its leader's pid */
}

/* adopted: returns the session's leader (our child); the orphan is our child in its session. */
static pid_t make_adopted(int ready_fd)
{
	pid_t leader, mid, orphan;
	int status;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return -1;
	leader = fork();
	if (leader < 0)
		return -1;
	if (leader == 0) {
		if (setsid() < 0)
			_exit(1);
		mid = fork();
		if (mid < 0)
			_exit(1);
		if (mid == 0) {
			orphan = fork();
			if (orphan < 0)
				_exit(1);
			if (orphan == 0)
				task(4, ready_fd);
			_exit(0);
		}
		if (waitpid(mid, &status, 0) != mid || status)
			_exit(1);
		task(5, ready_fd);
	}
	return leader;
}

/* parent_setsid: returns the parent, which made the child before its own session. */
static pid_t make_parent_setsid(int ready_fd)
{
	pid_t parent = fork();

	if (parent == 0) {
		premade_kid = fork();
		if (premade_kid < 0)
			_exit(1);
		if (premade_kid == 0)
			task(6, ready_fd);
		if (setsid() < 0)
			_exit(1);
		task(7, ready_fd);
	}
	return parent;
}

/*
 * lost_group and adopted: the root with its orphan (and the session leader); SIGTERM: each
 * checks itself, the root reaps them.
 */
static int lost_group_main(const char *mode, int pfd[2], const char *counter_path,
			   const char *pids_path)
{
	bool adopted = !strcmp(mode, "adopted"), setsid_mode = !strcmp(mode, "parent_setsid");
	struct timespec ts = { 0, 10000000 };
	unsigned long count = 0;
	char buf[128], c;
	pid_t group, orphan = -1, kid;
	FILE *f;

	root_pid = getpid();
	group = adopted ? make_adopted(pfd[1]) : setsid_mode ? make_parent_setsid(pfd[1]) :
		make_lost_group(pfd[1]);
	close(pfd[1]);
	if (group < 0 || read(pfd[0], &c, 1) != 1 ||
	    ((adopted || setsid_mode) && read(pfd[0], &c, 1) != 1))
		fail("cannot set up the orphan: %m");
	close(pfd[0]);
	snprintf(buf, sizeof(buf), "/proc/%d/task/%d/children", setsid_mode ? group : getpid(),
		 setsid_mode ? group : getpid());
	f = fopen(buf, "r");
	while (f && fscanf(f, "%d", &kid) == 1)
		if (kid != group)
			orphan = kid;
	if (f)
		fclose(f);
	if (orphan < 0 || (!setsid_mode &&
			   (adopted ? getsid(orphan) : getpgid(orphan)) != group))
		fail("the orphan is not our child in %s %d", adopted ? "session" : "group", group);
	snprintf(buf, sizeof(buf), "%d %d %d\n", getpid(), orphan, group);
	publish(pids_path, buf);
	test_ready();
	while (!test_sig_flag) {
		snprintf(buf, sizeof(buf), "%lu\n", ++count);
		publish(counter_path, buf);
		nanosleep(&ts, NULL);
	}
	if (setsid_mode) {
		kill(orphan, SIGTERM);
		kill(group, SIGTERM);
		if (wait_child(group))
			fail("the parent or its child failed its check");
	} else {
		kill(orphan, SIGTERM);
		if (wait_child(orphan))
			fail("the orphan failed its check");
	}
	if (adopted) {
		kill(group, SIGTERM);
		if (wait_child(group))
			fail("the session leader failed its check");
	}
	unlink(counter_path);
	unlink(pids_path);
	pass();
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10000000 };
	char counter_path[4096], pids_path[4096], buf[128];
	unsigned long count = 0;
	pid_t kids[2], grandkid;
	int pfd[2], i, ret, nargs;
	char **args, c;

	nargs = test_init_args(argc, argv, &args);
	if (nargs != 1 || (strcmp(args[0], "stable") && strcmp(args[0], "churn") &&
			   strcmp(args[0], "lost_group") && strcmp(args[0], "adopted") &&
			   strcmp(args[0], "parent_setsid")))
		fail("usage: tree [options] stable|churn|lost_group|adopted|parent_setsid");
	churn = !strcmp(args[0], "churn");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	snprintf(pids_path, sizeof(pids_path), "%s/pids", test_dir());
	if (pipe(pfd))
		fail("pipe: %m");
	if (!strcmp(args[0], "lost_group") || !strcmp(args[0], "adopted") ||
	    !strcmp(args[0], "parent_setsid"))
		return lost_group_main(args[0], pfd, counter_path, pids_path);
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (kids[i] == 0) {
			close(pfd[0]);
			task(i + 1, pfd[1]);
		}
	}
	close(pfd[1]);
	for (i = 0; i < 3; i++)
		if (read(pfd[0], &c, 1) != 1)
			fail("a task of the tree did not start");
	close(pfd[0]);
	/* the grandchild: the only child of kids[0] */
	snprintf(buf, sizeof(buf), "/proc/%d/task/%d/children", kids[0], kids[0]);
	{
		FILE *f = fopen(buf, "r");

		if (!f || fscanf(f, "%d", &grandkid) != 1)
			fail("cannot find the grandchild");
		fclose(f);
	}
	snprintf(buf, sizeof(buf), "%d %d %d %d\n", getpid(), kids[0], kids[1], grandkid);
	publish(pids_path, buf);

	snprintf(buf, sizeof(buf), "%lu\n", count);
	publish(counter_path, buf);
	test_ready();
	while (!test_sig_flag) {
		snprintf(buf, sizeof(buf), "%lu\n", ++count);
		publish(counter_path, buf);
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < 2; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < 2; i++) {
		ret = wait_child(kids[i]);
		if (ret)
			fail("child %d (pid %d) failed its check with code %d (2 ids, 3 data, "
			     "4 churn, 2x its own child)", i + 1, kids[i], ret);
	}
	unlink(counter_path);
	unlink(pids_path);
	pass();
}
