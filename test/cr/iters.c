/*
 * A counter that keeps counting: each dump/restore cycle must find it where it was, and it must
 * go on counting afterwards. With iterations: 3 in the .desc it is dumped and restored 3 times.
 */
#include "zdtmtst.h"

#include <stdint.h>
#include <time.h>

static volatile uint64_t counter;
static volatile uint64_t shadow = ~0ULL;	/* ~counter, kept in step */

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 1000000 };
	uint64_t seen;

	test_init(argc, argv);
	test_ready();

	/* Count while the runner dumps and restores us; check the pair at each step. */
	while (!test_sig_flag) {
		seen = counter;
		if (shadow != ~seen)
			fail("counter %llu and its shadow %llx disagree",
			     (unsigned long long)seen, (unsigned long long)shadow);
		counter = seen + 1;
		shadow = ~(seen + 1);
		nanosleep(&ts, NULL);
	}
	if (counter == 0)
		fail("the counter never counted");
	seen = counter;
	for (int i = 0; i < 1000; i++) {
		counter = counter + 1;
		shadow = ~counter;
	}
	if (counter != seen + 1000 || shadow != ~counter)
		fail("counting after restore went wrong");
	pass();
}
