/*
 * A MAP_SHARED mapping of a file survives: pages written before the dump are in the file, and
 * after restore the mapping still is the file: writes through it reach the file and writes to
 * the file show in it.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE		4096
#define NR_PAGES	8

int main(int argc, char **argv)
{
	static unsigned char data[NR_PAGES * PAGE], disk[NR_PAGES * PAGE];
	char path[PATH_MAX];
	unsigned char *map;
	int fd;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/shared-map.data", test_dir());
	test_fill(data, sizeof(data), 5);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
		fail("create '%s': %m", path);
	map = mmap(NULL, sizeof(data), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap: %m");
	close(fd);
	memset(map + 3 * PAGE, 0x33, PAGE);
	memset(data + 3 * PAGE, 0x33, PAGE);

	test_ready();
	test_waitsig();

	if (memcmp(map, data, sizeof(data)))
		fail("the shared mapping's contents changed");
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, disk, sizeof(disk), 0) != sizeof(disk))
		fail("read '%s': %m", path);
	if (memcmp(disk, data, sizeof(disk)))
		fail("the file does not hold what was written through the mapping");

	map[5 * PAGE] = 0x55;		/* through the mapping: reaches the file */
	if (pread(fd, disk, 1, 5 * PAGE) != 1 || disk[0] != 0x55)
		fail("a write through the mapping did not reach the file: not shared any more");
	if (pwrite(fd, "\x66", 1, 6 * PAGE) != 1)	/* to the file: shows in the mapping */
		fail("pwrite: %m");
	if (map[6 * PAGE] != 0x66)
		fail("a write to the file does not show in the mapping: not shared any more");
	close(fd);
	munmap(map, sizeof(data));
	unlink(path);
	pass();
}
