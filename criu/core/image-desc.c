/* The per-kind table of the image set. */
#include "image-desc.h"

#include <errno.h>
#include <string.h>

#include "common/compiler.h"
#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/core.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/fs.pb-c.h"
#include "images/fdinfo.pb-c.h"

#define DESC(_name, _tmpl, _magic, _first, _entry)	\
	{ .name = _name, .tmpl = _tmpl, .magic = _magic, .first = _first, .entry = _entry }

static const struct img_desc descs[IMG__MAX] = {
	[IMG_INVENTORY]	= DESC("inventory", "inventory.img", 0x58a9c3e1,
			       &inventory_entry__descriptor, &inventory_entry__descriptor),
	[IMG_PSTREE]	= DESC("pstree", "pstree.img", 0x51d24b07,
			       &pstree_entry__descriptor, &pstree_entry__descriptor),
	[IMG_CORE]	= DESC("core", "core-%u.img", 0x6c0e39a5,
			       &core_entry__descriptor, &core_entry__descriptor),
	[IMG_MM]	= DESC("mm", "mm-%u.img", 0x47f1b28d,
			       &mm_entry__descriptor, &mm_entry__descriptor),
	[IMG_PAGEMAP]	= DESC("pagemap", "pagemap-%u.img", 0x5e6a0d93,
			       &pagemap_head__descriptor, &pagemap_entry__descriptor),
	[IMG_PAGES]	= { .name = "pages", .tmpl = "pages-%u.img", .raw = true },
	[IMG_FS]	= DESC("fs", "fs-%u.img", 0x43b7e15f,
			       &fs_entry__descriptor, &fs_entry__descriptor),
	[IMG_FILES]	= DESC("files", "files.img", 0x6a3d8c21,
			       &file_entry__descriptor, &file_entry__descriptor),
	[IMG_FDINFO]	= DESC("fdinfo", "fdinfo-%u.img", 0x4d96f0b8,
			       &fdinfo_entry__descriptor, &fdinfo_entry__descriptor),
	[IMG_PIPE_DATA]	= { .name = "pipe-data", .tmpl = "pipe-data-%u.img", .raw = true },
	[IMG_MEMFD_DATA] = { .name = "memfd-data", .tmpl = "memfd-data-%u.img", .raw = true },
	[IMG_FILE_DATA]	= { .name = "file-data", .tmpl = "file-data-%u.img", .raw = true },
};

const struct img_desc *img_desc(enum img_kind kind)
{
	if ((unsigned int)kind >= IMG__MAX)
		return NULL;
	return &descs[kind];
}

int img_kind_by_magic(uint32_t magic)
{
	unsigned int i;

	for (i = 0; i < IMG__MAX; i++)
		if (!descs[i].raw && descs[i].magic == magic)
			return i;
	return -ENOENT;
}

int img_kind_by_name(const char *name)
{
	unsigned int i;

	for (i = 0; i < IMG__MAX; i++)
		if (descs[i].name && !strcmp(descs[i].name, name))
			return i;
	return -ENOENT;
}

/* Does @name match @tmpl, where a "%u" in the template stands for one or more digits? */
static bool tmpl_match(const char *tmpl, const char *name)
{
	const char *pct = strstr(tmpl, "%u");
	size_t pre, suf, len = strlen(name), i;

	if (!pct)
		return !strcmp(tmpl, name);
	pre = pct - tmpl;
	suf = strlen(pct + 2);
	if (len <= pre + suf || strncmp(name, tmpl, pre) || strcmp(name + len - suf, pct + 2))
		return false;
	for (i = pre; i < len - suf; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

int img_kind_by_file_name(const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned int i;

	base = base ? base + 1 : path;
	for (i = 0; i < IMG__MAX; i++)
		if (descs[i].tmpl && tmpl_match(descs[i].tmpl, base))
			return i;
	return -ENOENT;
}

const ProtobufCMessageDescriptor *img_entry_desc(enum img_kind kind, unsigned long idx)
{
	const struct img_desc *d = img_desc(kind);

	if (!d)
		return NULL;
	return idx == 0 ? d->first : d->entry;
}
