/*
 * openpty() then fork(), as terminal emulators do: the parent keeps the master and its slave
 * fd open, the child (a session leader) makes the inherited slave fd (the same open file
 * description) its controlling terminal with its group in the foreground. A line waits for
 * the child. After restore the child still has the pty as controlling terminal through that
 * description, reads the line and answers; the parent reads the answer from the master.
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

static void child_fail(const char *why)
{
	dprintf(2, "child: %s: %s\n", why, strerror(errno));
	_exit(1);
}

static void child(int m, int s)
{
	struct termios t;
	char buf[32], c;
	int tty, sid = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(m);
	close(ready[0]);
	close(go[1]);
	if (setsid() < 0 || ioctl(s, TIOCSCTTY, 0) || tcsetpgrp(s, getpgrp()) ||
	    tcgetattr(s, &t))
		child_fail("make the slave our terminal");
	t.c_lflag &= ~ECHO;
	if (tcsetattr(s, TCSANOW, &t) || write(ready[1], "r", 1) != 1)
		child_fail("tcsetattr");
	if (read(go[0], &c, 1) != 1)
		child_fail("no word from the parent");

	tty = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (tty < 0)
		child_fail("no controlling terminal after restore");
	close(tty);
	if (ioctl(s, TIOCGSID, &sid) || sid != getpid() || tcgetpgrp(s) != getpgrp())
		child_fail("the pty is not our terminal, or our group not in the foreground");
	memset(buf, 0, sizeof(buf));
	if (read(s, buf, sizeof(buf)) != 5 || strcmp(buf, "line\n"))
		child_fail("the waiting line is lost");
	if (write(s, "answer\n", 7) != 7)
		child_fail("write");
	_exit(0);
}

int main(int argc, char **argv)
{
	struct pollfd p;
	char name[64], buf[32], c;
	int m, s, q = 0, n = 0, status;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	test_init(argc, argv);
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		fail("posix_openpt: %m");
	s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0 || pipe(ready) || pipe(go))
		fail("setup: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child(m, s);
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &c, 1) != 1)
		fail("the child did not set its terminal up");
	if (write(m, "line\n", 5) != 5)
		fail("write: %m");
	while (!ioctl(s, FIONREAD, &q) && q < 5 && n++ < 5000)
		usleep(1000);

	test_ready();
	test_waitsig();

	if (write(go[1], "g", 1) != 1)
		fail("cannot wake the child: %m");
	p.fd = m;
	p.events = POLLIN;
	while (got < 8 && poll(&p, 1, 10000) == 1 && (r = read(m, buf + got, 8 - got)) > 0)
		got += (size_t)r;
	if (got != 8 || memcmp(buf, "answer\r\n", 8))
		fail("the child's answer did not come through the master (%zu bytes)", got);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its checks (status %#x)", status);
	pass();
}
