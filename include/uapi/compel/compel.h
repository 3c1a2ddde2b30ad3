/*
 * libcompel: seize a task, run syscalls in it, infect it with a position-independent blob,
 * talk to the blob, cure the task.
 *
 * Error rule: every int-returning function returns 0 (or a count) on success and a negative errno
 * on failure. The library never prints; the host installs a log callback with compel_set_log().
 * Handles are opaque. Options structs start with `size_t sz` so they can grow.
 */
#ifndef UAPI_COMPEL_H
#define UAPI_COMPEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#ifndef COMPEL_API
#define COMPEL_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Logging
 */
enum compel_log_level {
	COMPEL_LOG_ERROR = 1,
	COMPEL_LOG_WARN	 = 2,
	COMPEL_LOG_INFO	 = 3,
	COMPEL_LOG_DEBUG = 4,
};

typedef void (*compel_log_fn)(unsigned int level, const char *fmt, va_list ap);

/** Install the log callback (NULL: silence) and the most verbose level passed to it. */
COMPEL_API void compel_set_log(compel_log_fn fn, unsigned int level);

/* ---------------------------------------------------------------------------------------------
 * Seizing. A seized task is ptrace-attached (PTRACE_SEIZE) and stopped (PTRACE_INTERRUPT).
 */
enum compel_task_state {
	COMPEL_TASK_ALIVE   = 1,	/* was running (or sleeping) */
	COMPEL_TASK_STOPPED = 2,	/* was in group stop (SIGSTOP): release leaves it stopped */
	COMPEL_TASK_ZOMBIE  = 3,	/* not seized: nothing to release */
	COMPEL_TASK_DEAD    = 4,
};

/**
 * Seize thread @tid and stop it. On success *@ret_state says what it was, for
 * compel_release(). A zombie is reported as COMPEL_TASK_ZOMBIE and left alone.
 * Returns 0, -ESRCH if it is gone, -EPERM if ptrace is refused, other -errno.
 */
COMPEL_API int compel_seize(pid_t tid, enum compel_task_state *ret_state);

/*
 * compel_seize() in two halves, for tasks that cannot stop yet (frozen by the cgroup freezer):
 * compel_seize_catch() attaches and asks for the stop without waiting (a zombie or dead task is
 * reported in *@ret_state as compel_seize() does, COMPEL_TASK_ALIVE otherwise);
 * compel_seize_wait() then waits for that stop and says what the task was doing. Either detaches
 * on failure. Return 0 or -errno.
 */
COMPEL_API int compel_seize_catch(pid_t tid, enum compel_task_state *ret_state);
COMPEL_API int compel_seize_wait(pid_t tid, enum compel_task_state *ret_state);

/**
 * Let a seized thread go exactly as it was: detached, running again, or still in group stop
 * when @state is COMPEL_TASK_STOPPED. Returns 0 or -errno.
 */
COMPEL_API int compel_release(pid_t tid, enum compel_task_state state);

/* ---------------------------------------------------------------------------------------------
 * Blobs. `compel hgen` turns a freestanding PIE object into a header that defines a
 * `static const struct compel_blob_desc NAME_blob_desc` (see compel/README or hgen --help).
 */
struct compel_reloc {
	uint32_t offset;	/* where in the blob an absolute 64-bit address lives */
	int64_t	 addend;	/* value to store: load address + addend */
};

struct compel_blob_desc {
	const unsigned char *mem;	/* the blob's bytes (text, rodata, data) */
	size_t size;			/* bytes in mem */
	size_t bss_size;		/* zeroed bytes that follow mem in memory */
	size_t entry_off;		/* offset of the entry point */
	size_t args_off;		/* offset of the args area pointer/anchor (0 if none) */
	const struct compel_reloc *relocs;
	size_t nr_relocs;
};

/**
 * Copy @blob into @dst (which must hold size + bss_size bytes) and apply its relocations as if
 * it ran at @load_addr. Used for the restorer, which is not injected by compel_infect().
 */
COMPEL_API void compel_blob_relocate(const struct compel_blob_desc *blob, void *dst,
				     unsigned long load_addr);

/* ---------------------------------------------------------------------------------------------
 * Infection: a parasite control handle for one seized process (its thread group leader).
 */
struct compel_ctl;

struct compel_infect_opts {
	size_t sz;		/* sizeof(struct compel_infect_opts) */
	size_t args_size;	/* bytes of the shared args area (commands' arguments/results) */
	unsigned int timeout_ms;/* how long to wait for the parasite's replies; 0: 10 s */
};

/**
 * Prepare to infect the seized, stopped process @pid: saves its registers, FPU state and signal
 * mask. No change to the task yet. Returns 0 or -errno; *@ret_ctl is owned by the caller and
 * freed by compel_cure() or compel_ctl_free().
 */
COMPEL_API int compel_prepare(pid_t pid, struct compel_ctl **ret_ctl);

/**
 * Execute syscall @nr in the task with the given arguments; its return value (a negative errno
 * on failure, as the kernel gives it) goes to *@ret. Returns 0 if the syscall ran, -errno if it
 * could not be run. Works before and after infection.
 */
COMPEL_API int compel_syscall(struct compel_ctl *ctl, long nr, long *ret,
			      unsigned long a1, unsigned long a2, unsigned long a3,
			      unsigned long a4, unsigned long a5, unsigned long a6);

/**
 * Map @blob into the task through a shared memfd area (also mapped here, so arguments are
 * exchanged through memory, never word by word with ptrace), start it as a daemon on a control
 * socket, and wait for it to report ready. Returns 0 or -errno; on failure the task is cured
 * (area unmapped, registers, FPU state and mask restored) and @ctl stays valid: free it with
 * compel_cure() or compel_ctl_free(). Signals stay blocked from the first remote syscall until
 * cure (they are delivered after release). Only the thread @pid runs: seize the others first.
 */
COMPEL_API int compel_infect(struct compel_ctl *ctl, const struct compel_blob_desc *blob,
			     const struct compel_infect_opts *opts);

/** The args area, in our address space, shared with the parasite. NULL before infection. */
COMPEL_API void *compel_args(struct compel_ctl *ctl);

/** Where the args area lives in the task's address space (0 before infection). */
COMPEL_API unsigned long compel_remote_args(struct compel_ctl *ctl);

/** First command number free for the user of compel (the lower ones are compel's own). */
#define COMPEL_USER_CMD_BASE	64

/**
 * Send command @cmd to the parasite and wait for its reply. Returns the parasite's result
 * (0 or a negative errno from the command) or a negative errno if the exchange failed.
 */
COMPEL_API int compel_rpc_call_sync(struct compel_ctl *ctl, unsigned int cmd);

/** Send @cmd without waiting (then compel_rpc_sync() for the reply): for commands that need
 *  the host to do something meanwhile (e.g. drain a pipe). */
COMPEL_API int compel_rpc_call(struct compel_ctl *ctl, unsigned int cmd);
COMPEL_API int compel_rpc_sync(struct compel_ctl *ctl, unsigned int cmd);

/** Pass fds to and from the parasite over the control socket (SCM_RIGHTS). */
COMPEL_API int compel_send_fds(struct compel_ctl *ctl, const int *fds, unsigned int nr);
COMPEL_API int compel_recv_fds(struct compel_ctl *ctl, int *fds, unsigned int nr);

/** The control socket (for poll()), or -1. */
COMPEL_API int compel_ctl_sock(struct compel_ctl *ctl);

/**
 * The registers and FPU/xsave state the task had when it was prepared, which cure restores.
 * @ret_xsave gets a pointer into ctl (valid until the ctl is freed) and @ret_xsave_size its size.
 */
COMPEL_API int compel_get_regs(struct compel_ctl *ctl, struct user_regs_struct *ret_regs);
COMPEL_API int compel_get_xsave(struct compel_ctl *ctl, const void **ret_xsave,
				size_t *ret_xsave_size);
COMPEL_API int compel_get_sigmask(struct compel_ctl *ctl, uint64_t *ret_mask);

/**
 * Set @regs (of a thread stopped by seize, inside an interrupted syscall) up the way the kernel
 * would on its way back to user space: -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND restart the
 * syscall (ip back by 2, ax = orig_ax), -ERESTART_RESTARTBLOCK calls restart_syscall (which
 * needs the task's own restart_block: a task restored from a dump does not have it). For the
 * registers of threads that resume through rt_sigreturn, which never restarts anything.
 * Returns false (@regs untouched) if the thread was not inside a syscall.
 */
COMPEL_API bool compel_fixup_restart(struct user_regs_struct *regs);

/**
 * Stop the daemon, unmap the blob and the shared area from the task, restore its registers,
 * FPU state and signal mask exactly, and free @ctl. The task stays seized and stopped: release
 * it with compel_release(). Returns 0 or -errno (the ctl is freed either way).
 */
COMPEL_API int compel_cure(struct compel_ctl *ctl);

/** Free a ctl that was never infected (or after a failed cure). Accepts NULL. */
COMPEL_API void compel_ctl_free(struct compel_ctl *ctl);

#ifdef __cplusplus
}
#endif

#endif
