/*
 * A pipe between two tasks, each holding one end (the usual parent/child pipe): data queued
 * before the dump arrives once, the ends stay connected both for data and for EOF, and a
 * memfd that the child opened again on its own (a second open file description) still shares
 * the parent's inode.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static int p2c[2], c2p[2], mfd;

static void child(void)
{
	char buf[64], path[64];
	int own;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(p2c[1]);
	close(c2p[0]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	own = open(path, O_RDWR);
	close(mfd);
	if (own < 0)
		_exit(10);
	/* the parent wrote "before" before the dump and "after" after the restore */
	if (read(p2c[0], buf, 6) != 6 || memcmp(buf, "before", 6))
		_exit(11);
	if (read(p2c[0], buf, 5) != 5 || memcmp(buf, "after", 5))
		_exit(12);
	if (read(p2c[0], buf, 1) != 0)		/* the parent closed its end: EOF */
		_exit(13);
	if (pwrite(own, "child", 5, 0) != 5)
		_exit(14);
	if (write(c2p[1], "done", 4) != 4)
		_exit(15);
	_exit(0);
}

int main(int argc, char **argv)
{
	char buf[8];
	int status;
	pid_t pid;

	test_init(argc, argv);
	mfd = memfd_create("tree", 0);
	if (mfd < 0 || ftruncate(mfd, 4096) || pipe(p2c) || pipe(c2p))
		fail("setup: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child();
	close(p2c[0]);
	close(c2p[1]);
	if (write(p2c[1], "before", 6) != 6)
		fail("write: %m");
	usleep(100000);		/* let the child open the memfd again */

	test_ready();
	test_waitsig();

	if (write(p2c[1], "after", 5) != 5)
		fail("write after restore: %m");
	close(p2c[1]);
	if (read(c2p[0], buf, 4) != 4 || memcmp(buf, "done", 4))
		fail("the child did not answer through its pipe");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its check (status %#x)", status);
	if (pread(mfd, buf, 5, 0) != 5 || memcmp(buf, "child", 5))
		fail("the child's memfd is no longer the parent's");
	pass();
}
