/*
 * A seccomp filter survives: after installing a filter that makes getppid() fail with EPERM
 * (under no_new_privs), getppid() still fails that way after restore, other calls still work,
 * and the task still reports seccomp mode 2.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int seccomp_mode(void)
{
	char line[256];
	int mode = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

int main(int argc, char **argv)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };
	long r;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("PR_SET_NO_NEW_PRIVS: %m");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		fail("PR_SET_SECCOMP: %m");
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		fail("the filter does not work before the dump");

	test_ready();
	test_waitsig();

	errno = 0;
	r = syscall(SYS_getppid);
	if (r != -1 || errno != EPERM)
		fail("getppid() returned %ld (errno %d): the seccomp filter is gone", r, errno);
	if (seccomp_mode() != 2)
		fail("seccomp mode is %d, not 2", seccomp_mode());
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fail("no_new_privs was lost");
	if (syscall(SYS_getpid) != getpid())
		fail("getpid() is broken");
	pass();
}
