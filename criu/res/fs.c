/*
 * cwd, root and umask of a process (fs-PID.img); cwd and root are REG entries of files.img.
 *
 * Dump: stat /proc/PID/cwd and /proc/PID/root, record them, write fs-PID.img.
 * Restore: (restore side, below).
 */
#define LOG_PREFIX "fs: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/image.h"
#include "core/log.h"
#include "images/fs.pb-c.h"

/* ================================= dump side ================================= */

#define DELETED_SUFFIX	" (deleted)"

static int fs_collect_dir(struct dump_ctx *dc, const char *what, uint32_t *ret_id)
{
	char link[4096], path[64];
	struct stat st;
	size_t len;
	int ret;

	ret = proc_readlink(dc->pid, what, link, sizeof(link));
	if (ret < 0)
		return pr_err_ret(ret, "cannot read /proc/%d/%s", dc->pid, what);
	snprintf(path, sizeof(path), "/proc/%d/%s", dc->pid, what);
	if (stat(path, &st) < 0)
		return pr_err_ret(-errno, "cannot stat the %s of task %d ('%s')", what, dc->pid, link);
	len = strlen(link);
	if (st.st_nlink == 0 && len > strlen(DELETED_SUFFIX) &&
	    !strcmp(link + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX)) {
		pr_err("the %s of task %d ('%s') is deleted: not supported yet", what, dc->pid, link);
		return -EOPNOTSUPP;
	}
	ret = reg_file_add(&dc->files, link, &st, O_RDONLY | O_DIRECTORY, 0, ret_id);
	if (ret < 0)
		return pr_err_ret(ret, "cannot record the %s of task %d", what, dc->pid);
	pr_debug("%s: '%s' -> file %u", what, link, *ret_id);
	return 0;
}

int fs_collect(struct dump_ctx *dc)
{
	int ret;

	ret = fs_collect_dir(dc, "cwd", &dc->cwd_id);
	if (ret < 0)
		return ret;
	return fs_collect_dir(dc, "root", &dc->root_id);
}

int fs_dump(struct dump_ctx *dc)
{
	FsEntry e = FS_ENTRY__INIT;

	e.cwd_id = dc->cwd_id;
	e.root_id = dc->root_id;
	e.has_umask = true;
	e.umask = dc->misc.umask;

	return res_write_one(dc->dir, IMG_FS, dc->pid, &e.base);
}

/* ================================ restore side =============================== */

#include <unistd.h>

#include "images/core.pb-c.h"
#include "images/fdinfo.pb-c.h"

int fs_restore(struct rst_task *t)
{
	struct rst_ctx *c = t->c;
	const RegFileEntry *cwd = reg_file_find(c, c->fs->cwd_id);
	const RegFileEntry *root = reg_file_find(c, c->fs->root_id);
	const TaskCoreEntry *tc = c->core->tc;

	if (chdir(cwd->name))
		return rst_task_err(t, -errno, "cannot change to the cwd '%s': %m", cwd->name);
	if (strcmp(root->name, "/") && chroot(root->name))
		return rst_task_err(t, -errno, "cannot chroot to '%s': %m", root->name);
	if (c->fs->has_umask)
		umask(c->fs->umask);
	else if (tc->has_umask)
		umask(tc->umask);
	return 0;
}
