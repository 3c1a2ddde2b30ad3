/*
 * The benchmark's workload: holds MIB MiB of touched anonymous memory (every page written with
 * non-zero data), writes its pid to PIDFILE (tmp + rename) and sleeps until killed.
 *   memhog MIB PIDFILE
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
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MIB PIDFILE\n", argv[0]);
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
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f) || rename(tmp, argv[2])) {
		perror(argv[2]);
		return 1;
	}
	for (;;)
		pause();
}
