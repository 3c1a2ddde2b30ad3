/*
 * memfd: contents, size, name, seals (and the F_SEAL_SEAL of a memfd created without
 * MFD_ALLOW_SEALING), offsets, and a second open of one memfd still sharing its inode.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define SIZE	100000

static char data[SIZE], got[SIZE];

static void check_link(int fd, const char *want)
{
	char path[64], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink %s: %m", path);
	link[n] = 0;
	if (strcmp(link, want))
		fail("fd %d is '%s', expected '%s'", fd, link, want);
}

int main(int argc, char **argv)
{
	int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	int a, b, ro, s;
	char path[64], c;
	struct stat st;

	test_init(argc, argv);
	test_fill(data, sizeof(data), 7);
	a = memfd_create("sealed one", MFD_ALLOW_SEALING);
	b = memfd_create("plain", 0);
	if (a < 0 || b < 0)
		fail("memfd_create: %m");
	if (write(a, data, SIZE) != SIZE || fcntl(a, F_ADD_SEALS, seals) ||
	    write(b, "hello world", 11) != 11 || fchmod(b, 0600))
		fail("setup: %m");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b);
	ro = open(path, O_RDONLY);
	if (ro < 0 || lseek(ro, 6, SEEK_SET) != 6 || lseek(a, 123, SEEK_SET) != 123)
		fail("reopen/seek: %m");

	test_ready();
	test_waitsig();

	check_link(a, "/memfd:sealed one (deleted)");
	check_link(b, "/memfd:plain (deleted)");
	s = fcntl(a, F_GET_SEALS);
	if (s != seals)
		fail("seals of a: %#x, expected %#x", s, seals);
	if (fcntl(b, F_GET_SEALS) != F_SEAL_SEAL)
		fail("b can be sealed now: seals %#x", fcntl(b, F_GET_SEALS));
	if (lseek(a, 0, SEEK_CUR) != 123 || lseek(ro, 0, SEEK_CUR) != 6)
		fail("offsets lost");
	if (pread(a, got, SIZE, 0) != SIZE || memcmp(got, data, SIZE))
		fail("contents of a differ");
	if (write(a, "x", 1) != -1 || errno != EPERM || ftruncate(a, 10) != -1)
		fail("a is writable or shrinkable again");
	if ((fcntl(ro, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(b, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("access modes lost");
	if (fstat(b, &st) || (st.st_mode & 0777) != 0600 || st.st_size != 11)
		fail("b: mode %o size %lld", st.st_mode & 0777, (long long)st.st_size);
	if (pwrite(b, "W", 1, 6) != 1 || read(ro, &c, 1) != 1 || c != 'W')
		fail("the second open of b does not share its inode any more");
	pass();
}
