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

int parasite_daemon_cmd(unsigned int cmd, void *args)
{
	struct test_args *a = args;
	int fd;

	switch (cmd) {
	case TEST_CMD_PING:
		a->pid = sys_getpid();
		a->sigmask = std_orig_sigmask();
		return 0;
	case TEST_CMD_SET_PIPE:
		if (std_recv_fds(std_ctl_sock(), &fd, 1))
			return -5;
		pipe_fd = fd;
		return 0;
	case TEST_CMD_VMSPLICE:
		return do_vmsplice(a);
	case TEST_CMD_SEND_FD:
		fd = (int)a->addr;
		return std_send_fds(std_ctl_sock(), &fd, 1);
	case TEST_CMD_CLOBBER_FPU:
		clobber_fpu();
		return 0;
	case TEST_CMD_FAULT:
		*(volatile int *)(uintptr_t)a->addr = 1;
		return 0;
	}
	return -22;
}

void parasite_daemon_fini(void)
{
	if (pipe_fd >= 0)
		sys_close(pipe_fd);
	pipe_fd = -1;
}
