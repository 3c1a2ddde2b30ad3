/*
 * kerndat: each probe uses the feature for real on something of our own (a forked child, a few
 * pages of our memory, a throw-away cgroup) and records what it saw. See kerndat.h.
 */
#include "core/kerndat.h"

#define LOG_PREFIX "kerndat: "
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "common/cleanup.h"
#include "common/compiler.h"
#include "common/uapi-compat.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC	0x27e0eb
#endif

static struct kerndat kd_cache;

static const char *const feature_names[KD__MAX] = {
	[KD_PTRACE_SEIZE]	= "ptrace-seize",
	[KD_CLONE3_SET_TID]	= "clone3-set-tid",
	[KD_PAGEMAP_SCAN]	= "pagemap-scan",
	[KD_UFFD_WP_ASYNC]	= "uffd-wp-async",
	[KD_SOFT_DIRTY]		= "soft-dirty",
	[KD_TCP_REPAIR]		= "tcp-repair",
	[KD_VDSO]		= "vdso",
	[KD_FREEZER_V1]		= "freezer-v1",
	[KD_FREEZER_V2]		= "freezer-v2",
	[KD_MEMFD]		= "memfd",
	[KD_PIDFD]		= "pidfd",
	[KD_MM_MAP]		= "mm-map",
	[KD_XSAVE]		= "xsave",
	[KD_DIRTY_TRACKING]	= "dirty-tracking",
	[KD_TIMENS]		= "timens",
	[KD_FANOTIFY]		= "fanotify",
};

/* ---- small helpers ---- */

/* Records the outcome of a probe; returns @err. */
static int __printf(3, 4) kd_set(struct kerndat_probe *p, int err, const char *fmt, ...)
{
	va_list ap;

	p->present = !err;
	p->err = err;
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
	return err;
}

#define kd_ok(p, fmt, ...)		kd_set(p, 0, fmt, ##__VA_ARGS__)
#define kd_fail(p, err, fmt, ...)	kd_set(p, (err) < 0 ? (err) : -EPROTO, fmt, ##__VA_ARGS__)

static void kd_append(struct kerndat_probe *p, const char *s)
{
	size_t len = strlen(p->detail);

	snprintf(p->detail + len, sizeof(p->detail) - len, "%s", s);
}

static const char *errstr(int err)
{
	return strerror(err < 0 ? -err : err);
}

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

static uint64_t ptr_u64(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Reads one decimal number from @path. Returns 0 or -errno. */
static int read_long(const char *path, long *ret)
{
	FILE *f = fopen(path, "re");
	long v;
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%ld", &v);
	fclose(f);
	if (n != 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Reads up to @size - 1 bytes of @path into @buf. Returns the length or -errno. */
static int read_str(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

static int write_str(const char *path, const char *s)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Kills and reaps a child of ours. */
static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

/* Waits for @pid to exit; returns its exit code, or -errno / -ECHILD if it died otherwise. */
static int reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status))
		return -ECHILD;
	return WEXITSTATUS(status);
}

/* A child that sleeps until killed (and dies with us). Returns its pid or -errno. */
static pid_t fork_sleeper(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

/* ---- ptrace ---- */

static int probe_ptrace_seize(struct kerndat *kd, struct kerndat_probe *p)
{
	int status, ret;
	long scope;
	pid_t pid;

	(void)kd;
	pid = fork_sleeper();
	if (pid < 0)
		return kd_fail(p, pid, "fork: %s", errstr(pid));

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL)) {
		ret = -errno;
		if (ret == -EPERM && !read_long("/proc/sys/kernel/yama/ptrace_scope", &scope))
			kd_fail(p, ret, "PTRACE_SEIZE: %s (yama ptrace_scope %ld)", errstr(ret), scope);
		else
			kd_fail(p, ret, "PTRACE_SEIZE: %s", errstr(ret));
		goto out_kill;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL)) {
		ret = -errno;
		kd_fail(p, ret, "PTRACE_INTERRUPT: %s", errstr(ret));
		goto out_kill;
	}
	while ((ret = waitpid(pid, &status, __WALL)) < 0 && errno == EINTR)
		;
	if (ret != pid || !WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP) {
		kd_fail(p, -EPROTO, "child did not stop after PTRACE_INTERRUPT (status 0x%x)", status);
		goto out_kill;
	}
	kd_ok(p, "seized and stopped a child");
out_kill:
	kill_and_reap(pid);
	return p->err;
}

/* ---- clone3 with set_tid ---- */

/* Clones a child that exits at once with pid @want. Returns the pid it got or -errno. */
static pid_t clone3_with_pid(pid_t want)
{
	struct clone_args ca;
	long pid;

	memset(&ca, 0, sizeof(ca));
	ca.exit_signal = SIGCHLD;
	ca.set_tid = ptr_u64(&want);
	ca.set_tid_size = 1;

	pid = syscall(__NR_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return -errno;
	reap(pid);
	return pid;
}

static int probe_clone3_set_tid(struct kerndat *kd, struct kerndat_probe *p)
{
	long last, max;
	pid_t want = 0, got = -EEXIST;
	int ret, i;

	(void)kd;
	ret = read_long("/proc/sys/kernel/ns_last_pid", &last);
	if (!ret)
		ret = read_long("/proc/sys/kernel/pid_max", &max);
	if (ret)
		return kd_fail(p, ret, "cannot read ns_last_pid/pid_max: %s", errstr(ret));

	/* Pick free pids a bit above the last one given out; retry when someone took it first. */
	for (i = 0; i < 32 && got == -EEXIST; i++) {
		want = last + 50 + i * 97;
		if (want >= max)
			want = 300 + (want % (max - 300));
		if (kill(want, 0) == 0 || errno != ESRCH)
			continue;
		got = clone3_with_pid(want);
	}

	if (got == -EEXIST)
		return kd_fail(p, got, "no free pid found to try");
	if (got == -ENOSYS)
		return kd_fail(p, got, "no clone3() (Linux 5.5+)");
	if (got == -EPERM)
		return kd_fail(p, got, "set_tid refused: needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN");
	if (got < 0)
		return kd_fail(p, got, "clone3(set_tid=%d): %s", want, errstr(got));
	if (got != want)
		return kd_fail(p, -EPROTO, "asked for pid %d, got %d", want, got);
	return kd_ok(p, "child got the pid asked for (%d)", got);
}

/* ---- PAGEMAP_SCAN ---- */

/* Maps @n anonymous pages and writes to those whose bit is set in @touch. Returns NULL on failure. */
static char *map_pages(int n, unsigned int touch)
{
	long ps = page_size();
	char *m;
	int i;

	m = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	for (i = 0; i < n; i++)
		if (touch & (1u << i))
			m[i * ps] = 1;
	return m;
}

/* One PAGEMAP_SCAN over [start, end). Returns the number of regions or -errno. */
static int pm_scan(int pm, uint64_t start, uint64_t end, uint64_t flags, uint64_t mask,
		   uint64_t anyof, struct page_region *vec, int vec_len)
{
	struct pm_scan_arg a;
	int n;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.flags = flags;
	a.start = start;
	a.end = end;
	a.vec = ptr_u64(vec);
	a.vec_len = vec_len;
	a.category_mask = mask;
	a.category_anyof_mask = anyof;
	a.return_mask = mask | anyof;
	n = ioctl(pm, PAGEMAP_SCAN, &a);
	return n < 0 ? -errno : n;
}

static int probe_pagemap_scan(struct kerndat *kd, struct kerndat_probe *p)
{
	const uint64_t anyof = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
	_cleanup_close_ int pm = -1;
	struct page_region vec[4];
	long ps = page_size();
	uint64_t base;
	char *m;
	int n;

	(void)kd;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return kd_fail(p, -errno, "cannot open /proc/self/pagemap: %s", errstr(errno));
	m = map_pages(4, 0x5);		/* pages 0 and 2 present */
	if (!m)
		return kd_fail(p, -ENOMEM, "cannot map test pages");
	base = ptr_u64(m);

	n = pm_scan(pm, base, base + 4 * ps, 0, 0, anyof, vec, ARRAY_SIZE(vec));
	if (n == -ENOTTY || n == -EINVAL)
		kd_fail(p, n, "ioctl not supported (Linux 6.7+)");
	else if (n < 0)
		kd_fail(p, n, "ioctl: %s", errstr(n));
	else if (n != 2 || vec[0].start != base || vec[0].end != base + ps ||
		 vec[1].start != base + 2 * ps || vec[1].end != base + 3 * ps)
		kd_fail(p, -EPROTO, "wrong answer: %d regions for 2 present pages of 4", n);
	else
		kd_ok(p, "listed the 2 present pages of 4");
	munmap(m, 4 * ps);
	return p->err;
}

/* ---- userfaultfd ---- */

/*
 * A userfaultfd (created with @flags besides O_CLOEXEC | O_NONBLOCK) with UFFDIO_API done for
 * @features. Returns the fd or -errno; the kernel's feature mask in @ret_features.
 */
static int uffd_open(int flags, uint64_t features, uint64_t *ret_features)
{
	_cleanup_close_ int fd = -1;
	struct uffdio_api api;

	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | flags);
	if (fd < 0)
		return -errno;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = features;
	if (ioctl(fd, UFFDIO_API, &api))
		return -errno;
	*ret_features = api.features;
	return TAKE_FD(fd);
}

#define UFFD_WP_WANTED	(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)

static int probe_uffd_wp_async(struct kerndat *kd, struct kerndat_probe *p)
{
	uint64_t mask = 0, got = 0;
	int fd;

	/* Without CAP_SYS_PTRACE and with vm.unprivileged_userfaultfd=0, only user-mode-only works. */
	kd->uffd_flags = 0;
	fd = uffd_open(0, 0, &mask);
	if (fd == -EPERM) {
		kd->uffd_flags = UFFD_USER_MODE_ONLY;
		fd = uffd_open(kd->uffd_flags, 0, &mask);
	}
	if (fd < 0)
		return kd_fail(p, fd, "userfaultfd: %s", errstr(fd));
	close(fd);
	kd->uffd_features = mask;

	if (!(mask & UFFD_FEATURE_WP_ASYNC))
		return kd_fail(p, -EOPNOTSUPP, "features 0x%" PRIx64 ", no WP_ASYNC (Linux 6.7+)",
			       mask);

	/* The features must also be accepted when asked for. */
	fd = uffd_open(kd->uffd_flags, mask & (UFFD_WP_WANTED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM),
		       &got);
	if (fd < 0)
		return kd_fail(p, fd, "UFFDIO_API with WP_ASYNC: %s", errstr(fd));
	close(fd);
	return kd_ok(p, "features 0x%" PRIx64 " (WP_ASYNC%s)%s", mask,
		     (mask & UFFD_FEATURE_WP_UNPOPULATED) ? ", WP_UNPOPULATED" : "",
		     kd->uffd_flags ? ", user-mode-only uffd" : "");
}

#define UFFD_WP_FAILED	"none: uffd-wp tracking failed"

/*
 * Tracks 4 written pages of ours through uffd-wp async: register, arm with a WP_MATCHING scan,
 * write one page, expect exactly that page back, then nothing. Returns 0 or -errno; on failure
 * @p says why.
 */
static int uffd_wp_roundtrip(int flags_uffd, uint64_t features, struct kerndat_probe *p)
{
	const uint64_t flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	_cleanup_close_ int uffd = -1, pm = -1;
	struct uffdio_register rg;
	struct page_region vec[4];
	long ps = page_size();
	uint64_t base, got;
	int n, ret;
	char *m;

	uffd = uffd_open(flags_uffd, features & UFFD_WP_WANTED, &got);
	if (uffd < 0)
		return kd_fail(p, uffd, UFFD_WP_FAILED " (userfaultfd: %s)", errstr(uffd));
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return kd_fail(p, -errno, UFFD_WP_FAILED " (pagemap: %s)", errstr(errno));
	m = map_pages(4, 0xf);
	if (!m)
		return kd_fail(p, -ENOMEM, UFFD_WP_FAILED " (cannot map test pages)");
	base = ptr_u64(m);

	memset(&rg, 0, sizeof(rg));
	rg.range.start = base;
	rg.range.len = 4 * ps;
	rg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(uffd, UFFDIO_REGISTER, &rg)) {
		ret = kd_fail(p, -errno, UFFD_WP_FAILED " (UFFDIO_REGISTER: %s)", errstr(errno));
		goto out_unmap;
	}

	/* Round 0 reports every present page and arms them. */
	n = pm_scan(pm, base, base + 4 * ps, flags, PAGE_IS_WRITTEN, 0, vec, ARRAY_SIZE(vec));
	if (n < 0) {
		ret = kd_fail(p, n, UFFD_WP_FAILED " (arming scan: %s)", errstr(n));
		goto out_unmap;
	}
	m[ps] = 2;
	n = pm_scan(pm, base, base + 4 * ps, flags, PAGE_IS_WRITTEN, 0, vec, ARRAY_SIZE(vec));
	if (n != 1 || vec[0].start != base + ps || vec[0].end != base + 2 * ps) {
		ret = kd_fail(p, -EPROTO, UFFD_WP_FAILED " (1 page written, scan gave %d regions)", n);
		goto out_unmap;
	}
	n = pm_scan(pm, base, base + 4 * ps, flags, PAGE_IS_WRITTEN, 0, vec, ARRAY_SIZE(vec));
	if (n != 0) {
		ret = kd_fail(p, -EPROTO, UFFD_WP_FAILED " (nothing written, scan gave %d regions)", n);
		goto out_unmap;
	}
	ret = kd_ok(p, "uffd-wp+pagemap-scan: a tracked write was caught exactly");
out_unmap:
	munmap(m, 4 * ps);	/* also unregisters the range */
	return ret;
}

/* ---- soft-dirty ---- */

static int pagemap_entry(int pm, const void *addr, uint64_t *ret)
{
	uint64_t e;
	off_t off = (ptr_u64(addr) / page_size()) * sizeof(e);

	ssize_t n;

	n = pread(pm, &e, sizeof(e), off);
	if (n < 0)
		return -errno;
	if (n != sizeof(e))
		return -EIO;
	*ret = e;
	return 0;
}

static int probe_soft_dirty(struct kerndat *kd, struct kerndat_probe *p)
{
	_cleanup_close_ int pm = -1;
	uint64_t before = 0, after = 0;
	char *m;
	int ret;

	(void)kd;
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return kd_fail(p, -errno, "cannot open /proc/self/pagemap: %s", errstr(errno));
	m = map_pages(1, 0x1);
	if (!m)
		return kd_fail(p, -ENOMEM, "cannot map a test page");

	ret = write_str("/proc/self/clear_refs", "4");
	if (ret) {
		kd_fail(p, ret, "clear_refs: %s", errstr(ret));
		goto out_unmap;
	}
	ret = pagemap_entry(pm, m, &before);
	if (!ret) {
		*(volatile char *)m = 2;
		ret = pagemap_entry(pm, m, &after);
	}
	if (ret)
		kd_fail(p, ret, "pagemap read: %s", errstr(ret));
	else if (!(after & PME_SOFT_DIRTY))
		kd_fail(p, -EOPNOTSUPP, "pagemap bit 55 stays clear after a write (no CONFIG_MEM_SOFT_DIRTY)");
	else if (before & PME_SOFT_DIRTY)
		kd_fail(p, -EPROTO, "clear_refs 4 did not clear bit 55");
	else
		kd_ok(p, "clear_refs 4 clears, a write sets pagemap bit 55");
out_unmap:
	munmap(m, page_size());
	return p->err;
}

/* ---- TCP_REPAIR ---- */

static int probe_tcp_repair(struct kerndat *kd, struct kerndat_probe *p)
{
	_cleanup_close_ int sk = -1;
	struct tcp_repair_window w;
	socklen_t len = sizeof(w);
	int on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF, ret;

	(void)kd;
	sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		sk = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return kd_fail(p, -errno, "TCP socket: %s", errstr(errno));

	if (setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof(on))) {
		ret = -errno;
		if (ret == -EPERM)
			return kd_fail(p, ret, "TCP_REPAIR refused: needs CAP_NET_ADMIN");
		return kd_fail(p, ret, "TCP_REPAIR: %s", errstr(ret));
	}
	ret = getsockopt(sk, SOL_TCP, TCP_REPAIR_WINDOW, &w, &len) ? -errno : 0;
	setsockopt(sk, SOL_TCP, TCP_REPAIR, &off, sizeof(off));
	if (ret)
		return kd_fail(p, ret, "TCP_REPAIR_WINDOW: %s", errstr(ret));
	return kd_ok(p, "repair mode and TCP_REPAIR_WINDOW work");
}

/* ---- vDSO layout ---- */

static const char *vdso_area_name(const char *path)
{
	static const char *const names[] = { "vvar", "vvar_vclock", "vdso" };
	size_t len = strlen(path);
	unsigned int i;

	if (len < 3 || path[0] != '[' || path[len - 1] != ']')
		return NULL;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (len == strlen(names[i]) + 2 && !strncmp(path + 1, names[i], len - 2))
			return names[i];
	return NULL;
}

/* Collects the vDSO areas of /proc/self/maps in address order. Returns 0 or -errno. */
static int vdso_parse(struct kerndat_vdso *v)
{
	_cleanup_free_ char *line = NULL;
	unsigned long long s, e;
	size_t cap = 0;
	const char *name;
	FILE *f;
	int pos;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	memset(v, 0, sizeof(*v));
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		pos = 0;
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &s, &e, &pos) < 2 || !pos)
			continue;
		name = vdso_area_name(line + pos);
		if (!name)
			continue;
		if (v->nr_areas == KD_VDSO_MAX_AREAS) {
			fclose(f);
			return -E2BIG;
		}
		snprintf(v->areas[v->nr_areas].name, sizeof(v->areas[0].name), "%s", name);
		v->areas[v->nr_areas].start = s;
		v->areas[v->nr_areas].end = e;
		v->nr_areas++;
	}
	fclose(f);
	return 0;
}

static int probe_vdso(struct kerndat *kd, struct kerndat_probe *p)
{
	struct kerndat_vdso *v = &kd->vdso;
	char buf[48];
	int i, ret;

	ret = vdso_parse(v);
	if (ret)
		return kd_fail(p, ret, "cannot parse /proc/self/maps: %s", errstr(ret));
	if (!v->nr_areas)
		return kd_ok(p, "no vDSO mapped");

	v->contiguous = true;
	p->detail[0] = '\0';
	for (i = 0; i < v->nr_areas; i++) {
		const struct kerndat_vdso_area *a = &v->areas[i];
		uint64_t size = a->end - a->start;

		if (i && v->areas[i - 1].end != a->start)
			v->contiguous = false;
		if (!strcmp(a->name, "vdso")) {
			v->vdso_start = a->start;
			v->vdso_size += size;
		} else {
			v->vvar_size += size;
		}
		snprintf(buf, sizeof(buf), "%s%s %" PRIu64 "K", i ? " + " : "", a->name, size >> 10);
		kd_append(p, buf);
	}
	if (!v->vdso_start)
		return kd_set(p, -ENOENT, "data areas without [vdso]: layout unknown");
	if (!v->contiguous) {
		kd_append(p, ": not one block");
		p->present = false;
		p->err = -EPROTO;
		return p->err;
	}
	kd_append(p, ", one block");
	p->present = true;
	p->err = 0;
	return 0;
}

/* ---- cgroup freezers ---- */

static bool fs_is(const char *path, long magic)
{
	struct statfs st;

	return !statfs(path, &st) && (long)st.f_type == magic;
}

/* Polls @path until it contains @want, for up to ~1s. Returns 0 or -ETIMEDOUT / -errno. */
static int wait_for(const char *path, const char *want)
{
	char buf[512];
	int i, ret;

	for (i = 0; i < 100; i++) {
		ret = read_str(path, buf, sizeof(buf));
		if (ret < 0)
			return ret;
		if (strstr(buf, want))
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Creates a fresh child cgroup "criu-check-PID" of @root into @buf. Returns 0 or -errno. */
static int cg_mkdir(const char *root, char *buf, size_t size)
{
	snprintf(buf, size, "%s/criu-check-%d", root, getpid());
	if (mkdir(buf, 0755) == 0)
		return 0;
	if (errno == EEXIST && rmdir(buf) == 0 && mkdir(buf, 0755) == 0)
		return 0;
	return -errno;
}

static void cg_rmdir(const char *path)
{
	int i;

	/* A cgroup that has just been thawed may be busy for a moment. */
	for (i = 0; i < 50 && rmdir(path) && errno == EBUSY; i++)
		usleep(10000);
}

/* Writes @state to @dir/@file and waits for @dir/@check to show @want. */
static int cg_set(const char *dir, const char *file, const char *state,
		  const char *check, const char *want)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	ret = write_str(path, state);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", dir, check);
	return wait_for(path, want);
}

static int probe_freezer_v1(struct kerndat *kd, struct kerndat_probe *p)
{
	const char *root = "/sys/fs/cgroup/freezer";
	char dir[128];
	int ret;

	if (!fs_is(root, CGROUP_SUPER_MAGIC))
		return kd_fail(p, -ENOENT, "\"%s\" is not a cgroup v1 mount", root);
	ret = cg_mkdir(root, dir, sizeof(dir));
	if (ret)
		return kd_fail(p, ret, "cannot create a cgroup in \"%s\": %s", root, errstr(ret));

	ret = cg_set(dir, "freezer.state", "FROZEN", "freezer.state", "FROZEN");
	if (ret) {
		kd_fail(p, ret, "cannot freeze a test cgroup: %s", errstr(ret));
		goto out_rmdir;
	}
	ret = cg_set(dir, "freezer.state", "THAWED", "freezer.state", "THAWED");
	if (ret) {
		kd_fail(p, ret, "cannot thaw a test cgroup: %s", errstr(ret));
		goto out_rmdir;
	}
	snprintf(kd->freezer_v1_path, sizeof(kd->freezer_v1_path), "%s", root);
	kd_ok(p, "froze and thawed a cgroup in %s", root);
out_rmdir:
	cg_rmdir(dir);
	return p->err;
}

static int probe_freezer_v2(struct kerndat *kd, struct kerndat_probe *p)
{
	static const char *const roots[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
	const char *root = NULL;
	char dir[128];
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(roots) && !root; i++)
		if (fs_is(roots[i], CGROUP2_SUPER_MAGIC))
			root = roots[i];
	if (!root)
		return kd_fail(p, -ENOENT, "no cgroup2 mount at /sys/fs/cgroup{/unified,}");
	snprintf(kd->cgroup2_path, sizeof(kd->cgroup2_path), "%s", root);

	ret = cg_mkdir(root, dir, sizeof(dir));
	if (ret)
		return kd_fail(p, ret, "cannot create a cgroup in \"%s\": %s", root, errstr(ret));

	ret = cg_set(dir, "cgroup.freeze", "1", "cgroup.events", "frozen 1");
	if (ret == -ENOENT) {
		kd_fail(p, ret, "no cgroup.freeze (Linux 5.2+)");
		goto out_rmdir;
	}
	if (ret) {
		kd_fail(p, ret, "cannot freeze a test cgroup: %s", errstr(ret));
		goto out_rmdir;
	}
	ret = cg_set(dir, "cgroup.freeze", "0", "cgroup.events", "frozen 0");
	if (ret) {
		kd_fail(p, ret, "cannot thaw a test cgroup: %s", errstr(ret));
		goto out_rmdir;
	}
	kd_ok(p, "froze and thawed a cgroup in %s", root);
out_rmdir:
	cg_rmdir(dir);
	return p->err;
}

/* ---- memfd, pidfd ---- */

static int probe_memfd(struct kerndat *kd, struct kerndat_probe *p)
{
	const int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	_cleanup_close_ int fd = -1, nx = -1;
	int got;

	(void)kd;
	fd = memfd_create("criu-kerndat", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return kd_fail(p, -errno, "memfd_create: %s", errstr(errno));
	if (fcntl(fd, F_ADD_SEALS, seals))
		return kd_fail(p, -errno, "F_ADD_SEALS: %s", errstr(errno));
	got = fcntl(fd, F_GET_SEALS);
	if (got != seals)
		return kd_fail(p, got < 0 ? -errno : -EPROTO, "F_GET_SEALS gave 0x%x", got);
	nx = memfd_create("criu-kerndat", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
	return kd_ok(p, "sealing works%s", nx >= 0 ? ", MFD_NOEXEC_SEAL" : "");
}

static int same_file(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) || fstat(b, &sb))
		return -errno;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int probe_pidfd(struct kerndat *kd, struct kerndat_probe *p)
{
	_cleanup_close_ int pfd = -1, nfd = -1, tfd = -1, p0 = -1, p1 = -1;
	int pp[2];

	(void)kd;
	pfd = syscall(__NR_pidfd_open, getpid(), 0);
	if (pfd < 0)
		return kd_fail(p, -errno, "pidfd_open: %s", errstr(errno));
	if (pipe2(pp, O_CLOEXEC))
		return kd_fail(p, -errno, "pipe: %s", errstr(errno));
	p0 = pp[0];
	p1 = pp[1];
	nfd = syscall(__NR_pidfd_getfd, pfd, p0, 0);
	if (nfd < 0)
		return kd_fail(p, -errno, "pidfd_getfd: %s", errstr(errno));
	if (same_file(nfd, p0) != 1)
		return kd_fail(p, -EPROTO, "pidfd_getfd returned another file");
	tfd = syscall(__NR_pidfd_open, gettid(), PIDFD_THREAD);
	return kd_ok(p, "pidfd_open, pidfd_getfd%s", tfd >= 0 ? ", PIDFD_THREAD" : "");
}

/* ---- PR_SET_MM_MAP ---- */

/* Fields 1..52 of /proc/self/stat (index = field number). Returns 0 or -errno. */
static int read_self_stat(unsigned long long *f, int nr)
{
	char buf[1024], *s, *tok, *save = NULL;
	int i, ret;

	ret = read_str("/proc/self/stat", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	s = strrchr(buf, ')');		/* the command name may hold spaces and parentheses */
	if (!s)
		return -EINVAL;
	memset(f, 0, nr * sizeof(*f));
	for (i = 3, tok = strtok_r(s + 1, " \n", &save); i < nr && tok;
	     i++, tok = strtok_r(NULL, " \n", &save))
		f[i] = strtoull(tok, NULL, 10);	/* field 3 (state) is a letter: 0 */
	return i == nr ? 0 : -EINVAL;
}

/* Sets our own mm layout to what it already is: proves PR_SET_MM_MAP works end to end. */
static int mm_map_roundtrip(void)
{
	unsigned long long f[53];
	struct prctl_mm_map map;
	int ret;

	ret = read_self_stat(f, ARRAY_SIZE(f));
	if (ret)
		return ret;
	memset(&map, 0, sizeof(map));
	map.start_code = f[26];
	map.end_code = f[27];
	map.start_stack = f[28];
	map.start_data = f[45];
	map.end_data = f[46];
	map.start_brk = f[47];
	map.brk = ptr_u64(sbrk(0));
	map.arg_start = f[48];
	map.arg_end = f[49];
	map.env_start = f[50];
	map.env_end = f[51];
	map.exe_fd = (uint32_t)-1;
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof(map), 0))
		return -errno;
	return 0;
}

static int probe_mm_map(struct kerndat *kd, struct kerndat_probe *p)
{
	unsigned int size = 0;
	int ret;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0))
		return kd_fail(p, -errno, "PR_SET_MM_MAP_SIZE: %s", errstr(errno));
	kd->mm_map_size = size;
	if (size != sizeof(struct prctl_mm_map))
		return kd_fail(p, -EPROTO, "kernel struct prctl_mm_map is %u bytes, ours %zu",
			       size, sizeof(struct prctl_mm_map));
	ret = mm_map_roundtrip();
	if (ret)
		return kd_fail(p, ret, "PR_SET_MM_MAP of our own layout: %s", errstr(ret));
	return kd_ok(p, "struct prctl_mm_map %u bytes, set works", size);
}

/* ---- xsave ---- */

#if defined(__x86_64__)
static uint64_t xgetbv(uint32_t idx)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
	return ((uint64_t)hi << 32) | lo;
}

static void xsave_names(uint64_t mask, struct kerndat_probe *p)
{
	static const char *const names[] = {
		[0] = "x87", [1] = "sse", [2] = "avx", [3] = "bndregs", [4] = "bndcsr",
		[5] = "opmask", [6] = "zmm_hi256", [7] = "hi16_zmm", [9] = "pkru",
		[17] = "xtilecfg", [18] = "xtiledata",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (!(mask & (1ULL << i)) || !names[i])
			continue;
		kd_append(p, " ");
		kd_append(p, names[i]);
	}
}

static int probe_xsave(struct kerndat *kd, struct kerndat_probe *p)
{
	unsigned int a, b, c, d;
	char buf[96];

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return kd_fail(p, -ENODEV, "no cpuid leaf 1");
	if (!(c & bit_XSAVE))
		return kd_fail(p, -ENODEV, "CPU without XSAVE");
	if (!(c & bit_OSXSAVE))
		return kd_fail(p, -ENODEV, "XSAVE not enabled by the kernel");

	kd->xcr0 = xgetbv(0);
	__cpuid_count(0xd, 0, a, b, c, d);
	kd->xsave_supported = ((uint64_t)d << 32) | a;
	kd->xsave_size = b;
	kd->xsave_max_size = c;
	__cpuid_count(0xd, 1, a, b, c, d);

	kd_ok(p, "xcr0 0x%" PRIx64 ",", kd->xcr0);
	xsave_names(kd->xcr0, p);
	snprintf(buf, sizeof(buf), "; %u bytes%s%s%s", kd->xsave_size,
		 (a & 1) ? ", xsaveopt" : "", (a & 2) ? ", xsavec" : "", (a & 8) ? ", xsaves" : "");
	kd_append(p, buf);
	return 0;
}
#else
static int probe_xsave(struct kerndat *kd, struct kerndat_probe *p)
{
	(void)kd;
	return kd_fail(p, -EOPNOTSUPP, "not an x86_64 build");
}
#endif

/* ---- dirty tracking, time namespaces ---- */

static int probe_dirty_tracking(struct kerndat *kd, struct kerndat_probe *p)
{
	kd->dirty = KD_DIRTY_NONE;
	if (kerndat_has(KD_SOFT_DIRTY)) {
		kd->dirty = KD_DIRTY_SOFT_DIRTY;
		return kd_ok(p, "soft-dirty");
	}
	if (!kerndat_has(KD_PAGEMAP_SCAN) || !kerndat_has(KD_UFFD_WP_ASYNC))
		return kd_fail(p, -EOPNOTSUPP, "none: no soft-dirty, no %s: every round copies all pages",
			       !kerndat_has(KD_UFFD_WP_ASYNC) ? "uffd-wp async" : "pagemap-scan");
	if (uffd_wp_roundtrip(kd->uffd_flags, kd->uffd_features, p))
		return p->err;
	kd->dirty = KD_DIRTY_UFFD_WP;
	return 0;
}

static int probe_timens(struct kerndat *kd, struct kerndat_probe *p)
{
	pid_t pid;
	int ret;

	(void)kd;
	if (access("/proc/self/ns/time", F_OK))
		return kd_fail(p, -errno, "no /proc/self/ns/time (Linux 5.6+)");

	/* A child makes a time namespace for its own children and exits: nothing is left. */
	pid = fork();
	if (pid < 0)
		return kd_fail(p, -errno, "fork: %s", errstr(errno));
	if (pid == 0)
		_exit(unshare(CLONE_NEWTIME) ? errno : 0);
	ret = reap(pid);
	if (ret < 0)
		return kd_fail(p, ret, "test child: %s", errstr(ret));
	if (ret > 0)
		return kd_fail(p, -ret, "unshare(CLONE_NEWTIME): %s", errstr(ret));
	return kd_ok(p, "unshare(CLONE_NEWTIME) works");
}

/* A group with an inode mark on "/" (never fires: a directory is not written), read back. */
static int probe_fanotify(struct kerndat *kd, struct kerndat_probe *p)
{
	_cleanup_close_ int fd = -1;
	char path[64], buf[1024];
	int ret;

	(void)kd;
	fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
	if (fd < 0)
		return kd_fail(p, -errno, "fanotify_init: %s", errstr(errno));
	if (fanotify_mark(fd, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, "/"))
		return kd_fail(p, -errno, "fanotify_mark: %s", errstr(errno));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ret = read_str(path, buf, sizeof(buf));
	if (ret < 0)
		return kd_fail(p, ret, "%s: %s", path, errstr(ret));
	if (!strstr(buf, "fanotify ino:") || !strstr(buf, "f_handle:"))
		return kd_fail(p, -EPROTO, "no mark with a file handle in fdinfo");
	return kd_ok(p, "fanotify_init, marks in fdinfo with file handles");
}

/* ---- the cache ---- */

typedef int (*probe_fn)(struct kerndat *kd, struct kerndat_probe *p);

static const probe_fn probes[KD__MAX] = {
	[KD_PTRACE_SEIZE]	= probe_ptrace_seize,
	[KD_CLONE3_SET_TID]	= probe_clone3_set_tid,
	[KD_PAGEMAP_SCAN]	= probe_pagemap_scan,
	[KD_UFFD_WP_ASYNC]	= probe_uffd_wp_async,
	[KD_SOFT_DIRTY]		= probe_soft_dirty,
	[KD_TCP_REPAIR]		= probe_tcp_repair,
	[KD_VDSO]		= probe_vdso,
	[KD_FREEZER_V1]		= probe_freezer_v1,
	[KD_FREEZER_V2]		= probe_freezer_v2,
	[KD_MEMFD]		= probe_memfd,
	[KD_PIDFD]		= probe_pidfd,
	[KD_MM_MAP]		= probe_mm_map,
	[KD_XSAVE]		= probe_xsave,
	[KD_DIRTY_TRACKING]	= probe_dirty_tracking,
	[KD_TIMENS]		= probe_timens,
	[KD_FANOTIFY]		= probe_fanotify,
};

const struct kerndat_probe *kerndat_probe(enum kerndat_feature f)
{
	struct kerndat_probe *p;

	if ((unsigned int)f >= KD__MAX)
		return NULL;
	p = &kd_cache.probes[f];
	if (!p->done) {
		p->done = true;		/* set first: a probe may ask for others, never for itself */
		probes[f](&kd_cache, p);
		pr_debug("%s: %s (%s)", feature_names[f], p->present ? "yes" : "no", p->detail);
	}
	return p;
}

bool kerndat_has(enum kerndat_feature f)
{
	const struct kerndat_probe *p = kerndat_probe(f);

	return p && p->present;
}

const struct kerndat *kerndat_get(void)
{
	int f;

	for (f = 0; f < KD__MAX; f++)
		kerndat_probe(f);
	return &kd_cache;
}

const struct kerndat *kerndat_cache(void)
{
	return &kd_cache;
}

const char *kerndat_feature_name(enum kerndat_feature f)
{
	return (unsigned int)f < KD__MAX ? feature_names[f] : NULL;
}

int kerndat_feature_lookup(const char *name)
{
	int f;

	for (f = 0; f < KD__MAX; f++)
		if (!strcmp(feature_names[f], name))
			return f;
	return -ENOENT;
}

const char *kerndat_dirty_name(enum kerndat_dirty d)
{
	switch (d) {
	case KD_DIRTY_SOFT_DIRTY:
		return "soft-dirty";
	case KD_DIRTY_UFFD_WP:
		return "uffd-wp+pagemap-scan";
	case KD_DIRTY_NONE:
		break;
	}
	return "none";
}
