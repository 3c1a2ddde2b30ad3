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
	if (is_shared_anon_name(link) && is_deleted(link, &st))
		return vma_refuse(dc, v, "shared anonymous memory");
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
	uint32_t first_map_id = dc->files.nr + 1;
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
	if (v->name[0])
		e->name = v->name;
}

static int mm_write(struct dump_ctx *dc, MmEntry *mm)
{
	struct cr_img *img = NULL;
	int ret;

	ret = img_open(dc->dir, IMG_MM, dc->pid, O_WRONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot create %s", img_dir_error(dc->dir));
	ret = img_write(img, &mm->base);
	if (ret < 0) {
		pr_err_ret(ret, "cannot write %s", img_error(img));
		img_close(img);
		return ret;
	}
	ret = img_close(img);
	if (ret < 0)
		return pr_err_ret(ret, "cannot write mm-%d.img", dc->pid);
	return 0;
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
	return mm_write(dc, &mm);
}

/* ================================ restore side =============================== */
