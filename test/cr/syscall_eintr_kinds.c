/*
 * Threads asleep in different syscalls at dump time keep sleeping after restore, and each is
 * interrupted (-1, EINTR) by a signal sent to it, whose handler has no SA_RESTART, as it would
 * have been without the dump. One thread per syscall: nanosleep(), read() from an empty pipe,
 * futex(FUTEX_WAIT) with and without a timeout, epoll_wait() with and without a timeout, poll()
 * with a timeout, clock_nanosleep(TIMER_ABSTIME). Some of those the kernel restarts through
 * restart_syscall() (nanosleep, the timed futex and poll), the others by running the syscall
 * again. After restore the main thread checks that none of them returned by itself (within a
 * grace period), then signals each with SIGUSR1 in turn and wants EINTR from it, with the
 * handler run in that very thread. epoll_wait() is the exception: Linux lets it fail with
 * EINTR after a stop (ptrace or SIGSTOP, see signal(7)), so it may have returned EINTR by then.
 *
 * Built twice: syscall_eintr_kinds has the syscalls the kernel restarts by running them again;
 * syscall_eintr_restartblock (RESTART_BLOCK defined) those it restarts with restart_syscall().
 */
#include "zdtmtst.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

enum { K_NANOSLEEP, K_READ, K_FUTEX, K_FUTEX_TO, K_EPOLL, K_EPOLL_TO, K_POLL_TO, K_CLOCK_ABS,
       NR_KINDS };

#ifdef RESTART_BLOCK
static const bool wanted[NR_KINDS] = {
	[K_NANOSLEEP] = true, [K_FUTEX_TO] = true, [K_POLL_TO] = true,
};
#else
static const bool wanted[NR_KINDS] = {
	[K_READ] = true, [K_FUTEX] = true, [K_EPOLL] = true, [K_EPOLL_TO] = true,
	[K_CLOCK_ABS] = true,
};
#endif
static const bool eintr_on_stop[NR_KINDS] = { [K_EPOLL] = true, [K_EPOLL_TO] = true };

static const char *const names[NR_KINDS] = {
	"nanosleep", "read", "futex wait", "futex wait with timeout", "epoll_wait",
	"epoll_wait with timeout", "poll with timeout", "clock_nanosleep absolute",
};

struct sleeper {
	pthread_t th;
	volatile pid_t tid;
	volatile int state;		/* 1: about to sleep, 2: returned */
	volatile long ret;
	volatile int err;
	volatile int handled;		/* SIGUSR1's handler ran in this thread */
};

static struct sleeper sl[NR_KINDS];
static __thread int my_kind = -1;
static int pfd[2], ep;
static int futex_word;

static void on_usr1(int sig)
{
	(void)sig;
	if (my_kind >= 0)
		sl[my_kind].handled++;
}

static void *sleeper(void *arg)
{
	int k = (int)(long)arg;
	struct timespec ts = { 1000, 0 }, rem;
	struct epoll_event ev;
	struct pollfd pf = { .fd = pfd[0], .events = POLLIN };
	sigset_t set;
	char c;
	long r = 0;

	my_kind = k;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sl[k].tid = gettid();
	if (k == K_CLOCK_ABS) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1000;
	}
	sl[k].state = 1;
	switch (k) {
	case K_NANOSLEEP:
		r = nanosleep(&ts, &rem);
		break;
	case K_READ:
		r = read(pfd[0], &c, 1);
		break;
	case K_FUTEX:
		r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
		break;
	case K_FUTEX_TO:
		r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		break;
	case K_EPOLL:
		r = epoll_wait(ep, &ev, 1, -1);
		break;
	case K_EPOLL_TO:
		r = epoll_wait(ep, &ev, 1, 1000000);
		break;
	case K_POLL_TO:
		r = poll(&pf, 1, 1000000);
		break;
	case K_CLOCK_ABS:
		/* returns the error number, not -1 */
		r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		if (r) {
			errno = r;
			r = -1;
		}
		break;
	}
	sl[k].err = errno;
	sl[k].ret = r;
	__atomic_store_n(&sl[k].state, 2, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

/* The syscall number thread @tid sleeps in, or -1. */
static long in_syscall(pid_t tid)
{
	char path[64], buf[256];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}

static void settle(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct epoll_event ev = { .events = EPOLLIN };
	int k, i, waited;
	char woke[1024];
	size_t l = 0;

	test_init(argc, argv);
	if (pipe(pfd) || sigaction(SIGUSR1, &sa, NULL))
		fail("setup: %m");
	ep = epoll_create1(0);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev))
		fail("epoll: %m");
	for (k = 0; k < NR_KINDS; k++)
		if (wanted[k] && pthread_create(&sl[k].th, NULL, sleeper, (void *)(long)k))
			fail("pthread_create failed");
	/* each thread asleep in its syscall (not just about to enter it) */
	for (k = 0; k < NR_KINDS; k++) {
		if (!wanted[k])
			continue;
		for (i = 0; i < 1000; i++) {
			char path[64], st = 0;
			FILE *f;

			if (sl[k].state == 1 && in_syscall(sl[k].tid) >= 0) {
				snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)sl[k].tid);
				f = fopen(path, "r");
				if (f && fscanf(f, "%*d %*s %c", &st) != 1)
					st = 0;
				if (f)
					fclose(f);
				if (st == 'S')
					break;
			}
			settle();
		}
		if (i == 1000)
			fail("the %s thread did not go to sleep", names[k]);
	}

	test_ready();
	test_waitsig();

	/* nobody woke up by himself (a restart gone wrong returns at once) */
	for (i = 0; i < 30; i++)
		settle();
	for (k = 0; k < NR_KINDS; k++) {
		if (!wanted[k] || sl[k].state == 1)
			continue;
		if (eintr_on_stop[k] && sl[k].ret == -1 && sl[k].err == EINTR && !sl[k].handled) {
			test_msg("%s returned EINTR after the stop, as Linux may", names[k]);
			continue;
		}
		l += snprintf(woke + l, sizeof(woke) - l, "%s%s: %ld (%s)", l ? ", " : "",
				      names[k], sl[k].ret,
				      sl[k].ret < 0 ? strerror(sl[k].err) : "no error");
	}
	if (l)
		fail("returned after restore with no signal: %s", woke);
	for (k = 0; k < NR_KINDS; k++) {
		if (!wanted[k] || sl[k].state == 2)
			continue;
		if (syscall(SYS_tgkill, getpid(), sl[k].tid, SIGUSR1))
			fail("tgkill: %m");
		for (waited = 0; waited < 1000 && __atomic_load_n(&sl[k].state, __ATOMIC_SEQ_CST) != 2;
		     waited++)
			settle();
		if (sl[k].state != 2)
			fail("the %s thread is still asleep after SIGUSR1 (handler run %d times: the "
			     "syscall restarted instead of returning EINTR)", names[k], sl[k].handled);
		if (sl[k].ret != -1 || sl[k].err != EINTR)
			fail("the %s thread's syscall returned %ld (%s), want -1 EINTR", names[k],
			     sl[k].ret, sl[k].ret < 0 ? strerror(sl[k].err) : "no error");
		if (sl[k].handled != 1)
			fail("SIGUSR1's handler ran %d times in the %s thread, want once", sl[k].handled,
			     names[k]);
	}
	pass();
}
