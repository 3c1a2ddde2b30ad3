/* Copy-on-write sharing with the parent, from the frame numbers of pagemap (see cow.h). */
#include "core/cow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/page.h"
#include "core/pagemap-scan.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define CHUNK		512

static int pagemap_fd(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int read_entries(int fd, uint64_t addr, size_t n, uint64_t *e)
{
	ssize_t got = pread(fd, e, n * sizeof(*e), (off_t)(addr / PAGE_SIZE * sizeof(*e)));

	if (got < 0)
		return -errno;
	return got == (ssize_t)(n * sizeof(*e)) ? 0 : -EIO;
}

int cow_open(struct cow_pair *p, pid_t pid, pid_t parent)
{
	p->seen_pfn = false;
	p->pfd = -1;
	p->fd = pagemap_fd(pid);
	if (p->fd < 0)
		return p->fd;
	p->pfd = pagemap_fd(parent);
	if (p->pfd < 0) {
		int ret = p->pfd;

		cow_close(p);
		return ret;
	}
	return 0;
}

void cow_close(struct cow_pair *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->pfd >= 0)
		close(p->pfd);
	p->fd = p->pfd = -1;
}

int cow_find_shared(struct cow_pair *p, uint64_t start, uint64_t end, struct page_runs *shared)
{
	uint64_t a[CHUNK], b[CHUNK], addr, pfn;
	size_t n, j;
	int ret;

	for (addr = start; addr < end; addr += n * PAGE_SIZE) {
		n = (end - addr) / PAGE_SIZE;
		if (n > CHUNK)
			n = CHUNK;
		ret = read_entries(p->fd, addr, n, a);
		if (!ret)
			ret = read_entries(p->pfd, addr, n, b);
		if (ret)
			return ret;
		for (j = 0; j < n; j++) {
			if (!(a[j] & PM_PRESENT))
				continue;
			pfn = a[j] & PM_PFN_MASK;
			p->seen_pfn |= pfn != 0;
			if (!pfn || !(b[j] & PM_PRESENT) || (b[j] & PM_PFN_MASK) != pfn)
				continue;
			ret = page_runs_add(shared, addr + j * PAGE_SIZE, addr + (j + 1) * PAGE_SIZE);
			if (ret)
				return ret;
		}
	}
	return 0;
}
