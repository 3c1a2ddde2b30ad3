/*
 * Capabilities of a task that kept some across a change of uid: securebits KEEP_CAPS and
 * NO_SETUID_FIXUP, uid/gid 1000, effective {CHOWN, NET_BIND_SERVICE}, permitted also KILL,
 * inheritable {NET_BIND_SERVICE, KILL}, ambient {NET_BIND_SERVICE}, CAP_SYS_MODULE and CAP_MKNOD
 * dropped from the bounding set, no_new_privs. All of it must be the same after restore, and
 * the effective CAP_CHOWN must still work.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#define ID	1000
#define BIT(c)	(1ULL << (c))

#define WANT_EFF	(BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE))
#define WANT_PRM	(WANT_EFF | BIT(CAP_KILL))
#define WANT_INH	(BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL))
#define WANT_SECBITS	(SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP)

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

static void caps_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	if (syscall(SYS_capset, &h, d))
		fail("capset: %m");
}

int main(int argc, char **argv)
{
	uint64_t eff, prm, inh;
	char path[PATH_MAX];
	gid_t g = 2000;
	struct stat st;
	int fd, c;

	if (getuid() != 0)
		skip("needs root");
	open_pidfile_dir(argc, argv);
	test_init(argc, argv);

	snprintf(path, sizeof(path), "%s/chown-me", test_dir());
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("cannot create %s: %m", path);
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE) || prctl(PR_CAPBSET_DROP, CAP_MKNOD))
		fail("PR_CAPBSET_DROP: %m");
	if (prctl(PR_SET_SECUREBITS, WANT_SECBITS))
		fail("PR_SET_SECUREBITS: %m");
	if (setgroups(1, &g) || setresgid(ID, ID, ID) || setresuid(ID, ID, ID))
		fail("cannot become %d: %m", ID);
	caps_set(WANT_EFF, WANT_PRM, WANT_INH);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0))
		fail("PR_CAP_AMBIENT_RAISE: %m");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("PR_SET_NO_NEW_PRIVS: %m");

	test_ready();
	test_waitsig();

	if (getuid() != ID || geteuid() != ID || getgid() != ID || getegid() != ID)
		fail("ids are %u/%u %u/%u", getuid(), geteuid(), getgid(), getegid());
	caps_get(&eff, &prm, &inh);
	if (eff != WANT_EFF || prm != WANT_PRM || inh != WANT_INH)
		fail("capabilities eff %#llx prm %#llx inh %#llx, want %#llx %#llx %#llx",
		     (unsigned long long)eff, (unsigned long long)prm, (unsigned long long)inh,
		     (unsigned long long)WANT_EFF, (unsigned long long)WANT_PRM,
		     (unsigned long long)WANT_INH);
	for (c = 0; c <= CAP_LAST_CAP; c++) {
		int amb = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
		int bnd = prctl(PR_CAPBSET_READ, c);

		if (amb < 0 || bnd < 0)
			continue;	/* not known to this kernel */
		if (amb != (c == CAP_NET_BIND_SERVICE))
			fail("ambient capability %d is %s", c, amb ? "set" : "not set");
		if (bnd == (c == CAP_SYS_MODULE || c == CAP_MKNOD) && c != CAP_SYS_RESOURCE)
			fail("capability %d is %s the bounding set", c, bnd ? "in" : "not in");
	}
	if (prctl(PR_GET_SECUREBITS) != WANT_SECBITS)
		fail("securebits are %#x, want %#x", prctl(PR_GET_SECUREBITS), WANT_SECBITS);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fail("no_new_privs is lost");

	/* CAP_CHOWN is effective: give root's file away to another user. */
	if (fchown(fd, 4321, 4321))
		fail("fchown with CAP_CHOWN: %m");
	if (fstat(fd, &st) || st.st_uid != 4321)
		fail("the file is owned by %u after fchown", st.st_uid);
	close(fd);
	pass();
}
