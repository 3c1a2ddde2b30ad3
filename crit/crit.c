/*
 * crit: the image decoder.
 *
 *   crit decode -i FILE [-o OUT] [--pretty] [--hex]   an image as JSON (the magic picks the kind)
 *   crit encode [-i JSON] -o FILE             JSON back to the image, byte for byte
 *   crit show DIR                             the images of a directory with entry counts
 *
 * Errors are one line on stderr and a non-zero exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "core/image.h"
#include "core/image-desc.h"
#include "json.h"
#include "pb-json.h"

#define ERR_LEN		512

static void __attribute__((format(printf, 1, 2))) die_msg(const char *fmt, ...)
{
	va_list args;

	fputs("crit: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crit decode -i FILE [-o OUT] [--pretty] [--hex]\n"
		"       crit encode [-i JSON] -o FILE\n"
		"       crit show DIR\n"
		"decode prints an image as JSON; encode writes the image a JSON document\n"
		"describes (\"-\" or no -i: stdin); show lists the images of a directory.\n"
		"--hex: unsigned 64-bit fields (addresses) as \"0x...\" strings.\n");
}

/* A growing array of decoded messages */
struct msgs {
	ProtobufCMessage **v;
	size_t n, cap;
};

static void msgs_release(struct msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		protobuf_c_message_free_unpacked(m->v[i], NULL);
	free(m->v);
	m->v = NULL;
	m->n = m->cap = 0;
}

static int msgs_push(struct msgs *m, ProtobufCMessage *msg)
{
	ProtobufCMessage **v;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		v = realloc(m->v, m->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
	}
	m->v[m->n++] = msg;
	return 0;
}

/* Read every entry of @img into @m. */
static int read_all(struct cr_img *img, struct msgs *m)
{
	enum img_kind kind = img_kind_of(img);
	ProtobufCMessage *msg;
	int ret;

	for (;;) {
		ret = img_read(img, img_entry_desc(kind, m->n), &msg);
		if (ret <= 0)
			return ret;
		ret = msgs_push(m, msg);
		if (ret < 0) {
			protobuf_c_message_free_unpacked(msg, NULL);
			return ret;
		}
	}
}

static int raw_size(struct cr_img *img, unsigned long long *ret_size)
{
	struct stat st;

	if (fstat(img_raw_fd(img), &st) < 0)
		return -errno;
	*ret_size = st.st_size;
	return 0;
}

static int decode(const char *in, const char *out, unsigned int flags)
{
	bool pretty = flags & PB_JSON_PRETTY;
	struct msgs m = {};
	struct cr_img *img = NULL;
	unsigned long long size = 0;
	char err[ERR_LEN];
	FILE *f = stdout;
	size_t i;
	int ret;

	ret = img_open_path(in, IMG__MAX, O_RDONLY, &img, err, sizeof(err));
	if (ret < 0) {
		die_msg("%s", err);
		return 1;
	}
	if (img_desc(img_kind_of(img))->raw) {
		ret = raw_size(img, &size);
		img_close(img);
		if (ret < 0) {
			die_msg("%s: cannot stat: %s", in, strerror(-ret));
			return 1;
		}
		die_msg("%s: raw data (%llu bytes), nothing to decode", in, size);
		return 1;
	}
	ret = read_all(img, &m);
	if (ret < 0) {
		die_msg("%s", ret == -ENOMEM ? "out of memory" : img_error(img));
		goto out;
	}
	if (out && strcmp(out, "-")) {
		f = fopen(out, "we");
		if (!f) {
			die_msg("%s: cannot create: %m", out);
			ret = -errno;
			goto out;
		}
	}

	fprintf(f, pretty ? "{\n  \"magic\": \"%s\",\n  \"entries\": [" : "{\"magic\":\"%s\",\"entries\":[",
		img_desc(img_kind_of(img))->name);
	for (i = 0; i < m.n; i++) {
		if (i)
			fputc(',', f);
		if (pretty)
			fputs("\n    ", f);
		pb_to_json(f, m.v[i], flags, 2);
	}
	fputs(pretty ? (m.n ? "\n  ]\n}\n" : "]\n}\n") : "]}\n", f);

	if (fflush(f) || ferror(f)) {
		die_msg("%s: write error: %m", out ? out : "stdout");
		ret = -EIO;
	}
	if (f != stdout)
		fclose(f);
out:
	msgs_release(&m);
	img_close(img);
	return ret < 0 ? 1 : 0;
}

static int read_text(const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;
	char *nbuf;

	fd = (!path || !strcmp(path, "-")) ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			nbuf = realloc(buf, cap);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		len += r;
	}
	*ret_len = len;
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

/* Write the entries of the JSON document @doc to image @out. */
static int encode_doc(const struct json *doc, const char *out, char *err, size_t len)
{
	const struct json *magic = json_get(doc, "magic"), *entries = json_get(doc, "entries");
	ProtobufCMessage *msg;
	struct cr_img *img;
	char path[32];
	size_t i;
	int kind, ret = 0, cret;

	if (!magic || magic->type != JSON_STRING || !entries || entries->type != JSON_ARRAY) {
		snprintf(err, len, "expected an object with \"magic\" (a string) and \"entries\" (an array)");
		return -EINVAL;
	}
	kind = img_kind_by_name(magic->str);
	if (kind < 0 || img_desc(kind)->raw) {
		snprintf(err, len, "magic \"%s\" (line %u): %s", magic->str, magic->line,
			 kind < 0 ? "not an image kind" : "raw images cannot be encoded");
		return -EINVAL;
	}
	ret = img_open_path(out, kind, O_WRONLY, &img, err, len);
	if (ret < 0)
		return ret;
	for (i = 0; i < entries->n && ret == 0; i++) {
		snprintf(path, sizeof(path), "entries[%zu]", i);
		ret = pb_from_json(img_entry_desc(kind, i), entries->items[i], path, &msg, err, len);
		if (ret < 0)
			break;
		ret = img_write(img, msg);
		if (ret < 0)
			snprintf(err, len, "%s", img_error(img));
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	cret = img_close(img);
	if (ret == 0 && cret < 0) {
		snprintf(err, len, "%s: write error: %s", out, strerror(-cret));
		ret = cret;
	}
	if (ret < 0)
		unlink(out);	/* never leave half an image behind */
	return ret;
}

static int encode(const char *in, const char *out)
{
	_cleanup_free_ char *text = NULL;
	struct json *doc = NULL;
	char err[ERR_LEN];
	size_t len = 0;
	int ret;

	ret = read_text(in, &text, &len);
	if (ret < 0) {
		die_msg("%s: cannot read: %s", in ? in : "stdin", strerror(-ret));
		return 1;
	}
	ret = json_parse(text, len, &doc, err, sizeof(err));
	if (ret < 0) {
		die_msg("%s: %s", in ? in : "stdin", ret == -ENOMEM ? "out of memory" : err);
		return 1;
	}
	ret = encode_doc(doc, out, err, sizeof(err));
	json_free(doc);
	if (ret < 0) {
		die_msg("%s: %s", in ? in : "stdin", ret == -ENOMEM ? "out of memory" : err);
		return 1;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* For inventory.img: why the set cannot be restored, if it cannot. */
static const char *inventory_note(struct cr_img *img, const struct msgs *m, char *buf, size_t len)
{
	if (img_kind_of(img) != IMG_INVENTORY || m->n != 1 || len < 4)
		return "";
	buf[0] = ' ';
	buf[1] = '(';
	if (img_check_inventory((const struct InventoryEntry *)m->v[0], buf + 2, len - 3) == 0)
		return "";
	strcat(buf, ")");
	return buf;
}

/* One line about image @name of @dir; returns 0, or 1 when the image is broken. */
static int show_one(const char *dir, const char *name)
{
	char path[PATH_MAX], err[ERR_LEN];
	unsigned long long size = 0;
	struct msgs m = {};
	struct cr_img *img;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = img_open_path(path, IMG__MAX, O_RDONLY, &img, err, sizeof(err));
	if (ret < 0) {
		printf("%-24s %-10s %s\n", name, "?", err);
		return 1;
	}
	if (img_desc(img_kind_of(img))->raw) {
		const char *kind = img_desc(img_kind_of(img))->name;

		ret = raw_size(img, &size);
		if (ret < 0)
			printf("%-24s %-10s cannot stat: %s\n", name, kind, strerror(-ret));
		else if (img_kind_of(img) == IMG_PAGES)
			printf("%-24s %-10s %8llu pages (%llu bytes)\n", name, kind,
			       size / 4096, size);
		else
			printf("%-24s %-10s %8llu bytes of raw data\n", name, kind, size);
	} else {
		ret = read_all(img, &m);
		if (ret == 0)
			printf("%-24s %-10s %8zu %s%s\n", name, img_desc(img_kind_of(img))->name, m.n,
			       m.n == 1 ? "entry" : "entries", inventory_note(img, &m, err, sizeof(err)));
		else
			printf("%-24s %-10s %s\n", name, img_desc(img_kind_of(img))->name,
			       ret == -ENOMEM ? "out of memory" : img_error(img));
		msgs_release(&m);
	}
	img_close(img);
	return ret < 0;
}

static int show(const char *path)
{
	char **names = NULL, **nn;
	size_t n = 0, i, len;
	struct dirent *de;
	int bad = 0;
	DIR *d;

	d = opendir(path);
	if (!d) {
		die_msg("%s: cannot open directory: %m", path);
		return 1;
	}
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".img"))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			die_msg("out of memory");
			free(nn ? nn : names);
			closedir(d);
			return 1;
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		bad |= show_one(path, names[i]);
		free(names[i]);
	}
	free(names);
	if (!n)
		printf("no images in %s\n", path);
	return bad;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *cmd, *in = NULL, *out = NULL;
	unsigned int flags = 0;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "i:o:pxh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			in = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			flags |= PB_JSON_PRETTY;
			break;
		case 'x':
			flags |= PB_JSON_HEX;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	if (!strcmp(cmd, "decode") && in && optind == argc)
		return decode(in, out, flags);
	if (!strcmp(cmd, "encode") && out && optind == argc)
		return encode(in, out);
	if (!strcmp(cmd, "show") && optind == argc - 1 && !in && !out)
		return show(argv[optind]);
	usage(stderr);
	return 2;
}
