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

	.section .note.GNU-stack, "", @progbits
