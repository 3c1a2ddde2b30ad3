/* x86_64: register sets, FPU/xsave state and the injected syscall for libcompel. */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "../../lib/internal.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE	0x202
#endif

#define XSAVE_MAX	(64 * 1024)

int compel_arch_get_regs(pid_t pid, struct user_regs_struct *regs)
{
	struct iovec iov = { .iov_base = regs, .iov_len = sizeof(*regs) };

	if (ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return -errno;
	return iov.iov_len == sizeof(*regs) ? 0 : -EOPNOTSUPP;	/* a 32-bit task */
}

int compel_arch_set_regs(pid_t pid, const struct user_regs_struct *regs)
{
	struct iovec iov = { .iov_base = (void *)regs, .iov_len = sizeof(*regs) };

	if (ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov))
		return -errno;
	return 0;
}

/* The whole xsave area when the CPU has one, the legacy FXSAVE image otherwise. */
int compel_arch_get_fpu(pid_t pid, void **ret_buf, size_t *ret_size, unsigned int *ret_note)
{
	unsigned int note = NT_X86_XSTATE;
	struct iovec iov;
	void *buf, *p;

	buf = calloc(1, XSAVE_MAX);
	if (!buf)
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = XSAVE_MAX;
	if (ptrace(PTRACE_GETREGSET, pid, (void *)(long)note, &iov)) {
		if (errno != ENODEV && errno != EINVAL)
			goto out_err;
		note = NT_PRFPREG;
		iov.iov_len = XSAVE_MAX;
		if (ptrace(PTRACE_GETREGSET, pid, (void *)(long)note, &iov))
			goto out_err;
	}
	p = realloc(buf, iov.iov_len);
	*ret_buf = p ? p : buf;
	*ret_size = iov.iov_len;
	*ret_note = note;
	return 0;

out_err:
	free(buf);
	return -errno;
}

int compel_arch_set_fpu(pid_t pid, void *buf, size_t size, unsigned int note)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };

	if (ptrace(PTRACE_SETREGSET, pid, (void *)(long)note, &iov))
		return -errno;
	return 0;
}

/*
 * orig_rax = -1: the kernel must not treat these registers as an interrupted syscall to
 * restart when the task leaves its current stop (it would move rip back by 2).
 */
void compel_arch_syscall_regs(struct user_regs_struct *regs, unsigned long ip, long nr,
		       const unsigned long args[6])
{
	regs->rip = ip;
	regs->rax = nr;
	regs->orig_rax = (unsigned long)-1;
	regs->rdi = args[0];
	regs->rsi = args[1];
	regs->rdx = args[2];
	regs->r10 = args[3];
	regs->r8 = args[4];
	regs->r9 = args[5];
	regs->eflags &= ~(1UL << 8 | 1UL << 10);	/* no TF, DF clear */
}

long compel_arch_syscall_ret(const struct user_regs_struct *regs)
{
	return (long)regs->rax;
}

void compel_arch_entry_regs(struct user_regs_struct *regs, unsigned long ip, unsigned long sp,
		     unsigned long arg)
{
	regs->rip = ip;
	regs->rsp = sp;
	regs->rdi = arg;
	regs->rax = 0;
	regs->orig_rax = (unsigned long)-1;
	regs->eflags &= ~(1UL << 8 | 1UL << 10);
}

/* syscall; int3 x 6 */
unsigned long compel_arch_syscall_code(void)
{
	static const unsigned char code[8] = { 0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };
	unsigned long w;

	memcpy(&w, code, sizeof(w));
	return w;
}
