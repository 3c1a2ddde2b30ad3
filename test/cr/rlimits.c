/*
 * Resource limits survive: RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_STACK and RLIMIT_NPROC set to
 * unusual values (soft below hard) are the same after restore.
 */
#include "zdtmtst.h"

#include <sys/resource.h>

static const struct {
	int res;
	const char *name;
	rlim_t cur, max;
} limits[] = {
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE", 777, 1999 },
	{ RLIMIT_CORE, "RLIMIT_CORE", 4096, 1 << 20 },
	{ RLIMIT_STACK, "RLIMIT_STACK", 6 << 20, RLIM_INFINITY },
	{ RLIMIT_NPROC, "RLIMIT_NPROC", 3333, 4444 },
};

#define NR_LIMITS	(sizeof(limits) / sizeof(limits[0]))

int main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned int i;

	test_init(argc, argv);
	for (i = 0; i < NR_LIMITS; i++) {
		rl.rlim_cur = limits[i].cur;
		rl.rlim_max = limits[i].max;
		if (setrlimit(limits[i].res, &rl))
			fail("setrlimit %s: %m", limits[i].name);
	}

	test_ready();
	test_waitsig();

	for (i = 0; i < NR_LIMITS; i++) {
		if (getrlimit(limits[i].res, &rl))
			fail("getrlimit %s: %m", limits[i].name);
		if (rl.rlim_cur != limits[i].cur || rl.rlim_max != limits[i].max)
			fail("%s is %llu/%llu, was %llu/%llu", limits[i].name,
			     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
			     (unsigned long long)limits[i].cur, (unsigned long long)limits[i].max);
	}
	pass();
}
