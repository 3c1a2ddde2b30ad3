/* compel: the host tool. `compel hgen -f obj.o -o blob.h -p PREFIX`. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tool.h"

static int usage(FILE *f, int ret)
{
	fprintf(f, "usage: compel hgen -f OBJ -o HEADER -p PREFIX\n"
		"  turn a freestanding PIE object (ld -r with pie.lds, std plugin linked in)\n"
		"  into a header defining PREFIX_blob_desc, PREFIX_blob, PREFIX_sym_<symbol>\n");
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *in = NULL, *out = NULL, *prefix = NULL;
	int c;

	if (argc < 2)
		return usage(stderr, 2);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout, 0);
	if (strcmp(argv[1], "hgen")) {
		fprintf(stderr, "compel: unknown command '%s'\n", argv[1]);
		return usage(stderr, 2);
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "f:o:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': in = optarg; break;
		case 'o': out = optarg; break;
		case 'p': prefix = optarg; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (!in || !out || !prefix)
		return usage(stderr, 2);
	return hgen(in, out, prefix) ? 1 : 0;
}
