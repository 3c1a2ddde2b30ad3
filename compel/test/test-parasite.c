/*
 * criu's parasite through its criu-side wrappers (criu/core/parasite.c): infect a busy victim,
 * PARASITE_CMD_DUMP_MISC against what /proc and the victim say, parasite_dump_pages() of ranges
 * smaller and larger than the pipe into a file compared with the victim's pattern, cure, and
 * the victim's chain goes on unbroken. Exit 0: pass, 77: skip, other: fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/parasite.h"
#include "uapi/compel/compel.h"
#include "test-proto.h"

#define FAIL(fmt, ...) ({ printf("FAIL: %s: " fmt "\n", __func__, ##__VA_ARGS__); -1; })

static int read_rec(int fd, struct victim_rec *r, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(*r)) {
		if (poll(&p, 1, timeout_ms) != 1)
			return -ETIMEDOUT;
		n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n <= 0)
			return -EPIPE;
		got += n;
	}
	return 0;
}

static unsigned long long proc_hex(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	unsigned long long v = ~0ULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "re");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f)) {
		if (!key) {
			sscanf(line, "%llx", &v);
			break;
		}
		if (!strncmp(line, key, strlen(key))) {
			sscanf(line + strlen(key), "%llx", &v);
			break;
		}
	}
	fclose(f);
	return v;
}

static int check_misc(struct compel_ctl *ctl, pid_t pid, uint64_t blk)
{
	struct parasite_misc m;
	int ret;

	ret = parasite_dump_misc(ctl, &m);
	if (ret)
		return FAIL("dump misc: %s", strerror(-ret));
	if (m.pid != pid || m.tid != pid || m.sid != getsid(pid) || m.pgid != getpgid(pid))
		return FAIL("ids %d %d %d %d", m.pid, m.tid, m.sid, m.pgid);
	if (m.umask != 027 || m.dumpable != 1 || m.pdeath_sig != SIGUSR2 ||
	    m.child_subreaper != 0 || m.no_new_privs != 0)
		return FAIL("umask %o dumpable %d pdeath %d subreaper %d nnp %d", m.umask,
			    m.dumpable, m.pdeath_sig, m.child_subreaper, m.no_new_privs);
	if (m.personality != proc_hex(pid, "personality", NULL))
		return FAIL("personality %#x", m.personality);
	if (m.sigmask != blk || !(blk & (1ULL << (SIGUSR2 - 1))))
		return FAIL("sigmask %#llx, /proc says %#llx", (unsigned long long)m.sigmask,
			    (unsigned long long)blk);
	return 0;
}

static int check_pages(struct compel_ctl *ctl, uint64_t buf)
{
	/* offsets/lengths in pages: small, larger than the pipe, many single pages */
	static const unsigned int ranges[][2] = { { 0, 3 }, { 10, 384 }, { 400, 600 } };
	struct iovec iov[3 + 8];
	unsigned char *data;
	uint64_t bytes = 0, expect = 0, pos = 0, i, j;
	unsigned int n = 0;
	char tmpl[] = "/tmp/test-parasite-XXXXXX";
	int fd, ret;

	for (i = 0; i < 3; i++) {
		iov[n].iov_base = (void *)(uintptr_t)(buf + ranges[i][0] * 4096ULL);
		iov[n++].iov_len = ranges[i][1] * 4096ULL;
	}
	for (i = 0; i < 8; i++) {
		iov[n].iov_base = (void *)(uintptr_t)(buf + (1001 + 2 * i) * 4096ULL);
		iov[n++].iov_len = 4096;
	}
	for (i = 0; i < n; i++)
		expect += iov[i].iov_len;
	fd = mkstemp(tmpl);
	if (fd < 0)
		return FAIL("mkstemp: %m");
	unlink(tmpl);
	ret = parasite_dump_pages(ctl, iov, n, fd, &bytes);
	if (ret || bytes != expect) {
		close(fd);
		return FAIL("dump pages: %s, %llu of %llu bytes", strerror(-ret),
			    (unsigned long long)bytes, (unsigned long long)expect);
	}
	data = mmap(NULL, expect, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (data == MAP_FAILED)
		return FAIL("mmap: %m");
	for (i = 0; i < n; i++) {
		uint64_t off = (uintptr_t)iov[i].iov_base - buf;

		for (j = 0; j < iov[i].iov_len; j++, pos++)
			if (data[pos] != pattern_byte(off + j))
				break;
		if (j != iov[i].iov_len)
			break;
	}
	munmap(data, expect);
	if (i != n)
		return FAIL("range %llu differs at byte %llu", (unsigned long long)i,
			    (unsigned long long)j);
	return 0;
}

static int check_chain(pid_t pid, int out)
{
	uint64_t n = 0, h = 1;
	struct victim_rec r;
	double x = 1.0;

	kill(pid, SIGTERM);
	for (;;) {
		if (read_rec(out, &r, 10000))
			return FAIL("victim output ended after %llu steps", (unsigned long long)n);
		if (r.kind == REC_END)
			break;
		victim_step(n, &h, &x);
		if (r.kind != REC_STEP || r.a != n || r.b != h || r.c != (uint64_t)x)
			return FAIL("victim step %llu is wrong", (unsigned long long)n);
		n++;
	}
	if (r.a != n || r.c)
		return FAIL("victim end: %llu steps, %llu bad bytes", (unsigned long long)r.a,
			    (unsigned long long)r.c);
	return 0;
}

static int run(const char *victim)
{
	enum compel_task_state st;
	struct compel_ctl *ctl;
	struct victim_rec r;
	int out[2], ret, status;
	uint64_t blk;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC))
		return FAIL("pipe: %m");
	fcntl(out[1], F_SETPIPE_SZ, 1 << 20);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl(victim, "victim", "busy", NULL);
		_exit(127);
	}
	close(out[1]);
	if (read_rec(out[0], &r, 5000) || r.kind != REC_HELLO) {
		ret = FAIL("victim did not start");
		goto out_kill;
	}
	usleep(50000);
	ret = compel_seize(pid, &st);
	if (ret || st != COMPEL_TASK_ALIVE) {
		ret = FAIL("seize: %d", ret);
		goto out_kill;
	}
	blk = proc_hex(pid, "status", "SigBlk:");
	ret = parasite_infect(pid, &ctl);
	if (ret) {
		compel_release(pid, st);
		goto out_kill;
	}
	ret = check_misc(ctl, pid, blk);
	if (!ret)
		ret = check_pages(ctl, r.a);
	if (parasite_cure(ctl) || compel_release(pid, st))
		ret = FAIL("cure or release failed");
	if (!ret)
		ret = check_chain(pid, out[0]);
	if (ret)
		goto out_kill;
	close(out[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : FAIL("victim failed");

out_kill:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(out[0]);
	return ret;
}

int main(int argc, char **argv)
{
	char victim[PATH_MAX];

	if (geteuid()) {
		printf("SKIP: the parasite test needs root\n");
		return 77;
	}
	log_init(NULL, argc > 1 && !strcmp(argv[1], "-v") ? LOG_DEBUG : LOG_WARN);
	snprintf(victim, sizeof(victim), "%s/victim", dirname(strdup(argv[0])));
	if (run(victim))
		return 1;
	printf("PASS: criu parasite: infect, dump misc, dump pages, cure\n");
	return 0;
}
