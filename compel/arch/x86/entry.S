/*
 * The blob's entry. compel starts it with %rdi = the header in the shared area and %rsp
 * 16-byte aligned at the top of the blob's stack. When the daemon returns, trap back to compel
 * (int3: compel sees the SIGTRAP stop and cures the task); never run on.
 */
	.text
	.globl	__compel_entry
	.type	__compel_entry, @function
__compel_entry:
	call	std_daemon_main
1:	int3
	jmp	1b
	.size	__compel_entry, . - __compel_entry

/* __compel_sigreturn(frame): rt_sigreturn on the rt_sigframe at %rdi. Never returns. */
	.globl	__compel_sigreturn
	.hidden	__compel_sigreturn
	.type	__compel_sigreturn, @function
__compel_sigreturn:
	leaq	8(%rdi), %rsp
	movl	$15, %eax		/* __NR_rt_sigreturn */
	syscall
2:	int3
	jmp	2b
	.size	__compel_sigreturn, . - __compel_sigreturn

	.section .note.GNU-stack, "", @progbits
