/*
 * Seccomp filters in a multi-threaded process and in its child: two filters installed with
 * SECCOMP_FILTER_FLAG_TSYNC (getppid() fails with EPERM, uname() with EACCES) hold in both
 * threads after restore, and a child with a third filter of its own (getuid() kills the
 * process) is still killed by it after restore, while its allowed calls work.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif

static volatile int thread_state;	/* 1 ready, 2 check, 3 passed, 4 failed */

#define FILTER(name, sysno, ret)						\
	struct sock_filter name[] = {						\
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),	\
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),			\
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sysno, 0, 1),		\
		BPF_STMT(BPF_RET | BPF_K, ret),					\
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),			\
	}

static void install(struct sock_filter *f, unsigned short len, unsigned int flags)
{
	struct sock_fprog prog = { .len = len, .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog))
		fail("seccomp(SECCOMP_SET_MODE_FILTER, %#x): %m", flags);
}

/* 0 if both filters act in the calling thread. */
static int filters_work(void)
{
	struct utsname u;

	errno = 0;
	if (syscall(SYS_getppid) != -1 || errno != EPERM)
		return 1;
	errno = 0;
	if (syscall(SYS_uname, &u) != -1 || errno != EACCES)
		return 2;
	if (syscall(SYS_getpid) != getpid())
		return 3;
	return 0;
}

static void *thread_fn(void *arg)
{
	(void)arg;
	thread_state = 1;
	while (thread_state != 2)
		usleep(1000);
	thread_state = filters_work() ? 4 : 3;
	return NULL;
}

int main(int argc, char **argv)
{
	FILTER(f_getppid, __NR_getppid, SECCOMP_RET_ERRNO | EPERM);
	FILTER(f_uname, __NR_uname, SECCOMP_RET_ERRNO | EACCES);
	FILTER(f_getuid, __NR_getuid, SECCOMP_RET_KILL_PROCESS);
	int status, r;
	pthread_t t;
	pid_t pid;

	test_init(argc, argv);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("PR_SET_NO_NEW_PRIVS: %m");
	if (pthread_create(&t, NULL, thread_fn, NULL))
		fail("pthread_create");
	while (thread_state != 1)
		usleep(1000);
	install(f_getppid, 7, SECCOMP_FILTER_FLAG_TSYNC);
	install(f_uname, 7, SECCOMP_FILTER_FLAG_TSYNC);
	if ((r = filters_work()))
		fail("the filters do not work before the dump (%d)", r);

	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		sigset_t set;
		int sig;

		install(f_getuid, 7, 0);
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		if (filters_work())
			_exit(5);
		sigwait(&set, &sig);
		if (filters_work())
			_exit(6);
		syscall(SYS_getuid);	/* killed here */
		_exit(7);
	}

	test_ready();
	test_waitsig();

	if ((r = filters_work()))
		fail("the filters do not work in the main thread after restore (%d)", r);
	thread_state = 2;
	pthread_join(t, NULL);
	if (thread_state != 3)
		fail("the filters do not work in the second thread after restore");
	kill(pid, SIGUSR1);
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %m");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail("the child was not killed by its filter (status %#x)", status);
	pass();
}
