/*
 * A relative sleep interrupted by the dump sleeps, after restore, only for the time it had left:
 * two threads sleep 2 s, one in nanosleep() and one in clock_nanosleep() (relative, with a rem
 * argument); we are ready for the dump 1 s later, and the main thread sleeps 2 s in nanosleep()
 * (SIGTERM blocked there: a waiter thread takes it; the main thread is the one criu runs
 * remote syscalls in before it reads the registers). Each must wake up 2 s after it went to
 * sleep (give or take the scheduling), not 2 s after the restore, and with 0, not EINTR; three
 * dump/restore cycles (the second and third dump a sleeper the restore let go).
 */
#include "zdtmtst.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_NS	2000000000LL
#define SLACK_NS	 600000000LL	/* the restore takes ~1 s after the start, at the least */

struct sleeper {
	pthread_t th;
	bool clock;
	long long start, end;
	int ret;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	struct timespec req = { SLEEP_NS / 1000000000LL, SLEEP_NS % 1000000000LL }, rem;

	s->start = now_ns();
	if (s->clock)
		s->ret = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
	else
		s->ret = nanosleep(&req, &rem) ? errno : 0;
	s->end = now_ns();
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	test_waitsig();
	return NULL;
}

int main(int argc, char **argv)
{
	struct sleeper s[3] = { { .clock = false }, { .clock = true }, { .clock = false } };
	const char *name[3] = { "nanosleep", "clock_nanosleep", "the main thread's nanosleep" };
	pthread_t w;
	sigset_t term;
	int i;

	test_init(argc, argv);
	/* SIGTERM goes to the waiter: the main thread sleeps too */
	if (pthread_create(&w, NULL, waiter, NULL))
		fail("pthread_create failed");
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	for (i = 0; i < 2; i++)
		if (pthread_create(&s[i].th, NULL, sleeper, &s[i]))
			fail("pthread_create failed");
	usleep(1000000);
	test_ready();
	sleeper(&s[2]);
	pthread_join(w, NULL);
	for (i = 0; i < 3; i++) {
		if (i < 2)
			pthread_join(s[i].th, NULL);
		if (s[i].ret)
			fail("%s returned %s", name[i], strerror(s[i].ret));
		if (s[i].end - s[i].start < SLEEP_NS)
			fail("%s slept %lld ms of 2000", name[i], (s[i].end - s[i].start) / 1000000);
		if (s[i].end - s[i].start > SLEEP_NS + SLACK_NS)
			fail("%s slept %lld ms, not 2000: it started over after restore", name[i],
			     (s[i].end - s[i].start) / 1000000);
	}
	pass();
}
