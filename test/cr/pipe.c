/*
 * Pipes: queued bytes survive without being consumed by the dump, the capacity (F_SETPIPE_SZ),
 * O_NONBLOCK, a dup sharing one end, a pipe whose write end was closed (reader sees the data,
 * then EOF), one whose read end was closed (writer gets EPIPE), an empty pipe still
 * connecting its two ends, and an empty packet-mode (O_DIRECT) pipe still in packet mode.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BIG_SIZE	(256 * 1024)
#define BIG_DATA	(200 * 1000)
#define DUP_FD		300

static char big[BIG_DATA], got[BIG_DATA];

static void read_all(int fd, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n <= 0)
			fail("read of fd %d: %zd after %zu of %zu bytes: %m", fd, n, off, len);
		off += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int a[2], b[2], c[2], e[2], pk[2], sz;
	char small[16];
	ssize_t n;

	test_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	test_fill(big, sizeof(big), 42);
	if (pipe(a) || pipe(b) || pipe(c) || pipe(e) || pipe2(pk, O_DIRECT))
		fail("pipe: %m");
	if (fcntl(a[1], F_SETPIPE_SZ, BIG_SIZE) < 0)
		fail("F_SETPIPE_SZ: %m");
	if (write(a[1], big, sizeof(big)) != sizeof(big))
		fail("cannot fill pipe a: %m");
	if (fcntl(a[0], F_SETFL, O_NONBLOCK) < 0 || dup2(a[0], DUP_FD) != DUP_FD)
		fail("fcntl/dup2: %m");
	if (write(b[1], "only-reader", 11) != 11)
		fail("write b: %m");
	close(b[1]);
	close(c[0]);

	test_ready();
	test_waitsig();

	sz = fcntl(a[0], F_GETPIPE_SZ);
	if (sz != BIG_SIZE)
		fail("pipe a has %d bytes of capacity, expected %d", sz, BIG_SIZE);
	if (!(fcntl(DUP_FD, F_GETFL) & O_NONBLOCK))
		fail("the dup of a's read end lost O_NONBLOCK");
	if (fcntl(a[1], F_GETFL) & O_NONBLOCK)
		fail("a's write end got O_NONBLOCK");
	read_all(DUP_FD, got, sizeof(got));
	if (memcmp(big, got, sizeof(big)))
		fail("the data of pipe a differs after restore");
	n = read(a[0], small, sizeof(small));
	if (n != -1 || errno != EAGAIN)
		fail("pipe a should be empty and non-blocking: read gave %zd (%m)", n);
	if (write(a[1], "x", 1) != 1 || read(a[0], small, 1) != 1 || small[0] != 'x')
		fail("pipe a's ends are no longer connected");

	n = read(b[0], small, sizeof(small));
	if (n != 11 || memcmp(small, "only-reader", 11))
		fail("pipe b: read %zd bytes, expected its 11", n);
	n = read(b[0], small, sizeof(small));
	if (n != 0)
		fail("pipe b has a writer again: read gave %zd", n);

	n = write(c[1], "x", 1);
	if (n != -1 || errno != EPIPE)
		fail("pipe c has a reader again: write gave %zd (%m)", n);

	if (write(e[1], "ping", 4) != 4 || read(e[0], small, 4) != 4 || memcmp(small, "ping", 4))
		fail("pipe e's ends are no longer connected");

	if (!(fcntl(pk[1], F_GETFL) & O_DIRECT))
		fail("the packet-mode pipe lost O_DIRECT");
	if (write(pk[1], "abc", 3) != 3 || write(pk[1], "de", 2) != 2 ||
	    read(pk[0], small, sizeof(small)) != 3 || read(pk[0], small, sizeof(small)) != 2)
		fail("the packet-mode pipe does not keep packets apart");
	pass();
}
