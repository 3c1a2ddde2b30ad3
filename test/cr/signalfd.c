/*
 * signalfd: the mask survives (checked in fdinfo and by receiving a signal of the mask through
 * it), a second signalfd stays non-blocking with its own mask.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

static unsigned long long fdinfo_mask(int fd)
{
	char path[64], buf[1024], *s;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		fail("open %s: %m", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	s = strstr(buf, "sigmask:");
	if (!s)
		fail("no sigmask in %s", path);
	return strtoull(s + 8, NULL, 16);
}

int main(int argc, char **argv)
{
	struct signalfd_siginfo si;
	unsigned long long m1, m2;
	sigset_t a, b;
	int fa, fb;

	test_init(argc, argv);
	sigemptyset(&a);
	sigaddset(&a, SIGUSR1);
	sigaddset(&a, SIGRTMIN + 3);
	sigemptyset(&b);
	sigaddset(&b, SIGUSR2);
	sigprocmask(SIG_BLOCK, &a, NULL);
	sigprocmask(SIG_BLOCK, &b, NULL);
	fa = signalfd(-1, &a, 0);
	fb = signalfd(-1, &b, SFD_NONBLOCK);
	if (fa < 0 || fb < 0)
		fail("signalfd: %m");
	m1 = fdinfo_mask(fa);
	m2 = fdinfo_mask(fb);

	test_ready();
	test_waitsig();

	if (fdinfo_mask(fa) != m1 || fdinfo_mask(fb) != m2)
		fail("masks are %llx/%llx, were %llx/%llx", fdinfo_mask(fa), fdinfo_mask(fb), m1, m2);
	if (!(fcntl(fb, F_GETFL) & O_NONBLOCK) || (fcntl(fa, F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK is not as it was");
	if (read(fb, &si, sizeof(si)) != -1 || errno != EAGAIN)
		fail("fb should have nothing to read");
	raise(SIGRTMIN + 3);
	if (read(fa, &si, sizeof(si)) != sizeof(si) || (int)si.ssi_signo != SIGRTMIN + 3)
		fail("signal %d not received through the signalfd", SIGRTMIN + 3);
	raise(SIGUSR2);
	if (read(fb, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR2)
		fail("SIGUSR2 not received through the second signalfd");
	pass();
}
