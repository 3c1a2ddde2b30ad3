#include "core/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static int log_level = DEFAULT_LOGLEVEL;
static struct timespec log_start;

int log_init(const char *path, int level)
{
	log_level = level;
	clock_gettime(CLOCK_MONOTONIC, &log_start);
	if (!path || !strcmp(path, "-")) {
		log_fd = STDERR_FILENO;
		return 0;
	}

	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0) {
		int err = -errno;

		log_fd = STDERR_FILENO;
		return err;
	}
	return 0;
}

void log_fini(void)
{
	if (log_fd != STDERR_FILENO && log_fd >= 0)
		close(log_fd);
	log_fd = STDERR_FILENO;
}

int log_get_level(void)
{
	return log_level;
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_fd(void)
{
	return log_fd;
}

void print_on_level(int level, const char *fmt, ...)
{
	char buf[4096];
	struct timespec now;
	va_list ap;
	int saved = errno, off = 0, n;

	if (level > log_level)
		return;

	if (level != LOG_MSG) {
		long sec, usec;

		clock_gettime(CLOCK_MONOTONIC, &now);
		sec = now.tv_sec - log_start.tv_sec;
		usec = (now.tv_nsec - log_start.tv_nsec) / 1000;
		if (usec < 0) {
			usec += 1000000;
			sec--;
		}
		off = snprintf(buf, sizeof(buf), "(%02ld.%06ld) ", sec, usec);
	}

	va_start(ap, fmt);
	n = vsnprintf(buf + off, sizeof(buf) - off, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	off += n;
	if (off > (int)sizeof(buf) - 1)
		off = sizeof(buf) - 1;

	/* Errors also reach the terminal when the log goes to a file. */
	(void)!write(log_fd, buf, off);	/* nowhere left to report a failure */
	if (level == LOG_ERROR && log_fd != STDERR_FILENO) {
		const char *p = buf;

		while (*p && *p != ')')
			p++;
		if (*p)
			p += 2;
		(void)!write(STDERR_FILENO, p, buf + off - p);
	}
	errno = saved;
}
