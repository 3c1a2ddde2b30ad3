/*
 * fanotify: three groups come back with their init flags, event flags, fd flags and marks (inode
 * marks on a tmpfs and on the test directory's filesystem, a mount mark, a filesystem mark, an
 * evictable mark, ignored masks old and new style, the flags of an emptied ignored mask), and
 * report after the restore what they would have reported before: the events of the marked
 * files, with their masks, and nothing for what an ignored mask hides. An epoll instance
 * watching the first group still reports it readable.
 * The test mounts its own tmpfs (and a bind mount of it) under test_dir(), where nobody else
 * makes events: a group with events queued is not dumped.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE	0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE		0x00000400
#endif

enum { WATCHED, QUIET, QUIET2, EVICT, PLAIN, NEW, NR_FILES };

static const char *const names[NR_FILES] = { "watched", "quiet", "quiet2", "evict", "plain",
					      "new" };
static char fs[PATH_MAX], bind_dir[PATH_MAX], path[NR_FILES][PATH_MAX + 16];
static char bind_path[NR_FILES][PATH_MAX + 16];
static struct stat st[NR_FILES];
static bool mounted;

static void cleanup(void)
{
	int i;

	if (!mounted)
		return;
	for (i = 0; i < NR_FILES; i++)
		unlink(path[i]);
	umount2(bind_dir, MNT_DETACH);
	umount2(fs, MNT_DETACH);
	rmdir(bind_dir);
	rmdir(fs);
	mounted = false;
}

#define FAIL(fmt, ...)	do { cleanup(); fail(fmt, ##__VA_ARGS__); } while (0)

/* The "fanotify ..." lines of fd @fd's fdinfo, sorted, into @out. */
static void fdinfo_marks(int fd, char *out, size_t len)
{
	char p[64], line[1024], *lines[64];
	int n = 0, i, j;
	size_t off = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	f = fopen(p, "r");
	if (!f)
		FAIL("open %s: %m", p);
	while (fgets(line, sizeof(line), f) && n < 64)
		if (!strncmp(line, "fanotify ", 9))
			lines[n++] = strdup(line);
	fclose(f);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(lines[i], lines[j]) > 0) {
				char *t = lines[i];

				lines[i] = lines[j];
				lines[j] = t;
			}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		off += snprintf(out + off, off < len ? len - off : 0, "%s", lines[i]);
		free(lines[i]);
	}
}

static void mark(int fd, unsigned int flags, uint64_t mask, const char *p)
{
	if (fanotify_mark(fd, flags, mask, AT_FDCWD, p))
		FAIL("fanotify_mark(%#x, %#llx, '%s'): %m", flags, (unsigned long long)mask, p);
}

static void touch(const char *p, int flags, bool write_it)
{
	int fd = open(p, flags, 0644);

	if (fd < 0)
		FAIL("open '%s': %m", p);
	if (write_it && write(fd, "x", 1) != 1)
		FAIL("write '%s': %m", p);
	close(fd);
}

/* Waits up to 10 s for an event of @fd; reads what is there into @buf. */
static ssize_t read_events(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, 10000) != 1)
		FAIL("no fanotify event came on fd %d", fd);
	n = read(fd, buf, len);
	if (n < (ssize_t)FAN_EVENT_METADATA_LEN)
		FAIL("fanotify read on fd %d: %zd: %m", fd, n);
	return n;
}

/* Which of our files the event fd @efd is; -1: none. */
static int which_file(int efd)
{
	struct stat s;
	int i;

	if (fstat(efd, &s))
		FAIL("fstat of an event fd: %m");
	for (i = 0; i < NR_FILES; i++)
		if (s.st_dev == st[i].st_dev && s.st_ino == st[i].st_ino)
			return i;
	return -1;
}

/* Group 1's events until the FAN_CLOSE_WRITE of "new": each file's masks OR'ed into @got. */
static void g1_events(int fd, uint64_t *got)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *ev;
	bool fence = false;
	ssize_t n;
	int i;

	while (!fence) {
		n = read_events(fd, buf, sizeof(buf));
		for (ev = (void *)buf; FAN_EVENT_OK(ev, n); ev = FAN_EVENT_NEXT(ev, n)) {
			if (ev->fd < 0)
				FAIL("group 1: event %#llx without a file (overflow?)",
				     (unsigned long long)ev->mask);
			i = which_file(ev->fd);
			close(ev->fd);
			if (i < 0)
				FAIL("group 1: event %#llx on a file not marked",
				     (unsigned long long)ev->mask);
			if (ev->pid != getpid())
				FAIL("group 1: event of pid %d", ev->pid);
			got[i] |= ev->mask;
			if (i == NEW && (ev->mask & FAN_CLOSE_WRITE))
				fence = true;
		}
	}
}

/* Group 2 sees the FAN_CLOSE_WRITE of "watched", through a read-write event fd. */
static void g2_events(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *ev;
	ssize_t n;
	int fl;

	n = read_events(fd, buf, sizeof(buf));
	ev = (void *)buf;
	if (!FAN_EVENT_OK(ev, n) || ev->fd < 0 || which_file(ev->fd) != WATCHED ||
	    ev->mask != FAN_CLOSE_WRITE)
		FAIL("group 2: expected FAN_CLOSE_WRITE of 'watched', got mask %#llx",
		     (unsigned long long)ev->mask);
	fl = fcntl(ev->fd, F_GETFL);
	if ((fl & O_ACCMODE) != O_RDWR || !(fcntl(ev->fd, F_GETFD) & FD_CLOEXEC))
		FAIL("group 2: event fd flags %#x, want O_RDWR and close-on-exec", fl);
	close(ev->fd);
}

/* Group 3 (FAN_REPORT_DFID_NAME) sees the FAN_CREATE of "new" in the tmpfs root. */
static void g3_events(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *ev;
	struct fanotify_event_info_fid *fid;
	struct file_handle *fh;
	const char *name;
	ssize_t n;

	n = read_events(fd, buf, sizeof(buf));
	ev = (void *)buf;
	if (!FAN_EVENT_OK(ev, n) || ev->mask != FAN_CREATE || ev->fd != FAN_NOFD)
		FAIL("group 3: expected FAN_CREATE, got mask %#llx", (unsigned long long)ev->mask);
	fid = (void *)(ev + 1);
	if (fid->hdr.info_type != FAN_EVENT_INFO_TYPE_DFID_NAME)
		FAIL("group 3: info type %d", fid->hdr.info_type);
	fh = (struct file_handle *)fid->handle;
	name = (const char *)fh->f_handle + fh->handle_bytes;
	if (strcmp(name, names[NEW]))
		FAIL("group 3: FAN_CREATE of '%s', want '%s'", name, names[NEW]);
}

static void setup_files(void)
{
	const char *dir = test_dir();
	int i;

	snprintf(fs, sizeof(fs), "%s/fs", dir);
	snprintf(bind_dir, sizeof(bind_dir), "%s/bind", dir);
	umount2(bind_dir, MNT_DETACH);		/* left by a run that was killed */
	umount2(fs, MNT_DETACH);
	if ((mkdir(fs, 0755) && errno != EEXIST) || (mkdir(bind_dir, 0755) && errno != EEXIST))
		fail("mkdir: %m");
	if (mount("zdtm-fanotify", fs, "tmpfs", 0, "size=1m"))
		skip("cannot mount a tmpfs: %m");
	mounted = true;
	if (mount(fs, bind_dir, NULL, MS_BIND, NULL))
		FAIL("bind mount: %m");
	for (i = 0; i < NR_FILES; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", i == PLAIN ? dir : fs, names[i]);
		snprintf(bind_path[i], sizeof(bind_path[i]), "%s/%s", bind_dir, names[i]);
		if (i == NEW)
			continue;
		touch(path[i], O_WRONLY | O_CREAT | O_TRUNC, true);
		if (stat(path[i], &st[i]))
			FAIL("stat '%s': %m", path[i]);
	}
}

int main(int argc, char **argv)
{
	char before[3][4096], after[3][4096], c;
	uint64_t got[NR_FILES] = { 0 };
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0xfa0 };
	int g[3], i, evict, ep;

	test_init(argc, argv);
	setup_files();
	evict = open(path[EVICT], O_RDONLY);	/* holds the inode of the evictable mark */
	if (evict < 0)
		FAIL("open: %m");

	g[0] = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	g[1] = fanotify_init(FAN_CLASS_CONTENT | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
			     O_RDWR | O_CLOEXEC);
	g[2] = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME | FAN_NONBLOCK, O_RDONLY);
	if (g[0] < 0 || g[1] < 0 || g[2] < 0)
		FAIL("fanotify_init: %m");
	if (fcntl(g[0], F_SETFL, O_NONBLOCK))
		FAIL("fcntl: %m");
	mark(g[0], FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, path[WATCHED]);
	/* an ignored mask emptied again: its flags stay on the mark */
	mark(g[0], FAN_MARK_ADD | FAN_MARK_IGNORE_SURV, FAN_ACCESS, path[WATCHED]);
	mark(g[0], FAN_MARK_REMOVE | FAN_MARK_IGNORE, FAN_ACCESS, path[WATCHED]);
	mark(g[0], FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY,
	     FAN_CLOSE_WRITE, path[QUIET]);
	mark(g[0], FAN_MARK_ADD | FAN_MARK_IGNORE, FAN_OPEN, path[QUIET2]);
	mark(g[0], FAN_MARK_ADD | FAN_MARK_EVICTABLE, FAN_ACCESS, path[EVICT]);
	mark(g[0], FAN_MARK_ADD, FAN_MODIFY, path[PLAIN]);
	mark(g[0], FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, bind_dir);
	mark(g[0], FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_CLOSE_WRITE, fs);
	mark(g[1], FAN_MARK_ADD, FAN_CLOSE_WRITE, path[WATCHED]);
	mark(g[2], FAN_MARK_ADD, FAN_CREATE, fs);
	mark(g[2], FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, bind_dir);
	for (i = 0; i < 3; i++)
		fdinfo_marks(g[i], before[i], sizeof(before[i]));
	ep = epoll_create1(0);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, g[0], &ev))
		FAIL("epoll: %m");

	test_ready();
	test_waitsig();

	for (i = 0; i < 3; i++) {
		fdinfo_marks(g[i], after[i], sizeof(after[i]));
		if (strcmp(before[i], after[i]))
			FAIL("group %d: fdinfo was\n%snow\n%s", i + 1, before[i], after[i]);
	}
	if (!(fcntl(g[0], F_GETFL) & O_NONBLOCK) || (fcntl(g[1], F_GETFL) & O_NONBLOCK) ||
	    !(fcntl(g[2], F_GETFL) & O_NONBLOCK))
		FAIL("O_NONBLOCK of the groups changed");
	if (!(fcntl(g[0], F_GETFD) & FD_CLOEXEC) || (fcntl(g[1], F_GETFD) & FD_CLOEXEC))
		FAIL("FD_CLOEXEC of the groups changed");

	touch(path[WATCHED], O_WRONLY, true);	/* MODIFY, CLOSE_WRITE; no OPEN (not via bind) */
	touch(bind_path[WATCHED], O_RDONLY, false);	/* OPEN through the mount mark */
	touch(path[QUIET], O_WRONLY, true);	/* its ignored mask hides the CLOSE_WRITE */
	touch(bind_path[QUIET2], O_RDONLY, false);	/* its ignored mask hides the OPEN */
	if (pread(evict, &c, 1, 0) != 1)	/* ACCESS */
		FAIL("read: %m");
	touch(path[PLAIN], O_WRONLY, true);	/* MODIFY */
	touch(path[NEW], O_WRONLY | O_CREAT, false);	/* the fence: CLOSE_WRITE */
	if (stat(path[NEW], &st[NEW]))
		FAIL("stat: %m");

	memset(&ev, 0, sizeof(ev));
	if (epoll_wait(ep, &ev, 1, 10000) != 1 || ev.data.u64 != 0xfa0)
		FAIL("epoll does not report group 1 readable");
	g1_events(g[0], got);
	if (got[WATCHED] != (FAN_MODIFY | FAN_CLOSE_WRITE | FAN_OPEN) || got[QUIET] ||
	    got[QUIET2] || got[EVICT] != FAN_ACCESS || got[PLAIN] != FAN_MODIFY)
		FAIL("group 1 events: watched %#llx quiet %#llx quiet2 %#llx evict %#llx plain "
		     "%#llx", (unsigned long long)got[WATCHED], (unsigned long long)got[QUIET],
		     (unsigned long long)got[QUIET2], (unsigned long long)got[EVICT],
		     (unsigned long long)got[PLAIN]);
	g2_events(g[1]);
	g3_events(g[2]);
	close(evict);
	cleanup();
	pass();
}
