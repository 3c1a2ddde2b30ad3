/* libcompel internals: shared by the library sources and compel/arch/x86/cpu.c. */
#ifndef COMPEL_LIB_INTERNAL_H
#define COMPEL_LIB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "common/compiler.h"
#include "uapi/compel/compel.h"

struct compel_pie_hdr;

struct compel_ctl {
	pid_t pid;
	struct user_regs_struct regs;	/* as prepared: restored by cure */
	void *xsave;			/* owned; NT_X86_XSTATE (or NT_PRFPREG) image */
	size_t xsave_size;
	unsigned int xsave_note;
	uint64_t sigmask;		/* as prepared */
	bool sigmask_blocked;		/* we changed the task's mask */
	bool regs_dirty;		/* the task's registers are not the prepared ones */
	bool fpu_dirty;			/* our code ran: the FPU state must be put back */
	bool running;			/* the daemon runs: the task is not in a ptrace stop */
	unsigned long syscall_ip;	/* where injected syscalls execute */
	unsigned long guard_frame;	/* the task's state as an rt_sigframe below its stack, or 0 */
	bool guard_tried;
	unsigned int timeout_ms;

	/* infection */
	void *map;			/* our view of the shared area (owned) */
	size_t map_size;
	unsigned long remote_map;	/* the task's view, 0 if not mapped */
	struct compel_pie_hdr *hdr;	/* in map */
	void *args;			/* in map */
	unsigned long remote_args;
	int sock;			/* our end of the control socket, -1 */
	int remote_sock;		/* the daemon's end, in the task; -1 */
};

/* Logging to the host's callback (log.c). Messages end with a newline. */
void compel_log(unsigned int level, const char *fmt, ...) __printf(2, 3);
#define cl_err(fmt, ...)	compel_log(COMPEL_LOG_ERROR, "compel: " fmt "\n", ##__VA_ARGS__)
#define cl_warn(fmt, ...)	compel_log(COMPEL_LOG_WARN, "compel: " fmt "\n", ##__VA_ARGS__)
#define cl_info(fmt, ...)	compel_log(COMPEL_LOG_INFO, "compel: " fmt "\n", ##__VA_ARGS__)
#define cl_debug(fmt, ...)	compel_log(COMPEL_LOG_DEBUG, "compel: " fmt "\n", ##__VA_ARGS__)

enum compel_stop {
	COMPEL_STOP_SYSCALL = 1,	/* syscall entry or exit stop */
	COMPEL_STOP_EVENT,		/* PTRACE_EVENT_STOP (interrupt or group stop) */
	COMPEL_STOP_TRAP,		/* SIGTRAP (int3) */
	COMPEL_STOP_SIGNAL,		/* any other signal: our code crashed */
};

/*
 * Wait for @pid's next stop (-EAGAIN if @nohang and none). Group stops and stop signals seen
 * meanwhile are passed on with the ptrace request @resume, unless @want_event. Returns an
 * enum compel_stop or -errno (-ESRCH: it died). seize.c
 */
int compel_wait_stop(pid_t pid, bool nohang, int resume, bool want_event);

/* arch/x86/cpu.c */
int compel_arch_get_regs(pid_t pid, struct user_regs_struct *regs);
int compel_arch_set_regs(pid_t pid, const struct user_regs_struct *regs);
int compel_arch_get_fpu(pid_t pid, void **ret_buf, size_t *ret_size, unsigned int *ret_note);
int compel_arch_set_fpu(pid_t pid, void *buf, size_t size, unsigned int note);
void compel_arch_syscall_regs(struct user_regs_struct *regs, unsigned long ip, long nr,
		       const unsigned long args[6]);
long compel_arch_syscall_ret(const struct user_regs_struct *regs);
void compel_arch_entry_regs(struct user_regs_struct *regs, unsigned long ip, unsigned long sp,
		     unsigned long arg);
/* The rt_sigframe for the daemon's self-cure (bytes, then built at @dst seen as @remote). */
size_t compel_arch_sigframe_size(size_t xsave_size);
void compel_arch_build_sigframe(void *dst, unsigned long remote, const struct user_regs_struct *r,
				const void *xsave, size_t xsave_size, unsigned int note,
				uint64_t sigmask);
/* An interrupted syscall set up to be restarted when the task runs on, as the kernel does. */
bool compel_arch_fixup_restart(struct user_regs_struct *regs);
/* The injected code: a syscall instruction followed by traps, one word. */
unsigned long compel_arch_syscall_code(void);
/* syscall; rt_sigreturn; int3...: 16 bytes, for a syscall run with the guard frame at rsp. */
void compel_arch_syscall_code_guarded(unsigned long ret_code[2]);

#endif
