/*
 * The per-kind table of the image set: file name template, magic and protobuf descriptors.
 * Used by image.c and by crit. Pure data, no I/O.
 */
#ifndef CRIU_IMAGE_DESC_H
#define CRIU_IMAGE_DESC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "image.h"

/* A sane upper bound for one entry: far above the largest real one (an mm with 64k VMAs). */
#define IMG_ENTRY_MAX	(64u << 20)

struct img_desc {
	const char *name;		/* "core": for messages and crit's JSON */
	const char *tmpl;		/* "core-%u.img"; no %u: one file per set */
	uint32_t magic;			/* 0 for raw images */
	bool raw;			/* no magic, no framing (pages) */
	/* The first entry's descriptor (pagemap: PagemapHead), and every later entry's. */
	const ProtobufCMessageDescriptor *first;
	const ProtobufCMessageDescriptor *entry;
};

/* The descriptor of @kind (< IMG__MAX). */
const struct img_desc *img_desc(enum img_kind kind);

/* The kind whose magic is @magic, or -ENOENT. */
int img_kind_by_magic(uint32_t magic);

/* The kind named @name ("core"), or -ENOENT. */
int img_kind_by_name(const char *name);

/* The kind whose file name template matches the base name of @path, or -ENOENT. */
int img_kind_by_file_name(const char *path);

/* The descriptor of entry number @idx (0-based) of an image of @kind. */
const ProtobufCMessageDescriptor *img_entry_desc(enum img_kind kind, unsigned long idx);

#endif
