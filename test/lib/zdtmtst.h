/*
 * The checkpoint/restore test protocol, as zdtm has it.
 *
 * A test program sets up its state, calls test_ready() (the runner then dumps and restores it),
 * test_waitsig() (returns once SIGTERM arrived, i.e. after the restore), checks its state from the
 * inside and ends with pass(), fail() or skip(). The runner passes:
 *
 *   --pidfile F   test_ready() writes our pid there (atomically: tmp file + rename)
 *   --outfile F   pass()/fail()/skip() append "PASS", "FAIL: reason" or "SKIP: reason" there
 *   --dir D       optional: a scratch directory the test may use (test_dir())
 *
 * Exit codes: 0 pass, 1 fail, 77 skip.
 */
#ifndef ZDTMTST_H
#define ZDTMTST_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Set (to 1) by the SIGTERM handler test_init() installs. */
extern volatile sig_atomic_t test_sig_flag;

/*
 * Parses the runner's options; exits 1 on bad usage. Installs the SIGTERM handler. Arguments
 * after the options are refused unless the test asks for them with test_extra_args().
 */
void test_init(int argc, char **argv);

/* Like test_init(), but leaves the positional arguments in *ret_argv; returns their number. */
int test_init_args(int argc, char **argv, char ***ret_argv);

/* Writes our pid to the pidfile: from now on the runner may dump us. */
void test_ready(void);

/* Blocks until SIGTERM arrived (returns at once if it already has). */
void test_waitsig(void);

/* The scratch directory: --dir, or a fresh /tmp/zdtm-<pid> made on first use. Never NULL. */
const char *test_dir(void);

/* Messages to stderr (which the runner appends to the outfile), with a newline. */
void test_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* End the test: write the verdict to the outfile and exit 0 / 1 / 77. */
void pass(void) __attribute__((noreturn));
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Deterministic pseudo-random data (xorshift64*), so a test can recompute what it wrote. */
uint64_t test_rand_next(uint64_t *state);
void test_fill(void *buf, size_t len, uint64_t seed);

/* FNV-1a 64 over @len bytes. */
uint64_t test_csum(const void *buf, size_t len);

#define TEST_MAX_FDS	8

/* Send one message of @len bytes of @data on @sk, with the @n (<= TEST_MAX_FDS) fds @fds in
 * flight (SCM_RIGHTS; @n 0: none). 0, or -1 (errno; a short send: EMSGSIZE). */
int test_send_fds(int sk, const void *data, size_t len, const int *fds, int n);

/* Receive one message on @sk (recvmsg() @flags) into @buf, @len bytes at most, and the fds in
 * flight with it into @fds (@max at most; *@nfds: how many came). Its length, or -1 (errno). */
ssize_t test_recv_fds(int sk, void *buf, size_t len, int *fds, int max, int *nfds, int flags);

/* Wait, without reaping it, until our child @pid is a zombie. 0, or -1 (errno). */
int test_wait_zombie(pid_t pid);

/* Reap our child @pid (EINTR retried): its wait status, or -1 (errno). */
int test_reap(pid_t pid);

/* How many of the @n pages at @p are the same physical pages in tasks @a and @b (present in
 * both: shared copy-on-write, or shared memory), from their pagemaps; -1: unreadable. */
long test_pages_shared(pid_t a, pid_t b, const void *p, long n);

#endif
