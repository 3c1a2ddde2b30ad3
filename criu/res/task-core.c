/*
 * A task's state beyond its memory (core-TID.img) and its entry of the process tree (pstree.img).
 *
 * Dump: registers, xsave area and signal mask as compel saved them when it prepared the task,
 * with an interrupted syscall set up to restart the way the kernel would have restarted it;
 * comm, state and what the parasite reported (personality, umask, pdeath signal, dumpable).
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "core: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

#include "arch/x86/syscall-restart.h"
#include "common/page.h"

#include "common/cleanup.h"
#include "core/image.h"
#include "core/log.h"
#include "images/core.pb-c.h"
#include "images/pstree.pb-c.h"

/* ================================= dump side ================================= */

#define XSAVE_HDR_OFFSET	512	/* the xsave header follows the legacy FXSAVE area */
#define XSAVE_MIN_SIZE		576

/* XCR0: the state components this CPU and kernel have enabled. */
static uint64_t arch_xcr0(void)
{
	uint32_t eax, ebx, ecx, edx, lo, hi;

	__asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
	if (!(ecx & (1U << 27)))	/* OSXSAVE */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * A task stopped inside a syscall shows -ERESTART* in ax. On the way back to user space the
 * kernel would restart the syscall (or call restart_syscall, whose state the restored task will
 * not have); the restored task resumes through rt_sigreturn, which never restarts, so set the
 * registers up to run the syscall again (arch_restart_syscall()).
 */
static void regs_restart_syscall(pid_t pid, struct user_regs_struct *r)
{
	int ret = arch_restart_syscall(r);

	if (ret > 0)
		pr_debug("task %d: syscall %llu interrupted, restarted at %#llx", pid,
			 (unsigned long long)r->orig_rax, (unsigned long long)r->rip);
	if (ret < 0)
		pr_warn("task %d: it was in restart_syscall(), restarting an earlier interrupted "
			"syscall (a sleep or timed wait) that cannot be told: it gets EINTR after "
			"restore", pid);
}

/* The queue of pending signals (@shared: the process's, else the thread's), as the tracer sees it. */
static int pending_read(pid_t pid, bool shared, struct dump_siginfo **ret_si, int *ret_nr)
{
	struct __ptrace_peeksiginfo_args a = { .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0 };
	struct dump_siginfo *si = NULL, *n;
	int nr = 0, cap = 0;
	long got;

	for (;;) {
		if (nr == cap) {
			cap = cap ? cap * 2 : 16;
			n = realloc(si, cap * sizeof(*si));
			if (!n) {
				free(si);
				return -ENOMEM;
			}
			si = n;
		}
		a.off = nr;
		a.nr = cap - nr;
		got = ptrace(PTRACE_PEEKSIGINFO, pid, &a, &si[nr]);
		if (got < 0) {
			free(si);
			return -errno;
		}
		if (got == 0)
			break;
		nr += got;
	}
	*ret_si = si;
	*ret_nr = nr;
	return 0;
}

/* ptrace requests for seccomp (Linux 4.4 and 4.16) and their metadata. */
#define PTRACE_SECCOMP_GET_FILTER_	0x420c
#define PTRACE_SECCOMP_GET_METADATA_	0x420d
#define PTRACE_O_SUSPEND_SECCOMP_	(1 << 21)

struct seccomp_meta {
	uint64_t filter_off;
	uint64_t flags;
};

/* The filters, the newest first as ptrace numbers them; stored the oldest first. */
static int seccomp_read_filters(struct dump_ctx *dc)
{
	struct dump_seccomp_filter *f, *nf;
	struct seccomp_meta meta;
	long n, i;

	for (i = 0;; i++) {
		n = ptrace(PTRACE_SECCOMP_GET_FILTER_, dc->pid, (void *)i, NULL);
		if (n < 0 && errno == ENOENT)
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		nf = realloc(dc->filters, (i + 1) * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		dc->filters = nf;
		f = &nf[i];
		memset(f, 0, sizeof(*f));
		dc->nr_filters = i + 1;
		f->len = n * 8;
		f->insns = malloc(f->len);
		if (!f->insns)
			return -ENOMEM;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER_, dc->pid, (void *)i, f->insns) != n)
			return -EIO;
		meta.filter_off = i;
		meta.flags = 0;
		if (ptrace(PTRACE_SECCOMP_GET_METADATA_, dc->pid, (void *)sizeof(meta), &meta) >= 0)
			f->flags = meta.flags;
	}
	for (i = 0; i < dc->nr_filters / 2; i++) {
		struct dump_seccomp_filter t = dc->filters[i];

		dc->filters[i] = dc->filters[dc->nr_filters - 1 - i];
		dc->filters[dc->nr_filters - 1 - i] = t;
	}
	return 0;
}

/*
 * Seccomp: suspend it for as long as we trace the task (our remote syscalls and parasite must
 * be neither filtered nor refused by strict mode), and record the mode and the filters. The
 * mode is per thread and /proc tells the main thread's: strict mode is refused with threads.
 */
static int seccomp_collect(struct dump_ctx *dc)
{
	int ret;

	dc->seccomp_mode = dc->status.seccomp < 0 ? 0 : dc->status.seccomp;
	if (dc->seccomp_mode == 1 && dc->nr_tids > 1) {
		pr_err("task %d is in seccomp strict mode and has %zu threads: cannot be dumped "
		       "(the mode of each thread is not known)", dc->pid, dc->nr_tids);
		return -EOPNOTSUPP;
	}
	if (dc->seccomp_mode != 1 && dc->seccomp_mode != 2)
		return 0;
	if (ptrace(PTRACE_SETOPTIONS, dc->pid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP_)) < 0)
		return pr_err_ret(-errno, "cannot suspend the seccomp filters of task %d", dc->pid);
	if (dc->seccomp_mode == 1) {
		pr_info("task %d: seccomp strict mode", dc->pid);
		return 0;
	}
	ret = seccomp_read_filters(dc);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the seccomp filters of task %d", dc->pid);
	pr_info("task %d: %d seccomp filters", dc->pid, dc->nr_filters);
	return 0;
}

/*
 * Non-logging: 0 if thread @tid has the seccomp mode and filters recorded for the main thread,
 * 1 if not, or -errno.
 */
static int seccomp_thread_differs(struct dump_ctx *dc, pid_t tid)
{
	struct proc_status st;
	_cleanup_free_ void *buf = NULL;
	const struct dump_seccomp_filter *f;
	long n, i;
	int ret;

	ret = proc_parse_status(tid, &st);
	if (ret < 0)
		return ret;
	if ((st.seccomp < 0 ? 0 : st.seccomp) != dc->seccomp_mode)
		return 1;
	if (dc->seccomp_mode != 2)
		return 0;
	for (i = 0;; i++) {
		n = ptrace(PTRACE_SECCOMP_GET_FILTER_, tid, (void *)i, NULL);
		if (n < 0 && errno == ENOENT)
			return i == dc->nr_filters ? 0 : 1;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		if (i >= dc->nr_filters)
			return 1;
		f = &dc->filters[dc->nr_filters - 1 - i];	/* stored the oldest first */
		if ((uint32_t)n * 8 != f->len)
			return 1;
		free(buf);
		buf = malloc(f->len);
		if (!buf)
			return -ENOMEM;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER_, tid, (void *)i, buf) != n)
			return -EIO;
		if (memcmp(buf, f->insns, f->len))
			return 1;
	}
}

int core_collect_task(struct dump_ctx *dc)
{
	size_t i;
	int ret;

	ret = proc_parse_limits(dc->pid, &dc->limits);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/limits", dc->pid);
	ret = seccomp_collect(dc);
	if (ret < 0)
		return ret;
	/* The mode and filters are per thread; the restorer gives the main thread's to all. */
	for (i = 1; i < dc->nr_tids; i++) {
		ret = seccomp_thread_differs(dc, dc->tids[i]);
		if (ret < 0)
			return pr_err_ret(ret, "cannot read the seccomp state of thread %d",
					  dc->tids[i]);
		if (ret > 0) {
			pr_err("thread %d of task %d has other seccomp filters than the main thread: "
			       "not supported", dc->tids[i], dc->pid);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

void core_release(struct dump_ctx *dc)
{
	int i;

	for (i = 0; i < dc->nr_filters; i++)
		free(dc->filters[i].insns);
	free(dc->filters);
	dc->filters = NULL;
	dc->nr_filters = 0;
	for (i = 0; dc->threads && i + 1 < (int)dc->nr_tids; i++) {
		free(dc->threads[i].xsave);
		free(dc->threads[i].si);
	}
	free(dc->threads);
	dc->threads = NULL;
}

/* PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13) and its result, as the kernel defines them. */
#define PTRACE_GET_RSEQ_CONF	0x420f

struct rseq_conf {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* The rseq area the thread registered (glibc does at start), to register it again. */
static int rseq_read(struct dump_ctx *dc)
{
	struct rseq_conf rc = { 0 };
	long n;

	n = ptrace(PTRACE_GET_RSEQ_CONF, dc->pid, (void *)sizeof(rc), &rc);
	if (n < 0 && (errno == EIO || errno == EINVAL))
		return 0;	/* kernel older than 5.13: nothing we could restore either */
	if (n < 0)
		return -errno;
	dc->rseq_abi = rc.rseq_abi_pointer;
	dc->rseq_len = rc.rseq_abi_size;
	dc->rseq_sig = rc.signature;
	return 0;
}

int core_collect_ptrace(struct dump_ctx *dc)
{
	int ret;

	ret = rseq_read(dc);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the rseq configuration of task %d", dc->pid);

	ret = pending_read(dc->pid, true, &dc->shared_si, &dc->nr_shared_si);
	if (ret == 0)
		ret = pending_read(dc->pid, false, &dc->thread_si, &dc->nr_thread_si);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the pending signals of task %d", dc->pid);
	if (dc->nr_shared_si || dc->nr_thread_si)
		pr_info("task %d: %d pending signals (%d of the process)", dc->pid,
			dc->nr_shared_si + dc->nr_thread_si, dc->nr_shared_si);
	return 0;
}

/* protobuf bytes fields borrowing @si. */
static ProtobufCBinaryData *siginfo_fields(const struct dump_siginfo *si, int nr)
{
	ProtobufCBinaryData *b;
	int i;

	b = calloc(nr ? nr : 1, sizeof(*b));
	if (!b)
		return NULL;
	for (i = 0; i < nr; i++) {
		b[i].data = (uint8_t *)si[i].raw;
		b[i].len = sizeof(si[i].raw);
	}
	return b;
}

static void regs_to_entry(const struct user_regs_struct *r, UserX86RegsEntry *e)
{
	e->r15 = r->r15;
	e->r14 = r->r14;
	e->r13 = r->r13;
	e->r12 = r->r12;
	e->bp = r->rbp;
	e->bx = r->rbx;
	e->r11 = r->r11;
	e->r10 = r->r10;
	e->r9 = r->r9;
	e->r8 = r->r8;
	e->ax = r->rax;
	e->cx = r->rcx;
	e->dx = r->rdx;
	e->si = r->rsi;
	e->di = r->rdi;
	e->orig_ax = r->orig_rax;
	e->ip = r->rip;
	e->cs = r->cs;
	e->flags = r->eflags;
	e->sp = r->rsp;
	e->ss = r->ss;
	e->fs_base = r->fs_base;
	e->gs_base = r->gs_base;
	e->ds = r->ds;
	e->es = r->es;
	e->fs = r->fs;
	e->gs = r->gs;
}

/* The controlling terminal of task @pid (tty_nr of /proc/PID/stat), 0: none; -1: unreadable. */
static int64_t task_tty_nr(pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64], *s;
	unsigned int tty = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (proc_read_file(path, &buf) < 0)
		return -1;
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %*c %*d %*d %*d %u", &tty) != 1)
		return -1;
	return tty;
}

/* The main thread's task_core_entry; @sa/@sa_ptrs (64 each) are storage it points to. */
static void task_core_fill(const struct dump_ctx *dc, uint64_t sigmask, TaskCoreEntry *tc,
			   SigactionEntry *sa, SigactionEntry **sa_ptrs)
{
	int64_t tty;
	int i;

	tc->state = dc->seize_state == COMPEL_TASK_STOPPED ? TASK_STATE__TASK_STOPPED :
							      TASK_STATE__TASK_ALIVE;
	tc->comm = (char *)dc->stat.comm;
	tc->has_personality = true;
	tc->personality = dc->misc.personality;
	tc->has_umask = true;
	tc->umask = dc->misc.umask;
	tc->has_blk_sigset = true;
	tc->blk_sigset = sigmask;
	tc->has_pdeath_sig = true;
	tc->pdeath_sig = dc->misc.pdeath_sig;
	tc->has_dumpable = true;
	tc->dumpable = dc->misc.dumpable;
	tc->has_child_subreaper = true;
	tc->child_subreaper = dc->misc.child_subreaper != 0;
	tty = task_tty_nr(dc->pid);
	tc->has_tty_nr = tty >= 0;
	tc->tty_nr = (uint32_t)max(tty, (int64_t)0);
	for (i = 0; i < 64; i++) {
		sigaction_entry__init(&sa[i]);
		sa[i].sigaction = dc->misc.sigactions[i].handler;
		sa[i].flags = dc->misc.sigactions[i].flags;
		sa[i].restorer = dc->misc.sigactions[i].restorer;
		sa[i].mask = dc->misc.sigactions[i].mask;
		sa_ptrs[i] = &sa[i];
	}
	tc->n_sigactions = 64;
	tc->sigactions = sa_ptrs;
}

/* Resource limits and seccomp; @rl (PROC_NR_LIMITS) and @sf (nr_filters) are storage. */
static int task_core_fill_limits(const struct dump_ctx *dc, TaskCoreEntry *tc, RlimitEntry *rl,
				 RlimitEntry **rl_ptrs, SeccompFilterEntry **ret_sf,
				 SeccompFilterEntry ***ret_sf_ptrs)
{
	SeccompFilterEntry *sf, **sf_ptrs;
	int i;

	for (i = 0; i < PROC_NR_LIMITS; i++) {
		rlimit_entry__init(&rl[i]);
		rl[i].cur = dc->limits.cur[i];
		rl[i].max = dc->limits.max[i];
		rl_ptrs[i] = &rl[i];
	}
	tc->n_rlimits = PROC_NR_LIMITS;
	tc->rlimits = rl_ptrs;
	tc->has_no_new_privs = true;
	tc->no_new_privs = dc->misc.no_new_privs;
	tc->has_seccomp_mode = true;
	tc->seccomp_mode = dc->seccomp_mode;

	sf = calloc(dc->nr_filters + 1, sizeof(*sf));
	sf_ptrs = calloc(dc->nr_filters + 1, sizeof(*sf_ptrs));
	*ret_sf = sf;
	*ret_sf_ptrs = sf_ptrs;
	if (!sf || !sf_ptrs)
		return -ENOMEM;
	for (i = 0; i < dc->nr_filters; i++) {
		seccomp_filter_entry__init(&sf[i]);
		sf[i].filter.data = dc->filters[i].insns;
		sf[i].filter.len = dc->filters[i].len;
		sf[i].has_flags = true;
		sf[i].flags = dc->filters[i].flags;
		sf_ptrs[i] = &sf[i];
	}
	tc->n_seccomp_filters = dc->nr_filters;
	tc->seccomp_filters = sf_ptrs;
	return 0;
}

/* The armed interval timers; @it (3 entries) is storage the task core points to. */
static void itimers_fill(const struct dump_ctx *dc, TaskCoreEntry *tc, ItimerEntry *it)
{
	ItimerEntry **fields[3] = { &tc->itimer_real, &tc->itimer_virt, &tc->itimer_prof };
	int i;

	for (i = 0; i < 3; i++) {
		const struct parasite_itimer *d = &dc->misc.itimers[i];

		if (!(d->isec | d->iusec | d->vsec | d->vusec))
			continue;	/* disarmed */
		itimer_entry__init(&it[i]);
		it[i].isec = d->isec;
		it[i].iusec = d->iusec;
		it[i].vsec = d->vsec;
		it[i].vusec = d->vusec;
		*fields[i] = &it[i];
	}
}

#define SS_ONSTACK_	1
#define SS_DISABLE_	2

/* An enabled alternate stack into @th, with @e as storage. */
static void sas_fill(const struct dump_sas *s, ThreadCoreEntry *th, SigaltstackEntry *e)
{
	if (s->flags & SS_DISABLE_)
		return;
	sigaltstack_entry__init(e);
	e->sp = s->sp;
	e->flags = s->flags & ~SS_ONSTACK_;
	e->size = s->size;
	th->sas = e;
}

static void thread_core_fill(const struct dump_ctx *dc, uint64_t sigmask, ThreadCoreEntry *th)
{
	th->tid = dc->pid;
	th->has_blk_sigset = true;
	th->blk_sigset = sigmask;
	if (dc->clear_tid) {
		th->has_clear_tid_addr = true;
		th->clear_tid_addr = dc->clear_tid;
	}
	if (dc->rseq_abi) {
		th->has_rseq_abi = th->has_rseq_len = th->has_rseq_sig = true;
		th->rseq_abi = dc->rseq_abi;
		th->rseq_len = dc->rseq_len;
		th->rseq_sig = dc->rseq_sig;
	}
}

int core_dump(struct dump_ctx *dc)
{
	UserX86RegsEntry gpregs = USER_X86_REGS_ENTRY__INIT;
	UserX86XsaveEntry fpregs = USER_X86_XSAVE_ENTRY__INIT;
	ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	_cleanup_free_ ProtobufCBinaryData *shared_si = NULL, *thread_si = NULL;
	SigactionEntry sa[64], *sa_ptrs[64];
	ItimerEntry itimers[3];
	RlimitEntry rl[PROC_NR_LIMITS], *rl_ptrs[PROC_NR_LIMITS];
	_cleanup_free_ SeccompFilterEntry *sf = NULL;
	_cleanup_free_ SeccompFilterEntry **sf_ptrs = NULL;
	_cleanup_free_ CredsEntry *creds = NULL;
	_cleanup_free_ void *timers = NULL, *cgroups = NULL;
	SigaltstackEntry sas;
	struct user_regs_struct regs;
	const void *xsave;
	size_t xsave_size;
	uint64_t sigmask, xstate_bv;
	int ret;

	ret = compel_get_regs(dc->ctl, &regs);
	if (!ret)
		ret = compel_get_xsave(dc->ctl, &xsave, &xsave_size);
	if (!ret)
		ret = compel_get_sigmask(dc->ctl, &sigmask);
	if (ret < 0)
		return pr_err_ret(ret, "cannot get the registers of task %d", dc->pid);
	if (xsave_size < XSAVE_MIN_SIZE) {
		pr_err("task %d: xsave area of %zu bytes is too small", dc->pid, xsave_size);
		return -EIO;
	}

	regs_restart_syscall(dc->pid, &regs);
	regs_to_entry(&regs, &gpregs);
	memcpy(&xstate_bv, (const char *)xsave + XSAVE_HDR_OFFSET, sizeof(xstate_bv));
	dc->xfeatures = arch_xcr0();
	dc->xsave_size = xsave_size;
	fpregs.area.data = (uint8_t *)xsave;
	fpregs.area.len = xsave_size;
	fpregs.xstate_bv = xstate_bv;
	fpregs.xcr0 = dc->xfeatures;
	ti.gpregs = &gpregs;
	ti.fpregs = &fpregs;

	shared_si = siginfo_fields(dc->shared_si, dc->nr_shared_si);
	thread_si = siginfo_fields(dc->thread_si, dc->nr_thread_si);
	if (!shared_si || !thread_si)
		return -ENOMEM;
	task_core_fill(dc, sigmask, &tc, sa, sa_ptrs);
	itimers_fill(dc, &tc, itimers);
	if (task_core_fill_limits(dc, &tc, rl, rl_ptrs, &sf, &sf_ptrs) < 0)
		return -ENOMEM;
	tc.creds = creds = creds_entry_new(dc);		/* res/creds.c */
	if (!creds || timers_fill_core(dc, &tc, &timers) < 0 ||	/* res/timers.c */
	    cgroup_fill_core(dc, &tc, &cgroups) < 0)		/* res/cgroup.c */
		return -ENOMEM;
	tc.n_shared_siginfo = dc->nr_shared_si;
	tc.shared_siginfo = shared_si;
	thread_core_fill(dc, sigmask, &th);
	sas_fill(&dc->sas, &th, &sas);
	th.n_siginfo = dc->nr_thread_si;
	th.siginfo = thread_si;

	core.mtype = MARCH__X86_64;
	core.thread_info = &ti;
	core.tc = &tc;
	core.thread_core = &th;
	return res_write_one(dc->dir, IMG_CORE, dc->pid, &core.base);
}

/* ---- threads ---- */

/* The thread's rseq registration (PTRACE_GET_RSEQ_CONFIGURATION); all zero: none. */
static int rseq_read_tid(pid_t tid, uint64_t *abi, uint32_t *len, uint32_t *sig)
{
	struct rseq_conf rc = { 0 };
	long n;

	n = ptrace(PTRACE_GET_RSEQ_CONF, tid, (void *)sizeof(rc), &rc);
	if (n < 0 && (errno == EIO || errno == EINVAL))
		return 0;
	if (n < 0)
		return -errno;
	*abi = rc.rseq_abi_pointer;
	*len = rc.rseq_abi_size;
	*sig = rc.signature;
	return 0;
}

#define PR_GET_TID_ADDRESS_	40

/*
 * The thread's clear_child_tid (what pthread_join waits on): only the thread itself can ask
 * (prctl(PR_GET_TID_ADDRESS)), so run that in it; the answer goes below its stack's red zone,
 * which the ABI leaves free, and is read back at once.
 */
static int clear_tid_read(struct dump_ctx *dc, struct compel_ctl *ctl, pid_t tid,
			  const struct user_regs_struct *regs, uint64_t *ret_addr)
{
	uint64_t at = ((uint64_t)regs->rsp - 1024) & ~15ULL, val = 0;
	struct iovec local = { &val, sizeof(val) }, remote = { (void *)at, sizeof(val) };
	long r;
	int ret;

	if (dc->seccomp_mode == 2 &&
	    ptrace(PTRACE_SETOPTIONS, tid, NULL,
		   (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP_)) < 0)
		return -errno;
	ret = compel_syscall(ctl, __NR_prctl, &r, PR_GET_TID_ADDRESS_, at, 0, 0, 0, 0);
	if (ret < 0)
		return ret;
	if (r < 0)
		return (int)r;
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof(val))
		return -errno;
	*ret_addr = val;
	return 0;
}

/* struct stack_t of x86_64, as sigaltstack(2) writes it. */
struct sas_raw {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

/* The thread's alternate signal stack: sigaltstack(NULL, &ss) run in it, read like clear_tid. */
static int sas_read(struct compel_ctl *ctl, pid_t tid, const struct user_regs_struct *regs,
		    struct dump_sas *ret_sas)
{
	uint64_t at = ((uint64_t)regs->rsp - 2048) & ~15ULL;
	struct sas_raw ss = { 0 };
	struct iovec local = { &ss, sizeof(ss) }, remote = { (void *)at, sizeof(ss) };
	long r;
	int ret;

	ret = compel_syscall(ctl, __NR_sigaltstack, &r, 0, at, 0, 0, 0, 0);
	if (ret < 0)
		return ret;
	if (r < 0)
		return (int)r;
	if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != sizeof(ss))
		return -errno;
	ret_sas->sp = ss.sp;
	ret_sas->flags = (uint32_t)ss.flags;
	ret_sas->size = ss.size;
	return 0;
}

static int thread_collect(struct dump_ctx *dc, pid_t tid, struct dump_thread *t)
{
	struct compel_ctl *ctl = NULL;
	const void *xsave;
	uint64_t *clear_tid = t ? &t->clear_tid : &dc->clear_tid;
	struct user_regs_struct regs;
	int ret, ret2;

	ret = compel_prepare(tid, &ctl);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the registers of thread %d of task %d", tid,
				  dc->pid);
	ret = compel_get_regs(ctl, &regs);
	if (!ret && t) {
		t->regs = regs;
		ret = compel_get_sigmask(ctl, &t->sigmask);
		if (!ret)
			ret = compel_get_xsave(ctl, &xsave, &t->xsave_size);
		if (!ret) {
			t->xsave = malloc(t->xsave_size);
			if (t->xsave)
				memcpy(t->xsave, xsave, t->xsave_size);
			else
				ret = -ENOMEM;
		}
	}
	if (!ret) {
		ret = clear_tid_read(dc, ctl, tid, &regs, clear_tid);
		if (ret < 0)
			pr_err_ret(ret, "cannot read the clear_tid address of thread %d of task %d",
				   tid, dc->pid);
	}
	if (!ret) {
		ret = sas_read(ctl, tid, &regs, t ? &t->sas : &dc->sas);
		if (ret < 0)
			pr_err_ret(ret, "cannot read the alternate signal stack of thread %d of "
				   "task %d", tid, dc->pid);
	}
	ret2 = compel_cure(ctl);	/* registers, FPU state and mask back as they were */
	if (ret2 < 0 && !ret)
		ret = pr_err_ret(ret2, "cannot restore thread %d of task %d", tid, dc->pid);
	if (ret < 0 || !t)
		return ret;

	ret = pending_read(tid, false, &t->si, &t->nr_si);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the pending signals of thread %d", tid);
	ret = rseq_read_tid(tid, &t->rseq_abi, &t->rseq_len, &t->rseq_sig);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read the rseq configuration of thread %d", tid);
	return 0;
}

int core_collect_threads(struct dump_ctx *dc)
{
	size_t i;
	int ret;

	ret = thread_collect(dc, dc->pid, NULL);	/* the main thread: its clear_tid */
	if (ret < 0 || dc->nr_tids < 2)
		return ret;
	dc->threads = calloc(dc->nr_tids - 1, sizeof(*dc->threads));
	if (!dc->threads)
		return -ENOMEM;
	for (i = 1; i < dc->nr_tids; i++) {
		dc->threads[i - 1].tid = dc->tids[i];
		ret = thread_collect(dc, dc->tids[i], &dc->threads[i - 1]);
		if (ret < 0)
			return ret;
	}
	pr_info("task %d: %zu threads", dc->pid, dc->nr_tids);
	return 0;
}

static int thread_dump(struct dump_ctx *dc, struct dump_thread *t)
{
	UserX86RegsEntry gpregs = USER_X86_REGS_ENTRY__INIT;
	UserX86XsaveEntry fpregs = USER_X86_XSAVE_ENTRY__INIT;
	ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	_cleanup_free_ ProtobufCBinaryData *si = NULL;
	_cleanup_free_ CredsEntry *creds = NULL;
	struct user_regs_struct regs = t->regs;
	SigaltstackEntry sas;
	bool own;

	if (t->xsave_size < XSAVE_MIN_SIZE) {
		pr_err("thread %d: xsave area of %zu bytes is too small", t->tid, t->xsave_size);
		return -EIO;
	}
	regs_restart_syscall(t->tid, &regs);
	regs_to_entry(&regs, &gpregs);
	memcpy(&fpregs.xstate_bv, (const char *)t->xsave + XSAVE_HDR_OFFSET,
	       sizeof(fpregs.xstate_bv));
	fpregs.area.data = t->xsave;
	fpregs.area.len = t->xsave_size;
	fpregs.xcr0 = arch_xcr0();
	ti.gpregs = &gpregs;
	ti.fpregs = &fpregs;

	si = siginfo_fields(t->si, t->nr_si);
	if (!si)
		return -ENOMEM;
	th.tid = t->tid;
	th.has_blk_sigset = true;
	th.blk_sigset = t->sigmask;
	if (t->clear_tid) {
		th.has_clear_tid_addr = true;
		th.clear_tid_addr = t->clear_tid;
	}
	if (t->rseq_abi) {
		th.has_rseq_abi = th.has_rseq_len = th.has_rseq_sig = true;
		th.rseq_abi = t->rseq_abi;
		th.rseq_len = t->rseq_len;
		th.rseq_sig = t->rseq_sig;
	}
	th.n_siginfo = t->nr_si;
	th.siginfo = si;
	sas_fill(&t->sas, &th, &sas);
	th.creds = creds = creds_thread_entry_new(dc, (size_t)(t - dc->threads), &own);
	if (own && !creds)
		return -ENOMEM;

	core.mtype = MARCH__X86_64;
	core.thread_info = &ti;
	core.thread_core = &th;
	return res_write_one(dc->dir, IMG_CORE, t->tid, &core.base);
}

int core_dump_threads(struct dump_ctx *dc)
{
	size_t i;
	int ret;

	for (i = 0; dc->threads && i + 1 < dc->nr_tids; i++) {
		ret = thread_dump(dc, &dc->threads[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int core_dump_zombie(struct img_dir *dir, pid_t pid, const char *comm, int exit_code)
{
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;

	tc.state = TASK_STATE__TASK_ZOMBIE;
	tc.has_exit_code = true;
	tc.exit_code = exit_code;
	tc.comm = (char *)comm;
	core.mtype = MARCH__X86_64;
	core.tc = &tc;
	return res_write_one(dir, IMG_CORE, pid, &core.base);
}

/* ================================ restore side =============================== */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>

#define SECCOMP_FLAG_LOG	(1u << 1)	/* SECCOMP_FILTER_FLAG_LOG */
#define SECCOMP_FLAG_SPEC	(1u << 2)	/* SECCOMP_FILTER_FLAG_SPEC_ALLOW */

#include "arch/x86/sigframe.h"
#include "common/compiler.h"
#include "images/inventory.pb-c.h"
#include "images/mm.pb-c.h"

int rst_task_err(struct rst_task *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

int core_check(const struct rst_ctx *c)
{
	const CoreEntry *core = c->core;
	size_t xlen;

	if (core->mtype != MARCH__X86_64 || !core->thread_info || !core->tc) {
		pr_err("core-%d.img: not an x86_64 task core", c->pid);
		return -EBADMSG;
	}
	if (!c->ps->ppid && core->tc->has_pdeath_sig && core->tc->pdeath_sig)
		pr_warn("task %d: parent death signal %u not restored: its parent is not part of the "
			"dump", c->pid, core->tc->pdeath_sig);
	if (core->tc->state != TASK_STATE__TASK_ALIVE &&
	    core->tc->state != TASK_STATE__TASK_STOPPED) {
		pr_err("core-%d.img: task state %d: only running and stopped tasks can be "
		       "restored yet", c->pid, core->tc->state);
		return -EOPNOTSUPP;
	}
	if (core->thread_info->gpregs->cs != 0x33) {
		pr_err("core-%d.img: code segment %#" PRIx64 ": only 64-bit tasks can be restored",
		       c->pid, (uint64_t)core->thread_info->gpregs->cs);
		return -EOPNOTSUPP;
	}
	xlen = core->thread_info->fpregs->area.len;
	if (xlen < 576 || (c->inv->has_xsave_size && xlen != c->inv->xsave_size)) {
		pr_err("core-%d.img: the xsave area has %zu bytes, inventory.img says %u",
		       c->pid, xlen, c->inv->xsave_size);
		return -EBADMSG;
	}
	for (size_t i = 0; i < c->nr_threads; i++) {
		const CoreEntry *th = c->thread_cores[i];

		if (th->mtype != MARCH__X86_64 || !th->thread_info ||
		    th->thread_info->gpregs->cs != 0x33 ||
		    th->thread_info->fpregs->area.len != xlen) {
			pr_err("core-%u.img: not a 64-bit x86 thread core like its process's",
			       c->ps->threads[i + 1]);
			return -EBADMSG;
		}
	}
	return 0;
}

uint64_t core_sigmask(const struct rst_ctx *c)
{
	const ThreadCoreEntry *th = c->core->thread_core;

	if (c->core->tc->has_blk_sigset)
		return c->core->tc->blk_sigset;
	if (th && th->has_blk_sigset)
		return th->blk_sigset;
	return 0;
}

int core_restore_task(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	const TaskCoreEntry *tc = c->core->tc;

	if ((pid_t)c->ps->sid == c->pid) {
		if (setsid() < 0)
			return rst_task_err(t, -errno, "cannot create the session: %m");
	} else if ((pid_t)c->ps->pgid == c->pid && setpgid(0, 0)) {
		return rst_task_err(t, -errno, "cannot create the process group: %m");
	}
	/* before its children exist: orphans of helpers must come to it (pstree.proto) */
	if (tc->has_child_subreaper && tc->child_subreaper &&
	    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0))
		return rst_task_err(t, -errno, "cannot become a child subreaper: %m");
	if (c->mm->has_thp_disabled && c->mm->thp_disabled &&
	    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		return rst_task_err(t, -errno, "cannot disable transparent huge pages: %m");
	if (tc->has_personality && personality(tc->personality) < 0)
		return rst_task_err(t, -errno, "cannot set personality %#x: %m", tc->personality);
	if (prctl(PR_SET_NAME, tc->comm))
		return rst_task_err(t, -errno, "cannot set the comm: %m");
	return 0;
}

/* The kernel's struct sigaction for rt_sigaction(2): glibc's would replace sa_restorer. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/*
 * Signal dispositions: their handlers are addresses in the task's memory, which the kernel
 * only stores. criu's child has every signal blocked until the task's mask is set, so the
 * pending signals queued here wait until then.
 */
static int core_restore_sigactions(struct rst_task *t)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	struct ksigaction ksa;
	size_t i;
	int sig;

	for (i = 0; i < tc->n_sigactions && i < 64; i++) {
		const SigactionEntry *e = tc->sigactions[i];

		sig = i + 1;
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ksa.handler = e->sigaction;
		ksa.flags = e->flags;
		ksa.restorer = e->restorer;
		ksa.mask = e->mask;
		if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask)))
			return rst_task_err(t, -errno, "cannot restore the action of signal %d: %m",
					    sig);
	}
	return 0;
}

static int core_queue(struct rst_task *t, const ProtobufCBinaryData *b, bool shared)
{
	siginfo_t si;
	long ret;

	if (b->len != sizeof(si))
		return rst_task_err(t, -EBADMSG, "core-%d.img: a pending signal of %zu bytes",
				    t->c->pid, b->len);
	memcpy(&si, b->data, sizeof(si));
	if (shared)
		ret = syscall(SYS_rt_sigqueueinfo, t->c->pid, si.si_signo, &si);
	else
		ret = syscall(SYS_rt_tgsigqueueinfo, t->c->pid, t->c->pid, si.si_signo, &si);
	if (ret)
		return rst_task_err(t, -errno, "cannot queue the pending signal %d: %m",
				    si.si_signo);
	return 0;
}

/* An interval timer, armed as late as possible; an expiry meanwhile waits as a pending signal. */
static int core_restore_itimer(struct rst_task *t, int which, const ItimerEntry *e)
{
	struct itimerval it, got;
	struct timeval extra;

	if (!e || (!e->vsec && !e->vusec))
		return 0;
	it.it_interval.tv_sec = e->isec;
	it.it_interval.tv_usec = e->iusec;
	it.it_value.tv_sec = e->vsec;
	it.it_value.tv_usec = e->vusec;
	if (setitimer(which, &it, NULL))
		return rst_task_err(t, -errno, "cannot restore interval timer %d: %m", which);
	if (which == ITIMER_REAL)
		return 0;
	/*
	 * The kernel adds a tick to a CPU-time timer it arms: arm it once more with that tick
	 * taken off, so it reads back as it was dumped and does not fire later than it would have.
	 */
	if (getitimer(which, &got) == 0 && timercmp(&got.it_value, &it.it_value, >)) {
		timersub(&got.it_value, &it.it_value, &extra);
		if (timercmp(&it.it_value, &extra, >)) {
			timersub(&it.it_value, &extra, &it.it_value);
			if (setitimer(which, &it, NULL))
				return rst_task_err(t, -errno, "cannot restore interval timer %d: %m",
						    which);
		}
	}
	return 0;
}

int core_restore_signals(struct rst_task *t)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	const ThreadCoreEntry *th = t->c->core->thread_core;
	size_t i;
	int ret;

	ret = core_restore_sigactions(t);
	if (!ret)
		ret = core_restore_itimer(t, ITIMER_REAL, tc->itimer_real);
	if (!ret)
		ret = core_restore_itimer(t, ITIMER_VIRTUAL, tc->itimer_virt);
	if (!ret)
		ret = core_restore_itimer(t, ITIMER_PROF, tc->itimer_prof);
	for (i = 0; !ret && i < tc->n_shared_siginfo; i++)
		ret = core_queue(t, &tc->shared_siginfo[i], true);
	for (i = 0; !ret && th && i < th->n_siginfo; i++)
		ret = core_queue(t, &th->siginfo[i], false);
	return ret;
}

size_t core_args_size(const struct rst_ctx *c)
{
	const TaskCoreEntry *tc = c->core->tc;
	size_t n = arch_sigframe_max_size(c->core->thread_info->fpregs->area.len) + 64, i;

	for (i = 0; i < tc->n_seccomp_filters; i++)
		n += sizeof(struct rst_seccomp) + tc->seccomp_filters[i]->filter.len + 8;
	n += c->nr_threads * (sizeof(struct rst_thread) +
			      arch_sigframe_max_size(c->core->thread_info->fpregs->area.len) + 64);
	for (i = 0; i < c->nr_threads; i++)
		if (c->thread_cores[i]->thread_core)
			n += c->thread_cores[i]->thread_core->n_siginfo * 128 + 8;
	return n;
}

/* The rt_sigframe of a thread with @ti, into @a at *@off; its address in the task. */
static int core_fill_frame(struct rst_task *t, struct restorer_args *a, size_t *off,
			   const ThreadInfoX86 *ti, const ThreadCoreEntry *tce, uint64_t *ret_dst,
			   uint64_t *ret_size)
{
	struct rst_ctx *c = t->c;
	uint64_t xfeatures;
	struct rst_vma *v;
	int ret;

	xfeatures = c->inv->has_xfeatures ? c->inv->xfeatures : ti->fpregs->xcr0;
	*off = ALIGN_UP(*off, 64);
	ret = arch_build_sigframe(ti->gpregs, ti->fpregs, xfeatures, ~0ULL, (char *)a + *off,
				  arch_sigframe_max_size(ti->fpregs->area.len) + 64, ret_dst,
				  ret_size);
	if (ret)
		return rst_task_err(t, ret, "core-%d.img: cannot build the signal frame: %s",
				    c->pid, strerror(-ret));
	v = mm_premapped_at(t, *ret_dst);
	if (!v || *ret_dst + *ret_size > v->end || !(v->tmp_prot & PROT_WRITE))
		return rst_task_err(t, -ENOSPC, "no room for the signal frame at %#" PRIx64
				    " below sp %#" PRIx64, *ret_dst, ti->gpregs->sp);
	if (tce && tce->sas)	/* rt_sigreturn installs it */
		arch_sigframe_set_altstack((char *)a + *off, tce->sas->sp, (int32_t)tce->sas->flags,
					   tce->sas->size);
	return 0;
}

/* A thread's pending signals, queued by the thread itself in the restorer. */
static int core_fill_thread_siginfo(struct rst_task *t, struct restorer_args *a, size_t *off,
				    const ThreadCoreEntry *tce, struct rst_thread *th)
{
	size_t j;

	if (!tce || !tce->n_siginfo)
		return 0;
	*off = ALIGN_UP(*off, 8);
	th->siginfo_off = *off;
	th->nr_siginfo = tce->n_siginfo;
	for (j = 0; j < tce->n_siginfo; j++) {
		if (tce->siginfo[j].len != 128)
			return rst_task_err(t, -EBADMSG, "core-%d.img: a pending signal of %zu bytes",
					    th->tid, tce->siginfo[j].len);
		memcpy((char *)a + *off, tce->siginfo[j].data, 128);
		*off += 128;
	}
	return 0;
}

/* The other threads: their frames, TLS, rseq, restorer stacks, pending signals. */
static int core_fill_threads(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	struct rst_ctx *c = t->c;
	struct rst_thread *th;
	size_t i;
	int ret;

	if (!c->nr_threads)
		return 0;
	*off = ALIGN_UP(*off, 8);
	a->nr_threads = c->nr_threads;
	a->threads_off = *off;
	th = (struct rst_thread *)((char *)a + *off);
	*off += c->nr_threads * sizeof(*th);
	for (i = 0; i < c->nr_threads; i++) {
		const CoreEntry *core = c->thread_cores[i];
		const ThreadCoreEntry *tce = core->thread_core;

		th[i].frame_off = ALIGN_UP(*off, 64);
		ret = core_fill_frame(t, a, off, core->thread_info, tce, &th[i].frame_dst,
				      &th[i].frame_size);
		if (ret)
			return ret;
		*off += th[i].frame_size;
		th[i].fs_base = core->thread_info->gpregs->fs_base;
		th[i].gs_base = core->thread_info->gpregs->gs_base;
		if (tce && tce->has_rseq_abi && tce->rseq_abi) {
			th[i].rseq_abi = tce->rseq_abi;
			th[i].rseq_len = tce->rseq_len;
			th[i].rseq_sig = tce->rseq_sig;
		}
		if (tce && tce->has_clear_tid_addr)
			th[i].clear_tid = tce->clear_tid_addr;
		th[i].stack_top = t->thread_stacks + (i + 1) * RESTORER_THREAD_STACK;
		th[i].tid = c->ps->threads[i + 1];
		th[i].tgid = c->pid;
		ret = core_fill_thread_siginfo(t, a, off, tce, &th[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Seccomp goes last, in the restorer, after criu traces us (see struct restorer_args). */
static int core_fill_seccomp(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	struct rst_seccomp *f;
	size_t i;

	if (!tc->has_seccomp_mode || !tc->seccomp_mode)
		return 0;
	if (tc->seccomp_mode > 2 || (tc->seccomp_mode == 2 && !tc->n_seccomp_filters))
		return rst_task_err(t, -EBADMSG, "core-%d.img: seccomp mode %u with %zu filters",
				    t->c->pid, tc->seccomp_mode, tc->n_seccomp_filters);
	a->seccomp_mode = tc->seccomp_mode;
	a->nr_seccomp = tc->n_seccomp_filters;
	*off = ALIGN_UP(*off, 8);
	a->seccomp_off = *off;
	f = (struct rst_seccomp *)((char *)a + *off);
	*off += tc->n_seccomp_filters * sizeof(*f);
	for (i = 0; i < tc->n_seccomp_filters; i++) {
		const SeccompFilterEntry *e = tc->seccomp_filters[i];

		if (!e->filter.len || e->filter.len % 8 || e->filter.len / 8 > 4096)
			return rst_task_err(t, -EBADMSG, "core-%d.img: a seccomp filter of %zu bytes",
					    t->c->pid, e->filter.len);
		f[i].len = e->filter.len / 8;
		/* only what can be asked again: no listener fd, no thread sync */
		f[i].flags = e->has_flags ? e->flags & (SECCOMP_FLAG_LOG | SECCOMP_FLAG_SPEC) : 0;
		f[i].data_off = *off;
		memcpy((char *)a + *off, e->filter.data, e->filter.len);
		*off += e->filter.len;
	}
	return 0;
}

/* Resource limits and no_new_privs, the last of the task's state set in criu's child. */
int core_restore_limits(struct rst_task *t)
{
	const TaskCoreEntry *tc = t->c->core->tc;
	struct rlimit rl;
	size_t i;

	for (i = 0; i < tc->n_rlimits && i < RLIM_NLIMITS; i++) {
		rl.rlim_cur = tc->rlimits[i]->cur;
		rl.rlim_max = tc->rlimits[i]->max;
		if (setrlimit(i, &rl))
			return rst_task_err(t, -errno, "cannot restore resource limit %zu "
					    "(%llu/%llu): %m", i, (unsigned long long)rl.rlim_cur,
					    (unsigned long long)rl.rlim_max);
	}
	if (tc->has_no_new_privs && tc->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return rst_task_err(t, -errno, "cannot set no_new_privs: %m");
	return 0;
}

/*
 * The rt_sigframe keeps every signal blocked: criu sets the task's own mask once it has
 * unmapped the restorer (PTRACE_SETSIGMASK), so no handler runs on the way.
 */
int core_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	struct rst_ctx *c = t->c;
	const CoreEntry *core = c->core;
	const ThreadInfoX86 *ti = core->thread_info;
	const ThreadCoreEntry *th = core->thread_core;
	uint64_t dst, size;
	int ret;

	ret = core_fill_frame(t, a, off, ti, th, &dst, &size);
	if (ret)
		return ret;
	a->frame_off = *off;
	a->frame_size = size;
	a->frame_dst = dst;
	*off += size;

	a->fs_base = ti->gpregs->fs_base;
	a->gs_base = ti->gpregs->gs_base;
	if (th && th->has_rseq_abi && th->rseq_abi) {
		a->rseq_abi = th->rseq_abi;
		a->rseq_len = th->rseq_len;
		a->rseq_sig = th->rseq_sig;
	}
	if (th && th->has_clear_tid_addr)
		a->clear_tid = th->clear_tid_addr;
	/*
	 * The root task's parent is not restored with it: its parent death signal would fire as
	 * soon as criu goes away (core_check() warns).
	 */
	a->pdeath_sig = core->tc->has_pdeath_sig && c->ps->ppid ? core->tc->pdeath_sig : 0;
	a->dumpable = core->tc->has_dumpable ? (int)core->tc->dumpable :
		      c->mm->has_dumpable ? (int)c->mm->dumpable : -1;
	ret = core_fill_seccomp(t, a, off);
	if (!ret)
		ret = core_fill_threads(t, a, off);
	return ret;
}
