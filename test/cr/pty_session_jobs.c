/*
 * Job control in a session whose leader created its own pty: the root R leads the session and
 * has the slave of a pty it opened as its controlling terminal (it holds both ends). Its
 * children: J, in a group of its own, made that group the foreground one itself (tcsetpgrp
 * from a member) and has a child K in its group; D left the session (setsid: no terminal);
 * X forked Y (which so has the terminal), then gave the terminal up (TIOCNOTTY).
 *
 * After restore every task has the controlling terminal it had (tty_nr of /proc/self/stat,
 * /dev/tty): R, J, K and Y the pty, D and X none (ENXIO). The terminal still acts: R types the
 * interrupt character into the master and J and K (the foreground group) get SIGINT, R does
 * not; then J gives the foreground back to R's group with tcsetpgrp, which R sees.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define NR_READY	5	/* J, K, D, X, Y */

static int rdy[2];
static volatile sig_atomic_t got_int;

static void on_int(int sig)
{
	(void)sig;
	got_int++;
}

/* Our controlling terminal (tty_nr of /proc/self/stat: its device number), 0: none. */
static unsigned int tty_nr(void)
{
	char buf[1024], *p;
	unsigned int tty = ~0U;
	ssize_t n;
	int fd;

	fd = open("/proc/self/stat", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %u", &tty) != 1)
		return ~0U;
	return tty;
}

static void ready(void)
{
	if (write(rdy[1], "r", 1) != 1)
		_exit(2);
}

/* 0 if the pty @rdev is our controlling terminal with group @fg (0: any) in the foreground. */
static int has_tty(dev_t rdev, pid_t fg)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY), ret = 0;

	if (fd < 0)
		return 1;
	if ((fg && tcgetpgrp(fd) != fg) || tcgetsid(fd) != getsid(0))
		ret = 2;
	else if (tty_nr() != (unsigned int)rdev)
		ret = 3;
	close(fd);
	return ret;
}

static int has_no_tty(void)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY);

	if (fd >= 0 || errno != ENXIO)
		return 4;
	return tty_nr() != 0 ? 5 : 0;
}

/* Wait up to 5 s for SIGINT from the terminal. */
static int wait_int(void)
{
	int i;

	for (i = 0; i < 500 && !got_int; i++)
		usleep(10000);
	return got_int ? 0 : 6;
}

/* J, and its child K in its group (k == 0). */
static void run_j(dev_t rdev)
{
	pid_t k = 0, sid = getsid(0);
	int fd, status, ret;
	sigset_t ttou;

	if (setpgid(0, 0))
		_exit(10);
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, NULL);	/* tcsetpgrp() from the background */
	signal(SIGINT, on_int);
	k = fork();
	if (k < 0)
		_exit(10);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || (k && tcsetpgrp(fd, getpgrp())))
		_exit(10);
	close(fd);
	ready();
	test_waitsig();
	if (k)
		kill(k, SIGTERM);
	if (getsid(0) != sid || getpgrp() != (k ? getpid() : getppid()))
		_exit(11);
	ret = has_tty(rdev, getpgrp());
	if (!ret)
		ret = wait_int();
	if (ret)
		_exit(k ? 20 + ret : 30 + ret);
	if (!k)
		_exit(0);
	status = test_reap(k);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 39);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || tcsetpgrp(fd, sid))	/* the foreground back to R's group */
		_exit(12);
	_exit(0);
}

static void run_d(void)
{
	int ret;

	if (setsid() < 0)
		_exit(40);
	ready();
	test_waitsig();
	ret = has_no_tty();
	_exit(ret ? 40 + ret : 0);
}

/* X, and its child Y forked while X still had the terminal (J may give R the foreground). */
static void run_x(dev_t rdev)
{
	int fd, status, ret;
	pid_t y;

	y = fork();
	if (y < 0)
		_exit(50);
	if (y == 0) {
		ready();
		test_waitsig();
		ret = has_tty(rdev, 0);
		_exit(ret ? 60 + ret : 0);
	}
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || ioctl(fd, TIOCNOTTY) || tty_nr() != 0)
		_exit(50);
	close(fd);
	ready();
	test_waitsig();
	kill(y, SIGTERM);
	ret = has_no_tty();
	if (ret)
		_exit(50 + ret);
	status = test_reap(y);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 69);
	_exit(0);
}

int main(int argc, char **argv)
{
	pid_t pj, pd, px, kids[3];
	struct termios t;
	struct stat st;
	char name[64], c;
	int m, s, i, status;
	dev_t rdev;

	test_init(argc, argv);
	if (getsid(0) != getpid() && setsid() < 0)
		fail("setsid: %m");
	if (pipe(rdy))
		fail("pipe: %m");
	signal(SIGINT, on_int);	/* R must not get it: counted */
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		fail("cannot open a pty: %m");
	s = open(name, O_RDWR);	/* no O_NOCTTY: our controlling terminal */
	if (s < 0 || fstat(s, &st) || tcgetattr(s, &t))
		fail("cannot open %s: %m", name);
	rdev = st.st_rdev;
	if (tcgetsid(s) != getpid() || tty_nr() != (unsigned int)rdev)
		fail("%s did not become our controlling terminal", name);

	pj = fork();
	if (pj == 0) {
		close(m);
		close(s);
		close(rdy[0]);
		run_j(rdev);
	}
	pd = fork();
	if (pd == 0) {
		close(m);
		close(s);
		close(rdy[0]);
		run_d();
	}
	px = fork();
	if (px == 0) {
		close(m);
		close(s);
		close(rdy[0]);
		run_x(rdev);
	}
	if (pj < 0 || pd < 0 || px < 0)
		fail("fork: %m");
	close(rdy[1]);
	for (i = 0; i < NR_READY; i++)
		if (read(rdy[0], &c, 1) != 1)
			fail("a child failed to set up: J %#x, D %#x, X %#x", test_reap(pj), test_reap(pd),
			     test_reap(px));
	if (tcgetpgrp(s) != pj)
		fail("J's group is not in the foreground before the dump");

	test_ready();
	test_waitsig();

	if (tty_nr() != (unsigned int)rdev || tcgetsid(s) != getpid() || tcgetpgrp(s) != pj)
		fail("R lost its controlling terminal or its foreground group (tty_nr %#x, was "
		     "%#x)", tty_nr(), (unsigned int)rdev);
	kids[0] = pj;
	kids[1] = pd;
	kids[2] = px;
	for (i = 0; i < 3; i++)
		kill(kids[i], SIGTERM);
	if (write(m, &t.c_cc[VINTR], 1) != 1)	/* ^C typed: SIGINT to J's group */
		fail("write to the master: %m");
	for (i = 0; i < 3; i++) {
		status = test_reap(kids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("%c failed: %#x (J: 10 setup, 11 ids, 12 tcsetpgrp back, 2N/3N J/K: 1 "
			     "no /dev/tty, 2 foreground or session, 3 tty_nr, 6 no SIGINT; D: 4N; "
			     "X: 5N, Y: 6N, N: 4 /dev/tty, 5 tty_nr)", "JDX"[i], status);
	}
	if (got_int)
		fail("R, in the background, got SIGINT from the terminal");
	if (tcgetpgrp(s) != getpgrp())
		fail("J could not give the foreground back to R's group: %d", tcgetpgrp(s));
	pass();
}
