/*
 * A pty split between two tasks in non-canonical ("cbreak") mode, with data waiting both ways,
 * also dumped with --leave-running (snapshot flavor): the dump reads the waiting bytes and puts
 * them back exactly. The child (a session leader, the slave its controlling terminal) keeps
 * ICRNL and sets INLCR, so the parent's "in\n" waits as "in\r"; its output keeps OPOST|ONLCR,
 * so its "out\n" waits in the master as "out\r\n". Put back with the processing on, either
 * would change ("in\n", "out\r\r\n"). After restore both ends find exactly those bytes, the
 * termios as set, and exchange more (the parent's "\r" arrives as "\n": ICRNL).
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int ready[2], go[2];
static char name[64];

static void child_fail(const char *why)
{
	dprintf(2, "child: %s: %s\n", why, strerror(errno));
	_exit(1);
}

/* Exactly @want (@len bytes) from @fd, within 10 s. */
static int read_exact(int fd, const char *want, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[64];
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&p, 1, 10000) != 1)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	/* nothing more */
	if (poll(&p, 1, 100) != 0)
		return -1;
	return memcmp(buf, want, len) ? -1 : 0;
}

static void child(int m)
{
	struct termios t;
	char c;
	int s;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(m);
	close(ready[0]);
	close(go[1]);
	if (setsid() < 0)
		child_fail("setsid");
	s = open(name, O_RDWR);
	if (s < 0 || tcsetpgrp(s, getpgrp()) || tcgetattr(s, &t))
		child_fail("open the slave");
	t.c_lflag &= ~(ICANON | ECHO | ECHOE | ECHOK | ECHONL);
	t.c_iflag |= ICRNL | INLCR;
	t.c_oflag |= OPOST | ONLCR;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(s, TCSANOW, &t))
		child_fail("tcsetattr");
	if (write(s, "out\n", 4) != 4 || write(ready[1], "r", 1) != 1)
		child_fail("write");
	if (read(go[0], &c, 1) != 1)
		child_fail("no word from the parent");

	/* after the restore */
	if (tcgetattr(s, &t) || (t.c_lflag & (ICANON | ECHO)) || !(t.c_iflag & ICRNL) ||
	    !(t.c_iflag & INLCR) || !(t.c_oflag & ONLCR) || !(t.c_lflag & ISIG))
		child_fail("termios not as set");
	if (read_exact(s, "in\r", 3))
		child_fail("the input waiting is not exactly 'in\\r'");
	if (write(s, "more\n", 5) != 5 || read_exact(s, "\n", 1))
		child_fail("exchange after restore");
	_exit(0);
}

int main(int argc, char **argv)
{
	int m, s, q = 0, n = 0, status;
	char c;
	pid_t pid;

	test_init(argc, argv);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)) ||
	    pipe(ready) || pipe(go))
		fail("setup: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child(m);
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1)
		fail("the child did not set its terminal up");
	close(ready[0]);
	if (write(m, "in\n", 3) != 3)
		fail("write to the master: %m");
	/* until the line discipline has it (another fd on the child's slave) */
	s = open(name, O_RDWR | O_NOCTTY);
	while (s >= 0 && !ioctl(s, FIONREAD, &q) && q < 3 && n++ < 5000)
		usleep(1000);
	if (s >= 0)
		close(s);

	test_ready();
	test_waitsig();

	if (write(go[1], "g", 1) != 1)
		fail("cannot wake the child: %m");
	/* what waited, then the child's answer (sent once it checked its input) */
	if (read_exact(m, "out\r\nmore\r\n", 11))
		fail("the master did not get exactly 'out\\r\\n' then 'more\\r\\n'");
	if (write(m, "\r", 1) != 1)
		fail("write after restore: %m");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	pass();
}
