/*
 * Anonymous memory survives: a 64 MiB malloc'ed block, brk heap, and anonymous mmaps (one
 * read-only, one with a hole punched in the middle) filled with seeded pseudo-random data. After
 * restore the checksums are recomputed and /proc/self/maps must show the same anonymous VMA
 * layout (address ranges and permissions) as before.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE		4096UL
#define BIG_SIZE	(64UL << 20)
#define NR_SMALL	64
#define SMALL_SIZE	2000
#define MAX_VMAS	512

struct area {
	const char *what;
	unsigned char *addr;
	size_t len;
	uint64_t seed;
	uint64_t csum;
};

struct vma {
	unsigned long start, end;
	char perms[5];
};

static char maps_buf[1 << 20];

/* Reads the anonymous VMAs (no path, or [heap]) of /proc/self/maps, adjacent equal ones merged. */
static int read_anon_vmas(struct vma *v, int max)
{
	ssize_t n, len = 0;
	char *line, *next;
	int fd, nr = 0;

	fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		fail("open /proc/self/maps: %m");
	while ((n = read(fd, maps_buf + len, sizeof(maps_buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		fail("read /proc/self/maps: %m");
	maps_buf[len] = '\0';

	for (line = maps_buf; *line; line = next) {
		unsigned long s, e, off, ino;
		char perms[5], dev[16];
		int pos = 0;
		char *path;

		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (sscanf(line, "%lx-%lx %4s %lx %15s %lu%n", &s, &e, perms, &off, dev, &ino,
			   &pos) < 6)
			fail("cannot parse maps line '%.80s'", line);
		path = line + pos;
		while (*path == ' ')
			path++;
		if (ino != 0 || (*path != '\n' && *path != '\0' && strncmp(path, "[heap]", 6)))
			continue;
		if (nr && v[nr - 1].end == s && !strcmp(v[nr - 1].perms, perms)) {
			v[nr - 1].end = e;
			continue;
		}
		if (nr == max)
			fail("too many anonymous vmas");
		v[nr].start = s;
		v[nr].end = e;
		memcpy(v[nr].perms, perms, 5);
		nr++;
	}
	return nr;
}

static void check_vma(const struct vma *v, int nr, const struct area *a, const char *perms)
{
	unsigned long s = (unsigned long)a->addr, e = s + a->len;

	for (int i = 0; i < nr; i++)
		if (v[i].start <= s && e <= v[i].end) {
			if (strcmp(v[i].perms, perms))
				fail("%s: perms %s, expected %s", a->what, v[i].perms, perms);
			return;
		}
	fail("%s (%lx-%lx) is not mapped", a->what, s, e);
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %zu: %m", len);
	return p;
}

static struct vma before[MAX_VMAS], after[MAX_VMAS];

int main(int argc, char **argv)
{
	struct area areas[8 + NR_SMALL];
	unsigned char *hole, *ro, *rw, *big;
	unsigned char vec, *brk0, *brk1;
	int nr = 0, nr_before, nr_after, i;

	test_init(argc, argv);

	big = malloc(BIG_SIZE);
	if (!big)
		fail("malloc 64 MiB");
	areas[nr++] = (struct area){ "malloc 64 MiB", big, BIG_SIZE, 1, 0 };

	for (i = 0; i < NR_SMALL; i++) {
		unsigned char *p = malloc(SMALL_SIZE + i * 16);

		if (!p)
			fail("malloc");
		areas[nr++] = (struct area){ "small malloc", p, SMALL_SIZE + i * 16, 100 + i, 0 };
	}

	rw = map_anon(8 << 20);
	areas[nr++] = (struct area){ "rw mmap 8 MiB", rw, 8 << 20, 2, 0 };

	ro = map_anon(1 << 20);
	areas[nr++] = (struct area){ "read-only mmap", ro, 1 << 20, 3, 0 };

	hole = map_anon(16 * PAGE);
	areas[nr++] = (struct area){ "holed mmap, head", hole, 6 * PAGE, 4, 0 };
	areas[nr++] = (struct area){ "holed mmap, tail", hole + 10 * PAGE, 6 * PAGE, 5, 0 };

	for (i = 0; i < nr; i++) {
		test_fill(areas[i].addr, areas[i].len, areas[i].seed);
		areas[i].csum = test_csum(areas[i].addr, areas[i].len);
	}
	if (mprotect(ro, 1 << 20, PROT_READ))
		fail("mprotect: %m");
	if (munmap(hole + 6 * PAGE, 4 * PAGE))
		fail("munmap: %m");

	brk0 = sbrk(0);
	nr_before = read_anon_vmas(before, MAX_VMAS);
	check_vma(before, nr_before, &areas[nr - 3], "r--p");

	test_ready();
	test_waitsig();

	nr_after = read_anon_vmas(after, MAX_VMAS);

	for (i = 0; i < nr; i++)
		if (test_csum(areas[i].addr, areas[i].len) != areas[i].csum)
			fail("%s at %p: contents changed", areas[i].what, areas[i].addr);

	check_vma(after, nr_after, &areas[0], "rw-p");
	check_vma(after, nr_after, &areas[nr - 4], "rw-p");
	check_vma(after, nr_after, &areas[nr - 3], "r--p");
	check_vma(after, nr_after, &areas[nr - 2], "rw-p");
	check_vma(after, nr_after, &areas[nr - 1], "rw-p");
	if (mincore(hole + 6 * PAGE, 4 * PAGE, &vec) == 0 || errno != ENOMEM)
		fail("the hole at %p is mapped after restore", hole + 6 * PAGE);

	for (i = 0; i < nr_before && i < nr_after; i++)
		if (before[i].start != after[i].start || before[i].end != after[i].end ||
		    strcmp(before[i].perms, after[i].perms))
			fail("anonymous vma %d: %lx-%lx %s before, %lx-%lx %s after", i,
			     before[i].start, before[i].end, before[i].perms,
			     after[i].start, after[i].end, after[i].perms);
	if (nr_before != nr_after)
		fail("%d anonymous vmas before, %d after (first extra: %lx-%lx)", nr_before,
		     nr_after, nr_before < nr_after ? after[nr_before].start : before[nr_after].start,
		     nr_before < nr_after ? after[nr_before].end : before[nr_after].end);

	/* The program break is where it was, and the heap still grows. */
	brk1 = sbrk(0);
	if (brk1 != brk0)
		fail("the program break was %p, is %p", brk0, brk1);
	if (sbrk(PAGE) == (void *)-1)
		fail("sbrk cannot grow the heap after restore: %m");
	memset(brk1, 0x77, PAGE);

	/* The memory is still ours to write, and writes stick. */
	memset(big, 0x5a, PAGE);
	if (big[PAGE - 1] != 0x5a)
		fail("write to the heap after restore did not stick");
	pass();
}
