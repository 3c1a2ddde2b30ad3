/*
 * Mapping attributes survive: a PROT_NONE guard area, an executable anonymous area holding code
 * we wrote (a JIT's), and areas advised MADV_DONTFORK, MADV_WIPEONFORK, MADV_DONTDUMP,
 * MADV_HUGEPAGE, MADV_RANDOM and MADV_SEQUENTIAL. After restore each has the same permissions
 * and the same madvise flags in /proc/self/smaps (VmFlags), and the code still runs.
 */
#include "zdtmtst.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE	4096UL
#define SIZE	(4 * 1024 * 1024UL)

struct area {
	const char *what;
	int advice;		/* -1: none */
	int prot;
	unsigned char *addr;
	char perms[5];
	char flags[64];		/* the madvise-related VmFlags, in smaps order */
};

static char smaps[1 << 21];
static const char *const tracked[] = { "dc", "wf", "dd", "hg", "nh", "rr", "sr" };

static void read_smaps(void)
{
	ssize_t n, len = 0;
	int fd = open("/proc/self/smaps", O_RDONLY);

	if (fd < 0)
		fail("open smaps: %m");
	while ((n = read(fd, smaps + len, sizeof(smaps) - 1 - len)) > 0)
		len += n;
	close(fd);
	smaps[len] = '\0';
}

/* Fills the area's perms and tracked flags from the smaps text. */
static void describe(struct area *a)
{
	unsigned long want = (unsigned long)a->addr, s, e;
	char *p = smaps, *vf, *eol;

	a->flags[0] = '\0';
	while (p && *p) {
		if (sscanf(p, "%lx-%lx %4s", &s, &e, a->perms) == 3 && s <= want && want < e)
			break;
		p = strstr(p, "\nVmFlags:");
		p = p ? strchr(p + 1, '\n') : NULL;
		p = p ? p + 1 : NULL;
	}
	if (!p || !*p)
		fail("%s at %p is not mapped", a->what, a->addr);
	vf = strstr(p, "VmFlags:");
	if (!vf)
		fail("no VmFlags for %s", a->what);
	eol = strchr(vf, '\n');
	if (eol)
		*eol = '\0';
	for (unsigned int i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++) {
		char word[8];

		snprintf(word, sizeof(word), " %s", tracked[i]);
		if (strstr(vf, word)) {
			strcat(a->flags, word);
		}
	}
	if (eol)
		*eol = '\n';
}

int main(int argc, char **argv)
{
	static const unsigned char code[] = { 0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3 }; /* mov $42,%eax; ret */
	struct area areas[] = {
		{ "PROT_NONE guard", -1, PROT_NONE, NULL, "", "" },
		{ "executable area", -1, PROT_READ | PROT_EXEC, NULL, "", "" },
		{ "MADV_DONTFORK area", MADV_DONTFORK, PROT_READ | PROT_WRITE, NULL, "", "" },
		{ "MADV_WIPEONFORK area", MADV_WIPEONFORK, PROT_READ | PROT_WRITE, NULL, "", "" },
		{ "MADV_DONTDUMP area", MADV_DONTDUMP, PROT_READ | PROT_WRITE, NULL, "", "" },
		{ "MADV_HUGEPAGE area", MADV_HUGEPAGE, PROT_READ | PROT_WRITE, NULL, "", "" },
		{ "MADV_RANDOM area", MADV_RANDOM, PROT_READ | PROT_WRITE, NULL, "", "" },
		{ "MADV_SEQUENTIAL area", MADV_SEQUENTIAL, PROT_READ | PROT_WRITE, NULL, "", "" },
	};
	struct area after[sizeof(areas) / sizeof(areas[0])];
	unsigned int i, nr = sizeof(areas) / sizeof(areas[0]);
	uint64_t sums[sizeof(areas) / sizeof(areas[0])];
	int (*fn)(void);

	test_init(argc, argv);
	for (i = 0; i < nr; i++) {
		/* A gap page between areas, so that none merges with its neighbour. */
		unsigned char *p = mmap(NULL, SIZE + PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			fail("mmap: %m");
		munmap(p + SIZE, PAGE);
		areas[i].addr = p;
		if (areas[i].prot != PROT_NONE)	/* a guard area holds no data */
			test_fill(p, SIZE, i + 1);
		if (i == 1)
			memcpy(p, code, sizeof(code));
		sums[i] = areas[i].prot == PROT_NONE ? 0 : test_csum(p, SIZE);
		if (areas[i].advice >= 0 && madvise(p, SIZE, areas[i].advice))
			fail("madvise %s: %m", areas[i].what);
		if (mprotect(p, SIZE, areas[i].prot))
			fail("mprotect: %m");
	}
	read_smaps();
	for (i = 0; i < nr; i++)
		describe(&areas[i]);

	test_ready();
	test_waitsig();

	memcpy(after, areas, sizeof(after));
	read_smaps();
	for (i = 0; i < nr; i++) {
		describe(&after[i]);
		if (strcmp(after[i].perms, areas[i].perms))
			fail("%s: perms %s, were %s", areas[i].what, after[i].perms, areas[i].perms);
		if (strcmp(after[i].flags, areas[i].flags))
			fail("%s: VmFlags '%s', were '%s'", areas[i].what, after[i].flags,
			     areas[i].flags);
		if (areas[i].prot != PROT_NONE && test_csum(areas[i].addr, SIZE) != sums[i])
			fail("%s: contents changed", areas[i].what);
	}
	fn = (int (*)(void))areas[1].addr;
	if (fn() != 42)
		fail("the code in the executable area does not return 42");
	pass();
}
