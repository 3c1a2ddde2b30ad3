/*
 * A process tree survives: the root has two children, the first of which has a child of its own.
 * Each task fills memory with data seeded by its role and remembers its pid, parent, process
 * group and session. All four share one MAP_SHARED|MAP_ANONYMOUS page, where each writes its
 * slot. On SIGTERM the root forwards the signal down the tree; every task checks its state from
 * the inside (and all slots of the shared page), writes a second mark into the shared page and
 * exits 0 or 1; the root passes only if all of them did and it sees their marks: the page is
 * still shared after restore.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MEM_SIZE	(1 << 20)

/* The shared page: slot[task] = 100 + task before the dump, mark[task] = 200 + task after. */
struct shared {
	volatile int slot[4];
	volatile int mark[4];
};

static struct shared *shm;

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

/* Returns 0 if the task's state is intact, or a code (2..) saying what broke. */
static int check_self(const struct ids *was, const unsigned char *mem, uint64_t sum)
{
	struct ids now;

	get_ids(&now);
	if (memcmp(&now, was, sizeof(now)))
		return 2;
	if (test_csum(mem, MEM_SIZE) != sum)
		return 3;
	return 0;
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

/* The life of a task below the root, with @kid its own child or -1. Does not return. */
static void run_task(int task, uint64_t seed, pid_t kid, int ready_fd)
{
	unsigned char *mem = malloc(MEM_SIZE);
	struct ids ids;
	uint64_t sum;
	int ret;

	if (!mem)
		_exit(4);
	test_fill(mem, MEM_SIZE, seed);
	sum = test_csum(mem, MEM_SIZE);
	get_ids(&ids);
	shm->slot[task] = 100 + task;
	if (write(ready_fd, "r", 1) != 1)
		_exit(6);
	close(ready_fd);

	test_waitsig();
	ret = check_self(&ids, mem, sum);
	for (int i = 0; i < 4 && !ret; i++)
		if (shm->slot[i] != 100 + i)
			ret = 7;
	shm->mark[task] = 200 + task;
	if (kid > 0) {
		int kr;

		kill(kid, SIGTERM);
		kr = wait_child(kid);
		if (!ret && kr)
			ret = 20 + kr;
	}
	_exit(ret);
}

/* Forks a task with @kids children of its own (0 or 1); returns its pid. */
static pid_t spawn_task(int task, uint64_t seed, int kids, int ready_fd, int close_fd)
{
	pid_t pid = fork(), kid = -1;

	if (pid != 0)
		return pid;
	if (close_fd >= 0)
		close(close_fd);
	if (kids) {
		kid = spawn_task(3, seed * 31 + 1, 0, ready_fd, -1);
		if (kid < 0)
			_exit(5);
	}
	run_task(task, seed, kid, ready_fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned char *mem;
	pid_t kids[2];
	struct ids ids;
	int pfd[2], i, ret;
	uint64_t sum;
	char c;

	test_init(argc, argv);
	mem = malloc(MEM_SIZE);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!mem || shm == MAP_FAILED || pipe(pfd))
		fail("setup: %m");
	test_fill(mem, MEM_SIZE, 1);
	sum = test_csum(mem, MEM_SIZE);

	for (i = 0; i < 2; i++) {
		kids[i] = spawn_task(1 + i, 100 + i, i == 0, pfd[1], pfd[0]);
		if (kids[i] < 0)
			fail("fork: %m");
	}
	close(pfd[1]);
	for (i = 0; i < 3; i++)	/* two children and a grandchild */
		if (read(pfd[0], &c, 1) != 1)
			fail("a task of the tree did not start");
	close(pfd[0]);
	get_ids(&ids);
	shm->slot[0] = 100;

	test_ready();
	test_waitsig();

	if (check_self(&ids, mem, sum))
		fail("the root's ids or memory changed");
	for (i = 0; i < 2; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < 2; i++) {
		ret = wait_child(kids[i]);
		if (ret)
			fail("child %d (pid %d) failed its check with code %d "
			     "(2 ids, 3 memory, 7 shared page, 2x its own child)", i, kids[i], ret);
	}
	for (i = 1; i < 4; i++)
		if (shm->mark[i] != 200 + i)
			fail("task %d's write to the shared page is not seen by the root: "
			     "not shared after restore", i);
	pass();
}
