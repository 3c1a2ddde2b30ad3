/*
 * Zero-length records in the queues of a datagram and a seqpacket socketpair, among others:
 * "first", an empty one, an empty one carrying a pipe's read end (SCM_RIGHTS), "last". After
 * restore each comes out in order with its length (0 for the empty ones), the fd in flight
 * reads what was written into the pipe before the dump (the first record's fd: the second
 * finds the pipe empty), and the queue is empty after "last".
 * No snapshot flavor: a zero-length record peeked once (by the dump) is skipped by every later
 * peek at an offset (the kernel's rule), so a second dump -R cannot see it (see sk-unix.c).
 */
#include "zdtmtst.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static const int types[] = { SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const tnames[] = { "datagram", "seqpacket" };

static bool pipe_read;

static void expect(int sk, const char *name, const char *want, bool with_fd)
{
	char buf[32], pbuf[16];
	int fd = -1, n = 0;
	ssize_t len = test_recv_fds(sk, buf, sizeof(buf) - 1, &fd, 1, &n, MSG_DONTWAIT);

	if (len < 0)
		fail("%s: no message '%s': %m", name, want);
	buf[len] = '\0';
	if (strcmp(buf, want))
		fail("%s: got %zd bytes '%s', expected %zu bytes '%s'", name, len, buf,
		     strlen(want), want);
	if (n != (with_fd ? 1 : 0))
		fail("%s: '%s' came with %d fds, expected %d", name, want, n, with_fd);
	if (!with_fd)
		return;
	if (!pipe_read) {
		len = read(fd, pbuf, sizeof(pbuf) - 1);
		if (len != 9 || memcmp(pbuf, "in a pipe", 9))
			fail("%s: the fd in flight reads %zd bytes, not 'in a pipe'", name, len);
		pipe_read = true;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	int sv[2][2], p[2], i;
	char c;

	test_init(argc, argv);
	if (pipe(p) || write(p[1], "in a pipe", 9) != 9)
		fail("pipe: %m");
	for (i = 0; i < 2; i++) {
		if (socketpair(AF_UNIX, types[i], 0, sv[i]))
			fail("socketpair: %m");
		if (test_send_fds(sv[i][1], "first", 5, NULL, 0) ||
		    test_send_fds(sv[i][1], "", 0, NULL, 0) ||
		    test_send_fds(sv[i][1], "", 0, &p[0], 1) ||
		    test_send_fds(sv[i][1], "last", 4, NULL, 0))
			fail("%s: send: %m", tnames[i]);
	}
	/* p[0] stays open here too: a pipe held only by a message is not supported */

	test_ready();
	test_waitsig();

	for (i = 0; i < 2; i++) {
		expect(sv[i][0], tnames[i], "first", false);
		expect(sv[i][0], tnames[i], "", false);
		expect(sv[i][0], tnames[i], "", true);
		expect(sv[i][0], tnames[i], "last", false);
		if (recv(sv[i][0], &c, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
			fail("%s: more in the queue after 'last'", tnames[i]);
	}
	pass();
}
