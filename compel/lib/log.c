/* libcompel never prints: it hands messages to the host's callback. */
#include <stdarg.h>

#include "internal.h"

static compel_log_fn log_fn;
static unsigned int log_level;

COMPEL_API void compel_set_log(compel_log_fn fn, unsigned int level)
{
	log_fn = fn;
	log_level = level;
}

void compel_log(unsigned int level, const char *fmt, ...)
{
	va_list ap;

	if (!log_fn || level > log_level)
		return;
	va_start(ap, fmt);
	log_fn(level, fmt, ap);
	va_end(ap);
}
