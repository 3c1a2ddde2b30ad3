/*
 * The address space of a process (mm-PID.img): the mm fields of /proc/PID/stat, auxv, the exe
 * link and the VMAs with the files behind them.
 *
 * Dump: read /proc/PID/smaps, classify each VMA (what it is, what of it to dump), identify the
 * file behind each file mapping through /proc/PID/map_files, refuse what we cannot dump yet.
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "mm: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "core/image.h"
#include "core/log.h"
#include "images/mm.pb-c.h"

/* ================================= dump side ================================= */

#define DELETED_SUFFIX	" (deleted)"

static bool is_deleted(const char *link, const struct stat *st)
{
	size_t l = strlen(link), sl = strlen(DELETED_SUFFIX);

	return st->st_nlink == 0 && l >= sl && !strcmp(link + l - sl, DELETED_SUFFIX);
}

static uint64_t vma_madv(unsigned int vmflags)
{
	static const struct {
		unsigned int vmf;
		int advice;
	} map[] = {
		{ VMF_DONTCOPY, MADV_DONTFORK }, { VMF_WIPEONFORK, MADV_WIPEONFORK },
		{ VMF_HUGEPAGE, MADV_HUGEPAGE }, { VMF_NOHUGEPAGE, MADV_NOHUGEPAGE },
		{ VMF_MERGEABLE, MADV_MERGEABLE }, { VMF_DONTDUMP, MADV_DONTDUMP },
		{ VMF_SEQ_READ, MADV_SEQUENTIAL }, { VMF_RAND_READ, MADV_RANDOM },
	};
	uint64_t madv = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (vmflags & map[i].vmf)
			madv |= 1ULL << map[i].advice;
	return madv;
}

static int vma_refuse(const struct dump_ctx *dc, const struct proc_vma *v, const char *what)
{
	pr_err("mapping %#" PRIx64 "-%#" PRIx64 " '%s' of task %d is %s: not supported yet",
	       v->start, v->end, v->name, dc->pid, what);
	return -EOPNOTSUPP;
}

static bool is_shared_anon_name(const char *name)
{
	return !strncmp(name, "/dev/zero", 9) || !strncmp(name, "/SYSV", 5) ||
	       !strncmp(name, "[anon_shmem:", 12);
}

/* A private anonymous VMA or one of the kernel's special ones (by name). */
static int vma_classify_anon(const struct dump_ctx *dc, const struct proc_vma *v,
			     struct dump_vma *d)
{
	const char *n = v->name;

	if (!strcmp(n, "[vdso]")) {
		d->status = VMA_STATUS__VMA_AREA_VDSO;
		return 0;
	}
	if (!strcmp(n, "[vvar]") || !strcmp(n, "[vvar_vclock]")) {
		d->status = VMA_STATUS__VMA_AREA_VVAR;
		return 0;
	}
	if (!strcmp(n, "[vsyscall]")) {
		d->status = VMA_STATUS__VMA_AREA_VSYSCALL;
		return 0;
	}
	if (v->vmflags & (VMF_IO | VMF_PFNMAP))
		return vma_refuse(dc, v, "an I/O mapping");
	if (v->shared || is_shared_anon_name(n))
		return vma_refuse(dc, v, "shared anonymous memory");
	if (n[0] && strcmp(n, "[heap]") && strcmp(n, "[stack]") && strncmp(n, "[anon:", 6))
		return vma_refuse(dc, v, "a special mapping");

	d->status = VMA_STATUS__VMA_AREA_REGULAR | VMA_STATUS__VMA_ANON_PRIVATE;
	if (!strcmp(n, "[heap]"))
		d->status |= VMA_STATUS__VMA_AREA_HEAP;
	if (!strcmp(n, "[stack]"))
		d->status |= VMA_STATUS__VMA_AREA_STACK;
	d->flags = MAP_PRIVATE | MAP_ANONYMOUS;
	d->dump = VMA_DUMP_ANON;
	return 0;
}

/* A file mapping: identify its file through /proc/PID/map_files. */
static int vma_classify_file(struct dump_ctx *dc, const struct proc_vma *v, struct dump_vma *d,
			     uint32_t first_map_id)
{
	uint32_t need = (v->shared && (v->prot & PROT_WRITE)) ? O_RDWR : O_RDONLY;
	char what[64], path[96], link[4096];
	struct reg_file *f;
	struct stat st;
	int ret;

	snprintf(what, sizeof(what), "map_files/%" PRIx64 "-%" PRIx64, v->start, v->end);
	ret = proc_readlink(dc->pid, what, link, sizeof(link));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/%d/%s", dc->pid, what);
	snprintf(path, sizeof(path), "/proc/%d/%s", dc->pid, what);
	if (stat(path, &st) < 0)
		return pr_err_ret(-errno, "cannot stat /proc/%d/%s ('%s')", dc->pid, what, link);

	if (!strncmp(link, "/memfd:", 7))
		return vma_refuse(dc, v, "a memfd mapping");
	if (!strncmp(link, "/SYSV", 5) && is_deleted(link, &st))
		return vma_refuse(dc, v, "System V shared memory");
	if (is_shared_anon_name(link) && is_deleted(link, &st)) {
		if (!v->shared)
			return vma_refuse(dc, v, "a private mapping of shared memory");
		/* MAP_SHARED|MAP_ANONYMOUS or of /dev/zero: contents go with the pages */
		d->status = VMA_STATUS__VMA_AREA_REGULAR | VMA_STATUS__VMA_ANON_SHARED;
		d->flags = MAP_SHARED | MAP_ANONYMOUS;
		d->dump = VMA_DUMP_SHMEM;
		d->shmid = st.st_ino;
		return 0;
	}
	if (is_deleted(link, &st))
		return vma_refuse(dc, v, "a mapping of a deleted file");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return vma_refuse(dc, v, "a mapping of an unusual file");

	f = reg_file_find_ino(&dc->files, st.st_dev, st.st_ino, first_map_id);
	if (f) {
		if (need == O_RDWR)
			f->flags = (f->flags & ~O_ACCMODE) | O_RDWR;
		d->file_id = f->id;
	} else {
		ret = reg_file_add(&dc->files, link, &st, need, 0, &d->file_id);
		if (ret < 0)
			return pr_err_ret(ret, "cannot record the file of mapping %#" PRIx64,
					  v->start);
	}

	d->status = VMA_STATUS__VMA_AREA_REGULAR;
	if (v->shared) {
		d->status |= VMA_STATUS__VMA_FILE_SHARED;
		d->flags = MAP_SHARED;
		d->dump = VMA_DUMP_NONE;
	} else {
		d->status |= VMA_STATUS__VMA_FILE_PRIVATE;
		d->flags = MAP_PRIVATE;
		d->dump = VMA_DUMP_PRIVATE_FILE;
	}
	return 0;
}

static int vma_classify(struct dump_ctx *dc, size_t i, uint32_t first_map_id)
{
	const struct proc_vma *v = &dc->vmas.v[i];
	struct dump_vma *d = &dc->dvmas[i];
	bool anon = v->ino == 0 && v->dev_major == 0 && v->dev_minor == 0 && v->name[0] != '/';
	int ret;

	/* The vDSO unit and [vsyscall] are VM_PFNMAP/VM_IO themselves: tell them first. */
	if ((v->vmflags & (VMF_IO | VMF_PFNMAP)) && !(anon && v->name[0] == '['))
		return vma_refuse(dc, v, "an I/O mapping");
	if (v->vmflags & VMF_UFFD)
		return vma_refuse(dc, v, "registered with userfaultfd");

	ret = anon ? vma_classify_anon(dc, v, d) : vma_classify_file(dc, v, d, first_map_id);
	if (ret < 0)
		return ret;
	if (v->vmflags & VMF_GROWSDOWN)
		d->flags |= MAP_GROWSDOWN;
	d->madv = vma_madv(v->vmflags);
	return 0;
}

static int mm_collect_exe(struct dump_ctx *dc)
{
	char link[4096], path[64];
	struct stat st;
	int ret;

	ret = proc_readlink(dc->pid, "exe", link, sizeof(link));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/%d/exe", dc->pid);
	snprintf(path, sizeof(path), "/proc/%d/exe", dc->pid);
	if (stat(path, &st) < 0)
		return pr_err_ret(-errno, "cannot stat the exe of task %d ('%s')", dc->pid, link);
	if (is_deleted(link, &st)) {
		pr_err("the executable of task %d ('%s') is deleted: not supported yet",
		       dc->pid, link);
		return -EOPNOTSUPP;
	}
	ret = reg_file_add(&dc->files, link, &st, O_RDONLY, 0, &dc->exe_id);
	if (ret < 0)
		return pr_err_ret(ret, "cannot record the exe of task %d", dc->pid);
	return 0;
}

int mm_collect(struct dump_ctx *dc)
{
	uint32_t first_map_id = dc->files.id_base + dc->files.nr + 1;
	size_t i;
	int ret;

	ret = proc_read_auxv(dc->pid, &dc->auxv);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/%d/auxv", dc->pid);
	dc->nr_auxv = ret;

	ret = mm_collect_exe(dc);
	if (ret < 0)
		return ret;

	ret = proc_parse_vmas(dc->pid, true, &dc->vmas);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse /proc/%d/smaps", dc->pid);
	dc->dvmas = calloc(dc->vmas.nr ? dc->vmas.nr : 1, sizeof(*dc->dvmas));
	if (!dc->dvmas)
		return -ENOMEM;
	for (i = 0; i < dc->vmas.nr; i++) {
		ret = vma_classify(dc, i, first_map_id);
		if (ret < 0)
			return ret;
	}
	pr_debug("task %d: %zu vmas, %zu files so far", dc->pid, dc->vmas.nr, dc->files.nr);
	return 0;
}

/*
 * The program break is not in /proc: run brk(0) in the seized task, before it is infected
 * (compel runs no single syscalls while its parasite is active).
 */
int mm_collect_brk(struct dump_ctx *dc, struct compel_ctl *ctl)
{
	long brk = 0;
	int ret;

	ret = compel_syscall(ctl, __NR_brk, &brk, 0, 0, 0, 0, 0, 0);
	if (ret < 0)
		return pr_err_ret(ret, "cannot run brk(0) in task %d", dc->pid);
	if (brk <= 0 || (uint64_t)brk < dc->stat.start_brk) {
		pr_err("brk(0) in task %d returned %#lx (start_brk %#" PRIx64 ")", dc->pid, brk,
		       dc->stat.start_brk);
		return -EIO;
	}
	dc->brk = brk;
	return 0;
}

static void vma_entry_fill(const struct proc_vma *v, const struct dump_vma *d, VmaEntry *e)
{
	e->start = v->start;
	e->end = v->end;
	e->pgoff = d->file_id ? v->pgoff : 0;
	e->prot = v->prot;
	e->flags = d->flags;
	e->status = d->status;
	if (d->file_id) {
		e->has_file_id = true;
		e->file_id = d->file_id;
	}
	if (d->madv) {
		e->has_madv = true;
		e->madv = d->madv;
	}
	if (d->shmid) {
		e->has_shmid = true;
		e->shmid = d->shmid;
	}
	if (v->name[0])
		e->name = v->name;
}

int mm_dump(struct dump_ctx *dc)
{
	_cleanup_free_ VmaEntry *ents = NULL;
	_cleanup_free_ VmaEntry **ptrs = NULL;
	MmEntry mm = MM_ENTRY__INIT;
	const struct proc_stat *st = &dc->stat;
	size_t i;


	ents = calloc(dc->vmas.nr ? dc->vmas.nr : 1, sizeof(*ents));
	ptrs = calloc(dc->vmas.nr ? dc->vmas.nr : 1, sizeof(*ptrs));
	if (!ents || !ptrs)
		return -ENOMEM;
	for (i = 0; i < dc->vmas.nr; i++) {
		vma_entry__init(&ents[i]);
		vma_entry_fill(&dc->vmas.v[i], &dc->dvmas[i], &ents[i]);
		ptrs[i] = &ents[i];
	}

	mm.mm_start_code = st->start_code;
	mm.mm_end_code = st->end_code;
	mm.mm_start_data = st->start_data;
	mm.mm_end_data = st->end_data;
	mm.mm_start_stack = st->start_stack;
	mm.mm_start_brk = st->start_brk;
	mm.mm_brk = dc->brk;
	mm.mm_arg_start = st->arg_start;
	mm.mm_arg_end = st->arg_end;
	mm.mm_env_start = st->env_start;
	mm.mm_env_end = st->env_end;
	mm.exe_file_id = dc->exe_id;
	mm.n_mm_saved_auxv = dc->nr_auxv;
	mm.mm_saved_auxv = dc->auxv;
	mm.n_vmas = dc->vmas.nr;
	mm.vmas = ptrs;
	mm.has_dumpable = true;
	mm.dumpable = dc->misc.dumpable;
	if (dc->status.thp_enabled >= 0) {
		mm.has_thp_disabled = true;
		mm.thp_disabled = !dc->status.thp_enabled;
	}
	return res_write_one(dc->dir, IMG_MM, dc->pid, &mm.base);
}

/* ================================ restore side =============================== */

#include <unistd.h>

#include "common/page.h"
#include "images/fdinfo.pb-c.h"
#include "images/pagemap.pb-c.h"

#define VMA_VDSO_UNIT	(VMA_STATUS__VMA_AREA_VDSO | VMA_STATUS__VMA_AREA_VVAR)
#define SEARCH_LOW	(1ULL << 32)	/* where the search for a free area stops */
#define SEARCH_HIGH	0x7f0000000000ULL

static enum rst_vma_kind vma_kind(const VmaEntry *v)
{
	if (v->status & VMA_STATUS__VMA_AREA_VSYSCALL)
		return RV_SKIP;
	if (v->status & VMA_VDSO_UNIT)
		return RV_VDSO;
	if (v->status & VMA_STATUS__VMA_FILE_SHARED)
		return RV_FILE_SHARED;
	return RV_PREMAP;
}

static int mm_check_vmas(struct rst_ctx *c)
{
	const MmEntry *mm = c->mm;
	char what[64];
	size_t i;
	int ret;

	c->kinds = calloc(mm->n_vmas + 1, sizeof(*c->kinds));
	if (!c->kinds)
		return -ENOMEM;
	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->start >= v->end || (v->start | v->end) & ~PAGE_MASK ||
		    (i && v->start < mm->vmas[i - 1]->end)) {
			pr_err("mm-%d.img: vma %zu (%#" PRIx64 "-%#" PRIx64 ") is malformed or out "
			       "of order", c->pid, i, v->start, v->end);
			return -EBADMSG;
		}
		if (v->status & VMA_STATUS__VMA_AREA_MEMFD) {
			pr_err("vma %#" PRIx64 " (%s): memfd mappings are not supported yet",
			       v->start, v->name ?: "");
			return -EOPNOTSUPP;
		}
		c->kinds[i] = vma_kind(v);
		if (c->kinds[i] == RV_VDSO || c->kinds[i] == RV_SKIP)
			continue;
		if (v->status & (VMA_STATUS__VMA_FILE_PRIVATE | VMA_STATUS__VMA_FILE_SHARED)) {
			snprintf(what, sizeof(what), "mapping at %#" PRIx64, v->start);
			if (!v->has_file_id) {
				pr_err("%s: a file mapping without a file", what);
				return -EBADMSG;
			}
			ret = reg_file_check(c, v->file_id, what, true);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Collect criu's own [vvar], [vvar_vclock] and [vdso] from /proc/self/maps. */
static int mm_read_vdso_now(struct rst_ctx *c)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return pr_err_ret(-errno, "cannot open /proc/self/maps");
	while (getline(&line, &len, f) > 0) {
		unsigned long s, e;

		if (!strstr(line, "[vdso]") && !strstr(line, "[vvar]") &&
		    !strstr(line, "[vvar_vclock]"))
			continue;
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || c->nr_vdso_now == RST_MAX_VDSO_PARTS)
			continue;
		c->vdso_now[c->nr_vdso_now].start = s;
		c->vdso_now[c->nr_vdso_now++].end = e;
	}
	fclose(f);
	return 0;
}

/* The recorded vDSO unit must have the shape of ours: same parts, sizes and distances. */
static int mm_check_vdso(struct rst_ctx *c)
{
	size_t i, n = 0;
	uint64_t rec0 = 0;
	int ret;

	ret = mm_read_vdso_now(c);
	if (ret)
		return ret;
	for (i = 0; i < c->mm->n_vmas; i++) {
		const VmaEntry *v = c->mm->vmas[i];

		if (c->kinds[i] != RV_VDSO)
			continue;
		if (!n)
			rec0 = v->start;
		if (n >= c->nr_vdso_now ||
		    v->end - v->start != c->vdso_now[n].end - c->vdso_now[n].start ||
		    v->start - rec0 != c->vdso_now[n].start - c->vdso_now[0].start)
			goto mismatch;
		n++;
	}
	if (n && n != c->nr_vdso_now)
		goto mismatch;
	return 0;
mismatch:
	pr_err("the vdso of the dump does not have the layout of this kernel's "
	       "(%zu parts here): cannot restore", c->nr_vdso_now);
	return -EINVAL;
}

int mm_check(struct rst_ctx *c)
{
	int ret;

	ret = mm_check_vmas(c);
	if (!ret)
		ret = mm_check_vdso(c);
	return ret;
}

/*
 * A premapped VMA of at least PREMAP_PMD starts at the same offset in a PMD as its recorded
 * address: the restorer's mremap() then moves whole page tables, not each PTE (1 GiB: ~0.2 ms
 * instead of ~3 ms here), and so does a child taking it over from its parent.
 */
#define PREMAP_PMD	(2UL << 20)

static uint64_t premap_slack(uint64_t len)
{
	return len >= PREMAP_PMD ? PREMAP_PMD - PAGE_SIZE : 0;
}

/* Where the premapped VMA @v goes, at or after @cur. */
static uint64_t premap_at(const VmaEntry *v, uint64_t cur)
{
	if (!premap_slack(v->end - v->start))
		return cur;
	return cur + ((v->start - cur) & (PREMAP_PMD - 1));
}

int mm_list_vmas(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	const MmEntry *mm = c->mm;
	size_t i;

	t->vmas = calloc(mm->n_vmas + 1, sizeof(*t->vmas));
	if (!t->vmas)
		return rst_task_err(t, -ENOMEM, "out of memory");
	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct rst_vma *r;

		if (c->kinds[i] == RV_SKIP)
			continue;
		if (c->kinds[i] == RV_VDSO) {
			r = &t->vdso[t->nr_vdso];
			r->tmp = c->vdso_now[t->nr_vdso++].start;
		} else {
			r = &t->vmas[t->nr_vmas++];
			if (c->kinds[i] == RV_PREMAP)
				t->premap_len += v->end - v->start + PAGE_SIZE +
						 premap_slack(v->end - v->start);
		}
		r->start = v->start;
		r->end = v->end;
		r->pgoff = v->pgoff;
		r->prot = r->tmp_prot = v->prot;
		r->flags = v->flags;
		r->fd = -1;
	}
	t->premap_len += PAGE_SIZE;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Our mappings and the task's, sorted and merged, into *@ret (malloc'ed); returns how many. */
static int mm_busy_ranges(struct rst_task *t, struct rst_range **ret)
{
	const MmEntry *mm = t->c->mm;
	_cleanup_free_ char *line = NULL;
	size_t n = 0, cap = mm->n_vmas + 256, len = 0, i, m;
	struct rst_range *b, *nb;
	unsigned long s, e;
	FILE *f;

	b = malloc(cap * sizeof(*b));
	f = fopen("/proc/self/maps", "re");
	if (!b || !f) {
		free(b);
		if (f)
			fclose(f);
		return rst_task_err(t, -ENOMEM, "cannot read /proc/self/maps");
	}
	while (getline(&line, &len, f) > 0 && sscanf(line, "%lx-%lx", &s, &e) == 2) {
		if (n + mm->n_vmas + 2 > cap) {
			nb = realloc(b, (cap *= 2) * sizeof(*b));
			if (!nb) {
				cap = 0;
				break;
			}
			b = nb;
		}
		b[n].start = s;
		b[n++].end = e;
	}
	fclose(f);
	if (!cap) {
		free(b);
		return rst_task_err(t, -ENOMEM, "out of memory");
	}
	for (i = 0; i < mm->n_vmas; i++) {
		b[n].start = mm->vmas[i]->start;
		b[n++].end = mm->vmas[i]->end;
	}
	/* the parent's reservation, whose VMAs we did not all inherit (pages_cow_hide()) */
	if (t->parent) {
		b[n].start = t->parent->area;
		b[n++].end = t->parent->area + t->parent->premap_len + t->parent->rst_len;
	}
	qsort(b, n, sizeof(*b), cmp_range);
	/* merged where they overlap: the task's VMAs and the parent's area overlap ours */
	for (i = 1, m = n ? 1 : 0; i < n; i++) {
		if (b[i].start <= b[m - 1].end)
			b[m - 1].end = max(b[m - 1].end, b[i].end);
		else
			b[m++] = b[i];
	}
	*ret = b;
	return m;
}

/* A free place for @size bytes (plus guard pages) that is neither ours nor the task's. */
static int mm_find_area(struct rst_task *t, uint64_t size, uint64_t *ret_addr)
{
	_cleanup_free_ struct rst_range *b = NULL;
	uint64_t top = SEARCH_HIGH;
	int n, i;

	n = mm_busy_ranges(t, &b);
	if (n < 0)
		return n;
	size += 2 * PAGE_SIZE;
	for (i = n - 1; i >= 0; i--) {
		if (b[i].end < top && top - b[i].end >= size)
			break;
		top = min(top, b[i].start);
	}
	if (i < 0 && (top <= SEARCH_LOW || top - SEARCH_LOW < size))
		return rst_task_err(t, -ENOMEM, "no free address range of %" PRIu64 " bytes to "
				    "restore from", size);
	*ret_addr = top - size + PAGE_SIZE;
	return 0;
}

/* The fd a file VMA maps, opened once per file (*@cache_*: the last one opened). */
static int mm_vma_fd(struct rst_task *t, const VmaEntry *v, int64_t *cache_id, int *cache_fd)
{
	const RegFileEntry *r = reg_file_find(t->c, v->file_id);
	bool shared = v->flags & MAP_SHARED, shared_w = shared && (v->prot & PROT_WRITE);
	/* A shared mapping gets a writable file when it can, so a later mprotect() works. */
	int flags = shared ? O_RDWR : O_RDONLY;
	int64_t id = (int64_t)v->file_id * 2 + shared;

	if (*cache_fd >= 0 && *cache_id == id)
		return *cache_fd;
	if (*cache_fd >= 0)
		close(*cache_fd);
	*cache_fd = open(r->name, flags | O_CLOEXEC);
	if (*cache_fd < 0 && shared && !shared_w)
		*cache_fd = open(r->name, O_RDONLY | O_CLOEXEC);
	if (*cache_fd < 0)
		return rst_task_err(t, -errno, "mapping at %#" PRIx64 ": cannot open '%s': %m",
				    v->start, r->name);
	*cache_id = id;
	return *cache_fd;
}

/*
 * Does any page of the pagemap fall into @v? VMAs are asked in address order and the runs are
 * in address order too, so *@cursor only moves forward.
 */
static bool vma_has_pages(struct rst_task *t, const VmaEntry *v, size_t *cursor)
{
	size_t i;

	for (i = *cursor; i < t->c->nr_pms; i++) {
		const PagemapEntry *pe = t->c->pms[i];
		uint64_t end = pe->vaddr + (uint64_t)pe->nr_pages * PAGE_SIZE;

		if (end <= v->start) {
			*cursor = i + 1;
			continue;
		}
		return pe->vaddr < v->end;
	}
	return false;
}

/* Map one premapped VMA at @at; writable only if pages go in (see mm_premap()). */
/* One new shared memory object of @size bytes: an fd to the file of a MAP_SHARED|MAP_ANONYMOUS
 * mapping ("/dev/zero (deleted)"), through map_files. */
static int shmem_new(uint64_t size, int *ret_fd)
{
	char path[64];
	void *p;
	int fd;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	munmap(p, size);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

int mm_shmem_create(struct rst_ctx *tasks, size_t nr, int **ret_fds, size_t *ret_nr)
{
	_cleanup_free_ uint64_t *ids = NULL;
	int *fds = NULL, *nf, fd = -1, ret = 0;
	size_t n = 0, i, j, k;
	uint64_t *ni, size;

	for (i = 0; i < nr; i++) {
		const MmEntry *mm = tasks[i].mm;

		if (!mm)	/* a zombie */
			continue;
		tasks[i].shm_fds = malloc((mm->n_vmas + 1) * sizeof(int));
		if (!tasks[i].shm_fds) {
			ret = -ENOMEM;
			goto out;
		}
		for (j = 0; j < mm->n_vmas; j++) {
			const VmaEntry *v = mm->vmas[j];

			tasks[i].shm_fds[j] = -1;
			if (tasks[i].kinds[j] != RV_PREMAP || !(v->status & VMA_STATUS__VMA_ANON_SHARED))
				continue;
			for (k = 0; k < n && !(v->has_shmid && ids[k] == v->shmid); k++)
				;
			if (k == n) {
				/* the object is as large as its furthest use in the tree */
				size = 0;
				for (size_t a = i; a < nr; a++)
					for (size_t b = 0; tasks[a].mm && b < tasks[a].mm->n_vmas;
					     b++) {
						const VmaEntry *w = tasks[a].mm->vmas[b];

						if ((w == v || (v->has_shmid && w->has_shmid &&
								w->shmid == v->shmid)) &&
						    (w->status & VMA_STATUS__VMA_ANON_SHARED))
							size = max(size, w->pgoff + w->end - w->start);
					}
				ret = shmem_new(size, &fd);
				if (ret) {
					pr_err("cannot create the shared memory of the vma at %#" PRIx64
					       " of pid %d: %s", v->start, tasks[i].pid, strerror(-ret));
					goto out;
				}
				ni = realloc(ids, (n + 1) * sizeof(*ids));
				nf = ni ? realloc(fds, (n + 1) * sizeof(*fds)) : NULL;
				if (ni)
					ids = ni;
				if (nf)
					fds = nf;
				if (!ni || !nf) {
					close(fd);
					ret = -ENOMEM;
					goto out;
				}
				ids[n] = v->has_shmid ? v->shmid : 0;
				fds[n++] = fd;
			}
			tasks[i].shm_fds[j] = fds[k];
		}
	}
	*ret_fds = fds;
	*ret_nr = n;
	return 0;
out:
	while (n)
		close(fds[--n]);
	free(fds);
	return ret;
}

static int mm_premap_one(struct rst_task *t, const VmaEntry *v, struct rst_vma *r, int fd,
			 bool has_pages, uint64_t at)
{
	int flags = MAP_FIXED | (v->flags & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN));
	uint64_t len = v->end - v->start;
	unsigned int bit;
	void *p;

	if (fd < 0)
		flags |= MAP_ANONYMOUS;
	else
		flags &= ~MAP_ANONYMOUS;
	if (has_pages || (v->status & VMA_STATUS__VMA_AREA_STACK))
		r->tmp_prot |= PROT_READ | PROT_WRITE;
	p = mmap((void *)at, len, r->tmp_prot, flags, fd, fd < 0 ? 0 : v->pgoff);
	if (p == MAP_FAILED)
		return rst_task_err(t, -errno, "cannot premap the vma at %#" PRIx64 " (%s): %m",
				    v->start, v->name ?: "");
	for (bit = 0; v->has_madv && bit < 64; bit++)
		if ((v->madv & (1ULL << bit)) && madvise(p, len, bit))
			return rst_task_err(t, -errno, "madvise(%u) of the vma at %#" PRIx64 ": %m",
					    bit, v->start);
	r->tmp = at;
	return 0;
}

/*
 * Premap every private (and anonymous shared) VMA inside the reservation, each followed by a
 * guard page so none merges with another. A VMA is writable for now only if pages go in: a VMA
 * made writable is accounted (VM_ACCOUNT) and would merge with neighbours the original did not
 * merge with. File-shared VMAs only get their fd, for the restorer.
 */
int mm_premap(struct rst_task *t)
{
	const MmEntry *mm = t->c->mm;
	int cache_fd = -1, fd, ret = 0;
	int64_t cache_id = -1;
	struct rst_vma *r = t->vmas;
	size_t i, cursor = 0;
	uint64_t cur;
	void *p;

	ret = mm_find_area(t, t->premap_len + t->rst_len, &t->area);
	if (ret)
		return ret;
	p = mmap((void *)t->area, t->premap_len + t->rst_len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return rst_task_err(t, -errno, "cannot reserve %#" PRIx64 " bytes at %#" PRIx64
				    ": %m", t->premap_len + t->rst_len, t->area);

	cur = t->area + PAGE_SIZE;
	for (i = 0; i < mm->n_vmas && !ret; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (t->c->kinds[i] == RV_VDSO || t->c->kinds[i] == RV_SKIP)
			continue;
		fd = -1;
		if (v->status & VMA_STATUS__VMA_FILE_PRIVATE && t->c->kinds[i] == RV_PREMAP) {
			fd = ret = mm_vma_fd(t, v, &cache_id, &cache_fd);
			if (ret < 0)
				break;
			ret = 0;
		}
		if (t->c->kinds[i] == RV_FILE_SHARED) {
			r++;	/* mm_open_shared() */
			continue;
		}
		if (t->c->shm_fds && t->c->shm_fds[i] >= 0)
			fd = t->c->shm_fds[i];
		cur = premap_at(v, cur);
		ret = mm_premap_one(t, v, r++, fd, vma_has_pages(t, v, &cursor), cur);
		cur += v->end - v->start + PAGE_SIZE;
	}
	if (cache_fd >= 0)
		close(cache_fd);
	return ret;
}

int mm_open_shared(struct rst_task *t)
{
	const MmEntry *mm = t->c->mm;
	struct rst_vma *r = t->vmas;
	int cache_fd = -1, ret = 0;
	int64_t cache_id = -1;
	size_t i;

	for (i = 0; i < mm->n_vmas && ret >= 0; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (t->c->kinds[i] == RV_VDSO || t->c->kinds[i] == RV_SKIP)
			continue;
		if (t->c->kinds[i] == RV_FILE_SHARED) {
			ret = mm_vma_fd(t, v, &cache_id, &cache_fd);
			if (ret < 0)
				break;
			r->fd = fcntl(ret, F_DUPFD_CLOEXEC, 0);
			if (r->fd < 0)
				ret = rst_task_err(t, -errno, "cannot dup the fd of the mapping at "
						   "%#" PRIx64 ": %m", v->start);
			r->flags &= ~MAP_FIXED;
		}
		r++;
	}
	if (cache_fd >= 0)
		close(cache_fd);
	return ret < 0 ? ret : 0;
}

struct rst_vma *mm_premapped_at(struct rst_task *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nr_vmas, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (addr < t->vmas[mid].start)
			hi = mid;
		else if (addr >= t->vmas[mid].end)
			lo = mid + 1;
		else
			return t->vmas[mid].tmp ? &t->vmas[mid] : NULL;
	}
	return NULL;
}

size_t mm_args_size(const struct rst_task *t)
{
	return (t->nr_vmas + t->nr_vdso) * sizeof(struct rst_vma) +
	       t->c->mm->n_mm_saved_auxv * sizeof(uint64_t);
}

void mm_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	const MmEntry *mm = t->c->mm;
	char *base = (char *)a;

	a->nr_vmas = t->nr_vmas;
	a->vmas_off = *off;
	memcpy(base + *off, t->vmas, t->nr_vmas * sizeof(struct rst_vma));
	*off += t->nr_vmas * sizeof(struct rst_vma);
	a->nr_vdso = t->nr_vdso;
	a->vdso_off = *off;
	memcpy(base + *off, t->vdso, t->nr_vdso * sizeof(struct rst_vma));
	*off += t->nr_vdso * sizeof(struct rst_vma);
	a->nr_auxv = mm->n_mm_saved_auxv;
	a->auxv_off = *off;
	memcpy(base + *off, mm->mm_saved_auxv, mm->n_mm_saved_auxv * sizeof(uint64_t));
	*off += mm->n_mm_saved_auxv * sizeof(uint64_t);

	a->premap_start = t->area;
	a->premap_end = t->area + t->premap_len;
	a->mm_start_code = mm->mm_start_code;
	a->mm_end_code = mm->mm_end_code;
	a->mm_start_data = mm->mm_start_data;
	a->mm_end_data = mm->mm_end_data;
	a->mm_start_brk = mm->mm_start_brk;
	a->mm_brk = mm->mm_brk;
	a->mm_start_stack = mm->mm_start_stack;
	a->mm_arg_start = mm->mm_arg_start;
	a->mm_arg_end = mm->mm_arg_end;
	a->mm_env_start = mm->mm_env_start;
	a->mm_env_end = mm->mm_env_end;
	a->exe_fd = t->exe_fd;
}
