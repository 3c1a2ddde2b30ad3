/*
 * The benchmark's workload: holds MIB MiB of touched anonymous memory (every page written with
 * non-zero data), forks NCHILD sleeping children (default 0), writes its pid to PIDFILE
 * (tmp + rename) and sleeps until killed. It leads its own session and process group, so the
 * bench can kill the whole tree by group.
 *   memhog MIB PIDFILE [NCHILD]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	char tmp[4096];
	size_t len, off;
	unsigned char *p;
	long n;
	FILE *f;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s MIB PIDFILE [NCHILD]\n", argv[0]);
		return 2;
	}
	setsid();
	len = strtoul(argv[1], NULL, 0) << 20;
	if (len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (off = 0; off < len; off += 4096)
			memset(p + off, (int)(off >> 12) | 1, 64);
	}
	for (n = argc == 4 ? strtol(argv[3], NULL, 0) : 0; n > 0; n--) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			for (;;)
				pause();
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, argv[2])) {
		perror(argv[2]);
		return 1;
	}
	for (;;)
		pause();
}
