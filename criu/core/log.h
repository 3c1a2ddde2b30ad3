/*
 * criu's log: one file (or stderr) per action, levels as CRIU's -v0..-v4, each line stamped with the
 * time since the action started. Files set LOG_PREFIX before including this header.
 */
#ifndef CRIU_LOG_H
#define CRIU_LOG_H

#include <errno.h>
#include <string.h>
#include "common/compiler.h"

enum log_level {
	LOG_MSG		= 0,	/* always printed, no prefix */
	LOG_ERROR	= 1,
	LOG_WARN	= 2,
	LOG_INFO	= 3,
	LOG_DEBUG	= 4,
};

#define DEFAULT_LOGLEVEL	LOG_WARN

#ifndef LOG_PREFIX
#define LOG_PREFIX ""
#endif

/* Opens @path (NULL or "-": stderr) for appending. Returns 0 or -errno. */
int log_init(const char *path, int level);
void log_fini(void);
int log_get_level(void);
int log_get_fd(void);
void log_set_level(int level);

void print_on_level(int level, const char *fmt, ...) __printf(2, 3);

#define pr_msg(fmt, ...)	print_on_level(LOG_MSG, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...)	print_on_level(LOG_ERROR, "Error (%s:%d): " LOG_PREFIX fmt "\n", \
					       __FILE__, __LINE__, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	print_on_level(LOG_WARN, "Warn  (%s:%d): " LOG_PREFIX fmt "\n", \
					       __FILE__, __LINE__, ##__VA_ARGS__)
#define pr_info(fmt, ...)	print_on_level(LOG_INFO, LOG_PREFIX fmt "\n", ##__VA_ARGS__)
#define pr_debug(fmt, ...)	print_on_level(LOG_DEBUG, LOG_PREFIX fmt "\n", ##__VA_ARGS__)
#define pr_perror(fmt, ...)	pr_err(fmt ": %s", ##__VA_ARGS__, strerror(errno))

/* Logs an error with the text of the negative errno @err appended, and returns @err. */
#define pr_err_ret(err, fmt, ...)						\
	({									\
		int __e = (err);						\
		pr_err(fmt ": %s", ##__VA_ARGS__, strerror(__e < 0 ? -__e : __e)); \
		__e;								\
	})

#endif
