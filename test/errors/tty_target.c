/*
 * Error-case target (test/errors/cases.py): a zdtm-protocol program holding PATH, a pty slave
 * of the runner's (a terminal the dumped tree does not own), open O_RDWR | O_NOCTTY. It
 * publishes a count in <dir>/counter every 10 ms. After SIGTERM it writes "alive\n" to the
 * terminal: the runner reads it at its master.
 *
 *   tty_target PATH
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	char counter_path[PATH_MAX], **args;
	unsigned long count = 0;
	int fd;

	if (test_init_args(argc, argv, &args) != 1)
		fail("usage: tty_target PATH");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	fd = open(args[0], O_RDWR | O_NOCTTY);
	if (fd < 0 || !isatty(fd))
		fail("open '%s': %m", args[0]);

	publish(counter_path, count);
	test_ready();
	while (!test_sig_flag) {
		publish(counter_path, ++count);
		nanosleep(&ts, NULL);
	}
	if (!isatty(fd) || write(fd, "alive\n", 6) != 6)
		fail("the terminal no longer works: %m");
	unlink(counter_path);
	pass();
}
