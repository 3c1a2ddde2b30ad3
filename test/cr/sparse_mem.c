/*
 * Sparse memory survives: a 4 GiB MAP_NORESERVE area with a few hundred pages written far apart
 * (the rest never touched), and pages that were written and then given back with MADV_DONTNEED.
 * After restore the written pages hold their data and every other page reads as zero.
 */
#include "zdtmtst.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE		4096UL
#define AREA		(4UL << 30)
#define NR_TOUCHED	300

static size_t touched_off(int i)
{
	return ((size_t)i * 2654435761UL % (AREA / PAGE)) * PAGE;
}

static int is_touched(size_t off)
{
	for (int i = 0; i < NR_TOUCHED; i++)
		if (touched_off(i) == off)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned char zero[PAGE];
	unsigned char *area, want[PAGE];
	int i;

	test_init(argc, argv);
	area = mmap(NULL, AREA, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap 4 GiB: %m");
	for (i = 0; i < NR_TOUCHED; i++)
		test_fill(area + touched_off(i), PAGE, i + 1);
	/* Written, then dropped: must read as zero again. */
	memset(area + PAGE, 0xee, 16 * PAGE);
	if (madvise(area + PAGE, 16 * PAGE, MADV_DONTNEED))
		fail("madvise: %m");

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_TOUCHED; i++) {
		test_fill(want, PAGE, i + 1);
		if (memcmp(area + touched_off(i), want, PAGE))
			fail("written page at offset %#zx changed", touched_off(i));
	}
	for (i = 1; i <= 16; i++)
		if (!is_touched(i * PAGE) && memcmp(area + i * PAGE, zero, PAGE))
			fail("page %d, dropped with MADV_DONTNEED, is not zero", i);
	/* A sample of the untouched pages (reading all 4 GiB would take long). */
	for (size_t off = 0; off < AREA; off += 4099 * PAGE)
		if (!is_touched(off) && (off < PAGE || off > 16 * PAGE) &&
		    memcmp(area + off, zero, PAGE))
			fail("untouched page at offset %#zx is not zero", off);
	pass();
}
