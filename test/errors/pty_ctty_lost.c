/*
 * Error-case target: a pty whose master the target holds is the controlling terminal of its
 * child's session, but the child (the session leader) closed every fd on it. The dump must
 * refuse it (the child's terminal would be lost) and the tree runs on: the target counts in
 * test_dir()/counter, and at SIGTERM the child must still have the pty as its terminal.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void publish(const char *path, unsigned long n)
{
	char buf[32];
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%lu\n", n);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (pwrite(fd, buf, len, 0) != len)
		test_msg("cannot write '%s': %m", path);
	close(fd);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10000000 };
	char counter_path[PATH_MAX], name[64], c;
	unsigned long count = 0;
	int m, s, sync[2], status, sid = 0;
	pid_t child;

	test_init(argc, argv);
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof(name)) || pipe(sync))
		fail("setup: %m");
	child = fork();
	if (child < 0)
		fail("fork: %m");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(m);
		if (setsid() < 0)
			_exit(1);
		s = open(name, O_RDWR);		/* our controlling terminal */
		if (s < 0)
			_exit(2);
		close(s);
		if (write(sync[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(sync[1]);
	if (read(sync[0], &c, 1) != 1)
		fail("the child did not open its terminal");
	close(sync[0]);

	publish(counter_path, count);
	test_ready();
	while (!test_sig_flag) {
		publish(counter_path, ++count);
		nanosleep(&ts, NULL);
	}
	if (waitpid(child, &status, WNOHANG) != 0)
		fail("the child is gone");
	if (ioctl(m, TIOCGSID, &sid) || sid != child)
		fail("the pty is no longer the child's terminal");
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	unlink(counter_path);
	pass();
}
