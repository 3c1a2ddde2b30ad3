/*
 * Children that exec'ed share no memory with their parent: the root forks two children that
 * exec this program again (as "--exec-child FD"), so a restore need not wait for the root's
 * memory before creating them. Each child and the root fill memory of their own; after restore
 * the root forwards SIGTERM, each child checks its memory, pid and parent and exits 0, and the
 * root checks its own memory and their exit codes.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define MEM_SIZE	(4 << 20)
#define NR_KIDS		2

static volatile sig_atomic_t kid_term;

static void on_term(int sig)
{
	(void)sig;
	kid_term = 1;
}

/* The exec'ed child: fd @fd reports it ready; exits 0 if its state survived. */
static int exec_child(int fd, uint64_t seed)
{
	struct sigaction sa = { .sa_handler = on_term };
	unsigned char *mem = malloc(MEM_SIZE);
	pid_t pid = getpid(), ppid = getppid();
	sigset_t block, old;
	uint64_t sum;

	if (!mem)
		return 3;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	test_fill(mem, MEM_SIZE, seed);
	sum = test_csum(mem, MEM_SIZE);
	if (write(fd, "r", 1) != 1)
		return 4;
	close(fd);
	sigdelset(&old, SIGTERM);
	while (!kid_term)
		sigsuspend(&old);
	if (getpid() != pid || getppid() != ppid)
		return 5;
	return test_csum(mem, MEM_SIZE) == sum ? 0 : 6;
}

int main(int argc, char **argv)
{
	pid_t kids[NR_KIDS];
	unsigned char *mem;
	char fdarg[16], seedarg[16], c;
	int pfd[2], i, status;
	uint64_t sum;

	if (argc == 4 && !strcmp(argv[1], "--exec-child"))
		return exec_child(atoi(argv[2]), strtoull(argv[3], NULL, 10));
	test_init(argc, argv);
	mem = malloc(MEM_SIZE);
	if (!mem || pipe(pfd))
		fail("setup: %m");
	test_fill(mem, MEM_SIZE, 1);
	sum = test_csum(mem, MEM_SIZE);
	for (i = 0; i < NR_KIDS; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (kids[i] == 0) {
			close(pfd[0]);
			snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
			snprintf(seedarg, sizeof(seedarg), "%d", 10 + i);
			execl("/proc/self/exe", argv[0], "--exec-child", fdarg, seedarg, (char *)NULL);
			_exit(7);
		}
	}
	close(pfd[1]);
	for (i = 0; i < NR_KIDS; i++)
		if (read(pfd[0], &c, 1) != 1)
			fail("a child did not start");
	close(pfd[0]);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_KIDS; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < NR_KIDS; i++) {
		while (waitpid(kids[i], &status, 0) < 0)
			if (errno != EINTR)
				fail("waitpid: %m");
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("child %d failed (status %#x: 5 pid or parent, 6 memory)", i, status);
	}
	if (test_csum(mem, MEM_SIZE) != sum)
		fail("the root's memory changed");
	pass();
}
