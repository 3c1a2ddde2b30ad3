/*
 * Shared anonymous memory survives: a MAP_SHARED|MAP_ANONYMOUS area and a MAP_SHARED mapping of
 * /dev/zero keep their contents and stay shared mappings (/proc/self/maps says "s").
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define SIZE	(2 << 20)

static char maps[1 << 16];

static char map_kind(void *addr)
{
	unsigned long want = (unsigned long)addr, s, e;
	char perms[5], *line;
	ssize_t n, len = 0;
	int fd = open("/proc/self/maps", O_RDONLY);

	if (fd < 0)
		fail("open maps: %m");
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += n;
	close(fd);
	maps[len] = '\0';
	for (line = maps; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && s <= want && want < e)
			return perms[3];
	return '?';
}

int main(int argc, char **argv)
{
	unsigned char *anon, *zero;
	uint64_t s1, s2;
	int fd;

	test_init(argc, argv);
	anon = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	fd = open("/dev/zero", O_RDWR);
	zero = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (anon == MAP_FAILED || zero == MAP_FAILED)
		fail("mmap: %m");
	close(fd);
	test_fill(anon, SIZE / 2, 11);	/* the second half stays untouched */
	test_fill(zero, SIZE, 12);
	s1 = test_csum(anon, SIZE);
	s2 = test_csum(zero, SIZE);

	test_ready();
	test_waitsig();

	if (test_csum(anon, SIZE) != s1)
		fail("the shared anonymous area changed");
	if (test_csum(zero, SIZE) != s2)
		fail("the shared /dev/zero mapping changed");
	if (map_kind(anon) != 's' || map_kind(zero) != 's')
		fail("the areas are no longer shared mappings (%c, %c)", map_kind(anon),
		     map_kind(zero));
	pass();
}
