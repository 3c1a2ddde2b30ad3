/*
 * Regular file descriptors survive: files open O_RDONLY, O_WRONLY, O_RDWR (at fd 100, with
 * FD_CLOEXEC) and O_APPEND, each at its own offset. After restore the fd numbers, offsets (lseek
 * SEEK_CUR), status flags (F_GETFL), fd flags (F_GETFD), the files behind them and the contents
 * are right, and reads and writes land where expected.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define FILE_SIZE	8192

struct tfile {
	const char *name;
	int flags;
	off_t pos;
	int fd;
	int fl, fdfl;
	ino_t ino;
	char path[PATH_MAX];
};

static struct tfile files[] = {
	{ .name = "ro", .flags = O_RDONLY, .pos = 100 },
	{ .name = "wo", .flags = O_WRONLY, .pos = 2000 },
	{ .name = "rw", .flags = O_RDWR | O_CLOEXEC, .pos = 5000 },
	{ .name = "app", .flags = O_WRONLY | O_APPEND, .pos = 0 },
};

#define NR_FILES	(sizeof(files) / sizeof(files[0]))
#define RW_FD		100

static unsigned char content[FILE_SIZE];

static void make_file(struct tfile *f)
{
	struct stat st;
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/reg-%s.data", test_dir(), f->name);
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, FILE_SIZE) != FILE_SIZE || close(fd))
		fail("create '%s': %m", f->path);

	f->fd = open(f->path, f->flags);
	if (f->fd < 0)
		fail("open '%s': %m", f->path);
	if (f->flags & O_CLOEXEC) {
		if (dup3(f->fd, RW_FD, O_CLOEXEC) != RW_FD)
			fail("dup3: %m");
		close(f->fd);
		f->fd = RW_FD;
	}
	if (f->flags & O_APPEND) {
		if (write(f->fd, "appended-1", 10) != 10)
			fail("append: %m");
	} else if (lseek(f->fd, f->pos, SEEK_SET) != f->pos) {
		fail("lseek: %m");
	}
	if (f->flags & O_APPEND)
		f->pos = FILE_SIZE + 10;
	f->fl = fcntl(f->fd, F_GETFL);
	f->fdfl = fcntl(f->fd, F_GETFD);
	if (fstat(f->fd, &st))
		fail("fstat: %m");
	f->ino = st.st_ino;
}

static void check_file(struct tfile *f)
{
	struct stat st;
	off_t pos;

	pos = lseek(f->fd, 0, SEEK_CUR);
	if (pos != f->pos)
		fail("%s: fd %d at offset %lld, expected %lld", f->name, f->fd, (long long)pos,
		     (long long)f->pos);
	if (fcntl(f->fd, F_GETFL) != f->fl)
		fail("%s: F_GETFL %#x, expected %#x", f->name, fcntl(f->fd, F_GETFL), f->fl);
	if (fcntl(f->fd, F_GETFD) != f->fdfl)
		fail("%s: F_GETFD %#x, expected %#x", f->name, fcntl(f->fd, F_GETFD), f->fdfl);
	if (fstat(f->fd, &st))
		fail("%s: fstat: %m", f->name);
	if (st.st_ino != f->ino)
		fail("%s: fd %d is another file (inode %lu, was %lu)", f->name, f->fd,
		     (unsigned long)st.st_ino, (unsigned long)f->ino);
}

static void read_back(const char *path, unsigned char *buf, size_t len, size_t *ret_len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		fail("open '%s': %m", path);
	n = pread(fd, buf, len, 0);
	close(fd);
	if (n < 0)
		fail("read '%s': %m", path);
	*ret_len = n;
}

int main(int argc, char **argv)
{
	static unsigned char want[FILE_SIZE + 64], got[FILE_SIZE + 64];
	unsigned char buf[64];
	size_t len;
	unsigned int i;

	test_init(argc, argv);
	test_fill(content, sizeof(content), 2024);
	for (i = 0; i < NR_FILES; i++)
		make_file(&files[i]);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_FILES; i++)
		check_file(&files[i]);

	/* O_RDONLY at 100: reads the file from there, and cannot write. */
	if (read(files[0].fd, buf, 64) != 64 || memcmp(buf, content + 100, 64))
		fail("ro: read after restore returned other data");
	if (write(files[0].fd, "x", 1) != -1)
		fail("ro: the read-only fd is writable after restore");

	/* O_WRONLY at 2000: the write lands at 2000. */
	if (write(files[1].fd, "WRITTEN", 7) != 7)
		fail("wo: write: %m");
	memcpy(want, content, FILE_SIZE);
	memcpy(want + 2000, "WRITTEN", 7);
	read_back(files[1].path, got, sizeof(got), &len);
	if (len != FILE_SIZE || memcmp(got, want, FILE_SIZE))
		fail("wo: the write did not land at offset 2000");

	/* O_RDWR at 5000: read 64, then write at 5064. */
	if (read(files[2].fd, buf, 64) != 64 || memcmp(buf, content + 5000, 64))
		fail("rw: read after restore returned other data");
	if (write(files[2].fd, "RW", 2) != 2)
		fail("rw: write: %m");
	memcpy(want, content, FILE_SIZE);
	memcpy(want + 5064, "RW", 2);
	read_back(files[2].path, got, sizeof(got), &len);
	if (len != FILE_SIZE || memcmp(got, want, FILE_SIZE))
		fail("rw: the write did not land at offset 5064");

	/* O_APPEND: a write goes to the end even after seeking back. */
	lseek(files[3].fd, 0, SEEK_SET);
	if (write(files[3].fd, "appended-2", 10) != 10)
		fail("app: write: %m");
	memcpy(want, content, FILE_SIZE);
	memcpy(want + FILE_SIZE, "appended-1appended-2", 20);
	read_back(files[3].path, got, sizeof(got), &len);
	if (len != FILE_SIZE + 20 || memcmp(got, want, FILE_SIZE + 20))
		fail("app: file is %zu bytes, appends not at the end", len);

	for (i = 0; i < NR_FILES; i++) {
		close(files[i].fd);
		unlink(files[i].path);
	}
	pass();
}
