/*
 * What libcompel and the std plugin's daemon (compel/plugins/std/daemon.c) agree on.
 * Freestanding: <stdint.h> only. Not for compel's users, who see include/uapi/compel/compel.h.
 *
 * The area compel maps into the task (one shared memfd, also mapped in the host):
 *   [blob: text, data, bss][stack: COMPEL_STACK_SIZE][header page][sigframe][args: args_size]
 * The entry (__compel_entry) starts with %rdi = remote address of the header and the stack
 * pointer 16-byte aligned at the top of the stack.
 */
#ifndef COMPEL_PLUGINS_STD_INFECT_PROTO_H
#define COMPEL_PLUGINS_STD_INFECT_PROTO_H

#include <stdint.h>

#define COMPEL_PIE_VERSION	1
#define COMPEL_STACK_SIZE	(64 * 1024)
#define COMPEL_ENTRY_SYM	"__compel_entry"

/* compel's own commands; users' start at COMPEL_USER_CMD_BASE (64). */
enum compel_std_cmd {
	COMPEL_CMD_READY = 1,	/* the daemon's first message: it is up */
	COMPEL_CMD_FINI	 = 2,	/* stop the daemon: it replies, then traps back */
	COMPEL_CMD_LOG	 = 3,	/* daemon -> host: ret = level, text follows (not NUL-ended) */
};

/*
 * If the host goes away (the control socket reads EOF), the daemon cures the task itself:
 * rt_sigreturn on hdr->sigframe, which compel filled with the task's registers, FPU state and
 * signal mask; the daemon stores the task's sigaltstack at this offset in it first.
 */
#define COMPEL_SIGFRAME_UC_STACK_OFF	24

#define COMPEL_LOG_MSG_MAX	512	/* text bytes in one COMPEL_CMD_LOG message */

/* One message each way on the SOCK_SEQPACKET control socket. */
struct compel_rpc_msg {
	uint32_t cmd;
	int32_t ret;		/* reply: 0 or a negative errno */
};
_Static_assert(sizeof(struct compel_rpc_msg) == 8, "compel ABI changed");

struct compel_pie_hdr {
	uint32_t version;	/* COMPEL_PIE_VERSION */
	int32_t sock;		/* the daemon's end of the control socket, in the task */
	int32_t sv[2];		/* socketpair() result slot */
	uint64_t orig_sigmask;	/* the task's blocked signals before compel blocked them */
	uint64_t args;		/* remote address of the user's args area */
	uint64_t args_size;
	uint64_t sigframe;	/* remote rt_sigframe holding the task's state, for self-cure */
	uint64_t reserved[2];
};
_Static_assert(sizeof(struct compel_pie_hdr) == 64, "compel ABI changed");

#endif
