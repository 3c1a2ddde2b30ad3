/*
 * POSIX timers survive with their ids, clocks, signals, values and intervals: a periodic
 * CLOCK_MONOTONIC timer with a signal and a sigev_value keeps firing after restore (the handler
 * sees the same timer id and value), a periodic CLOCK_REALTIME timer aimed at this thread
 * (SIGEV_THREAD_ID) too, a SIGEV_NONE timer far in the future still counts down, a disarmed one
 * stays disarmed, and a deleted timer's id stays free.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SIGEV_THREAD_ID
#define SIGEV_THREAD_ID	4
#endif

#define SIVAL		0x5eed1234

struct ksigevent {
	union sigval value;
	int signo;
	int notify;
	int tid;
	int pad[11];
};

static volatile sig_atomic_t usr1_hits, usr2_hits, bad_info;
static int id_periodic, id_thread, id_none, id_disarmed, id_deleted;

static void on_timer(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (si->si_code != SI_TIMER)
		bad_info = 1;
	if (sig == SIGUSR1) {
		if (si->si_value.sival_int != SIVAL || si->si_timerid != id_periodic)
			bad_info = 2;
		usr1_hits++;
	} else {
		if (si->si_timerid != id_thread)
			bad_info = 3;
		usr2_hits++;
	}
}

static int make_timer(clockid_t clock, int notify, int sig, int sival)
{
	struct ksigevent sev;
	int id;

	memset(&sev, 0, sizeof(sev));
	sev.notify = notify;
	sev.signo = sig;
	sev.value.sival_int = sival;
	sev.tid = syscall(SYS_gettid);
	if (syscall(SYS_timer_create, clock, &sev, &id))
		fail("timer_create: %m");
	return id;
}

static void arm(int id, long value_ns, long interval_ns)
{
	struct itimerspec its = {
		.it_value = { value_ns / 1000000000L, value_ns % 1000000000L },
		.it_interval = { interval_ns / 1000000000L, interval_ns % 1000000000L },
	};

	if (syscall(SYS_timer_settime, id, 0, &its, NULL))
		fail("timer_settime(%d): %m", id);
}

static void get(int id, struct itimerspec *its)
{
	if (syscall(SYS_timer_gettime, id, its))
		fail("timer_gettime(%d) after restore: %m", id);
}

/* Wait (up to a generous bound, no timing claim) until @hits grew by @n. */
static int grows(volatile sig_atomic_t *hits, int n)
{
	int start = *hits, i;

	for (i = 0; i < 5000 && *hits < start + n; i++)
		usleep(1000);
	return *hits >= start + n;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	struct itimerspec its;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_timer;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	id_periodic = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, SIVAL);
	id_deleted = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 0);
	id_thread = make_timer(CLOCK_REALTIME, SIGEV_THREAD_ID | SIGEV_SIGNAL, SIGUSR2, 0);
	id_none = make_timer(CLOCK_BOOTTIME, SIGEV_NONE, 0, 0);
	id_disarmed = make_timer(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGUSR1, 0);
	if (syscall(SYS_timer_delete, id_deleted))
		fail("timer_delete: %m");
	arm(id_periodic, 10000000, 10000000);		/* 10 ms */
	arm(id_thread, 20000000, 20000000);		/* 20 ms */
	arm(id_none, 1000 * 1000000000L, 0);		/* 1000 s */
	if (!grows(&usr1_hits, 3) || !grows(&usr2_hits, 2))
		fail("the timers do not fire before the dump");

	test_ready();
	test_waitsig();

	if (bad_info)
		fail("a timer signal came with the wrong siginfo (%d)", (int)bad_info);
	get(id_periodic, &its);
	if (its.it_interval.tv_sec != 0 || its.it_interval.tv_nsec != 10000000)
		fail("the periodic timer's interval is %ld.%09ld", (long)its.it_interval.tv_sec,
		     its.it_interval.tv_nsec);
	get(id_thread, &its);
	if (its.it_interval.tv_sec != 0 || its.it_interval.tv_nsec != 20000000)
		fail("the thread timer's interval is %ld.%09ld", (long)its.it_interval.tv_sec,
		     its.it_interval.tv_nsec);
	get(id_none, &its);
	if (its.it_value.tv_sec <= 0 || its.it_value.tv_sec > 1000 || its.it_interval.tv_sec)
		fail("the SIGEV_NONE timer has %ld s left", (long)its.it_value.tv_sec);
	get(id_disarmed, &its);
	if (its.it_value.tv_sec || its.it_value.tv_nsec)
		fail("the disarmed timer is armed");
	if (syscall(SYS_timer_gettime, id_deleted, &its) == 0 || errno != EINVAL)
		fail("the deleted timer id %d exists after restore", id_deleted);
	if (!grows(&usr1_hits, 5))
		fail("the periodic timer does not fire after restore");
	if (!grows(&usr2_hits, 3))
		fail("the thread timer does not fire after restore");
	if (bad_info)
		fail("a timer signal came with the wrong siginfo (%d)", (int)bad_info);
	pass();
}
