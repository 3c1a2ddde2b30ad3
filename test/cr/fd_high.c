/*
 * A sparse fd table with descriptors far above 1024: every fd comes back at its number, the
 * numbers in between stay free, dups above 1024 still share their file description.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>

static const int high[] = { 1023, 1024, 1025, 4000, 9999 };

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	struct rlimit rl;
	unsigned int i;
	int fd;

	test_init(argc, argv);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < 10000)
		skip("the open files hard limit is %llu", (unsigned long long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail("setrlimit: %m");
	snprintf(path, sizeof(path), "%s/fd-high.data", test_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("open: %m");
	for (i = 0; i < sizeof(high) / sizeof(high[0]); i++)
		if (dup2(fd, high[i]) != high[i])
			fail("dup2 to %d: %m", high[i]);
	if (fcntl(9999, F_SETFD, FD_CLOEXEC))
		fail("F_SETFD: %m");
	close(fd);

	test_ready();
	test_waitsig();

	for (i = 0; i < sizeof(high) / sizeof(high[0]); i++)
		if (fcntl(high[i], F_GETFD) < 0)
			fail("fd %d is missing", high[i]);
	for (fd = 1026; fd < 9999; fd++)
		if (fd != 4000 && fcntl(fd, F_GETFD) >= 0)
			fail("fd %d appeared", fd);
	if (!(fcntl(9999, F_GETFD) & FD_CLOEXEC) || (fcntl(4000, F_GETFD) & FD_CLOEXEC))
		fail("FD_CLOEXEC is not as it was");
	lseek(1023, 4242, SEEK_SET);
	if (lseek(9999, 0, SEEK_CUR) != 4242)
		fail("fds 1023 and 9999 no longer share their file description");
	unlink(path);
	pass();
}
