/*
 * criu restore -D DIR: bring back one single-threaded process from its image set.
 *
 * criu reads and checks every image first, then clone3()s the task with its recorded PID. The
 * child (still running criu's code) opens the task's files, premaps its private memory at a
 * temporary place and reads the dumped pages straight into it, prepares the restorer's args and
 * jumps into the restorer blob (criu/pie/restorer.c), which replaces criu's address space with
 * the task's and returns into the task with rt_sigreturn. criu follows that last step with ptrace
 * and unmaps the blob, so nothing of criu remains in the task.
 *
 * Errors in the child before the point of no return travel back to criu over the status pipe as
 * text; criu logs them, reaps the child and fails.
 */
#define LOG_PREFIX "restore: "
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "common/page.h"
#include "core/image.h"
#include "core/log.h"
#include "opts.h"
#include "arch/x86/sigframe.h"
#include "proto/restorer.h"
#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/core.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/fdinfo.pb-c.h"
#include "images/fs.pb-c.h"
#include "criu/pie/restorer-blob.h"

#define VMA_VDSO_UNIT	(VMA_STATUS__VMA_AREA_VDSO | VMA_STATUS__VMA_AREA_VVAR)
#define MAX_VDSO_PARTS	4
#define MAX_UNMAP	4096		/* criu's own mappings the restorer unmaps */
#define MAPS_BUF_SIZE	(1u << 20)
#define SEARCH_LOW	(1ULL << 32)	/* where the search for a free area stops */
#define SEARCH_HIGH	0x7f0000000000ULL

/* How one recorded VMA comes back. */
enum rst_vma_kind {
	RV_SKIP,		/* [vsyscall] */
	RV_VDSO,		/* part of the vDSO unit: moved, not mapped */
	RV_PREMAP,		/* private or anonymous shared: premapped, filled, moved */
	RV_FILE_SHARED,		/* MAP_SHARED file: mapped by the restorer */
};

struct rst_ctx {
	const struct cr_opts *opts;	/* borrowed */
	struct img_dir *dir;		/* owned */
	pid_t pid;

	/* decoded images, owned */
	InventoryEntry *inv;
	PstreeEntry *ps;
	CoreEntry *core;
	MmEntry *mm;
	FsEntry *fs;
	FileEntry **files;
	size_t nr_files;
	FdinfoEntry **fds;
	size_t nr_fds;
	PagemapHead *pm_head;
	PagemapEntry **pms;
	size_t nr_pms;
	struct cr_img *pages;		/* owned, raw */

	enum rst_vma_kind *kinds;	/* owned, one per mm->vmas */
	struct rst_range vdso_now[MAX_VDSO_PARTS];	/* this process's vDSO unit */
	size_t nr_vdso_now;

	/* the child */
	int status_pipe[2];
	int go_pipe[2];
	pid_t child;
	struct restorer_ready ready;
	int exit_status;		/* wait() status of the task, without -d */
};

/* ---------------------------------------------------------------------------------------------
 * Reading the images
 */

static int read_entries(struct rst_ctx *c, enum img_kind kind, unsigned int id,
			const ProtobufCMessageDescriptor *first,
			const ProtobufCMessageDescriptor *desc, void ***ret_arr, size_t *ret_nr)
{
	_cleanup_img_ struct cr_img *img = NULL;
	ProtobufCMessage *msg;
	void **arr = NULL, **n;
	size_t nr = 0;
	int ret;

	ret = img_open(c->dir, kind, id, O_RDONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(c->dir));
	for (;;) {
		ret = img_read(img, nr == 0 && first ? first : desc, &msg);
		if (ret < 0) {
			pr_err("%s", img_error(img));
			goto out_free;
		}
		if (ret == 0)
			break;
		n = realloc(arr, (nr + 1) * sizeof(*arr));
		if (!n) {
			protobuf_c_message_free_unpacked(msg, NULL);
			ret = -ENOMEM;
			goto out_free;
		}
		arr = n;
		arr[nr++] = msg;
	}
	*ret_arr = arr;
	*ret_nr = nr;
	return 0;

out_free:
	while (nr)
		protobuf_c_message_free_unpacked(arr[--nr], NULL);
	free(arr);
	return ret;
}

static int read_one(struct rst_ctx *c, enum img_kind kind, unsigned int id,
		    const ProtobufCMessageDescriptor *desc, void *ret_msg)
{
	_cleanup_img_ struct cr_img *img = NULL;
	int ret;

	ret = img_open(c->dir, kind, id, O_RDONLY, &img);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(c->dir));
	ret = img_read_one(img, desc, (ProtobufCMessage **)ret_msg);
	if (ret < 0)
		pr_err("%s", img_error(img));
	return ret;
}

static int check_inventory(struct rst_ctx *c)
{
	InventoryEntry *e = c->inv;
	struct utsname u;
	uint64_t xcr0;
	uint32_t xsize;
	char err[256];
	int ret;

	ret = img_check_inventory(e, err, sizeof(err));
	if (ret < 0) {
		pr_err("%s", err);
		return ret;
	}
	if (e->kind != DUMP_KIND__DUMP) {
		pr_err("inventory.img: the images are a pre-dump, not a dump");
		return -EINVAL;
	}
	uname(&u);
	if (e->kernel_release && strcmp(e->kernel_release, u.release)) {
		pr_err("the images come from kernel %s, this is %s: the vdso differs",
		       e->kernel_release, u.release);
		return -EINVAL;
	}
	arch_xsave_caps(&xcr0, &xsize);
	if (e->has_xfeatures && (e->xfeatures & ~xcr0)) {
		pr_err("the dump used xsave features %#" PRIx64 " this CPU lacks (it has %#" PRIx64 ")",
		       e->xfeatures, xcr0);
		return -EINVAL;
	}
	if (e->has_xsave_size && e->xsave_size > xsize) {
		pr_err("the dump's xsave area has %u bytes, this CPU's %u", e->xsave_size, xsize);
		return -EINVAL;
	}
	return 0;
}

static int read_task_images(struct rst_ctx *c)
{
	int ret;

	ret = read_one(c, IMG_CORE, c->pid, &core_entry__descriptor, &c->core);
	if (!ret)
		ret = read_one(c, IMG_MM, c->pid, &mm_entry__descriptor, &c->mm);
	if (!ret)
		ret = read_one(c, IMG_FS, c->pid, &fs_entry__descriptor, &c->fs);
	if (!ret)
		ret = read_entries(c, IMG_FILES, 0, NULL, &file_entry__descriptor,
				   (void ***)&c->files, &c->nr_files);
	if (!ret)
		ret = read_entries(c, IMG_FDINFO, c->pid, NULL, &fdinfo_entry__descriptor,
				   (void ***)&c->fds, &c->nr_fds);
	if (!ret)
		ret = read_entries(c, IMG_PAGEMAP, c->pid, &pagemap_head__descriptor,
				   &pagemap_entry__descriptor, (void ***)&c->pms, &c->nr_pms);
	if (ret)
		return ret;
	if (!c->nr_pms) {
		pr_err("pagemap-%d.img: no pagemap head", c->pid);
		return -EBADMSG;
	}
	/* The first entry is the head: keep it apart. */
	c->pm_head = (PagemapHead *)c->pms[0];
	memmove(c->pms, c->pms + 1, --c->nr_pms * sizeof(*c->pms));

	ret = img_open(c->dir, IMG_PAGES, c->pm_head->pages_id, O_RDONLY, &c->pages);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(c->dir));
	return 0;
}

static int read_images(struct rst_ctx *c)
{
	int ret;

	ret = img_dir_open(c->opts->images_dir, false, &c->dir);
	if (ret < 0)
		return pr_err_ret(ret, "%s", img_dir_error(c->dir));
	ret = read_one(c, IMG_INVENTORY, 0, &inventory_entry__descriptor, &c->inv);
	if (!ret)
		ret = check_inventory(c);
	if (!ret)
		ret = read_one(c, IMG_PSTREE, 0, &pstree_entry__descriptor, &c->ps);
	if (ret)
		return ret;
	c->pid = c->ps->pid;
	if (c->pid != (pid_t)c->inv->root_pid) {
		pr_err("pstree.img: root pid %d, inventory.img says %u", c->pid, c->inv->root_pid);
		return -EBADMSG;
	}
	if (c->ps->n_threads > 1) {
		pr_err("pid %d has %zu threads: multi-threaded restore is not supported yet",
		       c->pid, c->ps->n_threads);
		return -EOPNOTSUPP;
	}
	return read_task_images(c);
}

static void free_msgs(void **arr, size_t nr)
{
	while (nr)
		protobuf_c_message_free_unpacked(arr[--nr], NULL);
	free(arr);
}

static void rst_ctx_release(struct rst_ctx *c)
{
	img_close(c->pages);
	if (c->pm_head)
		protobuf_c_message_free_unpacked(&c->pm_head->base, NULL);
	free_msgs((void **)c->pms, c->nr_pms);
	free_msgs((void **)c->fds, c->nr_fds);
	free_msgs((void **)c->files, c->nr_files);
	if (c->fs)
		protobuf_c_message_free_unpacked(&c->fs->base, NULL);
	if (c->mm)
		protobuf_c_message_free_unpacked(&c->mm->base, NULL);
	if (c->core)
		protobuf_c_message_free_unpacked(&c->core->base, NULL);
	if (c->ps)
		protobuf_c_message_free_unpacked(&c->ps->base, NULL);
	if (c->inv)
		protobuf_c_message_free_unpacked(&c->inv->base, NULL);
	free(c->kinds);
	img_dir_free(c->dir);
}

/* ---------------------------------------------------------------------------------------------
 * Checks, all before anything is created
 */

static const RegFileEntry *find_reg(const struct rst_ctx *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->nr_files; i++)
		if (c->files[i]->id == id)
			return c->files[i]->type == FD_TYPES__REG ? c->files[i]->reg : NULL;
	return NULL;
}

static bool is_tty(const struct stat *st)
{
	unsigned int maj = major(st->st_rdev);

	return S_ISCHR(st->st_mode) && (maj == 4 || maj == 5 || (maj >= 136 && maj <= 143));
}

/* The file @id, needed as @what, must exist and look as it did. @mapped: its size must match. */
static int check_file(const struct rst_ctx *c, uint32_t id, const char *what, bool mapped)
{
	const RegFileEntry *r = find_reg(c, id);
	struct stat st;

	if (!r) {
		pr_err("%s: file id %u is not a regular file entry of files.img", what, id);
		return -EBADMSG;
	}
	if (stat(r->name, &st) < 0)
		return pr_err_ret(-errno, "%s: cannot find '%s'", what, r->name);
	if (r->has_mode && (st.st_mode & S_IFMT) != (r->mode & S_IFMT)) {
		pr_err("%s: '%s' is no longer the same kind of file (mode %o, was %o)",
		       what, r->name, st.st_mode, r->mode);
		return -EINVAL;
	}
	if (r->has_size && S_ISREG(st.st_mode) && (uint64_t)st.st_size != r->size) {
		if (mapped) {
			pr_err("%s: '%s' has changed size (%" PRIu64 " bytes, was %" PRIu64 ")",
			       what, r->name, (uint64_t)st.st_size, r->size);
			return -EINVAL;
		}
		pr_warn("%s: '%s' has changed size (%" PRIu64 " bytes, was %" PRIu64 "), ignoring",
			what, r->name, (uint64_t)st.st_size, r->size);
	}
	if (is_tty(&st) && !c->opts->shell_job) {
		pr_err("%s is the terminal '%s': restore with --shell-job (-j)", what, r->name);
		return -EINVAL;
	}
	return 0;
}

static int check_files(const struct rst_ctx *c)
{
	char what[64];
	size_t i;
	int ret;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		snprintf(what, sizeof(what), "fd %u", e->fd);
		if (e->type != FD_TYPES__REG) {
			pr_err("%s: files of type %d are not supported yet", what, e->type);
			return -EOPNOTSUPP;
		}
		ret = check_file(c, e->id, what, false);
		if (ret)
			return ret;
	}
	ret = check_file(c, c->fs->cwd_id, "cwd", false);
	if (!ret)
		ret = check_file(c, c->fs->root_id, "root", false);
	if (!ret && c->mm->exe_file_id)
		ret = check_file(c, c->mm->exe_file_id, "exe", false);
	return ret;
}

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

static int check_vmas(struct rst_ctx *c)
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
			pr_err("mm-%d.img: vma %zu (%#" PRIx64 "-%#" PRIx64 ") is malformed or out of order",
			       c->pid, i, v->start, v->end);
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
			ret = check_file(c, v->file_id, what, true);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Collect this process's [vvar], [vvar_vclock] and [vdso] from /proc/self/maps. */
static int read_vdso_now(struct rst_ctx *c)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return pr_err_ret(-errno, "cannot open /proc/self/maps");
	while (getline(&line, &len, f) > 0) {
		unsigned long s, e;

		if (!strstr(line, "[vdso]") && !strstr(line, "[vvar]") && !strstr(line, "[vvar_vclock]"))
			continue;
		if (sscanf(line, "%lx-%lx", &s, &e) != 2 || c->nr_vdso_now == MAX_VDSO_PARTS)
			continue;
		c->vdso_now[c->nr_vdso_now].start = s;
		c->vdso_now[c->nr_vdso_now++].end = e;
	}
	fclose(f);
	return 0;
}

/* The recorded vDSO unit must have the shape of ours: same parts, sizes and distances. */
static int check_vdso(struct rst_ctx *c)
{
	size_t i, n = 0;
	uint64_t rec0 = 0;
	int ret;

	ret = read_vdso_now(c);
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

static int check_core(const struct rst_ctx *c)
{
	const CoreEntry *core = c->core;

	if (core->mtype != MARCH__X86_64 || !core->thread_info || !core->tc) {
		pr_err("core-%d.img: not an x86_64 task core", c->pid);
		return -EBADMSG;
	}
	if (core->tc->state != TASK_STATE__TASK_ALIVE && core->tc->state != TASK_STATE__TASK_STOPPED) {
		pr_err("core-%d.img: task state %d: only running and stopped tasks can be "
		       "restored yet", c->pid, core->tc->state);
		return -EOPNOTSUPP;
	}
	if (core->thread_info->fpregs->area.len < 576 ||
	    (c->inv->has_xsave_size && core->thread_info->fpregs->area.len != c->inv->xsave_size)) {
		pr_err("core-%d.img: the xsave area has %zu bytes, inventory.img says %u",
		       c->pid, core->thread_info->fpregs->area.len, c->inv->xsave_size);
		return -EBADMSG;
	}
	return 0;
}

static int check_pid_free(const struct rst_ctx *c)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/%d", c->pid);
	if (access(path, F_OK) == 0) {
		pr_err("pid %d is already in use", c->pid);
		return -EEXIST;
	}
	return 0;
}

static int check_images(struct rst_ctx *c)
{
	int ret;

	ret = check_core(c);
	if (!ret)
		ret = check_vmas(c);
	if (!ret)
		ret = check_vdso(c);
	if (!ret)
		ret = check_files(c);
	if (!ret)
		ret = check_pid_free(c);
	return ret;
}

/* ---------------------------------------------------------------------------------------------
 * The child. From here on criu's log is not ours (its fd is closed); failures go back to criu
 * over the status pipe as text, and the child exits.
 */

struct child {
	struct rst_ctx *c;
	int status_fd, go_fd, pages_fd;
	struct rst_vma *vmas;		/* premapped and file-shared VMAs, in address order */
	size_t nr_vmas;
	struct rst_vma vdso[MAX_VDSO_PARTS];
	size_t nr_vdso;
	uint64_t area;			/* one reservation: the premap area, then the restorer's */
	uint64_t premap_len, rst_len;
	size_t args_len;
	int exe_fd;
	char *maps_buf;			/* allocated early: /proc/self/maps is read last */
};

static __noreturn __printf(2, 3) void child_fail(struct child *ch, const char *fmt, ...)
{
	char buf[RESTORER_ERR_MAX + 2];
	va_list ap;
	int n;

	buf[0] = RESTORER_MSG_FAIL;
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (write(ch->status_fd, buf, n + 1) < 0)
		_exit(2);
	_exit(1);
}

#define child_perror(ch, fmt, ...) child_fail(ch, fmt ": %s", ##__VA_ARGS__, strerror(errno))

static void child_signals(struct child *ch, pid_t parent)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t all;
	int sig;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		child_fail(ch, "criu went away");
}

/* glibc registered rseq for criu's thread; that area is about to disappear. */
static void child_rseq_off(struct child *ch)
{
	void *abi = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (!__rseq_size)
		return;
	if (syscall(SYS_rseq, abi, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) == 0)
		return;
	if (syscall(SYS_rseq, abi, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) && errno != EINVAL)
		child_perror(ch, "cannot unregister criu's rseq");
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Move criu's fds above the task's highest fd, then close every other fd of criu. */
static void child_move_fds(struct child *ch)
{
	int *fds[3] = { &ch->status_fd, &ch->go_fd, &ch->pages_fd };
	int keep[3], base = 0, i, nf;
	size_t j;

	for (j = 0; j < ch->c->nr_fds; j++)
		base = max(base, (int)ch->c->fds[j]->fd + 1);
	for (i = 0; i < 3; i++) {
		nf = fcntl(*fds[i], F_DUPFD_CLOEXEC, base);
		if (nf < 0)
			child_perror(ch, "cannot move criu's fd %d above %d", *fds[i], base);
		close(*fds[i]);
		*fds[i] = keep[i] = nf;
	}
	qsort(keep, 3, sizeof(keep[0]), cmp_int);
	if (keep[0] > 0)
		close_range(0, keep[0] - 1, 0);
	for (i = 0; i < 2; i++)
		if (keep[i + 1] > keep[i] + 1)
			close_range(keep[i] + 1, keep[i + 1] - 1, 0);
	close_range(keep[2] + 1, ~0U, 0);
}

static int child_open_reg(struct child *ch, const RegFileEntry *r, const char *what)
{
	int flags = r->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC);
	int fd;

	if (!(flags & O_PATH))
		flags |= O_NOCTTY;
	fd = open(r->name, flags);
	if (fd < 0)
		child_perror(ch, "%s: cannot open '%s'", what, r->name);
	if (!(flags & O_PATH) && lseek(fd, r->pos, SEEK_SET) < 0 && errno != ESPIPE)
		child_perror(ch, "%s: cannot seek '%s' to %" PRIu64, what, r->name, r->pos);
	return fd;
}

static void child_open_fds(struct child *ch)
{
	struct rst_ctx *c = ch->c;
	size_t i, j;
	char what[32];
	int fd, cloexec;

	for (i = 0; i < c->nr_fds; i++) {
		const FdinfoEntry *e = c->fds[i];

		cloexec = (e->flags & FD_CLOEXEC) ? O_CLOEXEC : 0;
		for (j = 0; j < i && c->fds[j]->id != e->id; j++)
			;
		if (j < i) {	/* the same open file description as an earlier fd */
			if (dup3(c->fds[j]->fd, e->fd, cloexec) < 0)
				child_perror(ch, "fd %u: cannot dup fd %u", e->fd, c->fds[j]->fd);
			continue;
		}
		snprintf(what, sizeof(what), "fd %u", e->fd);
		fd = child_open_reg(ch, find_reg(c, e->id), what);
		if (fd == (int)e->fd) {
			if (cloexec && fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
				child_perror(ch, "%s: cannot set FD_CLOEXEC", what);
			continue;
		}
		if (dup3(fd, e->fd, cloexec) < 0)
			child_perror(ch, "%s: cannot move it into place", what);
		close(fd);
	}
}

static void child_fs(struct child *ch)
{
	struct rst_ctx *c = ch->c;
	const RegFileEntry *cwd = find_reg(c, c->fs->cwd_id);
	const RegFileEntry *root = find_reg(c, c->fs->root_id);
	const TaskCoreEntry *tc = c->core->tc;

	if (chdir(cwd->name))
		child_perror(ch, "cannot change to the cwd '%s'", cwd->name);
	if (strcmp(root->name, "/") && chroot(root->name))
		child_perror(ch, "cannot chroot to '%s'", root->name);
	if (c->fs->has_umask)
		umask(c->fs->umask);
	else if (tc->has_umask)
		umask(tc->umask);
}

static void child_task_state(struct child *ch)
{
	struct rst_ctx *c = ch->c;
	const TaskCoreEntry *tc = c->core->tc;

	if ((pid_t)c->ps->sid == c->pid) {
		if (setsid() < 0)
			child_perror(ch, "cannot create the session");
	} else if ((pid_t)c->ps->pgid == c->pid && setpgid(0, 0)) {
		child_perror(ch, "cannot create the process group");
	}
	if (c->mm->has_thp_disabled && c->mm->thp_disabled &&
	    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		child_perror(ch, "cannot disable transparent huge pages");
	if (tc->has_personality && personality(tc->personality) < 0)
		child_perror(ch, "cannot set personality %#x", tc->personality);
	if (c->mm->exe_file_id) {
		ch->exe_fd = open(find_reg(c, c->mm->exe_file_id)->name, O_RDONLY | O_CLOEXEC);
		if (ch->exe_fd < 0)
			child_perror(ch, "cannot open the executable '%s'",
				     find_reg(c, c->mm->exe_file_id)->name);
	}
}

/* ---- memory ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct rst_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* A free place for @size bytes (plus guard pages) that is neither ours nor the task's. */
static uint64_t child_find_area(struct child *ch, uint64_t size)
{
	const MmEntry *mm = ch->c->mm;
	_cleanup_free_ struct rst_range *b = NULL;
	_cleanup_free_ char *line = NULL;
	size_t n = 0, cap = mm->n_vmas + 256, len = 0, i;
	uint64_t top = SEARCH_HIGH;
	unsigned long s, e;
	FILE *f;

	b = calloc(cap, sizeof(*b));
	f = fopen("/proc/self/maps", "re");
	if (!b || !f)
		child_perror(ch, "cannot read /proc/self/maps");
	while (getline(&line, &len, f) > 0 && sscanf(line, "%lx-%lx", &s, &e) == 2) {
		if (n == cap) {
			struct rst_range *nb = realloc(b, (cap *= 2) * sizeof(*b));

			if (!nb)
				child_fail(ch, "out of memory");
			b = nb;
		}
		b[n].start = s;
		b[n++].end = e;
	}
	fclose(f);
	if (n + mm->n_vmas > cap) {
		struct rst_range *nb = realloc(b, (n + mm->n_vmas) * sizeof(*b));

		if (!nb)
			child_fail(ch, "out of memory");
		b = nb;
	}
	for (i = 0; i < mm->n_vmas; i++) {
		b[n].start = mm->vmas[i]->start;
		b[n++].end = mm->vmas[i]->end;
	}
	qsort(b, n, sizeof(*b), cmp_range);

	size += 2 * PAGE_SIZE;
	for (i = n; i-- > 0;) {
		if (b[i].end < top && top - b[i].end >= size)
			return top - size + PAGE_SIZE;
		top = min(top, b[i].start);
	}
	if (top > SEARCH_LOW && top - SEARCH_LOW >= size)
		return top - size + PAGE_SIZE;
	child_fail(ch, "no free address range of %" PRIu64 " bytes to restore from", size);
}

/* The fd a file VMA maps, opened once per file. */
static int child_vma_fd(struct child *ch, const VmaEntry *v, int *cache_id, int *cache_fd)
{
	const RegFileEntry *r = find_reg(ch->c, v->file_id);
	int flags = O_RDONLY;
	char what[48];

	if (*cache_fd >= 0 && *cache_id == (int)v->file_id &&
	    !((v->flags & MAP_SHARED) && (v->prot & PROT_WRITE)))
		return *cache_fd;
	if ((v->flags & MAP_SHARED) && (v->prot & PROT_WRITE))
		flags = O_RDWR;
	if ((r->flags & O_ACCMODE) == O_RDWR && (r->flags & O_PATH) == 0)
		flags = O_RDWR;
	snprintf(what, sizeof(what), "mapping at %#" PRIx64, v->start);
	if (*cache_fd >= 0)
		close(*cache_fd);
	*cache_fd = open(r->name, flags | O_CLOEXEC);
	if (*cache_fd < 0)
		child_perror(ch, "%s: cannot open '%s'", what, r->name);
	*cache_id = v->file_id;
	return *cache_fd;
}

static void child_list_vmas(struct child *ch)
{
	struct rst_ctx *c = ch->c;
	const MmEntry *mm = c->mm;
	size_t i;

	ch->vmas = calloc(mm->n_vmas + 1, sizeof(*ch->vmas));
	if (!ch->vmas)
		child_fail(ch, "out of memory");
	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		struct rst_vma *r;

		if (c->kinds[i] == RV_SKIP)
			continue;
		if (c->kinds[i] == RV_VDSO) {
			r = &ch->vdso[ch->nr_vdso];
			r->tmp = c->vdso_now[ch->nr_vdso++].start;
		} else {
			r = &ch->vmas[ch->nr_vmas++];
			ch->premap_len += c->kinds[i] == RV_PREMAP ? v->end - v->start + PAGE_SIZE : 0;
		}
		r->start = v->start;
		r->end = v->end;
		r->pgoff = v->pgoff;
		r->prot = v->prot;
		r->flags = v->flags;
		r->fd = -1;
	}
	ch->premap_len += PAGE_SIZE;
}

/*
 * Does any page of the pagemap fall into @v? VMAs are asked in address order and the runs are
 * in address order too, so *@cursor only moves forward.
 */
static bool vma_has_pages(struct child *ch, const VmaEntry *v, size_t *cursor)
{
	size_t i;

	for (i = *cursor; i < ch->c->nr_pms; i++) {
		const PagemapEntry *pe = ch->c->pms[i];
		uint64_t end = pe->vaddr + (uint64_t)pe->nr_pages * PAGE_SIZE;

		if (end <= v->start) {
			*cursor = i + 1;
			continue;
		}
		return pe->vaddr < v->end;
	}
	return false;
}

/* Map every premapped VMA inside the reservation, writable for now if pages go in. */
static void child_premap(struct child *ch)
{
	const MmEntry *mm = ch->c->mm;
	uint64_t cur = ch->area + PAGE_SIZE;
	int cache_id = -1, cache_fd = -1, fd;
	struct rst_vma *r = ch->vmas;
	size_t i, cursor = 0;
	void *p;

	for (i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		uint64_t len = v->end - v->start;
		int flags = MAP_FIXED | (v->flags & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN));
		unsigned int bit;

		if (ch->c->kinds[i] == RV_VDSO || ch->c->kinds[i] == RV_SKIP)
			continue;
		fd = -1;
		if (v->status & (VMA_STATUS__VMA_FILE_PRIVATE | VMA_STATUS__VMA_FILE_SHARED))
			fd = child_vma_fd(ch, v, &cache_id, &cache_fd);
		if (ch->c->kinds[i] == RV_FILE_SHARED) {
			r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
			if (r->fd < 0)
				child_perror(ch, "cannot dup the fd of the mapping at %#" PRIx64, v->start);
			r->flags = flags & ~MAP_FIXED;
			r++;
			continue;
		}
		if (fd < 0)
			flags |= MAP_ANONYMOUS;
		/* Writable only if pages go in: a VMA made writable is accounted (VM_ACCOUNT) and
		 * would merge with neighbours the original did not merge with. */
		r->tmp_prot = v->prot;
		if (vma_has_pages(ch, v, &cursor) || (v->status & VMA_STATUS__VMA_AREA_STACK))
			r->tmp_prot |= PROT_READ | PROT_WRITE;
		p = mmap((void *)cur, len, r->tmp_prot, flags, fd, fd < 0 ? 0 : v->pgoff);
		if (p == MAP_FAILED)
			child_perror(ch, "cannot premap the vma at %#" PRIx64 " (%s)", v->start,
				     v->name ?: "");
		for (bit = 0; v->has_madv && bit < 64; bit++)
			if ((v->madv & (1ULL << bit)) && madvise(p, len, bit))
				child_perror(ch, "madvise(%u) of the vma at %#" PRIx64, bit, v->start);
		r->tmp = cur;
		cur += len + PAGE_SIZE;
		r++;
	}
	if (cache_fd >= 0)
		close(cache_fd);
}

/* The premapped VMA holding @addr (ch->vmas is sorted and disjoint), or NULL. */
static struct rst_vma *premapped_at(struct child *ch, uint64_t addr)
{
	size_t lo = 0, hi = ch->nr_vmas, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (addr < ch->vmas[mid].start)
			hi = mid;
		else if (addr >= ch->vmas[mid].end)
			lo = mid + 1;
		else
			return ch->vmas[mid].tmp ? &ch->vmas[mid] : NULL;
	}
	return NULL;
}

/* Read the dumped pages straight into their premapped places: each page is faulted once. */
static void child_read_pages(struct child *ch)
{
	struct rst_ctx *c = ch->c;
	uint64_t off = 0;
	size_t i;

	for (i = 0; i < c->nr_pms; i++) {
		const PagemapEntry *pe = c->pms[i];
		uint32_t flags = pe->has_flags ? pe->flags : PAGEMAP_FLAGS__PE_PRESENT;
		uint64_t addr = pe->vaddr, left = (uint64_t)pe->nr_pages * PAGE_SIZE;

		if (flags & PAGEMAP_FLAGS__PE_PARENT)
			child_fail(ch, "pages at %#" PRIx64 " are in a parent image set: "
				   "not supported yet", addr);
		if (flags & PAGEMAP_FLAGS__PE_LAZY)
			child_fail(ch, "lazy pages at %#" PRIx64 ": not supported yet", addr);
		if (!(flags & PAGEMAP_FLAGS__PE_PRESENT))
			continue;
		while (left) {
			struct rst_vma *v = premapped_at(ch, addr);
			uint64_t chunk;
			char *dst;
			ssize_t n;

			if (!v)
				child_fail(ch, "pagemap-%d.img: pages at %#" PRIx64 " are in no "
					   "private vma", c->pid, addr);
			chunk = min(left, v->end - addr);
			dst = (char *)(v->tmp + (addr - v->start));
			/* Faulting the run in with one call is several times faster than taking
			 * one fault per page inside pread; if it fails, pread faults them. */
			madvise(dst, chunk, MADV_POPULATE_WRITE);
			while (chunk) {
				n = pread(ch->pages_fd, dst, chunk, off);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					child_perror(ch, "cannot read pages-%u.img", c->pm_head->pages_id);
				if (n == 0)
					child_fail(ch, "pages-%u.img is shorter than its pagemap "
						   "(%" PRIu64 " bytes)", c->pm_head->pages_id, off);
				dst += n;
				off += n;
				addr += n;
				left -= n;
				chunk -= n;
			}
		}
	}
}

/* ---- the restorer's area: blob, args, stack, a hole for the vDSO ---- */

static size_t args_size(struct child *ch)
{
	const MmEntry *mm = ch->c->mm;
	size_t xsize = ch->c->core->thread_info->fpregs->area.len;

	return sizeof(struct restorer_args) + (ch->nr_vmas + ch->nr_vdso) * sizeof(struct rst_vma) +
	       mm->n_mm_saved_auxv * sizeof(uint64_t) + arch_sigframe_max_size(xsize) + 64 +
	       MAX_UNMAP * sizeof(struct rst_range);
}

static uint64_t vdso_span(const struct rst_ctx *c)
{
	if (!c->nr_vdso_now)
		return 0;
	return c->vdso_now[c->nr_vdso_now - 1].end - c->vdso_now[0].start;
}

static void child_reserve(struct child *ch)
{
	void *p;

	ch->args_len = PAGE_ALIGN(args_size(ch));
	ch->rst_len = PAGE_ALIGN(restorer_blob_len) + ch->args_len + RESTORER_STACK_SIZE +
		      PAGE_ALIGN(vdso_span(ch->c));
	ch->area = child_find_area(ch, ch->premap_len + ch->rst_len);
	p = mmap((void *)ch->area, ch->premap_len + ch->rst_len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		child_perror(ch, "cannot reserve %#" PRIx64 " bytes at %#" PRIx64,
			     ch->premap_len + ch->rst_len, ch->area);
}

/* The stack VMA must hold the rt_sigframe below the recorded sp. */
static void child_check_frame(struct child *ch, uint64_t dst, uint64_t size)
{
	struct rst_vma *v = premapped_at(ch, dst);

	if (!v || dst + size > v->end)
		child_fail(ch, "no room for the signal frame at %#" PRIx64 " below sp %#llx",
			   dst, (unsigned long long)ch->c->core->thread_info->gpregs->sp);
}

static void child_fill_args(struct child *ch, struct restorer_args *a)
{
	struct rst_ctx *c = ch->c;
	const MmEntry *mm = c->mm;
	const CoreEntry *core = c->core;
	const ThreadCoreEntry *th = core->thread_core;
	uint64_t sigmask = ~0ULL, xfeatures, dst, size;
	char *base = (char *)a;
	size_t off = sizeof(*a);
	int ret;

	a->version = RESTORER_PROTO_VERSION;
	a->nr_vmas = ch->nr_vmas;
	a->vmas_off = off;
	memcpy(base + off, ch->vmas, ch->nr_vmas * sizeof(struct rst_vma));
	off += ch->nr_vmas * sizeof(struct rst_vma);
	a->nr_vdso = ch->nr_vdso;
	a->vdso_off = off;
	memcpy(base + off, ch->vdso, ch->nr_vdso * sizeof(struct rst_vma));
	off += ch->nr_vdso * sizeof(struct rst_vma);
	a->nr_auxv = mm->n_mm_saved_auxv;
	a->auxv_off = off;
	memcpy(base + off, mm->mm_saved_auxv, mm->n_mm_saved_auxv * sizeof(uint64_t));
	off += mm->n_mm_saved_auxv * sizeof(uint64_t);

	a->premap_start = ch->area;
	a->premap_end = ch->area + ch->premap_len;
	a->self_start = ch->area + ch->premap_len;
	a->self_len = ch->rst_len;
	a->vdso_tmp = a->self_start + ch->rst_len - PAGE_ALIGN(vdso_span(c));

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
	a->exe_fd = ch->exe_fd;

	a->status_fd = ch->status_fd;
	a->go_fd = ch->go_fd;
	a->fs_base = core->thread_info->gpregs->fs_base;
	a->gs_base = core->thread_info->gpregs->gs_base;
	if (th && th->has_rseq_abi && th->rseq_abi) {
		a->rseq_abi = th->rseq_abi;
		a->rseq_len = th->rseq_len;
		a->rseq_sig = th->rseq_sig;
	}
	a->pdeath_sig = core->tc->has_pdeath_sig ? core->tc->pdeath_sig : 0;
	a->dumpable = core->tc->has_dumpable ? (int)core->tc->dumpable :
		      mm->has_dumpable ? (int)mm->dumpable : -1;

	xfeatures = c->inv->has_xfeatures ? c->inv->xfeatures : core->thread_info->fpregs->xcr0;
	off = ALIGN_UP(off, 64);
	ret = arch_build_sigframe(core->thread_info->gpregs, core->thread_info->fpregs, xfeatures,
				  sigmask, base + off, arch_sigframe_max_size(
					  core->thread_info->fpregs->area.len) + 64, &dst, &size);
	if (ret)
		child_fail(ch, "core-%d.img: cannot build the signal frame: %s", c->pid,
			   strerror(-ret));
	child_check_frame(ch, dst, size);
	a->frame_off = off;
	a->frame_size = size;
	a->frame_dst = dst;
	off += size;
	a->unmap_off = ALIGN_UP(off, 16);
}

static bool in_vdso_unit(const char *name)
{
	return !strcmp(name, "[vdso]") || !strcmp(name, "[vvar]") ||
	       !strcmp(name, "[vvar_vclock]") || !strcmp(name, "[vsyscall]");
}

/*
 * The very last step before the jump: every mapping of ours but the reservation and the vDSO
 * unit goes to the unmap list. Nothing may be allocated or mapped after this.
 */
static void child_list_unmap(struct child *ch, struct restorer_args *a)
{
	struct rst_range *r = (struct rst_range *)((char *)a + a->unmap_off);
	uint64_t lo = ch->area, hi = ch->area + ch->premap_len + ch->rst_len;
	size_t len = 0;
	char *p, *nl;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		child_perror(ch, "cannot open /proc/self/maps");
	while ((n = read(fd, ch->maps_buf + len, MAPS_BUF_SIZE - 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0 || len >= MAPS_BUF_SIZE - 1)
		child_fail(ch, "cannot read /proc/self/maps");
	ch->maps_buf[len] = '\0';

	for (p = ch->maps_buf; *p; p = nl + 1) {
		unsigned long s, e;
		char *name;

		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
		s = strtoul(p, &name, 16);
		e = strtoul(name + 1, &name, 16);
		name = strrchr(p, ' ');
		name = name ? name + 1 : p;
		if ((s >= lo && e <= hi) || in_vdso_unit(name))
			continue;
		if (a->nr_unmap == MAX_UNMAP)
			child_fail(ch, "criu has more than %d mappings", MAX_UNMAP);
		r[a->nr_unmap].start = s;
		r[a->nr_unmap++].end = e;
	}
}

/* The kernel's struct sigaction for rt_sigaction(2): glibc's would replace sa_restorer. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/*
 * The task's signal dispositions. Their handlers are addresses in the task's memory, which the
 * kernel only stores; every signal stays blocked until rt_sigreturn sets the task's mask.
 */
static void child_sigactions(struct child *ch)
{
	const TaskCoreEntry *tc = ch->c->core->tc;
	struct ksigaction ksa;
	size_t i;

	for (i = 0; i < tc->n_sigactions && i < 64; i++) {
		const SigactionEntry *e = tc->sigactions[i];
		int sig = i + 1;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		ksa.handler = e->sigaction;
		ksa.flags = e->flags;
		ksa.restorer = e->restorer;
		ksa.mask = e->mask;
		if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof(ksa.mask)))
			child_perror(ch, "cannot restore the action of signal %d", sig);
	}
}

/* Pending signals go back as they were queued; all signals are blocked, so they wait. */
static void child_pending(struct child *ch)
{
	const TaskCoreEntry *tc = ch->c->core->tc;
	const ThreadCoreEntry *th = ch->c->core->thread_core;
	siginfo_t si;
	size_t i;

	for (i = 0; i < tc->n_shared_siginfo; i++) {
		if (tc->shared_siginfo[i].len != sizeof(si))
			child_fail(ch, "core-%d.img: a pending signal of %zu bytes", ch->c->pid,
				   tc->shared_siginfo[i].len);
		memcpy(&si, tc->shared_siginfo[i].data, sizeof(si));
		if (syscall(SYS_rt_sigqueueinfo, ch->c->pid, si.si_signo, &si))
			child_perror(ch, "cannot queue the pending signal %d", si.si_signo);
	}
	for (i = 0; th && i < th->n_siginfo; i++) {
		if (th->siginfo[i].len != sizeof(si))
			child_fail(ch, "core-%d.img: a pending signal of %zu bytes", ch->c->pid,
				   th->siginfo[i].len);
		memcpy(&si, th->siginfo[i].data, sizeof(si));
		if (syscall(SYS_rt_tgsigqueueinfo, ch->c->pid, ch->c->pid, si.si_signo, &si))
			child_perror(ch, "cannot queue the pending signal %d", si.si_signo);
	}
}

static __noreturn void child_jump(struct child *ch)
{
	uint64_t rst = ch->area + ch->premap_len;
	uint64_t args_addr = rst + PAGE_ALIGN(restorer_blob_len);
	struct restorer_args *a = (void *)args_addr;
	void *p;

	p = mmap((void *)rst, ch->rst_len - PAGE_ALIGN(vdso_span(ch->c)),
		 PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		child_perror(ch, "cannot map the restorer at %#" PRIx64, rst);
	memcpy(p, restorer_blob, restorer_blob_len);
	child_fill_args(ch, a);
	close(ch->pages_fd);
	if (prctl(PR_SET_NAME, ch->c->core->tc->comm))
		child_perror(ch, "cannot set the comm");
	child_sigactions(ch);
	child_pending(ch);
	child_list_unmap(ch, a);
	arch_jump_to_restorer(rst, args_addr + ch->args_len + RESTORER_STACK_SIZE, args_addr);
}

static __noreturn void rst_child(struct rst_ctx *c, pid_t parent)
{
	struct child ch = {
		.c = c,
		.status_fd = c->status_pipe[1],
		.go_fd = c->go_pipe[0],
		.pages_fd = img_raw_fd(c->pages),
		.exe_fd = -1,
	};

	child_signals(&ch, parent);
	ch.maps_buf = malloc(MAPS_BUF_SIZE);
	if (!ch.maps_buf)
		child_fail(&ch, "out of memory");
	child_rseq_off(&ch);
	child_move_fds(&ch);
	child_open_fds(&ch);
	child_fs(&ch);
	child_task_state(&ch);
	child_list_vmas(&ch);
	child_reserve(&ch);
	child_premap(&ch);
	child_read_pages(&ch);
	child_jump(&ch);
}

/* ---------------------------------------------------------------------------------------------
 * criu's side: create the task, wait for the restorer, follow it through rt_sigreturn
 */

static int rst_fork(struct rst_ctx *c)
{
	pid_t tid = c->pid, parent = getpid();
	struct clone_args ca = {
		.exit_signal	= SIGCHLD,
		.set_tid	= (uintptr_t)&tid,
		.set_tid_size	= 1,
	};
	long pid;

	if (pipe2(c->status_pipe, O_CLOEXEC) || pipe2(c->go_pipe, O_CLOEXEC))
		return pr_err_ret(-errno, "cannot create the sync pipes");
	fflush(NULL);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		if (errno == EEXIST)
			pr_err("pid %d is already in use", c->pid);
		else
			pr_perror("cannot create pid %d", c->pid);
		return errno == EEXIST ? -EEXIST : -errno;
	}
	if (pid == 0)
		rst_child(c, parent);
	c->child = pid;
	close(c->status_pipe[1]);
	close(c->go_pipe[0]);
	c->status_pipe[1] = c->go_pipe[0] = -1;
	pr_info("created pid %d", c->child);
	return 0;
}

static void rst_kill(struct rst_ctx *c)
{
	int status;

	if (c->child <= 0)
		return;
	kill(c->child, SIGKILL);
	while (waitpid(c->child, &status, __WALL) < 0 && errno == EINTR)
		;
	c->child = 0;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status %#x", status);
}

/* The child says either READY (+ struct restorer_ready) or FAIL (+ text), or dies. */
static int rst_wait_ready(struct rst_ctx *c)
{
	char buf[RESTORER_ERR_MAX + 2], how[64];
	size_t len = 0;
	ssize_t n;
	int status;

	while (len < sizeof(buf) - 1) {
		n = read(c->status_pipe[0], buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (buf[0] == RESTORER_MSG_READY && len >= 1 + sizeof(c->ready))
			break;
	}
	if (len >= 1 + sizeof(c->ready) && buf[0] == RESTORER_MSG_READY) {
		memcpy(&c->ready, buf + 1, sizeof(c->ready));
		pr_info("restorer of pid %d is ready", c->pid);
		return 0;
	}
	if (len > 1 && buf[0] == RESTORER_MSG_FAIL) {
		buf[len] = '\0';
		pr_err("pid %d: %s", c->pid, buf + 1);
	} else {
		while (waitpid(c->child, &status, __WALL) < 0 && errno == EINTR)
			;
		c->child = 0;
		describe_status(status, how, sizeof(how));
		pr_err("pid %d %s before it was restored", c->pid, how);
	}
	return -EIO;
}

/* Wait for the next stop of the traced task; -ESRCH if it died. */
static int trace_wait(struct rst_ctx *c, int *ret_status)
{
	int status;

	while (waitpid(c->child, &status, __WALL) < 0)
		if (errno != EINTR)
			return pr_err_ret(-errno, "waitpid(%d)", c->child);
	if (!WIFSTOPPED(status)) {
		char how[64];

		describe_status(status, how, sizeof(how));
		pr_err("pid %d %s while criu traced it", c->pid, how);
		c->child = 0;
		return -ESRCH;
	}
	*ret_status = status;
	return 0;
}

/* Resume to the next syscall stop; signals that stop the task on the way are passed on. */
static int trace_next_syscall(struct rst_ctx *c, struct __ptrace_syscall_info *info)
{
	int status, sig = 0, ret;

	for (;;) {
		if (ptrace(PTRACE_SYSCALL, c->child, 0, sig))
			return pr_err_ret(-errno, "ptrace(PTRACE_SYSCALL, %d)", c->child);
		ret = trace_wait(c, &status);
		if (ret)
			return ret;
		sig = 0;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80))
			break;
		if ((status >> 16) == 0)
			sig = WSTOPSIG(status);
	}
	if (ptrace(PTRACE_GET_SYSCALL_INFO, c->child, sizeof(*info), info) <= 0)
		return pr_err_ret(-errno, "ptrace(PTRACE_GET_SYSCALL_INFO, %d)", c->child);
	return 0;
}

/* Make the stopped task run munmap() of the restorer's area at its "syscall" instruction. */
static int unmap_restorer(struct rst_ctx *c, const struct user_regs_struct *saved)
{
	struct user_regs_struct regs = *saved;
	struct __ptrace_syscall_info info;
	int ret;

	regs.rip = c->ready.syscall_ip;
	regs.rax = SYS_munmap;
	regs.orig_rax = -1;
	regs.rdi = c->ready.self_start;
	regs.rsi = c->ready.self_len;
	if (ptrace(PTRACE_SETREGS, c->child, 0, &regs))
		return pr_err_ret(-errno, "cannot set the registers of pid %d", c->pid);
	ret = trace_next_syscall(c, &info);
	if (!ret && (info.op != PTRACE_SYSCALL_INFO_ENTRY || info.entry.nr != SYS_munmap))
		ret = -EIO;
	if (!ret)
		ret = trace_next_syscall(c, &info);
	if (!ret && (info.op != PTRACE_SYSCALL_INFO_EXIT || info.exit.rval != 0))
		ret = -EIO;
	if (ret)
		return pr_err_ret(ret, "pid %d: cannot unmap the restorer", c->pid);
	if (ptrace(PTRACE_SETREGS, c->child, 0, saved))
		return pr_err_ret(-errno, "cannot set the registers of pid %d", c->pid);
	return 0;
}

/*
 * Trace the task from its wait for our byte to the end of rt_sigreturn: then its registers are
 * its own, and the restorer can go.
 */
static int rst_finish(struct rst_ctx *c)
{
	struct __ptrace_syscall_info info;
	struct user_regs_struct regs;
	const ThreadCoreEntry *th = c->core->thread_core;
	uint64_t mask = 0;
	long last_nr = -1;
	int status, ret;
	char go = 1;

	if (c->core->tc->has_blk_sigset)
		mask = c->core->tc->blk_sigset;
	else if (th && th->has_blk_sigset)
		mask = th->blk_sigset;

	if (ptrace(PTRACE_SEIZE, c->child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL))
		return pr_err_ret(-errno, "cannot trace pid %d", c->pid);
	if (ptrace(PTRACE_INTERRUPT, c->child, 0, 0))
		return pr_err_ret(-errno, "cannot stop pid %d", c->pid);
	ret = trace_wait(c, &status);
	if (ret)
		return ret;
	if (write(c->go_pipe[1], &go, 1) != 1)
		return pr_err_ret(-errno, "cannot wake the restorer of pid %d", c->pid);
	for (;;) {
		ret = trace_next_syscall(c, &info);
		if (ret)
			return ret;
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
			last_nr = info.entry.nr;
		else if (info.op == PTRACE_SYSCALL_INFO_EXIT && last_nr == SYS_rt_sigreturn)
			break;
	}
	if (ptrace(PTRACE_GETREGS, c->child, 0, &regs))
		return pr_err_ret(-errno, "cannot read the registers of pid %d", c->pid);
	ret = unmap_restorer(c, &regs);
	if (ret)
		return ret;
	/* The frame kept every signal blocked while we worked; now the task's own mask. */
	if (ptrace(PTRACE_SETSIGMASK, c->child, sizeof(mask), &mask))
		return pr_err_ret(-errno, "cannot set the signal mask of pid %d", c->pid);
	if (ptrace(PTRACE_DETACH, c->child, 0, 0))
		return pr_err_ret(-errno, "cannot detach from pid %d", c->pid);
	if (c->core->tc->state == TASK_STATE__TASK_STOPPED && kill(c->child, SIGSTOP))
		return pr_err_ret(-errno, "cannot stop pid %d again", c->pid);
	pr_info("pid %d is running", c->pid);
	return 0;
}

static int write_pidfile(struct rst_ctx *c)
{
	_cleanup_close_ int fd = -1;
	char buf[16];
	int len;

	if (!c->opts->pidfile)
		return 0;
	fd = open(c->opts->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return pr_err_ret(-errno, "cannot create the pidfile '%s'", c->opts->pidfile);
	len = snprintf(buf, sizeof(buf), "%d", c->pid);
	if (write(fd, buf, len) != len)
		return pr_err_ret(-errno, "cannot write the pidfile '%s'", c->opts->pidfile);
	return 0;
}

static int rst_wait_task(struct rst_ctx *c)
{
	char how[64];

	if (c->opts->restore_detached) {
		c->child = 0;
		return 0;
	}
	while (waitpid(c->child, &c->exit_status, 0) < 0)
		if (errno != EINTR)
			return pr_err_ret(-errno, "waitpid(%d)", c->pid);
	c->child = 0;
	describe_status(c->exit_status, how, sizeof(how));
	pr_info("pid %d %s", c->pid, how);
	return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The step table
 */

struct rst_step {
	const char *name;
	int (*run)(struct rst_ctx *c);
	void (*undo)(struct rst_ctx *c);
};

static const struct rst_step rst_steps[] = {
	{ "read the images",		read_images,	NULL },
	{ "check the images",		check_images,	NULL },
	{ "create the task",		rst_fork,	rst_kill },
	{ "wait for the restorer",	rst_wait_ready,	NULL },
	{ "finish the restore",		rst_finish,	NULL },
	{ "write the pidfile",		write_pidfile,	NULL },
	{ "wait for the task",		rst_wait_task,	NULL },
};

static void close_pipes(struct rst_ctx *c)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (c->status_pipe[i] >= 0)
			close(c->status_pipe[i]);
		if (c->go_pipe[i] >= 0)
			close(c->go_pipe[i]);
	}
}

int action_restore(const struct cr_opts *opts)
{
	struct rst_ctx c = {
		.opts = opts,
		.status_pipe = { -1, -1 },
		.go_pipe = { -1, -1 },
		.exit_status = -1,
	};
	size_t i;
	int ret = 0;

	for (i = 0; i < ARRAY_SIZE(rst_steps); i++) {
		pr_debug("step: %s", rst_steps[i].name);
		ret = rst_steps[i].run(&c);
		if (ret < 0) {
			pr_debug("step '%s' failed: %s", rst_steps[i].name, strerror(-ret));
			break;
		}
	}
	if (ret < 0)
		while (i-- > 0)
			if (rst_steps[i].undo)
				rst_steps[i].undo(&c);
	close_pipes(&c);
	rst_ctx_release(&c);
	if (ret < 0 || c.exit_status == -1)
		return ret;

	/* Without -d, criu exits with the restored task's status, as CRIU does. */
	log_fini();
	if (WIFEXITED(c.exit_status))
		exit(WEXITSTATUS(c.exit_status));
	exit(128 + WTERMSIG(c.exit_status));
}
