/*
 * Eight threads, each with its own FPU state: a rounding mode of its own (MXCSR, per thread) and an accumulator kept in an SSE register by a tight loop. Each
 * counts its steps in memory; after restore each stops, recomputes the accumulator for the
 * same number of steps from scratch and compares bit for bit: a register or a rounding mode
 * lost, or swapped with another thread's, gives a different result.
 */
#include "zdtmtst.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NR_THREADS	8

struct thread {
	pthread_t handle;
	int idx;
	pid_t tid;
	volatile unsigned long steps;
	volatile int started;
	double result;
	const char *error;
};

static struct thread threads[NR_THREADS];
static volatile int stop;
/* MXCSR rounding control (bits 13-14): nearest, down, up, toward zero. */
static const unsigned int modes[4] = { 0 << 13, 1 << 13, 2 << 13, 3 << 13 };

static void set_round(unsigned int mode)
{
	__builtin_ia32_ldmxcsr((__builtin_ia32_stmxcsr() & ~(3u << 13)) | mode);
}

static unsigned int get_round(void)
{
	return __builtin_ia32_stmxcsr() & (3u << 13);
}

static double step(double acc, double k, double c)
{
	return acc * k + c;
}

static void *thread_fn(void *arg)
{
	struct thread *t = arg;
	double k = 1.0 + (t->idx + 1) * 1e-7, c = 0.1 * (t->idx + 1), acc = t->idx, ref;
	unsigned long n = 0, i;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	t->tid = syscall(SYS_gettid);
	set_round(modes[t->idx % 4]);
	t->started = 1;
	while (!stop) {
		acc = step(acc, k, c);
		t->steps = ++n;
	}
	t->result = acc;
	if (get_round() != modes[t->idx % 4]) {
		t->error = "rounding mode changed";
		return NULL;
	}
	ref = t->idx;
	for (i = 0; i < n; i++)
		ref = step(ref, k, c);
	if (memcmp(&ref, &acc, sizeof(ref)))
		t->error = "accumulator differs from a recomputation: FPU state lost";
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long before[NR_THREADS];
	int i;

	test_init(argc, argv);
	for (i = 0; i < NR_THREADS; i++) {
		threads[i].idx = i;
		if (pthread_create(&threads[i].handle, NULL, thread_fn, &threads[i]))
			fail("pthread_create failed");
	}
	for (i = 0; i < NR_THREADS; i++)
		while (!threads[i].steps)
			usleep(1000);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_THREADS; i++)
		before[i] = threads[i].steps;
	for (i = 0; i < NR_THREADS; i++)
		for (int n = 0; threads[i].steps == before[i]; n++) {
			if (n > 20000)
				fail("thread %d (tid %d) does not run after restore", i,
				     threads[i].tid);
			usleep(1000);
		}
	stop = 1;
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i].handle, NULL);
	for (i = 0; i < NR_THREADS; i++)
		if (threads[i].error)
			fail("thread %d (tid %d): %s", i, threads[i].tid, threads[i].error);
	pass();
}
