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
#include "core/pagemap-scan.h"
#include "core/proc-parse.h"
#include "proto/parasite.h"

struct cr_opts;
struct img_dir;
struct stat;

/* ================================= dump side ================================= */

/* One FileEntry of type REG in files.img (a file opened by path). */
struct reg_file {
	uint32_t id;
	uint32_t flags;			/* open(2) flags, without O_CLOEXEC */
	uint64_t pos;
	char *name;			/* owned, absolute path */
	uint32_t mode;
	uint64_t size, dev, ino, mtime_ns;
	int fd;				/* the task's first fd on it, -1: not a descriptor */
};

/* Every FileEntry of the dump; ids are handed out from 1 in order. */
struct file_table {
	struct reg_file *f;		/* owned */
	size_t nr, cap;
};

/* One descriptor of the task, for fdinfo-PID.img. */
struct dump_fd {
	int fd;
	uint32_t id;			/* FileEntry id */
	uint32_t fd_flags;		/* FD_CLOEXEC */
};

/* What mm.c decided about one VMA of /proc/PID/maps (parallel to dump_ctx.vmas). */
enum vma_dump {
	VMA_DUMP_NONE,			/* nothing to dump (vDSO unit, shared file, ...) */
	VMA_DUMP_ANON,			/* private anonymous: present and swapped pages */
	VMA_DUMP_PRIVATE_FILE,		/* private file: pages that are no longer the file's */
};

struct dump_vma {
	uint32_t status;		/* vma_status bits (mm.proto) */
	uint32_t flags;			/* MAP_* */
	uint32_t file_id;		/* 0: no file */
	uint64_t madv;			/* bit N: madvise(N) applies */
	enum vma_dump dump;
};

/* One signal's disposition: the kernel's struct sigaction, as rt_sigaction(2) reports it. */
struct dump_sigaction {
	uint64_t handler, flags, restorer, mask;
};

/* A pending signal: the raw siginfo_t PTRACE_PEEKSIGINFO gives. */
struct dump_siginfo {
	uint8_t raw[128];
};

/* The state of one dump of one process, passed explicitly to every step. */
struct dump_ctx {
	const struct cr_opts *opts;	/* borrowed */
	pid_t pid;
	struct img_dir *dir;		/* owned */

	/* seize and infection */
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
	struct dump_sigaction sigactions[64];	/* signals 1..64 */
	struct dump_siginfo *shared_si;	/* owned: pending for the process */
	int nr_shared_si;
	struct dump_siginfo *thread_si;	/* owned: pending for the (main) thread */
	int nr_thread_si;
	uint64_t rseq_abi;		/* 0: no rseq registered */
	uint32_t rseq_len, rseq_sig;

	/* pages */
	struct page_runs runs;		/* owned: the pages to dump, in address order */
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
int pages_dump(struct dump_ctx *dc);			/* writes pagemap-PID.img, pages-PID.img */

/* task-core.c: registers and task state; the process tree entry. */
int core_collect_ptrace(struct dump_ctx *dc);		/* seized: pending signals, rseq */
int core_collect_sigactions(struct dump_ctx *dc, struct compel_ctl *ctl);	/* as above */
int core_dump(struct dump_ctx *dc);			/* writes core-PID.img */
int pstree_dump(struct dump_ctx *dc);			/* writes pstree.img */

/* ================================ restore side =============================== */

#endif
