/*
 * FIFOs: a FIFO open for reading and writing (two descriptions) keeps its queued data and
 * capacity; an O_RDWR open and a non-blocking reader keep their flags; the path is the same.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define DATA	(100 * 1000)

static char data[DATA], got[DATA];

int main(int argc, char **argv)
{
	char path[PATH_MAX], link[PATH_MAX + 16], proc[64];
	int r, w, rw, n, off = 0;
	ssize_t l;

	test_init(argc, argv);
	test_fill(data, sizeof(data), 5);
	snprintf(path, sizeof(path), "%s/test.fifo", test_dir());
	unlink(path);
	if (mkfifo(path, 0600))
		fail("mkfifo: %m");
	r = open(path, O_RDONLY | O_NONBLOCK);
	w = open(path, O_WRONLY);
	rw = open(path, O_RDWR);
	if (r < 0 || w < 0 || rw < 0)
		fail("open: %m");
	if (fcntl(w, F_SETPIPE_SZ, 128 * 1024) < 0 || write(w, data, DATA) != DATA)
		fail("fill: %m");

	test_ready();
	test_waitsig();

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r);
	l = readlink(proc, link, sizeof(link) - 1);
	if (l < 0 || (link[l] = 0, strcmp(link, path)))
		fail("the fifo is '%s' now", l < 0 ? "?" : link);
	if (fcntl(r, F_GETPIPE_SZ) != 128 * 1024)
		fail("capacity %d", fcntl(r, F_GETPIPE_SZ));
	if (!(fcntl(r, F_GETFL) & O_NONBLOCK) || (fcntl(rw, F_GETFL) & O_ACCMODE) != O_RDWR)
		fail("flags lost");
	while (off < DATA) {
		n = read(r, got + off, DATA - off);
		if (n <= 0)
			fail("read after %d bytes: %d (%m)", off, n);
		off += n;
	}
	if (memcmp(got, data, DATA))
		fail("fifo data differs");
	if (read(r, got, 1) != -1 || errno != EAGAIN)
		fail("more data than written");
	if (write(rw, "x", 1) != 1 || read(r, got, 1) != 1 || got[0] != 'x')
		fail("the opens are not of the same fifo");
	unlink(path);
	pass();
}
