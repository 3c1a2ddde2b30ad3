/*
 * The restorer: runs in the restored task after criu's child side has premapped its memory, with
 * no libc and nothing of criu it can rely on but this blob, its args and its stack.
 *
 * It unmaps criu, moves the premapped VMAs and the vDSO unit to their recorded addresses, maps the
 * VMAs that come straight from files, sets the mm fields, copies the prepared rt_sigframe onto the
 * task's stack, tells criu it is ready, and does rt_sigreturn. criu traces that last step and
 * unmaps this blob afterwards (see struct restorer_ready).
 *
 * Freestanding: raw syscalls only, position independent, no absolute relocations, no globals.
 */
#include <stdint.h>
#include <stddef.h>

#include "proto/restorer.h"

#define __NR_read		0
#define __NR_write		1
#define __NR_close		3
#define __NR_mmap		9
#define __NR_mprotect		10
#define __NR_munmap		11
#define __NR_mremap		25
#define __NR_prctl		157
#define __NR_arch_prctl		158
#define __NR_set_tid_address	218
#define __NR_futex		202
#define __NR_rt_tgsigqueueinfo	297
#define __NR_exit_group		231
#define __NR_clone3		435

#define FUTEX_WAIT		0
#define FUTEX_WAKE		1
#define CLONE_THREAD_FLAGS	(0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000)
#define SECCOMP_FILTER_FLAG_TSYNC 1
#define __NR_seccomp		317
#define __NR_rseq		334

#define SECCOMP_SET_MODE_STRICT	0
#define SECCOMP_SET_MODE_FILTER	1

#define MAP_FIXED		0x10
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#define PR_SET_PDEATHSIG	1
#define PR_SET_DUMPABLE		4
#define PR_SET_MM		35
#define PR_SET_MM_MAP		14
#define ARCH_SET_GS		0x1001
#define ARCH_SET_FS		0x1002
#define EINTR			4

#define hidden			__attribute__((visibility("hidden")))

struct rst_prctl_mm_map {
	uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

static inline long sys6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define sys1(nr, a)		sys6(nr, (long)(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b)		sys6(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c)	sys6(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(nr, a, b, c, d)	sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(nr, a, b, c, d, e)	sys6(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/*
 * restorer_entry is the first byte of the blob: criu jumps here with %rdi = args and %rsp = the
 * top of the restorer's stack (16-byte aligned).
 * rst_syscall_ip: a bare "syscall" criu points the traced task at to unmap the blob.
 * rst_sigreturn(sp): switch to the task's stack and rt_sigreturn.
 */
__asm__(".pushsection .text.entry, \"ax\"\n"
	".globl restorer_entry\n"
	"restorer_entry:\n"
	"	call restorer_main\n"
	"	ud2\n"
	".popsection\n"
	".pushsection .text, \"ax\"\n"
	".globl rst_syscall_ip\n"
	".hidden rst_syscall_ip\n"
	"rst_syscall_ip:\n"
	"	syscall\n"
	"	ud2\n"
	".globl rst_clone_thread\n"
	".hidden rst_clone_thread\n"
	"rst_clone_thread:\n"		/* (clone_args, size, fn, arg): fn(arg) in the child */
	"	movq %rdx, %r8\n"
	"	movq %rcx, %r9\n"
	"	movl $435, %eax\n"
	"	syscall\n"
	"	testq %rax, %rax\n"
	"	jnz 1f\n"
	"	movq %r9, %rdi\n"
	"	andq $-16, %rsp\n"
	"	call *%r8\n"
	"	ud2\n"
	"1:	ret\n"
	".globl rst_sigreturn\n"
	".hidden rst_sigreturn\n"
	"rst_sigreturn:\n"
	"	movq %rdi, %rsp\n"
	"	movl $15, %eax\n"
	"	syscall\n"
	"	ud2\n"
	".popsection\n");

extern char rst_syscall_ip[] hidden;
extern void rst_sigreturn(uint64_t sp) hidden __attribute__((noreturn));
extern long rst_clone_thread(void *clone_args, uint64_t size, void (*fn)(struct rst_thread *),
			     struct rst_thread *arg) hidden;
void restorer_main(struct restorer_args *a) hidden __attribute__((used, noreturn));

/* The compiler may emit calls to these for struct copies. */
void *memcpy(void *dst, const void *src, size_t n) hidden __attribute__((used));
void *memset(void *dst, int c, size_t n) hidden __attribute__((used));

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = c;
	return dst;
}

/* ---- failure reports: "what failed: errno N" on the status pipe, then exit ---- */

struct msg {
	char buf[RESTORER_ERR_MAX + 1];
	unsigned int len;
};

static void msg_str(struct msg *m, const char *s)
{
	while (*s && m->len < RESTORER_ERR_MAX)
		m->buf[m->len++] = *s++;
}

static void msg_num(struct msg *m, unsigned long v, unsigned int base)
{
	char tmp[24];
	int i = 0;

	if (base == 16)
		msg_str(m, "0x");
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i && m->len < RESTORER_ERR_MAX)
		m->buf[m->len++] = tmp[--i];
}

static __attribute__((noreturn)) void fail(struct restorer_args *a, const char *what,
					   uint64_t addr, long err)
{
	struct msg m = { .len = 0 };

	m.buf[m.len++] = RESTORER_MSG_FAIL;
	msg_str(&m, "restorer: ");
	msg_str(&m, what);
	if (addr) {
		msg_str(&m, " at ");
		msg_num(&m, addr, 16);
	}
	if (err < 0) {
		msg_str(&m, ": errno ");
		msg_num(&m, -err, 10);
	}
	sys3(__NR_write, a->status_fd, m.buf, m.len);
	for (;;)
		sys1(__NR_exit_group, 1);
}

static struct rst_vma *args_vmas(struct restorer_args *a, uint64_t off)
{
	return (struct rst_vma *)((char *)a + off);
}

static void unmap_criu(struct restorer_args *a)
{
	struct rst_range *r = (struct rst_range *)((char *)a + a->unmap_off);
	uint32_t i;
	long ret;

	for (i = 0; i < a->nr_unmap; i++) {
		ret = sys2(__NR_munmap, r[i].start, r[i].end - r[i].start);
		if (ret < 0)
			fail(a, "cannot unmap criu's area", r[i].start, ret);
	}
}

static long move(uint64_t from, uint64_t len, uint64_t to)
{
	long ret;

	if (from == to)
		return 0;
	ret = sys5(__NR_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (ret < 0)
		return ret;
	return (uint64_t)ret == to ? 0 : -14;
}

/* The vDSO unit moves as one block: first into a hole of ours, then to its recorded place. */
static void move_vdso(struct restorer_args *a)
{
	struct rst_vma *v = args_vmas(a, a->vdso_off);
	uint64_t cur, rec;
	uint32_t i;
	long ret;

	if (!a->nr_vdso || v[0].tmp == v[0].start)
		return;
	cur = v[0].tmp;
	rec = v[0].start;
	for (i = 0; i < a->nr_vdso; i++) {
		ret = move(v[i].tmp, v[i].end - v[i].start, a->vdso_tmp + (v[i].tmp - cur));
		if (ret < 0)
			fail(a, "cannot move the vdso unit", v[i].tmp, ret);
	}
	for (i = 0; i < a->nr_vdso; i++) {
		ret = move(a->vdso_tmp + (v[i].tmp - cur), v[i].end - v[i].start,
			   rec + (v[i].tmp - cur));
		if (ret < 0)
			fail(a, "cannot move the vdso unit to its recorded address", v[i].start, ret);
	}
}

static void place_vmas(struct restorer_args *a)
{
	struct rst_vma *v = args_vmas(a, a->vmas_off);
	uint32_t i, j;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		uint64_t len = v[i].end - v[i].start;

		if (v[i].tmp)
			ret = move(v[i].tmp, len, v[i].start);
		else
			ret = sys6(__NR_mmap, v[i].start, len, v[i].prot, v[i].flags | MAP_FIXED,
				   v[i].fd, v[i].pgoff);
		if (ret < 0)
			fail(a, v[i].tmp ? "cannot move a premapped vma" : "cannot map a vma",
			     v[i].start, ret);
	}
	/* Close the fds of the mapped files, each once. */
	for (i = 0; i < a->nr_vmas; i++) {
		if (v[i].tmp || v[i].fd < 0)
			continue;
		for (j = 0; j < i; j++)
			if (!v[j].tmp && v[j].fd == v[i].fd)
				break;
		if (j == i)
			sys1(__NR_close, v[i].fd);
	}
	if (a->premap_end > a->premap_start) {
		ret = sys2(__NR_munmap, a->premap_start, a->premap_end - a->premap_start);
		if (ret < 0)
			fail(a, "cannot unmap the premap area", a->premap_start, ret);
	}
}

static void protect_vmas(struct restorer_args *a)
{
	struct rst_vma *v = args_vmas(a, a->vmas_off);
	uint32_t i;
	long ret;

	for (i = 0; i < a->nr_vmas; i++) {
		if (!v[i].tmp || v[i].tmp_prot == v[i].prot)
			continue;
		ret = sys3(__NR_mprotect, v[i].start, v[i].end - v[i].start, v[i].prot);
		if (ret < 0)
			fail(a, "cannot set the protection of a vma", v[i].start, ret);
	}
}

static void set_mm(struct restorer_args *a)
{
	struct rst_prctl_mm_map map = {
		.start_code	= a->mm_start_code,
		.end_code	= a->mm_end_code,
		.start_data	= a->mm_start_data,
		.end_data	= a->mm_end_data,
		.start_brk	= a->mm_start_brk,
		.brk		= a->mm_brk,
		.start_stack	= a->mm_start_stack,
		.arg_start	= a->mm_arg_start,
		.arg_end	= a->mm_arg_end,
		.env_start	= a->mm_env_start,
		.env_end	= a->mm_env_end,
		.auxv		= (uint64_t)((char *)a + a->auxv_off),
		.auxv_size	= a->nr_auxv * sizeof(uint64_t),
		.exe_fd		= (uint32_t)a->exe_fd,
	};
	long ret;

	if (!a->nr_auxv)
		map.auxv = 0;
	ret = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &map, sizeof(map), 0);
	if (ret < 0)
		fail(a, "prctl(PR_SET_MM_MAP) failed", 0, ret);
	if (a->exe_fd >= 0)
		sys1(__NR_close, a->exe_fd);
}

struct rst_sock_fprog {
	uint16_t len;
	uint16_t pad[3];
	uint64_t filter;
};

static void set_seccomp(struct restorer_args *a)
{
	struct rst_seccomp *f = (struct rst_seccomp *)((char *)a + a->seccomp_off);
	struct rst_sock_fprog prog;
	uint32_t i;
	long ret;

	if (a->seccomp_mode == 1) {
		ret = sys3(__NR_seccomp, SECCOMP_SET_MODE_STRICT, 0, 0);
		if (ret < 0)
			fail(a, "cannot enter seccomp strict mode", 0, ret);
		return;
	}
	for (i = 0; a->seccomp_mode == 2 && i < a->nr_seccomp; i++) {
		prog.len = f[i].len;
		prog.filter = (uint64_t)((char *)a + f[i].data_off);
		ret = sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			   f[i].flags | (a->nr_threads ? SECCOMP_FILTER_FLAG_TSYNC : 0), &prog);
		if (ret < 0)
			fail(a, "cannot install a seccomp filter", 0, ret);
	}
}

/* ---- credentials (struct rst_creds), the last thing each thread sets ---- */

#define __NR_setgroups		116
#define __NR_setresuid		117
#define __NR_setresgid		119
#define __NR_setfsuid		122
#define __NR_setfsgid		123
#define __NR_capset		126
#define PR_CAPBSET_DROP		24
#define PR_SET_SECUREBITS	28
#define PR_CAP_AMBIENT		47
#define PR_CAP_AMBIENT_RAISE	2
#define SECBIT_NO_SETUID_FIXUP	(1 << 2)
#define CAP_VERSION_3		0x20080522

struct rst_cap_header {
	uint32_t version;
	int32_t pid;
};

struct rst_cap_data {
	uint32_t effective, permitted, inheritable;
};

static long capset3(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct rst_cap_header h = { CAP_VERSION_3, 0 };
	struct rst_cap_data d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};

	return sys2(__NR_capset, &h, d);
}

/*
 * Groups, then the ids with SECBIT_NO_SETUID_FIXUP so no capability is lost on the way, then
 * the inheritable set (ambient capabilities need it), ambient, bounding set, securebits, and
 * last the capability sets themselves. A change of uid resets dumpable and the parent death
 * signal: set them again.
 */
/* The credentials at @off of the args (0: keep criu's), for the calling thread. */
static void set_creds(struct restorer_args *a, uint64_t off)
{
	struct rst_creds *c = (struct rst_creds *)((char *)a + off);
	uint32_t i;
	long ret;

	if (!off)
		return;
	ret = sys2(__NR_setgroups, c->nr_groups, c->groups);
	if (ret < 0)
		fail(a, "cannot set the supplementary groups", 0, ret);
	ret = sys2(__NR_prctl, PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP);
	if (ret < 0)
		fail(a, "cannot keep the capabilities (PR_SET_SECUREBITS)", 0, ret);
	ret = sys3(__NR_setresgid, c->gid, c->egid, c->sgid);
	if (ret < 0)
		fail(a, "cannot set the gids", c->egid, ret);
	sys1(__NR_setfsgid, c->fsgid);
	ret = sys3(__NR_setresuid, c->uid, c->euid, c->suid);
	if (ret < 0)
		fail(a, "cannot set the uids", c->euid, ret);
	sys1(__NR_setfsuid, c->fsuid);
	ret = capset3(c->cap_now, c->cap_now, c->cap_inh);
	if (ret < 0)
		fail(a, "cannot set the inheritable capabilities", c->cap_inh, ret);
	for (i = 0; i <= c->last_cap && i < 64; i++) {
		if (!(c->cap_amb & (1ULL << i)))
			continue;
		ret = sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0);
		if (ret < 0)
			fail(a, "cannot raise an ambient capability", i, ret);
	}
	for (i = 0; i <= c->last_cap && i < 64; i++) {
		if (c->cap_bnd & (1ULL << i))
			continue;
		ret = sys2(__NR_prctl, PR_CAPBSET_DROP, i);
		if (ret < 0)
			fail(a, "cannot drop a capability from the bounding set", i, ret);
	}
	ret = sys2(__NR_prctl, PR_SET_SECUREBITS, c->securebits);
	if (ret < 0)
		fail(a, "cannot set the securebits", c->securebits, ret);
	ret = capset3(c->cap_eff, c->cap_prm, c->cap_inh);
	if (ret < 0)
		fail(a, "cannot set the capabilities", c->cap_prm, ret);
	if (a->dumpable >= 0)
		sys2(__NR_prctl, PR_SET_DUMPABLE, a->dumpable);
	sys2(__NR_prctl, PR_SET_PDEATHSIG, a->pdeath_sig);
}

/* ---- POSIX timers (struct rst_posix_timer), created with their ids and armed last ---- */

#define __NR_timer_create		222
#define __NR_timer_settime		223
#define PR_TIMER_CREATE_RESTORE_IDS	77

struct rst_sigevent {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

struct rst_itimerspec {
	uint64_t isec, insec, vsec, vnsec;
};

static void set_timers(struct restorer_args *a)
{
	struct rst_posix_timer *t = (struct rst_posix_timer *)((char *)a + a->timers_off);
	struct rst_itimerspec its;
	struct rst_sigevent sev;
	int32_t id;
	uint32_t i;
	long ret;

	if (!a->nr_timers)
		return;
	ret = sys2(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 1);
	if (ret < 0)
		fail(a, "cannot ask for timer ids (PR_TIMER_CREATE_RESTORE_IDS)", 0, ret);
	for (i = 0; i < a->nr_timers; i++) {
		memset(&sev, 0, sizeof(sev));
		sev.value = t[i].sival;
		sev.signo = t[i].signo;
		sev.notify = t[i].notify;
		sev.tid = t[i].notify_tid;
		id = t[i].id;
		ret = sys3(__NR_timer_create, t[i].clock_id, &sev, &id);
		if (ret < 0)
			fail(a, "cannot create a posix timer", t[i].id, ret);
		if (id != t[i].id)
			fail(a, "a posix timer got another id", t[i].id, 0);
	}
	sys2(__NR_prctl, PR_TIMER_CREATE_RESTORE_IDS, 0);
	for (i = 0; i < a->nr_timers; i++) {
		if (!t[i].vsec && !t[i].vnsec)
			continue;	/* disarmed */
		its.isec = t[i].isec;
		its.insec = t[i].insec;
		its.vsec = t[i].vsec;
		its.vnsec = t[i].vnsec;
		ret = sys4(__NR_timer_settime, t[i].id, 0, &its, 0);
		if (ret < 0)
			fail(a, "cannot arm a posix timer", t[i].id, ret);
	}
}

struct rst_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

static void set_tls_rseq(struct restorer_args *a, uint64_t fs, uint64_t gs, uint64_t rseq,
			 uint32_t rseq_len, uint32_t rseq_sig, uint64_t clear_tid)
{
	long ret;

	if (rseq) {
		ret = sys4(__NR_rseq, rseq, rseq_len, 0, rseq_sig);
		if (ret < 0)
			fail(a, "cannot register rseq", rseq, ret);
	}
	ret = sys2(__NR_arch_prctl, ARCH_SET_FS, fs);
	if (ret < 0)
		fail(a, "cannot set fs_base", fs, ret);
	if (gs) {
		ret = sys2(__NR_arch_prctl, ARCH_SET_GS, gs);
		if (ret < 0)
			fail(a, "cannot set gs_base", gs, ret);
	}
	if (clear_tid)
		sys1(__NR_set_tid_address, clear_tid);
}

static void wait_go(struct restorer_args *a)
{
	char c;
	long ret;

	do
		ret = sys3(__NR_read, a->go_fd, &c, 1);
	while (ret == -EINTR);
	if (ret != 1)
		fail(a, "criu went away", 0, ret);
}

static __attribute__((noreturn)) void thread_main(struct rst_thread *th)
{
	struct restorer_args *a = (struct restorer_args *)th->args;

	set_tls_rseq(a, th->fs_base, th->gs_base, th->rseq_abi, th->rseq_len, th->rseq_sig,
		     th->clear_tid);
	memcpy((void *)th->frame_dst, (char *)a + th->frame_off, th->frame_size);
	/* A thread may queue any siginfo to itself; all signals are blocked until sigreturn. */
	for (uint32_t i = 0; i < th->nr_siginfo; i++) {
		const int32_t *si = (const int32_t *)((char *)a + th->siginfo_off + i * 128);
		long ret = sys4(__NR_rt_tgsigqueueinfo, th->tgid, th->tid, si[0], si);

		if (ret < 0)
			fail(a, "cannot queue a pending signal of a thread", th->tid, ret);
	}
	__atomic_add_fetch(&a->threads_ready, 1, __ATOMIC_SEQ_CST);
	sys3(__NR_futex, &a->threads_ready, FUTEX_WAKE, 1);
	wait_go(a);
	set_creds(a, th->creds_off ? th->creds_off : a->creds_off);	/* per thread */
	rst_sigreturn(th->frame_dst + 8);
}

/* The other threads, each with its tid; returns once all wait for criu's byte. */
static void create_threads(struct restorer_args *a)
{
	struct rst_thread *th = (struct rst_thread *)((char *)a + a->threads_off);
	struct rst_clone_args ca;
	uint32_t i, n;
	int64_t tid;
	long ret;

	for (i = 0; i < a->nr_threads; i++) {
		memset(&ca, 0, sizeof(ca));
		th[i].args = (uint64_t)a;
		tid = th[i].tid;
		ca.flags = CLONE_THREAD_FLAGS;
		ca.stack = th[i].stack_top - RESTORER_THREAD_STACK;
		ca.stack_size = RESTORER_THREAD_STACK;
		ca.set_tid = (uint64_t)&tid;
		ca.set_tid_size = 1;
		ret = rst_clone_thread(&ca, sizeof(ca), thread_main, &th[i]);
		if (ret < 0)
			fail(a, "cannot create thread", th[i].tid, ret);
	}
	while ((n = __atomic_load_n(&a->threads_ready, __ATOMIC_SEQ_CST)) < a->nr_threads)
		sys4(__NR_futex, &a->threads_ready, FUTEX_WAIT, n, 0);
}

static void set_thread(struct restorer_args *a)
{
	set_tls_rseq(a, a->fs_base, a->gs_base, a->rseq_abi, a->rseq_len, a->rseq_sig,
		     a->clear_tid);
	if (a->dumpable >= 0)
		sys2(__NR_prctl, PR_SET_DUMPABLE, a->dumpable);
	sys2(__NR_prctl, PR_SET_PDEATHSIG, a->pdeath_sig);
}

void restorer_main(struct restorer_args *a)
{
	struct {
		char c;
		struct restorer_ready r;
	} __attribute__((packed)) ready = {
		.c = RESTORER_MSG_READY,
		.r = { a->self_start, a->self_len, (uint64_t)rst_syscall_ip },
	};
	long ret;

	if (a->version != RESTORER_PROTO_VERSION)
		fail(a, "args version mismatch", 0, 0);

	unmap_criu(a);
	move_vdso(a);
	place_vmas(a);
	memcpy((void *)a->frame_dst, (char *)a + a->frame_off, a->frame_size);
	create_threads(a);	/* they copy their frames while the stacks are still writable */
	protect_vmas(a);
	set_mm(a);
	set_thread(a);

	/*
	 * criu seizes every thread while they wait for its bytes, then follows each to its
	 * rt_sigreturn, this one last (it closes the fds the others read).
	 */
	ret = sys3(__NR_write, a->status_fd, &ready, sizeof(ready));
	if (ret != sizeof(ready))
		fail(a, "cannot tell criu we are ready", 0, ret);
	wait_go(a);
	set_seccomp(a);
	set_creds(a, a->creds_off);
	set_timers(a);
	sys1(__NR_close, a->status_fd);
	sys1(__NR_close, a->go_fd);

	rst_sigreturn(a->frame_dst + 8);
}
