/*
 * inotify: the watches come back with the same watch descriptors (a gap left by a removed
 * watch included) and masks, and still report events on the watched paths.
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
#include <sys/inotify.h>
#include <sys/stat.h>

static char dir[PATH_MAX], file[PATH_MAX], gone[PATH_MAX], created[PATH_MAX + 16];

/* The next event of @fd (waits up to 10 s). */
static struct inotify_event *next_event(int fd, char *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, 10000) != 1)
		fail("no inotify event came");
	n = read(fd, buf, len);
	if (n < (ssize_t)sizeof(struct inotify_event))
		fail("inotify read: %zd: %m", n);
	return (struct inotify_event *)buf;
}

static void fdinfo_wds(int fd, char *out, size_t len)
{
	char path[64], line[1024];
	unsigned int wd, mask;
	size_t off = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	out[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "inotify wd:%x %*s %*s mask:%x", &wd, &mask) == 2)
			off += snprintf(out + off, len - off, "%u:%x ", wd, mask);
	fclose(f);
}

int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8))), before[256], after[256];
	struct inotify_event *ev;
	int fd, wd_dir, wd_gone, wd_file, f;

	test_init(argc, argv);
	snprintf(dir, sizeof(dir), "%s/inotify.d", test_dir());
	snprintf(file, sizeof(file), "%s/watched", test_dir());
	snprintf(gone, sizeof(gone), "%s/other", test_dir());
	snprintf(created, sizeof(created), "%s/new-file", dir);
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail("mkdir: %m");
	f = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || close(open(gone, O_RDWR | O_CREAT, 0644)))
		fail("create: %m");
	close(f);
	fd = inotify_init1(0);
	if (fd < 0)
		fail("inotify_init1: %m");
	wd_dir = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE);
	wd_gone = inotify_add_watch(fd, gone, IN_ATTRIB);
	wd_file = inotify_add_watch(fd, file, IN_MODIFY | IN_CLOSE_WRITE);
	if (wd_dir < 0 || wd_gone < 0 || wd_file < 0)
		fail("inotify_add_watch: %m");
	inotify_rm_watch(fd, wd_gone);
	next_event(fd, buf, sizeof(buf));	/* the IN_IGNORED of that removal */
	fdinfo_wds(fd, before, sizeof(before));

	test_ready();
	test_waitsig();

	fdinfo_wds(fd, after, sizeof(after));
	if (strcmp(before, after))
		fail("watches were '%s', now '%s'", before, after);
	f = open(created, O_RDWR | O_CREAT, 0644);
	if (f < 0)
		fail("create %s: %m", created);
	close(f);
	ev = next_event(fd, buf, sizeof(buf));
	if (ev->wd != wd_dir || !(ev->mask & IN_CREATE) || strcmp(ev->name, "new-file"))
		fail("expected IN_CREATE new-file on wd %d, got wd %d mask %x", wd_dir, ev->wd,
		     ev->mask);
	f = open(file, O_WRONLY);
	if (f < 0 || write(f, "x", 1) != 1)
		fail("write %s: %m", file);
	ev = next_event(fd, buf, sizeof(buf));
	if (ev->wd != wd_file || !(ev->mask & IN_MODIFY))
		fail("expected IN_MODIFY on wd %d, got wd %d mask %x", wd_file, ev->wd, ev->mask);
	close(f);
	unlink(created);
	unlink(file);
	unlink(gone);
	rmdir(dir);
	pass();
}
