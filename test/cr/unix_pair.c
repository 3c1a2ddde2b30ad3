/*
 * Unix socketpairs of the three types (stream, datagram, seqpacket) with data queued in both
 * directions, a half-closed stream pair (shutdown SHUT_WR), a stream whose peer was closed with
 * data still queued, a datagram socket whose peer sent two messages and was closed, socket
 * options (SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, O_NONBLOCK) and
 * SO_PEEK_OFF. After restore each pair is still connected both ways, the queued messages come
 * out in order with their boundaries, and new data goes through.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const tnames[] = { "stream", "dgram", "seqpacket" };

#define NR_MSG	5

static void msg_of(char *buf, size_t len, int type, int dir, int i)
{
	snprintf(buf, len, "%s message %d going %s, %.*s", tnames[type], i,
		 dir ? "right to left" : "left to right", i * 7, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void send_all(int sk, int type, int dir)
{
	char buf[128];
	int i;

	for (i = 0; i < NR_MSG; i++) {
		msg_of(buf, sizeof(buf), type, dir, i);
		if (send(sk, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
			fail("send %s: %m", tnames[type]);
	}
}

static void check_all(int sk, int type, int dir)
{
	char want[NR_MSG * 128], got[NR_MSG * 128];
	size_t wl = 0;
	ssize_t n;
	int i;

	for (i = 0; i < NR_MSG; i++) {
		msg_of(want + wl, sizeof(want) - wl, type, dir, i);
		if (types[type] != SOCK_STREAM) {
			n = recv(sk, got, sizeof(got), MSG_DONTWAIT);
			if (n != (ssize_t)strlen(want + wl) || memcmp(got, want + wl, n))
				fail("%s dir %d message %d: got %zd bytes '%.*s', expected '%s'",
				     tnames[type], dir, i, n, n > 0 ? (int)n : 0, got, want + wl);
		}
		wl += strlen(want + wl);
	}
	if (types[type] == SOCK_STREAM) {
		n = recv(sk, got, sizeof(got), MSG_DONTWAIT | MSG_WAITALL);
		if (n != (ssize_t)wl || memcmp(got, want, wl))
			fail("stream dir %d: got %zd bytes, expected %zu", dir, n, wl);
	}
	if (recv(sk, got, sizeof(got), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("%s dir %d: more data than queued", tnames[type], dir);
}

static void check_link(int a, int b, const char *what)
{
	char buf[16];

	if (send(a, "ping", 4, 0) != 4 || recv(b, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "ping", 4))
		fail("%s: new data does not go through: %m", what);
}

int main(int argc, char **argv)
{
	int sv[3][2], hc[2], orph[2], dorph[2], i, v, snd = 0, rcv = 0, v2;
	socklen_t l = sizeof(v);
	char buf[64];

	test_init(argc, argv);
	for (i = 0; i < 3; i++) {
		if (socketpair(AF_UNIX, types[i], 0, sv[i]))
			fail("socketpair %s: %m", tnames[i]);
		send_all(sv[i][0], i, 0);
		send_all(sv[i][1], i, 1);
	}
	v = 100000;
	if (setsockopt(sv[0][0], SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    setsockopt(sv[0][0], SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)))
		fail("setsockopt: %m");
	v = 1;
	if (setsockopt(sv[1][1], SOL_SOCKET, SO_PASSCRED, &v, sizeof(v)))
		fail("SO_PASSCRED: %m");
	getsockopt(sv[0][0], SOL_SOCKET, SO_SNDBUF, &snd, &l);
	getsockopt(sv[0][0], SOL_SOCKET, SO_RCVBUF, &rcv, &l);
	fcntl(sv[2][1], F_SETFL, O_NONBLOCK);

	/* half-closed: hc[0] wrote then shut its writing side down */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, hc) || send(hc[0], "last words", 10, 0) != 10 ||
	    shutdown(hc[0], SHUT_WR))
		fail("half-closed pair: %m");
	/* orphan: the peer wrote and was closed */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, orph) || send(orph[1], "from the dead", 13, 0) != 13)
		fail("orphan pair: %m");
	close(orph[1]);
	v = 4;
	if (setsockopt(orph[0], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)))
		fail("SO_PEEK_OFF: %m");

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dorph) || send(dorph[1], "dgram 1", 7, 0) != 7 ||
	    send(dorph[1], "dgram two", 9, 0) != 9)
		fail("orphan datagram pair: %m");
	close(dorph[1]);

	test_ready();
	test_waitsig();

	l = sizeof(v);
	if (getsockopt(sv[0][0], SOL_SOCKET, SO_SNDBUF, &v, &l) || v != snd)
		fail("SO_SNDBUF %d, expected %d", v, snd);
	if (getsockopt(sv[0][0], SOL_SOCKET, SO_RCVBUF, &v, &l) || v != rcv)
		fail("SO_RCVBUF %d, expected %d", v, rcv);
	if (getsockopt(sv[1][1], SOL_SOCKET, SO_PASSCRED, &v, &l) || v != 1 ||
	    getsockopt(sv[1][0], SOL_SOCKET, SO_PASSCRED, &v2, &l) || v2 != 0)
		fail("SO_PASSCRED not as it was");
	if (!(fcntl(sv[2][1], F_GETFL) & O_NONBLOCK) || (fcntl(sv[2][0], F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK not as it was");
	for (i = 0; i < 3; i++) {
		l = sizeof(v);
		if (getsockopt(sv[i][0], SOL_SOCKET, SO_TYPE, &v, &l) || v != types[i])
			fail("socket %d has type %d, expected %s", i, v, tnames[i]);
		check_all(sv[i][1], i, 0);
		check_all(sv[i][0], i, 1);
		check_link(sv[i][0], sv[i][1], tnames[i]);
		check_link(sv[i][1], sv[i][0], tnames[i]);
	}

	if (recv(hc[1], buf, sizeof(buf), 0) != 10 || memcmp(buf, "last words", 10))
		fail("half-closed pair: data lost");
	if (recv(hc[1], buf, sizeof(buf), MSG_DONTWAIT) != 0)
		fail("half-closed pair: no end of file after the data");
	if (send(hc[0], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		fail("half-closed pair: the shut down side can still send");
	check_link(hc[1], hc[0], "half-closed pair, the other way");

	l = sizeof(v);
	if (getsockopt(orph[0], SOL_SOCKET, SO_PEEK_OFF, &v, &l) || v != 4)
		fail("SO_PEEK_OFF is %d, expected 4", v);
	v = -1;
	setsockopt(orph[0], SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v));
	if (recv(orph[0], buf, sizeof(buf), 0) != 13 || memcmp(buf, "from the dead", 13))
		fail("orphan: data lost");
	if (recv(orph[0], buf, sizeof(buf), MSG_DONTWAIT) != 0)
		fail("orphan: no end of file after the data");
	if (recv(dorph[0], buf, sizeof(buf), 0) != 7 || memcmp(buf, "dgram 1", 7) ||
	    recv(dorph[0], buf, sizeof(buf), 0) != 9 || memcmp(buf, "dgram two", 9))
		fail("orphan datagram socket: messages lost");
	if (recv(dorph[0], buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		fail("orphan datagram socket: more than queued");
	pass();
}
