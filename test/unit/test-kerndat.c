/*
 * kerndat: names round-trip, probes run once, results are consistent with each other and with
 * /proc, and nothing is left behind (children, fds, cgroups, mappings). Runs as any user.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "core/kerndat.h"

static int failures;

#define CHECK(cond, fmt, ...)							\
	do {									\
		if (!(cond)) {							\
			printf("FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
			failures++;						\
		}								\
	} while (0)

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_names(void)
{
	int f;

	for (f = 0; f < KD__MAX; f++) {
		const char *name = kerndat_feature_name(f);

		CHECK(name && *name, "feature %d has no name", f);
		if (name)
			CHECK(kerndat_feature_lookup(name) == f, "lookup('%s') != %d", name, f);
	}
	CHECK(kerndat_feature_name(KD__MAX) == NULL, "name of KD__MAX");
	CHECK(kerndat_feature_lookup("no-such-feature") == -ENOENT, "unknown name found");
	CHECK(kerndat_probe(KD__MAX) == NULL, "probe of KD__MAX");
	CHECK(!kerndat_has(KD__MAX), "has(KD__MAX)");
}

/* The vDSO areas kerndat found are the ones /proc/self/maps shows, in order. */
static void test_vdso(const struct kerndat *kd)
{
	char line[512], want[KD_VDSO_MAX_AREAS][16];
	unsigned long long s, e;
	int n = 0, i;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *name = strrchr(line, ' ');

		if (!name || sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		name++;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, "[vvar]") && strcmp(name, "[vvar_vclock]") && strcmp(name, "[vdso]"))
			continue;
		if (n < KD_VDSO_MAX_AREAS) {
			snprintf(want[n], sizeof(want[n]), "%.*s", (int)strlen(name) - 2, name + 1);
			CHECK(kd->vdso.areas[n].start == s && kd->vdso.areas[n].end == e,
			      "vdso area %d address differs from maps", n);
		}
		n++;
	}
	fclose(f);
	CHECK(kd->vdso.nr_areas == n, "%d vdso areas, maps has %d", kd->vdso.nr_areas, n);
	for (i = 0; i < n && i < KD_VDSO_MAX_AREAS; i++) {
		CHECK(!strcmp(kd->vdso.areas[i].name, want[i]), "vdso area %d is '%s', maps '%s'",
		      i, kd->vdso.areas[i].name, want[i]);
		CHECK(strstr(kd->probes[KD_VDSO].detail, want[i]) != NULL,
		      "vdso detail '%s' lacks %s", kd->probes[KD_VDSO].detail, want[i]);
	}
	if (n)
		CHECK(kd->vdso.vdso_size && kd->vdso.vdso_start, "no [vdso] size/start");
}

static void test_consistency(const struct kerndat *kd)
{
	int f;

	for (f = 0; f < KD__MAX; f++) {
		const struct kerndat_probe *p = &kd->probes[f];

		CHECK(p->done, "%s did not run", kerndat_feature_name(f));
		CHECK(p->present == !p->err, "%s: present %d but err %d", kerndat_feature_name(f),
		      p->present, p->err);
		CHECK(p->err <= 0, "%s: positive err %d", kerndat_feature_name(f), p->err);
		CHECK(p->detail[0], "%s: empty detail", kerndat_feature_name(f));
		CHECK(kerndat_probe(f) == p, "%s: probe() is not the cached entry",
		      kerndat_feature_name(f));
	}

	switch (kd->dirty) {
	case KD_DIRTY_SOFT_DIRTY:
		CHECK(kd->probes[KD_SOFT_DIRTY].present, "soft-dirty tracking without soft-dirty");
		break;
	case KD_DIRTY_UFFD_WP:
		CHECK(!kd->probes[KD_SOFT_DIRTY].present, "uffd-wp chosen over soft-dirty");
		CHECK(kd->probes[KD_UFFD_WP_ASYNC].present && kd->probes[KD_PAGEMAP_SCAN].present,
		      "uffd-wp tracking without its parts");
		break;
	case KD_DIRTY_NONE:
		CHECK(!kd->probes[KD_SOFT_DIRTY].present, "soft-dirty present, tracking none");
		break;
	}
	CHECK(kd->probes[KD_DIRTY_TRACKING].present == (kd->dirty != KD_DIRTY_NONE),
	      "dirty-tracking presence disagrees with the mechanism");
	CHECK(!strcmp(kerndat_dirty_name(KD_DIRTY_NONE), "none"), "dirty name of none");

	if (kd->probes[KD_UFFD_WP_ASYNC].present)
		CHECK(kd->uffd_features, "uffd-wp-async present, no feature mask");
	if (kd->probes[KD_XSAVE].present) {
		CHECK((kd->xcr0 & 3) == 3, "xcr0 0x%llx lacks x87/sse", (unsigned long long)kd->xcr0);
		CHECK((kd->xcr0 & ~kd->xsave_supported) == 0, "xcr0 enables unsupported features");
		CHECK(kd->xsave_size >= 576 && kd->xsave_size <= kd->xsave_max_size,
		      "xsave size %u (max %u)", kd->xsave_size, kd->xsave_max_size);
	}
	if (kd->probes[KD_MM_MAP].present)
		CHECK(kd->mm_map_size > 0, "mm-map present, no size");
	if (kd->probes[KD_FREEZER_V1].present)
		CHECK(kd->freezer_v1_path[0] == '/', "freezer v1 present, no path");
	if (kd->probes[KD_FREEZER_V2].present)
		CHECK(kd->cgroup2_path[0] == '/', "freezer v2 present, no path");
}

int main(void)
{
	int fds_before, maps_before, fds_after, maps_after;
	const struct kerndat *kd;
	glob_t g;

	test_names();

	fds_before = count_dir("/proc/self/fd");
	maps_before = count_lines("/proc/self/maps");
	CHECK(!kerndat_cache()->probes[KD_MEMFD].done, "memfd probed before use");
	CHECK(kerndat_probe(KD_MEMFD)->done, "memfd not probed");
	CHECK(!kerndat_cache()->probes[KD_PIDFD].done, "one probe ran another");
	kd = kerndat_get();
	fds_after = count_dir("/proc/self/fd");
	maps_after = count_lines("/proc/self/maps");

	CHECK(kd == kerndat_cache(), "kerndat_get() is not the cache");
	CHECK(fds_before == fds_after, "fds: %d before, %d after", fds_before, fds_after);
	/* stdio may map a buffer for the first fopen(); allow one mapping of slack */
	CHECK(maps_after <= maps_before + 1, "mappings: %d before, %d after", maps_before, maps_after);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child of a probe is left");
	if (glob("/sys/fs/cgroup/*/criu-check-*", 0, NULL, &g) == 0) {
		CHECK(0, "a cgroup is left: %s", g.gl_pathv[0]);
		globfree(&g);
	}

	test_consistency(kd);
	test_vdso(kd);

	for (int f = 0; f < KD__MAX; f++)
		printf("%-16s %-3s %s\n", kerndat_feature_name(f), kd->probes[f].present ? "yes" : "no",
		       kd->probes[f].detail);
	if (failures) {
		printf("%d checks failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
