/*
 * Many mappings survive: 6000 one-page anonymous VMAs whose permissions alternate (so the kernel
 * cannot merge them), each holding its own data. After restore each is mapped with the same
 * permissions and holds the same data.
 */
#include "zdtmtst.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE	4096UL
#define NR	6000

int main(int argc, char **argv)
{
	unsigned char *base, want[64];
	unsigned char vec;
	int i;

	test_init(argc, argv);
	base = mmap(NULL, NR * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		fail("mmap: %m");
	for (i = 0; i < NR; i++)
		test_fill(base + i * PAGE, 64, i + 1);
	for (i = 1; i < NR; i += 2)
		if (mprotect(base + i * PAGE, PAGE, PROT_READ))
			fail("mprotect page %d: %m", i);

	test_ready();
	test_waitsig();

	for (i = 0; i < NR; i++) {
		if (mincore(base + i * PAGE, PAGE, &vec))
			fail("page %d is not mapped: %m", i);
		test_fill(want, 64, i + 1);
		if (memcmp(base + i * PAGE, want, 64))
			fail("page %d changed", i);
	}
	/* Even pages are writable, odd ones are not: check the former by writing. */
	for (i = 0; i < NR; i += 2)
		base[i * PAGE + 100] = 1;
	for (i = 1; i < NR; i += 2)
		if (mprotect(base + i * PAGE, PAGE, PROT_READ | PROT_WRITE))
			fail("mprotect page %d after restore: %m", i);
	pass();
}
