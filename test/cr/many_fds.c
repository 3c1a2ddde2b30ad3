/*
 * Many descriptors survive: 100 files, each opened at its own offset, and 1500 more descriptors
 * (dups, spread over the fd table up to fd 9000) sharing those open files. After restore every
 * fd is there, refers to its file and shares its offset with its original.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define NR_FILES	100
#define NR_DUPS		1500
#define FIRST_DUP	1000

static int files[NR_FILES];
static ino_t inos[NR_FILES];

static int dup_fd(int i)
{
	return FIRST_DUP + i * 5;
}

int main(int argc, char **argv)
{
	struct rlimit rl = { 10000, 10000 };
	char path[PATH_MAX];
	struct stat st;
	int i;

	test_init(argc, argv);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		skip("cannot raise RLIMIT_NOFILE to 10000: %m");
	for (i = 0; i < NR_FILES; i++) {
		snprintf(path, sizeof(path), "%s/many-fds-%d", test_dir(), i);
		files[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (files[i] < 0 || ftruncate(files[i], 10000) || fstat(files[i], &st))
			fail("create '%s': %m", path);
		inos[i] = st.st_ino;
		lseek(files[i], i * 7, SEEK_SET);
	}
	for (i = 0; i < NR_DUPS; i++)
		if (dup2(files[i % NR_FILES], dup_fd(i)) != dup_fd(i))
			fail("dup2 to %d: %m", dup_fd(i));

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_FILES; i++) {
		if (fstat(files[i], &st) || st.st_ino != inos[i])
			fail("fd %d is not file %d any more", files[i], i);
		if (lseek(files[i], 0, SEEK_CUR) != i * 7)
			fail("fd %d is at %lld, expected %d", files[i],
			     (long long)lseek(files[i], 0, SEEK_CUR), i * 7);
	}
	for (i = 0; i < NR_DUPS; i++) {
		int orig = files[i % NR_FILES];

		if (fstat(dup_fd(i), &st) || st.st_ino != inos[i % NR_FILES])
			fail("fd %d is not a dup of fd %d any more", dup_fd(i), orig);
		lseek(dup_fd(i), 5000 + i, SEEK_SET);
		if (lseek(orig, 0, SEEK_CUR) != 5000 + i)
			fail("fd %d does not share its offset with fd %d", dup_fd(i), orig);
	}
	for (i = 0; i < NR_FILES; i++) {
		snprintf(path, sizeof(path), "%s/many-fds-%d", test_dir(), i);
		unlink(path);
	}
	pass();
}
