/*
 * Pure /proc parsers: text (or a /proc file) in, plain structs out.
 *
 * Non-logging: every function returns 0 (or a count) or a negative errno; -EINVAL means the
 * text did not have the expected format. The *_buf() variants parse a buffer the caller read
 * (unit-tested); the others read /proc/PID/... themselves.
 */
#ifndef CRIU_PROC_PARSE_H
#define CRIU_PROC_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_LEN	64		/* TASK_COMM_LEN is 16; room for longer kernel names */

/* /proc/PID/stat, the fields we use. */
struct proc_stat {
	pid_t pid;
	char comm[PROC_COMM_LEN];
	char state;			/* R, S, D, T, t, Z, X, ... */
	pid_t ppid;
	pid_t pgid;
	pid_t sid;
	unsigned int flags;		/* PF_* */
	long num_threads;
	int exit_signal;
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_code;
};

/* Parse the text of /proc/PID/stat (a comm may hold spaces, parentheses and ") "). */
int proc_parse_stat_buf(const char *buf, struct proc_stat *ret_st);
int proc_parse_stat(pid_t pid, struct proc_stat *ret_st);

/* /proc/PID/status, the fields we use. */
struct proc_status {
	pid_t tgid;
	pid_t ppid;
	pid_t tracer_pid;
	unsigned int threads;
	int umask;			/* -1 if the kernel does not show it */
	uint64_t sig_blk;		/* SigBlk */
	uint64_t sig_ign;		/* SigIgn: signals set to SIG_IGN */
	uint64_t sig_cgt;		/* SigCgt: signals with a handler */
	int thp_enabled;		/* THP_enabled: 0 or 1; -1 if not shown */
	int seccomp;			/* Seccomp: 0 off, 1 strict, 2 filter; -1 if not shown */
	int no_new_privs;		/* NoNewPrivs: 0 or 1; -1 if not shown */
	unsigned int uid[4], gid[4];	/* real, effective, saved, fs */
};

int proc_parse_status_buf(const char *buf, struct proc_status *ret_st);
int proc_parse_status(pid_t pid, struct proc_status *ret_st);

#define PROC_NR_LIMITS	16		/* RLIMIT_CPU .. RLIMIT_RTTIME */

/* /proc/PID/limits: soft and hard limit of each resource, RLIM_INFINITY for "unlimited". */
struct proc_limits {
	uint64_t cur[PROC_NR_LIMITS];
	uint64_t max[PROC_NR_LIMITS];
};

int proc_parse_limits_buf(const char *buf, struct proc_limits *ret_lim);
int proc_parse_limits(pid_t pid, struct proc_limits *ret_lim);

/* VmFlags of /proc/PID/smaps, as bits. */
enum vm_flag_bits {
	VMF_GROWSDOWN	= 1 << 0,	/* gd */
	VMF_DONTCOPY	= 1 << 1,	/* dc: MADV_DONTFORK */
	VMF_WIPEONFORK	= 1 << 2,	/* wf */
	VMF_HUGEPAGE	= 1 << 3,	/* hg */
	VMF_NOHUGEPAGE	= 1 << 4,	/* nh */
	VMF_MERGEABLE	= 1 << 5,	/* mg */
	VMF_DONTDUMP	= 1 << 6,	/* dd */
	VMF_IO		= 1 << 7,	/* io */
	VMF_PFNMAP	= 1 << 8,	/* pf */
	VMF_LOCKED	= 1 << 9,	/* lo */
	VMF_SEQ_READ	= 1 << 10,	/* sr */
	VMF_RAND_READ	= 1 << 11,	/* rr */
	VMF_SHARED	= 1 << 12,	/* sh */
	VMF_UFFD	= 1 << 13,	/* um, uw, ui */
};

/* One line of /proc/PID/maps. */
struct proc_vma {
	uint64_t start, end;
	uint64_t pgoff;			/* file offset in bytes */
	uint32_t prot;			/* PROT_* */
	bool shared;			/* 's' rather than 'p' */
	unsigned int dev_major, dev_minor;
	uint64_t ino;
	unsigned int vmflags;		/* enum vm_flag_bits, from smaps (0 from maps) */
	char *name;			/* owned; "" for unnamed anonymous memory */
};

/*
 * Parse one maps line (without or with its trailing newline). The name is everything after the
 * inode column with the column padding removed, e.g. "/usr/lib/x 1 (deleted)" or "[vvar_vclock]".
 * *@ret_name points into @line (borrowed); @ret_vma->name is left untouched.
 */
int proc_parse_maps_line(const char *line, struct proc_vma *ret_vma, const char **ret_name);

/* Parse "VmFlags: rd wr mr mw me ac sd" (the whole line) into enum vm_flag_bits. */
int proc_parse_vmflags(const char *line, unsigned int *ret_flags);

struct proc_vmas {
	struct proc_vma *v;		/* owned, ascending addresses */
	size_t nr;
};

/*
 * Read /proc/PID/smaps (@smaps: with VmFlags) or /proc/PID/maps. Returns 0 or -errno;
 * *@ret is the caller's: proc_vmas_release().
 */
int proc_parse_smaps_buf(const char *buf, bool smaps, struct proc_vmas *ret);
int proc_parse_vmas(pid_t pid, bool smaps, struct proc_vmas *ret);
void proc_vmas_release(struct proc_vmas *vmas);

/* /proc/PID/fdinfo/FD, the common part. */
struct proc_fdinfo {
	uint64_t pos;
	unsigned int flags;		/* f_flags, O_CLOEXEC added for close-on-exec fds */
	int mnt_id;
	uint64_t ino;
};

int proc_parse_fdinfo_buf(const char *buf, struct proc_fdinfo *ret_fi);
int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret_fi);

/*
 * Read /proc/PID/auxv: pairs of 64-bit words up to and including the AT_NULL pair.
 * *@ret_words (malloc'ed, caller frees) gets 2 * pairs words; returns the number of words.
 */
int proc_read_auxv(pid_t pid, uint64_t **ret_words);

/* The fd numbers of /proc/PID/fd, ascending. *@ret_fds is malloc'ed; returns their number. */
int proc_list_fds(pid_t pid, int **ret_fds);

/* The number of entries of /proc/PID/task (threads). */
int proc_count_threads(pid_t pid);

/* The children of the thread group (/proc/PID/task/TID/children of every thread): a count. */
int proc_count_children(pid_t pid);

/* readlink() of /proc/PID/@what (e.g. "exe", "cwd", "fd/3"), NUL-terminated. */
int proc_readlink(pid_t pid, const char *what, char *buf, size_t len);

/* Read a whole /proc file into a malloc'ed NUL-terminated buffer; returns its length. */
int proc_read_file(const char *path, char **ret_buf);

#endif
