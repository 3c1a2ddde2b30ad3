/* A small JSON reader and writer helpers, for crit. */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/compiler.h"

#define JSON_MAX_DEPTH	64

struct parser {
	const char *p, *end;
	const char *line_start;
	unsigned int line;
	int depth;
	char *err;
	size_t errlen;
};

static int __printf(2, 3) perr(struct parser *ps, const char *fmt, ...)
{
	int n = 0;
	va_list args;

	if (ps->errlen)
		n = snprintf(ps->err, ps->errlen, "line %u, column %u: ", ps->line,
			     (unsigned int)(ps->p - ps->line_start) + 1);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(args, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, args);
		va_end(args);
	}
	return -EINVAL;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '\n') {
			ps->line++;
			ps->line_start = ps->p + 1;
		} else if (c != ' ' && c != '\t' && c != '\r') {
			break;
		}
		ps->p++;
	}
}

static int parse_value(struct parser *ps, struct json **ret);

/* Append @c (a code point) to @buf as UTF-8; @buf has room for 4 bytes. */
static size_t put_utf8(char *buf, uint32_t c)
{
	if (c < 0x80) {
		buf[0] = c;
		return 1;
	}
	if (c < 0x800) {
		buf[0] = 0xc0 | (c >> 6);
		buf[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		buf[0] = 0xe0 | (c >> 12);
		buf[1] = 0x80 | ((c >> 6) & 0x3f);
		buf[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	buf[0] = 0xf0 | (c >> 18);
	buf[1] = 0x80 | ((c >> 12) & 0x3f);
	buf[2] = 0x80 | ((c >> 6) & 0x3f);
	buf[3] = 0x80 | (c & 0x3f);
	return 4;
}

static int hex4(struct parser *ps, uint32_t *ret)
{
	uint32_t v = 0;
	int i;

	if (ps->end - ps->p < 4)
		return perr(ps, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		char c = ps->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return perr(ps, "bad \\u escape");
	}
	ps->p += 4;
	*ret = v;
	return 0;
}

static int parse_escape(struct parser *ps, char *out, size_t *ret_n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t c, lo;
	int ret;

	if (ps->p >= ps->end)
		return perr(ps, "unterminated string");
	e = strchr(from, *ps->p);
	if (*ps->p && e) {
		ps->p++;
		out[0] = to[e - from];
		*ret_n = 1;
		return 0;
	}
	if (*ps->p != 'u')
		return perr(ps, "bad escape '\\%c'", *ps->p);
	ps->p++;
	ret = hex4(ps, &c);
	if (ret < 0)
		return ret;
	if (c >= 0xd800 && c < 0xdc00) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return perr(ps, "unpaired surrogate in \\u escape");
		ps->p += 2;
		ret = hex4(ps, &lo);
		if (ret < 0)
			return ret;
		if (lo < 0xdc00 || lo >= 0xe000)
			return perr(ps, "bad low surrogate in \\u escape");
		c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
	} else if (c >= 0xdc00 && c < 0xe000) {
		return perr(ps, "unpaired surrogate in \\u escape");
	}
	if (c == 0)
		return perr(ps, "\\u0000 is not supported in strings");
	*ret_n = put_utf8(out, c);
	return 0;
}

/* A string; ps->p is at the opening quote. The result is at most as long as the source. */
static int parse_string(struct parser *ps, char **ret_s, size_t *ret_len)
{
	const char *start = ++ps->p;
	char *s, *o;
	size_t n = 0;
	int ret;

	while (ps->p < ps->end && *ps->p != '"')
		ps->p += (*ps->p == '\\' && ps->p + 1 < ps->end) ? 2 : 1;
	if (ps->p >= ps->end) {
		ps->p = start - 1;
		return perr(ps, "unterminated string");
	}
	s = malloc(ps->p - start + 1);
	if (!s)
		return -ENOMEM;
	o = s;
	for (ps->p = start; *ps->p != '"';) {
		unsigned char c = *ps->p;

		if (c < 0x20) {
			free(s);
			return perr(ps, "control character in a string");
		}
		ps->p++;
		if (c != '\\') {
			*o++ = c;
			continue;
		}
		ret = parse_escape(ps, o, &n);
		if (ret < 0) {
			free(s);
			return ret;
		}
		o += n;
	}
	ps->p++;
	*o = '\0';
	*ret_s = s;
	*ret_len = o - s;
	return 0;
}

static int parse_number(struct parser *ps, struct json *j)
{
	const char *start = ps->p;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return perr(ps, "bad number");
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')
		return perr(ps, "leading zero in a number");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return perr(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return perr(ps, "bad number");
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	j->str = strndup(start, ps->p - start);
	return j->str ? 0 : -ENOMEM;
}

static int push_item(struct json *j, char *key, struct json *item)
{
	struct json **items;
	char **keys;

	if ((j->n & (j->n - 1)) == 0) {		/* grow at powers of two */
		size_t cap = j->n ? j->n * 2 : 4;

		items = realloc(j->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		j->items = items;
		if (j->type == JSON_OBJECT) {
			keys = realloc(j->keys, cap * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			j->keys = keys;
		}
	}
	if (j->type == JSON_OBJECT)
		j->keys[j->n] = key;
	j->items[j->n++] = item;
	return 0;
}

/* An array or an object; ps->p is at the opening bracket. */
static int parse_container(struct parser *ps, struct json *j)
{
	bool obj = j->type == JSON_OBJECT;
	char close = obj ? '}' : ']';
	struct json *item;
	char *key = NULL;
	size_t klen;
	int ret;

	if (++ps->depth > JSON_MAX_DEPTH)
		return perr(ps, "nested deeper than %d levels", JSON_MAX_DEPTH);
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return perr(ps, "expected a key string");
			ret = parse_string(ps, &key, &klen);
			if (ret < 0)
				return ret;
			if (json_get(j, key)) {
				ret = perr(ps, "duplicate key \"%s\"", key);
				free(key);
				return ret;
			}
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return perr(ps, "expected ':'");
			}
			ps->p++;
		}
		ret = parse_value(ps, &item);
		if (ret == 0) {
			ret = push_item(j, key, item);
			if (ret < 0)
				json_free(item);
		}
		if (ret < 0) {
			free(key);
			return ret;
		}
		key = NULL;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
			break;
		return perr(ps, "expected ',' or '%c'", close);
	}
	ps->p++;
	ps->depth--;
	return 0;
}

static bool take_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	ps->p += n;
	return true;
}

static int parse_value(struct parser *ps, struct json **ret)
{
	struct json *j;
	int r = 0;

	skip_ws(ps);
	if (ps->p >= ps->end)
		return perr(ps, "expected a value, found the end of the input");
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->line = ps->line;
	j->col = ps->p - ps->line_start + 1;

	switch (*ps->p) {
	case '{':
		j->type = JSON_OBJECT;
		r = parse_container(ps, j);
		break;
	case '[':
		j->type = JSON_ARRAY;
		r = parse_container(ps, j);
		break;
	case '"':
		j->type = JSON_STRING;
		r = parse_string(ps, &j->str, &j->len);
		break;
	case 't':
	case 'f':
		j->type = JSON_BOOL;
		j->b = *ps->p == 't';
		if (!take_word(ps, j->b ? "true" : "false"))
			r = perr(ps, "unexpected word");
		break;
	case 'n':
		j->type = JSON_NULL;
		if (!take_word(ps, "null"))
			r = perr(ps, "unexpected word");
		break;
	default:
		j->type = JSON_NUMBER;
		r = parse_number(ps, j);
		break;
	}
	if (r < 0) {
		json_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

int json_parse(const char *text, size_t len, struct json **ret, char *err, size_t errlen)
{
	struct parser ps = {
		.p = text, .end = text + len, .line_start = text, .line = 1,
		.err = err, .errlen = errlen,
	};
	struct json *j;
	int r;

	r = parse_value(&ps, &j);
	if (r < 0)
		return r;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		json_free(j);
		return perr(&ps, "trailing data after the value");
	}
	*ret = j;
	return 0;
}

void json_free(struct json *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++) {
		json_free(j->items[i]);
		if (j->keys)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->str);
	free(j);
}

const struct json *json_get(const struct json *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

const char *json_type_name(enum json_type type)
{
	static const char *const names[] = {
		[JSON_NULL] = "null", [JSON_BOOL] = "a boolean", [JSON_NUMBER] = "a number",
		[JSON_STRING] = "a string", [JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object",
	};

	return (unsigned int)type < ARRAY_SIZE(names) ? names[type] : "?";
}

void json_put_string(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
