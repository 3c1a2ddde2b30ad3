/*
 * Resource kinds (the files of criu/res/): what the actions call. Each res file has a dump section and a
 * restore section; this header declares both, the dump side first.
 *
 * All functions here are "logging" ones: they log their own failures once and return 0 (or a
 * count) or a negative errno.
 */
#ifndef CRIU_RES_H
#define CRIU_RES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "uapi/compel/compel.h"
#include "core/image.h"
#include "core/pagemap-scan.h"
#include "core/proc-parse.h"
#include "proto/parasite.h"

struct cr_opts;
struct cr_img;
struct img_dir;
struct res_ops;
struct stat;
struct freezer;

/* ================================= dump side ================================= */

/* Write @msg as the one entry of image @kind/@id (res-img.c). Logs its failures; 0 or -errno. */
int res_write_one(struct img_dir *dir, enum img_kind kind, unsigned int id,
		  const ProtobufCMessage *msg);

/* One FileEntry of type REG in files.img (a file opened by path). */
struct reg_file {
	uint32_t id;
	uint32_t flags;			/* open(2) flags, without O_CLOEXEC */
	uint64_t pos;
	char *name;			/* owned, absolute path */
	uint32_t mode;
	uint64_t size, dev, ino, mtime_ns;
	int fd;				/* the task's first fd on it, -1: not a descriptor */
	const struct res_ops *ops;	/* its kind (res/files.h); NULL: opened by path (REG) */
	int lfd;			/* criu's copy of fd (files_drain()), -1: none */
	bool need_lfd;			/* files_drain() must fetch it */
	pid_t peer_pid;			/* pipe, memfd: also open in this earlier task, as peer_fd */
	int peer_fd;
};

/* Every FileEntry of the dump; ids are handed out from 1 in order. */
struct file_table {
	struct reg_file *f;		/* owned */
	size_t nr, cap;
	uint32_t id_base;		/* ids are id_base + 1.. (the tasks of a tree share files.img) */
};

/* One descriptor of the task, for fdinfo-PID.img. */
struct dump_fd {
	int fd;
	uint32_t id;			/* FileEntry id */
	uint32_t fd_flags;		/* FD_CLOEXEC */
	uint32_t type;			/* FdTypes */
	pid_t owner_pid;		/* 0, or: the description is owner_fd of this earlier task */
	int owner_fd;
};

/* What mm.c decided about one VMA of /proc/PID/maps (parallel to dump_ctx.vmas). */
enum vma_dump {
	VMA_DUMP_NONE,			/* nothing to dump (vDSO unit, shared file, ...) */
	VMA_DUMP_ANON,			/* private anonymous: present and swapped pages */
	VMA_DUMP_PRIVATE_FILE,		/* private file: pages that are no longer the file's */
	VMA_DUMP_SHMEM,			/* anonymous shared: every page the object holds */
};

struct dump_vma {
	uint32_t status;		/* vma_status bits (mm.proto) */
	uint32_t flags;			/* MAP_* */
	uint32_t file_id;		/* 0: no file */
	uint64_t madv;			/* bit N: madvise(N) applies */
	uint64_t shmid;			/* anonymous shared: the shmem inode, 0 otherwise */
	enum vma_dump dump;
};

/* One seccomp filter of the task: classic BPF instructions (struct sock_filter, 8 bytes each). */
struct dump_seccomp_filter {
	void *insns;			/* owned */
	uint32_t len;			/* bytes */
	uint32_t flags;			/* SECCOMP_FILTER_FLAG_* */
};

/* The credentials of the task (its main thread): /proc/PID/status and PR_GET_SECUREBITS. */
struct dump_creds {
	uint32_t uid[4], gid[4];	/* real, effective, saved, fs */
	uint32_t *groups;		/* owned, nr_groups */
	int nr_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
};

/* The cgroup of a process in one hierarchy (/proc/PID/cgroup). */
struct dump_cgroup {
	char *controllers;		/* owned: "" for cgroup v2 */
	char *path;			/* owned */
};

/* A pending signal: the raw siginfo_t PTRACE_PEEKSIGINFO gives. */
struct dump_siginfo {
	uint8_t raw[128];
};

/* What the tasks of one tree dump share (owned by action-dump.c). */
struct dump_shared {
	struct cr_img *files_img;	/* files.img: every task's files_dump() writes into it */
	struct dump_shm_range *shm;	/* anonymous shared memory whose pages are dumped already */
	size_t nr_shm;
	uint64_t shm_pages_skipped;	/* pages not dumped twice */
	struct dump_desc *descs;	/* owned (files.c): open file descriptions seen so far */
	size_t nr_descs, cap_descs;
};

/* An open file description of a dumped task, for sharing checks between tasks (files.c). */
struct dump_desc {
	pid_t pid;
	int fd;
	uint64_t dev, ino;
	const struct res_ops *ops;
	uint32_t id;			/* its FileEntry */
};

/* Pages [pgoff, pgoff_end) of the anonymous shared object shmid, dumped by task pid. */
struct dump_shm_range {
	uint64_t shmid, pgoff, pgoff_end;
	pid_t pid;
};

/* A POSIX timer of the process: /proc/PID/timers and timer_gettime(2). */
struct dump_posix_timer {
	int id, clock_id, signo;
	int notify, notify_tid;		/* SIGEV_*, the thread for SIGEV_THREAD_ID */
	uint64_t sival;
	uint64_t isec, insec, vsec, vnsec;
	uint32_t overrun;
};

/* A thread's alternate signal stack, as sigaltstack(2) reports it. */
struct dump_sas {
	uint64_t sp;
	uint32_t flags;			/* SS_* */
	uint64_t size;
};

/* A thread of the process other than the main one, for its core-TID.img. */
struct dump_thread {
	pid_t tid;
	struct user_regs_struct regs;	/* as seized (an interrupted syscall not yet restarted) */
	void *xsave;			/* owned, xsave_size bytes */
	size_t xsave_size;
	uint64_t sigmask;
	uint64_t clear_tid;		/* PR_GET_TID_ADDRESS */
	struct dump_sas sas;
	struct dump_siginfo *si;	/* owned: pending for the thread */
	int nr_si;
	uint64_t rseq_abi;		/* 0: no rseq registered */
	uint32_t rseq_len, rseq_sig;
};

/* The state of one dump of one process, passed explicitly to every step. */
struct dump_ctx {
	const struct cr_opts *opts;	/* borrowed */
	pid_t pid;
	struct img_dir *dir;		/* borrowed from the tree's dump */
	struct dump_shared *shared;	/* borrowed: the tree's */
	pid_t *tids;			/* borrowed: the threads, the main one first */
	size_t nr_tids;
	struct dump_thread *threads;	/* owned: tids[1..], nr_tids - 1 of them */
	struct dump_creds *thread_creds; /* owned: tids[1..]'s; nr_groups < 0: the main one's */
	uint64_t clear_tid;		/* the main thread's PR_GET_TID_ADDRESS */

	/* seize and infection */
	struct freezer *freezer;	/* owned: --freeze-cgroup, or NULL */
	bool seized;
	enum compel_task_state seize_state;
	struct compel_ctl *ctl;		/* owned while infected */
	struct parasite_misc misc;

	/* collected from /proc */
	struct proc_stat stat;
	struct proc_status status;
	uint64_t *auxv;			/* owned, nr_auxv words */
	int nr_auxv;
	struct proc_vmas vmas;		/* owned */
	struct dump_vma *dvmas;		/* owned, vmas.nr entries */
	struct file_table files;	/* owned */
	struct dump_fd *fds;		/* owned, nr_fds entries */
	int nr_fds;
	uint32_t exe_id, cwd_id, root_id;
	uint64_t brk;			/* the program break, brk(0) */
	struct dump_siginfo *shared_si;	/* owned: pending for the process */
	int nr_shared_si;
	struct dump_siginfo *thread_si;	/* owned: pending for the (main) thread */
	int nr_thread_si;
	uint64_t rseq_abi;		/* 0: no rseq registered */
	struct proc_limits limits;
	int seccomp_mode;		/* 0 off, 1 strict, 2 filter */
	struct dump_seccomp_filter *filters;	/* owned, nr_filters, the oldest first */
	int nr_filters;
	uint32_t rseq_len, rseq_sig;
	struct dump_creds creds;
	struct dump_sas sas;		/* the main thread's alternate signal stack */
	struct dump_posix_timer *ptimers;	/* owned, nr_ptimers */
	int nr_ptimers;
	struct dump_cgroup *cgroups;	/* owned, nr_cgroups: one per hierarchy */
	size_t nr_cgroups;

	/* pages */
	struct page_runs runs;		/* owned: the pages to dump, in address order */
	struct page_runs cow;		/* owned: pages not dumped, the parent's own (pages_cow()) */
	const struct dump_ctx *cow_parent;	/* borrowed: the parent's, dumped before; or NULL */
	bool pagemap_scan;		/* listed with PAGEMAP_SCAN */
	uint64_t pages_written;		/* bytes */

	/* registers, for core-PID.img and the inventory */
	uint64_t xfeatures;		/* XCR0 */
	uint32_t xsave_size;
};

/* Free everything the steps collected (not the images dir). */
void dump_ctx_release(struct dump_ctx *dc);

/* reg-file.c: the file table. */
int reg_file_add(struct file_table *t, const char *name, const struct stat *st, uint32_t flags,
		 uint64_t pos, uint32_t *ret_id);
struct reg_file *reg_file_get(struct file_table *t, uint32_t id);
struct reg_file *reg_file_find_ino(struct file_table *t, uint64_t dev, uint64_t ino,
				   uint32_t first_id);
void file_table_release(struct file_table *t);
int reg_file_dump_all(struct dump_ctx *dc);		/* writes files.img */

/* files.c: descriptors. files_collect() refuses unsupported kinds before infection. */
int files_collect(struct dump_ctx *dc);
int fdinfo_dump(struct dump_ctx *dc);			/* writes fdinfo-PID.img */
int files_drain(struct dump_ctx *dc);			/* infected: criu's copies of the fds */
int files_dump(struct dump_ctx *dc);			/* writes files.img (all kinds) */
/* reg-file.c: one REG entry of the table into files.img. */
int reg_file_write(struct dump_ctx *dc, struct cr_img *img, const struct reg_file *f);

/* fs.c: cwd and root. */
int fs_collect(struct dump_ctx *dc);
int fs_dump(struct dump_ctx *dc);			/* writes fs-PID.img */

/* mm.c: VMAs, the files behind them, exe, auxv. */
int mm_collect(struct dump_ctx *dc);
/* Remote syscalls in the seized task before infection (@ctl: compel_prepare()d). */
int mm_collect_brk(struct dump_ctx *dc, struct compel_ctl *ctl);
int mm_dump(struct dump_ctx *dc);			/* writes mm-PID.img */

/* pages.c: which pages, then moving them through the parasite. */
int pages_collect(struct dump_ctx *dc);
/* Move the pages still shared copy-on-write with dc->cow_parent from dc->runs to dc->cow. */
int pages_cow(struct dump_ctx *dc);
int pages_dump(struct dump_ctx *dc);			/* writes pagemap-PID.img, pages-PID.img */

/* task-core.c: registers and task state; the process tree entry. */
int core_collect_task(struct dump_ctx *dc);		/* seized, first: limits, seccomp */
void core_release(struct dump_ctx *dc);			/* frees what the above collected */
int core_collect_ptrace(struct dump_ctx *dc);		/* seized: pending signals, rseq */
int core_dump(struct dump_ctx *dc);			/* writes core-PID.img */
/* Seized, before infection: registers, xsave, mask, clear_tid, signals, rseq of each thread. */
int core_collect_threads(struct dump_ctx *dc);
int core_dump_threads(struct dump_ctx *dc);		/* writes core-TID.img of the others */
/* A zombie: core-PID.img with its state, comm and wait status (@exit_code). */
int core_dump_zombie(struct img_dir *dir, pid_t pid, const char *comm, int exit_code);

/* creds.c: uids, gids, groups, capabilities (securebits come with the parasite's misc). */
struct CredsEntry;
int creds_collect(struct dump_ctx *dc);			/* seized: /proc/PID/status */
void creds_release(struct dump_ctx *dc);
/* Non-logging: the Uid, Gid, Groups and Cap* lines of a /proc/PID/status text; -ENODATA if one
 * is missing. */
int creds_parse_status(const char *buf, struct dump_creds *c);
/* For core-PID.img: a CredsEntry borrowing dc's memory; free it with free(). NULL: no memory. */
struct CredsEntry *creds_entry_new(const struct dump_ctx *dc);
/* The same for thread tids[@idx + 1] if it has credentials of its own (*@ret_own; NULL and
 * *@ret_own true: no memory). */
struct CredsEntry *creds_thread_entry_new(const struct dump_ctx *dc, size_t idx, bool *ret_own);

/* cgroup.c: cgroup membership (not the cgroups' settings). */
struct TaskCoreEntry;
int cgroup_collect(struct dump_ctx *dc);			/* /proc/PID/cgroup */
void cgroup_release(struct dump_ctx *dc);
/* tc->cgroups borrowing dc's strings; *@ret_mem to free() after the write. */
int cgroup_fill_core(const struct dump_ctx *dc, struct TaskCoreEntry *tc, void **ret_mem);

/* timers.c: POSIX timers. */
struct TaskCoreEntry;
int timers_collect(struct dump_ctx *dc, struct compel_ctl *ctl);	/* remote syscalls */
void timers_release(struct dump_ctx *dc);
/* Non-logging: a /proc/PID/timers text into dc->ptimers (appended). */
int timers_parse(struct dump_ctx *dc, const char *buf);
/* Fill tc->posix_timers; *@ret_mem (to free() after the write) holds what they point to. */
int timers_fill_core(const struct dump_ctx *dc, struct TaskCoreEntry *tc, void **ret_mem);

/* ================================ restore side =============================== */

#include "proto/restorer.h"

struct InventoryEntry;
struct PstreeEntry;
struct CoreEntry;
struct MmEntry;
struct FsEntry;
struct FileEntry;
struct FdinfoEntry;
struct PagemapHead;
struct PagemapEntry;
struct RegFileEntry;
struct cr_img;

#define RST_MAX_VDSO_PARTS	4	/* [vvar], [vvar_vclock], [vdso] */

/*
 * The process's pages in a parent image set (DIR/parent, DIR/parent/parent, ...), for the runs
 * marked PE_PARENT: its pagemap runs with the offset of each present run in its pages image.
 */
struct rst_pages {
	struct img_dir *dir;		/* owned */
	struct PagemapHead *head;	/* owned */
	struct PagemapEntry **pms;	/* owned, the runs */
	size_t nr_pms;
	uint64_t *offs;			/* owned: offs[i] is run i's offset in the pages image */
	struct cr_img *pages;		/* owned, raw */
	struct rst_pages *parent;	/* owned, or NULL */
};

/* How one recorded VMA comes back. */
enum rst_vma_kind {
	RV_SKIP,		/* [vsyscall] */
	RV_VDSO,		/* part of the vDSO unit: moved, not mapped */
	RV_PREMAP,		/* private or anonymous shared: premapped, filled, moved */
	RV_FILE_SHARED,		/* MAP_SHARED file: mapped by the restorer */
};

/* One restore of one process: its decoded images and what the checks found. */
struct rst_ctx {
	const struct cr_opts *opts;	/* borrowed */
	struct img_dir *dir;		/* borrowed from the tree */
	pid_t pid;

	/* decoded images: inv and ps borrowed from the tree, the rest owned */
	struct InventoryEntry *inv;
	struct PstreeEntry *ps;
	struct CoreEntry *core;
	struct CoreEntry **thread_cores;	/* threads[1..] of pstree.img, nr_threads of them */
	size_t nr_threads;
	struct MmEntry *mm;
	struct FsEntry *fs;
	struct FileEntry **files;
	size_t nr_files;
	struct FdinfoEntry **fds;
	size_t nr_fds;
	struct PagemapHead *pm_head;
	struct PagemapEntry **pms;	/* the runs, without the head */
	size_t nr_pms;
	struct cr_img *pages;		/* owned, raw */
	struct rst_pages *parent;	/* owned: pages of the parent image sets, or NULL */

	enum rst_vma_kind *kinds;	/* owned, one per mm->vmas (mm_check()) */
	int *shm_fds;			/* owned array, borrowed fds: per VMA, the shared memory
					 * object an anonymous shared VMA maps, or -1 */
	struct rst_range vdso_now[RST_MAX_VDSO_PARTS];	/* criu's own vDSO unit */
	size_t nr_vdso_now;

	/* the created task (child: its pid once created, 0 once reaped) */
	int status_pipe[2];
	int go_pipe[2];
	pid_t child;
	struct restorer_ready ready;
	int exit_status;		/* wait() status of the task, without -d; -1 before */
};

/*
 * The restored task's side, in criu's child before it jumps into the restorer. criu's log is
 * not usable there: these functions return 0 (or an fd) or a negative errno and leave a
 * one-line message in err (rst_task_err()), which travels back to criu.
 */
struct rst_task {
	struct rst_ctx *c;		/* borrowed */
	int status_fd, go_fd;		/* criu's, moved above the task's fds */
	int pages_fd;			/* closed once the pages are in (pages_close()) */
	int exe_fd;			/* for PR_SET_MM_MAP, or -1 */
	struct rst_vma *vmas;		/* owned: premapped and file-shared VMAs, address order */
	size_t nr_vmas;
	struct rst_vma vdso[RST_MAX_VDSO_PARTS];
	size_t nr_vdso;
	uint64_t area;			/* the reservation: premap area, then the restorer's */
	uint64_t premap_len, rst_len;
	size_t args_len;
	struct restorer_args *args;	/* in the restorer's area */
	uint64_t thread_stacks;		/* the other threads' restorer stacks start here */
	char *maps_buf;			/* owned: /proc/self/maps is read last, into this */
	const struct rst_task *parent;	/* the parent's, in the memory inherited from it; or NULL */
	char err[RESTORER_ERR_MAX];
};

/* Formats @fmt into t->err and returns @err (a negative errno). */
int rst_task_err(struct rst_task *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* reg-file.c: files opened by path. */
const struct RegFileEntry *reg_file_find(const struct rst_ctx *c, uint32_t id);	/* NULL: none */
/* The file @id, needed as @what, exists and looks as it did; @mapped: its size must match. */
int reg_file_check(const struct rst_ctx *c, uint32_t id, const char *what, bool mapped);
/* Child: open @r with its recorded flags at its recorded offset; returns the fd. */
int reg_file_open(struct rst_task *t, const struct RegFileEntry *r, const char *what);

/* files.c: descriptors. */
int files_check(const struct rst_ctx *c);		/* fds, cwd, root, exe exist */
int files_restore(struct rst_task *t);			/* child: criu's fds up, the task's in */

/* fs.c: cwd, root, umask (child). */
int fs_restore(struct rst_task *t);

/* mm.c: VMAs. */
int mm_check(struct rst_ctx *c);			/* VMAs and the vDSO layout */
int mm_list_vmas(struct rst_task *t);			/* child: t->vmas, t->vdso, premap_len */
/* Child: reserve premap_len + rst_len bytes somewhere free, premap the VMAs at its start. */
int mm_premap(struct rst_task *t);
/*
 * Anonymous shared memory: one object per shmid for the whole tree, created by criu before the
 * tasks (their VMAs map it, so it stays shared between them). *@ret_fds (malloc'ed,
 * *@ret_nr fds) are owned by the caller; each task's shm_fds borrow them.
 */
int mm_shmem_create(struct rst_ctx *tasks, size_t nr, int **ret_fds, size_t *ret_nr);

/* Child, after files_restore(): the fds the restorer maps the MAP_SHARED file VMAs from. */
int mm_open_shared(struct rst_task *t);
struct rst_vma *mm_premapped_at(struct rst_task *t, uint64_t addr);
/* Child: the VMA lists, auxv and mm fields into @a, from byte *@off of it on. */
void mm_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off);
size_t mm_args_size(const struct rst_task *t);

/* pages.c: read the dumped pages into the premapped VMAs (child). */
int pages_open_parents(struct rst_ctx *c);		/* if any run is PE_PARENT */
void pages_release_parents(struct rst_ctx *c);
/*
 * criu: the PE_COW runs of @c lie in private VMAs its parent @p (NULL: none) has with the
 * same range and backing, and @p's pagemap covers them. *@ret_pages: how many pages they are.
 */
int pages_check_cow(const struct rst_ctx *c, const struct rst_ctx *p, uint64_t *ret_pages);
/* Child, after mm_premap(): take the PE_COW VMAs over from the parent, drop its areas. */
int pages_cow_take(struct rst_task *t);
/* Child: keep the premapped VMAs no child (of @tasks, @nr) takes over out of them, or not. */
int pages_cow_hide(struct rst_task *t, const struct rst_ctx *tasks, size_t nr, bool hide);
int pages_restore(struct rst_task *t);
int pages_close(struct rst_task *t);			/* child: every pages image fd */

/* task-core.c: the task's own state. */
int core_check(const struct rst_ctx *c);
uint64_t core_sigmask(const struct rst_ctx *c);		/* the mask the task runs with */
int core_restore_task(struct rst_task *t);		/* child: session, personality, THP */
int core_restore_signals(struct rst_task *t);		/* child: sigactions, pending, itimers */
int core_restore_limits(struct rst_task *t);		/* child: rlimits, no_new_privs */
/* cgroup.c: child, first of all: back into the cgroups it was in. */
int cgroup_restore(struct rst_task *t);

/* creds.c: the credentials the restorer sets last (child; none if they are criu's own). */
size_t creds_args_size(const struct rst_ctx *c);
int creds_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off);
/* timers.c: the POSIX timers the restorer creates and arms last (child). */
size_t timers_args_size(const struct rst_ctx *c);
int timers_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off);
/* Child: registers (the rt_sigframe), TLS, rseq, prctl state into @a from *@off on. */
int core_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off);
size_t core_args_size(const struct rst_ctx *c);


#endif
