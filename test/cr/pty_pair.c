/*
 * A pty pair owned by the task, the slave its controlling terminal with the task's group in the
 * foreground: termios (no ICRNL, VMIN 3, 38400 baud), window size, data waiting on both sides
 * (what the slave wrote and the echo of what the master typed, readable at the master; a
 * complete input line readable at the slave, and the line being typed after it, which is
 * finished, with two erases, after restore), O_NONBLOCK on the master; and a second master,
 * locked and in packet mode. After restore: the same termios, window size, data, lock and
 * packet mode; the slave is still the master's (ptsname), the controlling terminal of the
 * session with the task's group in the foreground, and data goes through both ways.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>

#define OUT_MSG		"output of the slave\n"
#define IN_MSG		"typed at the master\n"
#define IN_PART		"half a li"	/* the line being typed: not readable yet */
#define MASTER_WANT	"output of the slave\r\ntyped at the master\r\nhalf a li"

static void read_exact(int fd, const char *want, const char *what)
{
	char buf[256];
	size_t got = 0, len = strlen(want);
	ssize_t n;
	int tries = 0;

	while (got < len && tries++ < 1000) {
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n > 0)
			got += n;
		else if (n < 0 && errno != EAGAIN)
			break;
		else
			usleep(1000);
	}
	if (got != len || memcmp(buf, want, len))
		fail("%s: read %zu bytes '%.*s', expected '%s'", what, got, (int)got, buf, want);
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 77, .ws_xpixel = 5, .ws_ypixel = 9 }, ws2;
	struct termios t, t2;
	char name[64], name2[64];
	int m, s, m2, v = 1;

	test_init(argc, argv);
	if (getsid(0) != getpid() && setsid() < 0)
		fail("setsid: %m");
	m = posix_openpt(O_RDWR | O_NONBLOCK);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		fail("posix_openpt: %m");
	s = open(name, O_RDWR);		/* becomes our controlling terminal */
	if (s < 0)
		fail("open '%s': %m", name);
	if (ioctl(s, TIOCGSID, &v) || v != getpid())
		fail("the pty is not our controlling terminal");
	if (tcsetpgrp(s, getpgrp()))
		fail("tcsetpgrp: %m");
	if (tcgetattr(s, &t))
		fail("tcgetattr: %m");
	t.c_iflag &= ~ICRNL;
	t.c_cc[VMIN] = 3;
	t.c_cc[VERASE] = 0x7f;
	cfsetispeed(&t, B38400);
	cfsetospeed(&t, B38400);
	if (tcsetattr(s, TCSANOW, &t) || ioctl(m, TIOCSWINSZ, &ws) || tcgetattr(s, &t))
		fail("tcsetattr: %m");
	if (write(s, OUT_MSG, strlen(OUT_MSG)) != (ssize_t)strlen(OUT_MSG) ||
	    write(m, IN_MSG, strlen(IN_MSG)) != (ssize_t)strlen(IN_MSG) ||
	    write(m, IN_PART, strlen(IN_PART)) != (ssize_t)strlen(IN_PART))
		fail("write: %m");

	m2 = posix_openpt(O_RDWR);
	v = 1;
	if (m2 < 0 || ioctl(m2, TIOCPKT, &v))
		fail("second pty: %m");

	test_ready();
	test_waitsig();

	if (tcgetattr(s, &t2))
		fail("tcgetattr after restore: %m");
	if (t2.c_iflag != t.c_iflag || t2.c_oflag != t.c_oflag || t2.c_cflag != t.c_cflag ||
	    t2.c_lflag != t.c_lflag || memcmp(t2.c_cc, t.c_cc, sizeof(t.c_cc)) ||
	    cfgetospeed(&t2) != B38400)
		fail("termios not as it was (iflag %#x/%#x lflag %#x/%#x)", t2.c_iflag, t.c_iflag,
		     t2.c_lflag, t.c_lflag);
	if (ioctl(s, TIOCGWINSZ, &ws2) || memcmp(&ws, &ws2, sizeof(ws)))
		fail("window size %ux%u, expected 33x77", ws2.ws_row, ws2.ws_col);
	if (ptsname_r(m, name, sizeof(name)) || ttyname_r(s, name2, sizeof(name2)) ||
	    strcmp(name, name2))
		fail("the slave '%s' is not the master's '%s'", name2, name);
	if (ioctl(s, TIOCGSID, &v) || v != getpid())
		fail("the pty is no longer our controlling terminal");
	if (tcgetpgrp(s) != getpgrp())
		fail("foreground group %d, expected %d", tcgetpgrp(s), getpgrp());
	if (!(fcntl(m, F_GETFL) & O_NONBLOCK))
		fail("the master lost O_NONBLOCK");
	read_exact(m, MASTER_WANT, "data waiting at the master");
	read_exact(s, IN_MSG, "data waiting at the slave");
	if (write(m, "ne\x7f\x7fne\n", 7) != 7)
		fail("write to the master: %m");
	read_exact(s, "half a line\n", "the line being typed, finished after restore");
	read_exact(m, "ne\b \b\b \bne\r\n", "its echo");
	if (write(m, "abc\n", 4) != 4)
		fail("write to the master: %m");
	read_exact(s, "abc\n", "new data to the slave");
	read_exact(m, "abc\r\n", "its echo");

	if (ioctl(m2, TIOCGPTLCK, &v) || v != 1)
		fail("the second pty is no longer locked");
	if (ioctl(m2, TIOCGPKT, &v) || v != 1)
		fail("the second pty is no longer in packet mode");
	pass();
}
