/*
 * epoll: after restore the set reports the same ready targets with the same data, an
 * edge-triggered target and a target at a high fd number (above 1024) are still watched, a
 * target that was not ready becomes ready when written to, and a dup of the epoll fd shares it.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#define HIGH_FD		1500
#define EP_DUP		1600

static int wait_events(int ep, struct epoll_event *ev, int max)
{
	int n = epoll_wait(ep, ev, max, 0);

	if (n < 0)
		fail("epoll_wait: %m");
	return n;
}

static struct epoll_event *find(struct epoll_event *ev, int n, uint64_t data)
{
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 == data)
			return &ev[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct epoll_event ev[8], add;
	int ep, efd, p[2], n;
	char c;

	test_init(argc, argv);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fail("setrlimit: %m");
	ep = epoll_create1(EPOLL_CLOEXEC);
	efd = eventfd(5, 0);
	if (ep < 0 || efd < 0 || pipe(p))
		fail("setup: %m");
	if (dup2(p[0], HIGH_FD) != HIGH_FD || dup2(ep, EP_DUP) != EP_DUP)
		fail("dup2: %m");
	close(p[0]);
	add.events = EPOLLIN;
	add.data.u64 = 0x1111;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &add))
		fail("epoll_ctl: %m");
	add.events = EPOLLIN | EPOLLET;
	add.data.u64 = 0x2222;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, HIGH_FD, &add))
		fail("epoll_ctl: %m");
	add.events = EPOLLOUT;
	add.data.u64 = 0x3333333333ULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &add))
		fail("epoll_ctl: %m");
	if (wait_events(ep, ev, 8) != 2)
		fail("expected 2 ready targets before the dump");

	test_ready();
	test_waitsig();

	if (!(fcntl(ep, F_GETFD) & FD_CLOEXEC) || (fcntl(EP_DUP, F_GETFD) & FD_CLOEXEC))
		fail("FD_CLOEXEC of the epoll fds is not as it was");
	n = wait_events(EP_DUP, ev, 8);
	if (n != 2 || !find(ev, n, 0x1111) || !find(ev, n, 0x3333333333ULL))
		fail("after restore %d targets are ready, expected the eventfd and the pipe", n);
	if (!(find(ev, n, 0x1111)->events & EPOLLIN) ||
	    !(find(ev, n, 0x3333333333ULL)->events & EPOLLOUT))
		fail("wrong events reported");
	if (write(p[1], "z", 1) != 1)
		fail("write: %m");
	n = wait_events(ep, ev, 8);
	if (n != 3 || !find(ev, n, 0x2222))
		fail("the pipe at fd %d is not reported once written to (%d ready)", HIGH_FD, n);
	/* edge-triggered: no new edge, no report */
	n = wait_events(ep, ev, 8);
	if (n != 2 || find(ev, n, 0x2222))
		fail("the edge-triggered target lost EPOLLET (%d ready)", n);
	if (read(HIGH_FD, &c, 1) != 1 || c != 'z')
		fail("read of fd %d", HIGH_FD);
	pass();
}
