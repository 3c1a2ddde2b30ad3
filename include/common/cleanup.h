/* Scope-based cleanup for host code (not for pie/). */
#ifndef COMMON_CLEANUP_H
#define COMMON_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

#define _cleanup_(f)		__attribute__((cleanup(f)))
#define _cleanup_free_		_cleanup_(freep)
#define _cleanup_close_		_cleanup_(closep)

/* Hand a value out of a cleanup-managed variable. */
#define TAKE_PTR(p)	({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd)	({ int _fd = (fd); (fd) = -1; _fd; })

#endif
