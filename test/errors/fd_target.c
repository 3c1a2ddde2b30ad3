/*
 * A target for the fd error cases (test/errors/cases.py): like target.c it counts and publishes
 * its count in <dir>/counter every 10 ms, and holds one kind of descriptor the dump refuses:
 *
 *   io_uring | perf_event | userfaultfd | pidfd   that anonymous inode
 *   lock            a flock() lock on a file (refused without --file-locks)
 *   inotify_queued  an inotify instance with an event queued (the queue is not saved)
 *   fanotify_queued a fanotify group with an event queued (the queue is not saved; it must
 *                   still be there after the refused dump)
 *   fanotify_perm   a FAN_CLASS_CONTENT group with a FAN_OPEN_PERM mark
 *   fanotify_mark   a fanotify group with a mark on a file (dumped: for restore errors)
 *   fanotify_hidden a fanotify group with a mark on a file of a directory a tmpfs is mounted
 *                   on since: no path leads to the file
 *   unix_empty_fds  a datagram socketpair with a zero-length message carrying an fd queued on
 *                   an end shut down for reading (it must still be there after the refused
 *                   dump)
 *   pipe_child      a pipe whose read end is in a child process, the write end here (no
 *                   longer refused: kept for trying the target by hand)
 *
 * After SIGTERM it checks the descriptor is still there (the lock still held, the child still
 * alive) and reports PASS.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>

static void publish(const char *path, unsigned long n)
{
	char buf[32];
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%lu\n", n);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (pwrite(fd, buf, len, 0) != len)
		test_msg("cannot write '%s': %m", path);
	close(fd);
}

/* Mount a tmpfs over the directory of @path (a mark on @path becomes unreachable). */
static int hide(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	return mount("zdtm-hide", dir, "tmpfs", 0, "size=64k");
}

static int open_kind(const char *kind, char *lock_path, pid_t *kid)
{
	struct io_uring_params ip;
	struct perf_event_attr a;
	int fd, p[2];

	if (!strcmp(kind, "io_uring")) {
		memset(&ip, 0, sizeof(ip));
		return (int)syscall(SYS_io_uring_setup, 4, &ip);
	}
	if (!strcmp(kind, "perf_event")) {
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_SOFTWARE;
		a.size = sizeof(a);
		a.config = PERF_COUNT_SW_CPU_CLOCK;
		return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	}
	if (!strcmp(kind, "userfaultfd"))
		return (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (!strcmp(kind, "pidfd"))
		return (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (!strncmp(kind, "fanotify_", 9)) {
		bool perm = !strcmp(kind, "fanotify_perm");

		if (!strcmp(kind, "fanotify_hidden")) {
			strcat(lock_path, ".d");
			mkdir(lock_path, 0755);
			strcat(lock_path, "/f");
		}
		close(open(lock_path, O_RDWR | O_CREAT, 0644));
		fd = fanotify_init(perm ? FAN_CLASS_CONTENT : FAN_CLASS_NOTIF, O_RDONLY);
		if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, perm ? FAN_OPEN_PERM : FAN_CLOSE_WRITE,
					    AT_FDCWD, lock_path))
			return -1;
		if (!strcmp(kind, "fanotify_queued"))
			close(open(lock_path, O_WRONLY));	/* a FAN_CLOSE_WRITE queued */
		if (!strcmp(kind, "fanotify_hidden") && hide(lock_path))
			return -1;
		return fd;
	}
	if (!strcmp(kind, "lock")) {
		fd = open(lock_path, O_RDWR | O_CREAT, 0644);
		if (fd >= 0 && flock(fd, LOCK_EX))
			fail("flock: %m");
		return fd;
	}
	if (!strcmp(kind, "inotify_queued")) {
		fd = inotify_init1(0);
		if (fd < 0 || inotify_add_watch(fd, test_dir(), IN_CREATE) < 0)
			return -1;
		close(open(lock_path, O_RDWR | O_CREAT, 0644));	/* an IN_CREATE queued */
		unlink(lock_path);
		return fd;
	}
	if (!strcmp(kind, "unix_empty_fds")) {
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, p) || test_send_fds(p[1], "", 0, &p[1], 1) ||
		    shutdown(p[0], SHUT_RD))
			return -1;
		return p[0];
	}
	if (!strcmp(kind, "pipe_child")) {
		if (pipe(p))
			return -1;
		*kid = fork();
		if (*kid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(p[1]);
			for (;;)
				pause();
		}
		close(p[0]);
		return *kid < 0 ? -1 : p[1];
	}
	fail("unknown mode '%s'", kind);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	char counter_path[PATH_MAX], lock_path[PATH_MAX], dir[PATH_MAX];
	unsigned long count = 0;
	char **args;
	pid_t kid = -1;
	int nargs, fd, status, queued = 0;

	nargs = test_init_args(argc, argv, &args);
	if (nargs != 1)
		fail("usage: fd_target KIND");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());
	snprintf(lock_path, sizeof(lock_path), "%s/locked", test_dir());
	fd = open_kind(args[0], lock_path, &kid);
	if (fd < 0)
		fail("cannot open a %s: %m", args[0]);

	publish(counter_path, count);
	test_ready();
	while (!test_sig_flag) {
		publish(counter_path, ++count);
		nanosleep(&ts, NULL);
	}

	if (fcntl(fd, F_GETFD) < 0)
		fail("the %s fd is gone", args[0]);
	if (!strcmp(args[0], "lock")) {
		int other = open(lock_path, O_RDWR);

		if (other < 0 || flock(other, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			fail("the lock is no longer held");
		unlink(lock_path);
	}
	if (!strcmp(args[0], "unix_empty_fds")) {
		char c;
		int got = -1, n = 0;

		if (test_recv_fds(fd, &c, 1, &got, 1, &n, MSG_DONTWAIT) != 0 || n != 1)
			fail("the zero-length message with its fd is gone: %m");
	}
	if (!strcmp(args[0], "fanotify_queued") && (ioctl(fd, FIONREAD, &queued) || !queued))
		fail("the queued fanotify event is gone");
	if (!strcmp(args[0], "fanotify_hidden")) {
		snprintf(dir, sizeof(dir), "%s", lock_path);
		*strrchr(dir, '/') = '\0';
		if (umount(dir))
			fail("umount '%s': %m", dir);
		unlink(lock_path);
		rmdir(dir);
	} else if (!strncmp(args[0], "fanotify_", 9)) {
		unlink(lock_path);
	}
	if (kid > 0) {
		if (waitpid(kid, &status, WNOHANG) != 0)
			fail("the child is gone");
		kill(kid, SIGKILL);
		waitpid(kid, &status, 0);
	}
	unlink(counter_path);
	pass();
}
