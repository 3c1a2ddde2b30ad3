/*
 * kerndat: cached probes of the kernel features criu relies on.
 *
 * Each probe tries the feature for real (forks a child to seize, clones with a chosen pid, scans
 * its own pagemap, ...) and records present/absent with a short human-readable detail. Probes run
 * at most once per process and leave nothing behind (children are killed and reaped, cgroups
 * removed, fds closed). Non-logging (debug level only). Not thread-safe: call from the main
 * thread before starting others.
 *
 * Some probes fork short-lived children and reap them by pid (ptrace-seize, clone3-set-tid,
 * timens). Run them (kerndat_get(), or kerndat_probe() of what you need) before installing a
 * SIGCHLD handler that reaps any child, or that handler will see them die. All probes together
 * take about 10 ms here.
 */
#ifndef CRIU_KERNDAT_H
#define CRIU_KERNDAT_H

#include <stdbool.h>
#include <stdint.h>

enum kerndat_feature {
	KD_PTRACE_SEIZE,	/* PTRACE_SEIZE + PTRACE_INTERRUPT on a child */
	KD_CLONE3_SET_TID,	/* clone3() with set_tid gives the pid we ask for */
	KD_PAGEMAP_SCAN,	/* PAGEMAP_SCAN ioctl on /proc/PID/pagemap */
	KD_UFFD_WP_ASYNC,	/* userfaultfd UFFD_FEATURE_WP_ASYNC (+ WP_UNPOPULATED) */
	KD_SOFT_DIRTY,		/* clear_refs 4 + pagemap bit 55 */
	KD_TCP_REPAIR,		/* setsockopt(TCP_REPAIR) */
	KD_VDSO,		/* [vvar], [vvar_vclock], [vdso] found and laid out as one block */
	KD_FREEZER_V1,		/* cgroup v1 freezer: child cgroup can be created and frozen */
	KD_FREEZER_V2,		/* cgroup v2 cgroup.freeze in a child cgroup */
	KD_MEMFD,		/* memfd_create(MFD_ALLOW_SEALING) + seals */
	KD_PIDFD,		/* pidfd_open + pidfd_getfd */
	KD_MM_MAP,		/* prctl(PR_SET_MM, PR_SET_MM_MAP) */
	KD_XSAVE,		/* XSAVE enabled by the OS; XCR0 and area size known */
	KD_DIRTY_TRACKING,	/* some dirty-page tracking mechanism works (see kerndat.dirty) */
	KD_TIMENS,		/* time namespaces */
	KD_FANOTIFY,		/* fanotify groups, their marks in fdinfo with file handles */
	KD__MAX,
};

struct kerndat_probe {
	bool done;		/* the probe has run */
	bool present;
	int err;		/* 0, or the -errno of the step that failed */
	char detail[200];	/* e.g. "features 0x1ffff", "needs CAP_CHECKPOINT_RESTORE" */
};

/* How pre-dump/phaul learn which pages changed since the last round. */
enum kerndat_dirty {
	KD_DIRTY_NONE,		/* no tracking: every round copies all pages */
	KD_DIRTY_UFFD_WP,	/* userfaultfd async write-protect + PAGEMAP_SCAN PAGE_IS_WRITTEN */
	KD_DIRTY_SOFT_DIRTY,	/* clear_refs 4 + pagemap bit 55 */
};

#define KD_VDSO_MAX_AREAS	4

/* One special mapping of the vDSO block, in address order. */
struct kerndat_vdso_area {
	char name[16];		/* "vvar", "vvar_vclock", "vdso" (without brackets) */
	uint64_t start;
	uint64_t end;
};

struct kerndat_vdso {
	int nr_areas;		/* 0: no vDSO mapped */
	struct kerndat_vdso_area areas[KD_VDSO_MAX_AREAS];
	bool contiguous;	/* the areas form one block with no holes */
	uint64_t vdso_start;	/* [vdso] itself; 0 when absent */
	uint64_t vdso_size;
	uint64_t vvar_size;	/* total of the data areas ([vvar] + [vvar_vclock]) */
};

struct kerndat {
	struct kerndat_probe probes[KD__MAX];	/* indexed by enum kerndat_feature */

	/* Valid once the probe named in the comment has run. */
	uint64_t uffd_features;		/* KD_UFFD_WP_ASYNC: UFFDIO_API mask, 0 if unusable */
	int uffd_flags;			/* KD_UFFD_WP_ASYNC: UFFD_USER_MODE_ONLY when we needed it
					 * (no CAP_SYS_PTRACE, vm.unprivileged_userfaultfd=0);
					 * async write-protect works with it */
	enum kerndat_dirty dirty;	/* KD_DIRTY_TRACKING */
	struct kerndat_vdso vdso;	/* KD_VDSO */
	char freezer_v1_path[64];	/* KD_FREEZER_V1: mount point, "" when absent */
	char cgroup2_path[64];		/* KD_FREEZER_V2: cgroup2 mount point, "" when absent */
	unsigned int mm_map_size;	/* KD_MM_MAP: kernel's sizeof(struct prctl_mm_map) */
	uint64_t xcr0;			/* KD_XSAVE: user features enabled by the OS */
	uint64_t xsave_supported;	/* KD_XSAVE: user features the CPU supports */
	uint32_t xsave_size;		/* KD_XSAVE: XSAVE area size for xcr0 (standard format) */
	uint32_t xsave_max_size;	/* KD_XSAVE: size for all supported features */
};

/*
 * Runs every probe (once per process) and returns the cache. Never fails: a probe that cannot run
 * reports its feature absent. The returned struct lives until exit.
 */
const struct kerndat *kerndat_get(void);

/*
 * Runs the probe of @f (and the probes it depends on) unless it already ran, and returns its result.
 * The value fields of struct kerndat tied to @f are valid afterwards (see kerndat_cache()).
 * Returns NULL only for an @f out of range.
 */
const struct kerndat_probe *kerndat_probe(enum kerndat_feature f);

/* kerndat_probe(f)->present, false for an @f out of range. */
bool kerndat_has(enum kerndat_feature f);

/* The cache as it is now, without running anything. */
const struct kerndat *kerndat_cache(void);

/* "ptrace-seize", "clone3-set-tid", ... as used by `criu check --feature`; NULL if out of range. */
const char *kerndat_feature_name(enum kerndat_feature f);

/* The feature called @name, or -ENOENT. */
int kerndat_feature_lookup(const char *name);

/* "uffd-wp+pagemap-scan", "soft-dirty" or "none". */
const char *kerndat_dirty_name(enum kerndat_dirty d);

#endif
