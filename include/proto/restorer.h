/*
 * The restorer's arguments: written by criu (the restored task's child side, before it jumps into
 * the restorer blob) and read by criu/pie/restorer.c, which runs with no libc.
 *
 * Freestanding: <stdint.h> only, fixed-width fields, no pointers. Arrays follow the header in the
 * same mapping; their positions are byte offsets from the start of struct restorer_args.
 * All addresses are addresses in the restored task.
 */
#ifndef PROTO_RESTORER_H
#define PROTO_RESTORER_H

#include <stdint.h>

#define RESTORER_PROTO_VERSION	3

/* Bytes of the restorer's own stack, placed right after the args area. */
#define RESTORER_STACK_SIZE	(64 * 1024)
/* Bytes of the stack each other thread runs the restorer on, after the main one's. */
#define RESTORER_THREAD_STACK	(16 * 1024)

/* The longest message the restorer sends back on a failure. */
#define RESTORER_ERR_MAX	200

/* Bytes the restorer writes to status_fd: one of these, then (for FAIL) a message. */
#define RESTORER_MSG_READY	'R'	/* followed by struct restorer_ready */
#define RESTORER_MSG_FAIL	'F'	/* followed by up to RESTORER_ERR_MAX bytes of text */

/*
 * One VMA of the task.
 * - Premapped (tmp != 0): it lives at tmp now and is moved to start with mremap, then gets prot.
 * - Mapped by the restorer (tmp == 0): mmap(start, end - start, prot, flags | MAP_FIXED, fd,
 *   pgoff); fd is then closed (several VMAs may share one fd; it is closed once).
 * - A part of the vDSO unit (in restorer_args.vdso): tmp is its current address.
 */
struct rst_vma {
	uint64_t start;		/* final address */
	uint64_t end;
	uint64_t tmp;		/* premapped address, or 0 */
	uint64_t pgoff;		/* bytes */
	uint32_t prot;		/* final PROT_* */
	uint32_t flags;		/* MAP_* for the restorer's mmap */
	int32_t fd;		/* for mmap, or -1 */
	uint32_t tmp_prot;	/* premapped: the protection it has now; prot is set if different */
};
_Static_assert(sizeof(struct rst_vma) == 48, "restorer ABI changed");

/* A seccomp filter to install: len struct sock_filter (8 bytes each) at data_off of the args. */
struct rst_seccomp {
	uint64_t data_off;
	uint32_t len;
	uint32_t flags;		/* SECCOMP_FILTER_FLAG_* */
};
_Static_assert(sizeof(struct rst_seccomp) == 16, "restorer ABI changed");

/*
 * A thread other than the main one: the restorer creates it with its tid once the address
 * space is the task's; it sets its own TLS and rseq, copies its rt_sigframe onto its stack,
 * waits for criu's byte like the main thread and returns into the task.
 */
struct rst_thread {
	uint64_t frame_off;		/* its rt_sigframe in the args, as for the main thread */
	uint64_t frame_size;
	uint64_t frame_dst;
	uint64_t fs_base;
	uint64_t gs_base;
	uint64_t rseq_abi;		/* 0: none */
	uint32_t rseq_len;
	uint32_t rseq_sig;
	uint64_t clear_tid;		/* set_tid_address(), 0: none */
	uint64_t stack_top;		/* its restorer stack */
	uint64_t args;			/* written by the restorer: the args' address */
	int32_t tid;
	int32_t tgid;
	uint64_t siginfo_off;		/* its pending signals: nr_siginfo raw 128-byte siginfo_t */
	uint32_t nr_siginfo;
	uint32_t pad;
	uint64_t creds_off;		/* its own struct rst_creds, 0: the process's (creds_off) */
};
_Static_assert(sizeof(struct rst_thread) == 112, "restorer ABI changed");

/*
 * The task's credentials (criu/res/creds.c fills them, set_creds() of the restorer sets them):
 * nr_groups supplementary groups follow the struct.
 */
struct rst_creds {
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint64_t cap_now;		/* the permitted set the task has until then (criu's) */
	uint32_t securebits;
	uint32_t last_cap;		/* /proc/sys/kernel/cap_last_cap */
	uint32_t nr_groups;
	uint32_t pad;
	uint32_t groups[];
};
_Static_assert(sizeof(struct rst_creds) == 96, "restorer ABI changed");

/* A POSIX timer, created with its id (PR_TIMER_CREATE_RESTORE_IDS) and armed by the restorer. */
struct rst_posix_timer {
	int32_t id;
	int32_t clock_id;
	int32_t notify;			/* SIGEV_* */
	int32_t notify_tid;		/* SIGEV_THREAD_ID */
	int32_t signo;
	uint32_t pad;
	uint64_t sival;
	uint64_t isec, insec, vsec, vnsec;
};
_Static_assert(sizeof(struct rst_posix_timer) == 64, "restorer ABI changed");

/* A range of criu's own address space, unmapped by the restorer. */
struct rst_range {
	uint64_t start;
	uint64_t end;
};
_Static_assert(sizeof(struct rst_range) == 16, "restorer ABI changed");

struct restorer_args {
	uint32_t version;		/* RESTORER_PROTO_VERSION */
	uint32_t nr_vmas;		/* struct rst_vma at vmas_off */
	uint32_t nr_unmap;		/* struct rst_range at unmap_off */
	uint32_t nr_vdso;		/* struct rst_vma at vdso_off: [vvar], [vvar_vclock], [vdso] */
	uint64_t vmas_off;
	uint64_t unmap_off;
	uint64_t vdso_off;
	uint64_t vdso_tmp;		/* a reserved hole as large as the vDSO unit, or 0 */

	uint64_t premap_start;		/* the premap area, unmapped once its VMAs are moved out */
	uint64_t premap_end;

	/* struct prctl_mm_map, field by field */
	uint64_t mm_start_code;
	uint64_t mm_end_code;
	uint64_t mm_start_data;
	uint64_t mm_end_data;
	uint64_t mm_start_brk;
	uint64_t mm_brk;
	uint64_t mm_start_stack;
	uint64_t mm_arg_start;
	uint64_t mm_arg_end;
	uint64_t mm_env_start;
	uint64_t mm_env_end;
	uint64_t auxv_off;		/* uint64_t auxv[nr_auxv] */
	uint32_t nr_auxv;
	int32_t exe_fd;			/* -1: keep */

	int32_t status_fd;		/* write end of the status pipe to criu */
	int32_t go_fd;			/* read end: criu writes one byte when it traces us */

	uint64_t fs_base;
	uint64_t gs_base;

	/* The rt_sigframe, built by criu at frame_off, copied to frame_dst on the task's stack. */
	uint64_t frame_off;
	uint64_t frame_size;
	uint64_t frame_dst;		/* rsp for rt_sigreturn is frame_dst + 8 (pretcode popped) */

	uint64_t rseq_abi;		/* 0: no rseq */
	uint32_t rseq_len;
	uint32_t rseq_sig;

	uint32_t pdeath_sig;
	int32_t dumpable;		/* -1: leave */

	/* The restorer's whole area (blob, args, stack), which criu unmaps after rt_sigreturn. */
	uint64_t self_start;
	uint64_t self_len;

	/*
	 * Installed last, once criu traces us with PTRACE_O_SUSPEND_SECCOMP (so neither our last
	 * syscalls nor criu's munmap of this area are filtered): strict mode, or filters in
	 * the order they were installed.
	 */
	uint32_t seccomp_mode;		/* 0 none, 1 strict, 2 filters */
	uint32_t nr_seccomp;		/* struct rst_seccomp at seccomp_off */
	uint64_t seccomp_off;

	uint32_t nr_threads;		/* struct rst_thread at threads_off (not the main one) */
	uint32_t threads_ready;		/* futex: threads that are waiting for criu's byte */
	uint64_t threads_off;
	uint64_t clear_tid;		/* the main thread's set_tid_address(), 0: none */

	/*
	 * Credentials, set after seccomp (installed while the task may still need CAP_SYS_ADMIN
	 * for it) and before rt_sigreturn; dumpable and the parent death signal again after them
	 * (a change of uid resets both).
	 */
	uint64_t creds_off;		/* struct rst_creds, 0: keep criu's credentials */

	/* POSIX timers, created and armed last, right before rt_sigreturn. */
	uint32_t nr_timers;		/* struct rst_posix_timer at timers_off */
	uint32_t pad2;
	uint64_t timers_off;
};
_Static_assert(sizeof(struct restorer_args) == 320, "restorer ABI changed");

/*
 * Sent after RESTORER_MSG_READY: where the restorer lives and the address of a "syscall"
 * instruction in it, so criu (tracing the task) makes it unmap the area after rt_sigreturn.
 */
struct restorer_ready {
	uint64_t self_start;
	uint64_t self_len;
	uint64_t syscall_ip;
};
_Static_assert(sizeof(struct restorer_ready) == 24, "restorer ABI changed");

#endif
