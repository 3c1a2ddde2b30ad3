/* Copy-on-write sharing with the parent, from the frame numbers of pagemap (see cow.h). */
#include "core/cow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cleanup.h"
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

int cow_count_shared(pid_t pid, pid_t parent, const struct page_runs *runs,
		     uint64_t *ret_shared)
{
	_cleanup_close_ int fd = -1, pfd = -1;
	uint64_t a[CHUNK], b[CHUNK], addr, shared = 0;
	bool seen_pfn = false;
	size_t i, n, j;
	int ret;

	fd = pagemap_fd(pid);
	if (fd < 0)
		return fd;
	pfd = pagemap_fd(parent);
	if (pfd < 0)
		return pfd;
	for (i = 0; i < runs->nr; i++) {
		for (addr = runs->r[i].start; addr < runs->r[i].end; addr += n * PAGE_SIZE) {
			n = (runs->r[i].end - addr) / PAGE_SIZE;
			if (n > CHUNK)
				n = CHUNK;
			ret = read_entries(fd, addr, n, a);
			if (!ret)
				ret = read_entries(pfd, addr, n, b);
			if (ret)
				return ret;
			for (j = 0; j < n; j++) {
				if (!(a[j] & PM_PRESENT))
					continue;
				seen_pfn |= (a[j] & PM_PFN_MASK) != 0;
				shared += (b[j] & PM_PRESENT) && (a[j] & PM_PFN_MASK) &&
					  (a[j] & PM_PFN_MASK) == (b[j] & PM_PFN_MASK);
			}
		}
	}
	if (runs->nr_pages && !seen_pfn)
		return -EPERM;
	*ret_shared = shared;
	return 0;
}
