/*
 * Open file descriptions shared between a parent and its child (inherited at fork) are still
 * shared after restore: a file offset moved by the parent is seen by the child, an eventfd
 * written by the child is read by the parent, a pipe inherited with both ends carries data both
 * ways, and the child's own dup of an inherited fd shares it too.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define CHILD_DUP	500

static int file, efd, req[2], ans[2];

static void child(void)
{
	uint64_t one = 1;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(file, CHILD_DUP) != CHILD_DUP)
		_exit(10);
	if (read(req[0], &c, 1) != 1)		/* the parent moved the offset */
		_exit(11);
	if (lseek(file, 0, SEEK_CUR) != 4321 || lseek(CHILD_DUP, 0, SEEK_CUR) != 4321)
		_exit(12);
	if (write(efd, &one, 8) != 8)
		_exit(13);
	if (write(ans[1], "k", 1) != 1)
		_exit(14);
	_exit(0);
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], c;
	uint64_t v = 0;
	int status;
	pid_t pid;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/shared-tree.data", test_dir());
	file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	efd = eventfd(41, 0);
	if (file < 0 || efd < 0 || pipe(req) || pipe(ans))
		fail("setup: %m");
	lseek(file, 100, SEEK_SET);
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0)
		child();

	test_ready();
	test_waitsig();

	lseek(file, 4321, SEEK_SET);
	if (write(req[1], "go", 1) != 1 || read(ans[0], &c, 1) != 1)
		fail("the child does not answer: %m");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child failed its check (status %#x: 12 means the offset is not shared)",
		     status);
	if (read(efd, &v, 8) != 8 || v != 42)
		fail("eventfd is %llu, expected 42: not shared with the child",
		     (unsigned long long)v);
	unlink(path);
	pass();
}
