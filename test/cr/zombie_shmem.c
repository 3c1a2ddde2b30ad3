/*
 * Shared anonymous memory in a tree that has a zombie: the root maps 64 KiB MAP_SHARED |
 * MAP_ANONYMOUS and fills it, forks a zombie child (exit 5) and then a live child C that
 * inherits the mapping and writes its second half. After restore C writes one more page and
 * the root must see it (still one object), both must see what the other wrote before, and the
 * zombie is reaped with its status.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE	4096
#define SIZE	(16 * PAGE)
#define HALF	(SIZE / 2)

int main(int argc, char **argv)
{
	unsigned char *mem;
	uint64_t first, second, last;
	int p[2], status;
	siginfo_t si;
	pid_t z, c;
	char ch;

	test_init(argc, argv);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pipe(p))
		fail("setup: %m");
	test_fill(mem, HALF, 1);
	first = test_csum(mem, HALF);
	z = fork();
	if (z == 0)
		_exit(5);
	if (z < 0 || waitid(P_PID, z, &si, WEXITED | WNOWAIT))
		fail("cannot make a zombie: %m");
	c = fork();
	if (c < 0)
		fail("fork: %m");
	if (c == 0) {
		sigset_t set, old;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigprocmask(SIG_BLOCK, &set, &old);
		sigdelset(&old, SIGTERM);
		test_fill(mem + HALF, HALF - PAGE, 2);
		if (write(p[1], "r", 1) != 1)
			_exit(3);
		while (!test_sig_flag)
			sigsuspend(&old);
		if (test_csum(mem, HALF) != first)
			_exit(4);
		test_fill(mem + SIZE - PAGE, PAGE, 3);
		_exit(0);
	}
	if (read(p[0], &ch, 1) != 1)
		fail("the child did not start");
	second = test_csum(mem + HALF, HALF - PAGE);

	test_ready();
	test_waitsig();

	kill(c, SIGTERM);
	status = test_reap(c);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed: %#x (4: the root's half changed)", status);
	if (test_csum(mem, HALF) != first)
		fail("the root's half changed");
	if (test_csum(mem + HALF, HALF - PAGE) != second)
		fail("the child's half, written before the dump, is not what the root sees");
	{
		unsigned char want[PAGE];

		test_fill(want, PAGE, 3);
		last = test_csum(want, PAGE);
	}
	if (test_csum(mem + SIZE - PAGE, PAGE) != last)
		fail("the page the child wrote after restore is not in the root's memory (the "
		     "mapping is no longer shared)");
	status = test_reap(z);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 5)
		fail("the zombie came back with status %#x", status);
	pass();
}
