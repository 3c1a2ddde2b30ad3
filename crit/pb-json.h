/*
 * Protobuf messages <-> JSON, driven by the protobuf-c descriptors alone: every scalar type,
 * enums by name, bytes as base64, nested and repeated fields, and the unknown fields of a
 * newer image ("__unknown": [{"tag", "wire_type", "data"}]) so that nothing is lost.
 */
#ifndef CRIT_PB_JSON_H
#define CRIT_PB_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <protobuf-c/protobuf-c.h>

struct json;

enum pb_json_flags {
	PB_JSON_PRETTY	= 1 << 0,	/* indented, one field a line */
	PB_JSON_HEX	= 1 << 1,	/* unsigned 64-bit fields as "0x..." strings */
};

/* Write @msg to @f as a JSON object (enum pb_json_flags @flags), @indent levels deep. */
void pb_to_json(FILE *f, const ProtobufCMessage *msg, unsigned int flags, int indent);

/*
 * Build a message of type @desc from the JSON object @j. Returns 0 and *@ret_msg (free it with
 * protobuf_c_message_free_unpacked(msg, NULL)), or -EINVAL/-ENOMEM with a message naming the
 * JSON path and line in @err (@path is the prefix for it, e.g. "entries[2]").
 */
int pb_from_json(const ProtobufCMessageDescriptor *desc, const struct json *j, const char *path,
		 ProtobufCMessage **ret_msg, char *err, size_t errlen);

/* Base64 (RFC 4648, padded). Returns the decoded length, or -EINVAL. @out has room for
 * 3 * (len / 4) bytes. */
long base64_decode(const char *in, size_t len, unsigned char *out);
void base64_put(FILE *f, const unsigned char *data, size_t len);

#endif
