/*
 * A pty whose master is held by a child and whose slave is held by the parent, upside down
 * from the usual terminal emulator: the root R opens the pty, forks M which keeps only the
 * master, and S which leads a session of its own with the slave as its controlling terminal,
 * and a child SG of S in a process group of its own that is the terminal's foreground group.
 * R keeps the slave (not its controlling terminal) and closes the master. The slave is raw;
 * bytes wait both ways: M wrote for the slave side, R wrote for the master side.
 *
 * After restore: M finds R's bytes on the master and the same pty number, then writes more;
 * R reads M's bytes (before and after restore, in order) from its slave and finds the same pty;
 * S finds the pty as its controlling terminal (/dev/tty, tcgetsid) with SG's group in the
 * foreground; SG finds its session and group and its controlling terminal. Every task has the
 * controlling terminal it had (tty_nr of /proc/self/stat): R and M none, the others the pty.
 *
 * Built twice: pty_master_child without SG (S's own group is in the foreground), and
 * pty_session_member (SESSION_MEMBER defined) with it, a child G of SG in SG's group (the
 * terminal passes down two forks), and a child N of S that gave up the terminal (TIOCNOTTY)
 * and must not have it after restore (/dev/tty: ENXIO); and pty_session_sibling, the same
 * with SIBLING_CREATOR: R closes its slave before the dump, so that M, S's sibling, restores
 * the pty and S takes its slave from it (R's checks of its slave are left out).
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
#include <sys/stat.h>
#include <sys/wait.h>

#define TO_SLAVE	"bytes from the master in M"
#define TO_MASTER	"bytes from the slave in R"
#define M_AFTER		"+M after restore"

static int rdy[2], fin[2];	/* fin: M keeps the master open until R read all */

/* Read exactly @len bytes (waiting up to 5 s for each); 0 if they are @want. */
static int read_exact(int fd, const char *want, size_t len)
{
	char buf[256];
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1)
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	if (got != len || memcmp(buf, want, len)) {
		test_msg("pid %d: read %zu bytes '%.*s', expected '%s'", getpid(), got, (int)got,
			 buf, want);
		return -1;
	}
	return 0;
}

static void ready(void)
{
	if (write(rdy[1], "r", 1) != 1)
		_exit(2);
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

/*
 * SG: its own group, the foreground one, in S's session with its terminal (@rdev). With
 * SESSION_MEMBER, N: a task of the same session that let go of the terminal (TIOCNOTTY), and
 * must not have it back; G: a child of SG in SG's group, which inherited it from SG.
 */
static void run_member(const char *role, dev_t rdev)
{
	pid_t sid = getsid(0), g = 0;
	int fd, status;

	if (*role == 'S' && setpgid(0, 0))
		_exit(3);
	if (*role == 'N') {
		fd = open("/dev/tty", O_RDWR | O_NOCTTY);
		if (fd < 0 || ioctl(fd, TIOCNOTTY) || tty_nr() != 0)
			_exit(3);
		close(fd);
	}
	if (*role == 'S') {
		g = fork();
		if (g < 0)
			_exit(3);
		if (g == 0)
			role = "G";	/* SG's child, on in SG's group */
	}
	ready();
	test_waitsig();
	if (g)
		kill(g, SIGTERM);
	if (getsid(0) != sid || (*role == 'S' && getpgid(0) != getpid()))
		_exit(30);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (*role == 'N') {
		if (fd >= 0 || errno != ENXIO || tty_nr() != 0)
			_exit(34);
		_exit(0);
	}
	if (fd < 0)
		_exit(31);
	if (tcgetpgrp(fd) != getpgid(0) || tcgetsid(fd) != sid)
		_exit(32);
	close(fd);
	if (tty_nr() != (unsigned int)rdev)
		_exit(33);
	if (!g)
		_exit(0);
	while (waitpid(g, &status, 0) < 0)
		if (errno != EINTR)
			_exit(35);
	_exit(WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : 36);
}

static void run_s(const char *name, dev_t rdev)
{
	struct stat st;
	int fd, status;
	pid_t sg, n = 0;

	if (setsid() < 0)
		_exit(3);
	fd = open(name, O_RDWR);	/* no O_NOCTTY: our controlling terminal */
	if (fd < 0)
		_exit(3);
#ifdef SESSION_MEMBER
	sg = fork();
	if (sg < 0)
		_exit(3);
	if (sg == 0)
		run_member("SG", rdev);
	setpgid(sg, sg);
	n = fork();
	if (n < 0)
		_exit(3);
	if (n == 0)
		run_member("N", rdev);
#else
	sg = getpid();
	(void)run_member;
#endif
	if (tcsetpgrp(fd, sg))
		_exit(3);
	ready();
	test_waitsig();
	if (sg != getpid())
		kill(sg, SIGTERM);
	if (n)
		kill(n, SIGTERM);
	if (tty_nr() != (unsigned int)rdev)
		_exit(24);
	if (fstat(fd, &st) || st.st_rdev != rdev)
		_exit(20);
	if (tcgetsid(fd) != getpid())
		_exit(21);
	if (tcgetpgrp(fd) != sg)
		_exit(22);
	close(fd);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0 || tcgetsid(fd) != getpid())	/* fstat() would tell /dev/tty itself */
		_exit(23);
	if (n) {
		status = test_reap(n);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			_exit(WIFEXITED(status) ? 80 + WEXITSTATUS(status) % 40 : 79);
	}
	if (sg == getpid())
		_exit(0);
	status = test_reap(sg);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? 40 + WEXITSTATUS(status) % 40 : 39);
	_exit(0);
}

static void run_m(int m, int nr)
{
	unsigned int tty = tty_nr();
	int now = -1;
	char c;

	if (write(m, TO_SLAVE, strlen(TO_SLAVE)) != (ssize_t)strlen(TO_SLAVE))
		_exit(3);
	ready();
	test_waitsig();
	if (ioctl(m, TIOCGPTN, &now) || now != nr)
		_exit(10);
	if (tty_nr() != tty)
		_exit(14);
	if (read_exact(m, TO_MASTER, strlen(TO_MASTER)))
		_exit(11);
	if (write(m, M_AFTER, strlen(M_AFTER)) != (ssize_t)strlen(M_AFTER))
		_exit(12);
	if (read(fin[0], &c, 1) != 1)
		_exit(13);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct termios t;
	struct stat st;
	pid_t pm, ps;
	char name[64], c;
	int m, s, nr, status, i;
	unsigned int tty;
	dev_t rdev;

	test_init(argc, argv);
	if (pipe(rdy) || pipe(fin))
		fail("pipe: %m");
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)) ||
	    ioctl(m, TIOCGPTN, &nr))
		fail("cannot open a pty: %m");
	s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0 || tcgetattr(s, &t) || fstat(s, &st))
		fail("cannot open %s: %m", name);
	rdev = st.st_rdev;
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t))
		fail("tcsetattr: %m");
	pm = fork();
	if (pm < 0)
		fail("fork: %m");
	if (pm == 0) {
		close(s);
		close(fin[1]);
		close(rdy[0]);
		run_m(m, nr);
	}
	ps = fork();
	if (ps < 0)
		fail("fork: %m");
	if (ps == 0) {
		close(s);
		close(m);
		close(fin[0]);
		close(fin[1]);
		close(rdy[0]);
		run_s(name, rdev);
	}
	close(m);
	close(rdy[1]);
	close(fin[0]);
#ifdef SESSION_MEMBER
	for (i = 0; i < 5; i++)
#else
	for (i = 0; i < 2; i++)
#endif
		if (read(rdy[0], &c, 1) != 1)
			fail("a child failed to set up: M %#x, S %#x", test_reap(pm), test_reap(ps));
	if (write(s, TO_MASTER, strlen(TO_MASTER)) != (ssize_t)strlen(TO_MASTER))
		fail("write to the slave: %m");

#ifdef SIBLING_CREATOR
	close(s);	/* M, S's sibling, is the first task holding an end of the pty */
#endif
	tty = tty_nr();
	test_ready();
	test_waitsig();

	if (tty_nr() != tty)
		fail("R's controlling terminal is %#x after restore, was %#x", tty_nr(), tty);

	kill(pm, SIGTERM);
	kill(ps, SIGTERM);
#ifndef SIBLING_CREATOR
	if (fstat(s, &st) || st.st_rdev != rdev)
		fail("R's slave is another device after restore");
	if (read_exact(s, TO_SLAVE, strlen(TO_SLAVE)))
		fail("the bytes M wrote before the dump are not on R's slave");
	if (read_exact(s, M_AFTER, strlen(M_AFTER)))
		fail("the bytes M wrote after restore are not on R's slave (M: %#x)",
		     (close(fin[1]), test_reap(pm)));
#endif
	status = test_reap(ps);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("S failed: %#x (20: its slave, 21: not its session's terminal, 22: foreground "
		     "group, 23: /dev/tty, 24: tty_nr; 40+N: SG failed with N (80+N: N did): 30 ids, "
		     "31 no /dev/tty, 32 not in the foreground, 33 tty_nr, 34 N has a terminal, "
		     "36: G failed)", status);
	if (write(fin[1], "f", 1) != 1)
		fail("write: %m");
	status = test_reap(pm);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("M failed: %#x (10: another pty number, 11: R's bytes lost, 12: write, 14: "
		     "another controlling terminal)", status);
	pass();
}
