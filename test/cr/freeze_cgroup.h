/*
 * Shared by freeze_cgroup_v1.c and freeze_cgroup_v2.c: the test moves itself into a cgroup of its
 * own (CG_ROOT/CG_NAME-$ZDTM_RUN_ID, which its .desc passes to criu dump --freeze-cgroup: unique
 * per test run, so that runs in parallel do not freeze each other's tests), fills some memory,
 * and after restore checks the memory, that it runs and that it is in its cgroup again (so that
 * the next dump, of the iterations its .desc asks for, freezes it there too); then it leaves
 * the cgroup and removes it.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define MEM_LEN		(1 << 20)

static void cg_write(const char *dir, const char *file, const char *val)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		fail("open %s: %m", path);
	if (write(fd, val, strlen(val)) < 0)
		fail("write '%s' to %s: %m", val, path);
	close(fd);
}

/* Are we in cgroup CG_NAME-$ZDTM_RUN_ID again (after restore)? */
static void in_cgroup(const char *dir)
{
	char want[256], buf[4096];
	ssize_t n;
	int fd;

	snprintf(want, sizeof(want), "%s%s-%s\n", CG_LINE, CG_NAME, getenv("ZDTM_RUN_ID"));
	fd = open("/proc/self/cgroup", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (!strstr(buf, want))
		fail("not in %s after restore: /proc/self/cgroup has\n%s", dir, buf);
}

int main(int argc, char **argv)
{
	char dir[256], pid[32];
	volatile uint64_t spins = 0;
	unsigned char *mem;
	uint64_t sum;
	int i;

	test_init(argc, argv);
	if (!getenv("ZDTM_RUN_ID"))
		skip("no ZDTM_RUN_ID in the environment (run it from test/run.py)");
	snprintf(dir, sizeof(dir), "%s/%s-%s", CG_ROOT, CG_NAME, getenv("ZDTM_RUN_ID"));
	if (access(CG_ROOT, F_OK))
		skip("no cgroup hierarchy at %s", CG_ROOT);
	if (mkdir(dir, 0755) && errno != EEXIST)
		fail("mkdir %s: %m", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	cg_write(dir, "cgroup.procs", pid);

	mem = malloc(MEM_LEN);
	if (!mem)
		fail("out of memory");
	test_fill(mem, MEM_LEN, 0x5eed);
	sum = test_csum(mem, MEM_LEN);

	test_ready();
	while (!test_sig_flag)
		spins++;	/* runs (frozen and thawed) until SIGTERM */
	test_waitsig();

	if (test_csum(mem, MEM_LEN) != sum)
		fail("the memory changed");
	in_cgroup(dir);
	for (i = 0; i < 1000; i++)
		spins++;
	if (spins < 1000)
		fail("the spin counter is %llu", (unsigned long long)spins);

	/* Leave the test cgroup (the restored task is not in it, but be sure) and remove it. */
	cg_write(CG_ROOT, "cgroup.procs", pid);
	if (rmdir(dir) && errno != ENOENT)
		fail("rmdir %s: %m", dir);
	pass();
}
