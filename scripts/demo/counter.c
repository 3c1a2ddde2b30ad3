/*
 * The demo's workload: appends an increasing number to a log file every 0.2 s, forever.
 *   counter LOGFILE
 * It starts its own session so that it is the root of what gets dumped.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 200000000 };
	unsigned long n = 0;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: %s LOGFILE\n", argv[0]);
		return 2;
	}
	setsid();
	fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	for (;;) {
		dprintf(fd, "%lu\n", ++n);
		nanosleep(&ts, NULL);
	}
}
