/* The checkpoint/restore test protocol: see zdtmtst.h. */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

volatile sig_atomic_t test_sig_flag;

static const char *pidfile;
static const char *outfile;
static const char *scratch_dir;
static char tmp_dir[64];

static void sigterm_handler(int sig)
{
	(void)sig;
	test_sig_flag = 1;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s --pidfile FILE --outfile FILE [--dir DIR]\n", prog);
	exit(1);
}

static int parse_opts(int argc, char **argv);

void test_init(int argc, char **argv)
{
	if (parse_opts(argc, argv) != argc)
		usage(argv[0]);
}

int test_init_args(int argc, char **argv, char ***ret_argv)
{
	int first = parse_opts(argc, argv);

	*ret_argv = argv + first;
	return argc - first;
}

static int parse_opts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pidfile", required_argument, NULL, 'p' },
		{ "outfile", required_argument, NULL, 'o' },
		{ "dir",     required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pidfile = optarg; break;
		case 'o': outfile = optarg; break;
		case 'd': scratch_dir = optarg; break;
		default: usage(argv[0]);
		}
	}
	if (!pidfile || !outfile)
		usage(argv[0]);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigterm_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL))
		fail("sigaction(SIGTERM): %m");
	return optind;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

void test_ready(void)
{
	char tmp[PATH_MAX], buf[32];
	int fd, len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail("cannot create '%s': %m", tmp);
	len = snprintf(buf, sizeof(buf), "%d\n", getpid());
	if (write_all(fd, buf, len) || close(fd))
		fail("cannot write '%s': %m", tmp);
	if (rename(tmp, pidfile))
		fail("cannot rename '%s' to '%s': %m", tmp, pidfile);
}

void test_waitsig(void)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, SIGTERM);
	while (!test_sig_flag)
		sigsuspend(&old);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
}

const char *test_dir(void)
{
	if (scratch_dir)
		return scratch_dir;
	if (!tmp_dir[0]) {
		snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/zdtm-%d", getpid());
		if (mkdir(tmp_dir, 0700) && errno != EEXIST)
			fail("cannot create '%s': %m", tmp_dir);
	}
	return tmp_dir;
}

void test_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn)) verdict(int code, const char *word, const char *fmt,
					      va_list ap)
{
	char buf[1024];
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%s", word);
	if (fmt) {
		len += snprintf(buf + len, sizeof(buf) - len, ": ");
		if (len < (int)sizeof(buf))
			len += vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	}
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';

	fflush(stdout);
	fflush(stderr);
	fd = outfile ? open(outfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	if (fd < 0 || write_all(fd, buf, len))
		write_all(STDERR_FILENO, buf, len);
	if (fd >= 0)
		close(fd);
	if (tmp_dir[0])
		rmdir(tmp_dir);
	_exit(code);
}

void pass(void)
{
	va_list ap;

	memset(&ap, 0, sizeof(ap));
	verdict(0, "PASS", NULL, ap);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(1, "FAIL", fmt, ap);
}

void skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verdict(77, "SKIP", fmt, ap);
}

uint64_t test_rand_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

void test_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t st = seed ? seed : 0x9E3779B97F4A7C15ULL, v;
	unsigned char *p = buf;

	while (len >= 8) {
		v = test_rand_next(&st);
		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		v = test_rand_next(&st);
		memcpy(p, &v, len);
	}
}

uint64_t test_csum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int test_send_fds(int sk, const void *data, size_t len, const int *fds, int n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * TEST_MAX_FDS)];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)data, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t ret;

	if (n < 0 || n > TEST_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (n) {
		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	ret = sendmsg(sk, &m, 0);
	if (ret >= 0 && (size_t)ret != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

ssize_t test_recv_fds(int sk, void *buf, size_t len, int *fds, int max, int *nfds, int flags)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * TEST_MAX_FDS)];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
			    .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	ssize_t ret;
	int n = 0;

	ret = recvmsg(sk, &m, flags);
	if (ret < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (n > max)
			n = max;
		memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
		break;
	}
	*nfds = n;
	return ret;
}

int test_wait_zombie(pid_t pid)
{
	siginfo_t si;

	while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int test_reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

long test_pages_shared(pid_t a, pid_t b, const void *p, long n)
{
	const uint64_t pfn = (1ULL << 55) - 1;
	off_t off = (off_t)((uintptr_t)p / 4096 * 8);
	uint64_t *ea = calloc(n ? n : 1, 8), *eb = calloc(n ? n : 1, 8);
	long shared = 0, i;
	char path[64];
	int fa, fb;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", a);
	fa = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", b);
	fb = open(path, O_RDONLY | O_CLOEXEC);
	if (!ea || !eb || fa < 0 || fb < 0 || pread(fa, ea, n * 8, off) != n * 8 ||
	    pread(fb, eb, n * 8, off) != n * 8)
		shared = -1;
	for (i = 0; shared >= 0 && i < n; i++)
		shared += (ea[i] >> 63) && (eb[i] >> 63) && (ea[i] & pfn) &&
			  (ea[i] & pfn) == (eb[i] & pfn);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(ea);
	free(eb);
	return shared;
}
