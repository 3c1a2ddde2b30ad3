/*
 * A MAP_PRIVATE mapping of a file survives: some pages modified (copy-on-write), some only read,
 * some never touched. After restore the modified pages keep the modifications, the others equal
 * the file on disk, and the file itself is unchanged.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE	4096
#define NR_PAGES 16

static int modified(int page)
{
	return page == 1 || page == 5 || page == 6 || page == 15;
}

int main(int argc, char **argv)
{
	static unsigned char file_data[NR_PAGES * PAGE], disk[NR_PAGES * PAGE];
	char path[PATH_MAX];
	volatile unsigned char sink = 0;
	unsigned char *map;
	uint64_t file_sum;
	int fd, i;

	test_init(argc, argv);
	snprintf(path, sizeof(path), "%s/private-map.data", test_dir());
	test_fill(file_data, sizeof(file_data), 77);
	file_sum = test_csum(file_data, sizeof(file_data));

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail("create '%s': %m", path);
	if (write(fd, file_data, sizeof(file_data)) != sizeof(file_data))
		fail("write '%s': %m", path);
	map = mmap(NULL, sizeof(file_data), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		fail("mmap '%s': %m", path);
	close(fd);

	for (i = 0; i < NR_PAGES; i++) {
		if (modified(i))
			memset(map + i * PAGE + 100, 0xa0 + i, 1000);
		else if (i % 3 == 0)
			sink += map[i * PAGE];	/* read only: page cache page */
	}

	test_ready();
	test_waitsig();

	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("open '%s' after restore: %m", path);
	if (pread(fd, disk, sizeof(disk), 0) != sizeof(disk))
		fail("read '%s' after restore: %m", path);
	close(fd);
	if (test_csum(disk, sizeof(disk)) != file_sum)
		fail("the file '%s' changed on disk", path);

	for (i = 0; i < NR_PAGES; i++) {
		unsigned char *pg = map + i * PAGE, want[PAGE];

		memcpy(want, file_data + i * PAGE, PAGE);
		if (modified(i))
			memset(want + 100, 0xa0 + i, 1000);
		if (memcmp(pg, want, PAGE))
			fail("page %d (%s) of the private mapping differs", i,
			     modified(i) ? "modified" : "unmodified");
	}
	/* Still private: writing now must not reach the file. */
	map[2 * PAGE] ^= 0xff;
	fd = open(path, O_RDONLY);
	if (fd < 0 || pread(fd, disk, PAGE, 2 * PAGE) != PAGE)
		fail("re-read '%s': %m", path);
	close(fd);
	if (disk[0] != file_data[2 * PAGE])
		fail("a write to the private mapping reached the file");
	munmap(map, sizeof(file_data));
	unlink(path);
	(void)sink;
	pass();
}
