/*
 * Files deleted while open: the contents (with a hole), size, offset and flags come back, the
 * file is still deleted (its link says so, its name is free), a dup shares its offset, and a
 * deleted file whose name was taken again by a new file comes back too, leaving the new one alone.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define SIZE	(300 * 1024)
#define DUP_FD	77

static char data[SIZE], got[SIZE];

static void check_deleted(int fd, const char *path)
{
	char link[PATH_MAX + 32], proc[64], want[PATH_MAX + 32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink: %m");
	link[n] = 0;
	snprintf(want, sizeof(want), "%s (deleted)", path);
	if (strcmp(link, want) && !strstr(link, " (deleted)"))
		fail("fd %d is '%s', expected a deleted file", fd, link);
}

int main(int argc, char **argv)
{
	char a_path[PATH_MAX], b_path[PATH_MAX];
	struct stat st;
	int a, b, b_new;

	test_init(argc, argv);
	test_fill(data, sizeof(data), 99);
	memset(data + 4096, 0, 8192);
	snprintf(a_path, sizeof(a_path), "%s/deleted-a", test_dir());
	snprintf(b_path, sizeof(b_path), "%s/deleted-b", test_dir());
	a = open(a_path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	b = open(b_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (a < 0 || b < 0)
		fail("open: %m");
	if (pwrite(a, data, 4096, 0) != 4096 ||
	    pwrite(a, data + 12288, SIZE - 12288, 12288) != SIZE - 12288 ||
	    write(b, "bbbb", 4) != 4)
		fail("write: %m");
	lseek(a, 5000, SEEK_SET);
	if (dup2(a, DUP_FD) != DUP_FD)
		fail("dup2: %m");
	unlink(a_path);
	unlink(b_path);
	b_new = open(b_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (b_new < 0 || write(b_new, "new file", 8) != 8)
		fail("create the new b: %m");
	close(b_new);

	test_ready();
	test_waitsig();

	check_deleted(a, a_path);
	check_deleted(b, b_path);
	if (access(a_path, F_OK) == 0)
		fail("'%s' exists again", a_path);
	if (fstat(a, &st) || st.st_size != SIZE || st.st_nlink != 0 || (st.st_mode & 0777) != 0640)
		fail("a: size %lld nlink %lu mode %o", (long long)st.st_size,
		     (unsigned long)st.st_nlink, st.st_mode & 0777);
	if (lseek(DUP_FD, 0, SEEK_CUR) != 5000)
		fail("offset of a lost");
	lseek(a, 100, SEEK_SET);
	if (lseek(DUP_FD, 0, SEEK_CUR) != 100)
		fail("a and its dup no longer share an offset");
	if (pread(a, got, SIZE, 0) != SIZE || memcmp(got, data, SIZE))
		fail("contents of a differ");
	if (!(fcntl(b, F_GETFL) & O_APPEND) || (fcntl(b, F_GETFL) & O_ACCMODE) != O_WRONLY)
		fail("flags of b lost");
	if (write(b, "cc", 2) != 2 || fstat(b, &st) || st.st_size != 6)
		fail("b: append gave size %lld", (long long)st.st_size);
	if (stat(b_path, &st) || st.st_size != 8)
		fail("the new '%s' was touched", b_path);
	unlink(b_path);
	pass();
}
