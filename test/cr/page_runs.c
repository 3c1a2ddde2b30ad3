/*
 * Many page runs survive: one 256 MiB mapping where every other page of the first 80 MiB is
 * written (10240 runs of one page, more than one parasite DUMP_PAGES command takes, so the
 * page pipes and their credits carry over from command to command), then a written 3 MiB run
 * (cut across page pipe batches), then more single pages. After restore every written page holds
 * its own data, and every page never written reads as zero.
 */
#include "zdtmtst.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE		4096UL
#define AREA		(256UL << 20)
#define SPARSE		(80UL << 20)	/* every other page written */
#define RUN		(3UL << 20)	/* all written */
#define TAIL		(8UL << 20)	/* every other page written, after the run */

static int written(size_t off)
{
	if (off < SPARSE)
		return !(off / PAGE % 2);
	if (off < SPARSE + RUN)
		return 1;
	if (off < SPARSE + RUN + TAIL)
		return !(off / PAGE % 2);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned char zero[PAGE];
	size_t off, nr = 0;
	unsigned char *p;

	test_init(argc, argv);

	p = mmap(NULL, AREA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fail("mmap: %m");
	for (off = 0; off < AREA; off += PAGE)
		if (written(off)) {
			test_fill(p + off, PAGE, off + 1);
			nr++;
		}
	test_msg("%zu pages written", nr);

	test_ready();
	test_waitsig();

	for (off = 0; off < AREA; off += PAGE) {
		unsigned char want[PAGE];

		if (!written(off)) {
			if (memcmp(p + off, zero, PAGE))
				fail("page at +%#zx was never written but is not zero", off);
			continue;
		}
		test_fill(want, PAGE, off + 1);
		if (memcmp(p + off, want, PAGE))
			fail("page at +%#zx does not hold its data", off);
	}
	pass();
}
