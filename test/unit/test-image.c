/*
 * Unit test of the image-I/O layer: round trips of every kind, raw pages, and the message of
 * every kind of broken image (file name and byte offset). Needs no root.
 * Exit 0: pass, 77: skip, else fail with the reason on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/image.h"
#include "core/image-desc.h"
#include "images/inventory.pb-c.h"
#include "images/pstree.pb-c.h"
#include "images/core.pb-c.h"
#include "images/mm.pb-c.h"
#include "images/pagemap.pb-c.h"
#include "images/fs.pb-c.h"
#include "images/fdinfo.pb-c.h"

#define IMG_ERR_LEN	512
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char dir_path[64];
static struct img_dir *dir;
static int failures;

static void fail(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
	failures++;
}

#define CHECK(cond, fmt, ...)						\
	do {								\
		if (!(cond)) {						\
			fail("%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__); \
			return -1;					\
		}							\
	} while (0)

/* Does @msg contain every string of the NULL-terminated list? */
static int check_msg(const char *what, const char *msg, ...)
{
	const char *s;
	va_list args;
	int ret = 0;

	if (getenv("TEST_IMAGE_VERBOSE"))
		printf("%-14s %s\n", what, msg);
	va_start(args, msg);
	while ((s = va_arg(args, const char *)))
		if (!strstr(msg, s)) {
			fail("%s: message \"%s\" lacks \"%s\"", what, msg, s);
			ret = -1;
		}
	va_end(args);
	return ret;
}

/* The packed bytes of two messages are equal: a comparison of every field. */
static int same_msg(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	size_t la = protobuf_c_message_get_packed_size(a);
	size_t lb = protobuf_c_message_get_packed_size(b);
	uint8_t *pa, *pb;
	int same;

	if (la != lb)
		return 0;
	pa = malloc(la + 1);
	pb = malloc(lb + 1);
	if (!pa || !pb)
		return 0;
	protobuf_c_message_pack(a, pa);
	protobuf_c_message_pack(b, pb);
	same = !memcmp(pa, pb, la);
	free(pa);
	free(pb);
	return same;
}

/* Write @n messages to @kind/@id, read them back and compare; the reader uses img_entry_desc(). */
static int round_trip(enum img_kind kind, unsigned int id, ProtobufCMessage **msgs, size_t n)
{
	struct cr_img *img;
	ProtobufCMessage *got;
	struct stat st;
	char name[64];
	size_t i;
	int ret;

	img_name(kind, id, name, sizeof(name));
	ret = img_open(dir, kind, id, O_WRONLY, &img);
	CHECK(ret == 0, "%s: open for writing: %d (%s)", name, ret, img_dir_error(dir));
	for (i = 0; i < n; i++) {
		ret = img_write(img, msgs[i]);
		CHECK(ret == 0, "%s: write %zu: %d (%s)", name, i, ret, img_error(img));
	}
	ret = img_close(img);
	CHECK(ret == 0, "%s: close: %d", name, ret);

	CHECK(fstatat(img_dir_fd(dir), name, &st, 0) == 0, "%s: stat: %m", name);
	CHECK((st.st_mode & 07777) == 0600, "%s: mode %o, not 0600", name, st.st_mode & 07777);

	ret = img_open(dir, kind, id, O_RDONLY, &img);
	CHECK(ret == 0, "%s: open for reading: %d (%s)", name, ret, img_dir_error(dir));
	CHECK(!strcmp(img_file_name(img), name), "%s: file name '%s'", name, img_file_name(img));
	for (i = 0; i < n; i++) {
		ret = img_read(img, img_entry_desc(kind, i), &got);
		if (ret != 1)
			fail("%s: read %zu: %d (%s)", name, i, ret, img_error(img));
		else if (!same_msg(msgs[i], got))
			fail("%s: entry %zu differs after the round trip", name, i);
		if (ret != 1)
			break;
		protobuf_c_message_free_unpacked(got, NULL);
	}
	if (i == n) {
		ret = img_read(img, img_entry_desc(kind, n), &got);
		if (ret != 0)
			fail("%s: %d instead of the end of the file", name, ret);
	}
	img_close(img);
	return i == n ? 0 : -1;
}

static int test_inventory(void)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT, *got;
	ProtobufCMessage *m = &e.base, *r;
	struct cr_img *img;
	char err[256];

	e.img_version = IMG_VERSION;
	e.root_pid = 4242;
	e.kind = DUMP_KIND__DUMP;
	e.complete = true;
	e.kernel_release = "6.18.0-test";
	e.has_xfeatures = true;
	e.xfeatures = 0x2e7;
	e.has_dump_time_ns = true;
	e.dump_time_ns = 1763856000123456789ull;
	if (round_trip(IMG_INVENTORY, 0, &m, 1))
		return -1;

	CHECK(img_open(dir, IMG_INVENTORY, 0, O_RDONLY, &img) == 0, "inventory: open");
	CHECK(img_read_one(img, &inventory_entry__descriptor, &r) == 0, "inventory: read_one: %s",
	      img_error(img));
	img_close(img);
	got = (InventoryEntry *)r;
	CHECK(got->root_pid == 4242 && got->complete && got->kind == DUMP_KIND__DUMP &&
	      !strcmp(got->kernel_release, "6.18.0-test") && got->has_xfeatures &&
	      got->xfeatures == 0x2e7 && got->dump_time_ns == e.dump_time_ns &&
	      !got->has_xsave_size, "inventory: fields differ");
	CHECK(img_check_inventory(got, err, sizeof(err)) == 0, "inventory check: %s", err);
	protobuf_c_message_free_unpacked(r, NULL);
	return 0;
}

static int test_pstree(void)
{
	static PstreeEntry e[3000];
	static ProtobufCMessage *m[3000];
	static uint32_t threads[3000][3];
	struct cr_img *img;
	ProtobufCMessage *r;
	PstreeEntry *got;
	size_t i;

	/* 3000 entries: several buffer flushes */
	for (i = 0; i < 3000; i++) {
		pstree_entry__init(&e[i]);
		e[i].pid = 100 + i;
		e[i].ppid = i ? 100 : 0;
		e[i].pgid = 100;
		e[i].sid = 99;
		threads[i][0] = e[i].pid;
		threads[i][1] = 100000 + i;
		threads[i][2] = 200000 + i;
		e[i].n_threads = i % 4;
		e[i].threads = e[i].n_threads ? threads[i] : NULL;
		m[i] = &e[i].base;
	}
	if (round_trip(IMG_PSTREE, 0, m, 3000))
		return -1;

	CHECK(img_open(dir, IMG_PSTREE, 0, O_RDONLY, &img) == 0, "pstree: open");
	for (i = 0; i < 3; i++) {
		CHECK(img_read(img, &pstree_entry__descriptor, &r) == 1, "pstree: read");
		got = (PstreeEntry *)r;
		CHECK(got->pid == 100 + i && got->n_threads == i && (!i || got->threads[0] == 100 + i),
		      "pstree: entry %zu fields", i);
		protobuf_c_message_free_unpacked(r, NULL);
	}
	img_close(img);
	return 0;
}

static int test_core(void)
{
	CoreEntry c[2] = { CORE_ENTRY__INIT, CORE_ENTRY__INIT };
	ThreadInfoX86 ti[2] = { THREAD_INFO_X86__INIT, THREAD_INFO_X86__INIT };
	UserX86RegsEntry regs = USER_X86_REGS_ENTRY__INIT;
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry thc[2] = { THREAD_CORE_ENTRY__INIT, THREAD_CORE_ENTRY__INIT };
	ProtobufCMessage *m[2] = { &c[0].base, &c[1].base }, *r;
	static uint8_t area[2696];
	struct cr_img *img;
	CoreEntry *got;
	size_t i;

	for (i = 0; i < sizeof(area); i++)
		area[i] = i * 7;
	regs.ip = 0x401000;
	regs.sp = 0x7ffc00001000;
	regs.ax = (uint64_t)-4;		/* -EINTR */
	regs.orig_ax = 230;
	xs.area.len = sizeof(area);
	xs.area.data = area;
	xs.xstate_bv = 0x7;
	xs.xcr0 = 0x2e7;
	tc.state = TASK_STATE__TASK_ALIVE;
	tc.comm = "test-image";
	tc.has_exit_code = true;
	tc.exit_code = -3;
	for (i = 0; i < 2; i++) {
		c[i].mtype = MARCH__X86_64;
		ti[i].gpregs = &regs;
		ti[i].fpregs = &xs;
		c[i].thread_info = &ti[i];
		thc[i].tid = 500 + i;
		thc[i].has_rseq_abi = i;
		thc[i].rseq_abi = 0x7f0000001000;
		c[i].thread_core = &thc[i];
	}
	c[0].tc = &tc;
	if (round_trip(IMG_CORE, 500, m, 2))
		return -1;

	CHECK(img_open(dir, IMG_CORE, 500, O_RDONLY, &img) == 0, "core: open");
	CHECK(img_read(img, &core_entry__descriptor, &r) == 1, "core: read");
	got = (CoreEntry *)r;
	CHECK(got->mtype == MARCH__X86_64 && got->thread_info->gpregs->ip == 0x401000 &&
	      got->thread_info->gpregs->ax == (uint64_t)-4 &&
	      got->thread_info->fpregs->area.len == sizeof(area) &&
	      !memcmp(got->thread_info->fpregs->area.data, area, sizeof(area)) &&
	      got->tc && !strcmp(got->tc->comm, "test-image") && got->tc->exit_code == -3 &&
	      got->thread_core->tid == 500, "core: fields differ");
	protobuf_c_message_free_unpacked(r, NULL);
	img_close(img);
	return 0;
}

static int test_mm(void)
{
	MmEntry mm = MM_ENTRY__INIT;
	ProtobufCMessage *m = &mm.base, *r;
	static VmaEntry vmas[4000];
	static VmaEntry *pvmas[4000];
	uint64_t auxv[8] = { 33, 0x7ffd000, 16, 0xbfebfbff, 6, 4096, 0, 0 };
	struct cr_img *img;
	MmEntry *got;
	size_t i;

	/* ~4000 VMAs: an entry larger than the 64 KiB write buffer */
	for (i = 0; i < 4000; i++) {
		vma_entry__init(&vmas[i]);
		vmas[i].start = 0x400000 + i * 0x2000;
		vmas[i].end = vmas[i].start + 0x1000;
		vmas[i].prot = 3;
		vmas[i].flags = 0x22;
		vmas[i].status = VMA_STATUS__VMA_AREA_REGULAR | VMA_STATUS__VMA_ANON_PRIVATE;
		vmas[i].name = i % 2 ? "[heap]" : "/usr/lib/x86_64-linux-gnu/libc.so.6";
		pvmas[i] = &vmas[i];
	}
	mm.mm_start_code = 0x400000;
	mm.mm_brk = 0x1234000;
	mm.exe_file_id = 7;
	mm.n_mm_saved_auxv = 8;
	mm.mm_saved_auxv = auxv;
	mm.n_vmas = 4000;
	mm.vmas = pvmas;
	CHECK(protobuf_c_message_get_packed_size(m) > 64 << 10, "mm: entry not large enough");
	if (round_trip(IMG_MM, 42, &m, 1))
		return -1;

	CHECK(img_open(dir, IMG_MM, 42, O_RDONLY, &img) == 0, "mm: open");
	CHECK(img_read_one(img, &mm_entry__descriptor, &r) == 0, "mm: read");
	got = (MmEntry *)r;
	CHECK(got->n_vmas == 4000 && got->vmas[3999]->start == 0x400000 + 3999 * 0x2000 &&
	      !strcmp(got->vmas[1]->name, "[heap]") && got->n_mm_saved_auxv == 8 &&
	      got->mm_saved_auxv[3] == 0xbfebfbff && got->exe_file_id == 7, "mm: fields differ");
	protobuf_c_message_free_unpacked(r, NULL);
	img_close(img);
	return 0;
}

static int test_pagemap(void)
{
	PagemapHead h = PAGEMAP_HEAD__INIT;
	PagemapEntry pe[5];
	ProtobufCMessage *m[6] = { &h.base }, *r;
	struct cr_img *img;
	size_t i;

	h.pages_id = 3;
	for (i = 0; i < 5; i++) {
		pagemap_entry__init(&pe[i]);
		pe[i].vaddr = 0x7f0000000000 + i * 0x10000;
		pe[i].nr_pages = i + 1;
		pe[i].has_flags = i % 2;
		pe[i].flags = PAGEMAP_FLAGS__PE_PRESENT;
		m[i + 1] = &pe[i].base;
	}
	if (round_trip(IMG_PAGEMAP, 42, m, 6))
		return -1;

	CHECK(img_open(dir, IMG_PAGEMAP, 42, O_RDONLY, &img) == 0, "pagemap: open");
	CHECK(img_read(img, &pagemap_head__descriptor, &r) == 1, "pagemap: head");
	CHECK(((PagemapHead *)r)->pages_id == 3, "pagemap: pages_id");
	protobuf_c_message_free_unpacked(r, NULL);
	CHECK(img_read(img, &pagemap_entry__descriptor, &r) == 1, "pagemap: entry");
	CHECK(((PagemapEntry *)r)->vaddr == 0x7f0000000000 && ((PagemapEntry *)r)->nr_pages == 1 &&
	      !((PagemapEntry *)r)->has_flags, "pagemap: entry fields");
	protobuf_c_message_free_unpacked(r, NULL);
	img_close(img);
	return 0;
}

static int test_small_kinds(void)
{
	FsEntry fs = FS_ENTRY__INIT;
	FileEntry fe[3];
	RegFileEntry reg[3];
	FdinfoEntry fd[4];
	ProtobufCMessage *m[4];
	size_t i;

	fs.cwd_id = 1;
	fs.root_id = 2;
	fs.has_umask = true;
	fs.umask = 022;
	m[0] = &fs.base;
	if (round_trip(IMG_FS, 42, m, 1))
		return -1;

	for (i = 0; i < 3; i++) {
		file_entry__init(&fe[i]);
		reg_file_entry__init(&reg[i]);
		fe[i].type = FD_TYPES__REG;
		fe[i].id = i + 1;
		reg[i].id = i + 1;
		reg[i].flags = O_RDWR | O_APPEND;
		reg[i].pos = 1ull << 40;
		reg[i].name = i ? "/tmp/some file \"quoted\"" : "/";
		reg[i].has_fown_pid = true;
		reg[i].fown_pid = -7;
		fe[i].reg = &reg[i];
		m[i] = &fe[i].base;
	}
	if (round_trip(IMG_FILES, 0, m, 3))
		return -1;

	for (i = 0; i < 4; i++) {
		fdinfo_entry__init(&fd[i]);
		fd[i].id = i;
		fd[i].fd = i * 10;
		fd[i].flags = i == 3;
		fd[i].type = i == 2 ? FD_TYPES__PIPE : FD_TYPES__REG;
		m[i] = &fd[i].base;
	}
	return round_trip(IMG_FDINFO, 42, m, 4);
}

static int test_pages(void)
{
	static uint8_t page[4096 * 4], back[4096 * 4];
	struct cr_img *img;
	size_t i;
	int fd, ret;

	for (i = 0; i < sizeof(page); i++)
		page[i] = i ^ (i >> 8);
	CHECK(img_open(dir, IMG_PAGES, 3, O_WRONLY, &img) == 0, "pages: open for writing");
	CHECK(img_write_raw(img, page, 4096) == 0, "pages: write");
	CHECK(img_write_raw(img, page + 4096, sizeof(page) - 4096) == 0, "pages: write");
	{
		PagemapHead h = PAGEMAP_HEAD__INIT;

		CHECK(img_write(img, &h.base) == -EINVAL, "pages: img_write on a raw image");
	}
	CHECK(img_offset(img) == sizeof(page), "pages: offset %llu",
	      (unsigned long long)img_offset(img));
	CHECK(img_close(img) == 0, "pages: close");

	ret = img_open(dir, IMG_PAGES, 3, O_RDONLY, &img);
	CHECK(ret == 0, "pages: open for reading: %s", img_dir_error(dir));
	fd = img_raw_fd(img);
	CHECK(fd >= 0, "pages: raw fd");
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "pages: no O_CLOEXEC");
	CHECK(pread(fd, back, sizeof(back), 0) == sizeof(back), "pages: pread");
	CHECK(!memcmp(page, back, sizeof(page)), "pages: data differ");
	img_close(img);

	/* crit's path: a raw pages file is told by its name */
	ret = img_open_path("/nonexistent/pages-1.img", IMG__MAX, O_RDONLY, &img, (char *)back, 100);
	CHECK(ret == -ENOENT, "open_path: missing file: %d", ret);
	return 0;
}

/* Helpers for the corruption cases */

static int put_file(const char *name, const void *data, size_t len)
{
	int fd = openat(img_dir_fd(dir), name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		fail("cannot write %s: %m", name);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
	return 4;
}

/* Open @kind/@id (created from @data) and read entries until an error; check its message. */
static int expect_read_error(const char *what, enum img_kind kind, unsigned int id,
			     const uint8_t *data, size_t len, int want, const char *s1,
			     const char *s2)
{
	ProtobufCMessage *r;
	struct cr_img *img;
	char name[64];
	int ret, i;

	img_name(kind, id, name, sizeof(name));
	if (put_file(name, data, len))
		return -1;
	ret = img_open(dir, kind, id, O_RDONLY, &img);
	if (ret < 0) {
		CHECK(ret == want, "%s: open gave %d, expected %d (%s)", what, ret, want,
		      img_dir_error(dir));
		return check_msg(what, img_dir_error(dir), name, s1, s2, NULL);
	}
	for (i = 0; i < 100; i++) {
		ret = img_read(img, img_entry_desc(kind, i), &r);
		if (ret != 1)
			break;
		protobuf_c_message_free_unpacked(r, NULL);
	}
	if (ret != want) {
		fail("%s: read gave %d, expected %d (%s)", what, ret, want, img_error(img));
		img_close(img);
		return -1;
	}
	ret = check_msg(what, img_error(img), name, s1, s2, NULL);
	img_close(img);
	return ret;
}

/* Broken files: missing, bad magic, shorter than the magic */
static int test_corrupt_open(void)
{
	uint32_t core_magic = img_desc(IMG_CORE)->magic, mm_magic = img_desc(IMG_MM)->magic;
	struct cr_img *img;
	uint8_t buf[16];
	char exp[128];
	int ret = 0, r;

	/* missing file */
	unlinkat(img_dir_fd(dir), "pstree.img", 0);
	r = img_open(dir, IMG_PSTREE, 0, O_RDONLY, &img);
	CHECK(r == -ENOENT, "missing: %d", r);
	snprintf(exp, sizeof(exp), "pstree.img: no such file in '%s'", dir_path);
	ret |= check_msg("missing", img_dir_error(dir), exp, NULL);

	/* wrong magic: a core image named mm-42.img */
	put32(buf, core_magic);
	snprintf(exp, sizeof(exp), "bad magic 0x%08x at offset 0, expected 0x%08x (not an mm image",
		 core_magic, mm_magic);
	ret |= expect_read_error("wrong magic", IMG_MM, 42, buf, 4, -EBADMSG, exp, NULL);
	put32(buf, 0xdeadbeef);
	ret |= expect_read_error("unknown magic", IMG_MM, 42, buf, 4, -EBADMSG,
				 "bad magic 0xdeadbeef at offset 0", NULL);

	/* empty file, file shorter than the magic */
	ret |= expect_read_error("empty", IMG_CORE, 1, buf, 0, -EBADMSG, "empty file",
				 "offset 0");
	put32(buf, core_magic);
	ret |= expect_read_error("short magic", IMG_CORE, 1, buf, 2, -EBADMSG,
				 "truncated magic at offset 0", "(2 of 4 bytes)");
	return ret ? -1 : 0;
}

/* Broken entries: framing, sizes, contents */
static int test_corrupt_entries(void)
{
	uint32_t core_magic = img_desc(IMG_CORE)->magic;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	uint8_t buf[256], good[64];
	struct cr_img *img;
	size_t n, glen;
	char exp[128];
	int ret = 0, r;

	/* a good pstree entry at offset 4, then a truncated length prefix at offset 4 + 4 + glen */
	pe.pid = 1;
	glen = protobuf_c_message_pack(&pe.base, good);
	n = put32(buf, img_desc(IMG_PSTREE)->magic);
	n += put32(buf + n, glen);
	memcpy(buf + n, good, glen);
	n += glen;
	buf[n++] = 1;
	buf[n++] = 0;
	snprintf(exp, sizeof(exp), "truncated length prefix at offset %zu (2 of 4 bytes)", 8 + glen);
	ret |= expect_read_error("short prefix", IMG_PSTREE, 0, buf, n, -EBADMSG, exp, NULL);

	/* length beyond the end of the file: payload at offset 8 + glen + 4 */
	n -= 2;
	n += put32(buf + n, 100);
	memset(buf + n, 0, 10);
	n += 10;
	snprintf(exp, sizeof(exp), "truncated entry at offset %zu (needs 100 bytes, 10 left)",
		 12 + glen);
	ret |= expect_read_error("long length", IMG_PSTREE, 0, buf, n, -EBADMSG, exp, NULL);

	/* an oversized length */
	n = put32(buf, core_magic);
	n += put32(buf + n, 0x80000000u);
	ret |= expect_read_error("oversized", IMG_CORE, 7, buf, n, -EBADMSG,
				 "oversized entry at offset 4", "length 2147483648");

	/* garbage that fails to unpack, and an entry without its required fields */
	n = put32(buf, core_magic);
	n += put32(buf + n, 5);
	memset(buf + n, 0xff, 5);
	n += 5;
	ret |= expect_read_error("garbage", IMG_CORE, 42, buf, n, -EBADMSG,
				 "core-42.img: cannot unpack CoreEntry entry at offset 8", NULL);
	n = put32(buf, core_magic);
	n += put32(buf + n, 0);
	ret |= expect_read_error("required", IMG_CORE, 42, buf, n, -EBADMSG,
				 "cannot unpack CoreEntry entry at offset 8", NULL);

	/* a one-entry image with no entry */
	n = put32(buf, img_desc(IMG_INVENTORY)->magic);
	put_file("inventory.img", buf, n);
	CHECK(img_open(dir, IMG_INVENTORY, 0, O_RDONLY, &img) == 0, "inventory: open");
	{
		ProtobufCMessage *m;

		r = img_read_one(img, &inventory_entry__descriptor, &m);
		if (r != -ENODATA)
			fail("read_one on an empty image: %d", r);
		ret |= check_msg("no entry", img_error(img), "inventory.img", "offset 4", NULL);
	}
	img_close(img);
	return ret ? -1 : 0;
}

static int test_inventory_check(void)
{
	InventoryEntry e = INVENTORY_ENTRY__INIT;
	char err[256], want[32];
	int ret = 0;

	e.img_version = IMG_VERSION + 1;
	e.complete = true;
	CHECK(img_check_inventory(&e, err, sizeof(err)) == -EPROTONOSUPPORT, "newer version");
	snprintf(want, sizeof(want), "version %u", IMG_VERSION + 1);
	ret |= check_msg("newer version", err, "inventory.img", want, "not supported", NULL);
	e.img_version = 0;
	CHECK(img_check_inventory(&e, err, sizeof(err)) == -EPROTONOSUPPORT, "version 0");
	e.img_version = IMG_VERSION;
	e.complete = false;
	CHECK(img_check_inventory(&e, err, sizeof(err)) == -EINVAL, "incomplete");
	ret |= check_msg("incomplete", err,
			 "the image set is incomplete (dump did not finish)", NULL);
	return ret;
}

static int test_write_errors(void)
{
	static uint8_t area[100000];
	UserX86XsaveEntry xs = USER_X86_XSAVE_ENTRY__INIT;
	PstreeEntry pe = PSTREE_ENTRY__INIT;
	struct img_dir *ro;
	struct cr_img *img;
	char err[256];
	int r;

	/* a read-only dir refuses writers */
	CHECK(img_dir_open(dir_path, false, &ro) == 0, "read-only dir");
	r = img_open(ro, IMG_PSTREE, 0, O_WRONLY, &img);
	CHECK(r == -EBADF, "write to a read-only dir: %d", r);
	img_dir_free(ro);

	if (access("/dev/full", W_OK))
		return 0;
	/* a buffered write fails at close */
	r = img_open_path("/dev/full", IMG_PSTREE, O_WRONLY, &img, err, sizeof(err));
	CHECK(r == 0, "/dev/full: %s", err);
	CHECK(img_write(img, &pe.base) == 0, "buffered write");
	r = img_close(img);
	CHECK(r == -ENOSPC, "close on /dev/full: %d", r);

	/* a write larger than the buffer fails at once, and stays failed */
	xs.area.len = sizeof(area);
	xs.area.data = area;
	r = img_open_path("/dev/full", IMG_CORE, O_WRONLY, &img, err, sizeof(err));
	CHECK(r == 0, "/dev/full: %s", err);
	r = img_write(img, &xs.base);
	CHECK(r == -ENOSPC, "big write on /dev/full: %d", r);
	check_msg("write error", img_error(img), "/dev/full", "write failed at offset 0", NULL);
	CHECK(img_write(img, &pe.base) == -ENOSPC, "write error not sticky");
	CHECK(img_close(img) == -ENOSPC, "close after a write error");
	return 0;
}

static int test_open_path(void)
{
	char path[128], err[256];
	struct cr_img *img;
	int r;

	/* the kind told by the magic */
	snprintf(path, sizeof(path), "%s/mm-42.img", dir_path);
	r = img_open_path(path, IMG__MAX, O_RDONLY, &img, err, sizeof(err));
	CHECK(r == 0, "open_path mm: %s", err);
	CHECK(img_kind_of(img) == IMG_MM, "open_path: kind %d", img_kind_of(img));
	img_close(img);

	snprintf(path, sizeof(path), "%s/pages-3.img", dir_path);
	r = img_open_path(path, IMG__MAX, O_RDONLY, &img, err, sizeof(err));
	CHECK(r == 0, "open_path pages: %s", err);
	CHECK(img_kind_of(img) == IMG_PAGES && img_raw_fd(img) >= 0, "open_path: pages");
	img_close(img);

	CHECK(img_kind_by_file_name("/x/core-17.img") == IMG_CORE, "name core");
	CHECK(img_kind_by_file_name("core-.img") == -ENOENT, "name core-");
	CHECK(img_kind_by_file_name("core-1x.img") == -ENOENT, "name core-1x");
	CHECK(img_kind_by_file_name("files.img") == IMG_FILES, "name files");
	return 0;
}

/* Read every entry of @name (a @kind image); returns the first non-1 result of img_read(). */
static int read_through(enum img_kind kind, const char *name, char *err, size_t len)
{
	ProtobufCMessage *r;
	struct cr_img *img;
	char path[128];
	int ret, i;

	snprintf(path, sizeof(path), "%s/%s", dir_path, name);
	ret = img_open_path(path, kind, O_RDONLY, &img, err, len);
	if (ret < 0)
		return ret;
	for (i = 0; (ret = img_read(img, img_entry_desc(kind, i), &r)) == 1; i++)
		protobuf_c_message_free_unpacked(r, NULL);
	snprintf(err, len, "%s", img_error(img));
	img_close(img);
	return ret;
}

/*
 * A poor man's fuzzer: every truncation and a few thousand random byte changes of real images
 * either read cleanly or fail with -EBADMSG and a message that names the file and an offset.
 */
static int test_mangled(void)
{
	static const struct {
		enum img_kind kind;
		const char *name;
	} files[] = { { IMG_CORE, "core-500.img" }, { IMG_PAGEMAP, "pagemap-42.img" },
		      { IMG_FILES, "files.img" } };
	uint8_t orig[8192], buf[8192];
	char err[IMG_ERR_LEN];
	unsigned int seed = 1;
	size_t f, len, i;
	ssize_t n;
	int fd, ret, bad = 0;

	for (f = 0; f < ARRAY_SIZE(files); f++) {
		fd = openat(img_dir_fd(dir), files[f].name, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0, "%s: %m", files[f].name);
		n = read(fd, orig, sizeof(orig));
		close(fd);
		CHECK(n > 8 && n < (ssize_t)sizeof(orig), "%s: size %zd", files[f].name, n);
		len = n;

		for (i = 0; i < len + 2000; i++) {
			size_t l = len;

			memcpy(buf, orig, len);
			if (i < len) {
				l = i;				/* truncated */
			} else {
				int k, flips = 1 + rand_r(&seed) % 3;

				for (k = 0; k < flips; k++)
					buf[4 + rand_r(&seed) % (len - 4)] = rand_r(&seed);
			}
			if (put_file("mangled.img", buf, l))
				return -1;
			ret = read_through(files[f].kind, "mangled.img", err, sizeof(err));
			if (ret == 0)
				continue;
			if (ret != -EBADMSG || !strstr(err, "mangled.img: ") || !strstr(err, "offset ")) {
				if (bad++ < 5)
					fail("%s mangled (case %zu): %d \"%s\"", files[f].name, i, ret,
					     err);
			}
		}
	}
	return bad ? -1 : 0;
}

static int magics_distinct(void)
{
	int i, j;

	for (i = 0; i < IMG__MAX; i++)
		for (j = i + 1; j < IMG__MAX; j++)
			CHECK(img_desc(i)->raw || img_desc(j)->raw ||
			      img_desc(i)->magic != img_desc(j)->magic, "magic %d == %d", i, j);
	return 0;
}

static void rm_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir_path);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir_path);
}

int main(void)
{
	struct {
		const char *name;
		int (*fn)(void);
	} tests[] = {
		{ "magics", magics_distinct },
		{ "inventory", test_inventory },
		{ "pstree", test_pstree },
		{ "core", test_core },
		{ "mm", test_mm },
		{ "pagemap", test_pagemap },
		{ "fs/files/fdinfo", test_small_kinds },
		{ "pages", test_pages },
		{ "open_path", test_open_path },
		{ "corrupt files", test_corrupt_open },
		{ "corrupt entries", test_corrupt_entries },
		{ "inventory check", test_inventory_check },
		{ "write errors", test_write_errors },
		{ "mangled", test_mangled },
	};
	char sub[96];
	size_t i;

	snprintf(dir_path, sizeof(dir_path), "/tmp/test-image-XXXXXX");
	if (!mkdtemp(dir_path)) {
		fprintf(stderr, "SKIP: cannot make a temporary directory: %m\n");
		return 77;
	}
	/* img_dir_open(write) creates the directory itself */
	snprintf(sub, sizeof(sub), "%s/set", dir_path);
	if (img_dir_open(sub, true, &dir)) {
		fprintf(stderr, "FAIL: img_dir_open(%s)\n", sub);
		rm_dir();
		return 1;
	}
	strcpy(dir_path, sub);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (tests[i].fn())
			fprintf(stderr, "  (in test %s)\n", tests[i].name);
	img_dir_free(dir);
	*strrchr(dir_path, '/') = '\0';
	rm_dir();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("PASS: image round trips and error messages\n");
	return 0;
}
