/*
 * Listening unix sockets shared by a parent and its child (a pre-forking server), with
 * connections between the two tasks:
 *  - the child connected to the parent's stream listener (a path name); the parent accepted;
 *    data waits in both directions;
 *  - the child connected again and sent data; that connection waits in the listener's queue,
 *    not accepted;
 *  - the parent connected to a seqpacket listener (an abstract name) that the child accepted
 *    from (it holds the listener too); messages wait in both directions.
 * After restore (the child is woken through a pipe) every waiting byte arrives at the right end
 * in order, accepted sockets still have their listener's name, the queued connection is
 * accepted with its data, new data goes through each connection, and a new connection to the
 * listener works.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static struct sockaddr_un path_addr, abs_addr;
static socklen_t abs_len;
static int sync_p2c[2], sync_c2p[2];

static void child_fail(const char *why)
{
	dprintf(2, "child: %s: %s\n", why, strerror(errno));
	_exit(1);
}

static int expect(int sk, const char *want)
{
	char buf[128];
	size_t len = strlen(want);
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	n = recv(sk, buf, len, MSG_WAITALL);
	return n == (ssize_t)len && !memcmp(buf, want, len) ? 0 : -1;
}

static int send_str(int sk, const char *s)
{
	return send(sk, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s) ? 0 : -1;
}

static int connect_to(int type, const struct sockaddr_un *a, socklen_t len)
{
	int sk = socket(AF_UNIX, type, 0);

	if (sk < 0 || connect(sk, (const struct sockaddr *)a, len))
		return -1;
	return sk;
}

static void child(int l2)
{
	struct sockaddr_un a;
	socklen_t al = sizeof(a);
	int c1, c2, a3, c4;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(sync_p2c[1]);
	close(sync_c2p[0]);
	c1 = connect_to(SOCK_STREAM, &path_addr, sizeof(path_addr));
	if (c1 < 0 || send_str(c1, "c1 to parent") || write(sync_c2p[1], "a", 1) != 1)
		child_fail("c1");
	if (read(sync_p2c[0], &c, 1) != 1)
		child_fail("sync");
	c2 = connect_to(SOCK_STREAM, &path_addr, sizeof(path_addr));
	if (c2 < 0 || send_str(c2, "queued c2"))
		child_fail("c2");
	a3 = accept(l2, NULL, NULL);
	if (a3 < 0 || send_str(a3, "a3 to parent") || write(sync_c2p[1], "c", 1) != 1)
		child_fail("a3");

	/* after the restore */
	if (read(sync_p2c[0], &c, 1) != 1)
		child_fail("no word from the parent");
	if (expect(c1, "a1 to child"))
		child_fail("c1 lost what the parent sent");
	if (expect(a3, "c3 to child"))
		child_fail("a3 lost what the parent sent");
	if (getsockname(a3, (struct sockaddr *)&a, &al) || al != abs_len ||
	    memcmp(&a, &abs_addr, abs_len))
		child_fail("a3 no longer has its listener's name");
	if (send_str(c1, "c1 after") || send_str(a3, "a3 after"))
		child_fail("send after restore");
	c4 = connect_to(SOCK_STREAM, &path_addr, sizeof(path_addr));
	if (c4 < 0 || send_str(c4, "c4"))
		child_fail("a new connection to the listener");
	if (read(sync_p2c[0], &c, 1) != 0)	/* the parent is done with c4 */
		child_fail("sync at the end");
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_un a;
	socklen_t al = sizeof(a);
	int l, l2, a1, a2, c3, a4, status;
	char c, buf[64];
	pid_t pid;

	test_init(argc, argv);
	path_addr.sun_family = AF_UNIX;
	snprintf(path_addr.sun_path, sizeof(path_addr.sun_path), "%s/listener", test_dir());
	unlink(path_addr.sun_path);
	abs_addr.sun_family = AF_UNIX;
	snprintf(abs_addr.sun_path + 1, sizeof(abs_addr.sun_path) - 1, "unix_listen_tree.%d",
		 getpid());
	abs_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			      strlen(abs_addr.sun_path + 1));
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (l < 0 || l2 < 0 || bind(l, (struct sockaddr *)&path_addr, sizeof(path_addr)) ||
	    listen(l, 8) || bind(l2, (struct sockaddr *)&abs_addr, abs_len) || listen(l2, 8) ||
	    pipe(sync_p2c) || pipe(sync_c2p))
		fail("setup: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child(l2);
	close(sync_p2c[0]);
	close(sync_c2p[1]);
	if (read(sync_c2p[0], &c, 1) != 1)
		fail("the child did not connect");
	a1 = accept(l, NULL, NULL);
	if (a1 < 0 || send_str(a1, "a1 to child") || write(sync_p2c[1], "b", 1) != 1)
		fail("a1: %m");
	c3 = connect_to(SOCK_SEQPACKET, &abs_addr, abs_len);
	if (c3 < 0 || send_str(c3, "c3 to child"))
		fail("c3: %m");
	if (read(sync_c2p[0], &c, 1) != 1)
		fail("the child did not accept");

	test_ready();
	test_waitsig();

	if (write(sync_p2c[1], "g", 1) != 1)
		fail("cannot wake the child: %m");
	if (expect(a1, "c1 to parentc1 after"))
		fail("a1 did not get the child's data in order");
	if (getsockname(a1, (struct sockaddr *)&a, &al) || strcmp(a.sun_path, path_addr.sun_path))
		fail("a1 no longer has its listener's name");
	a2 = accept(l, NULL, NULL);
	if (a2 < 0 || expect(a2, "queued c2"))
		fail("the queued connection lost its data: %m");
	memset(buf, 0, sizeof(buf));
	if (recv(c3, buf, sizeof(buf), 0) != 12 || strcmp(buf, "a3 to parent"))
		fail("c3: got '%s', expected 'a3 to parent'", buf);
	memset(buf, 0, sizeof(buf));
	if (recv(c3, buf, sizeof(buf), 0) != 8 || strcmp(buf, "a3 after"))
		fail("c3: got '%s', expected 'a3 after'", buf);
	a4 = accept(l, NULL, NULL);
	if (a4 < 0 || expect(a4, "c4"))
		fail("the new connection after restore: %m");
	close(sync_p2c[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	unlink(path_addr.sun_path);
	pass();
}
