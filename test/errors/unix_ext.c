/*
 * Error-case target (test/errors/cases.py): a zdtm-protocol program holding a unix socket of
 * TYPE (stream or dgram) connected to PATH, a socket of the runner's, outside the dumped tree.
 * It publishes a count in <dir>/counter every 10 ms (the runner sees it keeps running). After
 * SIGTERM it sends "alive" through the socket: the runner checks it arrives.
 *
 *   unix_ext PATH stream|dgram
 *   unix_ext - across       a socketpair split between it and a child (which it kills at
 *                           the end); "alive" goes through the pair
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/un.h>

static void publish(const char *path, unsigned long n)
{
	char buf[32];
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%lu\n", n);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (pwrite(fd, buf, len, 0) != len)
		test_msg("cannot write '%s': %m", path);
	close(fd);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10000000 };
	char counter_path[PATH_MAX], **args;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	unsigned long count = 0;
	int sk, nargs, sv[2], status;
	pid_t child = 0;

	nargs = test_init_args(argc, argv, &args);
	if (nargs != 2 || (strcmp(args[1], "stream") && strcmp(args[1], "dgram") &&
			   strcmp(args[1], "across")))
		fail("usage: unix_ext PATH stream|dgram|across");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", args[0]);
	if (!strcmp(args[1], "across")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			fail("socketpair: %m");
		child = fork();
		if (child < 0)
			fail("fork: %m");
		if (child == 0) {
			close(sv[0]);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
		close(sv[1]);
		sk = sv[0];
	} else {
		sk = socket(AF_UNIX, strcmp(args[1], "stream") ? SOCK_DGRAM : SOCK_STREAM, 0);
		if (sk < 0 || connect(sk, (struct sockaddr *)&a, sizeof(a)))
			fail("connect to '%s': %m", args[0]);
	}

	publish(counter_path, count);
	test_ready();
	while (!test_sig_flag) {
		publish(counter_path, ++count);
		nanosleep(&ts, NULL);
	}
	if (send(sk, "alive", 5, 0) != 5)
		fail("the socket no longer works: %m");
	if (child > 0) {
		if (waitpid(child, &status, WNOHANG) != 0)
			fail("the child is gone");
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	unlink(counter_path);
	pass();
}
