/*
 * A target for test/errors/creds.py: a second thread that changed
 * its own uid with a raw setresuid (credentials are per thread; glibc would change all). The
 * dump must refuse it; after SIGTERM the thread still has its uid and the main thread its own.
 */
#include "zdtmtst.h"

#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile int state;	/* 1: uid changed, 2: check now, 3: fine, 4: wrong */

static void *thread_fn(void *arg)
{
	(void)arg;
	if (syscall(SYS_setresuid, 1000, 1000, 1000)) {
		state = 4;
		return NULL;
	}
	state = 1;
	while (state != 2)
		usleep(1000);
	state = getuid() == 1000 && geteuid() == 1000 ? 3 : 4;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	test_init(argc, argv);
	if (getuid() != 0)
		skip("needs root");
	if (pthread_create(&t, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (state == 0)
		usleep(1000);
	if (state != 1)
		fail("the thread cannot change its uid");

	test_ready();
	test_waitsig();

	state = 2;
	pthread_join(t, NULL);
	if (state != 3)
		fail("the thread's uid changed");
	if (getuid() != 0)
		fail("the main thread's uid changed");
	pass();
}
