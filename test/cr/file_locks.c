/*
 * File locks (--file-locks): a flock() write lock, a POSIX write lock on a range and an OFD read
 * lock are held again after restore, as a helper process sees them; the areas outside the POSIX
 * range stay free.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/wait.h>

static char p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];

/* In a child: what another process sees. Returns the failure or NULL. */
static const char *probe(pid_t owner)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	int a = open(p1, O_RDWR), b = open(p2, O_RDWR), c = open(p3, O_RDWR);

	if (a < 0 || b < 0 || c < 0)
		return "open";
	if (flock(a, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
		return "the flock lock is not held";
	if (fcntl(b, F_GETLK, &fl) || fl.l_type != F_WRLCK || fl.l_pid != owner ||
	    fl.l_start != 10 || fl.l_len != 20)
		return "the POSIX lock is not held by the restored task on 10..29";
	fl.l_type = F_WRLCK;
	fl.l_start = 30;
	fl.l_len = 100;
	if (fcntl(b, F_GETLK, &fl) || fl.l_type != F_UNLCK)
		return "bytes after the POSIX range are locked";
	fl.l_type = F_WRLCK;
	fl.l_start = 0;
	fl.l_len = 0;
	fl.l_pid = 0;
	if (fcntl(c, F_OFD_GETLK, &fl) || fl.l_type != F_RDLCK || fl.l_pid != -1)
		return "the OFD read lock is not held";
	fl.l_type = F_RDLCK;
	fl.l_pid = 0;
	if (fcntl(c, F_OFD_SETLK, &fl))
		return "a second OFD read lock is refused";
	return NULL;
}

static void check_from_child(void)
{
	pid_t owner = getpid(), pid;
	const char *why;
	int st;

	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		why = probe(owner);
		if (why)
			test_msg("%s", why);
		_exit(why ? 1 : 0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		fail("a helper process does not see the locks held (see the message above)");
}

int main(int argc, char **argv)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20 };
	struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int a, b, c;

	test_init(argc, argv);
	snprintf(p1, sizeof(p1), "%s/lock-flock", test_dir());
	snprintf(p2, sizeof(p2), "%s/lock-posix", test_dir());
	snprintf(p3, sizeof(p3), "%s/lock-ofd", test_dir());
	a = open(p1, O_RDWR | O_CREAT, 0644);
	b = open(p2, O_RDWR | O_CREAT, 0644);
	c = open(p3, O_RDWR | O_CREAT, 0644);
	if (a < 0 || b < 0 || c < 0)
		fail("open: %m");
	if (flock(a, LOCK_EX) || fcntl(b, F_SETLK, &fl) || fcntl(c, F_OFD_SETLK, &ofd))
		fail("lock: %m");
	check_from_child();

	test_ready();
	test_waitsig();

	check_from_child();
	unlink(p1);
	unlink(p2);
	unlink(p3);
	pass();
}
