/*
 * Copy-on-write memory is not duplicated by a dump and restore: the root fills 4 MiB, forks a
 * child, and neither writes it again. Before the dump every page of the buffer is the same
 * physical page in both (pagemap frame numbers, visible to root); after restore the root
 * checks the buffer's contents in both and that the pages are still shared.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MEM_SIZE	(4 << 20)
#define NR_PAGES	(MEM_SIZE / 4096)

static unsigned char *mem;

/* How many pages of mem are the same physical page in @a and @b; -1 on error. */
static long shared_pages(pid_t a, pid_t b)
{
	static uint64_t ea[NR_PAGES], eb[NR_PAGES];
	char path[64];
	off_t off = (uintptr_t)mem / 4096 * 8;
	long n = 0, i;
	int fa, fb;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", a);
	fa = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", b);
	fb = open(path, O_RDONLY);
	if (fa < 0 || fb < 0 || pread(fa, ea, sizeof(ea), off) != sizeof(ea) ||
	    pread(fb, eb, sizeof(eb), off) != sizeof(eb))
		n = -1;
	for (i = 0; n >= 0 && i < NR_PAGES; i++) {
		uint64_t pa = ea[i] & ((1ULL << 55) - 1), pb = eb[i] & ((1ULL << 55) - 1);

		n += (ea[i] >> 63) && (eb[i] >> 63) && pa && pa == pb;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return n;
}

int main(int argc, char **argv)
{
	int pfd[2], status;
	uint64_t sum;
	long n;
	pid_t kid;
	char c;

	test_init(argc, argv);
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pipe(pfd))
		fail("setup: %m");
	madvise(mem, MEM_SIZE, MADV_NOHUGEPAGE);
	test_fill(mem, MEM_SIZE, 42);
	sum = test_csum(mem, MEM_SIZE);
	kid = fork();
	if (kid < 0)
		fail("fork: %m");
	if (kid == 0) {
		close(pfd[0]);
		if (write(pfd[1], "r", 1) != 1)
			_exit(3);
		while (!test_sig_flag)
			pause();
		_exit(test_csum(mem, MEM_SIZE) == sum ? 0 : 4);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		fail("the child did not start");
	n = shared_pages(getpid(), kid);
	if (n != NR_PAGES)
		skip("before the dump only %ld of %d pages are shared (frame numbers hidden?)", n,
		     NR_PAGES);

	test_ready();
	test_waitsig();

	if (test_csum(mem, MEM_SIZE) != sum)
		fail("the root's copy of the memory changed");
	n = shared_pages(getpid(), kid);
	kill(kid, SIGTERM);
	while (waitpid(kid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's copy of the memory changed (status %#x)", status);
	if (n < NR_PAGES)
		fail("only %ld of %d copy-on-write pages are still shared after restore", n,
		     NR_PAGES);
	pass();
}
