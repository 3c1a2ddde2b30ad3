/*
 * x86_64: how a thread dumped inside a syscall resumes in the restored task.
 */
#include "arch/x86/syscall-restart.h"

#include <errno.h>
#include <sys/syscall.h>

#include "uapi/compel/compel.h"

#define ERESTART_RESTARTBLOCK	516
#define TIMER_ABSTIME		1

/* Syscall orig_rax, interrupted with ERESTART_RESTARTBLOCK: to run again with its arguments. */
static void rerun_restartblock(struct user_regs_struct *r)
{
	/* nanosleep(req, rem), clock_nanosleep(clk, flags, req, rem): rem has what is left */
	if (r->orig_rax == SYS_nanosleep && r->rsi)
		r->rdi = r->rsi;
	if (r->orig_rax == SYS_clock_nanosleep && !(r->rsi & TIMER_ABSTIME) && r->r10)
		r->rdx = r->r10;
	r->rax = r->orig_rax;
}

bool arch_syscall_restarts_by_block(const struct user_regs_struct *r)
{
	return r->rax == SYS_nanosleep || r->rax == SYS_clock_nanosleep || r->rax == SYS_futex ||
	       r->rax == SYS_poll;
}

bool arch_restart_as_rerun(struct user_regs_struct *r)
{
	struct user_regs_struct o = *r;

	if ((long)r->orig_rax < 0 || r->rax != SYS_restart_syscall)
		return false;
	o.rax = o.orig_rax;
	if (!arch_syscall_restarts_by_block(&o))
		return false;
	rerun_restartblock(r);
	return true;
}

int arch_restart_syscall(struct user_regs_struct *r)
{
	if ((long)r->orig_rax >= 0 && (long)r->rax == -ERESTART_RESTARTBLOCK &&
	    r->orig_rax != SYS_restart_syscall) {
		rerun_restartblock(r);
		r->rip -= 2;	/* back on the syscall instruction, 0f 05 */
		return 1;
	}
	/*
	 * The same with the restart set up already (by the kernel on the way out, or by compel's
	 * cure after a remote syscall): restart_syscall() is next, on the syscall instruction,
	 * and orig_rax and the arguments are still the interrupted syscall's.
	 */
	if ((long)r->orig_rax >= 0 && r->orig_rax != SYS_restart_syscall &&
	    r->rax == SYS_restart_syscall) {
		rerun_restartblock(r);
		return 1;
	}
	if (!compel_fixup_restart(r))
		return 0;
	if (r->rax != SYS_restart_syscall)
		return 1;
	/* its restart_block stays behind in the dumped task: the syscall fails as interrupted */
	r->rax = -EINTR;
	r->rip += 2;
	return -1;
}
