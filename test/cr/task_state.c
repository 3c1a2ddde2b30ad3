/*
 * Per-task state kept by the kernel survives: signal handlers with their flags and masks, an
 * ignored signal, the blocked signal mask, a pending (blocked) signal, the umask and the task
 * name (comm). After restore each is queried and the handler is shown to run.
 */
#include "zdtmtst.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>

static volatile sig_atomic_t usr1_hits;
static volatile int usr1_code;

static void usr1_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr1_hits++;
	usr1_code = si->si_code;
}

int main(int argc, char **argv)
{
	struct sigaction sa, got;
	sigset_t mask, cur, pending;
	char name[17] = "";
	mode_t old;

	test_init(argc, argv);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = usr1_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGALRM);
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction SIGUSR1: %m");
	signal(SIGUSR2, SIG_IGN);
	signal(SIGINT, SIG_DFL);

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		fail("sigprocmask: %m");
	kill(getpid(), SIGWINCH);	/* stays pending: blocked */

	umask(027);
	prctl(PR_SET_NAME, "zdtm-taskstate");

	test_ready();
	test_waitsig();

	if (sigaction(SIGUSR1, NULL, &got))
		fail("sigaction query: %m");
	if (got.sa_sigaction != usr1_handler)
		fail("SIGUSR1 handler is %p, was %p", (void *)got.sa_sigaction,
		     (void *)usr1_handler);
	if ((got.sa_flags & (SA_SIGINFO | SA_RESTART)) != (SA_SIGINFO | SA_RESTART))
		fail("SIGUSR1 flags are %#x", got.sa_flags);
	if (!sigismember(&got.sa_mask, SIGUSR2) || !sigismember(&got.sa_mask, SIGALRM) ||
	    sigismember(&got.sa_mask, SIGINT))
		fail("SIGUSR1's handler mask changed");
	if (sigaction(SIGUSR2, NULL, &got) || got.sa_handler != SIG_IGN)
		fail("SIGUSR2 is no longer ignored");
	if (sigaction(SIGINT, NULL, &got) || got.sa_handler != SIG_DFL)
		fail("SIGINT is no longer SIG_DFL");

	sigprocmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, SIGHUP) || !sigismember(&cur, SIGWINCH))
		fail("the blocked mask lost SIGHUP or SIGWINCH");
	if (sigismember(&cur, SIGUSR1) || sigismember(&cur, SIGTERM))
		fail("SIGUSR1 or SIGTERM are blocked after restore");
	sigpending(&pending);
	if (!sigismember(&pending, SIGWINCH))
		fail("the pending SIGWINCH was lost");

	old = umask(0);
	if (old != 027)
		fail("umask is %03o, was 027", old);
	prctl(PR_GET_NAME, name);
	if (strcmp(name, "zdtm-taskstate"))
		fail("the task name is '%s'", name);

	kill(getpid(), SIGUSR1);
	if (usr1_hits != 1 || usr1_code != SI_USER)
		fail("the SIGUSR1 handler did not run (%d hits)", (int)usr1_hits);
	pass();
}
