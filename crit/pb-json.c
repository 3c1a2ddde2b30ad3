/* Protobuf messages <-> JSON, driven by the protobuf-c descriptors. */
#include "pb-json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"
#include "json.h"

#define MEMBER(msg, off)	((void *)((char *)(msg) + (off)))
#define UNKNOWN_KEY		"__unknown"
#define PATH_MAX_LEN		256

/* Base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_put(FILE *f, const unsigned char *data, size_t len)
{
	size_t i;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
		fputc(b64[v >> 18], f);
		fputc(b64[(v >> 12) & 63], f);
		fputc(b64[(v >> 6) & 63], f);
		fputc(b64[v & 63], f);
	}
	if (i < len) {
		v = data[i] << 16 | (i + 1 < len ? data[i + 1] << 8 : 0);
		fputc(b64[v >> 18], f);
		fputc(b64[(v >> 12) & 63], f);
		fputc(i + 1 < len ? b64[(v >> 6) & 63] : '=', f);
		fputc('=', f);
	}
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? p - b64 : -1;
}

long base64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, o = 0;
	int v[4], k, pad;

	if (len % 4)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -EINVAL;		/* data after '=' */
			v[k] = b64_val(in[i + k]);
			if (v[k] < 0)
				return -EINVAL;
		}
		out[o++] = v[0] << 2 | v[1] >> 4;
		if (pad < 2)
			out[o++] = v[1] << 4 | v[2] >> 2;
		if (pad < 1)
			out[o++] = v[2] << 6 | v[3];
	}
	return o;
}

/* Messages to JSON */

static void newline(FILE *f, bool pretty, int indent)
{
	if (pretty)
		fprintf(f, "\n%*s", indent * 2, "");
}

static void put_float(FILE *f, double v, int digits)
{
	if (isnan(v))
		fputs("\"NaN\"", f);
	else if (isinf(v))
		fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
	else
		fprintf(f, "%.*g", digits, v);
}

static void put_value(FILE *f, const ProtobufCFieldDescriptor *fd, const void *v,
		      unsigned int flags, int indent)
{
	const ProtobufCEnumValue *ev;
	const ProtobufCBinaryData *bd;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		fprintf(f, "%" PRId32, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		fprintf(f, "%" PRIu32, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		fprintf(f, "%" PRId64, *(const int64_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (flags & PB_JSON_HEX)
			fprintf(f, "\"0x%" PRIx64 "\"", *(const uint64_t *)v);
		else
			fprintf(f, "%" PRIu64, *(const uint64_t *)v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		put_float(f, *(const float *)v, 9);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		put_float(f, *(const double *)v, 17);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		fputs(*(const protobuf_c_boolean *)v ? "true" : "false", f);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, *(const int *)v);
		if (ev)
			json_put_string(f, ev->name, strlen(ev->name));
		else
			fprintf(f, "%d", *(const int *)v);
		break;
	case PROTOBUF_C_TYPE_STRING:
		json_put_string(f, *(char *const *)v, strlen(*(char *const *)v));
		break;
	case PROTOBUF_C_TYPE_BYTES:
		bd = v;
		fputc('"', f);
		base64_put(f, bd->data, bd->len);
		fputc('"', f);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		pb_to_json(f, *(ProtobufCMessage *const *)v, flags, indent);
		break;
	}
}

static size_t elem_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;	/* 32-bit integers, float, enum */
	}
}

static bool is_pointer_type(ProtobufCType type)
{
	return type == PROTOBUF_C_TYPE_STRING || type == PROTOBUF_C_TYPE_MESSAGE;
}

/* How many values field @fd of @m has (0: absent). */
static size_t field_count(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
	const void *member = MEMBER(m, fd->offset);
	const void *ptr;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)MEMBER(m, fd->quantifier_offset);
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)MEMBER(m, fd->quantifier_offset) == fd->id;
	if (is_pointer_type(fd->type)) {
		ptr = *(void *const *)member;
		if (!ptr)
			return 0;
		return fd->label != PROTOBUF_C_LABEL_OPTIONAL || ptr != fd->default_value;
	}
	if (fd->label == PROTOBUF_C_LABEL_OPTIONAL)
		return *(const protobuf_c_boolean *)MEMBER(m, fd->quantifier_offset) != 0;
	return 1;
}

static void put_unknown(FILE *f, const ProtobufCMessage *m, bool pretty, int indent)
{
	const ProtobufCMessageUnknownField *u;
	unsigned int i;

	fputs(pretty ? "\"" UNKNOWN_KEY "\": [" : "\"" UNKNOWN_KEY "\":[", f);
	for (i = 0; i < m->n_unknown_fields; i++) {
		u = &m->unknown_fields[i];
		if (i)
			fputc(',', f);
		newline(f, pretty, indent + 1);
		fprintf(f, pretty ? "{\"tag\": %u, \"wire_type\": %u, \"data\": \"" :
			"{\"tag\":%u,\"wire_type\":%u,\"data\":\"", u->tag, (unsigned int)u->wire_type);
		base64_put(f, u->data, u->len);
		fputs("\"}", f);
	}
	newline(f, pretty, indent);
	fputc(']', f);
}

void pb_to_json(FILE *f, const ProtobufCMessage *m, unsigned int flags, int indent)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *fd;
	bool pretty = flags & PB_JSON_PRETTY, first = true, nested;
	const char *base;
	unsigned int i;
	size_t n, k, es;

	fputc('{', f);
	for (i = 0; i < d->n_fields; i++) {
		fd = &d->fields[i];
		n = field_count(m, fd);
		if (!n)
			continue;
		if (!first)
			fputc(',', f);
		first = false;
		newline(f, pretty, indent + 1);
		json_put_string(f, fd->name, strlen(fd->name));
		fputs(pretty ? ": " : ":", f);
		base = MEMBER(m, fd->offset);
		if (fd->label != PROTOBUF_C_LABEL_REPEATED) {
			put_value(f, fd, base, flags, indent + 1);
			continue;
		}
		/* repeated: the member is a pointer to the array */
		base = *(const char *const *)base;
		es = elem_size(fd->type);
		nested = fd->type == PROTOBUF_C_TYPE_MESSAGE;
		fputc('[', f);
		for (k = 0; k < n; k++) {
			if (k)
				fputs(pretty && !nested ? ", " : ",", f);
			if (nested)
				newline(f, pretty, indent + 2);
			put_value(f, fd, base + k * es, flags, indent + 2);
		}
		if (nested)
			newline(f, pretty, indent + 1);
		fputc(']', f);
	}
	if (m->n_unknown_fields) {
		if (!first)
			fputc(',', f);
		first = false;
		newline(f, pretty, indent + 1);
		put_unknown(f, m, pretty, indent + 1);
	}
	if (!first)
		newline(f, pretty, indent);
	fputc('}', f);
}

/* JSON to messages */

/* A JSON path for messages ("entries[2].vmas[7]"); long ones are cut. */
static void __printf(3, 4) mkpath(char *buf, size_t len, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(buf, len, fmt, args);
	va_end(args);
}

struct jctx {
	char *err;
	size_t errlen;
};

static int __printf(4, 5) jerr(struct jctx *c, const struct json *j, const char *path,
			       const char *fmt, ...)
{
	va_list args;
	int n;

	n = snprintf(c->err, c->errlen, "%s (line %u, column %u): ", path, j->line, j->col);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(args, fmt);
		vsnprintf(c->err + n, c->errlen - n, fmt, args);
		va_end(args);
	}
	return -EINVAL;
}

/* An integer: a JSON number, or a string with a decimal or 0x number. */
static int parse_int(struct jctx *c, const struct json *j, const char *path, bool is_signed,
		     int bits, void *out)
{
	const char *s = j->str;
	char *end;
	int base = 10;

	if (j->type != JSON_NUMBER && j->type != JSON_STRING)
		return jerr(c, j, path, "expected an integer, found %s", json_type_name(j->type));
	if (j->type == JSON_STRING && (!strncmp(s, "0x", 2) || !strncmp(s, "-0x", 3)))
		base = 16;
	if (!*s || (!is_signed && *s == '-'))
		return jerr(c, j, path, "expected a %sinteger, found \"%s\"",
			    is_signed ? "" : "non-negative ", s);
	errno = 0;
	if (is_signed) {
		long long v = strtoll(s, &end, base);

		if (*end || errno || (bits == 32 && (v < INT32_MIN || v > INT32_MAX)))
			return jerr(c, j, path, "\"%s\" is not a %d-bit integer", s, bits);
		if (bits == 32)
			*(int32_t *)out = v;
		else
			*(int64_t *)out = v;
	} else {
		unsigned long long v = strtoull(s, &end, base);

		if (*end || errno || (bits == 32 && v > UINT32_MAX))
			return jerr(c, j, path, "\"%s\" is not an unsigned %d-bit integer", s, bits);
		if (bits == 32)
			*(uint32_t *)out = v;
		else
			*(uint64_t *)out = v;
	}
	return 0;
}

static int parse_float(struct jctx *c, const struct json *j, const char *path, bool dbl, void *out)
{
	double v;
	char *end;

	if (j->type == JSON_STRING && !strcmp(j->str, "NaN"))
		v = NAN;
	else if (j->type == JSON_STRING && !strcmp(j->str, "Infinity"))
		v = INFINITY;
	else if (j->type == JSON_STRING && !strcmp(j->str, "-Infinity"))
		v = -INFINITY;
	else if (j->type != JSON_NUMBER)
		return jerr(c, j, path, "expected a number, found %s", json_type_name(j->type));
	else if (dbl)
		v = strtod(j->str, &end);
	else
		v = strtof(j->str, &end);
	if (dbl)
		*(double *)out = v;
	else
		*(float *)out = v;
	return 0;
}

static int parse_bytes(struct jctx *c, const struct json *j, const char *path,
		       ProtobufCBinaryData *out)
{
	unsigned char *data;
	long n;

	if (j->type != JSON_STRING)
		return jerr(c, j, path, "expected a base64 string, found %s",
			    json_type_name(j->type));
	data = malloc(j->len / 4 * 3 + 1);
	if (!data)
		return -ENOMEM;
	n = base64_decode(j->str, j->len, data);
	if (n < 0) {
		free(data);
		return jerr(c, j, path, "bad base64 data");
	}
	out->data = data;
	out->len = n;
	return 0;
}

static int from_json(struct jctx *c, const ProtobufCMessageDescriptor *desc,
		     const struct json *j, const char *path, ProtobufCMessage **ret_msg);

static int parse_value(struct jctx *c, const ProtobufCFieldDescriptor *fd, const struct json *j,
		       const char *path, void *out)
{
	const ProtobufCEnumValue *ev;
	int32_t v;
	int ret;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return parse_int(c, j, path, true, 32, out);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return parse_int(c, j, path, false, 32, out);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return parse_int(c, j, path, true, 64, out);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return parse_int(c, j, path, false, 64, out);
	case PROTOBUF_C_TYPE_FLOAT:
		return parse_float(c, j, path, false, out);
	case PROTOBUF_C_TYPE_DOUBLE:
		return parse_float(c, j, path, true, out);
	case PROTOBUF_C_TYPE_BOOL:
		if (j->type != JSON_BOOL)
			return jerr(c, j, path, "expected true or false, found %s",
				    json_type_name(j->type));
		*(protobuf_c_boolean *)out = j->b;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (j->type == JSON_STRING) {
			ev = protobuf_c_enum_descriptor_get_value_by_name(fd->descriptor, j->str);
			if (!ev)
				return jerr(c, j, path, "\"%s\" is not a value of enum %s", j->str,
					    ((const ProtobufCEnumDescriptor *)fd->descriptor)->name);
			*(int *)out = ev->value;
			return 0;
		}
		ret = parse_int(c, j, path, true, 32, &v);
		if (ret == 0)
			*(int *)out = v;
		return ret;
	case PROTOBUF_C_TYPE_STRING:
		if (j->type != JSON_STRING)
			return jerr(c, j, path, "expected a string, found %s", json_type_name(j->type));
		*(char **)out = strdup(j->str);
		return *(char **)out ? 0 : -ENOMEM;
	case PROTOBUF_C_TYPE_BYTES:
		return parse_bytes(c, j, path, out);
	case PROTOBUF_C_TYPE_MESSAGE:
		return from_json(c, fd->descriptor, j, path, out);
	}
	return jerr(c, j, path, "unsupported field type %d", (int)fd->type);
}

static int parse_repeated(struct jctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
			  const struct json *j, const char *path)
{
	size_t *count = MEMBER(m, fd->quantifier_offset);
	size_t es = elem_size(fd->type), k;
	char sub[PATH_MAX_LEN];
	char *arr;
	int ret;

	if (j->type != JSON_ARRAY)
		return jerr(c, j, path, "expected an array, found %s", json_type_name(j->type));
	if (!j->n)
		return 0;
	arr = calloc(j->n, es);
	if (!arr)
		return -ENOMEM;
	*(void **)MEMBER(m, fd->offset) = arr;
	for (k = 0; k < j->n; k++) {
		mkpath(sub, sizeof(sub), "%s[%zu]", path, k);
		ret = parse_value(c, fd, j->items[k], sub, arr + k * es);
		if (ret < 0)
			return ret;
		*count = k + 1;		/* what is filled in, for the destructor */
	}
	return 0;
}

static int set_field(struct jctx *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd,
		     const struct json *j, const char *path)
{
	void *member = MEMBER(m, fd->offset);
	int ret;

	if (fd->label == PROTOBUF_C_LABEL_REPEATED)
		return parse_repeated(c, m, fd, j, path);
	if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(uint32_t *)MEMBER(m, fd->quantifier_offset))
		return jerr(c, j, path, "another field of the same oneof is set already");
	if (fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE)
		*(void **)member = NULL;	/* not the default value: we own what goes here */
	else if (fd->type == PROTOBUF_C_TYPE_BYTES)
		*(ProtobufCBinaryData *)member = (ProtobufCBinaryData){ 0, NULL };
	ret = parse_value(c, fd, j, path, member);
	if (ret < 0)
		return ret;
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)MEMBER(m, fd->quantifier_offset) = fd->id;
	else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && !is_pointer_type(fd->type))
		*(protobuf_c_boolean *)MEMBER(m, fd->quantifier_offset) = 1;
	return 0;
}

static int parse_unknown(struct jctx *c, ProtobufCMessage *m, const struct json *j,
			 const char *path)
{
	const struct json *tag, *wt, *data;
	ProtobufCMessageUnknownField *u;
	ProtobufCBinaryData bd;
	char sub[PATH_MAX_LEN];
	uint32_t v;
	size_t k;
	int ret;

	if (j->type != JSON_ARRAY)
		return jerr(c, j, path, "expected an array, found %s", json_type_name(j->type));
	if (!j->n)
		return 0;
	m->unknown_fields = calloc(j->n, sizeof(*m->unknown_fields));
	if (!m->unknown_fields)
		return -ENOMEM;
	for (k = 0; k < j->n; k++) {
		mkpath(sub, sizeof(sub), "%s[%zu]", path, k);
		u = &m->unknown_fields[k];
		tag = json_get(j->items[k], "tag");
		wt = json_get(j->items[k], "wire_type");
		data = json_get(j->items[k], "data");
		if (!tag || !wt || !data || j->items[k]->n != 3)
			return jerr(c, j->items[k], sub, "expected {\"tag\", \"wire_type\", \"data\"}");
		ret = parse_int(c, tag, sub, false, 32, &u->tag);
		if (ret == 0)
			ret = parse_int(c, wt, sub, false, 32, &v);
		if (ret == 0 && (v > PROTOBUF_C_WIRE_TYPE_32BIT || !u->tag || u->tag >= 1u << 29))
			ret = jerr(c, j->items[k], sub, "bad tag or wire type");
		if (ret == 0)
			ret = parse_bytes(c, data, sub, &bd);
		if (ret < 0)
			return ret;
		u->wire_type = v;
		u->len = bd.len;
		u->data = bd.data;
		m->n_unknown_fields = k + 1;
	}
	return 0;
}

static int check_required(struct jctx *c, const ProtobufCMessageDescriptor *desc,
			  const unsigned char *seen, const struct json *j, const char *path)
{
	unsigned int i;

	for (i = 0; i < desc->n_fields; i++)
		if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return jerr(c, j, path, "required field \"%s\" of %s is missing",
				    desc->fields[i].name, desc->c_name);
	return 0;
}

static int from_json(struct jctx *c, const ProtobufCMessageDescriptor *desc,
		     const struct json *j, const char *path, ProtobufCMessage **ret_msg)
{
	const ProtobufCFieldDescriptor *fd;
	ProtobufCMessage *m;
	unsigned char *seen;
	char sub[PATH_MAX_LEN];
	size_t i;
	int ret = 0;

	if (j->type != JSON_OBJECT)
		return jerr(c, j, path, "expected an object (%s), found %s", desc->c_name,
			    json_type_name(j->type));
	m = calloc(1, desc->sizeof_message);
	seen = calloc(desc->n_fields + 1, 1);
	if (!m || !seen) {
		free(m);
		free(seen);
		return -ENOMEM;
	}
	protobuf_c_message_init(desc, m);

	for (i = 0; i < j->n && ret == 0; i++) {
		mkpath(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", j->keys[i]);
		if (!strcmp(j->keys[i], UNKNOWN_KEY)) {
			ret = parse_unknown(c, m, j->items[i], sub);
			continue;
		}
		fd = protobuf_c_message_descriptor_get_field_by_name(desc, j->keys[i]);
		if (!fd) {
			ret = jerr(c, j->items[i], sub, "%s has no field \"%s\"", desc->c_name,
				   j->keys[i]);
			break;
		}
		if (j->items[i]->type == JSON_NULL && fd->label != PROTOBUF_C_LABEL_REQUIRED)
			continue;	/* null: absent */
		seen[fd - desc->fields] = 1;
		ret = set_field(c, m, fd, j->items[i], sub);
	}
	if (ret == 0)
		ret = check_required(c, desc, seen, j, *path ? path : desc->c_name);
	free(seen);
	if (ret < 0) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ret;
	}
	*ret_msg = m;
	return 0;
}

int pb_from_json(const ProtobufCMessageDescriptor *desc, const struct json *j, const char *path,
		 ProtobufCMessage **ret_msg, char *err, size_t errlen)
{
	struct jctx c = { .err = err, .errlen = errlen };

	return from_json(&c, desc, j, path, ret_msg);
}
