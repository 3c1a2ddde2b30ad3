/*
 * x86_64: how a thread dumped inside a syscall resumes in the restored task.
 */
#ifndef CRIU_ARCH_X86_SYSCALL_RESTART_H
#define CRIU_ARCH_X86_SYSCALL_RESTART_H

#include <stdbool.h>
#include <sys/user.h>

/**
 * Set @r, the registers of a thread stopped inside a syscall, up to run that syscall again in
 * the restored task, as compel_fixup_restart() does, except where the kernel would go through
 * restart_syscall(), whose state (the restart_block) stays behind in the dumped task: there the
 * syscall itself runs again with its own arguments (a relative nanosleep with the time it had
 * left, which the kernel wrote to rem; a timed futex or poll waits its whole timeout again).
 * Also when the restart is set up already (rax = restart_syscall, orig_rax the syscall).
 * Returns 1 if so, 0 if the thread was not inside a syscall, -1 if it was inside
 * restart_syscall() already (restarted that way after an earlier stop by a debugger or
 * SIGSTOP/SIGCONT; not after our dump -R or restore, see arch_restart_as_rerun()): which
 * syscall that continues cannot be told, so the thread gets EINTR.
 */
int arch_restart_syscall(struct user_regs_struct *r);

/**
 * Is the syscall @r is about to run (rax, on its syscall instruction) one that an interruption
 * restarts through restart_syscall() (a sleep, a timed futex wait, a poll)?
 */
bool arch_syscall_restarts_by_block(const struct user_regs_struct *r);

/**
 * @r: a thread about to go on (released after a dump -R or a failed dump) with restart_syscall()
 * next, for a sleep, a timed futex wait or a poll: set it up to run that syscall itself again
 * instead (as arch_restart_syscall() does for the images), so that a later dump can tell what
 * it is in. True if @r changed.
 */
bool arch_restart_as_rerun(struct user_regs_struct *r);

#endif
