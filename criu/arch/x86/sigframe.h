/*
 * x86_64 restore helpers (host side): the CPU's xsave capabilities, the rt_sigframe the restorer
 * returns through, the jump into the restorer, and what a syscall instruction looks like.
 */
#ifndef CRIU_ARCH_X86_SIGFRAME_H
#define CRIU_ARCH_X86_SIGFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct UserX86RegsEntry;
struct UserX86XsaveEntry;

/* XCR0 of this CPU (the user features enabled) and the size of the standard xsave area for it. */
void arch_xsave_caps(uint64_t *ret_xcr0, uint32_t *ret_size);

/* An upper bound of the bytes arch_build_sigframe() needs for an xsave area of @xsave_size. */
size_t arch_sigframe_max_size(size_t xsave_size);

/**
 * Build in @buf (@buf_len bytes) the rt_sigframe that resumes the task with registers @regs,
 * extended state @xsave (features @xfeatures enabled) and blocked signals @sigmask, as it must
 * lie on the task's stack: below the recorded sp and its red zone, fpstate 64-byte aligned.
 * *@ret_dst gets the frame's address in the task (the restorer's rt_sigreturn uses sp =
 * dst + 8) and *@ret_size its length. Non-logging: -EINVAL for a malformed xsave area, -ENOSPC
 * if @buf is too small.
 */
int arch_build_sigframe(const struct UserX86RegsEntry *regs, const struct UserX86XsaveEntry *xsave,
			uint64_t xfeatures, uint64_t sigmask, void *buf, size_t buf_len,
			uint64_t *ret_dst, uint64_t *ret_size);

/*
 * Set the alternate signal stack rt_sigreturn installs from the frame arch_build_sigframe() built
 * in @frame (by default: disabled).
 */
void arch_sigframe_set_altstack(void *frame, uint64_t sp, int32_t flags, uint64_t size);

/* Switch to @stack_top and jump to @entry with @args as its first argument. Never returns. */
__noreturn void arch_jump_to_restorer(unsigned long entry, unsigned long stack_top,
				      unsigned long args);

/* Do the instruction bytes @text (read at a thread's ip, little-endian) start with a syscall? */
static inline bool arch_is_syscall_insn(unsigned long text)
{
	return (text & 0xffff) == 0x050f;	/* 0f 05 */
}

#endif
