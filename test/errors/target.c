/*
 * The target of the error cases (test/errors/cases.py): a zdtm-protocol program that counts and
 * publishes its count in <dir>/counter every 10 ms, so the runner can see it keeps running, and
 * holds one kind of state chosen by its arguments:
 *
 *   plain           nothing more
 *   fd PATH         PATH open O_RDWR
 *   map PATH        PATH mapped MAP_PRIVATE (the fd closed)
 *   threads N       N more threads, each counting on its own
 *   pipe            a pipe with data queued in it
 *   socket          a unix socketpair with data queued in it
 *   mem MIB         MIB MiB of anonymous memory filled with pseudo-random data
 *   children N      N child processes, sleeping
 *
 * After SIGTERM it checks that all of it still works (threads still counting, pipe data intact)
 * and reports PASS.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define MAX_THREADS	16
#define PIPE_MSG	"queued in the pipe"

static volatile unsigned long thread_count[MAX_THREADS];
static volatile int stop_threads;

static void *counter_thread(void *arg)
{
	volatile unsigned long *c = arg;

	while (!stop_threads) {
		(*c)++;
		usleep(1000);
	}
	return NULL;
}

static void publish(const char *path, unsigned long n)
{
	char buf[32];
	int fd, len;

	len = snprintf(buf, sizeof(buf), "%lu\n", n);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (pwrite(fd, buf, len, 0) != len)
		test_msg("cannot write '%s': %m", path);
	close(fd);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10000000 };
	pthread_t threads[MAX_THREADS];
	unsigned long count = 0, snap[MAX_THREADS];
	pid_t kids[MAX_THREADS];
	int nr_kids = 0, status;
	int nr_threads = 0, pfd[2] = { -1, -1 }, fd = -1, nargs, i;
	char counter_path[PATH_MAX], buf[64], **args;
	void *map = MAP_FAILED, *mem = MAP_FAILED;
	size_t mem_len = 0;
	uint64_t mem_sum = 0;

	nargs = test_init_args(argc, argv, &args);
	if (nargs < 1)
		fail("usage: target [options] plain|fd PATH|map PATH|threads N|pipe");
	snprintf(counter_path, sizeof(counter_path), "%s/counter", test_dir());

	if (!strcmp(args[0], "fd") && nargs == 2) {
		fd = open(args[1], O_RDWR);
		if (fd < 0)
			fail("open '%s': %m", args[1]);
	} else if (!strcmp(args[0], "map") && nargs == 2) {
		fd = open(args[1], O_RDONLY);
		if (fd < 0)
			fail("open '%s': %m", args[1]);
		map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED)
			fail("mmap '%s': %m", args[1]);
		close(fd);
		fd = -1;
	} else if (!strcmp(args[0], "threads") && nargs == 2) {
		nr_threads = atoi(args[1]);
		if (nr_threads < 1 || nr_threads > MAX_THREADS)
			fail("bad thread count '%s'", args[1]);
		for (i = 0; i < nr_threads; i++)
			if (pthread_create(&threads[i], NULL, counter_thread,
					   (void *)&thread_count[i]))
				fail("pthread_create failed");
	} else if (!strcmp(args[0], "pipe") && nargs == 1) {
		if (pipe(pfd) || write(pfd[1], PIPE_MSG, sizeof(PIPE_MSG)) != sizeof(PIPE_MSG))
			fail("pipe: %m");
	} else if (!strcmp(args[0], "socket") && nargs == 1) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, pfd) ||
		    write(pfd[1], PIPE_MSG, sizeof(PIPE_MSG)) != sizeof(PIPE_MSG))
			fail("socketpair: %m");
	} else if (!strcmp(args[0], "mem") && nargs == 2) {
		mem_len = strtoul(args[1], NULL, 0) << 20;
		mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			fail("mmap %zu: %m", mem_len);
		test_fill(mem, mem_len, 99);
		mem_sum = test_csum(mem, mem_len);
	} else if (!strcmp(args[0], "children") && nargs == 2) {
		nr_kids = atoi(args[1]);
		if (nr_kids < 1 || nr_kids > MAX_THREADS)
			fail("bad child count '%s'", args[1]);
		for (i = 0; i < nr_kids; i++) {
			kids[i] = fork();
			if (kids[i] < 0)
				fail("fork: %m");
			if (kids[i] == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				for (;;)
					pause();
			}
		}
	} else if (strcmp(args[0], "plain") || nargs != 1) {
		fail("unknown mode '%s'", args[0]);
	}

	publish(counter_path, count);
	test_ready();
	while (!test_sig_flag) {
		publish(counter_path, ++count);
		nanosleep(&ts, NULL);
	}

	for (i = 0; i < nr_threads; i++)
		snap[i] = thread_count[i];
	usleep(100000);
	for (i = 0; i < nr_threads; i++)
		if (thread_count[i] == snap[i])
			fail("thread %d stopped counting", i);
	stop_threads = 1;
	for (i = 0; i < nr_threads; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < nr_kids; i++)
		if (waitpid(kids[i], &status, WNOHANG) != 0)
			fail("child %d is gone", kids[i]);
	for (i = 0; i < nr_kids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], &status, 0);
	}

	if (pfd[0] >= 0) {
		if (read(pfd[0], buf, sizeof(buf)) != sizeof(PIPE_MSG) || strcmp(buf, PIPE_MSG))
			fail("the %s lost its data", args[0]);
	}
	if (fd >= 0 && fcntl(fd, F_GETFD) < 0)
		fail("the file fd is gone");
	if (map != MAP_FAILED)
		munmap(map, 4096);
	if (mem != MAP_FAILED && test_csum(mem, mem_len) != mem_sum)
		fail("the memory changed");
	unlink(counter_path);
	pass();
}
