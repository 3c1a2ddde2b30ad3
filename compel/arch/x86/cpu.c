/* x86_64: register sets, FPU/xsave state and the injected syscall for libcompel. */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
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
	if (iov.iov_len != sizeof(*regs) || regs->cs != 0x33)	/* __USER_CS: a 64-bit task */
		return -EOPNOTSUPP;
	return 0;
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

bool compel_arch_fixup_restart(struct user_regs_struct *r)
{
	if ((long)r->orig_rax < 0)
		return false;
	switch ((long)r->rax) {
	case -512:	/* ERESTARTSYS */
	case -513:	/* ERESTARTNOINTR */
	case -514:	/* ERESTARTNOHAND */
		r->rax = r->orig_rax;
		break;
	case -516:	/* ERESTART_RESTARTBLOCK: the task's restart_block is untouched */
		r->rax = 219;	/* __NR_restart_syscall */
		break;
	default:
		return false;
	}
	r->rip -= 2;		/* back on the syscall instruction, 0f 05 */
	return true;
}

/* syscall; mov $15, %eax (rt_sigreturn); syscall; int3 x 7 */
void compel_arch_syscall_code_guarded(unsigned long ret_code[2])
{
	static const unsigned char code[16] = { 0x0f, 0x05, 0xb8, 0x0f, 0x00, 0x00, 0x00, 0x0f,
						0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };

	memcpy(ret_code, code, sizeof(code));
}

/* syscall; int3 x 6 */
unsigned long compel_arch_syscall_code(void)
{
	static const unsigned char code[8] = { 0x0f, 0x05, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };
	unsigned long w;

	memcpy(&w, code, sizeof(w));
	return w;
}

/* The x86_64 rt_sigframe as rt_sigreturn reads it (arch/x86/include/asm/sigframe.h). */
struct compel_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct compel_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct {
		uint64_t ss_sp;
		int32_t ss_flags;
		int32_t pad;
		uint64_t ss_size;
	} uc_stack;
	struct compel_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};

struct compel_rt_sigframe {
	uint64_t pretcode;
	struct compel_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct compel_sigcontext) == 256, "sigcontext layout");
_Static_assert(__builtin_offsetof(struct compel_rt_sigframe, uc.uc_stack) == 24,
	       "COMPEL_SIGFRAME_UC_STACK_OFF");

#define UC_FP_XSTATE_		0x1
#define UC_SIGCONTEXT_SS_	0x2
#define UC_STRICT_RESTORE_SS_	0x4
#define FP_XSTATE_MAGIC1_	0x46505853U
#define FP_XSTATE_MAGIC2_	0x46505845U
#define FX_SW_OFF		464	/* struct _fpx_sw_bytes in the FXSAVE area */
#define FPSTATE_OFF		ALIGN_UP(sizeof(struct compel_rt_sigframe), 64)

size_t compel_arch_sigframe_size(size_t xsave_size)
{
	return FPSTATE_OFF + xsave_size + sizeof(uint32_t);
}

/*
 * A frame that rt_sigreturn turns back into the task's state: registers (with an interrupted
 * syscall set up to restart, as the kernel would on the way out of a stop; restart_block
 * syscalls get -EINTR since sigreturn drops the restart block), FPU state, signal mask.
 */
void compel_arch_build_sigframe(void *dst, unsigned long remote, const struct user_regs_struct *r,
				const void *xsave, size_t xsave_size, unsigned int note,
				uint64_t sigmask)
{
	struct compel_rt_sigframe *f = dst;
	struct compel_sigcontext *sc = &f->uc.uc_mcontext;
	unsigned char *fp = (unsigned char *)dst + FPSTATE_OFF;
	uint32_t magic1, ext_size, xstate_size, magic2 = FP_XSTATE_MAGIC2_;

	memset(f, 0, FPSTATE_OFF);
	*sc = (struct compel_sigcontext){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11, .r12 = r->r12,
		.r13 = r->r13, .r14 = r->r14, .r15 = r->r15, .rdi = r->rdi, .rsi = r->rsi,
		.rbp = r->rbp, .rbx = r->rbx, .rdx = r->rdx, .rax = r->rax, .rcx = r->rcx,
		.rsp = r->rsp, .rip = r->rip, .eflags = r->eflags, .cs = (uint16_t)r->cs,
		.ss = (uint16_t)r->ss, .fpstate = remote + FPSTATE_OFF,
	};
	if ((long)r->orig_rax >= 0) {
		switch ((long)r->rax) {
		case -512:	/* ERESTARTSYS */
		case -513:	/* ERESTARTNOINTR */
		case -514:	/* ERESTARTNOHAND */
			sc->rax = r->orig_rax;
			sc->rip -= 2;
			break;
		case -516:	/* ERESTART_RESTARTBLOCK */
			sc->rax = (uint64_t)-EINTR;
			break;
		}
	}
	f->uc.uc_flags = UC_SIGCONTEXT_SS_ | UC_STRICT_RESTORE_SS_;
	f->uc.uc_stack.ss_flags = 2;	/* SS_DISABLE until the daemon stores the real one */
	f->uc.uc_sigmask = sigmask;

	memcpy(fp, xsave, xsave_size);
	memcpy(&magic1, fp + FX_SW_OFF, 4);
	memcpy(&ext_size, fp + FX_SW_OFF + 4, 4);
	memcpy(&xstate_size, fp + FX_SW_OFF + 16, 4);
	if (note == NT_X86_XSTATE && magic1 == FP_XSTATE_MAGIC1_ && xstate_size == xsave_size &&
	    ext_size == xsave_size + sizeof(magic2)) {
		memcpy(fp + xsave_size, &magic2, sizeof(magic2));
		f->uc.uc_flags |= UC_FP_XSTATE_;
	} else {
		memset(fp + FX_SW_OFF, 0, 48);	/* legacy FXSAVE image only */
	}
}
