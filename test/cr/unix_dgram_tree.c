/*
 * Datagram unix sockets connected across two tasks, as a logging daemon and its clients have
 * them: the parent's socket bound to a path receives from the child's socket connected to it,
 * and the child's socket bound to an abstract name receives from the parent's connected to it.
 * Messages wait in both receivers. After restore each receiver gets its messages in order with
 * their boundaries, the connected sockets are still connected to the same receivers (send()
 * without an address reaches them), and the names are still bound.
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

#define NR_MSG	3

static struct sockaddr_un path_addr, abs_addr;
static socklen_t abs_len;
static int ready[2], go[2];

static void msg_of(char *buf, size_t len, const char *who, int i)
{
	snprintf(buf, len, "datagram %d from the %s%.*s", i, who, i * 3, "zzzzzzzzzzzz");
}

static int send_msgs(int sk, const char *who)
{
	char buf[64];
	int i;

	for (i = 0; i < NR_MSG; i++) {
		msg_of(buf, sizeof(buf), who, i);
		if (send(sk, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
			return -1;
	}
	return 0;
}

/* The NR_MSG messages of @who then @tail, one datagram each. */
static int check_msgs(int sk, const char *who, const char *tail)
{
	char want[64], got[64];
	ssize_t n;
	int i;

	for (i = 0; i <= NR_MSG; i++) {
		if (i < NR_MSG)
			msg_of(want, sizeof(want), who, i);
		else
			snprintf(want, sizeof(want), "%s", tail);
		n = recv(sk, got, sizeof(got), 0);
		if (n != (ssize_t)strlen(want) || memcmp(got, want, n)) {
			test_msg("%s: message %d: got %zd bytes '%.*s', expected '%s'", who, i, n,
				 n > 0 ? (int)n : 0, got, want);
			return -1;
		}
	}
	return 0;
}

static void child(int psend)
{
	int r2, s;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(psend);
	close(ready[0]);
	close(go[1]);
	r2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (r2 < 0 || s < 0 || bind(r2, (struct sockaddr *)&abs_addr, abs_len) ||
	    connect(s, (struct sockaddr *)&path_addr, sizeof(path_addr)) ||
	    send_msgs(s, "child") || write(ready[1], "r", 1) != 1)
		_exit(2);
	if (read(go[0], &c, 1) != 1)
		_exit(3);
	/* after the restore: the parent sent one more after its queued ones */
	if (read(go[0], &c, 1) != 1 || check_msgs(r2, "parent", "parent after"))
		_exit(4);
	if (send(s, "child after", 11, 0) != 11)
		_exit(5);
	_exit(0);
}

int main(int argc, char **argv)
{
	int r, s2, status;
	char c;
	pid_t pid;

	test_init(argc, argv);
	path_addr.sun_family = AF_UNIX;
	snprintf(path_addr.sun_path, sizeof(path_addr.sun_path), "%s/log", test_dir());
	unlink(path_addr.sun_path);
	abs_addr.sun_family = AF_UNIX;
	snprintf(abs_addr.sun_path + 1, sizeof(abs_addr.sun_path) - 1, "unix_dgram_tree.%d",
		 getpid());
	abs_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			      strlen(abs_addr.sun_path + 1));
	r = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (r < 0 || bind(r, (struct sockaddr *)&path_addr, sizeof(path_addr)) || pipe(ready) ||
	    pipe(go))
		fail("setup: %m");
	s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s2 < 0)
		fail("socket: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child(s2);
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1)
		fail("the child did not set up");
	close(ready[0]);
	if (connect(s2, (struct sockaddr *)&abs_addr, abs_len) || send_msgs(s2, "parent"))
		fail("send to the child: %m");

	test_ready();
	test_waitsig();

	if (write(go[1], "g", 1) != 1 || send(s2, "parent after", 12, 0) != 12 ||
	    write(go[1], "g", 1) != 1)
		fail("after restore: %m");
	if (check_msgs(r, "child", "child after"))
		fail("the parent's receiver lost the child's datagrams");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	unlink(path_addr.sun_path);
	pass();
}
