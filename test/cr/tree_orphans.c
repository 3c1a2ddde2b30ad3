/*
 * Orphans in sessions and process groups whose leader exited, adopted by child subreapers, as
 * under a container's init. The root is a child subreaper; below it:
 *
 *   A  a pipeline: G makes a process group, forks a and b into it and exits (the group has
 *      no leader any more); a and b are the root's now.
 *   B  a daemon: D0 starts a session, forks d and exits; d forks d1, and e, which makes a
 *      group of its own, forks e1 and exits: d and e1 are the root's, in session D0 whose
 *      leader is gone, e1 in group E whose leader is gone too.
 *   C  adopted: L starts a session (and stays); its child M forks o and exits: o is the
 *      root's, in L's session (its parent is not in it).
 *   D  a nested subreaper: Q (a child subreaper too) has G2 make a group, fork a2 into it
 *      and exit: a2 is Q's, in group G2.
 *
 * Every task records its pid, ppid, pgid, sid and its children before the dump, checks them
 * from the inside after restore (a task restored with a helper still around would have an
 * extra child, a zombie or not), and the subreaper flag of the root and Q. After restore the
 * root signals each group (kill(-pgid)): every member must get exactly one SIGUSR1. The pids
 * of the exited leaders must be free again. Exit codes of the members: 0 fine, 2 ids, 3 setup,
 * 4 children, 5 SIGUSR1 count, 6 subreaper flag, 20+N a child failed with N.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define MAX_KIDS	8

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static volatile sig_atomic_t usr1, usr2;
static int ready_fd = -1;

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_usr2(int sig)
{
	(void)sig;
	usr2 = 1;
}

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

/* The children of this task, sorted, into @kids; returns their number or -1. */
static int children(pid_t *kids)
{
	char path[64];
	int n = 0, i, j;
	pid_t p, t;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", getpid());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < MAX_KIDS && fscanf(f, "%d", &p) == 1)
		kids[n++] = p;
	fclose(f);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (kids[j] < kids[i]) {
				t = kids[i];
				kids[i] = kids[j];
				kids[j] = t;
			}
	return n;
}

/* Report our pid on the ready pipe. */
static void report(void)
{
	pid_t me = getpid();

	if (write(ready_fd, &me, sizeof(me)) != sizeof(me))
		_exit(3);
}

/*
 * A task below the root, set up: report ready, wait until the root says the tree is complete
 * (SIGUSR2: every orphan has its final parent), record, report again, wait for SIGTERM, check. @kid: its child to
 * wait for at the end, or -1; @usr1_want: SIGUSR1s expected; @subreaper: its flag.
 */
static __attribute__((noreturn)) void member(pid_t kid, int usr1_want, int subreaper)
{
	pid_t kids_was[MAX_KIDS], kids_now[MAX_KIDS];
	int nk_was, nk_now, ret = 0, flag = -1;
	struct ids was, now;
	sigset_t mask;

	report();
	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigdelset(&mask, SIGUSR2);
	while (!usr2)
		sigsuspend(&mask);
	get_ids(&was);
	nk_was = children(kids_was);
	report();
	test_waitsig();
	get_ids(&now);
	nk_now = children(kids_now);
	prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0);
	if (memcmp(&now, &was, sizeof(now)))
		ret = 2;
	else if (nk_was < 0 || nk_now != nk_was ||
		 memcmp(kids_now, kids_was, nk_now * sizeof(pid_t)))
		ret = 4;
	else if (usr1 != usr1_want)
		ret = 5;
	else if (flag != subreaper)
		ret = 6;
	if (kid > 0) {
		int kr = wait_child(kid);

		if (!ret && kr)
			ret = 20 + kr;
	}
	_exit(ret);
}

/* fork(); the child runs @fn(@arg) and never returns. */
static pid_t spawn(void (*fn)(long), long arg)
{
	pid_t pid = fork();

	if (pid == 0)
		fn(arg);
	return pid;
}

static void plain_member(long usr1_want)
{
	member(-1, usr1_want, 0);
}

/* A: G leads a group, forks a and b into it, exits. */
static void pipeline(long unused)
{
	(void)unused;
	if (setpgid(0, 0) || spawn(plain_member, 1) < 0 || spawn(plain_member, 1) < 0)
		_exit(3);
	_exit(0);
}

/* B: e leads a group, forks e1, exits. */
static void group_e(long unused)
{
	(void)unused;
	if (setpgid(0, 0) || spawn(plain_member, 1) < 0)
		_exit(3);
	_exit(0);
}

/* B: d, in D0's session; forks d1 and E. */
static void daemon_d(long unused)
{
	pid_t d1, e;

	(void)unused;
	d1 = spawn(plain_member, 1);
	e = spawn(group_e, 0);
	if (d1 < 0 || e < 0 || wait_child(e))
		_exit(3);
	member(d1, 1, 0);
}

/* B: D0 starts a session, forks d, exits. */
static void daemon_d0(long unused)
{
	(void)unused;
	if (setsid() < 0 || spawn(daemon_d, 0) < 0)
		_exit(3);
	_exit(0);
}

/* C: M forks o and exits. */
static void adopted_m(long unused)
{
	(void)unused;
	if (spawn(plain_member, 1) < 0)
		_exit(3);
	_exit(0);
}

/* C: L leads a session, its child M leaves o behind. */
static void adopted_l(long unused)
{
	pid_t m;

	(void)unused;
	if (setsid() < 0)
		_exit(3);
	m = spawn(adopted_m, 0);
	if (m < 0 || wait_child(m))
		_exit(3);
	member(-1, 1, 0);
}

/* D: G2 leads a group, forks a2, exits. */
static void group_g2(long unused)
{
	(void)unused;
	if (setpgid(0, 0) || spawn(plain_member, 1) < 0)
		_exit(3);
	_exit(0);
}

/* D: Q, a child subreaper, adopts a2. */
static void subreaper_q(long unused)
{
	pid_t g2, kids[MAX_KIDS];

	(void)unused;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		_exit(3);
	g2 = spawn(group_g2, 0);
	if (g2 < 0 || wait_child(g2))
		_exit(3);
	/* a2 reports before G2 exits: wait until it is ours */
	while (children(kids) != 1)
		usleep(1000);
	member(kids[0], 0, 1);
}

int main(int argc, char **argv)
{
	void (*fns[])(long) = { pipeline, daemon_d0, adopted_l, subreaper_q };
	pid_t lead[4], kids_was[MAX_KIDS], kids_now[MAX_KIDS], tasks[16], pgids[16], p;
	struct sigaction sa = { .sa_handler = on_usr1 }, sa2 = { .sa_handler = on_usr2 };
	sigset_t usr2_set;
	int pfd[2], i, j, nt = 0, nk_was, nk_now, flag = -1, ret;
	struct ids was, now;

	test_init(argc, argv);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		fail("PR_SET_CHILD_SUBREAPER: %m");
	sigemptyset(&usr2_set);
	sigaddset(&usr2_set, SIGUSR2);
	if (sigaction(SIGUSR1, &sa, NULL) || sigaction(SIGUSR2, &sa2, NULL) || pipe(pfd) ||
	    sigprocmask(SIG_BLOCK, &usr2_set, NULL))
		fail("sigaction, sigprocmask, pipe: %m");
	ready_fd = pfd[1];
	for (i = 0; i < 4; i++) {
		lead[i] = spawn(fns[i], 0);
		if (lead[i] < 0)
			fail("fork: %m");
	}
	close(pfd[1]);
	/* a, b, d, d1, e1, L, o, Q, a2 */
	while (nt < 9 && read(pfd[0], &p, sizeof(p)) == sizeof(p))
		tasks[nt++] = p;
	if (nt != 9)
		fail("%d of the 9 tasks started", nt);
	/* G and D0 exit (M, e and G2 are reaped by L, d and Q) */
	for (i = 0; i < 2; i++)
		if (wait_child(lead[i]))
			fail("leader %d could not set up", lead[i]);
	/* every orphan is ours (or Q's) once its creator is gone */
	for (;;) {
		nk_was = children(kids_was);
		if (nk_was == 7)
			break;
		if (nk_was > 7 || nk_was < 0)
			fail("%d children", nk_was);
		usleep(1000);
	}
	for (i = 0; i < nt; i++)
		pgids[i] = getpgid(tasks[i]);
	for (i = 0; i < 4; i++) {
		for (j = 0; j < nt && pgids[j] != lead[i] && getsid(tasks[j]) != lead[i]; j++)
			;
		if (i != 3 && j == nt)
			fail("no task in the group or session of %d", lead[i]);
	}
	for (i = 0; i < nt; i++)
		kill(tasks[i], SIGUSR2);
	for (i = 0; i < nt; i++)
		if (read(pfd[0], &p, sizeof(p)) != sizeof(p))
			fail("a task did not record its ids");
	close(pfd[0]);
	get_ids(&was);

	test_ready();
	test_waitsig();

	get_ids(&now);
	nk_now = children(kids_now);
	prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0);
	if (memcmp(&now, &was, sizeof(now)))
		fail("the root's pid, ppid, group or session changed");
	if (nk_now != nk_was || memcmp(kids_now, kids_was, nk_now * sizeof(pid_t)))
		fail("the root has %d children, it had %d (a helper left behind?)", nk_now, nk_was);
	if (flag != 1)
		fail("the root is no child subreaper any more");
	/* the exited leaders' pids are free again: no helper, zombie or not, is left */
	for (i = 0; i < nt; i++) {
		pid_t ls[2] = { pgids[i], getsid(tasks[i]) };

		for (int k = 0; k < 2; k++) {
			for (j = 0; j < nt && tasks[j] != ls[k]; j++)
				;
			if (j == nt && ls[k] != was.pgid && ls[k] != was.sid && kill(ls[k], 0) == 0)
				fail("pid %d of an exited leader exists after restore", ls[k]);
		}
	}
	/* one SIGUSR1 per group, then SIGTERM for all */
	for (i = 0; i < nt; i++) {
		if (getpgid(tasks[i]) != pgids[i])
			fail("task %d is in group %d, it was in %d", tasks[i], getpgid(tasks[i]),
			     pgids[i]);
		for (j = 0; j < i && pgids[j] != pgids[i]; j++)
			;
		if (j == i && pgids[i] != getpgid(0) && kill(-pgids[i], SIGUSR1))
			fail("kill(-%d, SIGUSR1): %m", pgids[i]);
	}
	for (i = 0; i < nt; i++)
		kill(tasks[i], SIGTERM);
	for (i = 0; i < nk_now; i++) {
		ret = wait_child(kids_now[i]);
		if (ret)
			fail("task %d failed its check with code %d (2 ids, 4 children, 5 SIGUSR1, "
			     "6 subreaper, 2x its child)", kids_now[i], ret);
	}
	if (usr1)
		fail("the root got SIGUSR1");
	pass();
}
