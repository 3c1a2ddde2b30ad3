/*
 * F_SETOWN and F_SETSIG: a pipe-free case on a regular file and a directory notification owner
 * (the owner is the task itself, by pid, and a process group), checked with F_GETOWN_EX and
 * F_GETSIG after restore.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct f_owner_ex o;
	char path[PATH_MAX];
	int a, b;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/fd-fown.data", test_dir());
	a = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	b = open(path, O_RDONLY);
	if (a < 0 || b < 0)
		fail("open: %m");
	o.type = F_OWNER_PID;
	o.pid = getpid();
	if (fcntl(a, F_SETOWN_EX, &o) || fcntl(a, F_SETSIG, SIGRTMIN + 1))
		fail("F_SETOWN_EX/F_SETSIG: %m");
	o.type = F_OWNER_PGRP;
	o.pid = getpgrp();
	if (fcntl(b, F_SETOWN_EX, &o))
		fail("F_SETOWN_EX pgrp: %m");

	test_ready();
	test_waitsig();

	if (fcntl(a, F_GETOWN_EX, &o) || o.type != F_OWNER_PID || o.pid != getpid())
		fail("owner of a: type %d pid %d, expected pid %d", o.type, o.pid, getpid());
	if (fcntl(a, F_GETSIG) != SIGRTMIN + 1)
		fail("signal of a: %d, expected %d", fcntl(a, F_GETSIG), SIGRTMIN + 1);
	if (fcntl(b, F_GETOWN_EX, &o) || o.type != F_OWNER_PGRP || o.pid != getpgrp())
		fail("owner of b: type %d pid %d, expected group %d", o.type, o.pid, getpgrp());
	if (fcntl(b, F_GETSIG) != 0)
		fail("b got a signal");
	unlink(path);
	pass();
}
