/*
 * Interval timers survive: ITIMER_REAL and ITIMER_VIRTUAL armed with long intervals. After
 * restore both are still armed with the same interval and no more time left than before the
 * dump, and a short ITIMER_REAL fires its SIGALRM handler.
 */
#include "zdtmtst.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/time.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static long long usec(const struct timeval *tv)
{
	return tv->tv_sec * 1000000LL + tv->tv_usec;
}

int main(int argc, char **argv)
{
	struct itimerval real = { { 1000, 0 }, { 1000, 0 } }, virt = { { 500, 0 }, { 500, 0 } };
	struct itimerval r1, v1, r2, v2, shortt = { { 0, 0 }, { 0, 20000 } };

	test_init(argc, argv);
	signal(SIGALRM, on_alarm);
	if (setitimer(ITIMER_REAL, &real, NULL) || setitimer(ITIMER_VIRTUAL, &virt, NULL))
		fail("setitimer: %m");
	getitimer(ITIMER_REAL, &r1);
	getitimer(ITIMER_VIRTUAL, &v1);

	test_ready();
	test_waitsig();

	getitimer(ITIMER_REAL, &r2);
	getitimer(ITIMER_VIRTUAL, &v2);
	if (usec(&r2.it_interval) != usec(&real.it_interval))
		fail("ITIMER_REAL interval is %lld us", usec(&r2.it_interval));
	if (usec(&v2.it_interval) != usec(&virt.it_interval))
		fail("ITIMER_VIRTUAL interval is %lld us", usec(&v2.it_interval));
	if (!usec(&r2.it_value) || usec(&r2.it_value) > usec(&r1.it_value))
		fail("ITIMER_REAL has %lld us left, had %lld", usec(&r2.it_value),
		     usec(&r1.it_value));
	if (!usec(&v2.it_value) || usec(&v2.it_value) > usec(&v1.it_value))
		fail("ITIMER_VIRTUAL has %lld us left, had %lld", usec(&v2.it_value),
		     usec(&v1.it_value));
	if (alarms)
		fail("SIGALRM arrived early");
	setitimer(ITIMER_REAL, &shortt, NULL);
	for (int i = 0; i < 200 && !alarms; i++)
		usleep(10000);
	if (alarms != 1)
		fail("the short ITIMER_REAL did not fire (%d alarms)", (int)alarms);
	pass();
}
