/*
 * A pty split between two tasks, as a terminal emulator or sshd has it: the parent holds the
 * master, its child (a session leader) holds the slave as its controlling terminal with its
 * group in the foreground, its own termios (no echo, no ONLCR, another erase character, 9600
 * baud) and the window size the parent set. Data waits in both directions: a line the parent
 * wrote for the child, a line the child wrote for the parent. After restore the child, woken
 * through a pipe, finds its controlling terminal, foreground group, termios and window size,
 * reads the parent's line and answers; the parent reads the child's line, then the answer,
 * and one more line goes to the child.
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

#define TO_CHILD	"to the child\n"
#define FROM_CHILD	"from the child\n"
#define CHILD_AFTER	"child after\n"
#define PARENT_AFTER	"parent after\n"
#define ROWS		33
#define COLS		111

static int ready[2], go[2];
static char name[64];

static void child_fail(const char *why)
{
	dprintf(2, "child: %s: %s\n", why, strerror(errno));
	_exit(1);
}

static void child_check(int s)
{
	struct termios t;
	struct winsize ws;
	char buf[64];
	int tty, sid = 0;

	tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty < 0)
		child_fail("no controlling terminal after restore");
	close(tty);
	if (ioctl(s, TIOCGSID, &sid) || sid != getpid())
		child_fail("the pty is not the controlling terminal of our session");
	if (tcgetpgrp(s) != getpgrp())
		child_fail("our group is not in the foreground");
	if (tcgetattr(s, &t) || (t.c_lflag & ECHO) || !(t.c_lflag & ICANON) ||
	    (t.c_oflag & ONLCR) || t.c_cc[VERASE] != 0x08 || cfgetospeed(&t) != B9600)
		child_fail("termios not as set");
	if (ioctl(s, TIOCGWINSZ, &ws) || ws.ws_row != ROWS || ws.ws_col != COLS)
		child_fail("window size not as set");
	memset(buf, 0, sizeof(buf));
	if (read(s, buf, sizeof(buf)) != (ssize_t)strlen(TO_CHILD) || strcmp(buf, TO_CHILD))
		child_fail("the parent's line did not wait for us");
	if (write(s, CHILD_AFTER, strlen(CHILD_AFTER)) != (ssize_t)strlen(CHILD_AFTER))
		child_fail("write");
	memset(buf, 0, sizeof(buf));
	if (read(s, buf, sizeof(buf)) != (ssize_t)strlen(PARENT_AFTER) || strcmp(buf, PARENT_AFTER))
		child_fail("the parent's line after restore did not come");
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
	s = open(name, O_RDWR);		/* our controlling terminal now */
	if (s < 0 || tcsetpgrp(s, getpgrp()))
		child_fail("open the slave");
	if (tcgetattr(s, &t))
		child_fail("tcgetattr");
	t.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL);
	t.c_oflag &= ~ONLCR;
	t.c_cc[VERASE] = 0x08;
	cfsetospeed(&t, B9600);
	if (tcsetattr(s, TCSANOW, &t))
		child_fail("tcsetattr");
	if (write(s, FROM_CHILD, strlen(FROM_CHILD)) != (ssize_t)strlen(FROM_CHILD) ||
	    write(ready[1], "r", 1) != 1)
		child_fail("write");
	close(ready[1]);
	if (read(go[0], &c, 1) != 1)
		child_fail("no word from the parent");
	child_check(s);
	_exit(0);
}

/* Read exactly @want from @fd (the data may come in pieces). */
static void read_exact(int fd, const char *want, const char *what)
{
	char buf[128];
	size_t len = strlen(want), got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (got < len) {
		if (poll(&p, 1, 10000) != 1)
			fail("%s: only %zu bytes of '%s' came", what, got, want);
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			fail("%s: read: %m", what);
		got += (size_t)n;
	}
	if (memcmp(buf, want, len))
		fail("%s: got '%.*s', expected '%s'", what, (int)len, buf, want);
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = ROWS, .ws_col = COLS };
	char c;
	int m, s, q = 0, n = 0, status;
	pid_t pid;

	test_init(argc, argv);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		fail("posix_openpt: %m");
	if (ioctl(m, TIOCSWINSZ, &ws) || pipe(ready) || pipe(go))
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
	if (write(m, TO_CHILD, strlen(TO_CHILD)) != (ssize_t)strlen(TO_CHILD))
		fail("write to the master: %m");
	/* wait until the line discipline has the line (another fd on the child's slave) */
	s = open(name, O_RDWR | O_NOCTTY);
	while (s >= 0 && !ioctl(s, FIONREAD, &q) && q < (int)strlen(TO_CHILD) && n++ < 5000)
		usleep(1000);
	if (s >= 0)
		close(s);

	test_ready();
	test_waitsig();

	if (write(go[1], "g", 1) != 1)
		fail("cannot wake the child: %m");
	read_exact(m, FROM_CHILD CHILD_AFTER, "from the child");
	if (write(m, PARENT_AFTER, strlen(PARENT_AFTER)) != (ssize_t)strlen(PARENT_AFTER))
		fail("write to the master after restore: %m");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	pass();
}
