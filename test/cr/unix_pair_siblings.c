/*
 * A socketpair between two siblings: the parent made it, forked two workers, gave each one end
 * and closed both (so the first task of the tree holding an end is a child, and the other end
 * goes from one child to the other on restore). A seqpacket pair, messages waiting both ways.
 * After restore each worker, woken through a pipe, gets its messages in order and answers; the
 * parent collects the workers' verdicts.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int sv[2], go[2], ready[2];

static int worker(int me)
{
	char want[32], got[32], c;
	int sk = sv[me], i;
	ssize_t n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(sv[!me]);
	close(go[1]);
	close(ready[0]);
	for (i = 0; i < 3; i++) {
		snprintf(want, sizeof(want), "worker %d message %d", me, i);
		if (send(sk, want, strlen(want), 0) != (ssize_t)strlen(want))
			return 2;
	}
	if (write(ready[1], "r", 1) != 1)
		return 3;
	if (read(go[0], &c, 1) != 1)
		return 4;
	snprintf(got, sizeof(got), "worker %d after", me);
	if (send(sk, got, strlen(got), 0) != (ssize_t)strlen(got))
		return 5;
	for (i = 0; i <= 3; i++) {
		if (i < 3)
			snprintf(want, sizeof(want), "worker %d message %d", !me, i);
		else
			snprintf(want, sizeof(want), "worker %d after", !me);
		n = recv(sk, got, sizeof(got), 0);
		if (n != (ssize_t)strlen(want) || memcmp(got, want, n))
			return 10 + i;
	}
	return 0;
}

int main(int argc, char **argv)
{
	pid_t pid[2];
	int i, status;
	char c;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) || pipe(go) || pipe(ready))
		fail("setup: %m");
	for (i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			fail("fork: %m");
		if (pid[i] == 0)
			_exit(worker(i));
	}
	close(sv[0]);
	close(sv[1]);
	close(go[0]);
	close(ready[1]);
	for (i = 0; i < 2; i++)
		if (read(ready[0], &c, 1) != 1)
			fail("a worker did not start");

	test_ready();
	test_waitsig();

	if (write(go[1], "gg", 2) != 2)
		fail("cannot wake the workers: %m");
	for (i = 0; i < 2; i++)
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail("worker %d failed its checks (status %#x)", i, status);
	pass();
}
