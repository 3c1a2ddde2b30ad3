/*
 * fanotify and inotify descriptions shared across a tree. The root R makes a fanotify group
 * (an inode mark on file A: FAN_MODIFY) and an inotify instance (watches on file B: IN_MODIFY,
 * and on the directory: IN_CREATE, after a removed watch, so the wds have a gap), forks C1,
 * which forks G; both inherit both. R closes its fanotify fd (only C1 and G hold the group);
 * G adds an epoll instance watching the inotify fd. Nothing is queued at dump time.
 *
 * After restore G writes to A and B and waits for its epoll to report the inotify fd readable;
 * C1 then reads the fanotify event (FAN_MODIFY of A, by G's pid) and checks with kcmp() that
 * G's fanotify fd is still its own open file; R checks the same for the inotify fd in C1 and
 * G, reads IN_MODIFY on B's wd, creates a file and reads IN_CREATE with its name on the
 * directory's wd.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static char dir[PATH_MAX], fa[PATH_MAX + 8], fb[PATH_MAX + 8], fc[PATH_MAX + 8];
static int fan, ino, wd_b, wd_dir, rdy[2];
static pid_t c1, g;

static int kcmp_file(pid_t a, pid_t b, int fd)
{
	return syscall(SYS_kcmp, a, b, KCMP_FILE, fd, fd);
}

static int append(const char *p)
{
	int fd = open(p, O_WRONLY | O_APPEND);
	int ret = fd >= 0 && write(fd, "x", 1) == 1 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return ret;
}

static void run_g(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(0);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ino, &ev))
		_exit(3);
	if (write(rdy[1], "g", 1) != 1)
		_exit(3);
	test_waitsig();
	if (epoll_wait(ep, &ev, 1, 0) != 0)
		_exit(20);	/* readable before anything happened */
	if (append(fa) || append(fb))
		_exit(21);
	if (epoll_wait(ep, &ev, 1, 5000) != 1 || !(ev.events & EPOLLIN))
		_exit(22);
	_exit(0);
}

static void run_c1(void)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m = (void *)buf;
	struct stat st, sa;
	char link[64];
	int status;
	ssize_t n;

	g = fork();
	if (g < 0)
		_exit(3);
	if (g == 0)
		run_g();
	if (write(rdy[1], "c", 1) != 1)
		_exit(3);
	test_waitsig();
	if (kcmp_file(getpid(), g, fan))	/* before G may exit */
		_exit(10);
	kill(g, SIGTERM);
	status = test_reap(g);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		_exit(WIFEXITED(status) ? 40 + WEXITSTATUS(status) % 40 : 39);
	n = read(fan, buf, sizeof(buf));
	if (n < (ssize_t)sizeof(*m) || !FAN_EVENT_OK(m, n))
		_exit(11);
	if (!(m->mask & FAN_MODIFY) || m->pid != g)
		_exit(12);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
	if (m->fd < 0 || fstat(m->fd, &st) || stat(fa, &sa) || st.st_ino != sa.st_ino)
		_exit(13);
	close(m->fd);
	m = FAN_EVENT_NEXT(m, n);
	if (FAN_EVENT_OK(m, n))
		_exit(14);	/* one write, one event */
	_exit(0);
}

/* Read one inotify event: 0 if it is @mask on @wd (with @name if not NULL). */
static int inotify_expect(int wd, uint32_t mask, const char *name)
{
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e = (void *)buf;
	ssize_t n = read(ino, buf, sizeof(buf));

	if (n < (ssize_t)sizeof(*e)) {
		test_msg("inotify read: %zd (%m)", n);
		return -1;
	}
	if (e->wd != wd || !(e->mask & mask) || (name && (!e->len || strcmp(e->name, name)))) {
		test_msg("inotify event wd %d mask %#x name '%s', expected wd %d mask %#x name '%s'",
			 e->wd, e->mask, e->len ? e->name : "", wd, mask, name ? name : "");
		return -1;
	}
	return 0;
}

static int touch(const char *p)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int status, gone, i;
	char c;

	test_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/notify_tree", test_dir());
	snprintf(fa, sizeof(fa), "%s/A", dir);
	snprintf(fb, sizeof(fb), "%s/B", dir);
	snprintf(fc, sizeof(fc), "%s/C", dir);
	if ((mkdir(dir, 0700) && errno != EEXIST) || touch(fa) || touch(fb) || pipe(rdy))
		fail("setup in %s: %m", dir);
	unlink(fc);
	fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
	if (fan < 0)
		skip("fanotify_init: %m");
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, fa))
		fail("fanotify_mark: %m");
	ino = inotify_init1(IN_NONBLOCK);
	if (ino < 0)
		fail("inotify_init1: %m");
	gone = inotify_add_watch(ino, fa, IN_ATTRIB);
	wd_b = inotify_add_watch(ino, fb, IN_MODIFY);
	wd_dir = inotify_add_watch(ino, dir, IN_CREATE);
	if (gone < 0 || wd_b < 0 || wd_dir < 0 || inotify_rm_watch(ino, gone))
		fail("inotify watches: %m");
	/* the IN_IGNORED of the removed watch: read it, nothing may be queued at dump */
	if (inotify_expect(gone, IN_IGNORED, NULL))
		fail("no IN_IGNORED for the removed watch");
	c1 = fork();
	if (c1 < 0)
		fail("fork: %m");
	if (c1 == 0)
		run_c1();
	for (i = 0; i < 2; i++)
		if (read(rdy[0], &c, 1) != 1)
			fail("a child failed to set up");
	close(fan);
	{
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", c1, c1);
		f = fopen(path, "r");
		if (!f || fscanf(f, "%d", &g) != 1)
			fail("cannot find G");
		fclose(f);
	}

	test_ready();
	test_waitsig();

	if (kcmp_file(getpid(), c1, ino) || kcmp_file(getpid(), g, ino))
		fail("the inotify fd is no longer one open file in R, C1 and G");
	kill(c1, SIGTERM);
	status = test_reap(c1);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("C1 failed: %#x (10: G's fanotify fd is another file, 11: no fanotify event, "
		     "12: not FAN_MODIFY by G, 13: not file A, 14: more events; 40+N: G failed with "
		     "N: 20 readable too soon, 21 write, 22 epoll did not report the inotify fd)",
		     status);
	if (inotify_expect(wd_b, IN_MODIFY, NULL))
		fail("no IN_MODIFY of B after restore");
	if (touch(fc) || inotify_expect(wd_dir, IN_CREATE, "C"))
		fail("no IN_CREATE of C in the directory after restore");
	unlink(fa);
	unlink(fb);
	unlink(fc);
	rmdir(dir);
	pass();
}
