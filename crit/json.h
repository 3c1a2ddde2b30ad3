/*
 * A small JSON reader (to a tree) and writer helpers, for crit. No external library.
 * Strings are kept as bytes (UTF-8 passes through, \u escapes become UTF-8); "\u0000" is refused
 * since every string ends up in a C string. Numbers keep their literal text, so the caller
 * converts them exactly (64-bit integers do not go through a double).
 */
#ifndef CRIT_JSON_H
#define CRIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json {
	enum json_type type;
	unsigned int line, col;		/* where the value starts, for messages */
	bool b;				/* JSON_BOOL */
	char *str;			/* owned: STRING: the decoded text; NUMBER: the literal */
	size_t len;			/* STRING: strlen(str) */
	size_t n;			/* ARRAY, OBJECT: number of items */
	struct json **items;		/* owned: ARRAY, OBJECT: the values */
	char **keys;			/* owned: OBJECT: the keys, in file order */
};

/*
 * Parse @len bytes of @text (one value, surrounded by white space only). Returns 0 and the
 * tree in *@ret (json_free()), or -EINVAL/-ENOMEM with "line L, column C: what" in @err.
 */
int json_parse(const char *text, size_t len, struct json **ret, char *err, size_t errlen);

void json_free(struct json *j);			/* accepts NULL */

/* The value of @key in object @obj, or NULL (also when @obj is not an object). */
const struct json *json_get(const struct json *obj, const char *key);

/* The name of a type, for messages ("an object"). */
const char *json_type_name(enum json_type type);

/* Write @s (@len bytes) as a JSON string, quoted and escaped. Bytes >= 0x80 pass through. */
void json_put_string(FILE *f, const char *s, size_t len);

#endif
