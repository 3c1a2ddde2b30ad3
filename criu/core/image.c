/*
 * The image-I/O layer: opening image files, magic, entry framing, buffering and the messages
 * that explain a broken image. Non-logging.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "image-desc.h"
#include "images/inventory.pb-c.h"

#define LOG_PREFIX "image: "
#include "log.h"

#define IMG_BUF_SIZE	(64u << 10)
#define IMG_ERR_SIZE	512

struct img_dir {
	int fd;
	bool write;
	char *path;			/* owned */
	char err[IMG_ERR_SIZE];
};

struct cr_img {
	int fd;
	enum img_kind kind;
	bool write;
	bool raw;
	char *name;			/* owned: the base name, or the path given to img_open_path() */
	uint64_t off;			/* file offset of the next entry (read or written) */
	uint64_t size;			/* readers: st_size of a regular file, else UINT64_MAX */
	unsigned char *buf;		/* owned: reader: data at buf[pos..len); writer: buf[0..len) */
	size_t cap, pos, len;
	int werr;			/* the first write error, sticky */
	char err[IMG_ERR_SIZE];
};

static void __printf(3, 4) fmt_err(char *err, size_t len, const char *fmt, ...)
{
	va_list args;

	if (!err || !len)
		return;
	va_start(args, fmt);
	vsnprintf(err, len, fmt, args);
	va_end(args);
}

#define img_err(img, fmt, ...) \
	fmt_err((img)->err, sizeof((img)->err), "%s: " fmt, (img)->name, ##__VA_ARGS__)

static const char *article(const char *kind_name)
{
	/* "an mm image", "an fs image", "an inventory image", "a core image" */
	if (strchr("aeiou", kind_name[0]) || !strcmp(kind_name, "mm") ||
	    !strcmp(kind_name, "fs") || !strcmp(kind_name, "fdinfo") ||
	    !strcmp(kind_name, "files"))
		return "an";
	return "a";
}

static uint32_t get_le32(const unsigned char *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* Directories */

int img_dir_open(const char *path, bool write, struct img_dir **ret_dir)
{
	_cleanup_free_ struct img_dir *dir = NULL;
	_cleanup_close_ int fd = -1;

	if (write && mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	dir = calloc(1, sizeof(*dir));
	if (!dir)
		return -ENOMEM;
	dir->path = strdup(path);
	if (!dir->path)
		return -ENOMEM;
	dir->write = write;
	dir->fd = TAKE_FD(fd);
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

void img_dir_free(struct img_dir *dir)
{
	if (!dir)
		return;
	if (dir->fd >= 0)
		close(dir->fd);
	free(dir->path);
	free(dir);
}

int img_dir_fd(const struct img_dir *dir)
{
	return dir->fd;
}

const char *img_dir_error(const struct img_dir *dir)
{
	return dir->err;
}

const char *img_name(enum img_kind kind, unsigned int id, char *buf, size_t len)
{
	const struct img_desc *d = img_desc(kind);

	if (!d)
		snprintf(buf, len, "unknown-%d.img", (int)kind);
	else
		snprintf(buf, len, d->tmpl, id);
	return buf;
}

/* Reading */

/* Make @n bytes available at img->buf + img->pos. Returns how many are (< @n at EOF) or -errno. */
static ssize_t rd_fill(struct cr_img *img, size_t n)
{
	size_t avail = img->len - img->pos;
	ssize_t r;

	if (avail >= n)
		return n;
	if (img->pos) {
		memmove(img->buf, img->buf + img->pos, avail);
		img->len = avail;
		img->pos = 0;
	}
	if (n > img->cap) {
		unsigned char *nbuf = realloc(img->buf, n);

		if (!nbuf)
			return -ENOMEM;
		img->buf = nbuf;
		img->cap = n;
	}
	while (img->len < n) {
		r = read(img->fd, img->buf + img->len, img->cap - img->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		img->len += r;
	}
	return min(n, img->len);
}

static void rd_skip(struct cr_img *img, size_t n)
{
	img->pos += n;
	img->off += n;
}

static int rd_error(struct cr_img *img, ssize_t r)
{
	img_err(img, "read failed at offset %llu: %s", (unsigned long long)img->off,
		strerror((int)-r));
	return (int)r;
}

/* The bytes of the file after the reader's position, if the file's size is known. */
static uint64_t rd_left(const struct cr_img *img)
{
	return img->size > img->off ? img->size - img->off : 0;
}

static int rd_bad_magic(struct cr_img *img, uint32_t magic)
{
	const struct img_desc *want = img_desc(img->kind);
	int other = img_kind_by_magic(magic);

	if (other >= 0) {
		const char *oname = img_desc(other)->name;

		img_err(img, "bad magic 0x%08x at offset 0, expected 0x%08x (not %s %s image: %s %s one)",
			magic, want->magic, article(want->name), want->name, article(oname), oname);
	} else {
		img_err(img, "bad magic 0x%08x at offset 0, expected 0x%08x (not %s %s image)",
			magic, want->magic, article(want->name), want->name);
	}
	return -EBADMSG;
}

/* Read and check the magic of a reader; with img->kind == IMG__MAX, tell the kind by it. */
static int rd_magic(struct cr_img *img)
{
	uint32_t magic;
	ssize_t r;
	int kind;

	r = rd_fill(img, 4);
	if (r < 0)
		return rd_error(img, r);
	if (r == 0) {
		img_err(img, "no magic at offset 0 (empty file)");
		return -EBADMSG;
	}
	if (r < 4) {
		img_err(img, "truncated magic at offset 0 (%zd of 4 bytes)", r);
		return -EBADMSG;
	}
	magic = get_le32(img->buf + img->pos);
	if (img->kind == IMG__MAX) {
		kind = img_kind_by_magic(magic);
		if (kind < 0) {
			img_err(img, "bad magic 0x%08x at offset 0 (not a known image kind)", magic);
			return -EBADMSG;
		}
		img->kind = kind;
	} else if (magic != img_desc(img->kind)->magic) {
		return rd_bad_magic(img, magic);
	}
	rd_skip(img, 4);
	return 0;
}

int img_read(struct cr_img *img, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_msg)
{
	ProtobufCMessage *msg;
	uint32_t len;
	ssize_t r;

	if (img->write || img->raw) {
		img_err(img, "not readable entry by entry");
		return -EINVAL;
	}
	r = rd_fill(img, 4);
	if (r < 0)
		return rd_error(img, r);
	if (r == 0)
		return 0;
	if (r < 4) {
		img_err(img, "truncated length prefix at offset %llu (%zd of 4 bytes)",
			(unsigned long long)img->off, r);
		return -EBADMSG;
	}
	len = get_le32(img->buf + img->pos);
	if (len > IMG_ENTRY_MAX) {
		img_err(img, "oversized entry at offset %llu (length %u, max %u)",
			(unsigned long long)img->off, len, IMG_ENTRY_MAX);
		return -EBADMSG;
	}
	rd_skip(img, 4);

	if (len > rd_left(img))
		r = 0;		/* do not allocate for a length the file cannot hold */
	else
		r = rd_fill(img, len);
	if (r < 0)
		return rd_error(img, r);
	if (r < len) {
		img_err(img, "truncated entry at offset %llu (needs %u bytes, %llu left)",
			(unsigned long long)img->off, len,
			(unsigned long long)(r ? (uint64_t)r : rd_left(img)));
		return -EBADMSG;
	}

	msg = protobuf_c_message_unpack(desc, NULL, len, img->buf + img->pos);
	if (!msg) {
		img_err(img, "cannot unpack %s entry at offset %llu (%u bytes)", desc->c_name,
			(unsigned long long)img->off, len);
		return -EBADMSG;
	}
	rd_skip(img, len);
	*ret_msg = msg;
	return 1;
}

int img_read_one(struct cr_img *img, const ProtobufCMessageDescriptor *desc,
		 ProtobufCMessage **ret_msg)
{
	int ret = img_read(img, desc, ret_msg);

	if (ret == 0) {
		img_err(img, "no %s entry at offset %llu (end of file)", desc->c_name,
			(unsigned long long)img->off);
		return -ENODATA;
	}
	return ret < 0 ? ret : 0;
}

/* Writing */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t r;

	while (len) {
		r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		p += r;
		len -= r;
	}
	return 0;
}

/* Write @len bytes that start at file offset @at; a failure is sticky. */
static int wr_out(struct cr_img *img, const void *buf, size_t len, uint64_t at)
{
	int ret;

	if (img->werr)
		return img->werr;
	ret = write_all(img->fd, buf, len);
	if (ret < 0) {
		img->werr = ret;
		img_err(img, "write failed at offset %llu: %s", (unsigned long long)at,
			strerror(-ret));
	}
	return ret;
}

static int wr_flush(struct cr_img *img)
{
	int ret;

	if (!img->len)
		return img->werr;
	ret = wr_out(img, img->buf, img->len, img->off - img->len);
	img->len = 0;
	return ret;
}

int img_write(struct cr_img *img, const ProtobufCMessage *msg)
{
	_cleanup_free_ unsigned char *big = NULL;
	size_t size, need;
	unsigned char *p;
	int ret;

	if (!img->write || img->raw) {
		img_err(img, "not writable entry by entry");
		return -EINVAL;
	}
	if (img->werr)
		return img->werr;
	size = protobuf_c_message_get_packed_size(msg);
	if (size > IMG_ENTRY_MAX) {
		img_err(img, "%s entry at offset %llu too large (%zu bytes, max %u)",
			msg->descriptor->c_name, (unsigned long long)img->off, size, IMG_ENTRY_MAX);
		return -EFBIG;
	}
	need = size + 4;
	if (img->cap - img->len < need) {
		ret = wr_flush(img);
		if (ret < 0)
			return ret;
	}
	if (need > img->cap) {
		big = malloc(need);
		if (!big)
			return -ENOMEM;
		p = big;
	} else {
		p = img->buf + img->len;
	}
	put_le32(p, size);
	if (protobuf_c_message_pack(msg, p + 4) != size) {
		img_err(img, "%s entry at offset %llu: packed size changed", msg->descriptor->c_name,
			(unsigned long long)img->off);
		return -EINVAL;
	}
	img->off += need;
	if (big)
		return wr_out(img, big, need, img->off - need);
	img->len += need;
	return 0;
}

int img_write_raw(struct cr_img *img, const void *buf, size_t len)
{
	int ret;

	if (!img->write || !img->raw) {
		img_err(img, "not a raw image open for writing");
		return -EINVAL;
	}
	ret = wr_out(img, buf, len, img->off);
	if (ret == 0)
		img->off += len;
	return ret;
}

/* Opening and closing */

static int img_new(int fd, enum img_kind kind, const char *name, bool write,
		   struct cr_img **ret_img, char *err, size_t errlen)
{
	struct cr_img *img;
	struct stat st;
	int ret;

	img = calloc(1, sizeof(*img));
	if (!img) {
		close(fd);
		return -ENOMEM;
	}
	/* raw images (pages, pipe/memfd/file data) have no magic: only their name tells them */
	if (kind == IMG__MAX) {
		int k = img_kind_by_file_name(name);

		if (k >= 0 && img_desc(k)->raw)
			kind = k;
	}
	img->fd = fd;
	img->kind = kind;
	img->write = write;
	img->raw = kind < IMG__MAX && img_desc(kind)->raw;
	img->size = UINT64_MAX;
	img->name = strdup(name);
	if (!img->name) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (!write && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		img->size = st.st_size;
	if (!img->raw) {
		img->cap = IMG_BUF_SIZE;
		img->buf = malloc(img->cap);
		if (!img->buf) {
			ret = -ENOMEM;
			goto out_free;
		}
	}

	if (write && !img->raw) {
		put_le32(img->buf, img_desc(kind)->magic);
		img->len = img->off = 4;
	} else if (!write && !img->raw) {
		ret = rd_magic(img);
		if (ret < 0) {
			fmt_err(err, errlen, "%s", img->err);
			goto out_free;
		}
	}
	pr_debug("opened %s (%s) for %s", img->name, img_desc(img->kind)->name,
		 write ? "writing" : "reading");
	*ret_img = img;
	return 0;

out_free:
	img->werr = 0;
	img->len = 0;
	img_close(img);
	return ret;
}

static int open_flags(int flags, bool *ret_write)
{
	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		*ret_write = false;
		return O_RDONLY | O_CLOEXEC;
	case O_WRONLY:
		*ret_write = true;
		return O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	default:
		return -EINVAL;
	}
}

int img_open(struct img_dir *dir, enum img_kind kind, unsigned int id, int flags,
	     struct cr_img **ret_img)
{
	char name[64];
	bool write;
	int oflags, fd;

	dir->err[0] = '\0';
	img_name(kind, id, name, sizeof(name));
	oflags = open_flags(flags, &write);
	if ((unsigned int)kind >= IMG__MAX || oflags < 0) {
		fmt_err(dir->err, sizeof(dir->err), "%s: bad image kind or open flags", name);
		return -EINVAL;
	}
	if (write && !dir->write) {
		fmt_err(dir->err, sizeof(dir->err), "%s: images dir '%s' is open read-only",
			name, dir->path);
		return -EBADF;
	}
	fd = openat(dir->fd, name, oflags, 0600);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			fmt_err(dir->err, sizeof(dir->err), "%s: no such file in '%s'", name, dir->path);
		else
			fmt_err(dir->err, sizeof(dir->err), "%s: cannot open in '%s': %s", name,
				dir->path, strerror(e));
		return -e;
	}
	return img_new(fd, kind, name, write, ret_img, dir->err, sizeof(dir->err));
}

int img_open_path(const char *path, enum img_kind kind, int flags, struct cr_img **ret_img,
		  char *err, size_t len)
{
	bool write;
	int oflags, fd;

	oflags = open_flags(flags, &write);
	if ((unsigned int)kind > IMG__MAX || (write && kind == IMG__MAX) || oflags < 0) {
		fmt_err(err, len, "%s: bad image kind or open flags", path);
		return -EINVAL;
	}
	fd = open(path, oflags, 0600);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			fmt_err(err, len, "%s: no such file", path);
		else
			fmt_err(err, len, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	return img_new(fd, kind, path, write, ret_img, err, len);
}

int img_close(struct cr_img *img)
{
	int ret;

	if (!img)
		return 0;
	ret = img->write ? wr_flush(img) : 0;
	if (img->fd >= 0 && close(img->fd) < 0 && img->write && !ret) {
		ret = -errno;
		img_err(img, "close failed at offset %llu: %s", (unsigned long long)img->off,
			strerror(-ret));
	}
	free(img->buf);
	free(img->name);
	free(img);
	return ret;
}

int img_raw_fd(struct cr_img *img)
{
	return img->raw ? img->fd : -EINVAL;
}

const char *img_error(const struct cr_img *img)
{
	return img->err;
}

const char *img_file_name(const struct cr_img *img)
{
	return img->name;
}

enum img_kind img_kind_of(const struct cr_img *img)
{
	return img->kind;
}

uint64_t img_offset(const struct cr_img *img)
{
	return img->off;
}

/* Inventory */

int img_check_inventory(const struct InventoryEntry *e, char *err, size_t len)
{
	if (e->img_version == 0 || e->img_version > IMG_VERSION) {
		fmt_err(err, len, "inventory.img: image format version %u is not supported "
			"(this criu reads versions 1 to %u)", e->img_version, IMG_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (!e->complete) {
		fmt_err(err, len, "inventory.img: the image set is incomplete (dump did not finish)");
		return -EINVAL;
	}
	return 0;
}
