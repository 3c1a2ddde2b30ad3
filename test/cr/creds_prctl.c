/*
 * Per-task prctl state survives, in the root task and in a child: the parent death signal (the
 * child's, whose parent is restored with it), dumpable cleared, personality
 * (ADDR_NO_RANDOMIZE), umask and comm. The child checks itself after restore when its parent
 * asks (SIGUSR1) and reports through its exit code. The root task's own parent death signal is
 * dropped: its parent is not restored, and the signal would fire when criu exits.
 */
#include "zdtmtst.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define CHILD_PERS	(ADDR_NO_RANDOMIZE)
#define CHILD_COMM	"zdtm-prctl-kid"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

/* 0 if all is as set, else the number of the first check that failed. */
static int child_check(void)
{
	char name[17] = "";
	mode_t m;
	int v = 0;

	if (prctl(PR_GET_PDEATHSIG, &v) || v != SIGUSR2)
		return 10;
	if (prctl(PR_GET_DUMPABLE) != 0)
		return 11;
	if ((personality(0xffffffff) & 0xffffff) != CHILD_PERS)
		return 12;
	m = umask(0);
	umask(m);
	if (m != 0077)
		return 13;
	if (prctl(PR_GET_NAME, name) || strcmp(name, CHILD_COMM))
		return 14;
	return 0;
}

static void child(int ready_fd)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	signal(SIGUSR1, on_usr1);
	if (prctl(PR_SET_PDEATHSIG, SIGUSR2) || prctl(PR_SET_DUMPABLE, 0) ||
	    personality(CHILD_PERS) < 0 || prctl(PR_SET_NAME, CHILD_COMM))
		_exit(2);
	umask(0077);
	if (child_check())
		_exit(3);
	if (write(ready_fd, "r", 1) != 1)
		_exit(4);
	close(ready_fd);
	while (!go)
		sigsuspend(&old);
	_exit(child_check());
}

int main(int argc, char **argv)
{
	int p[2], status;
	char c;
	pid_t pid;

	test_init(argc, argv);
	if (pipe(p))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(p[0]);
		child(p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		fail("the child did not set its state up");
	close(p[0]);
	if (prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_PDEATHSIG, SIGHUP))
		fail("prctl: %m");
	if (personality(ADDR_NO_RANDOMIZE) < 0)
		fail("personality: %m");

	test_ready();
	test_waitsig();

	if (prctl(PR_GET_DUMPABLE) != 0)
		fail("the root task is dumpable again");
	if (prctl(PR_GET_PDEATHSIG, &status) || status != 0)
		fail("the root task's parent death signal is %d, want none", status);
	if ((personality(0xffffffff) & 0xffffff) != ADDR_NO_RANDOMIZE)
		fail("the root task's personality is %#x", personality(0xffffffff));
	if (kill(pid, SIGUSR1))
		fail("the child is gone: %m");
	if (waitpid(pid, &status, 0) != pid)
		fail("waitpid: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("the child's check failed (status %#x: check %d)", status,
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	pass();
}
