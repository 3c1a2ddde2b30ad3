/*
 * A target for test/errors/seccomp.py: a second thread installed a seccomp filter of its own
 * (getppid() fails with EPERM there only; filters are per thread). The dump must refuse it;
 * after SIGTERM the filter still acts in that thread and not in the main one.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static volatile int state;	/* 1: filtered, 2: check now, 3: fine, 4: wrong */

static void *thread_fn(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };

	(void)arg;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		state = 4;
		return NULL;
	}
	state = 1;
	while (state != 2)
		usleep(1000);
	errno = 0;
	state = syscall(SYS_getppid) == -1 && errno == EPERM ? 3 : 4;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	test_init(argc, argv);
	if (pthread_create(&t, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (state == 0)
		usleep(1000);
	if (state != 1)
		fail("the thread cannot install its filter");

	test_ready();
	test_waitsig();

	state = 2;
	pthread_join(t, NULL);
	if (state != 3)
		fail("the thread's filter is gone");
	if (syscall(SYS_getppid) != getppid())
		fail("the main thread is filtered");
	pass();
}
