/*
 * A child in seccomp strict mode (only read, write, _exit and sigreturn allowed) survives: after
 * restore it still runs (it answers through shared memory and with a write(2)), and it is still
 * in strict mode: its next forbidden syscall kills it with SIGKILL.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct shared {
	volatile int phase;	/* 0 starting, 1 strict, 2 go (after restore), 3 answered */
	volatile int wrote;
};

int main(int argc, char **argv)
{
	struct shared *sh;
	int status, i;
	pid_t pid;

	test_init(argc, argv);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("mmap: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL))
			_exit(2);
		sh->phase = 1;
		while (sh->phase != 2)
			__builtin_ia32_pause();
		/* allowed: a write of nothing to stdout */
		sh->wrote = syscall(SYS_write, 1, "", 0) == 0 ? 1 : -1;
		sh->phase = 3;
		syscall(SYS_getpid);	/* forbidden: SIGKILL */
		syscall(SYS_exit, 3);
	}
	while (sh->phase != 1)
		if (waitpid(pid, &status, WNOHANG) == pid)
			fail("the child ended before entering strict mode (status %#x)", status);

	test_ready();
	test_waitsig();

	sh->phase = 2;
	for (i = 0; i < 5000 && sh->phase != 3; i++)
		usleep(1000);
	if (sh->phase != 3)
		fail("the child does not run after restore");
	if (sh->wrote != 1)
		fail("write(2) failed in strict mode after restore");
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %m");
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail("getpid() in strict mode did not kill the child (status %#x): strict mode lost",
		     status);
	pass();
}
