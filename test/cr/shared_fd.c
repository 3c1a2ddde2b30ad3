/*
 * Open file descriptions stay shared or separate as they were: fd b is a dup of fd a (one file
 * description: one offset), fd c opened the same file again (its own offset). After restore
 * moving a moves b but not c, and the fd numbers are the same (including a high one).
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#define HIGH_FD	777

int main(int argc, char **argv)
{
	char path[PATH_MAX], buf[4096] = { 0 };
	int a, b, c;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/shared-fd.data", test_dir());
	a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (a < 0 || write(a, buf, sizeof(buf)) != sizeof(buf))
		fail("create '%s': %m", path);
	b = dup2(a, HIGH_FD);
	c = open(path, O_RDONLY);
	if (b != HIGH_FD || c < 0)
		fail("dup2/open: %m");
	lseek(a, 100, SEEK_SET);
	lseek(c, 200, SEEK_SET);

	test_ready();
	test_waitsig();

	if (fcntl(a, F_GETFD) < 0 || fcntl(HIGH_FD, F_GETFD) < 0 || fcntl(c, F_GETFD) < 0)
		fail("an fd is missing after restore");
	if (lseek(HIGH_FD, 0, SEEK_CUR) != 100 || lseek(c, 0, SEEK_CUR) != 200)
		fail("offsets are %lld and %lld, expected 100 and 200",
		     (long long)lseek(HIGH_FD, 0, SEEK_CUR), (long long)lseek(c, 0, SEEK_CUR));
	lseek(a, 1000, SEEK_SET);
	if (lseek(HIGH_FD, 0, SEEK_CUR) != 1000)
		fail("fd %d and its dup %d no longer share an offset", a, HIGH_FD);
	if (lseek(c, 0, SEEK_CUR) != 200)
		fail("fd %d shares an offset with fd %d: they were separate opens", c, a);
	unlink(path);
	pass();
}
