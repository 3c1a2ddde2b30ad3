/*
 * Threads stopped inside blocking syscalls go on correctly after restore: four wait on a
 * futex word (FUTEX_WAIT), one reads from an empty pipe, one sleeps in a loop of nanosleep(2)
 * (restarted through restart_syscall). The dump catches each inside its syscall (checked in
 * /proc/self/task/TID/syscall); after restore the main thread wakes the futex and writes to the
 * pipe, and each thread checks what its syscall returned: a lost restart shows as a wrong
 * return value (EINTR or EFAULT) or a thread that never wakes.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NR_FUTEX	4
#define NR_THREADS	(NR_FUTEX + 2)

struct thread {
	pthread_t handle;
	int idx;
	volatile pid_t tid;
	volatile int done;
	const char *error;
};

static struct thread threads[NR_THREADS];
static volatile int futex_word;
static int pfd[2];

static void block_term(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

static void *futex_fn(struct thread *t)
{
	long r;

	while (futex_word == 0) {
		r = syscall(SYS_futex, &futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);
		if (r < 0 && errno != EAGAIN) {
			t->error = errno == EINTR ? "futex wait returned EINTR" :
						    "futex wait failed";
			return NULL;
		}
	}
	return NULL;
}

static void *read_fn(struct thread *t)
{
	char c = 0;
	ssize_t n;

	n = read(pfd[0], &c, 1);
	if (n != 1)
		t->error = n < 0 && errno == EINTR ? "read returned EINTR" : "read failed";
	else if (c != 'x')
		t->error = "read returned the wrong byte";
	return NULL;
}

/* Sleeps until SIGTERM came: nanosleep(2) may be cut short, the loop goes on. */
static void *sleep_fn(struct thread *t)
{
	struct timespec ts = { 3600, 0 };

	(void)t;
	while (!test_sig_flag)
		syscall(SYS_nanosleep, &ts, NULL);
	return NULL;
}

static void *thread_fn(void *arg)
{
	struct thread *t = arg;

	block_term();
	t->tid = syscall(SYS_gettid);
	if (t->idx < NR_FUTEX)
		futex_fn(t);
	else if (t->idx == NR_FUTEX)
		read_fn(t);
	else
		sleep_fn(t);
	t->done = 1;
	return NULL;
}

/* The syscall number thread @tid is blocked in, or -1 if it is not in one. */
static long blocked_in(pid_t tid)
{
	char path[64], buf[256];
	FILE *f;
	long nr = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f) || sscanf(buf, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr;
}

static long want_syscall(int idx)
{
	if (idx < NR_FUTEX)
		return SYS_futex;
	return idx == NR_FUTEX ? SYS_read : SYS_nanosleep;
}

static void on_usr1(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int i, tries;

	test_init(argc, argv);
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction: %m");
	if (pipe(pfd))
		fail("pipe: %m");
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].handle, NULL, thread_fn, &threads[i]))
			fail("pthread_create failed");
	}
	for (i = 0; i < NR_THREADS; i++) {
		for (tries = 0; !threads[i].tid || blocked_in(threads[i].tid) != want_syscall(i);
		     tries++) {
			if (tries > 10000)
				fail("thread %d is not blocked in syscall %ld", i, want_syscall(i));
			usleep(1000);
		}
	}

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_THREADS; i++)
		if (threads[i].done)
			fail("thread %d left its syscall before it was woken", i);
	futex_word = 1;
	syscall(SYS_futex, &futex_word, FUTEX_WAKE, NR_FUTEX, NULL, NULL, 0);
	if (write(pfd[1], "x", 1) != 1)
		fail("write: %m");
	for (i = 0; i < NR_THREADS; i++)
		if (i != NR_THREADS - 1)
			pthread_join(threads[i].handle, NULL);
	/* the sleeper sleeps an hour per call: a signal cuts it short, it sees the flag */
	pthread_kill(threads[NR_THREADS - 1].handle, SIGUSR1);
	pthread_join(threads[NR_THREADS - 1].handle, NULL);
	for (i = 0; i < NR_THREADS; i++)
		if (threads[i].error)
			fail("thread %d (tid %d): %s", i, threads[i].tid, threads[i].error);
	pass();
}
