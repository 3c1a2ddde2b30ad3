/* The test blob for test-compel: a few commands exercising the std plugin. Freestanding. */
#include <stdint.h>

#include "compel/plugins/std/std.h"
#include "test-proto.h"

static int pipe_fd = -1;

static int do_vmsplice(struct test_args *a)
{
	struct { uint64_t base, len; } iov = { a->addr, a->len };
	long r;

	a->done = 0;
	while (iov.len) {
		r = sys_vmsplice(pipe_fd, (const struct iovec *)&iov, 1, 0);
		if (r <= 0)
			return r ? (int)r : -5;
		iov.base += (uint64_t)r;
		iov.len -= (uint64_t)r;
		a->done += (uint64_t)r;
	}
	return 0;
}

/* Trash the vector registers and MXCSR (round toward zero): cure must restore them. */
static void clobber_fpu(void)
{
	static const uint32_t mxcsr = 0x7f80;
	static const uint64_t junk[2] = { 0x4141414141414141ULL, 0x4242424242424242ULL };

	__asm__ __volatile__("movdqu %0, %%xmm0\n\t"
			     "movdqa %%xmm0, %%xmm1\n\t movdqa %%xmm0, %%xmm2\n\t"
			     "movdqa %%xmm0, %%xmm3\n\t movdqa %%xmm0, %%xmm4\n\t"
			     "movdqa %%xmm0, %%xmm5\n\t movdqa %%xmm0, %%xmm6\n\t"
			     "movdqa %%xmm0, %%xmm7\n\t movdqa %%xmm0, %%xmm8\n\t"
			     "movdqa %%xmm0, %%xmm9\n\t movdqa %%xmm0, %%xmm10\n\t"
			     "movdqa %%xmm0, %%xmm11\n\t movdqa %%xmm0, %%xmm12\n\t"
			     "movdqa %%xmm0, %%xmm13\n\t movdqa %%xmm0, %%xmm14\n\t"
			     "movdqa %%xmm0, %%xmm15\n\t ldmxcsr %1\n\t fldz\n\t fldz"
			     : : "m"(junk), "m"(mxcsr) : "memory");
}

static int ping(struct test_args *a)
{
	a->pid = sys_getpid();
	a->sigmask = std_orig_sigmask();
	pie_info("ping from %d, mask %llx, %s", (int)a->pid, (unsigned long long)a->sigmask, "ok");
	return 0;
}

static int set_pipe(struct test_args *a)
{
	int fd;

	(void)a;
	if (std_recv_fds(std_ctl_sock(), &fd, 1))
		return -5;
	pipe_fd = fd;
	return 0;
}

static int send_fd(struct test_args *a)
{
	int fd = (int)a->addr;

	return std_send_fds(std_ctl_sock(), &fd, 1);
}

static int clobber(struct test_args *a)
{
	(void)a;
	clobber_fpu();
	return 0;
}

static int fault(struct test_args *a)
{
	*(volatile int *)(uintptr_t)a->addr = 1;
	return 0;
}

/* A table of pointers: absolute relocations, applied by compel at load time. */
static int (*const handlers[])(struct test_args *) = {
	[TEST_CMD_PING - TEST_CMD_PING] = ping,
	[TEST_CMD_SET_PIPE - TEST_CMD_PING] = set_pipe,
	[TEST_CMD_VMSPLICE - TEST_CMD_PING] = do_vmsplice,
	[TEST_CMD_SEND_FD - TEST_CMD_PING] = send_fd,
	[TEST_CMD_CLOBBER_FPU - TEST_CMD_PING] = clobber,
	[TEST_CMD_FAULT - TEST_CMD_PING] = fault,
};

int parasite_daemon_cmd(unsigned int cmd, void *args)
{
	if (cmd < TEST_CMD_PING || cmd - TEST_CMD_PING >= sizeof(handlers) / sizeof(handlers[0]))
		return -22;
	return handlers[cmd - TEST_CMD_PING](args);
}

void parasite_daemon_fini(void)
{
	if (pipe_fd >= 0)
		sys_close(pipe_fd);
	pipe_fd = -1;
}
