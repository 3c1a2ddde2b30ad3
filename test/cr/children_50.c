/*
 * Fifty sleeping children survive, each with its own pid and memory. Each child fills a page
 * with data seeded by its index and sleeps in pause(); after restore the root forwards SIGTERM
 * and each child checks its pid, parent and page, and exits with the result.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#define NR_CHILDREN	50
#define MEM_SIZE	(16 << 10)

static void child(int idx, pid_t parent, int ready_fd)
{
	unsigned char *mem = malloc(MEM_SIZE);
	pid_t pid = getpid();
	uint64_t sum;

	if (!mem)
		_exit(3);
	test_fill(mem, MEM_SIZE, 1000 + idx);
	sum = test_csum(mem, MEM_SIZE);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	close(ready_fd);
	while (!test_sig_flag)
		pause();
	if (getpid() != pid || getppid() != parent)
		_exit(2);
	if (test_csum(mem, MEM_SIZE) != sum)
		_exit(4);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t kids[NR_CHILDREN];
	int pfd[2], i, status;
	char c;

	test_init(argc, argv);
	if (pipe(pfd))
		fail("pipe: %m");
	for (i = 0; i < NR_CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (kids[i] == 0) {
			close(pfd[0]);
			child(i, getppid(), pfd[1]);
		}
	}
	close(pfd[1]);
	for (i = 0; i < NR_CHILDREN; i++)
		if (read(pfd[0], &c, 1) != 1)
			fail("child %d did not start", i);
	close(pfd[0]);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_CHILDREN; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < NR_CHILDREN; i++) {
		while (waitpid(kids[i], &status, 0) < 0)
			if (errno != EINTR)
				fail("child %d (pid %d) is not ours any more: %m", i, kids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("child %d (pid %d) failed: status %#x (exit 2 ids, 4 memory)", i,
			     kids[i], status);
	}
	pass();
}
