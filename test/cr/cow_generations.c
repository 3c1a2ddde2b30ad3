/*
 * Copy-on-write sharing over three generations, and that it still isolates after restore.
 *
 * The root (with a thread of its own, so its stack is inherited too) fills a 2 MiB buffer, a
 * 4 MiB transparent-huge-page area and three 64-page areas, makes a zombie child, then forks A;
 * A forks B at once. Then, each in its own memory:
 *   B  rewrites buffer pages [64, 96), moves pages [16, 32) of area 4 elsewhere (mremap);
 *   A  rewrites buffer pages [0, 32), drops [32, 64) (MADV_DONTNEED), writes one page of the
 *      THP area, makes pages [16, 32) of area 2 read-only and gives [16, 32) of area 3
 *      MADV_RANDOM (both split a VMA), starts a thread and makes a zombie child of its own;
 *   the root rewrites buffer pages [96, 128).
 * Buffer pages [128, 512) are written by nobody: one physical page in all three. Each task
 * records the checksum of every 16 pages of every area; after restore each checks its own
 * memory against them (and B that its moved pages are still moved), the root checks that the
 * untouched pages are still shared root-A and A-B and that written ones are not. Then all
 * three, and a child the root forks after restore, write into the shared pages: each checks
 * again that nobody else's write shows in its memory.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PAGE		4096L
#define BLK		16			/* pages per checksum */
#define BUF_PAGES	512
#define THP_PAGES	1024
#define AREA_PAGES	64
#define NR_AREAS	5
#define MAX_BLKS	(THP_PAGES / BLK)
#define SHARED_FROM	128			/* buffer pages [128, 512): written by nobody */

struct area {
	const char *name;
	unsigned char *p;
	long pages;
};

static struct area areas[NR_AREAS] = {
	{ "buffer", NULL, BUF_PAGES },
	{ "thp", NULL, THP_PAGES },
	{ "area2", NULL, AREA_PAGES },
	{ "area3", NULL, AREA_PAGES },
	{ "area4", NULL, AREA_PAGES },
};

static uint64_t sums[NR_AREAS][MAX_BLKS];
static unsigned char *moved;			/* B: area 4 pages [16, 32) moved here */
static uint64_t moved_sum;
static int ready[2], go[2][2];	/* go[0]: to A, go[1]: to B (one each: A must not take B's) */

static void record(void)
{
	int a;
	long b;

	for (a = 0; a < NR_AREAS; a++)
		for (b = 0; b < areas[a].pages / BLK; b++)
			if (!(a == 4 && b == 1 && moved))	/* B moved those away */
				sums[a][b] = test_csum(areas[a].p + b * BLK * PAGE, BLK * PAGE);
}

/* 0, or 10 + the area of the first block that changed (the block in *blk, the name in *name). */
static int verify(long *blk, const char **name)
{
	int a;
	long b;

	for (a = 0; a < NR_AREAS; a++)
		for (b = 0; b < areas[a].pages / BLK; b++) {
			if (a == 4 && b == 1 && moved)
				continue;	/* B moved those away */
			if (test_csum(areas[a].p + b * BLK * PAGE, BLK * PAGE) != sums[a][b]) {
				*blk = b;
				*name = areas[a].name;
				return 10 + a;
			}
		}
	return 0;
}

static pid_t make_zombie(int code)
{
	siginfo_t si;
	pid_t pid = fork();

	if (pid == 0)
		_exit(code);
	if (pid < 0 || waitid(P_PID, pid, &si, WEXITED | WNOWAIT))
		return -1;
	return pid;
}

static void *sleeper(void *arg)
{
	sigset_t set;

	(void)arg;
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;)
		pause();
	return NULL;
}

static int after_restore_steps(int self, pid_t kid);

/* After restore, in A and B; a failure is reported to the root at once (no hang). */
static int after_restore(int self, pid_t kid)
{
	int ret = after_restore_steps(self, kid);

	if (ret && write(ready[1], "f", 1) != 1)
		ret = 99;
	return ret;
}

/* Check, report, wait for the root's check, write, report, wait for all writes, check again. */
static int after_restore_steps(int self, pid_t kid)
{
	const char *name = "";
	long blk = 0;
	int ret;
	char c;

	if (kid > 0)
		kill(kid, SIGTERM);
	ret = verify(&blk, &name);
	if (ret) {
		fprintf(stderr, "task %c: %s block %ld changed after restore\n", 'A' + self, name, blk);
		return ret;
	}
	if (moved) {
		if (test_csum(moved, BLK * PAGE) != moved_sum)
			return 30;
		if (msync(areas[4].p + BLK * PAGE, PAGE, MS_ASYNC) == 0 || errno != ENOMEM)
			return 31;	/* the hole left by mremap is mapped again */
	}
	if (write(ready[1], "r", 1) != 1)
		return 32;
	if (read(go[self][0], &c, 1) != 1)	/* the root's and the others' first checks are done */
		return 33;
	/* write into the shared pages: A into [160, 192), B into [192, 224) */
	test_fill(areas[0].p + (160 + 32 * self) * PAGE, 32 * PAGE, 500 + self);
	record();
	if (write(ready[1], "w", 1) != 1)
		return 34;
	if (read(go[self][0], &c, 1) != 1)	/* everybody wrote */
		return 35;
	ret = verify(&blk, &name);
	if (ret) {
		fprintf(stderr, "task %c: %s block %ld changed by another task's write after "
			"restore\n", 'A' + self, name, blk);
		return ret + 40;
	}
	return 0;
}

static const char *report_kid(pid_t a)
{
	static char buf[128];
	int status;

	close(go[0][1]);	/* A and B stop waiting for us */
	close(go[1][1]);
	status = test_reap(a);
	snprintf(buf, sizeof(buf), ": A's status %#x", status);
	return buf;
}

static void run_b(int to_a)
{
	unsigned char *dst;

	test_fill(areas[0].p + 64 * PAGE, 32 * PAGE, 20);
	dst = mmap(NULL, BLK * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = mremap(areas[4].p + BLK * PAGE, BLK * PAGE, BLK * PAGE,
		       MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (dst == MAP_FAILED || moved == MAP_FAILED)
		_exit(3);
	moved_sum = test_csum(moved, BLK * PAGE);
	record();
	if (write(to_a, "b", 1) != 1)
		_exit(3);
	close(to_a);
	test_waitsig();
	_exit(after_restore(1, -1));
}

static void run_a(int to_root)
{
	pthread_t th;
	int p[2], status, ret;
	pid_t b, z;
	char c;

	if (pipe(p))
		_exit(3);
	b = fork();
	if (b < 0)
		_exit(3);
	if (b == 0) {
		close(p[0]);
		run_b(p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		_exit(4);
	close(p[0]);
	test_fill(areas[0].p, 32 * PAGE, 10);
	madvise(areas[0].p + 32 * PAGE, 32 * PAGE, MADV_DONTNEED);
	areas[1].p[7 * PAGE + 5] ^= 0x5a;
	if (mprotect(areas[2].p + BLK * PAGE, BLK * PAGE, PROT_READ) ||
	    madvise(areas[3].p + BLK * PAGE, BLK * PAGE, MADV_RANDOM))
		_exit(5);
	if (pthread_create(&th, NULL, sleeper, NULL))
		_exit(5);
	z = make_zombie(9);
	if (z < 0)
		_exit(5);
	record();
	if (write(to_root, "a", 1) != 1)
		_exit(5);
	close(to_root);
	test_waitsig();
	ret = after_restore(0, b);
	if (ret)
		_exit(ret);
	status = test_reap(b);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? 100 + WEXITSTATUS(status) % 100 : 99);
	status = test_reap(z);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 9)
		_exit(40);
	_exit(0);
}

static void *map_aligned(size_t len, size_t align)
{
	unsigned char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		fail("mmap: %m");
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + align - a);
	return (void *)a;
}

int main(int argc, char **argv)
{
	long n, nab, nown, nabown, blk = 0;
	const char *name = "";
	pid_t a, zr, late;
	int p[2], status, i, ret;
	pthread_t th;
	char c;

	test_init(argc, argv);
	areas[0].p = map_aligned(BUF_PAGES * PAGE, PAGE);
	madvise(areas[0].p, BUF_PAGES * PAGE, MADV_NOHUGEPAGE);
	areas[1].p = map_aligned(THP_PAGES * PAGE, 2 << 20);
	madvise(areas[1].p, THP_PAGES * PAGE, MADV_HUGEPAGE);
	for (i = 2; i < 5; i++) {
		areas[i].p = map_aligned(AREA_PAGES * PAGE, PAGE);
		madvise(areas[i].p, AREA_PAGES * PAGE, MADV_NOHUGEPAGE);
	}
	for (i = 0; i < 5; i++)
		test_fill(areas[i].p, areas[i].pages * PAGE, 1 + i);
	if (pipe(p) || pipe(ready) || pipe(go[0]) || pipe(go[1]))
		fail("pipe: %m");
	if (pthread_create(&th, NULL, sleeper, NULL))
		fail("pthread_create failed");
	zr = make_zombie(7);
	if (zr < 0)
		fail("cannot make a zombie: %m");
	a = fork();
	if (a < 0)
		fail("fork: %m");
	if (a == 0) {
		close(p[0]);
		close(ready[0]);
		close(go[0][1]);
		close(go[1][1]);
		run_a(p[1]);
	}
	close(p[1]);
	close(ready[1]);
	close(go[0][0]);
	close(go[1][0]);
	if (read(p[0], &c, 1) != 1)
		fail("child A did not start");
	close(p[0]);
	test_fill(areas[0].p + 96 * PAGE, 32 * PAGE, 30);
	record();
	/* the grandchild's pid: A's only live child */
	{
		char path[64];
		FILE *f;
		int bpid = 0;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", a, a);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%d", &bpid) != 1)
			skip("cannot read the children of A");
		fclose(f);
		if (bpid == zr || !bpid)
			skip("cannot find B");
		/* the first listed child may be A's zombie: take the one whose parent is A, alive */
		late = bpid;
		f = fopen(path, "r");
		while (f && fscanf(f, "%d", &bpid) == 1) {
			char st[64], s = 0;
			FILE *g;

			snprintf(st, sizeof(st), "/proc/%d/stat", bpid);
			g = fopen(st, "r");
			if (g && fscanf(g, "%*d %*s %c", &s) == 1 && s != 'Z')
				late = bpid;
			if (g)
				fclose(g);
		}
		if (f)
			fclose(f);
	}
	n = test_pages_shared(getpid(), a, areas[0].p + SHARED_FROM * PAGE, BUF_PAGES - SHARED_FROM);
	nab = test_pages_shared(a, late, areas[0].p + SHARED_FROM * PAGE, BUF_PAGES - SHARED_FROM);
	if (n != BUF_PAGES - SHARED_FROM || nab != BUF_PAGES - SHARED_FROM)
		skip("before the dump only %ld (root-A) and %ld (A-B) of %d pages are shared "
		     "(frame numbers hidden?)", n, nab, BUF_PAGES - SHARED_FROM);

	test_ready();
	test_waitsig();

	kill(a, SIGTERM);
	ret = verify(&blk, &name);
	if (ret)
		fail("the root's %s block %ld changed after restore", name, blk);
	n = test_pages_shared(getpid(), a, areas[0].p + SHARED_FROM * PAGE, BUF_PAGES - SHARED_FROM);
	nab = test_pages_shared(a, late, areas[0].p + SHARED_FROM * PAGE, BUF_PAGES - SHARED_FROM);
	nown = test_pages_shared(getpid(), a, areas[0].p, 32);
	nabown = test_pages_shared(a, late, areas[0].p + 64 * PAGE, 32);
	for (i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1 || c != 'r')
			fail("A or B failed its check after restore (see its status below)%s",
			     report_kid(a));
	if (n < BUF_PAGES - SHARED_FROM || nab < BUF_PAGES - SHARED_FROM)
		fail("after restore only %ld (root-A) and %ld (A-B) of %d untouched pages are shared",
		     n, nab, BUF_PAGES - SHARED_FROM);
	if (nown || nabown)
		fail("after restore %ld (root-A) / %ld (A-B) pages written by one of them are shared",
		     nown, nabown);
	if (write(go[0][1], "g", 1) != 1 || write(go[1][1], "g", 1) != 1)
		fail("write: %m");
	/* write into the shared pages: the root into [128, 160), then a late child anywhere */
	test_fill(areas[0].p + 128 * PAGE, 32 * PAGE, 600);
	record();
	for (i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1 || c != 'w')
			fail("A or B failed before its write after restore%s", report_kid(a));
	late = fork();
	if (late < 0)
		fail("fork: %m");
	if (late == 0) {
		for (i = 0; i < 5; i++)
			test_fill(areas[i].p, areas[i].pages * PAGE, 700 + i);
		_exit(0);
	}
	status = test_reap(late);
	if (status)
		fail("the late child failed: %#x", status);
	if (write(go[0][1], "g", 1) != 1 || write(go[1][1], "g", 1) != 1)
		fail("write: %m");
	ret = verify(&blk, &name);
	if (ret)
		fail("the root's %s block %ld changed by another task's write after restore",
		     name, blk);
	status = test_reap(a);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("A failed with status %#x (exit 10+area: own memory changed after restore, "
		     "50+area: changed by another's write; 30/31: B's moved pages / hole; "
		     "100+N: B failed with N; 40: A's zombie)", status);
	status = test_reap(zr);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 7)
		fail("the root's zombie came back with status %#x", status);
	pass();
}
