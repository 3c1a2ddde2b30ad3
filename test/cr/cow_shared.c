/*
 * Copy-on-write memory is not duplicated by a dump and restore. The root fills 4 MiB of
 * anonymous memory and writes 8 pages of a private file mapping, then forks a child. After the
 * fork the child rewrites pages [0, 16) of the buffer and drops pages [16, 32) (they read as
 * zeros in it), the root rewrites pages [32, 48) (the child keeps the old ones); the rest is
 * written by neither. Before the dump exactly the untouched pages are the same physical page
 * in both (pagemap frame numbers, visible to root); after restore the root checks its own
 * contents, the child checks its own (so pages the child must not share really are its own),
 * and the root checks that the same pages, and only those, are still shared.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE		4096
#define MEM_SIZE	(4 << 20)
#define NR_PAGES	(MEM_SIZE / PAGE)
#define KID_WRITES	0		/* pages [0, 16): rewritten by the child */
#define KID_DROPS	16		/* pages [16, 32): dropped by the child */
#define ROOT_WRITES	32		/* pages [32, 48): rewritten by the root */
#define OWN_PAGES	48		/* pages [48, NR_PAGES): shared */
#define FILE_PAGES	16
#define FILE_DIRTY	8		/* file pages [0, 8) written before the fork */

static unsigned char *mem, *fmem;

static uint64_t csum_pages(const unsigned char *p, long from, long to)
{
	return test_csum(p + from * PAGE, (to - from) * PAGE);
}

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* The child's memory must be: its own pages, zeros, the root's old pages, the shared rest. */
static int kid_check(uint64_t kid_sum, uint64_t old_sum, uint64_t rest_sum, uint64_t file_sum)
{
	if (csum_pages(mem, KID_WRITES, KID_DROPS) != kid_sum)
		return 4;
	if (!all_zero(mem + KID_DROPS * PAGE, (ROOT_WRITES - KID_DROPS) * PAGE))
		return 5;
	if (csum_pages(mem, ROOT_WRITES, OWN_PAGES) != old_sum)
		return 6;
	if (csum_pages(mem, OWN_PAGES, NR_PAGES) != rest_sum)
		return 7;
	if (test_csum(fmem, FILE_PAGES * PAGE) != file_sum)
		return 8;
	return 0;
}

static void map_file(void)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/cow_shared.file", test_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, FILE_PAGES * PAGE))
		fail("cannot create %s: %m", path);
	fmem = mmap(NULL, FILE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (fmem == MAP_FAILED)
		fail("mmap of %s: %m", path);
	close(fd);
	test_fill(fmem, FILE_DIRTY * PAGE, 9);
}

int main(int argc, char **argv)
{
	uint64_t kid_sum, old_sum, rest_sum, root_sum, file_sum;
	int pfd[2], status;
	long n, nf, nown;
	pid_t kid;
	char c;

	test_init(argc, argv);
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || pipe(pfd))
		fail("setup: %m");
	madvise(mem, MEM_SIZE, MADV_NOHUGEPAGE);
	test_fill(mem, MEM_SIZE, 42);
	map_file();
	file_sum = test_csum(fmem, FILE_PAGES * PAGE);
	old_sum = csum_pages(mem, ROOT_WRITES, OWN_PAGES);
	rest_sum = csum_pages(mem, OWN_PAGES, NR_PAGES);
	kid = fork();
	if (kid < 0)
		fail("fork: %m");
	if (kid == 0) {
		close(pfd[0]);
		test_fill(mem + KID_WRITES * PAGE, (KID_DROPS - KID_WRITES) * PAGE, 7);
		kid_sum = csum_pages(mem, KID_WRITES, KID_DROPS);
		madvise(mem + KID_DROPS * PAGE, (ROOT_WRITES - KID_DROPS) * PAGE, MADV_DONTNEED);
		if (write(pfd[1], "r", 1) != 1)
			_exit(3);
		while (!test_sig_flag)
			pause();
		_exit(kid_check(kid_sum, old_sum, rest_sum, file_sum));
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		fail("the child did not start");
	test_fill(mem + ROOT_WRITES * PAGE, (OWN_PAGES - ROOT_WRITES) * PAGE, 8);
	root_sum = test_csum(mem, MEM_SIZE);
	n = test_pages_shared(getpid(), kid, mem + OWN_PAGES * PAGE, NR_PAGES - OWN_PAGES);
	nown = test_pages_shared(getpid(), kid, mem, OWN_PAGES);
	nf = test_pages_shared(getpid(), kid, fmem, FILE_DIRTY);
	if (n != NR_PAGES - OWN_PAGES || nf != FILE_DIRTY)
		skip("before the dump only %ld of %d pages (%ld of %d of the file) are shared "
		     "(frame numbers hidden?)", n, NR_PAGES - OWN_PAGES, nf, FILE_DIRTY);
	if (nown)
		fail("before the dump %ld pages written since the fork are shared", nown);

	test_ready();
	test_waitsig();

	if (test_csum(mem, MEM_SIZE) != root_sum)
		fail("the root's copy of the memory changed");
	if (test_csum(fmem, FILE_PAGES * PAGE) != file_sum)
		fail("the root's copy of the file mapping changed");
	n = test_pages_shared(getpid(), kid, mem + OWN_PAGES * PAGE, NR_PAGES - OWN_PAGES);
	nown = test_pages_shared(getpid(), kid, mem, OWN_PAGES);
	nf = test_pages_shared(getpid(), kid, fmem, FILE_DIRTY);
	kill(kid, SIGTERM);
	while (waitpid(kid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's copy of the memory changed (status %#x: 4 its own pages, 5 the "
		     "dropped ones, 6 the root's old ones, 7 the shared ones, 8 the file)", status);
	if (n < NR_PAGES - OWN_PAGES)
		fail("only %ld of %d copy-on-write pages are still shared after restore", n,
		     NR_PAGES - OWN_PAGES);
	if (nf < FILE_DIRTY)
		fail("only %ld of %d copy-on-write pages of the file mapping are still shared after "
		     "restore", nf, FILE_DIRTY);
	if (nown)
		fail("after restore %ld pages that were not shared are", nown);
	pass();
}
