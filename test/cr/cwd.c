/* The current directory survives: chdir into a directory we make, getcwd() equal after restore. */
#include "zdtmtst.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	char dir[PATH_MAX], before[PATH_MAX], after[PATH_MAX];
	struct stat st1, st2;

	test_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/cwd-test.d", test_dir());
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail("mkdir '%s': %m", dir);
	if (chdir(dir))
		fail("chdir '%s': %m", dir);
	if (!getcwd(before, sizeof(before)))
		fail("getcwd: %m");
	if (stat(".", &st1))
		fail("stat '.': %m");

	test_ready();
	test_waitsig();

	if (!getcwd(after, sizeof(after)))
		fail("getcwd after restore: %m");
	if (strcmp(before, after))
		fail("cwd was '%s', is '%s'", before, after);
	if (stat(".", &st2))
		fail("stat '.' after restore: %m");
	if (st1.st_dev != st2.st_dev || st1.st_ino != st2.st_ino)
		fail("cwd is another directory with the same name");
	if (chdir("/") || rmdir(dir))
		fail("cleanup of '%s': %m", dir);
	pass();
}
