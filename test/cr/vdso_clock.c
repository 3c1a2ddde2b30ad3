/*
 * The vDSO keeps working: clock_gettime(CLOCK_MONOTONIC/REALTIME), gettimeofday() and time()
 * through the vDSO agree with the system calls after restore (vDSO <= syscall <= vDSO), and the
 * [vdso] and [vvar] mappings are where they were.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/time.h>

static char maps[1 << 16];

static unsigned long find_mapping(const char *name)
{
	ssize_t n, len = 0;
	char *p;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0)
		fail("open maps: %m");
	while ((n = read(fd, maps + len, sizeof(maps) - 1 - len)) > 0)
		len += n;
	close(fd);
	maps[len] = '\0';
	p = strstr(maps, name);
	if (!p)
		return 0;
	while (p > maps && p[-1] != '\n')
		p--;
	return strtoul(p, NULL, 16);
}

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void check_clock(clockid_t clk, const char *name)
{
	struct timespec a, b, c;

	for (int i = 0; i < 1000; i++) {
		if (clock_gettime(clk, &a))
			fail("clock_gettime(%s): %m", name);
		if (syscall(SYS_clock_gettime, clk, &b))
			fail("syscall clock_gettime(%s): %m", name);
		if (clock_gettime(clk, &c))
			fail("clock_gettime(%s): %m", name);
		if (ns(&a) > ns(&b) || ns(&b) > ns(&c))
			fail("%s: vdso %lld, syscall %lld, vdso %lld out of order", name, ns(&a),
			     ns(&b), ns(&c));
	}
}

static void check_all(void)
{
	struct timeval tv1, tv2;
	struct timespec sys;
	time_t t1, t2;

	check_clock(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
	check_clock(CLOCK_REALTIME, "CLOCK_REALTIME");

	gettimeofday(&tv1, NULL);
	syscall(SYS_clock_gettime, CLOCK_REALTIME, &sys);
	gettimeofday(&tv2, NULL);
	if (tv1.tv_sec * 1000000LL + tv1.tv_usec > ns(&sys) / 1000 ||
	    ns(&sys) / 1000 > tv2.tv_sec * 1000000LL + tv2.tv_usec)
		fail("gettimeofday disagrees with the clock_gettime syscall");

	/* time() reads the coarse clock (it may lag the precise one by a tick): compare it with
	 * the time system call, which reads the same clock. */
	t1 = time(NULL);
	sys.tv_sec = syscall(SYS_time, NULL);
	t2 = time(NULL);
	if (t1 > sys.tv_sec || sys.tv_sec > t2)
		fail("time() %lld, syscall %lld, time() %lld out of order", (long long)t1,
		     (long long)sys.tv_sec, (long long)t2);
}

int main(int argc, char **argv)
{
	unsigned long vdso, vvar, vclock, vdso2, vvar2, vclock2;

	test_init(argc, argv);
	vdso = find_mapping("[vdso]");
	vvar = find_mapping("[vvar]");
	vclock = find_mapping("[vvar_vclock]");
	if (!vdso)
		skip("no [vdso] mapping");
	check_all();

	test_ready();
	test_waitsig();

	vdso2 = find_mapping("[vdso]");
	vvar2 = find_mapping("[vvar]");
	vclock2 = find_mapping("[vvar_vclock]");
	if (vclock2 != vclock)
		fail("[vvar_vclock] was at %#lx, is at %#lx", vclock, vclock2);
	if (vdso2 != vdso)
		fail("[vdso] was at %#lx, is at %#lx", vdso, vdso2);
	if (vvar2 != vvar)
		fail("[vvar] was at %#lx, is at %#lx", vvar, vvar2);
	check_all();
	pass();
}
