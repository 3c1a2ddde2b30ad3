/*
 * The victim of test-compel. Modes:
 *   busy   compute a hash chain (integer and floating point) and write each step to stdout,
 *          count SIGRTMIN, until SIGTERM; then check its pattern buffer and write REC_END
 *   read   block in read(0) and report what it got (REC_READ)
 *   sleep  nanosleep for argv[2] ms and report the elapsed ms and the result (REC_SLEEP)
 * Every mode first writes REC_HELLO {pattern buffer address, length, pid}.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test-proto.h"

#define BUF_LEN		(4 << 20)

static volatile sig_atomic_t nr_rt, stop;

static void on_rt(int sig)
{
	(void)sig;
	nr_rt++;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void put(uint64_t kind, uint64_t a, uint64_t b, uint64_t c)
{
	struct victim_rec r = { kind, a, b, c };

	if (write(1, &r, sizeof(r)) != sizeof(r))
		exit(3);
}

static int busy(unsigned char *buf)
{
	uint64_t n, h = 1, bad = 0, i;
	double x = 1.0;

	for (n = 0; !stop; n++) {
		victim_step(n, &h, &x);
		put(REC_STEP, n, h, (uint64_t)x);
	}
	for (i = 0; i < BUF_LEN; i++)
		bad += buf[i] != pattern_byte(i);
	put(REC_END, n, nr_rt, bad);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_rt, .sa_flags = SA_RESTART };
	unsigned char *buf;
	sigset_t set;
	char data[256];
	ssize_t n;
	long t0;
	uint64_t i;
	int ret;

	if (argc < 2)
		return 2;
	buf = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 3;
	for (i = 0; i < BUF_LEN; i++)
		buf[i] = pattern_byte(i);
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	/* state for the parasite to report */
	umask(027);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	put(REC_HELLO, (uintptr_t)buf, BUF_LEN, getpid());

	if (!strcmp(argv[1], "busy"))
		return busy(buf);
	if (!strcmp(argv[1], "read")) {
		memset(data, 0, sizeof(data));
		n = read(0, data, sizeof(data) - 1);
		put(REC_READ, n < 0 ? -errno : n, data[0], n > 0 ? data[n - 1] : 0);
		return 0;
	}
	if (!strcmp(argv[1], "sleep") && argc > 2) {
		struct timespec ts = { .tv_sec = atol(argv[2]) / 1000,
				       .tv_nsec = atol(argv[2]) % 1000 * 1000000 };

		t0 = now_ms();
		ret = nanosleep(&ts, NULL);
		put(REC_SLEEP, now_ms() - t0, ret < 0 ? -errno : ret, 0);
		return 0;
	}
	return 2;
}
