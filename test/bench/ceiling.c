/*
 * The machine's ceilings for dump and restore, printed as seconds:
 *   ceiling write PATH MIB [HOW]
 *                            write MIB MiB into the new file PATH, fsync'ed, as dump writes
 *                            its pages (PATH in /dev/shm); HOW: "hot" (from one 4 MiB buffer
 *                            in the caches, the default) or "cold" (from MIB MiB of anonymous
 *                            memory touched before the clock starts, as dump reads the task's
 *                            memory: each source byte comes from RAM once; the second of two
 *                            passes is timed, see write_file())
 *   ceiling fill MIB [HOW]   map MIB MiB of fresh anonymous memory and write every byte, as
 *                            restore must fault in and fill every page; HOW: "touch" (fault
 *                            page by page while writing, the default) or "populate" (fault
 *                            all in first with MADV_POPULATE_WRITE, then write) or "kernel"
 *                            (the kernel writes every page through its own mapping, as
 *                            restore does: UFFDIO_COPY from a hot 2 MiB buffer, or
 *                            process_vm_writev() without a userfaultfd; no access through
 *                            our mapping, which costs a shadow fault per page here)
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/userfaultfd.h>

#define CHUNK	(4UL << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One pass of write_file(): @len bytes into the new file @path, fsync'ed; the seconds it took. */
static double write_pass(const char *path, const unsigned char *buf, size_t len, bool cold)
{
	size_t done = 0;
	double t0;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	t0 = now();
	while (done < len) {
		ssize_t n = write(fd, cold ? buf + done : buf, len - done < CHUNK ? len - done : CHUNK);

		if (n <= 0) {
			perror("write");
			exit(1);
		}
		done += n;
	}
	fsync(fd);
	close(fd);
	t0 = now() - t0;
	unlink(path);
	return t0;
}

/*
 * Write @len bytes into the new file @path, 4 MiB per write(): "hot" from one 4 MiB buffer
 * (in the caches), "cold" from @len bytes of anonymous memory touched page by page before the
 * clock starts (as a dumped task's memory: every source byte comes from RAM once).
 *
 * "cold" times its second pass: this VM's host backs guest memory lazily and takes back what
 * the guest frees (free page reporting), so the first pass into @len bytes of tmpfs pages that
 * nothing used lately pays a host fault per page on top, 0.4 to 2 s more for 1 GiB, at random.
 * The dump in bench.py writes into pages its ceilings just freed, so it does not pay that.
 */
static int write_file(const char *path, size_t len, const char *how)
{
	bool cold = !strcmp(how, "cold");
	unsigned char *buf;
	size_t off;

	if (cold) {
		buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buf == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (off = 0; off < len; off += 4096)
			memset(buf + off, (int)(off >> 12) | 1, 4096);
	} else {
		buf = malloc(CHUNK);
		if (!buf)
			return 1;
		memset(buf, 0x5a, CHUNK);
	}
	if (cold)
		write_pass(path, buf, len, cold);
	printf("%.6f\n", write_pass(path, buf, len, cold));
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define KCHUNK	(2UL << 20)

static unsigned char kbuf[KCHUNK] __attribute__((aligned(4096)));

/* UFFDIO_COPY every page of @p from kbuf; 1 if there is no userfaultfd here. */
static int fill_uffd(unsigned char *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { (uintptr_t)p, len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy c;
	size_t off;
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return 1;
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		close(fd);
		return 1;
	}
	for (off = 0; off < len; off += KCHUNK) {
		c = (struct uffdio_copy){ (uintptr_t)p + off, (uintptr_t)kbuf,
					  len - off < KCHUNK ? len - off : KCHUNK, 0, 0 };
		if (ioctl(fd, UFFDIO_COPY, &c)) {
			perror("UFFDIO_COPY");
			exit(1);
		}
	}
	close(fd);
	return 0;
}

/* Every byte of @p written by the kernel through its own mapping of the pages. */
static int fill_kernel(unsigned char *p, size_t len)
{
	unsigned char *buf = kbuf;
	struct iovec local = { buf, 0 }, remote;
	size_t off;

	memset(buf, 0xa5, KCHUNK);
	if (!fill_uffd(p, len))
		return 0;
	for (off = 0; off < len; off += local.iov_len) {
		local.iov_len = len - off < KCHUNK ? len - off : KCHUNK;
		remote.iov_base = p + off;
		remote.iov_len = local.iov_len;
		if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)local.iov_len) {
			perror("process_vm_writev");
			return 1;
		}
	}
	return 0;
}

static int fill(size_t len, const char *how)
{
	unsigned char *p;
	double t0;

	t0 = now();
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (!strcmp(how, "populate") && madvise(p, len, MADV_POPULATE_WRITE)) {
		perror("madvise(MADV_POPULATE_WRITE)");
		return 1;
	}
	if (!strcmp(how, "kernel")) {
		if (fill_kernel(p, len))
			return 1;
	} else {
		memset(p, 0xa5, len);
	}
	printf("%.6f\n", now() - t0);
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "write"))
		return write_file(argv[2], strtoul(argv[3], NULL, 0) << 20,
				  argc == 5 ? argv[4] : "hot");
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "fill"))
		return fill(strtoul(argv[2], NULL, 0) << 20, argc == 4 ? argv[3] : "touch");
	fprintf(stderr, "usage: %s write PATH MIB [hot|cold] | fill MIB [touch|populate|kernel]\n", argv[0]);
	return 2;
}
