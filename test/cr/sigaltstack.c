/*
 * Alternate signal stacks (sigaltstack, one per thread) and an SA_ONSTACK handler survive: after
 * restore each thread's stack is still registered with its address, size and flags (the second
 * thread's with SS_AUTODISARM), and the handler runs on the stack of the thread it hits.
 */
#include "zdtmtst.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ALT_SIZE	(64 * 1024)

#ifndef SS_AUTODISARM
#define SS_AUTODISARM	(1U << 31)
#endif

static char alt[ALT_SIZE] __attribute__((aligned(16)));
static char alt2[ALT_SIZE] __attribute__((aligned(16)));
static __thread volatile uintptr_t handler_sp;
static __thread volatile sig_atomic_t hits;
static volatile int thread_state;	/* 0 starting, 1 ready, 2 check now, 3 passed, 4 failed */
static char thread_err[200];

static void on_usr1(int sig)
{
	volatile char here;

	(void)sig;
	handler_sp = (uintptr_t)&here;
	hits++;
}

static int on_stack(const char *stack)
{
	return handler_sp >= (uintptr_t)stack && handler_sp < (uintptr_t)stack + ALT_SIZE;
}

static int on_alt(void)
{
	return on_stack(alt);
}

static void *thread_fn(void *arg)
{
	stack_t ss = { .ss_sp = alt2, .ss_size = ALT_SIZE, .ss_flags = SS_AUTODISARM }, got;

	(void)arg;
	if (sigaltstack(&ss, NULL)) {
		snprintf(thread_err, sizeof(thread_err), "thread: sigaltstack: %m");
		thread_state = 4;
		return NULL;
	}
	thread_state = 1;
	while (thread_state != 2)
		usleep(1000);
	if (sigaltstack(NULL, &got) || got.ss_sp != (void *)alt2 || got.ss_size != ALT_SIZE ||
	    (unsigned int)got.ss_flags != SS_AUTODISARM) {
		snprintf(thread_err, sizeof(thread_err), "thread: the alternate stack is %p/%zu/%#x",
			 got.ss_sp, got.ss_size, got.ss_flags);
		thread_state = 4;
		return NULL;
	}
	pthread_kill(pthread_self(), SIGUSR1);
	if (hits != 1 || !on_stack(alt2)) {
		snprintf(thread_err, sizeof(thread_err), "thread: the handler ran %d times, at %#lx",
			 (int)hits, (unsigned long)handler_sp);
		thread_state = 4;
		return NULL;
	}
	thread_state = 3;
	return NULL;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	stack_t ss, got;
	pthread_t thr;

	test_init(argc, argv);
	ss.ss_sp = alt;
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL))
		fail("sigaltstack: %m");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction: %m");
	kill(getpid(), SIGUSR1);
	if (hits != 1 || !on_alt())
		fail("the handler did not run on the alternate stack before the dump");
	if (pthread_create(&thr, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (thread_state == 0)
		usleep(1000);
	if (thread_state != 1)
		fail("%s", thread_err);

	test_ready();
	test_waitsig();

	if (sigaltstack(NULL, &got))
		fail("sigaltstack query: %m");
	if (got.ss_sp != (void *)alt || got.ss_size != ALT_SIZE || got.ss_flags != 0)
		fail("the alternate stack is %p/%zu/%#x, was %p/%d/0", got.ss_sp, got.ss_size,
		     got.ss_flags, (void *)alt, ALT_SIZE);
	handler_sp = 0;
	kill(getpid(), SIGUSR1);
	if (hits != 2)
		fail("the SIGUSR1 handler did not run after restore");
	if (!on_alt())
		fail("the handler ran at sp %#lx, not on the alternate stack",
		     (unsigned long)handler_sp);
	thread_state = 2;
	pthread_join(thr, NULL);
	if (thread_state != 3)
		fail("%s", thread_err);
	pass();
}
