/*
 * Zombies come back as zombies with their exit status. The root has three zombie children
 * (exit 3, exit 7, killed by SIGUSR2) and a live child that has a zombie child of its own
 * (exit 5). They are zombies at dump time (waitid with WNOWAIT, nothing reaped). After restore
 * each parent reaps its zombies by pid and checks the status it gets.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#define NR_ZOMBIES	3


/* Reap @pid; 0 if its wait status is @want. */
static int reap(pid_t pid, int want, int *got)
{
	while (waitpid(pid, got, 0) < 0)
		if (errno != EINTR)
			return -1;
	return *got == want ? 0 : -1;
}

static pid_t make_zombie(int how)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (how < 0)
			raise(-how);
		_exit(how);
	}
	if (pid > 0 && test_wait_zombie(pid))
		return -1;
	return pid;
}

static void middle(int ready_fd)
{
	pid_t z = make_zombie(5);
	int got;

	if (z < 0 || write(ready_fd, "r", 1) != 1)
		_exit(3);
	close(ready_fd);
	while (!test_sig_flag)
		pause();
	_exit(reap(z, 5 << 8, &got) ? 2 : 0);
}

int main(int argc, char **argv)
{
	static const int how[NR_ZOMBIES] = { 3, 7, -SIGUSR2 };
	static const int want[NR_ZOMBIES] = { 3 << 8, 7 << 8, SIGUSR2 };
	pid_t z[NR_ZOMBIES], mid;
	int pfd[2], i, got;
	char c;

	test_init(argc, argv);
	if (pipe(pfd))
		fail("pipe: %m");
	mid = fork();
	if (mid < 0)
		fail("fork: %m");
	if (mid == 0) {
		close(pfd[0]);
		middle(pfd[1]);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1)
		fail("the middle child did not start");
	close(pfd[0]);
	for (i = 0; i < NR_ZOMBIES; i++) {
		z[i] = make_zombie(how[i]);
		if (z[i] < 0)
			fail("cannot make zombie %d: %m", i);
	}

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_ZOMBIES; i++)
		if (reap(z[i], want[i], &got))
			fail("zombie %d (pid %d): wait status %#x, want %#x", i, z[i], got, want[i]);
	kill(mid, SIGTERM);
	if (reap(mid, 0, &got))
		fail("the middle child failed its check (status %#x: exit 2 is its zombie's status)",
		     got);
	pass();
}
