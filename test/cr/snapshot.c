/*
 * Dumped twice with --leave-running while it runs, then killed and restored from the second
 * dump: the state it had at that dump is back, and the mapping written between runs is intact.
 */
#include "zdtmtst.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#define AREA_SIZE	(4u << 20)

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 2000000 };
	volatile unsigned long ticks = 0;
	uint64_t sum;
	unsigned char *area;

	test_init(argc, argv);
	area = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		fail("mmap: %m");
	test_fill(area, AREA_SIZE, 42);
	sum = test_csum(area, AREA_SIZE);

	test_ready();
	/* Keep running (and touching the area) while the runner takes its snapshots. */
	while (!test_sig_flag) {
		area[(ticks * 4096) % AREA_SIZE] ^= 0xff;
		area[(ticks * 4096) % AREA_SIZE] ^= 0xff;
		ticks++;
		nanosleep(&ts, NULL);
	}
	if (test_csum(area, AREA_SIZE) != sum)
		fail("the area changed across the snapshot and restore");
	if (ticks == 0)
		fail("the loop never ran");
	pass();
}
