/*
 * Kernel uapi constants and structs newer than the Debian 12 (Linux 6.1) headers we build against.
 * Each is guarded so that newer headers win. Freestanding: only <linux/...> type headers are
 * included, so pie/ code can use it too.
 *
 * Do not include <linux/fs.h> for PAGEMAP_SCAN: with glibc it clashes with <sys/mount.h>. This
 * header defines the whole PAGEMAP_SCAN interface on its own.
 */
#ifndef COMMON_UAPI_COMPAT_H
#define COMMON_UAPI_COMPAT_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/userfaultfd.h>

/* ---- PAGEMAP_SCAN ioctl on /proc/PID/pagemap (Linux 6.7) ---- */
#ifndef PAGEMAP_SCAN

/* Categories: used in pm_scan_arg masks and reported in page_region.categories. */
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)

struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

/* pm_scan_arg.flags */
#define PM_SCAN_WP_MATCHING	(1 << 0)	/* write-protect the pages matched */
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)	/* fail (EPERM) on a VMA not registered for async WP */

struct pm_scan_arg {
	__u64 size;			/* sizeof(struct pm_scan_arg) */
	__u64 flags;
	__u64 start;			/* range to walk, page aligned */
	__u64 end;
	__u64 walk_end;			/* out: where the walk stopped */
	__u64 vec;			/* user pointer to struct page_region[vec_len] */
	__u64 vec_len;
	__u64 max_pages;		/* 0: no limit */
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN		_IOWR('f', 16, struct pm_scan_arg)

#endif /* PAGEMAP_SCAN */

#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)	/* Linux 6.14: MADV_GUARD_INSTALL markers */
#endif

/* ---- bits of a /proc/PID/pagemap entry (Documentation/admin-guide/mm/pagemap.rst) ---- */
#ifndef PME_SOFT_DIRTY
#define PME_PFN_MASK		((1ULL << 55) - 1)
#define PME_SOFT_DIRTY		(1ULL << 55)
#define PME_MMAP_EXCLUSIVE	(1ULL << 56)
#define PME_UFFD_WP		(1ULL << 57)
#define PME_FILE		(1ULL << 61)
#define PME_SWAP		(1ULL << 62)
#define PME_PRESENT		(1ULL << 63)
#endif

/* ---- userfaultfd ---- */
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	(1 << 12)	/* 6.0 */
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)	/* 6.4 */
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)	/* 6.6 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)	/* 6.7 */
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1 << 16)	/* 6.8 */
#endif

#ifndef UFFDIO_MOVE
#define _UFFDIO_MOVE			(0x05)
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE		((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	((__u64)1 << 1)
	__u64 mode;
	__s64 move;			/* out: bytes moved or -errno */
};
#define UFFDIO_MOVE			_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)
#endif

#ifndef UFFDIO_POISON
#define _UFFDIO_POISON			(0x08)
struct uffdio_poison {
	struct uffdio_range range;
#define UFFDIO_POISON_MODE_DONTWAKE	((__u64)1 << 0)
	__u64 mode;
	__s64 updated;
};
#define UFFDIO_POISON			_IOWR(UFFDIO, _UFFDIO_POISON, struct uffdio_poison)
#endif

/* ---- memfd_create flags (6.3) ---- */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL		0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC		0x0010U
#endif

/* ---- prctl ---- */
#ifndef PR_SET_MM
#define PR_SET_MM		35
#endif
#ifndef PR_SET_MM_MAP
#define PR_SET_MM_MAP		14
#define PR_SET_MM_MAP_SIZE	15
#endif
#ifndef PR_SET_MDWE
#define PR_SET_MDWE		65	/* 6.3: memory-deny-write-execute */
#define PR_GET_MDWE		66
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN	(1UL << 0)
#endif
#ifndef PR_MDWE_NO_INHERIT
#define PR_MDWE_NO_INHERIT		(1UL << 1)
#endif

/* ---- x86 shadow stack, arch_prctl (6.6) ---- */
#ifndef ARCH_SHSTK_ENABLE
#define ARCH_SHSTK_ENABLE	0x5001
#define ARCH_SHSTK_DISABLE	0x5002
#define ARCH_SHSTK_LOCK		0x5003
#define ARCH_SHSTK_UNLOCK	0x5004
#define ARCH_SHSTK_STATUS	0x5005
#define ARCH_SHSTK_SHSTK	(1ULL << 0)
#define ARCH_SHSTK_WRSS		(1ULL << 1)
#endif
#ifndef NT_X86_SHSTK
#define NT_X86_SHSTK		0x204
#endif

/* ---- madvise / mmap ---- */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102	/* 6.13 */
#define MADV_GUARD_REMOVE	103
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE		0x08	/* 6.11 */
#endif

/* ---- pidfd (<linux/pidfd.h> clashes with glibc's <fcntl.h>: use these instead) ---- */
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK		00004000	/* O_NONBLOCK */
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD		00000200	/* O_EXCL; 6.9 */
#endif

/* ---- syscall numbers (x86_64), in case libc headers lack them ---- */
#if defined(__x86_64__)
#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_clone3
#define __NR_clone3		435
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd	438
#endif
#endif

/*
 * clone3's struct clone_args with set_tid (VER1, 5.5) and cgroup (VER2, 5.7) is in the 6.1 headers:
 * use <linux/sched.h>. CLONE_ARGS_SIZE_VER2 is 88.
 */

#endif /* COMMON_UAPI_COMPAT_H */
