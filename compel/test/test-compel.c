/*
 * compel's tests: seize victims (busy computing, blocked in read(), in nanosleep(), in group
 * stop), run syscalls in them, infect them with a test blob, vmsplice their memory, cure and
 * release them, and check from their own output that they never noticed.
 * Exit 0: pass, 77: skip, other: fail (one line says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "uapi/compel/compel.h"
#include "compel/test/compel_test-blob.h"
#include "common/compiler.h"
#include "test-proto.h"

static char victim_path[PATH_MAX];
static int verbose, quiet;
static char pie_line[256];	/* the test blob's last log line */

struct victim {
	pid_t pid;
	int in;		/* its stdin */
	int out;	/* its stdout */
	uint64_t buf, len;
};

#define FAIL(fmt, ...) ({ printf("FAIL: %s: " fmt "\n", __func__, ##__VA_ARGS__); -1; })

static void log_cb(unsigned int level, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list aq;

	va_copy(aq, ap);
	vsnprintf(buf, sizeof(buf), fmt, aq);
	va_end(aq);
	if (strstr(buf, "pie: ping from "))
		snprintf(pie_line, sizeof(pie_line), "%s", strstr(buf, "ping from "));
	if (verbose || (level <= COMPEL_LOG_WARN && !quiet))
		vfprintf(stderr, fmt, ap);
}

static int read_rec(struct victim *v, struct victim_rec *r, int timeout_ms)
{
	struct pollfd p = { .fd = v->out, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(*r)) {
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		n = read(v->out, (char *)r + got, sizeof(*r) - got);
		if (n <= 0)
			return n ? -errno : -EPIPE;
		got += n;
	}
	return 0;
}

static int spawn_ns(struct victim *v, const char *mode, const char *arg, int ns_flags)
{
	int in[2], out[2];
	struct victim_rec r;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	v->pid = fork();
	if (v->pid < 0)
		return -errno;
	if (v->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (ns_flags && unshare(ns_flags))
			_exit(126);
		execl(victim_path, "victim", mode, arg, NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	v->in = in[1];
	v->out = out[0];
	if (read_rec(v, &r, 5000) || r.kind != REC_HELLO)
		return FAIL("victim %s did not start", mode);
	v->buf = r.a;
	v->len = r.b;
	return 0;
}

static int spawn(struct victim *v, const char *mode, const char *arg)
{
	return spawn_ns(v, mode, arg, 0);
}

static int reap(struct victim *v)
{
	int st;

	close(v->in);
	close(v->out);
	if (waitpid(v->pid, &st, 0) != v->pid)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void kill_victim(struct victim *v)
{
	kill(v->pid, SIGKILL);
	reap(v);
}

/* 1 if /proc/PID/maps has a mapping starting at @addr, 0 if not, -errno. */
static int has_mapping(pid_t pid, unsigned long addr)
{
	char path[64], line[512], want[32];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	snprintf(want, sizeof(want), "%lx-", addr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			ret = 1;
	fclose(f);
	return ret;
}

/* 1 if the parasite's memfd is still mapped in @pid. */
static int has_parasite(pid_t pid)
{
	char path[64], line[512];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:compel"))
			ret = 1;
	fclose(f);
	return ret;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

/* The syscall the task sleeps in (/proc/PID/syscall), or -1. */
static long proc_syscall(pid_t pid)
{
	char path[64], buf[256];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	(void)buf;
	return nr;
}

static int wait_in_syscall(pid_t pid, long nr)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (proc_state(pid) == 'S' && proc_syscall(pid) == nr)
			return 0;
		usleep(2000);
	}
	return -ETIMEDOUT;
}

static int sigrt(pid_t pid, int n)
{
	union sigval val = { 0 };

	while (n--)
		if (sigqueue(pid, SIGRTMIN, val))
			return -errno;
	return 0;
}

/* Remote getpid, mmap and munmap, before infection. */
static int check_syscalls(struct compel_ctl *ctl, pid_t pid)
{
	long ret = 0, addr = 0;
	int err;

	err = compel_syscall(ctl, __NR_getpid, &ret, 0, 0, 0, 0, 0, 0);
	if (err || ret != pid)
		return FAIL("remote getpid: %d, %ld instead of %d", err, ret, pid);
	err = compel_syscall(ctl, __NR_mmap, &addr, 0, 3 * 4096, PROT_READ,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (err || (unsigned long)addr >= -4095UL)
		return FAIL("remote mmap: %d, %ld", err, addr);
	if (has_mapping(pid, addr) != 1)
		return FAIL("remote mmap at %#lx not in maps", addr);
	err = compel_syscall(ctl, __NR_munmap, &ret, addr, 3 * 4096, 0, 0, 0, 0);
	if (err || ret)
		return FAIL("remote munmap: %d, %ld", err, ret);
	if (has_mapping(pid, addr) != 0)
		return FAIL("remote munmap at %#lx: still in maps", addr);
	return 0;
}

static int set_pipe(struct compel_ctl *ctl, int wfd)
{
	int err = compel_rpc_call(ctl, TEST_CMD_SET_PIPE);

	if (!err)
		err = compel_send_fds(ctl, &wfd, 1);
	if (!err)
		err = compel_rpc_sync(ctl, TEST_CMD_SET_PIPE);
	return err;
}

/* vmsplice a part of the victim's pattern buffer and compare it. */
static int check_vmsplice(struct compel_ctl *ctl, struct victim *v)
{
	struct test_args *a = compel_args(ctl);
	const uint64_t off = 3 * 4096, len = 512 * 1024;
	unsigned char *buf;
	uint64_t i, got = 0;
	int p[2], err;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) || fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
		return FAIL("pipe: %m");
	err = set_pipe(ctl, p[1]);
	close(p[1]);
	if (err)
		return FAIL("set pipe: %s", strerror(-err));
	a->addr = v->buf + off;
	a->len = len;
	err = compel_rpc_call_sync(ctl, TEST_CMD_VMSPLICE);
	if (err || a->done != len)
		return FAIL("vmsplice: %s, %lu bytes", strerror(-err), (unsigned long)a->done);
	buf = malloc(len);
	while (buf && got < len && (n = read(p[0], buf + got, len - got)) > 0)
		got += n;
	close(p[0]);
	for (i = 0; buf && i < len; i++)
		if (buf[i] != pattern_byte(off + i))
			break;
	free(buf);
	if (got != len || i != len)
		return FAIL("vmspliced data differ at byte %lu of %lu", (unsigned long)i,
			    (unsigned long)got);
	return 0;
}

static int check_daemon(struct compel_ctl *ctl, struct victim *v)
{
	struct test_args *a = compel_args(ctl);
	char want[128];
	uint64_t mask = 0;
	struct stat st1, st2;
	int err, fd = -1;

	pie_line[0] = 0;
	err = compel_rpc_call_sync(ctl, TEST_CMD_PING);
	compel_get_sigmask(ctl, &mask);
	snprintf(want, sizeof(want), "ping from %d, mask %llx, ok\n", v->pid,
		 (unsigned long long)mask);
	if (strcmp(pie_line, want))
		return FAIL("parasite log line '%s', not '%s'", pie_line, want);
	if (err || a->pid != v->pid || a->sigmask != mask ||
	    !(mask & (1ULL << (SIGUSR2 - 1))) || !(mask & (1ULL << (SIGPIPE - 1))))
		return FAIL("ping: %d, pid %ld, mask %#lx/%#lx", err, (long)a->pid,
			    (unsigned long)a->sigmask, (unsigned long)mask);
	a->addr = 1;
	err = compel_rpc_call(ctl, TEST_CMD_SEND_FD);
	if (!err)
		err = compel_recv_fds(ctl, &fd, 1);
	if (!err)
		err = compel_rpc_sync(ctl, TEST_CMD_SEND_FD);
	if (err || fstat(fd, &st1) || fstat(v->out, &st2) || st1.st_ino != st2.st_ino)
		return FAIL("fd passing: %d", err);
	close(fd);
	err = compel_rpc_call_sync(ctl, TEST_CMD_CLOBBER_FPU);
	if (err)
		return FAIL("clobber fpu: %d", err);
	return check_vmsplice(ctl, v);
}

/* Read the busy victim's records to the end: the chain must be unbroken. */
static int check_chain(struct victim *v, uint64_t nr_sigs)
{
	uint64_t n = 0, h = 1;
	struct victim_rec r;
	double x = 1.0;

	kill(v->pid, SIGTERM);
	for (;;) {
		if (read_rec(v, &r, 10000))
			return FAIL("victim output ended after %lu steps", (unsigned long)n);
		if (r.kind == REC_END)
			break;
		victim_step(n, &h, &x);
		if (r.kind != REC_STEP || r.a != n || r.b != h || r.c != (uint64_t)x)
			return FAIL("victim step %lu is wrong", (unsigned long)n);
		n++;
	}
	if (r.a != n || r.b != nr_sigs || r.c)
		return FAIL("victim end: %lu steps (%lu), %lu of %lu signals, %lu bad bytes",
			    (unsigned long)r.a, (unsigned long)n, (unsigned long)r.b,
			    (unsigned long)nr_sigs, (unsigned long)r.c);
	if (n < 3)
		return FAIL("victim made only %lu steps", (unsigned long)n);
	return 0;
}

static int infect(struct victim *v, struct compel_ctl **ret_ctl, enum compel_task_state want)
{
	struct compel_infect_opts opts = { .sz = sizeof(opts), .args_size = 8192 };
	enum compel_task_state st;
	int err;

	err = compel_seize(v->pid, &st);
	if (err || st != want)
		return FAIL("seize: %s, state %d", strerror(-err), err ? 0 : st);
	err = compel_prepare(v->pid, ret_ctl);
	if (err)
		return FAIL("prepare: %s", strerror(-err));
	err = check_syscalls(*ret_ctl, v->pid);
	if (!err) {
		err = compel_infect(*ret_ctl, &compel_test_blob_desc, &opts);
		if (err)
			FAIL("infect: %s", strerror(-err));
	}
	if (err) {
		compel_cure(*ret_ctl);
		compel_release(v->pid, st);
	}
	return err;
}

static int cure(struct victim *v, struct compel_ctl *ctl, enum compel_task_state st, int fds)
{
	int err;

	err = compel_cure(ctl);
	if (err)
		return FAIL("cure: %s", strerror(-err));
	if (has_parasite(v->pid) || count_fds(v->pid) != fds)
		return FAIL("cure left a mapping or fds behind (%d fds, not %d)",
			    count_fds(v->pid), fds);
	err = compel_release(v->pid, st);
	if (err)
		return FAIL("release: %s", strerror(-err));
	return 0;
}

static bool same_netns(pid_t pid)
{
	char a[64], b[64], path[64];
	ssize_t n, m;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	n = readlink("/proc/self/ns/net", a, sizeof(a));
	m = readlink(path, b, sizeof(b));
	return n > 0 && n == m && !memcmp(a, b, n);
}

static int busy_ns(int ns_flags)
{
	struct compel_ctl *ctl;
	struct victim v;
	int err, fds;

	if (spawn_ns(&v, "busy", NULL, ns_flags))
		return -1;
	if (ns_flags && same_netns(v.pid)) {
		err = FAIL("victim is not in its own network namespace");
		goto out_kill;
	}
	usleep(100000);
	fds = count_fds(v.pid);
	err = infect(&v, &ctl, COMPEL_TASK_ALIVE);
	if (err)
		goto out_kill;
	sigrt(v.pid, 3);		/* while the parasite runs: must wait, not be lost */
	err = check_daemon(ctl, &v);
	sigrt(v.pid, 2);
	if (err) {
		compel_cure(ctl);
		compel_release(v.pid, COMPEL_TASK_ALIVE);
		goto out_kill;
	}
	err = cure(&v, ctl, COMPEL_TASK_ALIVE, fds);
	if (err)
		goto out_kill;
	usleep(100000);
	sigrt(v.pid, 2);
	usleep(50000);
	err = check_chain(&v, 7);
	if (err)
		goto out_kill;
	return reap(&v) ? FAIL("busy victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static int test_busy(void)
{
	return busy_ns(0);
}

/* The control socket needs no address: a victim in its own network namespace is the same. */
static int test_netns(void)
{
	return busy_ns(CLONE_NEWNET | CLONE_NEWNS);
}

/* A crashing parasite: cure must still put the task back. */
static int test_crash(void)
{
	struct compel_ctl *ctl;
	struct victim v;
	int err;

	if (spawn(&v, "busy", NULL))
		return -1;
	usleep(50000);
	err = infect(&v, &ctl, COMPEL_TASK_ALIVE);
	if (err)
		goto out_kill;
	((struct test_args *)compel_args(ctl))->addr = 8;
	quiet = 1;	/* compel reports the crash: expected */
	err = compel_rpc_call_sync(ctl, TEST_CMD_FAULT);
	quiet = 0;
	if (err != -EFAULT) {
		compel_cure(ctl);
		compel_release(v.pid, COMPEL_TASK_ALIVE);
		err = FAIL("crashing parasite: %d", err);
		goto out_kill;
	}
	compel_cure(ctl);	/* reports the crash; the task is restored anyway */
	err = compel_release(v.pid, COMPEL_TASK_ALIVE);
	if (err)
		goto out_kill;
	usleep(50000);
	err = check_chain(&v, 0);
	if (err)
		goto out_kill;
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

/* A blob that dies at once (ud2): infect fails, the task is put back and runs on. */
static int test_badblob(void)
{
	static const unsigned char ud2[] = { 0x0f, 0x0b };
	const struct compel_blob_desc bad = { .mem = ud2, .size = sizeof(ud2) };
	enum compel_task_state st;
	struct compel_ctl *ctl;
	struct victim v;
	int err, fds;

	if (spawn(&v, "busy", NULL))
		return -1;
	usleep(50000);
	fds = count_fds(v.pid);
	err = compel_seize(v.pid, &st);
	if (!err)
		err = compel_prepare(v.pid, &ctl);
	if (err) {
		err = FAIL("seize/prepare: %d", err);
		goto out_kill;
	}
	quiet = 1;
	err = compel_infect(ctl, &bad, NULL);
	quiet = 0;
	if (err != -EFAULT) {
		compel_cure(ctl);
		compel_release(v.pid, st);
		err = FAIL("infect with a crashing blob: %d", err);
		goto out_kill;
	}
	if (has_parasite(v.pid) || count_fds(v.pid) != fds) {
		compel_cure(ctl);
		compel_release(v.pid, st);
		err = FAIL("failed infection left a mapping or fds behind");
		goto out_kill;
	}
	compel_ctl_free(ctl);
	compel_release(v.pid, st);
	usleep(50000);
	err = check_chain(&v, 0);
	if (err)
		goto out_kill;
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static unsigned long long sig_blocked(pid_t pid)
{
	char path[64], line[256];
	unsigned long long v = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigBlk:", 7))
			sscanf(line + 7, "%llx", &v);
	fclose(f);
	return v;
}

/*
 * A spy process infects @v (and trashes its FPU registers from the parasite), then dies of
 * SIGKILL: the daemon must notice and put the task back by itself.
 */
static int orphan(struct victim *v, bool infect_it)
{
	unsigned long long blk = sig_blocked(v->pid);
	struct pollfd p;
	int sync[2], fds = count_fds(v->pid), i;
	pid_t spy;
	char c;

	if (pipe(sync))
		return FAIL("pipe: %m");
	spy = fork();
	if (spy == 0) {
		struct compel_ctl *ctl;

		enum compel_task_state st;
		long r;

		quiet = 1;
		close(sync[0]);
		if (!infect_it) {
			/* die between two remote syscalls, the task in a syscall stop */
			if (compel_seize(v->pid, &st) || compel_prepare(v->pid, &ctl) ||
			    compel_syscall(ctl, __NR_getpid, &r, 0, 0, 0, 0, 0, 0) ||
			    write(sync[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		if (infect(v, &ctl, COMPEL_TASK_ALIVE) ||
		    compel_rpc_call_sync(ctl, TEST_CMD_PING) ||
		    compel_rpc_call_sync(ctl, TEST_CMD_CLOBBER_FPU))
			_exit(1);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	p = (struct pollfd){ .fd = sync[0], .events = POLLIN };
	i = poll(&p, 1, 5000) == 1 && read(sync[0], &c, 1) == 1;
	close(sync[0]);
	kill(spy, SIGKILL);
	waitpid(spy, NULL, 0);
	if (!i)
		return FAIL("the spy could not infect the victim");
	for (i = 0; i < 100 && count_fds(v->pid) != fds; i++)
		usleep(2000);
	if (count_fds(v->pid) != fds)
		return FAIL("the orphaned parasite left its socket behind");
	if (sig_blocked(v->pid) != blk)
		return FAIL("signal mask %llx after self-cure, not %llx", sig_blocked(v->pid), blk);
	return 0;
}

/* The host dies while the parasite runs: the victim goes on unharmed, no signal lost. */
static int orphan_busy(bool infect_it)
{
	struct victim v;
	int err;

	if (spawn(&v, "busy", NULL))
		return -1;
	usleep(50000);
	err = orphan(&v, infect_it);
	if (err)
		goto out_kill;
	sigrt(v.pid, 2);
	usleep(50000);
	err = check_chain(&v, 2);
	if (err)
		goto out_kill;
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

/* ... and a read() it was blocked in is restarted. */
static int orphan_read(bool infect_it)
{
	struct victim_rec r;
	struct victim v;
	int err;

	if (spawn(&v, "read", NULL))
		return -1;
	if (wait_in_syscall(v.pid, __NR_read)) {
		err = FAIL("victim not in read()");
		goto out_kill;
	}
	err = orphan(&v, infect_it);
	if (err)
		goto out_kill;
	usleep(50000);
	if (write(v.in, "hello", 5) != 5 || read_rec(&v, &r, 5000) || r.kind != REC_READ ||
	    r.a != 5 || r.b != 'h' || r.c != 'o') {
		err = FAIL("read() after self-cure returned %ld", (long)r.a);
		goto out_kill;
	}
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static int test_orphan_busy(void)
{
	return orphan_busy(true);
}

static int test_orphan_read(void)
{
	return orphan_read(true);
}

/* The host dies between two remote syscalls: the same. */
static int test_orphan_sys_busy(void)
{
	return orphan_busy(false);
}

static int test_orphan_sys_read(void)
{
	return orphan_read(false);
}

static int test_read(void)
{
	struct compel_ctl *ctl;
	struct victim_rec r;
	struct victim v;
	int err, fds;

	if (spawn(&v, "read", NULL))
		return -1;
	if (wait_in_syscall(v.pid, __NR_read)) {
		err = FAIL("victim not in read()");
		goto out_kill;
	}
	fds = count_fds(v.pid);
	err = infect(&v, &ctl, COMPEL_TASK_ALIVE);
	if (err)
		goto out_kill;
	err = cure(&v, ctl, COMPEL_TASK_ALIVE, fds);
	if (err)
		goto out_kill;
	usleep(100000);
	if (write(v.in, "hello", 5) != 5 || read_rec(&v, &r, 5000) || r.kind != REC_READ ||
	    r.a != 5 || r.b != 'h' || r.c != 'o') {
		err = FAIL("read() after cure returned %ld", (long)r.a);
		goto out_kill;
	}
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static int test_sleep(void)
{
	struct compel_ctl *ctl;
	struct victim_rec r;
	struct victim v;
	int err, fds;

	if (spawn(&v, "sleep", "1500"))
		return -1;
	if (wait_in_syscall(v.pid, __NR_clock_nanosleep) && wait_in_syscall(v.pid, __NR_nanosleep)) {
		err = FAIL("victim not in nanosleep()");
		goto out_kill;
	}
	usleep(300000);
	fds = count_fds(v.pid);
	err = infect(&v, &ctl, COMPEL_TASK_ALIVE);
	if (err)
		goto out_kill;
	usleep(400000);		/* a restart from scratch would show */
	err = cure(&v, ctl, COMPEL_TASK_ALIVE, fds);
	if (err)
		goto out_kill;
	if (read_rec(&v, &r, 5000) || r.kind != REC_SLEEP || r.b != 0 ||
	    r.a < 1500 || r.a > 1650) {
		err = FAIL("nanosleep(1500 ms) took %ld ms and returned %ld", (long)r.a,
			   (long)r.b);
		goto out_kill;
	}
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static int test_stopped(void)
{
	struct compel_ctl *ctl;
	struct victim v;
	int err, i, st, fds;

	if (spawn(&v, "busy", NULL))
		return -1;
	kill(v.pid, SIGSTOP);
	for (i = 0; i < 500 && proc_state(v.pid) != 'T'; i++)
		usleep(2000);
	waitpid(v.pid, &st, WUNTRACED);
	fds = count_fds(v.pid);
	err = infect(&v, &ctl, COMPEL_TASK_STOPPED);
	if (err)
		goto out_kill;
	err = check_daemon(ctl, &v);
	if (err) {
		compel_cure(ctl);
		compel_release(v.pid, COMPEL_TASK_STOPPED);
		goto out_kill;
	}
	err = cure(&v, ctl, COMPEL_TASK_STOPPED, fds);
	if (err)
		goto out_kill;
	usleep(200000);
	if (proc_state(v.pid) != 'T') {
		err = FAIL("victim runs after release (state %c)", proc_state(v.pid));
		goto out_kill;
	}
	kill(v.pid, SIGCONT);
	usleep(50000);
	err = check_chain(&v, 0);
	if (err)
		goto out_kill;
	return reap(&v) ? FAIL("victim failed") : 0;

out_kill:
	kill_victim(&v);
	return err;
}

static int test_zombie(void)
{
	enum compel_task_state st;
	pid_t pid = fork();
	int err;

	if (pid == 0)
		_exit(0);
	usleep(100000);
	err = compel_seize(pid, &st);
	waitpid(pid, NULL, 0);
	if (err || st != COMPEL_TASK_ZOMBIE)
		return FAIL("zombie seized as %d (%d)", st, err);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(void); } tests[] = {
		{ "busy", test_busy },
		{ "netns", test_netns },
		{ "crash", test_crash },
		{ "badblob", test_badblob },
		{ "orphan-busy", test_orphan_busy },
		{ "orphan-read", test_orphan_read },
		{ "orphan-sys-busy", test_orphan_sys_busy },
		{ "orphan-sys-read", test_orphan_sys_read },
		{ "read", test_read },
		{ "sleep", test_sleep },
		{ "stopped", test_stopped },
		{ "zombie", test_zombie },
	};
	unsigned int i, failed = 0;

	if (geteuid()) {
		printf("SKIP: compel tests need root (ptrace, pidfd_getfd)\n");
		return 77;
	}
	verbose = argc > 1 && !strcmp(argv[1], "-v");
	snprintf(victim_path, sizeof(victim_path), "%s/victim", dirname(strdup(argv[0])));
	compel_set_log(log_cb, COMPEL_LOG_DEBUG);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (tests[i].fn()) {
			failed++;
			continue;
		}
		if (verbose)
			printf("ok: %s\n", tests[i].name);
	}
	if (failed) {
		printf("FAIL: %u of %zu compel tests failed\n", failed, ARRAY_SIZE(tests));
		return 1;
	}
	printf("PASS: %zu compel tests\n", ARRAY_SIZE(tests));
	return 0;
}
