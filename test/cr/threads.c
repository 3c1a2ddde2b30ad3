/*
 * Threads survive: four threads, each with its own thread id, TLS value, blocked-signal mask and
 * stack data, counting in a loop. After restore every thread checks its own state from the
 * inside, shows it still counts, and the main thread joins them all.
 */
#include "zdtmtst.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NR_THREADS	4

struct thread {
	pthread_t handle;
	int idx;
	pid_t tid;
	volatile unsigned long count;
	volatile int started;
	const char *error;
};

static __thread unsigned long tls_value;
static struct thread threads[NR_THREADS];

static void *thread_fn(void *arg)
{
	struct thread *t = arg;
	volatile unsigned long stack_data[64];
	unsigned long seen;
	sigset_t mask, cur;

	t->tid = syscall(SYS_gettid);
	tls_value = 0x1000 + t->idx;
	for (int i = 0; i < 64; i++)
		stack_data[i] = (unsigned long)t->idx * 1000 + i;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1 + (t->idx % 2));	/* SIGUSR1 or SIGUSR2 */
	sigaddset(&mask, SIGTERM);			/* the main thread takes SIGTERM */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	t->started = 1;

	while (!test_sig_flag) {
		t->count++;
		usleep(1000);
	}

	if (syscall(SYS_gettid) != t->tid)
		t->error = "thread id changed";
	else if (tls_value != 0x1000UL + t->idx)
		t->error = "TLS value changed";
	for (int i = 0; i < 64 && !t->error; i++)
		if (stack_data[i] != (unsigned long)t->idx * 1000 + i)
			t->error = "stack data changed";
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!t->error && !sigismember(&cur, SIGUSR1 + (t->idx % 2)))
		t->error = "signal mask changed";
	seen = t->count;
	usleep(20000);
	if (!t->error && t->count != seen)
		t->error = "counter moved by itself";
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long before[NR_THREADS];
	int i;

	test_init(argc, argv);
	tls_value = 0xabc;
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].handle, NULL, thread_fn, &threads[i]))
			fail("pthread_create failed");
	}
	for (i = 0; i < NR_THREADS; i++)
		while (!threads[i].started)
			usleep(1000);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_THREADS; i++)
		before[i] = threads[i].count;
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].handle, NULL);
	for (i = 0; i < NR_THREADS; i++) {
		if (threads[i].error)
			fail("thread %d (tid %d): %s", i, threads[i].tid, threads[i].error);
		if (threads[i].count == 0 || before[i] == 0)
			fail("thread %d never counted", i);
	}
	if (tls_value != 0xabc)
		fail("the main thread's TLS value changed");
	pass();
}
