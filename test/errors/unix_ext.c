/*
 * Error-case target (test/errors/cases.py): a zdtm-protocol program holding a unix socket of
 * TYPE (stream or dgram) connected to PATH, a socket of the runner's, outside the dumped tree.
 * It publishes a count in <dir>/counter every 10 ms (the runner sees it keeps running). After
 * SIGTERM it sends "alive" through the socket: the runner checks it arrives.
 *
 *   unix_ext PATH stream|dgram
 *   unix_ext - inflight     a socketpair whose second end it sent through another pair
 *                           (SCM_RIGHTS) and closed: only the queued message holds it. After
 *                           SIGTERM it receives that end and sends "alive" through the pair.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>
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
	char counter_path[PATH_MAX], **args, buf[8] = "";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	unsigned long count = 0;
	int sk, nargs, sv[2], cv[2] = { -1, -1 }, peer = -1, n = 0;
	bool inflight;

	nargs = test_init_args(argc, argv, &args);
	if (nargs != 2 || (strcmp(args[1], "stream") && strcmp(args[1], "dgram") &&
			   strcmp(args[1], "inflight")))
		fail("usage: unix_ext PATH stream|dgram|inflight");
	inflight = !strcmp(args[1], "inflight");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", args[0]);
	if (inflight) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || socketpair(AF_UNIX, SOCK_DGRAM, 0, cv))
			fail("socketpair: %m");
		if (test_send_fds(cv[0], "f", 1, &sv[1], 1))
			fail("sendmsg(SCM_RIGHTS): %m");
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
	if (inflight) {
		if (test_recv_fds(cv[1], buf, 1, &peer, 1, &n, 0) != 1 || n != 1)
			fail("the end in flight did not come through: %m");
		if (read(peer, buf, sizeof(buf) - 1) != 5 || strcmp(buf, "alive"))
			fail("the end in flight got '%s', expected 'alive'", buf);
	}
	unlink(counter_path);
	pass();
}
