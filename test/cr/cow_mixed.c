/*
 * Copy-on-write sharing mixed with children that share nothing, zombies, threads and stacks.
 * The root fills 1 MiB and an 8-page MAP_GROWSDOWN area, then forks, in this order:
 *   E1  exec's this program again, fills 1 MiB of its own and forks EC, which shares it with
 *       E1 (EC rewrites its first quarter): sharing below a task created alongside the root;
 *   S1  rewrites pages [0, 32) and recurses 64 frames of 4 KiB deep (its stack grows below the
 *       root's), each frame holding its own data, and waits at the bottom;
 *   Z   a zombie (exit 6);
 *   S2  starts a thread, rewrites pages [32, 64) and the growsdown area's top page;
 *   E2  exec's this program again and only keeps 1 MiB of its own.
 * The root rewrites pages [64, 96). After restore each task checks its own memory (S1 every
 * frame as it unwinds), the root that pages [96, 256) are still shared with S1 and S2 and that
 * E1's untouched 3/4 are shared with EC (E1 checks that), then S1, S2, the root and a child
 * forked after restore write into the shared pages, and each checks no other write shows.
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
#define NR_PAGES	256
#define GD_PAGES	8
#define DEPTH		64

static unsigned char *mem, *gd;
static uint64_t sum_mem, sum_gd;
static int ready_fd = -1;
static bool wrote;		/* write_phase() reported its write */

static void block_term(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, old);
	sigdelset(old, SIGTERM);
}

static void wait_term(sigset_t *old)
{
	while (!test_sig_flag)
		sigsuspend(old);
}

static unsigned char *map_mem(uint64_t seed)
{
	unsigned char *p = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, NR_PAGES * PAGE, MADV_NOHUGEPAGE);
	test_fill(p, NR_PAGES * PAGE, seed);
	return p;
}

/* After restore: write [@from, @from + 32) of the shared pages, report it on @done_fd, wait
 * for @go_fd (everybody wrote), and check that our memory is ours. 0 or a code. */
static int write_phase(int from, int go_fd, int done_fd)
{
	uint64_t before[NR_PAGES / 32];
	char c;
	int i;

	for (i = 0; i < NR_PAGES / 32; i++)
		before[i] = test_csum(mem + i * 32 * PAGE, 32 * PAGE);
	test_fill(mem + from * PAGE, 32 * PAGE, 900 + from);
	before[from / 32] = test_csum(mem + from * PAGE, 32 * PAGE);
	wrote = true;
	if (write(done_fd, "w", 1) != 1 || read(go_fd, &c, 1) != 1)
		return 50;
	for (i = 0; i < NR_PAGES / 32; i++)
		if (test_csum(mem + i * 32 * PAGE, 32 * PAGE) != before[i])
			return 51 + i;
	return 0;
}

/* ---- the exec'ed children ---- */

static void on_term(int sig)
{
	(void)sig;
	test_sig_flag = 1;
}

static int exec_child(int fd, int with_kid)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t old;
	pid_t ec = 0;
	uint64_t sum, ecsum = 0;
	long n;
	int p[2], status;
	char c;

	block_term(&old);
	sigaction(SIGTERM, &sa, NULL);
	mem = map_mem(77 + with_kid);
	if (!mem || pipe(p))
		return 3;
	if (with_kid) {
		ec = fork();
		if (ec < 0)
			return 3;
		if (ec == 0) {
			test_fill(mem, NR_PAGES / 4 * PAGE, 78);
			ecsum = test_csum(mem, NR_PAGES * PAGE);
			if (write(p[1], "e", 1) != 1)
				_exit(3);
			wait_term(&old);
			_exit(test_csum(mem, NR_PAGES * PAGE) == ecsum ? 0 : 4);
		}
		if (read(p[0], &c, 1) != 1)
			return 3;
		n = test_pages_shared(getpid(), ec, mem + NR_PAGES / 4 * PAGE, NR_PAGES * 3 / 4);
		if (n != NR_PAGES * 3 / 4)
			c = 's';	/* frame numbers hidden: the runner's root skips */
	}
	sum = test_csum(mem, NR_PAGES * PAGE);
	c = with_kid && c == 's' ? 's' : 'r';
	if (write(fd, &c, 1) != 1)
		return 3;
	close(fd);
	wait_term(&old);
	if (test_csum(mem, NR_PAGES * PAGE) != sum)
		return 5;
	if (!with_kid)
		return 0;
	n = test_pages_shared(getpid(), ec, mem + NR_PAGES / 4 * PAGE, NR_PAGES * 3 / 4);
	if (n < NR_PAGES * 3 / 4)
		return 6;
	kill(ec, SIGTERM);
	status = test_reap(ec);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return 7;
	return 0;
}

/* ---- S1: a deep stack ---- */

static int deep(int level, sigset_t *old, int go_fd, int done_fd)
{
	unsigned char frame[4000];
	uint64_t sum;
	int ret;

	test_fill(frame, sizeof(frame), 1000 + level);
	sum = test_csum(frame, sizeof(frame));
	if (level < DEPTH) {
		ret = deep(level + 1, old, go_fd, done_fd);
	} else {
		if (write(ready_fd, "r", 1) != 1)
			return 3;
		wait_term(old);
		if (test_csum(mem, NR_PAGES * PAGE) != sum_mem)
			return 10;
		ret = write_phase(96, go_fd, done_fd);
	}
	if (!ret && test_csum(frame, sizeof(frame)) != sum)
		return 11;	/* a stack frame changed */
	/* keep the frame alive across the recursive call */
	__asm__ volatile("" : : "r"(frame) : "memory");
	return ret;
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

int main(int argc, char **argv)
{
	pid_t e1, s1, z, zr, s2, e2;
	int rdy[2], go[2], done[2], status, i;
	uint64_t gdsum2 = 0;
	char fdarg[16], c;
	siginfo_t si;
	sigset_t old;
	long n1, n2;

	if (argc == 4 && !strcmp(argv[1], "--exec-child"))
		return exec_child(atoi(argv[2]), atoi(argv[3]));
	test_init(argc, argv);
	mem = map_mem(1);
	gd = mmap(NULL, GD_PAGES * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0);
	if (!mem || gd == MAP_FAILED || pipe(rdy) || pipe(go) || pipe(done))
		fail("setup: %m");
	test_fill(gd, GD_PAGES * PAGE, 2);
	sum_gd = test_csum(gd, GD_PAGES * PAGE);
	sum_mem = test_csum(mem, NR_PAGES * PAGE);
	snprintf(fdarg, sizeof(fdarg), "%d", rdy[1]);
	e1 = fork();
	if (e1 == 0) {
		execl("/proc/self/exe", argv[0], "--exec-child", fdarg, "1", (char *)NULL);
		_exit(8);
	}
	s1 = fork();
	if (s1 == 0) {
		block_term(&old);
		ready_fd = rdy[1];
		test_fill(mem, 32 * PAGE, 10);
		sum_mem = test_csum(mem, NR_PAGES * PAGE);
		i = deep(0, &old, go[0], done[1]);
		if (i && !wrote && write(done[1], "f", 1) != 1)
			i = 99;
		_exit(i);
	}
	zr = fork();
	if (zr == 0)
		_exit(6);
	if (zr < 0 || waitid(P_PID, zr, &si, WEXITED | WNOWAIT))
		fail("cannot make a zombie: %m");
	s2 = fork();
	if (s2 == 0) {
		pthread_t th;
		int ret;

		block_term(&old);
		if (pthread_create(&th, NULL, sleeper, NULL))
			_exit(3);
		test_fill(gd + (GD_PAGES - 1) * PAGE, PAGE, 21);
		test_fill(mem + 32 * PAGE, 32 * PAGE, 20);
		sum_mem = test_csum(mem, NR_PAGES * PAGE);
		gdsum2 = test_csum(gd, GD_PAGES * PAGE);
		if (write(rdy[1], "r", 1) != 1)
			_exit(3);
		wait_term(&old);
		ret = 0;
		if (test_csum(mem, NR_PAGES * PAGE) != sum_mem)
			ret = 20;
		else if (test_csum(gd, GD_PAGES * PAGE) != gdsum2)
			ret = 21;
		else
			ret = write_phase(128, go[0], done[1]);
		if (ret && !wrote && write(done[1], "f", 1) != 1)
			ret = 99;
		_exit(ret);
	}
	e2 = fork();
	if (e2 == 0) {
		execl("/proc/self/exe", argv[0], "--exec-child", fdarg, "0", (char *)NULL);
		_exit(8);
	}
	if (e1 < 0 || s1 < 0 || s2 < 0 || e2 < 0)
		fail("fork: %m");
	close(rdy[1]);
	for (i = 0; i < 4; i++) {
		if (read(rdy[0], &c, 1) != 1)
			fail("a child failed to start");
		if (c == 's')
			skip("E1 and EC share no page before the dump (frame numbers hidden?)");
	}
	test_fill(mem + 64 * PAGE, 32 * PAGE, 30);
	sum_mem = test_csum(mem, NR_PAGES * PAGE);
	n1 = test_pages_shared(getpid(), s1, mem + 96 * PAGE, NR_PAGES - 96);
	n2 = test_pages_shared(getpid(), s2, mem + 96 * PAGE, NR_PAGES - 96);
	if (n1 != NR_PAGES - 96 || n2 != NR_PAGES - 96)
		skip("before the dump only %ld / %ld of %d pages are shared (frame numbers "
		     "hidden?)", n1, n2, NR_PAGES - 96);

	test_ready();
	test_waitsig();

	if (test_csum(mem, NR_PAGES * PAGE) != sum_mem)
		fail("the root's memory changed");
	if (test_csum(gd, GD_PAGES * PAGE) != sum_gd)
		fail("the root's growsdown area changed");
	n1 = test_pages_shared(getpid(), s1, mem + 96 * PAGE, NR_PAGES - 96);
	n2 = test_pages_shared(getpid(), s2, mem + 96 * PAGE, NR_PAGES - 96);
	if (n1 < NR_PAGES - 96 || n2 < NR_PAGES - 96)
		fail("after restore only %ld (S1) / %ld (S2) of %d untouched pages are shared",
		     n1, n2, NR_PAGES - 96);
	kill(e1, SIGTERM);
	kill(s1, SIGTERM);
	kill(s2, SIGTERM);
	kill(e2, SIGTERM);
	close(done[1]);
	close(go[0]);
	test_fill(mem + 160 * PAGE, 32 * PAGE, 960);
	sum_mem = test_csum(mem, NR_PAGES * PAGE);
	for (i = 0; i < 2; i++)
		if (read(done[0], &c, 1) != 1 || c != 'w')
			fail("S1 or S2 failed after restore: S1 %#x, S2 %#x (S1: 10 memory, 11 a stack "
			     "frame; S2: 20 memory, 21 the growsdown area; 5x: changed by another's "
			     "write)", (close(go[1]), test_reap(s1)), test_reap(s2));
	/* a child forked now writes everywhere, then the others may check */
	z = fork();
	if (z == 0) {
		test_fill(mem, NR_PAGES * PAGE, 999);
		test_fill(gd, GD_PAGES * PAGE, 998);
		_exit(0);
	}
	if (z < 0 || test_reap(z))
		fail("the child forked after restore failed");
	if (write(go[1], "gg", 2) != 2)
		fail("write: %m");
	if (test_csum(mem, NR_PAGES * PAGE) != sum_mem)
		fail("the root's memory changed by another task's write after restore");
	if (test_csum(gd, GD_PAGES * PAGE) != sum_gd)
		fail("the root's growsdown area changed by another task's write after restore");
	status = test_reap(s1);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("S1 failed: %#x (10 memory, 11 a stack frame, 5x changed by another's write)",
		     status);
	status = test_reap(s2);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("S2 failed: %#x (20 memory, 21 the growsdown area, 5x changed by another's "
		     "write)", status);
	status = test_reap(e1);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("E1 failed: %#x (5 memory, 6 no longer shared with EC, 7 EC failed)", status);
	status = test_reap(e2);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("E2 failed: %#x (5 memory)", status);
	status = test_reap(zr);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 6)
		fail("the zombie came back with status %#x", status);
	pass();
}
