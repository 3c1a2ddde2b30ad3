/*
 * Sessions and process groups that are supposed to survive: a child A of the root leads a
 * session of its own, with children in groups of several shapes, and a grandchild that leads a
 * session nested in it:
 *
 *   R                       root, in the runner's session
 *   +- A                    setsid(): session A
 *   |  +- A1                in A2's group (a sibling created after it)
 *   |  |  +- A11            in A21's group (a cousin created after it)
 *   |  +- A2                leads a group
 *   |  |  +- A21            leads a group
 *   |  |  +- A22            setsid(): session A22, nested
 *   |  |     +- A221        in A222's group (a sibling created after it)
 *   |  |     +- A222        leads a group
 *   |  +- A3                in A21's group (a nephew)
 *   |  +- A4                leads a group, then exits: a zombie leader
 *   |  +- A5                in A4's group
 *   +- B                    leads a group in R's session
 *   +- C                    in B's group (an older sibling)
 *
 * Each task records its pid, parent, group and session once the tree is set up; after restore
 * each checks them from the inside (and A reaps its zombie A4 with its exit code). A failure
 * travels up as the exit code 100 + the index of the task that found it.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

enum { R, A, A1, A11, A2, A21, A22, A221, A222, A3, A4, A5, B, C, NR };

enum how { INHERIT, SETSID, LEAD, JOIN };

static const struct spec {
	const char *name;
	int parent;
	enum how how;
	int leader;		/* JOIN: the task whose group it joins */
} spec[NR] = {
	[R]	= { "R", -1, INHERIT, 0 },
	[A]	= { "A", R, SETSID, 0 },
	[A1]	= { "A1", A, JOIN, A2 },
	[A11]	= { "A11", A1, JOIN, A21 },
	[A2]	= { "A2", A, LEAD, 0 },
	[A21]	= { "A21", A2, LEAD, 0 },
	[A22]	= { "A22", A2, SETSID, 0 },
	[A221]	= { "A221", A22, JOIN, A222 },
	[A222]	= { "A222", A22, LEAD, 0 },
	[A3]	= { "A3", A, JOIN, A21 },
	[A4]	= { "A4", A, LEAD, 0 },
	[A5]	= { "A5", A, JOIN, A4 },
	[B]	= { "B", R, LEAD, 0 },
	[C]	= { "C", R, JOIN, B },
};

#define ZOMBIE_CODE	17

/* shared during the setup only, unmapped by all before the dump */
static struct shared {
	volatile pid_t pid[NR];
	volatile int group_made[NR];
	volatile int done[NR];		/* ids recorded */
} *sh;

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static void get_ids(struct ids *i)
{
	i->pid = getpid();
	i->ppid = getppid();
	i->pgid = getpgid(0);
	i->sid = getsid(0);
}

static void nap(void)
{
	usleep(1000);
}

/* Has task @pid a mapping starting at @addr? */
static bool maps_has(pid_t pid, const void *addr)
{
	char path[64], line[512], want[32];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = !strncmp(line, want, strlen(want));
	if (f)
		fclose(f);
	return found;
}

static bool all_done(int except)
{
	int i;

	for (i = 0; i < NR; i++)
		if (i != except && !sh->done[i])
			return false;
	return true;
}

/* Task @me (R included): set up, fork its children, record, wait, check. Returns the code. */
static int run(int me)
{
	pid_t kids[NR];
	struct ids was, now;
	int i, ret = 0, status;

	if (spec[me].how == SETSID && setsid() < 0)
		return 100 + me;
	if (spec[me].how == LEAD && setpgid(0, 0))
		return 100 + me;
	sh->pid[me] = getpid();
	__atomic_store_n(&sh->group_made[me], 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < NR; i++) {
		kids[i] = 0;
		if (spec[i].parent != me)
			continue;
		kids[i] = fork();
		if (kids[i] < 0)
			return 100 + me;
		if (kids[i] == 0)
			_exit(run(i));
	}
	if (spec[me].how == JOIN) {
		int l = spec[me].leader;

		while (!__atomic_load_n(&sh->group_made[l], __ATOMIC_SEQ_CST))
			nap();
		if (setpgid(0, sh->pid[l])) {
			test_msg("%s: cannot join the group of %s: %m", spec[me].name, spec[l].name);
			return 100 + me;
		}
	}
	get_ids(&was);
	__atomic_store_n(&sh->done[me], 1, __ATOMIC_SEQ_CST);
	if (me == A4) {
		/* a zombie leader: exit once its member joined and everybody is set */
		while (!all_done(-1))
			nap();
		return ZOMBIE_CODE;
	}
	while (!all_done(-1))
		nap();
	/* nothing shared is left at dump (shared memory with a zombie in the tree crashes the
	 * restore: zombie_shmem) */
	munmap((void *)sh, sizeof(*sh));
	test_waitsig();
	for (i = 0; i < NR; i++)
		if (kids[i] > 0 && i != A4)
			kill(kids[i], SIGTERM);
	get_ids(&now);
	if (memcmp(&was, &now, sizeof(was))) {
		test_msg("%s: pid %d ppid %d pgid %d sid %d, was %d %d %d %d", spec[me].name,
			 now.pid, now.ppid, now.pgid, now.sid, was.pid, was.ppid, was.pgid, was.sid);
		ret = 100 + me;
	}
	for (i = 0; i < NR; i++) {
		if (kids[i] <= 0)
			continue;
		status = test_reap(kids[i]);
		if (i == A4) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != ZOMBIE_CODE) {
				test_msg("A4 (zombie) came back with status %#x", status);
				if (!ret)
					ret = 100 + A4;
			}
			continue;
		}
		if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status)))
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	}
	return ret;
}

int main(int argc, char **argv)
{
	pid_t kids[NR];
	struct ids was, now;
	int i, ret = 0, status;

	test_init(argc, argv);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap: %m");
	sh->pid[R] = getpid();
	sh->group_made[R] = 1;
	for (i = 0; i < NR; i++) {
		kids[i] = 0;
		if (spec[i].parent != R)
			continue;
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (kids[i] == 0)
			_exit(run(i));
	}
	get_ids(&was);
	sh->done[R] = 1;
	while (!all_done(-1))
		nap();
	/* A4 is a zombie before the dump */
	for (i = 0; i < 5000; i++) {
		char path[64], st = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", sh->pid[A4]);
		f = fopen(path, "r");
		if (f && fscanf(f, "%*d %*s %c", &st) != 1)
			st = 0;
		if (f)
			fclose(f);
		if (st == 'Z')
			break;
		nap();
	}
	if (i == 5000)
		fail("A4 did not become a zombie");
	for (i = 0; i < NR; i++)
		while (i != R && i != A4 && maps_has(sh->pid[i], sh))
			nap();
	munmap((void *)sh, sizeof(*sh));

	test_ready();
	test_waitsig();

	for (i = 0; i < NR; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	get_ids(&now);
	if (memcmp(&was, &now, sizeof(was)))
		fail("R: pid %d ppid %d pgid %d sid %d, was %d %d %d %d", now.pid, now.ppid,
		     now.pgid, now.sid, was.pid, was.ppid, was.pgid, was.sid);
	for (i = 0; i < NR; i++) {
		if (kids[i] <= 0)
			continue;
		status = test_reap(kids[i]);
		if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status)))
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
	}
	if (ret >= 100 && ret < 100 + NR)
		fail("task %s found its ids changed or lost its zombie (see above)",
		     spec[ret - 100].name);
	if (ret)
		fail("a task failed with status %d", ret);
	pass();
}
