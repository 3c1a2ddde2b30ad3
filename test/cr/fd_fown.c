/*
 * F_SETOWN, F_SETSIG and O_ASYNC (the owner is the task itself, by pid, or its process
 * group), checked with F_GETOWN_EX, F_GETSIG and F_GETFL after restore.
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
	int a, b, r;

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
	/* O_ASYNC needs a file with fasync (a regular file has none): a random device */
	r = open("/dev/urandom", O_RDONLY);
	if (r < 0 || fcntl(r, F_SETOWN, getpid()) || fcntl(r, F_SETFL, O_ASYNC) ||
	    !(fcntl(r, F_GETFL) & O_ASYNC))
		fail("O_ASYNC on /dev/urandom: %m");
	o.type = F_OWNER_PGRP;
	o.pid = getpgrp();
	if (fcntl(b, F_SETOWN_EX, &o))
		fail("F_SETOWN_EX pgrp: %m");

	test_ready();
	test_waitsig();

	if (fcntl(a, F_GETOWN_EX, &o) || o.type != F_OWNER_PID || o.pid != getpid())
		fail("owner of a: type %d pid %d, expected pid %d", o.type, o.pid, getpid());
	if (!(fcntl(r, F_GETFL) & O_ASYNC) || (fcntl(b, F_GETFL) & O_ASYNC))
		fail("O_ASYNC is not as it was");
	if (fcntl(r, F_GETOWN) != getpid())
		fail("owner of /dev/urandom: %d", fcntl(r, F_GETOWN));
	if (fcntl(a, F_GETSIG) != SIGRTMIN + 1)
		fail("signal of a: %d, expected %d", fcntl(a, F_GETSIG), SIGRTMIN + 1);
	if (fcntl(b, F_GETOWN_EX, &o) || o.type != F_OWNER_PGRP || o.pid != getpgrp())
		fail("owner of b: type %d pid %d, expected group %d", o.type, o.pid, getpgrp());
	if (fcntl(b, F_GETSIG) != 0)
		fail("b got a signal");
	unlink(path);
	pass();
}
