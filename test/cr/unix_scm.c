/*
 * Files in flight: SCM_RIGHTS messages queued in a unix socketpair carry a regular file the
 * task no longer has open (at some offset), one it still has open (the same open file
 * description: the offset is shared), and one end of another socketpair the task has open. After
 * restore the received fds refer to the same files: same contents at the same offset, the
 * shared offset still shared, the socket the same as the task's and still connected.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

static void send_fds(int sk, const char *data, const int *fds, int n)
{
	if (test_send_fds(sk, data, strlen(data), fds, n))
		fail("sendmsg: %m");
}

static int recv_fds(int sk, const char *want, int *fds, int n)
{
	char buf[64];
	int got = 0;
	ssize_t len = test_recv_fds(sk, buf, sizeof(buf), fds, n, &got, MSG_DONTWAIT);

	if (len != (ssize_t)strlen(want) || memcmp(buf, want, len))
		fail("got %zd bytes '%.*s', expected '%s'", len, len > 0 ? (int)len : 0, buf, want);
	if (got != n)
		fail("'%s' came with %d fds, not its %d", want, got, n);
	return 0;
}

static int make_file(const char *name, const char *content, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/%s", test_dir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		fail("create '%s': %m", path);
	return fd;
}

static void expect_read(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n))
		fail("%s: read %zd bytes '%.*s', expected '%s'", what, n, n > 0 ? (int)n : 0, buf,
		     want);
}

int main(int argc, char **argv)
{
	char p1[256], p2[256], buf[16];
	int sv[2], other[2], f1, f2, fds[3];
	struct stat st1, st2, st;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) || socketpair(AF_UNIX, SOCK_STREAM, 0, other))
		fail("socketpair: %m");
	f1 = make_file("gone.data", "0123456789abcdef", p1, sizeof(p1));
	f2 = make_file("kept.data", "ABCDEFGHIJKLMNOP", p2, sizeof(p2));
	lseek(f1, 10, SEEK_SET);
	lseek(f2, 4, SEEK_SET);
	fstat(f1, &st1);
	fstat(f2, &st2);
	fds[0] = f1;
	fds[1] = f2;
	fds[2] = other[0];
	send_fds(sv[0], "three files", fds, 3);
	send_fds(sv[0], "again", &f2, 1);
	close(f1);
	if (send(other[1], "to the socket in flight", 23, 0) != 23)
		fail("send: %m");

	test_ready();
	test_waitsig();

	recv_fds(sv[1], "three files", fds, 3);
	if (fstat(fds[0], &st) || st.st_ino != st1.st_ino || st.st_dev != st1.st_dev)
		fail("the first fd in flight is not '%s'", p1);
	if (lseek(fds[0], 0, SEEK_CUR) != 10)
		fail("the first fd in flight is not at offset 10");
	expect_read(fds[0], "abcdef", "file in flight");
	if (fstat(fds[1], &st) || st.st_ino != st2.st_ino)
		fail("the second fd in flight is not '%s'", p2);
	expect_read(fds[1], "EFGH" "IJKLMNOP", "file in flight and open");
	if (lseek(f2, 0, SEEK_CUR) != 16)
		fail("the file in flight does not share its offset with the task's fd");
	if (fstat(fds[2], &st) || fstat(other[0], &st1) || st.st_ino != st1.st_ino)
		fail("the socket in flight is not the task's");
	if (recv(fds[2], buf, sizeof(buf), MSG_DONTWAIT) != sizeof(buf) ||
	    memcmp(buf, "to the socket in", sizeof(buf)))
		fail("the socket in flight lost its data");
	if (send(other[1], "x", 1, 0) != 1 || recv(fds[2], buf, sizeof(buf), 0) < 1)
		fail("the socket in flight is no longer connected");
	recv_fds(sv[1], "again", fds, 1);
	if (lseek(fds[0], 0, SEEK_CUR) != 16)
		fail("the second message's fd is not the same open file");
	unlink(p1);
	unlink(p2);
	pass();
}
