/*
 * The controlling terminal without a slave fd: the task (a session leader) opened the slave of
 * its own pty, made it its controlling terminal with its group in the foreground, and closed
 * it. After restore /dev/tty is still that pty (the master's slave), with the task's group in
 * the foreground, and data written to the master reaches it.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
	char name[64], buf[16];
	int m, s, t, v = 0;

	test_init(argc, argv);
	if (getsid(0) != getpid() && setsid() < 0)
		fail("setsid: %m");
	m = posix_openpt(O_RDWR);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)))
		fail("posix_openpt: %m");
	s = open(name, O_RDWR);
	if (s < 0 || ioctl(s, TIOCGSID, &v) || v != getpid() || tcsetpgrp(s, getpgrp()))
		fail("the pty did not become our controlling terminal: %m");
	close(s);

	test_ready();
	test_waitsig();

	t = open("/dev/tty", O_RDWR | O_NOCTTY);
	if (t < 0)
		fail("no controlling terminal after restore: %m");
	if (ioctl(m, TIOCGSID, &v) || v != getpid())
		fail("the master's pty is not the controlling terminal of our session");
	if (tcgetpgrp(t) != getpgrp())
		fail("foreground group %d, expected %d", tcgetpgrp(t), getpgrp());
	if (write(m, "hi\n", 3) != 3 || read(t, buf, sizeof(buf)) != 3 || memcmp(buf, "hi\n", 3))
		fail("data from the master does not reach the terminal");
	pass();
}
