/*
 * Listening unix sockets with connections waiting to be accepted: a listener bound to a path
 * (backlog 7) with an accepted connection (data queued both ways) and three queued ones: a
 * client that sent data before the dump, a client bound to an abstract name that sent nothing,
 * and a client that sent data and was closed; a listener on an abstract name with one queued
 * client; a datagram socket bound to a path with datagrams from a closed sender queued. After
 * restore the names are kept (getsockname, getpeername), the queued connections are accepted
 * in order and carry the data their clients sent, and every connection works both ways.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *name, bool abstract)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "%s", name);
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	}
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", name);
	return offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1;
}

static int client(int type, const struct sockaddr_un *a, socklen_t l, const char *bindname)
{
	struct sockaddr_un b;
	int sk = socket(AF_UNIX, type, 0);

	if (sk < 0)
		fail("socket: %m");
	if (bindname && bind(sk, (struct sockaddr *)&b, mkaddr(&b, bindname, true)))
		fail("bind client: %m");
	if (connect(sk, (const struct sockaddr *)a, l))
		fail("connect: %m");
	return sk;
}

static void expect_name(int sk, bool peer, const struct sockaddr_un *a, socklen_t l,
			const char *what)
{
	struct sockaddr_un g;
	socklen_t gl = sizeof(g);

	memset(&g, 0, sizeof(g));
	if ((peer ? getpeername(sk, (struct sockaddr *)&g, &gl) :
		    getsockname(sk, (struct sockaddr *)&g, &gl)) ||
	    gl != l || memcmp(&g, a, l))
		fail("%s: %s is not as it was (length %u, expected %u, '%s')", what,
		     peer ? "peer name" : "name", gl, l, g.sun_path[0] ? g.sun_path :
		     g.sun_path + 1);
}

static void expect_data(int sk, const char *want, const char *what)
{
	char buf[256];
	ssize_t n = recv(sk, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("%s: got %zd bytes '%.*s', expected '%s'", what, n, n > 0 ? (int)n : 0, buf,
		     want);
}

static void talk(int a, int b, const char *what)
{
	char buf[16];

	if (send(a, "ping", 4, 0) != 4 || recv(b, buf, sizeof(buf), 0) != 4 ||
	    send(b, "pong", 4, 0) != 4 || recv(a, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "pong", 4))
		fail("%s: the connection does not work both ways: %m", what);
}

int main(int argc, char **argv)
{
	struct sockaddr_un pa, aa, da, c2a;
	socklen_t pl, al, dl, c2l;
	char path[100], dpath[100], aname[64], c2name[64];
	int l1, l2, dg, c0, a0, c1, c2, c3, c4, s, x;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/listen.sock", test_dir());
	snprintf(dpath, sizeof(dpath), "%s/dgram.sock", test_dir());
	snprintf(aname, sizeof(aname), "zdtm-unix-listen-%d", getpid());
	snprintf(c2name, sizeof(c2name), "zdtm-unix-client-%d", getpid());
	unlink(path);
	unlink(dpath);
	pl = mkaddr(&pa, path, false);
	al = mkaddr(&aa, aname, true);
	dl = mkaddr(&da, dpath, false);
	c2l = mkaddr(&c2a, c2name, true);

	l1 = socket(AF_UNIX, SOCK_STREAM, 0);
	l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (l1 < 0 || l2 < 0 || dg < 0)
		fail("socket: %m");
	if (bind(l1, (struct sockaddr *)&pa, pl) || listen(l1, 7) ||
	    bind(l2, (struct sockaddr *)&aa, al) || listen(l2, 3) ||
	    bind(dg, (struct sockaddr *)&da, dl))
		fail("bind/listen: %m");

	c0 = client(SOCK_STREAM, &pa, pl, NULL);
	a0 = accept(l1, NULL, NULL);
	if (a0 < 0 || send(c0, "c0 to a0", 8, 0) != 8 || send(a0, "a0 to c0", 8, 0) != 8)
		fail("accepted pair: %m");
	c1 = client(SOCK_STREAM, &pa, pl, NULL);
	if (send(c1, "hello from c1", 13, 0) != 13)
		fail("send c1: %m");
	c2 = client(SOCK_STREAM, &pa, pl, c2name);
	c3 = client(SOCK_STREAM, &pa, pl, NULL);
	if (send(c3, "c3 said this and left", 21, 0) != 21)
		fail("send c3: %m");
	close(c3);
	c4 = client(SOCK_SEQPACKET, &aa, al, NULL);
	if (send(c4, "rec1", 4, 0) != 4 || send(c4, "record two", 10, 0) != 10)
		fail("send c4: %m");
	x = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (x < 0 || sendto(x, "dgram one", 9, 0, (struct sockaddr *)&da, dl) != 9 ||
	    sendto(x, "dgram two!", 10, 0, (struct sockaddr *)&da, dl) != 10)
		fail("sendto: %m");
	close(x);

	test_ready();
	test_waitsig();

	expect_name(l1, false, &pa, pl, "path listener");
	expect_name(l2, false, &aa, al, "abstract listener");
	expect_name(dg, false, &da, dl, "bound datagram socket");
	expect_name(a0, false, &pa, pl, "accepted socket");
	expect_name(c0, true, &pa, pl, "client of the accepted socket");
	expect_name(c2, false, &c2a, c2l, "bound client");

	expect_data(a0, "c0 to a0", "accepted socket");
	expect_data(c0, "a0 to c0", "its client");
	talk(c0, a0, "accepted pair");

	s = accept(l1, NULL, NULL);
	if (s < 0)
		fail("accept 1: %m");
	expect_data(s, "hello from c1", "first queued connection");
	talk(c1, s, "first queued connection");
	close(s);
	s = accept(l1, NULL, NULL);
	if (s < 0)
		fail("accept 2: %m");
	expect_name(s, true, &c2a, c2l, "second queued connection");
	talk(c2, s, "second queued connection");
	close(s);
	s = accept(l1, NULL, NULL);
	if (s < 0)
		fail("accept 3: %m");
	expect_data(s, "c3 said this and left", "third queued connection");
	if (recv(s, path, 1, MSG_DONTWAIT) != 0)
		fail("third queued connection: no end of file after the data");
	close(s);
	fcntl(l1, F_SETFL, O_NONBLOCK);
	if (accept(l1, NULL, NULL) != -1 || errno != EAGAIN)
		fail("more queued connections than there were");

	s = accept(l2, NULL, NULL);
	if (s < 0)
		fail("accept abstract: %m");
	expect_data(s, "rec1", "abstract listener's connection, record 1");
	expect_data(s, "record two", "abstract listener's connection, record 2");
	talk(c4, s, "abstract listener's connection");

	expect_data(dg, "dgram one", "datagram 1");
	expect_data(dg, "dgram two!", "datagram 2");
	unlink(path);
	unlink(dpath);
	pass();
}
