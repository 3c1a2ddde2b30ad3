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
 * foreground; SG finds its session and group and its controlling terminal.
 *
 * Built twice: pty_master_child without SG (S's own group is in the foreground), and
 * pty_session_member (SESSION_MEMBER defined) with it.
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

static void wait_term(void)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigdelset(&old, SIGTERM);
	while (!test_sig_flag)
		sigsuspend(&old);
}

static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

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

static void run_sg(void)
{
	pid_t sid = getsid(0);
	int fd;

	if (setpgid(0, 0))
		_exit(3);
	ready();
	wait_term();
	if (getsid(0) != sid || getpgid(0) != getpid())
		_exit(30);
	fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (fd < 0)
		_exit(31);
	if (tcgetpgrp(fd) != getpid())
		_exit(32);
	_exit(0);
}

static void run_s(const char *name, dev_t rdev)
{
	struct stat st;
	int fd, status;
	pid_t sg;

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
		run_sg();
	setpgid(sg, sg);
#else
	sg = getpid();
	(void)run_sg;
#endif
	if (tcsetpgrp(fd, sg))
		_exit(3);
	ready();
	wait_term();
	if (sg != getpid())
		kill(sg, SIGTERM);
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
	if (sg == getpid())
		_exit(0);
	status = reap(sg);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? 40 + WEXITSTATUS(status) % 40 : 39);
	_exit(0);
}

static void run_m(int m, int nr)
{
	int now = -1;
	char c;

	if (write(m, TO_SLAVE, strlen(TO_SLAVE)) != (ssize_t)strlen(TO_SLAVE))
		_exit(3);
	ready();
	wait_term();
	if (ioctl(m, TIOCGPTN, &now) || now != nr)
		_exit(10);
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
	for (i = 0; i < 3; i++)
#else
	for (i = 0; i < 2; i++)
#endif
		if (read(rdy[0], &c, 1) != 1)
			fail("a child failed to set up: M %#x, S %#x", reap(pm), reap(ps));
	if (write(s, TO_MASTER, strlen(TO_MASTER)) != (ssize_t)strlen(TO_MASTER))
		fail("write to the slave: %m");

	test_ready();
	test_waitsig();

	kill(pm, SIGTERM);
	kill(ps, SIGTERM);
	if (fstat(s, &st) || st.st_rdev != rdev)
		fail("R's slave is another device after restore");
	if (read_exact(s, TO_SLAVE, strlen(TO_SLAVE)))
		fail("the bytes M wrote before the dump are not on R's slave");
	if (read_exact(s, M_AFTER, strlen(M_AFTER)))
		fail("the bytes M wrote after restore are not on R's slave (M: %#x)",
		     (close(fin[1]), reap(pm)));
	status = reap(ps);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("S failed: %#x (20: its slave, 21: not its session's terminal, 22: foreground "
		     "group, 23: /dev/tty; 40+N: SG failed with N: 30 ids, 31 no /dev/tty, 32 not "
		     "in the foreground)", status);
	if (write(fin[1], "f", 1) != 1)
		fail("write: %m");
	status = reap(pm);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("M failed: %#x (10: another pty number, 11: R's bytes lost, 12: write)", status);
	pass();
}
