/*
 * Unix sockets whose ends are spread over a tree of five tasks: the root R, its children C1,
 * C2, C3 and C1's child G.
 *
 *   s  seqpacket pair: s[0] is one description held by R, C1 and G (inherited), s[1] by C2.
 *      R, C1, G each queued one message to C2, R a fourth carrying (SCM_RIGHTS) q[0], a stream
 *      socket whose peer q[1] is held by C3 (C3 queued a message to q[0], now in flight;
 *      R keeps q[0] open as well, as criu refuses a socket in flight that no task holds).
 *   d  datagram pair between the grandchild G (d[1]) and its grandparent R (d[0]).
 *   L  listener held by C2; C3 connected two sockets to it: C2 accepted the first and passed
 *      the accepted socket to R (SCM_RIGHTS, then closed it); the second is still in the
 *      backlog, with data queued on it.
 *   b  datagram socket of C1 bound to an abstract name; G's datagram socket is connected to it
 *      and queued two messages.
 *
 * After restore each task checks its part from the inside and sends more on each connection
 * (the other end must get it); R also checks with kcmp() that s[0] is still one open file in
 * R, C1 and G. Exit codes travel up to R.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

static int s[2], d[2], x[2], q[2], rdy[2], L = -1;
static struct sockaddr_un lname, bname;
static socklen_t llen, blen;

static int sendstr(int sk, const char *m)
{
	return send(sk, m, strlen(m), 0) == (ssize_t)strlen(m) ? 0 : -1;
}

/* Receive one message; 0 if it is @want. */
static int expect(int sk, const char *want, int flags)
{
	char buf[256];
	ssize_t n = recv(sk, buf, sizeof(buf) - 1, flags);

	if (n < 0) {
		test_msg("pid %d: recv, expecting '%s': %m", getpid(), want);
		return -1;
	}
	buf[n] = '\0';
	if (strcmp(buf, want)) {
		test_msg("pid %d: got '%s', expected '%s'", getpid(), buf, want);
		return -1;
	}
	return 0;
}

static int send_fd(int sk, const char *m, int fd)
{
	return test_send_fds(sk, m, strlen(m), &fd, 1);
}

/* Receive a message that must be @want with one fd; returns the fd or -1. */
static int recv_fd(int sk, const char *want)
{
	char buf[256];
	int fd = -1, n = 0;
	ssize_t len = test_recv_fds(sk, buf, sizeof(buf) - 1, &fd, 1, &n, 0);

	if (len < 0)
		return -1;
	buf[len] = '\0';
	if (strcmp(buf, want) || n != 1) {
		test_msg("pid %d: got '%s' %s, expected '%s' with an fd", getpid(), buf,
			 n ? "with an fd" : "without an fd", want);
		return -1;
	}
	return fd;
}

static void ready(void)
{
	if (write(rdy[1], "r", 1) != 1)
		_exit(2);
}

static void run_g(void)
{
	int g = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);

	close(d[0]);
	if (g < 0 || connect(g, (struct sockaddr *)&bname, blen))
		_exit(3);
	if (sendstr(s[0], "from G") || sendstr(g, "dgram 1") || sendstr(g, "dgram 2") ||
	    sendstr(d[1], "G to R"))
		_exit(3);
	ready();
	test_waitsig();
	if (getpeername(g, (struct sockaddr *)&peer, &plen) || plen != blen ||
	    memcmp(&peer, &bname, blen))
		_exit(4);
	if (sendstr(g, "dgram 3"))
		_exit(5);
	if (sendstr(d[1], "G after restore"))
		_exit(6);
	_exit(0);
}

static void run_c1(void)
{
	int b = socket(AF_UNIX, SOCK_DGRAM, 0), status;
	pid_t g;

	close(s[1]);
	close(q[0]);
	close(q[1]);
	close(x[0]);
	close(x[1]);
	close(L);
	if (b < 0 || bind(b, (struct sockaddr *)&bname, blen))
		_exit(3);
	if (sendstr(s[0], "from C1"))
		_exit(3);
	g = fork();
	if (g < 0)
		_exit(3);
	if (g == 0) {
		close(b);
		run_g();
	}
	close(d[0]);
	close(d[1]);
	ready();
	test_waitsig();
	kill(g, SIGTERM);
	if (expect(b, "dgram 1", 0) || expect(b, "dgram 2", 0))
		_exit(10);
	status = test_reap(g);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? 40 + WEXITSTATUS(status) : 39);
	if (expect(b, "dgram 3", MSG_DONTWAIT))
		_exit(11);
	_exit(0);
}

static void run_c3(void)
{
	int c = socket(AF_UNIX, SOCK_STREAM, 0), c2 = socket(AF_UNIX, SOCK_STREAM, 0);

	close(s[0]);
	close(s[1]);
	close(d[0]);
	close(x[0]);
	close(x[1]);
	close(q[0]);
	close(L);
	if (c < 0 || c2 < 0 || connect(c, (struct sockaddr *)&lname, llen))
		_exit(3);
	if (sendstr(c, "hello over conn"))
		_exit(3);
	/* the second connection only once the first is accepted (same backlog order) */
	if (expect(c, "accepted", 0))
		_exit(3);
	if (connect(c2, (struct sockaddr *)&lname, llen) || sendstr(c2, "queued conn") ||
	    sendstr(q[1], "via q"))
		_exit(3);
	ready();
	test_waitsig();
	if (expect(q[1], "q back", 0))
		_exit(12);
	if (expect(c, "reply on A", 0))
		_exit(13);
	if (expect(c2, "accepted late", 0))
		_exit(14);
	_exit(0);
}

static void run_c2(void)
{
	int a, q0, late;

	close(s[0]);
	close(d[0]);
	close(x[0]);
	close(q[0]);
	close(q[1]);
	a = accept(L, NULL, NULL);
	if (a < 0 || sendstr(a, "accepted") || send_fd(x[1], "the accepted one", a))
		_exit(3);
	close(a);
	ready();
	test_waitsig();
	if (expect(s[1], "from R", 0) || expect(s[1], "from C1", 0) || expect(s[1], "from G", 0))
		_exit(20);
	q0 = recv_fd(s[1], "R with fd");
	if (q0 < 0)
		_exit(21);
	if (expect(q0, "via q", 0) || sendstr(q0, "q back"))
		_exit(22);
	late = accept(L, NULL, NULL);
	if (late < 0 || expect(late, "queued conn", 0) || sendstr(late, "accepted late"))
		_exit(23);
	if (sendstr(s[1], "ack from C2"))
		_exit(24);
	_exit(0);
}

static pid_t child(void (*fn)(void))
{
	pid_t pid = fork();
	char c;

	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(rdy[0]);
		fn();
	}
	if (read(rdy[0], &c, 1) != 1)
		fail("a child failed to set up (exit status %#x)", test_reap(pid));
	return pid;
}

static int kcmp_file(pid_t a, pid_t b, int fa, int fb)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILE, fa, fb);
}

int main(int argc, char **argv)
{
	pid_t c1, c2, c3, g = 0, me;
	int a, status, i;
	char path[64], c;
	FILE *f;

	test_init(argc, argv);
	me = getpid();
	lname.sun_family = bname.sun_family = AF_UNIX;
	llen = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(lname.sun_path + 1, sizeof(lname.sun_path) - 1, "zdtm-xt-l-%d", me);
	blen = offsetof(struct sockaddr_un, sun_path) + 1 +
	       snprintf(bname.sun_path + 1, sizeof(bname.sun_path) - 1, "zdtm-xt-b-%d", me);
	L = socket(AF_UNIX, SOCK_STREAM, 0);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s) || socketpair(AF_UNIX, SOCK_DGRAM, 0, d) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, x) || socketpair(AF_UNIX, SOCK_STREAM, 0, q) ||
	    pipe(rdy) || L < 0 || bind(L, (struct sockaddr *)&lname, llen) || listen(L, 8))
		fail("setup: %m");
	if (sendstr(s[0], "from R"))
		fail("send: %m");
	c1 = child(run_c1);
	if (read(rdy[0], &c, 1) != 1)	/* G */
		fail("G failed to set up");
	close(d[1]);
	/* C3 waits for "accepted" before its second connection: both, then their ready bytes */
	c3 = fork();
	if (c3 < 0)
		fail("fork: %m");
	if (c3 == 0) {
		close(rdy[0]);
		run_c3();
	}
	c2 = fork();
	if (c2 < 0)
		fail("fork: %m");
	if (c2 == 0) {
		close(rdy[0]);
		run_c2();
	}
	for (i = 0; i < 2; i++)
		if (read(rdy[0], &c, 1) != 1)
			fail("C2 or C3 failed to set up");
	a = recv_fd(x[0], "the accepted one");
	if (a < 0)
		fail("no accepted socket from C2");
	close(x[0]);
	close(x[1]);
	close(L);
	close(s[1]);
	close(q[1]);
	/* R keeps q[0] open too: a socket in flight that no task holds is refused at dump */
	if (send_fd(s[0], "R with fd", q[0]))
		fail("sendmsg: %m");
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", c1, c1);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%d", &g) != 1)
		fail("cannot find G");
	fclose(f);

	test_ready();
	test_waitsig();

	/* before the children go on (G may be gone by the time C1 forwarded SIGTERM) */
	if (kcmp_file(me, c1, s[0], s[0]) || kcmp_file(me, g, s[0], s[0]))
		fail("s[0] is no longer one open file in R, C1 and G (kcmp: %d, %d)",
		     kcmp_file(me, c1, s[0], s[0]), kcmp_file(me, g, s[0], s[0]));
	kill(c1, SIGTERM);
	kill(c2, SIGTERM);
	kill(c3, SIGTERM);
	if (expect(d[0], "G to R", 0))
		fail("the datagram from the grandchild G is lost");
	if (expect(a, "hello over conn", 0) || sendstr(a, "reply on A"))
		fail("the accepted socket passed from C2 lost its data or its peer in C3");
	if (expect(s[0], "ack from C2", 0))
		fail("no answer from C2 on s");
	status = test_reap(c1);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("C1 failed: %#x (10/11: datagrams from G before/after restore, 40+N: G "
		     "failed with N: 4 peer name, 5/6 send)", status);
	if (expect(d[0], "G after restore", MSG_DONTWAIT))
		fail("G's datagram sent after restore is not here");
	status = test_reap(c2);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("C2 failed: %#x (20: messages on s, 21: no q[0] in flight, 22: q[0] lost "
		     "its data or peer, 23: the queued connection, 24: answer)", status);
	status = test_reap(c3);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("C3 failed: %#x (12: q[1], 13: its accepted connection, 14: the queued "
		     "one)", status);
	pass();
}
