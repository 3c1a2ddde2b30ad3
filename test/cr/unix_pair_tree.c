/*
 * Unix socketpairs split between a parent and its child (the parent keeps one end, the child
 * the other), the usual shape of a master process and its worker: stream, datagram and
 * seqpacket, each with messages queued in both directions; the child half-closed its stream
 * (shutdown SHUT_WR) after sending; a pipe's read end is in flight (SCM_RIGHTS) from the parent
 * to the child. After restore the child (woken through a pipe) finds every message the parent
 * sent, in order and with its boundaries, then the stream's EOF is still the parent's view,
 * reads the pipe it receives, and answers on each socket; the parent finds the child's queued
 * messages followed by the answers, in that order.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
static const char *const tnames[] = { "stream", "dgram", "seqpacket" };

#define NR_TYPES	3
#define NR_MSG		4
#define PIPE_DATA	"through the pipe in flight"

static int sv[NR_TYPES][2], scm[2], go[2], pp[2];

static void msg_of(char *buf, size_t len, int type, int dir, int i)
{
	snprintf(buf, len, "%s message %d from the %s %.*s", tnames[type], i,
		 dir ? "child" : "parent", i * 5, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
}

static int send_all(int sk, int type, int dir)
{
	char buf[128];
	int i;

	for (i = 0; i < NR_MSG; i++) {
		msg_of(buf, sizeof(buf), type, dir, i);
		if (send(sk, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
			return -1;
	}
	return 0;
}

/* The NR_MSG messages of @dir, then @tail ("" for none): 0 if they are all there, in order. */
static int check_all(int sk, int type, int dir, const char *tail, char *why, size_t wl)
{
	char want[NR_MSG * 128 + 64], got[NR_MSG * 128 + 64];
	size_t l = 0, k;
	ssize_t n;
	int i;

	for (i = 0; i <= NR_MSG; i++) {
		if (i < NR_MSG)
			msg_of(want + l, sizeof(want) - l, type, dir, i);
		else
			snprintf(want + l, sizeof(want) - l, "%s", tail);
		k = strlen(want + l);
		if (types[type] != SOCK_STREAM && k) {
			n = recv(sk, got, sizeof(got), 0);
			if (n != (ssize_t)k || memcmp(got, want + l, k)) {
				snprintf(why, wl, "%s message %d: got %zd bytes '%.*s', expected '%s'",
					 tnames[type], i, n, n > 0 ? (int)n : 0, got, want + l);
				return -1;
			}
		}
		l += k;
	}
	if (types[type] == SOCK_STREAM) {
		n = recv(sk, got, l, MSG_WAITALL);
		if (n != (ssize_t)l || memcmp(got, want, l)) {
			snprintf(why, wl, "stream: got %zd bytes '%.*s', expected '%.200s'", n,
				 n > 0 ? (int)(n < 200 ? n : 200) : 0, got, want);
			return -1;
		}
	}
	return 0;
}

static int recv_fd(int sk, char *buf, size_t len)
{
	int fd = -1, n = 0;

	if (test_recv_fds(sk, buf, len, &fd, 1, &n, 0) < 0 || n != 1)
		return -1;
	return fd;
}

static int send_fd(int sk, int fd, const char *msg)
{
	return test_send_fds(sk, msg, strlen(msg), &fd, 1);
}

static void child_fail(const char *why)
{
	dprintf(2, "child: %s\n", why);
	_exit(1);
}

static void child(void)
{
	char why[512], buf[64], c;
	int t, fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (t = 0; t < NR_TYPES; t++) {
		close(sv[t][0]);
		if (send_all(sv[t][1], t, 1))
			child_fail("send");
	}
	if (shutdown(sv[0][1], SHUT_WR))
		child_fail("shutdown");
	close(scm[0]);
	close(go[1]);
	close(pp[0]);
	close(pp[1]);
	/* wait for the parent's word, after the restore: nothing is read before */
	if (read(go[0], &c, 1) != 1)
		child_fail("no word from the parent");
	for (t = 0; t < NR_TYPES; t++)
		if (check_all(sv[t][1], t, 0, t ? "" : "stream after", why, sizeof(why)))
			child_fail(why);
	fd = recv_fd(scm[1], buf, sizeof(buf));
	if (fd < 0)
		child_fail("no pipe in flight");
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, sizeof(buf)) != (ssize_t)strlen(PIPE_DATA) || strcmp(buf, PIPE_DATA))
		child_fail("the pipe in flight does not have its data");
	/* the stream was shut down for writing: the parent saw EOF; answer on the others */
	for (t = 1; t < NR_TYPES; t++)
		if (send(sv[t][1], "answer", 6, 0) != 6)
			child_fail("answer");
	if (send(sv[0][1], "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		child_fail("the stream is no longer shut down for writing");
	_exit(0);
}

int main(int argc, char **argv)
{
	char why[512], buf[16];
	int t, status;
	pid_t pid;

	test_init(argc, argv);
	for (t = 0; t < NR_TYPES; t++)
		if (socketpair(AF_UNIX, types[t], 0, sv[t]))
			fail("socketpair %s: %m", tnames[t]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, scm) || pipe(go) || pipe(pp))
		fail("setup: %m");
	if (write(pp[1], PIPE_DATA, strlen(PIPE_DATA)) != (ssize_t)strlen(PIPE_DATA) ||
	    send_fd(scm[0], pp[0], "fd"))
		fail("pipe in flight: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child();
	close(go[0]);
	close(scm[1]);
	close(pp[1]);		/* pp[0] stays: it is in flight and the parent's */
	for (t = 0; t < NR_TYPES; t++) {
		close(sv[t][1]);
		if (send_all(sv[t][0], t, 0))
			fail("send %s: %m", tnames[t]);
	}
	/* the child's messages are there once its last recv queue is full */
	for (t = 0; t < NR_TYPES; t++) {
		int n = 0;

		while (recv(sv[t][0], buf, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && n++ < 5000)
			usleep(1000);
	}
	usleep(100000);		/* and it has shut down its stream */

	test_ready();
	test_waitsig();

	if (send(sv[0][0], "stream after", 12, 0) != 12)
		fail("the stream does not go to the child after restore: %m");
	if (write(go[1], "g", 1) != 1)
		fail("cannot wake the child: %m");
	for (t = 0; t < NR_TYPES; t++)
		if (check_all(sv[t][0], t, 1, t ? "answer" : "", why, sizeof(why)))
			fail("from the child: %s", why);
	if (recv(sv[0][0], buf, sizeof(buf), 0) != 0)
		fail("the child's stream is no longer shut down (no EOF)");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	pass();
}
