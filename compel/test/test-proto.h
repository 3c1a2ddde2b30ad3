/* test-compel <-> its test blob. Freestanding. */
#ifndef COMPEL_TEST_PROTO_H
#define COMPEL_TEST_PROTO_H

#include <stdint.h>

enum {
	TEST_CMD_PING = 64,	/* args.pid = getpid(), args.sigmask = the original mask */
	TEST_CMD_SET_PIPE,	/* one fd follows */
	TEST_CMD_VMSPLICE,	/* vmsplice [addr, addr + len) into it, args.done = bytes */
	TEST_CMD_SEND_FD,	/* send the task's fd args.addr back */
	TEST_CMD_CLOBBER_FPU,	/* trash xmm0-15, MXCSR and the x87 stack */
	TEST_CMD_FAULT,		/* write to args.addr (crash with SIGSEGV) */
};

struct test_args {
	int64_t pid;
	uint64_t sigmask;
	uint64_t addr;
	uint64_t len;
	uint64_t done;
};

/* The victim's records on its stdout. */
#define VICTIM_MAGIC	0x56494354494dULL

struct victim_rec {
	uint64_t kind;		/* REC_* */
	uint64_t a, b, c;
};

enum { REC_HELLO = 1, REC_STEP, REC_END, REC_READ, REC_SLEEP };

/* The victim's pattern buffer: byte i is pattern_byte(i). */
static inline unsigned char pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 2654435761ULL) >> 13);
}

#if __STDC_HOSTED__
/* One step of the victim's chain; test-compel recomputes it. */
static inline void victim_step(uint64_t n, uint64_t *h, double *x)
{
	int i;

	for (i = 0; i < 20000; i++) {
		*h = *h * 6364136223846793005ULL + n + i;
		*x = *x * 1.0000001 + (double)(i & 7) * 0.5;
		if (*x > 1e12)
			*x /= 3.0;
	}
}
#endif

#endif
