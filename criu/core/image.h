/*
 * The image-I/O layer: the only code that opens image files.
 *
 * Every image but raw page data is: a 32-bit little-endian magic naming its kind, then entries,
 * each a 32-bit little-endian length followed by one protobuf message. Files are created 0600.
 *
 * Non-logging: functions return 0 (or a count) or a negative errno. When a read or a check fails,
 * img_error() gives a one-line message naming the file and the byte offset, e.g.
 *   "pstree.img: truncated entry at offset 24 (needs 40 bytes, 16 left)"
 * which the caller logs once. Offsets: the magic is at 0; a length-prefix problem (truncated,
 * oversized) names the offset of the prefix; a payload problem (truncated, cannot unpack) names
 * the offset of the payload. Entries are at most IMG_ENTRY_MAX (image-desc.h, 64 MiB).
 */
#ifndef CRIU_IMAGE_H
#define CRIU_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* The current image format version, written to inventory.img. */
#define IMG_VERSION	2

enum img_kind {
	IMG_INVENTORY,		/* inventory.img */
	IMG_PSTREE,		/* pstree.img */
	IMG_CORE,		/* core-%u.img (tid) */
	IMG_MM,			/* mm-%u.img (pid) */
	IMG_PAGEMAP,		/* pagemap-%u.img (pid) */
	IMG_PAGES,		/* pages-%u.img (pages id): raw pages, no magic */
	IMG_FS,			/* fs-%u.img (pid) */
	IMG_FILES,		/* files.img */
	IMG_FDINFO,		/* fdinfo-%u.img (pid) */
	IMG_PIPE_DATA,		/* pipe-data-%u.img (pipe inode): raw queued bytes */
	IMG_MEMFD_DATA,		/* memfd-data-%u.img (file id): raw contents */
	IMG_FILE_DATA,		/* file-data-%u.img (file id): raw contents of a deleted file */
	IMG__MAX,
};

struct img_dir;			/* an open images directory */
struct cr_img;			/* one open image file */

/**
 * Open the images directory @path. @write: create it if missing (0700) and allow writing.
 * *@ret_dir is owned by the caller: img_dir_free().
 */
int img_dir_open(const char *path, bool write, struct img_dir **ret_dir);
void img_dir_free(struct img_dir *dir);		/* accepts NULL */
int img_dir_fd(const struct img_dir *dir);	/* the directory's fd, borrowed */

/** The file name of image @kind with @id ("core-42.img"). Returns @buf. */
const char *img_name(enum img_kind kind, unsigned int id, char *buf, size_t len);

/**
 * Open image @kind/@id for reading (O_RDONLY) or for writing (O_WRONLY: created 0600,
 * truncated, magic written). Reading checks the magic. -ENOENT when a file to read is missing
 * (img_error() names it). *@ret_img is owned by the caller: img_close().
 */
int img_open(struct img_dir *dir, enum img_kind kind, unsigned int id, int flags,
	     struct cr_img **ret_img);

/** Write one message as one entry. Returns 0 or -errno. */
int img_write(struct cr_img *img, const ProtobufCMessage *msg);

/**
 * Read the next entry, unpacked with the kind's descriptor @desc. Returns 1 and sets *@ret_msg
 * (caller frees with protobuf_c_message_free_unpacked()), 0 at a clean end of file, or a negative
 * errno: -EBADMSG for a truncated/oversized entry or an unpack failure.
 */
int img_read(struct cr_img *img, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret_msg);

/** Like img_read(), but the end of the file is an error (-ENODATA): for one-entry images. */
int img_read_one(struct cr_img *img, const ProtobufCMessageDescriptor *desc,
		 ProtobufCMessage **ret_msg);

/** The file descriptor of a raw image (IMG_PAGES), borrowed; for splice() and pread(). */
int img_raw_fd(struct cr_img *img);

/** Flush and close; for writers, returns the first write error (-errno), if any. Accepts NULL. */
int img_close(struct cr_img *img);

/** The message describing the last failure on @img (or on @dir for img_open()). */
const char *img_error(const struct cr_img *img);
const char *img_dir_error(const struct img_dir *dir);

/** The file name of an open image ("pstree.img"). */
const char *img_file_name(const struct cr_img *img);

/*
 * Additions (image-I/O owner).
 */

/**
 * Open the image file @path (any name, any directory): for crit and tests.
 * Reading (O_RDONLY): @kind may be IMG__MAX to tell the kind by the magic (a file whose
 * name matches pages-%u.img is raw pages, it has no magic). Writing (O_WRONLY): @kind is
 * required. On failure, a one-line message goes to @err (@len bytes). *@ret_img: img_close().
 */
int img_open_path(const char *path, enum img_kind kind, int flags, struct cr_img **ret_img,
		  char *err, size_t len);

/** The kind of an open image. */
enum img_kind img_kind_of(const struct cr_img *img);

/** The file offset of the next entry to read or write (buffered data included). */
uint64_t img_offset(const struct cr_img *img);

/** Write @len bytes to a raw image (IMG_PAGES), unbuffered. Returns 0 or -errno. */
int img_write_raw(struct cr_img *img, const void *buf, size_t len);

struct InventoryEntry;

/**
 * Check that an image set can be restored from its inventory @e: -EPROTONOSUPPORT for a
 * format version newer than IMG_VERSION (or 0), -EINVAL for an incomplete set
 * ("the image set is incomplete (dump did not finish)"). The message goes to @err.
 */
int img_check_inventory(const struct InventoryEntry *e, char *err, size_t len);

/* Cleanup helpers for host code: _cleanup_img_ struct cr_img *img = NULL; */
static inline void img_closep(struct cr_img **img)
{
	if (*img)
		img_close(*img);
}

static inline void img_dir_freep(struct img_dir **dir)
{
	img_dir_free(*dir);
}

#define _cleanup_img_		__attribute__((cleanup(img_closep)))
#define _cleanup_img_dir_	__attribute__((cleanup(img_dir_freep)))

#endif
