/*
 * A deep stack survives: 20000 nested frames, each holding values derived from its depth and a
 * pointer to its caller's frame. The test waits at the bottom; after SIGTERM it unwinds and
 * checks every frame on the way up. Built with -O0 so the recursion stays recursion.
 */
#include "zdtmtst.h"

#include <stdint.h>

#define DEPTH	20000

static unsigned long bad_frames;
static int first_bad = -1;

static uint64_t frame_value(int depth, int i)
{
	return (uint64_t)depth * 0x9E3779B97F4A7C15ULL + (uint64_t)i * 0x10001ULL + 7;
}

static int descend(int depth, volatile uint64_t *caller)
{
	volatile uint64_t vals[4];
	volatile uint64_t *volatile up = caller;
	int ret;

	for (int i = 0; i < 4; i++)
		vals[i] = frame_value(depth, i);

	if (depth == DEPTH) {
		test_ready();
		test_waitsig();
		ret = 0;
	} else {
		ret = descend(depth + 1, vals);
	}

	/* Not a tail call: we look at our frame after the callee returned. */
	for (int i = 0; i < 4; i++)
		if (vals[i] != frame_value(depth, i))
			goto bad;
	if (up != caller || (caller && caller[0] != frame_value(depth - 1, 0)))
		goto bad;
	return ret + 1;
bad:
	bad_frames++;
	if (first_bad < 0)
		first_bad = depth;
	return ret + 1;
}

int main(int argc, char **argv)
{
	int n;

	test_init(argc, argv);
	n = descend(1, NULL);
	if (n != DEPTH)
		fail("unwound %d frames, expected %d", n, DEPTH);
	if (bad_frames)
		fail("%lu frames damaged, the deepest at depth %d", bad_frames, first_bad);
	pass();
}
