#ifndef COMMON_BUG_H
#define COMMON_BUG_H

#ifndef COMPEL_PIE	/* blobs are built with -DCOMPEL_PIE (gcc defines __PIE__ for host code too) */
#include <stdio.h>
#include <stdlib.h>
#define BUG_ON(cond)								\
	do {									\
		if (__builtin_expect(!!(cond), 0)) {				\
			fprintf(stderr, "BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();						\
		}								\
	} while (0)
#else
#define BUG_ON(cond)	do { if (cond) __builtin_trap(); } while (0)
#endif

#define BUG()		BUG_ON(1)

#endif
