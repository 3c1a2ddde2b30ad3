/*
 * Descriptors of other kinds than plain files survive: a directory (O_DIRECTORY) part-way
 * through readdir, an O_PATH descriptor, /dev/null and /dev/zero, and a file opened
 * O_NONBLOCK|O_NOATIME|O_SYNC. Each keeps its flags, refers to the same inode (or device) and
 * still works.
 */
#include "zdtmtst.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct fd_rec {
	const char *what;
	int fd, fl;
	struct stat st;
};

static void record(struct fd_rec *r, const char *what, int fd)
{
	if (fd < 0)
		fail("open %s: %m", what);
	r->what = what;
	r->fd = fd;
	r->fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &r->st))
		fail("fstat %s: %m", what);
}

static void check(const struct fd_rec *r)
{
	struct stat st;
	int fl = fcntl(r->fd, F_GETFL);

	if (fl != r->fl)
		fail("%s: F_GETFL %#x, was %#x", r->what, fl, r->fl);
	if (fstat(r->fd, &st))
		fail("%s: fstat: %m", r->what);
	if (st.st_ino != r->st.st_ino || st.st_dev != r->st.st_dev || st.st_rdev != r->st.st_rdev)
		fail("%s: refers to another file now", r->what);
}

int main(int argc, char **argv)
{
	struct fd_rec dir, opath, null, zero, flagged;
	char path[PATH_MAX], buf[4096];
	char names_before[64][256];
	long nread, n;
	int i, nr = 0;
	off_t dpos;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/fd-kinds.d", test_dir());
	mkdir(path, 0755);
	for (i = 0; i < 40; i++) {
		char f[PATH_MAX + 16];

		snprintf(f, sizeof(f), "%s/entry-%02d", path, i);
		close(open(f, O_CREAT | O_WRONLY, 0644));
	}
	record(&dir, "directory", open(path, O_RDONLY | O_DIRECTORY));
	/* Read part of the directory: its position must survive. */
	nread = syscall(SYS_getdents64, dir.fd, buf, 200);
	if (nread <= 0)
		fail("getdents64: %m");
	dpos = lseek(dir.fd, 0, SEEK_CUR);
	n = syscall(SYS_getdents64, dir.fd, buf, sizeof(buf));
	for (long off = 0; off < n && nr < 64; nr++) {
		struct dirent64 *d = (struct dirent64 *)(buf + off);

		snprintf(names_before[nr], sizeof(names_before[nr]), "%s", d->d_name);
		off += d->d_reclen;
	}
	lseek(dir.fd, dpos, SEEK_SET);

	record(&opath, "O_PATH fd", open(path, O_PATH));
	record(&null, "/dev/null", open("/dev/null", O_RDWR));
	record(&zero, "/dev/zero", open("/dev/zero", O_RDONLY));
	snprintf(path, sizeof(path), "%s/fd-kinds.data", test_dir());
	record(&flagged, "O_NONBLOCK|O_NOATIME|O_SYNC file",
	       open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_NOATIME | O_SYNC, 0644));

	test_ready();
	test_waitsig();

	check(&dir);
	check(&opath);
	check(&null);
	check(&zero);
	check(&flagged);

	if (lseek(dir.fd, 0, SEEK_CUR) != dpos)
		fail("the directory position moved");
	n = syscall(SYS_getdents64, dir.fd, buf, sizeof(buf));
	for (long off = 0, k = 0; off < n && k < nr; k++) {
		struct dirent64 *d = (struct dirent64 *)(buf + off);

		if (strcmp(d->d_name, names_before[k]))
			fail("readdir continues with '%s', expected '%s'", d->d_name,
			     names_before[k]);
		off += d->d_reclen;
	}
	if (read(zero.fd, buf, 16) != 16 || buf[0] || buf[15])
		fail("/dev/zero does not read zeros");
	if (write(null.fd, "x", 1) != 1)
		fail("/dev/null does not take writes");
	if (write(flagged.fd, "abc", 3) != 3)
		fail("write to the flagged file: %m");

	unlink(path);
	snprintf(path, sizeof(path), "%s/fd-kinds.d", test_dir());
	for (i = 0; i < 40; i++) {
		char f[PATH_MAX + 16];

		snprintf(f, sizeof(f), "%s/entry-%02d", path, i);
		unlink(f);
	}
	rmdir(path);
	pass();
}
