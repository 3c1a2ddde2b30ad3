/*
 * criu check: reports the kernel features criu relies on, one line each, from the kerndat probes.
 * `--feature NAME` (repeatable) checks only those and fails when one is missing, so that scripts
 * can skip cleanly.
 */
#define LOG_PREFIX "check: "
#include "actions.h"
#include "opts.h"
#include "core/log.h"
#include "core/kerndat.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/compiler.h"

struct check_row {
	enum kerndat_feature feature;
	bool required;			/* dump or restore cannot run without it */
	const char *present;		/* what it is used for */
	const char *missing;		/* what happens without it */
};

static const struct check_row rows[] = {
	{ KD_PTRACE_SEIZE, true,
	  "freeze and infect tasks (dump, pre-dump)",
	  "tasks cannot be seized: no dump (dump, pre-dump)" },
	{ KD_CLONE3_SET_TID, true,
	  "tasks get their pids back (restore)",
	  "pids cannot be chosen: no restore (restore)" },
	{ KD_PAGEMAP_SCAN, false,
	  "fast page listing (dump, pre-dump)",
	  "pages listed by reading pagemap, slower (dump, pre-dump)" },
	{ KD_UFFD_WP_ASYNC, false,
	  "dirty tracking without soft-dirty (pre-dump, phaul)",
	  "no uffd-wp dirty tracking (pre-dump, phaul)" },
	{ KD_SOFT_DIRTY, false,
	  "dirty tracking (pre-dump, phaul)",
	  NULL /* depends on what replaces it: see missing_text() */ },
	{ KD_TCP_REPAIR, false,
	  "established TCP connections (--tcp-established)",
	  "established TCP connections cannot be dumped (--tcp-established)" },
	{ KD_VDSO, true,
	  "vDSO and its data pages moved as one block (restore)",
	  "vDSO layout unknown: no restore (restore)" },
	{ KD_FREEZER_V1, false,
	  "--freeze-cgroup on cgroup v1 (dump)",
	  "no --freeze-cgroup on cgroup v1; ptrace freezing still works (dump)" },
	{ KD_FREEZER_V2, false,
	  "--freeze-cgroup on cgroup v2 (dump)",
	  "no --freeze-cgroup on cgroup v2; ptrace freezing still works (dump)" },
	{ KD_MEMFD, true,
	  "parasite area and memfd files (dump, restore)",
	  "no memfd: no parasite (dump, restore)" },
	{ KD_PIDFD, false,
	  "fds taken with pidfd_getfd, race-free signals (dump, restore)",
	  "fds only through the parasite (dump)" },
	{ KD_MM_MAP, false,
	  "mm layout set in one call (restore)",
	  "mm layout needs PR_SET_MM per field and CAP_SYS_RESOURCE (restore)" },
	{ KD_XSAVE, false,
	  "FPU/AVX register state (dump, restore)",
	  "only legacy FPU state (dump, restore)" },
	{ KD_DIRTY_TRACKING, false,
	  "pre-dump rounds copy only changed pages (pre-dump, phaul)",
	  "every pre-dump round copies all pages (pre-dump, phaul)" },
	{ KD_TIMENS, false,
	  "time namespaces (dump, restore)",
	  "tasks in a time namespace cannot be dumped (dump, restore)" },
	{ KD_FANOTIFY, false,
	  "fanotify groups and their marks (dump, restore)",
	  "fanotify groups cannot be dumped (dump, restore)" },
};

static const char *missing_text(const struct check_row *r)
{
	if (r->missing)
		return r->missing;
	/* soft-dirty: say what is used instead */
	kerndat_probe(KD_DIRTY_TRACKING);
	if (kerndat_cache()->dirty == KD_DIRTY_UFFD_WP)
		return "dirty tracking falls back to uffd-wp (pre-dump, phaul)";
	return "no dirty tracking: full copy each round (pre-dump, phaul)";
}

static const struct check_row *row_of(enum kerndat_feature f)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++)
		if (rows[i].feature == f)
			return &rows[i];
	return NULL;
}

/* Prints the line of @f; returns whether it is present. */
static bool print_row(enum kerndat_feature f)
{
	const struct check_row *r = row_of(f);
	const struct kerndat_probe *p = kerndat_probe(f);

	printf("%-16s %-5s %s [%s]\n", kerndat_feature_name(f), p->present ? "yes" : "no",
	       p->present ? r->present : missing_text(r), p->detail);
	return p->present;
}

static void valid_names(char *buf, size_t size)
{
	size_t len = 0;
	int f;

	buf[0] = '\0';
	for (f = 0; f < KD__MAX && len < size; f++)
		len += snprintf(buf + len, size - len, "%s%s", f ? ", " : "",
				kerndat_feature_name(f));
}

static int check_features(const struct cr_opts *opts)
{
	int i, f, nr_missing = 0;
	char names[512];

	/* All names first: a typo must not look like a missing feature. */
	for (i = 0; i < opts->nr_features; i++) {
		if (kerndat_feature_lookup(opts->features[i]) >= 0)
			continue;
		valid_names(names, sizeof(names));
		pr_err("unknown feature '%s'; valid names: %s", opts->features[i], names);
		return -EINVAL;
	}

	for (i = 0; i < opts->nr_features; i++) {
		f = kerndat_feature_lookup(opts->features[i]);
		if (!print_row(f))
			nr_missing++;
	}
	fflush(stdout);
	if (nr_missing) {
		pr_info("%d of %d requested features missing", nr_missing, opts->nr_features);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int check_all(void)
{
	const struct kerndat *kd = kerndat_get();
	char missing[256] = "";
	int nr_present = 0, nr_required_missing = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		if (print_row(rows[i].feature)) {
			nr_present++;
			continue;
		}
		if (!rows[i].required)
			continue;
		nr_required_missing++;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 nr_required_missing > 1 ? ", " : "", kerndat_feature_name(rows[i].feature));
	}

	if (nr_required_missing) {
		printf("%d of %zu features present; missing what dump/restore need: %s\n",
		       nr_present, ARRAY_SIZE(rows), missing);
		fflush(stdout);
		return -EOPNOTSUPP;
	}
	printf("%d of %zu features present; dump and restore can run here (dirty tracking: %s)\n",
	       nr_present, ARRAY_SIZE(rows), kerndat_dirty_name(kd->dirty));
	fflush(stdout);
	return 0;
}

int action_check(const struct cr_opts *opts)
{
	_Static_assert(ARRAY_SIZE(rows) == KD__MAX, "a kerndat feature has no check row");

	if (opts->nr_features && !opts->check_all)
		return check_features(opts);
	return check_all();
}
