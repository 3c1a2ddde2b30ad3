/* Prepare, run syscalls in the task, infect it with a blob, talk to the daemon, cure. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/page.h"
#include "compel/plugins/std/infect-proto.h"
#include "internal.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC	0x0001U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC	0x0010U
#endif

#define DEFAULT_TIMEOUT_MS	10000
#define DEFAULT_ARGS_SIZE	4096

/* Remote syscall results are kernel style: -4095..-1 is an error. */
#define IS_ERR_RET(r)	((unsigned long)(r) >= (unsigned long)-4095)

/* The first executable mapping of the task that ptrace can write to. */
static int find_exec_area(pid_t pid, unsigned long *ret_ip)
{
	char path[64], line[4096], perms[8];
	unsigned long start, end;
	int ret = -ENOENT, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &n) < 3)
			continue;
		/* private only: a poke into a shared file mapping would reach the file */
		if (perms[2] != 'x' || perms[3] != 'p' || end - start < 24)
			continue;
		if (n && (strstr(line + n, "[vdso]") || strstr(line + n, "[vsyscall]") ||
			  strstr(line + n, "[uprobes]")))
			continue;
		*ret_ip = start;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

COMPEL_API int compel_prepare(pid_t pid, struct compel_ctl **ret_ctl)
{
	struct compel_ctl *ctl;
	int ret;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->pid = pid;
	ctl->sock = -1;
	ctl->remote_sock = -1;
	ctl->timeout_ms = DEFAULT_TIMEOUT_MS;

	ret = compel_arch_get_regs(pid, &ctl->regs);
	if (ret) {
		cl_err("task %d: cannot read registers: %s", pid, strerror(-ret));
		goto out_free;
	}
	ret = compel_arch_get_fpu(pid, &ctl->xsave, &ctl->xsave_size, &ctl->xsave_note);
	if (ret) {
		cl_err("task %d: cannot read FPU state: %s", pid, strerror(-ret));
		goto out_free;
	}
	if (ptrace(PTRACE_GETSIGMASK, pid, (void *)sizeof(ctl->sigmask), &ctl->sigmask)) {
		ret = -errno;
		cl_err("task %d: cannot read the signal mask: %s", pid, strerror(-ret));
		goto out_free;
	}
	ret = find_exec_area(pid, &ctl->syscall_ip);
	if (ret) {
		cl_err("task %d: no executable mapping to run syscalls from", pid);
		goto out_free;
	}
	cl_debug("task %d: prepared, ip %#llx, syscalls at %#lx, xsave %zu bytes", pid,
		 ctl->regs.rip, ctl->syscall_ip, ctl->xsave_size);
	*ret_ctl = ctl;
	return 0;

out_free:
	free(ctl->xsave);
	free(ctl);
	return ret;
}

/* Block every signal while our code runs: sent ones wait, pending, until the task runs on. */
static int block_signals(struct compel_ctl *ctl)
{
	uint64_t all = ~0ULL;

	if (ctl->sigmask_blocked)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, ctl->pid, (void *)sizeof(all), &all))
		return -errno;
	ctl->sigmask_blocked = true;
	return 0;
}

static int unblock_signals(struct compel_ctl *ctl)
{
	if (!ctl->sigmask_blocked)
		return 0;
	if (ptrace(PTRACE_SETSIGMASK, ctl->pid, (void *)sizeof(ctl->sigmask), &ctl->sigmask))
		return -errno;
	ctl->sigmask_blocked = false;
	return 0;
}

/*
 * Between our syscalls the task is left as it should run on: its registers (an interrupted
 * syscall set up for restart, since the task leaves a syscall stop, where the kernel does not
 * do that) and its signal mask. Should we die there, the task goes on unharmed.
 */
static int park(struct compel_ctl *ctl)
{
	struct user_regs_struct regs = ctl->regs;
	int err;

	compel_arch_fixup_restart(&regs);
	err = compel_arch_set_regs(ctl->pid, &regs);
	if (err)
		return err;
	ctl->regs_dirty = false;
	return unblock_signals(ctl);
}

/* Let the task run into its next syscall stop. */
static int syscall_step(struct compel_ctl *ctl)
{
	int ret;

	if (ptrace(PTRACE_SYSCALL, ctl->pid, NULL, NULL))
		return -errno;
	ret = compel_wait_stop(ctl->pid, false, PTRACE_SYSCALL, false);
	if (ret == COMPEL_STOP_SYSCALL)
		return 0;
	return ret < 0 ? ret : -EFAULT;
}

static int peek(pid_t pid, unsigned long addr, unsigned long *ret_w)
{
	long w;

	errno = 0;
	w = ptrace(PTRACE_PEEKDATA, pid, (void *)addr, NULL);
	if (w == -1 && errno)
		return -errno;
	*ret_w = (unsigned long)w;
	return 0;
}

static int poke(pid_t pid, unsigned long addr, unsigned long w)
{
	if (ptrace(PTRACE_POKEDATA, pid, (void *)addr, (void *)w))
		return -errno;
	return 0;
}

/*
 * Should the host die while the task runs one of our syscalls, the kernel detaches it there and
 * it runs on from the syscall. So the task's own state waits for it as an rt_sigframe below its
 * stack's red zone, written once per ctl, and the syscall is followed by rt_sigreturn on it
 * (rsp points there while ours run): the task goes back to exactly where it was. (Only the
 * bytes of our code at syscall_ip, the start of an executable mapping, would stay.) 0: none
 * could be written, the syscall is followed by int3 as before.
 */
static unsigned long guard_frame(struct compel_ctl *ctl)
{
	size_t len = compel_arch_sigframe_size(ctl->xsave_size);
	unsigned long at = (ctl->regs.rsp - 128 - len) & ~63UL;
	struct iovec local, remote;
	void *buf;

	if (ctl->guard_tried)
		return ctl->guard_frame;
	ctl->guard_tried = true;
	buf = calloc(1, len);
	if (!buf)
		return 0;
	compel_arch_build_sigframe(buf, at, &ctl->regs, ctl->xsave, ctl->xsave_size,
				   ctl->xsave_note, ctl->sigmask);
	/*
	 * The task's sigaltstack is unknown here: an all-zero stack_t is one rt_sigreturn
	 * refuses to install (too small, an error it ignores), so the task's stays as it is.
	 */
	memset((char *)buf + COMPEL_SIGFRAME_UC_STACK_OFF, 0, 24);
	local.iov_base = buf;
	local.iov_len = len;
	remote.iov_base = (void *)at;
	remote.iov_len = len;
	if (process_vm_writev(ctl->pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		ctl->guard_frame = at;
	else
		cl_debug("task %d: no guard frame below its stack: %s", ctl->pid, strerror(errno));
	free(buf);
	return ctl->guard_frame;
}

/*
 * Run syscall @nr at ctl->syscall_ip (a syscall instruction followed by rt_sigreturn on the
 * guard frame, or by int3, is written there and the original bytes put back afterwards), from
 * its entry stop to its exit stop. With
 * @name, those 8 bytes follow the code and the first argument points to them (memfd_create's
 * name before any memory of ours exists).
 */
static int run_syscall(struct compel_ctl *ctl, long nr, const unsigned long a[6], long *ret,
		       const char *name)
{
	unsigned long ip = ctl->syscall_ip, orig[3] = { 0, 0, 0 }, w, args[6], code[2];
	unsigned long guard = guard_frame(ctl);
	unsigned long name_at = ip + (guard ? 16 : 8);	/* after the code */
	struct user_regs_struct regs;
	int err, err2;

	if (ctl->running)
		return -EBUSY;
	/* guarded: signals are blocked only while the task's registers lead to its frame */
	err = guard ? 0 : block_signals(ctl);
	if (err)
		return err;
	err = peek(ctl->pid, ip, &orig[0]);
	if (!err && guard)
		err = peek(ctl->pid, ip + 8, &orig[1]);
	if (!err && name)
		err = peek(ctl->pid, name_at, &orig[2]);
	if (err)
		return err;
	memcpy(args, a, sizeof(args));
	if (guard) {
		compel_arch_syscall_code_guarded(code);
		err = poke(ctl->pid, ip, code[0]);
		if (!err)
			err = poke(ctl->pid, ip + 8, code[1]);
	} else {
		err = poke(ctl->pid, ip, compel_arch_syscall_code());
	}
	if (!err && name) {
		memcpy(&w, name, sizeof(w));
		err = poke(ctl->pid, name_at, w);
		args[0] = name_at;
	}
	if (err)
		goto out_restore;

	regs = ctl->regs;
	compel_arch_syscall_regs(&regs, ip, nr, args);
	if (guard)
		regs.rsp = guard + 8;	/* rt_sigreturn finds its frame at rsp - 8 */
	err = compel_arch_set_regs(ctl->pid, &regs);
	if (err)
		goto out_restore;
	ctl->regs_dirty = true;
	if (guard)
		err = block_signals(ctl);
	if (!err)
		err = syscall_step(ctl);	/* entry */
	if (!err)
		err = syscall_step(ctl);	/* exit */
	if (!err)
		err = compel_arch_get_regs(ctl->pid, &regs);
	if (!err)
		*ret = compel_arch_syscall_ret(&regs);

out_restore:
	/*
	 * Guarded, the code stays until the task is parked: its mask first (its registers still
	 * lead to its frame), then its registers, then the code.
	 */
	err2 = 0;
	if (guard && err != -ESRCH) {
		err2 = unblock_signals(ctl);
		if (!err2)
			err2 = park(ctl);
		if (err2)
			return err ? err : err2;	/* the code stays, the task can still get out */
	}
	err2 = poke(ctl->pid, ip, orig[0]);
	if (guard && !err2)
		err2 = poke(ctl->pid, ip + 8, orig[1]);
	if (name && !err2)
		err2 = poke(ctl->pid, name_at, orig[2]);
	if (err2)
		cl_err("task %d: cannot restore the code at %#lx: %s", ctl->pid, ip, strerror(-err2));
	if (!guard && !err2 && err != -ESRCH)
		err2 = park(ctl);
	return err ? err : err2;
}

COMPEL_API int compel_syscall(struct compel_ctl *ctl, long nr, long *ret,
			      unsigned long a1, unsigned long a2, unsigned long a3,
			      unsigned long a4, unsigned long a5, unsigned long a6)
{
	const unsigned long args[6] = { a1, a2, a3, a4, a5, a6 };

	return run_syscall(ctl, nr, args, ret, NULL);
}

/* A syscall whose failure is ours to report: 0 or -errno, result in *ret. */
static int rsys(struct compel_ctl *ctl, const char *what, long nr, long *ret,
		unsigned long a1, unsigned long a2, unsigned long a3,
		unsigned long a4, unsigned long a5, unsigned long a6)
{
	long r = 0;
	int err;

	err = compel_syscall(ctl, nr, &r, a1, a2, a3, a4, a5, a6);
	if (err) {
		cl_err("task %d: cannot run %s: %s", ctl->pid, what, strerror(-err));
		return err;
	}
	if (IS_ERR_RET(r)) {
		cl_debug("task %d: %s failed: %s", ctl->pid, what, strerror((int)-r));
		return (int)r;
	}
	if (ret)
		*ret = r;
	return 0;
}

COMPEL_API void compel_blob_relocate(const struct compel_blob_desc *blob, void *dst,
				     unsigned long load_addr)
{
	unsigned char *d = dst;
	uint64_t v;
	size_t i;

	memcpy(d, blob->mem, blob->size);
	memset(d + blob->size, 0, blob->bss_size);
	for (i = 0; i < blob->nr_relocs; i++) {
		v = load_addr + blob->relocs[i].addend;
		memcpy(d + blob->relocs[i].offset, &v, sizeof(v));
	}
}

static int pidfd_getfd_of(pid_t pid, int rfd)
{
	int pidfd, fd;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, rfd, 0);
	if (fd < 0)
		fd = -errno;
	close(pidfd);
	return fd;
}

/* A memfd in the task, mapped there and here. */
static int map_area(struct compel_ctl *ctl, size_t size)
{
	static const char name[8] = "compel";
	const unsigned long a[6] = { 0, MFD_CLOEXEC | MFD_EXEC };
	const unsigned long b[6] = { 0, MFD_CLOEXEC };
	long rfd, addr;
	int err, lfd;

	err = run_syscall(ctl, __NR_memfd_create, a, &rfd, name);
	if (!err && rfd == -EINVAL)	/* kernels before 6.3 do not know MFD_EXEC */
		err = run_syscall(ctl, __NR_memfd_create, b, &rfd, name);
	if (err || IS_ERR_RET(rfd)) {
		err = err ? err : (int)rfd;
		cl_err("task %d: cannot create a memfd: %s", ctl->pid, strerror(-err));
		return err;
	}
	lfd = pidfd_getfd_of(ctl->pid, (int)rfd);
	if (lfd < 0) {
		err = lfd;
		cl_err("task %d: cannot get its memfd: %s", ctl->pid, strerror(-err));
		goto out_close;
	}
	if (ftruncate(lfd, size)) {
		err = -errno;
		goto out_lclose;
	}
	ctl->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, lfd, 0);
	if (ctl->map == MAP_FAILED) {
		ctl->map = NULL;
		err = -errno;
		goto out_lclose;
	}
	ctl->map_size = size;
	err = rsys(ctl, "mmap", __NR_mmap, &addr, 0, size, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_SHARED, rfd, 0);
	if (err)
		cl_err("task %d: cannot map the parasite area: %s", ctl->pid, strerror(-err));
	else
		ctl->remote_map = addr;

out_lclose:
	close(lfd);
out_close:
	rsys(ctl, "close", __NR_close, NULL, rfd, 0, 0, 0, 0, 0);
	return err;
}

/* A SOCK_SEQPACKET socketpair made in the task: one end stays there, we take the other. */
static int make_ctl_sock(struct compel_ctl *ctl)
{
	struct compel_pie_hdr *hdr = ctl->hdr;
	unsigned long rhdr = hdr->sigframe - PAGE_SIZE;
	int err;

	hdr->sv[0] = hdr->sv[1] = -1;
	err = rsys(ctl, "socketpair", __NR_socketpair, NULL, AF_UNIX,
		   SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		   rhdr + offsetof(struct compel_pie_hdr, sv), 0, 0);
	if (err) {
		cl_err("task %d: cannot create the control socket: %s", ctl->pid, strerror(-err));
		return err;
	}
	ctl->remote_sock = hdr->sv[1];
	hdr->sock = hdr->sv[1];
	ctl->sock = pidfd_getfd_of(ctl->pid, hdr->sv[0]);
	err = rsys(ctl, "close", __NR_close, NULL, hdr->sv[0], 0, 0, 0, 0, 0);
	if (ctl->sock < 0) {
		err = ctl->sock;
		cl_err("task %d: cannot get the control socket: %s", ctl->pid, strerror(-err));
	}
	return err;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct log_msg {
	struct compel_rpc_msg h;
	char text[COMPEL_LOG_MSG_MAX];
};

/* The parasite's log lines (COMPEL_CMD_LOG) go to the host's log. */
static void forward_log(struct compel_ctl *ctl, const struct compel_rpc_msg *h, size_t len)
{
	const struct log_msg *m = (const struct log_msg *)h;
	unsigned int level = h->ret >= COMPEL_LOG_ERROR && h->ret <= COMPEL_LOG_DEBUG ?
			     (unsigned int)h->ret : COMPEL_LOG_INFO;

	compel_log(level, "compel: task %d: pie: %.*s\n", ctl->pid, (int)len, m->text);
}

/* Wait until the daemon has something to say; notices when the task stops (a crash) instead. */
static int wait_msg(struct compel_ctl *ctl, long deadline)
{
	struct pollfd pfd = { .fd = ctl->sock, .events = POLLIN };
	int ret;

	for (;;) {
		ret = poll(&pfd, 1, 50);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret > 0)
			return 0;
		ret = compel_wait_stop(ctl->pid, true, PTRACE_CONT, false);
		if (ret != -EAGAIN) {
			ctl->running = false;
			cl_err("task %d: the parasite stopped without answering", ctl->pid);
			if (ret == COMPEL_STOP_SIGNAL)
				return -EFAULT;
			return ret < 0 ? ret : -ECONNRESET;
		}
		if (now_ms() > deadline) {
			cl_err("task %d: no answer from the parasite in %u ms", ctl->pid,
			       ctl->timeout_ms);
			return -ETIMEDOUT;
		}
	}
}

/* The daemon's next message; its log lines are passed on meanwhile. */
static int recv_reply(struct compel_ctl *ctl, struct compel_rpc_msg *msg)
{
	long deadline = now_ms() + ctl->timeout_ms;
	struct log_msg buf;
	ssize_t n;
	int ret;

	for (;;) {
		ret = wait_msg(ctl, deadline);
		if (ret)
			return ret;
		n = recv(ctl->sock, &buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		if (n < (ssize_t)sizeof(*msg) || buf.h.cmd != COMPEL_CMD_LOG)
			break;
		forward_log(ctl, &buf.h, n - sizeof(*msg));
	}
	if (n != sizeof(*msg))
		return -ECONNRESET;
	*msg = buf.h;
	return 0;
}

static int start_daemon(struct compel_ctl *ctl, const struct compel_blob_desc *blob)
{
	unsigned long rhdr = ctl->hdr->sigframe - PAGE_SIZE;
	struct user_regs_struct regs = ctl->regs;
	struct compel_rpc_msg msg;
	int err;

	compel_arch_entry_regs(&regs, ctl->remote_map + blob->entry_off, rhdr, rhdr);
	err = block_signals(ctl);
	if (!err)
		err = compel_arch_set_regs(ctl->pid, &regs);
	if (err)
		return err;
	ctl->regs_dirty = true;
	ctl->fpu_dirty = true;
	if (ptrace(PTRACE_CONT, ctl->pid, NULL, NULL))
		return -errno;
	ctl->running = true;
	err = recv_reply(ctl, &msg);
	if (err)
		return err;
	if (msg.cmd != COMPEL_CMD_READY || msg.ret) {
		cl_err("task %d: the parasite did not start (%u, %d)", ctl->pid, msg.cmd, msg.ret);
		return -EPROTO;
	}
	return 0;
}

/* Undo the infection (daemon, sockets, mapping); leaves registers for restore_task(). */
static int uninfect(struct compel_ctl *ctl);
/* Registers, FPU state and signal mask as prepared. */
static int restore_task(struct compel_ctl *ctl);

COMPEL_API int compel_infect(struct compel_ctl *ctl, const struct compel_blob_desc *blob,
			     const struct compel_infect_opts *opts)
{
	size_t args_size = DEFAULT_ARGS_SIZE, blob_len, frame_len, size;
	int err;

	if (ctl->remote_map || ctl->running)
		return -EBUSY;
	if (opts && opts->sz >= offsetof(struct compel_infect_opts, args_size) + sizeof(size_t) &&
	    opts->args_size)
		args_size = opts->args_size;
	if (opts && opts->sz >= sizeof(*opts) && opts->timeout_ms)
		ctl->timeout_ms = opts->timeout_ms;
	if (blob->entry_off >= blob->size)
		return -EINVAL;

	blob_len = PAGE_ALIGN(blob->size + blob->bss_size);
	frame_len = PAGE_ALIGN(compel_arch_sigframe_size(ctl->xsave_size));
	size = blob_len + COMPEL_STACK_SIZE + PAGE_SIZE + frame_len + PAGE_ALIGN(args_size);
	err = map_area(ctl, size);
	if (err)
		goto out_uninfect;

	compel_blob_relocate(blob, ctl->map, ctl->remote_map);
	ctl->hdr = (struct compel_pie_hdr *)((char *)ctl->map + blob_len + COMPEL_STACK_SIZE);
	ctl->args = (char *)ctl->hdr + PAGE_SIZE + frame_len;
	ctl->remote_args = ctl->remote_map + blob_len + COMPEL_STACK_SIZE + PAGE_SIZE + frame_len;
	ctl->hdr->sigframe = ctl->remote_map + blob_len + COMPEL_STACK_SIZE + PAGE_SIZE;
	compel_arch_build_sigframe((char *)ctl->hdr + PAGE_SIZE, ctl->hdr->sigframe, &ctl->regs,
				   ctl->xsave, ctl->xsave_size, ctl->xsave_note, ctl->sigmask);
	ctl->hdr->version = COMPEL_PIE_VERSION;
	ctl->hdr->orig_sigmask = ctl->sigmask;
	ctl->hdr->args = ctl->remote_args;
	ctl->hdr->args_size = PAGE_ALIGN(args_size);

	err = make_ctl_sock(ctl);
	if (err)
		goto out_uninfect;
	err = start_daemon(ctl, blob);
	if (err)
		goto out_uninfect;
	cl_info("task %d: infected, parasite at %#lx (%zu bytes)", ctl->pid, ctl->remote_map,
		size);
	return 0;

out_uninfect:
	if (uninfect(ctl) != -ESRCH)
		restore_task(ctl);
	return err;
}

COMPEL_API void *compel_args(struct compel_ctl *ctl)
{
	return ctl->remote_map ? ctl->args : NULL;
}

COMPEL_API unsigned long compel_remote_args(struct compel_ctl *ctl)
{
	return ctl->remote_map ? ctl->remote_args : 0;
}

COMPEL_API int compel_ctl_sock(struct compel_ctl *ctl)
{
	return ctl->sock;
}

COMPEL_API int compel_rpc_call(struct compel_ctl *ctl, unsigned int cmd)
{
	struct compel_rpc_msg msg = { .cmd = cmd };
	ssize_t n;

	if (!ctl->running)
		return -ENOTCONN;
	n = send(ctl->sock, &msg, sizeof(msg), MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == sizeof(msg) ? 0 : -EIO;
}

COMPEL_API int compel_rpc_sync(struct compel_ctl *ctl, unsigned int cmd)
{
	struct compel_rpc_msg msg;
	int err;

	if (!ctl->running)
		return -ENOTCONN;
	err = recv_reply(ctl, &msg);
	if (err)
		return err;
	if (msg.cmd != cmd) {
		cl_err("task %d: the parasite answered command %u to %u", ctl->pid, msg.cmd, cmd);
		return -EPROTO;
	}
	return msg.ret;
}

COMPEL_API int compel_rpc_call_sync(struct compel_ctl *ctl, unsigned int cmd)
{
	int err = compel_rpc_call(ctl, cmd);

	return err ? err : compel_rpc_sync(ctl, cmd);
}

#define MAX_FDS	16

COMPEL_API int compel_send_fds(struct compel_ctl *ctl, const int *fds, unsigned int nr)
{
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)] = { 0 };
	struct iovec iov = { .iov_base = "", .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf };
	struct cmsghdr *c;

	if (!nr || nr > MAX_FDS)
		return -EINVAL;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * nr);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nr);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nr);
	if (sendmsg(ctl->sock, &mh, MSG_NOSIGNAL) != 1)
		return -errno ? -errno : -EIO;
	return 0;
}

/* Close whatever fds came with an unexpected message. */
static void close_cmsg_fds(struct msghdr *mh)
{
	struct cmsghdr *c;
	int fd;
	size_t i;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

COMPEL_API int compel_recv_fds(struct compel_ctl *ctl, int *fds, unsigned int nr)
{
	long deadline = now_ms() + ctl->timeout_ms;
	char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct log_msg lm;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;
	int ret;

	if (!nr || nr > MAX_FDS)
		return -EINVAL;
	for (;;) {
		ret = wait_msg(ctl, deadline);
		if (ret)
			return ret;
		iov.iov_base = &lm;
		iov.iov_len = sizeof(lm);
		mh.msg_controllen = sizeof(cbuf);
		n = recvmsg(ctl->sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0)
			return -errno;
		if (n < (ssize_t)sizeof(lm.h) || lm.h.cmd != COMPEL_CMD_LOG)
			break;
		forward_log(ctl, &lm.h, n - sizeof(lm.h));
	}
	c = CMSG_FIRSTHDR(&mh);
	if (n == 1 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int) * nr)) {
		memcpy(fds, CMSG_DATA(c), sizeof(int) * nr);
		return 0;
	}
	close_cmsg_fds(&mh);
	return -EPROTO;
}

COMPEL_API int compel_get_regs(struct compel_ctl *ctl, struct user_regs_struct *ret_regs)
{
	*ret_regs = ctl->regs;
	return 0;
}

COMPEL_API int compel_get_xsave(struct compel_ctl *ctl, const void **ret_xsave,
				size_t *ret_xsave_size)
{
	*ret_xsave = ctl->xsave;
	*ret_xsave_size = ctl->xsave_size;
	return 0;
}

COMPEL_API int compel_get_sigmask(struct compel_ctl *ctl, uint64_t *ret_mask)
{
	*ret_mask = ctl->sigmask;
	return 0;
}

/*
 * Bring a running daemon back to a stop: ask it to finish (it releases what its commands
 * acquired and answers), then interrupt it where it waits for more.
 */
static int stop_daemon(struct compel_ctl *ctl)
{
	struct compel_rpc_msg msg;
	int err, ret;

	err = compel_rpc_call(ctl, COMPEL_CMD_FINI);
	if (!err)
		err = recv_reply(ctl, &msg);
	if (!ctl->running)
		return err;	/* it stopped on its own (crashed) */
	if (!err && msg.cmd != COMPEL_CMD_FINI)
		err = -EPROTO;
	if (err)
		cl_warn("task %d: parasite did not finish (%s), interrupting it", ctl->pid,
			strerror(-err));
	if (ptrace(PTRACE_INTERRUPT, ctl->pid, NULL, NULL))
		return -errno;
	ret = compel_wait_stop(ctl->pid, false, PTRACE_CONT, true);
	ctl->running = false;
	if (ret < 0)
		return ret;
	return 0;
}

static int uninfect(struct compel_ctl *ctl)
{
	int err = 0, e;

	if (ctl->running)
		err = stop_daemon(ctl);
	if (ctl->sock >= 0) {
		close(ctl->sock);
		ctl->sock = -1;
	}
	if (err == -ESRCH)
		return err;
	if (ctl->remote_sock >= 0) {
		e = rsys(ctl, "close", __NR_close, NULL, ctl->remote_sock, 0, 0, 0, 0, 0);
		err = err ? err : e;
		ctl->remote_sock = -1;
	}
	if (ctl->remote_map) {
		e = rsys(ctl, "munmap", __NR_munmap, NULL, ctl->remote_map, ctl->map_size,
			 0, 0, 0, 0);
		err = err ? err : e;
		ctl->remote_map = 0;
	}
	if (ctl->map) {
		munmap(ctl->map, ctl->map_size);
		ctl->map = NULL;
	}
	return err;
}

/* Registers, FPU state and signal mask as prepared. */
static int restore_task(struct compel_ctl *ctl)
{
	int err = 0, e;

	if (ctl->fpu_dirty) {
		e = compel_arch_set_fpu(ctl->pid, ctl->xsave, ctl->xsave_size, ctl->xsave_note);
		if (e)
			cl_err("task %d: cannot restore its FPU state: %s", ctl->pid, strerror(-e));
		else
			ctl->fpu_dirty = false;
		err = e;
	}
	if (ctl->regs_dirty || ctl->sigmask_blocked) {
		e = park(ctl);
		if (e)
			cl_err("task %d: cannot restore its registers and signal mask: %s",
			       ctl->pid, strerror(-e));
		err = err ? err : e;
	}
	return err;
}

COMPEL_API int compel_cure(struct compel_ctl *ctl)
{
	int err, e;

	if (!ctl)
		return 0;
	err = uninfect(ctl);
	if (err != -ESRCH) {
		e = restore_task(ctl);
		err = err ? err : e;
	}
	if (!err)
		cl_debug("task %d: cured", ctl->pid);
	free(ctl->xsave);
	free(ctl);
	return err;
}

COMPEL_API void compel_ctl_free(struct compel_ctl *ctl)
{
	compel_cure(ctl);
}

COMPEL_API bool compel_fixup_restart(struct user_regs_struct *regs)
{
	return compel_arch_fixup_restart(regs);
}
