/*
 * A task asleep in a syscall at dump time is interrupted by a signal after restore, as it would
 * have been without the dump: read() from an empty pipe, SIGTERM's handler without SA_RESTART,
 * so read() must return -1 with EINTR once the handler ran, not start over and sleep again.
 * A second thread sleeps in pause() with SIGTERM blocked, and must still be asleep in it.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile pid_t sleeper_tid;

static void *sleeper(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sleeper_tid = gettid();
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	char c, path[64], state[256] = "";
	ssize_t n;
	int p[2], err;
	FILE *f;

	test_init(argc, argv);
	if (pipe(p))
		fail("pipe: %m");
	if (pthread_create(&th, NULL, sleeper, NULL))
		fail("pthread_create failed");
	while (!sleeper_tid)
		usleep(1000);
	test_ready();
	n = read(p[0], &c, 1);
	err = errno;
	if (n != -1 || err != EINTR)
		fail("read() returned %zd (%s), want -1 EINTR", n, n < 0 ? strerror(err) : "no error");
	if (!test_sig_flag)
		fail("read() returned EINTR before SIGTERM's handler ran");
	/* the other thread: still in pause(), not woken by what woke us */
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)sleeper_tid);
	f = fopen(path, "r");
	if (!f)
		fail("%s: %m", path);
	if (!fgets(state, sizeof(state), f))
		state[0] = '\0';
	fclose(f);
	if (strncmp(state, "34 ", 3))	/* __NR_pause */
		fail("the sleeping thread is not in pause(): syscall file says '%s'", state);
	pass();
}
