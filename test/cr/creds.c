/*
 * A task that dropped its privileges the way a web server worker does (groups, then gid, then
 * uid 65534: every capability gone, dumpable cleared) comes back with the same uids, gids,
 * supplementary groups, no capabilities and the same dumpable flag (which a change of uid
 * resets, so the restore must set it after the credentials), and its lowered resource limits
 * (read from /proc/PID/limits: prlimit() on another user's task needs CAP_SYS_RESOURCE).
 */
#include "zdtmtst.h"

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#define NOBODY	65534

static const gid_t groups[] = { 100, 4242, NOBODY };

/* test_ready() writes the pidfile next to it: let the unprivileged task do that. */
static void open_pidfile_dir(int argc, char **argv)
{
	char path[PATH_MAX];
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--pidfile")) {
			snprintf(path, sizeof(path), "%s", argv[i + 1]);
			chmod(dirname(path), 0777);
		}
}

static void caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		fail("capget: %m");
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

int main(int argc, char **argv)
{
	uid_t r, e, s;
	gid_t gr, ge, gs, got[16];
	uint64_t eff, prm, inh;
	struct rlimit rl;
	int n, i, dumpable;

	if (getuid() != 0)
		skip("needs root");
	open_pidfile_dir(argc, argv);
	test_init(argc, argv);

	rl.rlim_cur = 512;
	rl.rlim_max = 1024;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail("setrlimit: %m");
	if (setgroups(3, groups))
		fail("setgroups: %m");
	if (setresgid(NOBODY, NOBODY, NOBODY))
		fail("setresgid: %m");
	if (setresuid(NOBODY, NOBODY, NOBODY))
		fail("setresuid: %m");
	dumpable = prctl(PR_GET_DUMPABLE);

	test_ready();
	test_waitsig();

	if (getresuid(&r, &e, &s) || r != NOBODY || e != NOBODY || s != NOBODY)
		fail("uids are %u/%u/%u", r, e, s);
	if (getresgid(&gr, &ge, &gs) || gr != NOBODY || ge != NOBODY || gs != NOBODY)
		fail("gids are %u/%u/%u", gr, ge, gs);
	if (setfsuid(-1) != NOBODY || setfsgid(-1) != NOBODY)
		fail("the fs uid/gid changed");
	n = getgroups(16, got);
	if (n != 3)
		fail("%d supplementary groups, not 3", n);
	for (i = 0; i < 3; i++)
		if (got[i] != groups[i])
			fail("supplementary group %d is %u, not %u", i, got[i], groups[i]);
	caps_get(&eff, &prm, &inh);
	if (eff || prm || inh)
		fail("capabilities eff %#llx prm %#llx inh %#llx, want none",
		     (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh);
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 1)
		fail("CAP_SYS_ADMIN left the bounding set");
	if (setuid(0) == 0 || errno != EPERM)
		fail("setuid(0) works again");
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur != 512 || rl.rlim_max != 1024)
		fail("RLIMIT_NOFILE is %llu/%llu, was 512/1024", (unsigned long long)rl.rlim_cur,
		     (unsigned long long)rl.rlim_max);
	if (prctl(PR_GET_DUMPABLE) != dumpable)
		fail("dumpable is %d, was %d", prctl(PR_GET_DUMPABLE), dumpable);
	pass();
}
