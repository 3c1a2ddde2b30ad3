/* The command line, parsed once by main.c into a const struct cr_opts handed to the action. */
#ifndef CRIU_OPTS_H
#define CRIU_OPTS_H

#include <stdbool.h>
#include <sys/types.h>

struct cr_opts {
	const char *action;		/* "dump", "restore", ... */
	pid_t tree;			/* -t/--tree */
	const char *images_dir;		/* -D/--images-dir, "." by default */
	const char *log_file;		/* -o/--log-file, relative to images_dir; NULL: stderr */
	int verbosity;			/* -v: 0..4 */
	bool restore_detached;		/* -d */
	const char *pidfile;		/* --pidfile, relative to the cwd */
	bool shell_job;			/* -j */
	bool leave_running;		/* -R */
	bool tcp_established;
	bool ext_unix_sk;
	bool file_locks;		/* -l */
	const char *freeze_cgroup;
	bool cgroups_ignore;		/* --manage-cgroups=ignore|none: restore leaves them */
	bool track_mem;
	const char *prev_images_dir;
	bool page_server;		/* dump/pre-dump: send pages to --address:--port */
	const char *address;
	int port;
	int status_fd;			/* -1: none */
	const char *root;		/* -r */
	const char **inherit_fd;	/* --inherit-fd fd[N]:KEY, nr_inherit_fd entries */
	int nr_inherit_fd;
	const char **external;		/* --external, nr_external entries */
	int nr_external;
	int timeout;			/* seconds, 0: default */
	bool display_stats;
	const char **features;		/* check --feature NAME, nr_features entries */
	int nr_features;
	bool check_all;			/* check --all */
};

#endif
