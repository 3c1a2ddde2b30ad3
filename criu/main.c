/*
 * criu COMMAND [options]: parses the command line once into a const struct cr_opts, sets up the
 * log and runs the action. The command line follows CRIU's documented one.
 */
#define LOG_PREFIX ""
#include "opts.h"
#include "actions.h"
#include "core/log.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/compiler.h"

#ifndef CRIU_VERSION
#define CRIU_VERSION "0.1"
#endif

struct action {
	const char *name;
	int (*fn)(const struct cr_opts *opts);
	const char *help;
};

static const struct action actions[] = {
	{ "dump",	 action_dump,	     "checkpoint a process tree identified by -t PID" },
	{ "pre-dump",	 action_pre_dump,    "copy memory of a running tree, for a later dump" },
	{ "restore",	 action_restore,     "restore a process tree from the images in -D DIR" },
	{ "check",	 action_check,	     "check the kernel features criu relies on" },
	{ "page-server", action_page_server, "receive pages over the network into -D DIR" },
};

enum {
	OPT_PIDFILE = 1000, OPT_TCP_ESTABLISHED, OPT_EXT_UNIX_SK, OPT_FREEZE_CGROUP,
	OPT_TRACK_MEM, OPT_PREV_IMAGES_DIR, OPT_PAGE_SERVER, OPT_ADDRESS, OPT_PORT,
	OPT_STATUS_FD, OPT_INHERIT_FD, OPT_EXTERNAL, OPT_TIMEOUT, OPT_DISPLAY_STATS,
	OPT_NO_DEFAULT_CONFIG, OPT_CONFIG, OPT_FEATURE, OPT_ALL, OPT_VERSION, OPT_MANAGE_CGROUPS,
};

static const struct option long_opts[] = {
	{ "tree",		required_argument, NULL, 't' },
	{ "images-dir",		required_argument, NULL, 'D' },
	{ "log-file",		required_argument, NULL, 'o' },
	{ "verbosity",		optional_argument, NULL, 'v' },
	{ "restore-detached",	no_argument,	   NULL, 'd' },
	{ "shell-job",		no_argument,	   NULL, 'j' },
	{ "leave-running",	no_argument,	   NULL, 'R' },
	{ "file-locks",		no_argument,	   NULL, 'l' },
	{ "root",		required_argument, NULL, 'r' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "pidfile",		required_argument, NULL, OPT_PIDFILE },
	{ "tcp-established",	no_argument,	   NULL, OPT_TCP_ESTABLISHED },
	{ "ext-unix-sk",	no_argument,	   NULL, OPT_EXT_UNIX_SK },
	{ "freeze-cgroup",	required_argument, NULL, OPT_FREEZE_CGROUP },
	{ "manage-cgroups",	optional_argument, NULL, OPT_MANAGE_CGROUPS },
	{ "track-mem",		no_argument,	   NULL, OPT_TRACK_MEM },
	{ "prev-images-dir",	required_argument, NULL, OPT_PREV_IMAGES_DIR },
	{ "page-server",	no_argument,	   NULL, OPT_PAGE_SERVER },
	{ "address",		required_argument, NULL, OPT_ADDRESS },
	{ "port",		required_argument, NULL, OPT_PORT },
	{ "status-fd",		required_argument, NULL, OPT_STATUS_FD },
	{ "inherit-fd",		required_argument, NULL, OPT_INHERIT_FD },
	{ "external",		required_argument, NULL, OPT_EXTERNAL },
	{ "timeout",		required_argument, NULL, OPT_TIMEOUT },
	{ "display-stats",	no_argument,	   NULL, OPT_DISPLAY_STATS },
	{ "no-default-config",	no_argument,	   NULL, OPT_NO_DEFAULT_CONFIG },
	{ "config",		required_argument, NULL, OPT_CONFIG },
	{ "feature",		required_argument, NULL, OPT_FEATURE },
	{ "all",		no_argument,	   NULL, OPT_ALL },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: criu COMMAND [options]\n\ncommands:\n");
	for (i = 0; i < ARRAY_SIZE(actions); i++)
		fprintf(f, "  %-12s %s\n", actions[i].name, actions[i].help);
	fprintf(f,
		"\noptions:\n"
		"  -t, --tree PID            root of the process tree to dump\n"
		"  -D, --images-dir DIR      directory of the image files (default: .)\n"
		"  -o, --log-file FILE       log to FILE (relative to -D unless absolute)\n"
		"  -v[N], --verbosity=N      0: messages only, 1: errors, 2: warnings (default),\n"
		"                            3: info, 4: debug; each -v adds one\n"
		"  -d, --restore-detached    do not wait for the restored tree\n"
		"      --pidfile FILE        write the restored root's PID to FILE\n"
		"  -j, --shell-job           the tree is attached to the caller's terminal\n"
		"  -R, --leave-running       keep the tree running after dump\n"
		"      --tcp-established     checkpoint established TCP connections\n"
		"      --ext-unix-sk         allow unix sockets connected outside the tree\n"
		"  -l, --file-locks          dump file locks\n"
		"      --freeze-cgroup PATH  freeze the tree through this freezer cgroup\n"
		"      --manage-cgroups[=MODE]  restore: soft (default): back into its cgroups,\n"
		"                            created if missing; ignore, none: stay in criu's\n"
		"      --track-mem           track memory changes for iterative dumps\n"
		"      --prev-images-dir DIR images of the previous (pre-)dump, relative to -D\n"
		"      --page-server         send pages to a page server at --address:--port\n"
		"      --address ADDR, --port PORT\n"
		"      --status-fd FD        write one byte to FD when ready\n"
		"  -r, --root PATH           root of the restored tree\n"
		"      --inherit-fd fd[N]:KEY, --external KIND[ID]:VALUE\n"
		"      --timeout SECONDS     limit on freezing the tree\n"
		"      --display-stats       print statistics at the end\n"
		"      --config FILE, --no-default-config\n"
		"  check: --feature NAME     exit non-zero when NAME is missing; --all\n"
		"  -h, --help, --version\n");
}

static int parse_int(const char *s, const char *what, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < INT_MIN || v > INT_MAX) {
		fprintf(stderr, "criu: invalid %s '%s'\n", what, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int push_str(const char ***arr, int *nr, const char *s)
{
	const char **n = realloc(*arr, (*nr + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	n[(*nr)++] = s;
	*arr = n;
	return 0;
}

static int parse_one(struct cr_opts *o, int c, const char *arg)
{
	int v, ret = 0;

	switch (c) {
	case 't':
		ret = parse_int(arg, "pid", &v);
		if (!ret && v <= 0) {
			fprintf(stderr, "criu: invalid pid '%s'\n", arg);
			ret = -EINVAL;
		}
		o->tree = v;
		break;
	case 'D': o->images_dir = arg; break;
	case 'o': o->log_file = arg; break;
	case 'v':
		if (!arg) {
			o->verbosity = o->verbosity < LOG_DEBUG ? o->verbosity + 1 : LOG_DEBUG;
			break;
		}
		/* -vv and -vvv count the letters, as CRIU does */
		if (arg[strspn(arg, "v")] == '\0') {
			o->verbosity += strlen(arg) + 1;
			break;
		}
		ret = parse_int(arg, "verbosity", &o->verbosity);
		break;
	case 'd': o->restore_detached = true; break;
	case 'j': o->shell_job = true; break;
	case 'R': o->leave_running = true; break;
	case 'l': o->file_locks = true; break;
	case 'r': o->root = arg; break;
	case OPT_PIDFILE: o->pidfile = arg; break;
	case OPT_TCP_ESTABLISHED: o->tcp_established = true; break;
	case OPT_EXT_UNIX_SK: o->ext_unix_sk = true; break;
	case OPT_FREEZE_CGROUP: o->freeze_cgroup = arg; break;
	case OPT_MANAGE_CGROUPS:
		if (!arg || !strcmp(arg, "soft")) {
			o->cgroups_ignore = false;
		} else if (!strcmp(arg, "ignore") || !strcmp(arg, "none")) {
			o->cgroups_ignore = true;
		} else {
			fprintf(stderr, "criu: --manage-cgroups %s: only soft, ignore and none are "
				"supported (cgroup settings are not saved)\n", arg);
			ret = -EINVAL;
		}
		break;
	case OPT_TRACK_MEM: o->track_mem = true; break;
	case OPT_PREV_IMAGES_DIR: o->prev_images_dir = arg; break;
	case OPT_PAGE_SERVER: o->page_server = true; break;
	case OPT_ADDRESS: o->address = arg; break;
	case OPT_PORT:
		ret = parse_int(arg, "port", &o->port);
		if (!ret && (o->port <= 0 || o->port > 65535)) {
			fprintf(stderr, "criu: invalid port '%s'\n", arg);
			ret = -EINVAL;
		}
		break;
	case OPT_STATUS_FD: ret = parse_int(arg, "status fd", &o->status_fd); break;
	case OPT_INHERIT_FD: ret = push_str(&o->inherit_fd, &o->nr_inherit_fd, arg); break;
	case OPT_EXTERNAL: ret = push_str(&o->external, &o->nr_external, arg); break;
	case OPT_TIMEOUT: ret = parse_int(arg, "timeout", &o->timeout); break;
	case OPT_DISPLAY_STATS: o->display_stats = true; break;
	case OPT_FEATURE: ret = push_str(&o->features, &o->nr_features, arg); break;
	case OPT_ALL: o->check_all = true; break;
	default:
		ret = -EINVAL;
	}
	return ret;
}

/*
 * A config file holds one long option per line, without the dashes: "tcp-established" or
 * "images-dir /var/lib/ckpt". '#' starts a comment. Options given on the command line win,
 * because they are parsed later.
 */
static int parse_config(struct cr_opts *o, const char *path, bool must_exist)
{
	char line[PATH_MAX + 64];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f) {
		/* default configs that are missing or unreadable (another user's $HOME) are skipped */
		if (!must_exist && (errno == ENOENT || errno == EACCES))
			return 0;
		fprintf(stderr, "criu: cannot open config file '%s': %m\n", path);
		return -errno;
	}

	while (!ret && fgets(line, sizeof(line), f)) {
		char *key = line, *val, *end;
		const struct option *lo;

		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		key += strspn(key, " \t");
		if (!*key)
			continue;
		val = key + strcspn(key, " \t=");
		if (*val) {
			*val++ = '\0';
			val += strspn(val, " \t=");
			end = val + strlen(val);
			while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			if (*val == '"' && end > val + 1 && end[-1] == '"') {
				val++;
				end[-1] = '\0';
			}
		}
		for (lo = long_opts; lo->name && strcmp(lo->name, key); lo++)
			;
		if (!lo->name || (lo->has_arg == required_argument && !*val)) {
			fprintf(stderr, "criu: %s:%u: invalid option '%s'\n", path, lineno, key);
			ret = -EINVAL;
			break;
		}
		ret = parse_one(o, lo->val, *val ? strdup(val) : NULL);
	}
	fclose(f);
	return ret;
}

static int parse_configs(struct cr_opts *o, int argc, char **argv)
{
	const char *home = getenv("HOME");
	bool defaults = true;
	char path[PATH_MAX];
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-default-config"))
			defaults = false;
		if (!strcmp(argv[i], "--"))
			break;
	}
	if (defaults) {
		ret = parse_config(o, "/etc/criu/default.conf", false);
		if (ret)
			return ret;
		if (home) {
			snprintf(path, sizeof(path), "%s/.criu/default.conf", home);
			ret = parse_config(o, path, false);
			if (ret)
				return ret;
		}
	}
	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--config")) {
			ret = parse_config(o, argv[i + 1], true);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int parse_args(struct cr_opts *o, int argc, char **argv)
{
	int c, ret;

	o->images_dir = ".";
	o->verbosity = DEFAULT_LOGLEVEL;
	o->status_fd = -1;

	ret = parse_configs(o, argc, argv);
	if (ret)
		return ret;

	while ((c = getopt_long(argc, argv, "t:D:o:v::djRlr:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			printf("Version: %s\n", CRIU_VERSION);
			exit(0);
		case OPT_NO_DEFAULT_CONFIG:
		case OPT_CONFIG:
			break;	/* handled in parse_configs() */
		case '?':
			return -EINVAL;	/* getopt said what */
		default:
			ret = parse_one(o, c, optarg);
			if (ret)
				return ret;
		}
	}

	if (optind >= argc) {
		fprintf(stderr, "criu: no command given (try 'criu --help')\n");
		return -EINVAL;
	}
	o->action = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "criu: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (o->verbosity > LOG_DEBUG)
		o->verbosity = LOG_DEBUG;
	return 0;
}

static int open_log(const struct cr_opts *o)
{
	char path[PATH_MAX];
	int ret;

	if (!o->log_file)
		return log_init(NULL, o->verbosity);

	if (o->log_file[0] == '/' || !strcmp(o->log_file, "-"))
		snprintf(path, sizeof(path), "%s", o->log_file);
	else
		snprintf(path, sizeof(path), "%s/%s", o->images_dir, o->log_file);

	ret = log_init(path, o->verbosity);
	if (ret < 0)
		fprintf(stderr, "criu: cannot open log file '%s': %s\n", path, strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	static struct cr_opts opts;
	const struct action *a = NULL;
	unsigned int i;
	int ret;

	if (parse_args(&opts, argc, argv))
		return 1;

	for (i = 0; i < ARRAY_SIZE(actions); i++)
		if (!strcmp(actions[i].name, opts.action))
			a = &actions[i];
	if (!a) {
		fprintf(stderr, "criu: unknown command '%s' (try 'criu --help')\n", opts.action);
		return 1;
	}

	/* The images directory is created for actions that write images. */
	if (strcmp(a->name, "restore") && strcmp(a->name, "check"))
		mkdir(opts.images_dir, 0700);

	if (open_log(&opts))
		return 1;

	ret = a->fn(&opts);
	if (ret < 0)
		pr_debug("%s failed: %s", a->name, strerror(-ret));
	log_fini();
	return ret < 0 ? 1 : 0;
}
