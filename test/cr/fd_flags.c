/*
 * Descriptor and file flags: O_APPEND, O_NONBLOCK, O_DIRECT (where the filesystem has it),
 * O_RDONLY/O_WRONLY, FD_CLOEXEC on some fds only, a file opened through /proc/self/fd, a
 * directory (its offset too), /dev/null, /dev/zero, /dev/urandom by path and device number.
 */
#include "zdtmtst.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static void check_fl(int fd, int want, int mask, const char *what)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & mask) != want)
		fail("%s: flags %#o, expected %#o in %#o", what, fl, want, mask);
}

static void check_cloexec(int fd, bool want, const char *what)
{
	if (!!(fcntl(fd, F_GETFD) & FD_CLOEXEC) != want)
		fail("%s: FD_CLOEXEC is %s", what, want ? "lost" : "set");
}

static void check_dev(int fd, unsigned int maj, unsigned int min, const char *what)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISCHR(st.st_mode) || major(st.st_rdev) != maj ||
	    minor(st.st_rdev) != min)
		fail("%s is not device %u:%u", what, maj, min);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], proc[64], buf[64];
	int app, nb, dio, ro, via_proc, dir, null, zero, urnd;
	bool have_direct;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/fd-flags.data", test_dir());
	app = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (app < 0 || write(app, "0123456789", 10) != 10)
		fail("create: %m");
	nb = open(path, O_RDWR | O_NONBLOCK);
	dio = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	have_direct = dio >= 0;
	if (!have_direct)
		dio = open(path, O_RDONLY);
	ro = open(path, O_RDONLY);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", ro);
	via_proc = open(proc, O_RDONLY);
	dir = open(test_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	null = open("/dev/null", O_RDWR);
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	urnd = open("/dev/urandom", O_RDONLY | O_NONBLOCK);
	if (nb < 0 || dio < 0 || ro < 0 || via_proc < 0 || dir < 0 || null < 0 || zero < 0 ||
	    urnd < 0)
		fail("open: %m");
	lseek(via_proc, 3, SEEK_SET);
	lseek(ro, 7, SEEK_SET);

	test_ready();
	test_waitsig();

	check_fl(app, O_WRONLY | O_APPEND, O_ACCMODE | O_APPEND | O_NONBLOCK, "O_APPEND fd");
	check_cloexec(app, true, "O_APPEND fd");
	check_fl(nb, O_RDWR | O_NONBLOCK, O_ACCMODE | O_APPEND | O_NONBLOCK, "O_NONBLOCK fd");
	check_cloexec(nb, false, "O_NONBLOCK fd");
	if (have_direct)
		check_fl(dio, O_DIRECT, O_DIRECT, "O_DIRECT fd");
	check_fl(ro, O_RDONLY, O_ACCMODE, "read-only fd");
	if (lseek(ro, 0, SEEK_CUR) != 7 || lseek(via_proc, 0, SEEK_CUR) != 3)
		fail("the two opens lost their own offsets");
	if (read(via_proc, buf, 2) != 2 || memcmp(buf, "34", 2))
		fail("the file opened through /proc/self/fd reads wrong");
	if (write(app, "ab", 2) != 2 || pread(nb, buf, 12, 0) != 12 || memcmp(buf, "0123456789ab", 12))
		fail("O_APPEND write did not go to the end");
	check_fl(dir, O_DIRECTORY, O_DIRECTORY, "directory fd");
	check_cloexec(dir, true, "directory fd");
	if (fchdir(dir) || access("fd-flags.data", F_OK))
		fail("the directory fd is not the test dir");
	check_dev(null, 1, 3, "/dev/null");
	check_dev(zero, 1, 5, "/dev/zero");
	check_dev(urnd, 1, 9, "/dev/urandom");
	check_cloexec(zero, true, "/dev/zero");
	check_fl(urnd, O_RDONLY | O_NONBLOCK, O_ACCMODE | O_NONBLOCK, "/dev/urandom");
	if (read(zero, buf, 8) != 8 || buf[0] || buf[7])
		fail("/dev/zero reads wrong");
	if (write(null, "x", 1) != 1 || read(urnd, buf, 8) != 8)
		fail("/dev/null or /dev/urandom do not work");
	unlink(path);
	pass();
}
