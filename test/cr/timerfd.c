/*
 * timerfd: a periodic timer keeps firing, a long one-shot timer keeps its deadline (never
 * later than it was: time left only shrinks), an expired one keeps its unread expiration, an
 * absolute CLOCK_REALTIME timer stays absolute, a disarmed one stays disarmed.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>

int main(int argc, char **argv)
{
	struct itimerspec per = { { 0, 50 * 1000 * 1000 }, { 0, 50 * 1000 * 1000 } };
	struct itimerspec once = { { 0, 0 }, { 3600, 0 } };
	struct itimerspec now1 = { { 0, 0 }, { 0, 1000 } };
	struct itimerspec left, abs_set = { { 0, 0 }, { 0, 0 } }, got;
	struct timespec t0;
	int p, o, x, r, d;
	uint64_t ticks;

	test_init(argc, argv);
	p = timerfd_create(CLOCK_MONOTONIC, 0);
	o = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
	x = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	r = timerfd_create(CLOCK_REALTIME, 0);
	d = timerfd_create(CLOCK_MONOTONIC, 0);
	if (p < 0 || o < 0 || x < 0 || r < 0 || d < 0)
		fail("timerfd_create: %m");
	clock_gettime(CLOCK_REALTIME, &t0);
	abs_set.it_value.tv_sec = t0.tv_sec + 7200;
	if (timerfd_settime(p, 0, &per, NULL) || timerfd_settime(o, 0, &once, NULL) ||
	    timerfd_settime(x, 0, &now1, NULL) ||
	    timerfd_settime(r, TFD_TIMER_ABSTIME, &abs_set, NULL))
		fail("timerfd_settime: %m");
	while (timerfd_gettime(x, &left) == 0 && (left.it_value.tv_sec || left.it_value.tv_nsec))
		usleep(1000);

	test_ready();
	test_waitsig();

	/* the periodic timer fires again (read blocks until it does) */
	if (read(p, &ticks, 8) != 8 || ticks < 1)
		fail("periodic timer: read %llu ticks (%m)", (unsigned long long)ticks);
	if (timerfd_gettime(p, &got) || got.it_interval.tv_nsec != per.it_interval.tv_nsec)
		fail("periodic timer lost its interval");
	/* the one-shot: armed, never more time left than it had */
	if (timerfd_gettime(o, &got) || (!got.it_value.tv_sec && !got.it_value.tv_nsec) ||
	    got.it_value.tv_sec >= 3600 || got.it_interval.tv_sec)
		fail("one-shot timer: %lld s left, expected just under 3600",
		     (long long)got.it_value.tv_sec);
	if (read(o, &ticks, 8) != -1 || errno != EAGAIN)
		fail("the one-shot timer fired early");
	/* the expired one: its expiration is still there to read, exactly one */
	if (read(x, &ticks, 8) != 8 || ticks != 1)
		fail("expired timer: %llu ticks, expected 1", (unsigned long long)ticks);
	/* the absolute one still expires at the same wall-clock time (within a minute) */
	clock_gettime(CLOCK_REALTIME, &t0);
	if (timerfd_gettime(r, &got))
		fail("timerfd_gettime: %m");
	if (llabs((long long)(t0.tv_sec + got.it_value.tv_sec) - abs_set.it_value.tv_sec) > 60)
		fail("absolute timer moved: expires at %lld, was %lld",
		     (long long)(t0.tv_sec + got.it_value.tv_sec),
		     (long long)abs_set.it_value.tv_sec);
	if (timerfd_gettime(d, &got) || got.it_value.tv_sec || got.it_value.tv_nsec)
		fail("the disarmed timer got armed");
	pass();
}
