/*
 * Unit test of crit's JSON reader and protobuf<->JSON conversion, over a message with every
 * field type and label (crit/test/alltypes.proto): message -> JSON -> message gives the same
 * packed bytes (compact and pretty), unknown fields survive, and bad JSON gives clear errors.
 * Exit 0: pass, else fail with the reason on stderr.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crit/test/alltypes.pb-c.h"
#include "json.h"
#include "pb-json.h"

static int failures;

static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, fmt, args);
	fprintf(stderr, "\n");
	va_end(args);
	failures++;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len + 1);

	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	*ret_len = len;
	return buf;
}

static char *to_json(const ProtobufCMessage *m, unsigned int flags)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	pb_to_json(f, m, flags, 0);
	fclose(f);
	return text;
}

/* JSON text -> message of @desc; returns the return code, the message or the error. */
static int from_text(const ProtobufCMessageDescriptor *desc, const char *text,
		     ProtobufCMessage **ret_msg, char *err, size_t len)
{
	struct json *j;
	int ret;

	ret = json_parse(text, strlen(text), &j, err, len);
	if (ret < 0)
		return ret;
	ret = pb_from_json(desc, j, "", ret_msg, err, len);
	json_free(j);
	return ret;
}

/* The packed bytes @wire unpack, go to JSON and back, and pack to the same bytes. */
static void round_trip(const char *what, const uint8_t *wire, size_t len)
{
	ProtobufCMessage *m, *back;
	char err[512], *text;
	size_t blen;
	uint8_t *b;
	unsigned int flags;

	m = protobuf_c_message_unpack(&all_types__descriptor, NULL, len, wire);
	if (!m) {
		fail("%s: the test message does not unpack", what);
		return;
	}
	for (flags = 0; flags < 4; flags++) {		/* compact, pretty, hex, both */
		text = to_json(m, flags);
		if (getenv("TEST_VERBOSE"))
			printf("%s\n", text);
		if (from_text(&all_types__descriptor, text, &back, err, sizeof(err))) {
			fail("%s: JSON does not parse back: %s\n%s", what, err, text);
			free(text);
			continue;
		}
		b = pack(back, &blen);
		if (blen != len || memcmp(b, wire, len))
			fail("%s (flags %u): bytes differ after the round trip\n%s", what, flags,
			     text);
		free(b);
		free(text);
		protobuf_c_message_free_unpacked(back, NULL);
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

/* Truncated and randomly changed JSON must give a result or an error, never a crash. */
static void mangle(const uint8_t *wire, size_t len)
{
	ProtobufCMessage *m, *back;
	unsigned int seed = 7;
	char err[512], *text, *buf;
	size_t tlen, i, l;
	int k;

	m = protobuf_c_message_unpack(&all_types__descriptor, NULL, len, wire);
	if (!m)
		return;
	text = to_json(m, 0);
	tlen = strlen(text);
	buf = malloc(tlen + 1);
	for (i = 0; i < tlen + 3000; i++) {
		memcpy(buf, text, tlen + 1);
		l = i < tlen ? i : tlen;
		if (i >= tlen)
			for (k = 0; k < 1 + (int)(rand_r(&seed) % 3); k++)
				buf[rand_r(&seed) % tlen] = "{}[]\",:0x-9e\"tfn \\u"[rand_r(&seed) % 20];
		buf[l] = '\0';
		err[0] = '\0';
		if (from_text(&all_types__descriptor, buf, &back, err, sizeof(err)) == 0)
			protobuf_c_message_free_unpacked(back, NULL);
		else if (!err[0])
			fail("mangled JSON (case %zu): an error without a message", i);
	}
	free(buf);
	free(text);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* The values of the test message: extremes of every type */
static Inner in = INNER__INIT, k1 = INNER__INIT, k2 = INNER__INIT, cm = INNER__INIT;
static Inner *kids[2] = { &k1, &k2 }, *ins[2] = { &k1, &in };
static int32_t ri32[3] = { INT32_MIN, 0, INT32_MAX };
static int64_t rs64[3] = { INT64_MIN, -1, INT64_MAX };
static double rdb[6] = { 0.1, -0.0, 1e308, 5e-324, INFINITY, -INFINITY };
static char *rs[3] = { "", "a\"b\\c/d\n\t\x01\x1f\x7f", "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80" };
static uint8_t all[256];
static ProtobufCBinaryData rby[2] = { { 0, NULL }, { 256, all } };
static Color rcol[3] = { COLOR__BLUE, COLOR__RED, 7 };
static protobuf_c_boolean rb[2] = { 1, 0 };
static uint32_t rf32[2] = { 0, UINT32_MAX };
static float rfl[3] = { 0.1f, 3.4028235e38f, -1.17549435e-38f };

static void fill_scalars(AllTypes *a)
{
	size_t i;

	for (i = 0; i < 256; i++)
		all[i] = i;
	a->i32 = INT32_MIN;
	a->s32 = -1;
	a->sf32 = INT32_MIN;
	a->u32 = UINT32_MAX;
	a->f32 = 0x80000000u;
	a->i64 = INT64_MIN;
	a->s64 = INT64_MIN;
	a->sf64 = -2;
	a->u64 = UINT64_MAX;
	a->f64 = 0x8000000000000000ull;
	a->fl = 0.1f;
	a->db = 1.0 / 3;
	a->b = 1;
	a->col = COLOR__BLUE;
	a->s = "caf\xc3\xa9 \"quoted\" \\ back\nslash";
	a->by.len = 256;
	a->by.data = all;
}

static void fill_nested(AllTypes *a)
{
	k1.has_a = 1;
	k1.a = 1;
	k2.has_a = 0;
	in.n_kids = 2;
	in.kids = kids;
	a->in = &in;
	a->n_ins = 2;
	a->ins = ins;
	a->n_ri32 = 3;
	a->ri32 = ri32;
	a->n_rs64 = 3;
	a->rs64 = rs64;
	a->n_rdb = 6;
	a->rdb = rdb;
	a->n_rs = 3;
	a->rs = rs;
	a->n_rby = 2;
	a->rby = rby;
	a->n_rcol = 3;
	a->rcol = rcol;
	a->n_rb = 2;
	a->rb = rb;
	a->os = "not the default";
	a->has_oi = 1;
	a->oi = 5;		/* present, though equal to the default */
	a->has_ob = 1;
	a->ob.len = 0;
	a->n_rf32 = 2;
	a->rf32 = rf32;
	a->n_rfl = 3;
	a->rfl = rfl;
	a->choice_case = ALL_TYPES__CHOICE_C_MSG;
	cm.has_a = 1;
	cm.a = 9;
	a->c_msg = &cm;

}

static void test_all_types(void)
{
	AllTypes a = ALL_TYPES__INIT;
	uint8_t *wire, *ext;
	size_t len;

	fill_scalars(&a);
	fill_nested(&a);
	wire = pack(&a.base, &len);
	round_trip("all types", wire, len);
	mangle(wire, len);

	/* fields we do not know (a newer image): varint, 64-bit, length-delimited, 32-bit */
	ext = malloc(len + 32);
	memcpy(ext, wire, len);
	memcpy(ext + len, "\xa0\x06\x96\x01" "\xa9\x06\x01\x02\x03\x04\x05\x06\x07\x08"
	       "\xb2\x06\x03" "abc" "\xbd\x06\x01\x02\x03\x04", 26);
	round_trip("unknown fields", ext, len + 26);
	free(ext);
	free(wire);

	/* the other oneof members, NaN, and an absent optional string with a default */
	a.choice_case = ALL_TYPES__CHOICE_C_STR;
	a.c_str = "in a oneof";
	a.os = NULL;
	a.db = NAN;
	a.n_rdb = 0;
	wire = pack(&a.base, &len);
	round_trip("oneof string, NaN", wire, len);
	free(wire);
	a.choice_case = ALL_TYPES__CHOICE_C_NUM;
	a.c_num = 0;
	a.has_ob = 0;
	a.n_ins = 0;
	a.in = NULL;
	wire = pack(&a.base, &len);
	round_trip("oneof number", wire, len);
	free(wire);
}

static const char base[] = "\"i32\":0,\"s32\":0,\"sf32\":0,\"u32\":0,\"f32\":0,\"i64\":0,"
	"\"s64\":0,\"sf64\":0,\"u64\":0,\"f64\":0,\"fl\":0,\"db\":0,\"b\":false,\"col\":\"RED\","
	"\"s\":\"\",\"by\":\"\"";

/* {@base, @extra} must fail with a message containing @want. */
static void bad(const char *extra, const char *want)
{
	char text[1024], err[512];
	ProtobufCMessage *m;
	int ret;

	snprintf(text, sizeof(text), "{%s%s}", base, extra);
	ret = from_text(&all_types__descriptor, text, &m, err, sizeof(err));
	if (ret == 0) {
		fail("accepted: %s", extra);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	if (ret != -EINVAL || !strstr(err, want))
		fail("%s: error %d \"%s\" lacks \"%s\"", extra, ret, err, want);
	else if (getenv("TEST_VERBOSE"))
		printf("%-40s -> %s\n", extra, err);
}

static void test_errors(void)
{
	char text[512], err[512];
	ProtobufCMessage *m;
	AllTypes *a;
	int i;

	snprintf(text, sizeof(text), "{%s}", base);
	if (from_text(&all_types__descriptor, text, &m, err, sizeof(err)))
		fail("the minimal message: %s", err);
	else
		protobuf_c_message_free_unpacked(m, NULL);

	/* numbers in strings, hex */
	snprintf(text, sizeof(text), "{%s,\"oi\":\"-0x10\",\"osf64\":\"-9223372036854775808\"}",
		 base);
	if (from_text(&all_types__descriptor, text, &m, err, sizeof(err))) {
		fail("hex strings: %s", err);
	} else {
		a = (AllTypes *)m;
		if (a->oi != -16 || a->osf64 != INT64_MIN || !a->has_osf64 || !a->has_oi)
			fail("hex strings: %d %lld", a->oi, (long long)a->osf64);
		protobuf_c_message_free_unpacked(m, NULL);
	}

	bad(",\"i32\":1", "duplicate key \"i32\"");
	bad(",\"nope\":1", "AllTypes has no field \"nope\"");
	bad(",\"oi\":2147483648", "is not a 32-bit integer");
	bad(",\"ri32\":[1,-2147483649]", "ri32[1]");
	bad(",\"osf64\":9223372036854775808", "is not a 64-bit integer");
	bad(",\"ins\":[{\"a\":-1}]", "ins[0].a");
	bad(",\"rf32\":[4294967296]", "not an unsigned 32-bit integer");
	bad(",\"oi\":1.5", "is not a 32-bit integer");
	bad(",\"oi\":true", "expected an integer, found a boolean");
	bad(",\"rcol\":[\"PURPLE\"]", "\"PURPLE\" is not a value of enum color");
	bad(",\"ob\":\"AAA\"", "bad base64");
	bad(",\"ob\":\"A===\"", "bad base64");
	bad(",\"ob\":\"AA=A\"", "bad base64");
	bad(",\"rs\":[1]", "expected a string, found a number");
	bad(",\"in\":[]", "expected an object (Inner), found an array");
	bad(",\"ri32\":{}", "expected an array, found an object");
	bad(",\"c_num\":1,\"c_str\":\"x\"", "another field of the same oneof");
	bad(",\"__unknown\":[{\"tag\":0,\"wire_type\":0,\"data\":\"\"}]", "bad tag or wire type");
	bad(",\"__unknown\":[{\"tag\":1,\"wire_type\":6,\"data\":\"\"}]", "bad tag or wire type");
	bad(",\"os\":\"a\\u0000b\"", "\\u0000 is not supported");
	bad(",\"os\":\"\\ud800\"", "unpaired surrogate");
	bad(",\"os\":\"\\x\"", "bad escape");
	bad(",\"os\":\"a\tb\"", "control character in a string");
	bad(",\"oi\":01", "leading zero");
	bad(",\"oi\":-", "bad number");
	bad(",", "expected a key string");
	bad(",\"oi\" 1", "expected ':'");
	bad(",\"oi\":nul", "unexpected word");
	bad("} x", "trailing data");
	bad(",\"os\":\"abc", "unterminated string");

	/* required fields */
	if (from_text(&all_types__descriptor, "{\"i32\": 1}", &m, err, sizeof(err)) != -EINVAL ||
	    !strstr(err, "required field \"s32\" of AllTypes is missing"))
		fail("missing required: \"%s\"", err);

	/* nesting is bounded */
	text[0] = '\0';
	for (i = 0; i < 100; i++)
		strcat(text, "[");
	{
		struct json *j;

		if (json_parse(text, strlen(text), &j, err, sizeof(err)) != -EINVAL ||
		    !strstr(err, "nested deeper than"))
			fail("deep nesting: \"%s\"", err);
	}
}

static void test_json_strings(void)
{
	const char *text = "{\"k\": \"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\\b\\f\\r\", \"n\": -1.5e3,\n"
			   "\"a\": [true, false, null, {}, []]}";
	struct json *j;
	const struct json *k, *a;
	char err[256];

	if (json_parse(text, strlen(text), &j, err, sizeof(err))) {
		fail("json: %s", err);
		return;
	}
	k = json_get(j, "k");
	a = json_get(j, "a");
	if (!k || strcmp(k->str, "\xc3\xa9\xf0\x9f\x98\x80\n\t\"\\/\b\f\r") || k->len != 14)
		fail("json: string escapes decoded wrong");
	if (!json_get(j, "n") || strcmp(json_get(j, "n")->str, "-1.5e3"))
		fail("json: number literal not kept");
	if (!a || a->type != JSON_ARRAY || a->n != 5 || a->items[2]->type != JSON_NULL ||
	    a->items[3]->type != JSON_OBJECT || a->line != 2)
		fail("json: array");
	json_free(j);
}

int main(void)
{
	test_all_types();
	test_errors();
	test_json_strings();
	if (failures) {
		fprintf(stderr, "%d failure(s)\n", failures);
		return 1;
	}
	printf("PASS: crit JSON conversion of every field type\n");
	return 0;
}
