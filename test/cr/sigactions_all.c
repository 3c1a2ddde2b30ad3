/*
 * Every signal's disposition survives exactly, as the kernel reports it (raw rt_sigaction):
 * handlers, SIG_IGN and SIG_DFL, each SA_* flag (NOCLDSTOP, NOCLDWAIT, SIGINFO, ONSTACK,
 * RESTART, NODEFER, RESETHAND, and a restorer of our own), and a different handler mask per
 * signal. After restore a SA_RESETHAND handler runs once and resets to SIG_DFL, and a
 * SA_SIGINFO | SA_NODEFER handler sees its siginfo.
 */
#include "zdtmtst.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif

struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};

static const uint64_t flag_set[] = {
	SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO, SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND,
};
#define NR_FLAGS	(sizeof(flag_set) / sizeof(flag_set[0]))

static struct ksigaction before[65];
static volatile sig_atomic_t hits[65];
static volatile int last_code;

static void handler_a(int sig)
{
	hits[sig]++;
}

static void handler_b(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits[sig]++;
	last_code = si->si_code;
}

/* glibc's own restorer is what a handler needs to return; SA_RESTORER with glibc's address. */
static uint64_t glibc_restorer;

static int skip_sig(int sig)
{
	return sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33 || sig == SIGTERM;
}

static int ksa(int sig, const struct ksigaction *act, struct ksigaction *old)
{
	return syscall(SYS_rt_sigaction, sig, act, old, 8);
}

int main(int argc, char **argv)
{
	struct ksigaction act, got;
	struct sigaction sa;
	int sig;

	test_init(argc, argv);
	/* Learn glibc's restorer from a disposition it installed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler_a;
	sigaction(SIGUSR1, &sa, NULL);
	ksa(SIGUSR1, NULL, &got);
	glibc_restorer = got.restorer;
	if (!(got.flags & SA_RESTORER) || !glibc_restorer)
		fail("glibc installs no SA_RESTORER");

	for (sig = 1; sig <= 64; sig++) {
		if (skip_sig(sig))
			continue;
		memset(&act, 0, sizeof(act));
		switch (sig % 5) {
		case 0:
			act.handler = (uint64_t)SIG_IGN;
			break;
		case 1:
			act.handler = (uint64_t)SIG_DFL;
			break;
		default:
			act.handler = (uint64_t)(sig % 2 ? (void *)handler_a : (void *)handler_b);
			break;
		}
		act.flags = flag_set[sig % NR_FLAGS] | flag_set[(sig / NR_FLAGS) % NR_FLAGS] |
			    SA_RESTORER;
		if (act.handler == (uint64_t)handler_b)
			act.flags |= SA_SIGINFO;
		act.restorer = glibc_restorer;
		act.mask = (0x9e3779b97f4a7c15ULL * sig) & ~((1ULL << (SIGKILL - 1)) |
							    (1ULL << (SIGSTOP - 1)));
		if (ksa(sig, &act, NULL))
			fail("rt_sigaction(%d): %m", sig);
		if (ksa(sig, NULL, &before[sig]))
			fail("rt_sigaction(%d) query: %m", sig);
	}

	test_ready();
	test_waitsig();

	for (sig = 1; sig <= 64; sig++) {
		if (skip_sig(sig))
			continue;
		if (ksa(sig, NULL, &got))
			fail("rt_sigaction(%d) query: %m", sig);
		if (memcmp(&got, &before[sig], sizeof(got)))
			fail("signal %d: handler %#llx flags %#llx restorer %#llx mask %#llx, was "
			     "%#llx %#llx %#llx %#llx", sig, (unsigned long long)got.handler,
			     (unsigned long long)got.flags, (unsigned long long)got.restorer,
			     (unsigned long long)got.mask, (unsigned long long)before[sig].handler,
			     (unsigned long long)before[sig].flags,
			     (unsigned long long)before[sig].restorer,
			     (unsigned long long)before[sig].mask);
	}

	/* Make a SA_RESETHAND one and a SA_SIGINFO | SA_NODEFER one run. */
	memset(&act, 0, sizeof(act));
	act.handler = (uint64_t)handler_a;
	act.flags = SA_RESETHAND | SA_RESTORER;
	act.restorer = glibc_restorer;
	ksa(SIGUSR2, &act, NULL);
	kill(getpid(), SIGUSR2);
	ksa(SIGUSR2, NULL, &got);
	if (hits[SIGUSR2] != 1 || got.handler != (uint64_t)SIG_DFL)
		fail("SA_RESETHAND: %d hits, handler %#llx", (int)hits[SIGUSR2],
		     (unsigned long long)got.handler);
	act.handler = (uint64_t)handler_b;
	act.flags = SA_SIGINFO | SA_NODEFER | SA_RESTORER;
	ksa(SIGUSR2, &act, NULL);
	kill(getpid(), SIGUSR2);
	if (hits[SIGUSR2] != 2 || last_code != SI_USER)
		fail("SA_SIGINFO handler: %d hits, si_code %d", (int)hits[SIGUSR2], last_code);
	pass();
}
