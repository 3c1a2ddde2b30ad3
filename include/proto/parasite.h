/*
 * The protocol between criu (criu/core/parasite.c) and its parasite (criu/pie/parasite.c).
 * Freestanding: compiled into the host and into the blob. Fixed-width fields, no pointers;
 * arguments and results live in compel's shared args area.
 */
#ifndef PROTO_PARASITE_H
#define PROTO_PARASITE_H

#include <stdint.h>

#define PARASITE_PROTO_VERSION	4

/* The first command number free for compel's users (COMPEL_USER_CMD_BASE). */
#define PARASITE_CMD_BASE	64

enum parasite_cmd {
	PARASITE_CMD_DUMP_MISC = PARASITE_CMD_BASE,	/* args: struct parasite_misc (out) */
	PARASITE_CMD_SET_PAGE_PIPES,	/* args: struct parasite_page_pipes; the fds follow */
	PARASITE_CMD_DUMP_PAGES,	/* args: struct parasite_dump_pages */
	PARASITE_CMD_DRAIN_FDS,		/* args: struct parasite_drain_fds; the fds follow */
	PARASITE_CMD__MAX,
};

/* A signal's disposition, as rt_sigaction(2) gives it on x86_64 (struct kernel_sigaction). */
struct parasite_sigaction {
	uint64_t handler, flags, restorer, mask;
};
_Static_assert(sizeof(struct parasite_sigaction) == 32, "parasite ABI changed");

/* An interval timer, as getitimer(2) gives it on x86_64 (struct itimerval). */
struct parasite_itimer {
	uint64_t isec, iusec, vsec, vusec;
};
_Static_assert(sizeof(struct parasite_itimer) == 32, "parasite ABI changed");

/*
 * PARASITE_CMD_DUMP_MISC: what only the task itself can tell. Every signal's disposition (a
 * SIG_DFL one has flags and a mask too, and some matter: SIGCHLD with SA_NOCLDWAIT) and the
 * interval timers come from here, one command instead of a remote syscall each.
 */
struct parasite_misc {
	uint32_t version;	/* PARASITE_PROTO_VERSION */
	int32_t pid;		/* getpid(), in the task's own pid namespace */
	int32_t tid;		/* gettid() */
	int32_t sid;
	int32_t pgid;
	uint32_t umask;
	uint32_t personality;
	int32_t dumpable;	/* PR_GET_DUMPABLE */
	int32_t pdeath_sig;	/* PR_GET_PDEATHSIG */
	int32_t child_subreaper;/* PR_GET_CHILD_SUBREAPER */
	int32_t no_new_privs;	/* PR_GET_NO_NEW_PRIVS */
	uint32_t securebits;	/* PR_GET_SECUREBITS */
	uint64_t sigmask;	/* blocked signals before the parasite blocked them all */
	struct parasite_sigaction sigactions[64];	/* signals 1..64 */
	struct parasite_itimer itimers[3];	/* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
};
_Static_assert(sizeof(struct parasite_misc) == 56 + 67 * 32, "parasite ABI changed");

struct parasite_iov {
	uint64_t base;		/* remote address */
	uint64_t len;		/* bytes */
};
_Static_assert(sizeof(struct parasite_iov) == 16, "parasite ABI changed");

/*
 * PARASITE_CMD_SET_PAGE_PIPES: the write ends of nr_pipes pipes, then the parasite's end of a
 * stream socketpair (the credit socket), follow in one SCM_RIGHTS message; they replace any
 * earlier ones. Each page pipe holds at least the batch_bytes of struct parasite_dump_pages.
 *
 * The credit socket keeps the parasite off a page pipe the host is draining: the host's splice
 * holds the pipe's mutex for the whole copy into the image, and a vmsplice into that pipe would
 * spin on the mutex all that time (a whole vCPU lost per batch). So all page pipes start free;
 * the parasite takes one free pipe per batch, and once none is left it reads (sleeping) from
 * the credit socket, where the host writes one byte per batch it has fully drained. A read that
 * sees EOF (the host is gone) fails the command.
 */
#define PARASITE_MAX_PAGE_PIPES	8
struct parasite_page_pipes {
	uint32_t nr_pipes;	/* 1..PARASITE_MAX_PAGE_PIPES */
	uint32_t pad;
};
_Static_assert(sizeof(struct parasite_page_pipes) == 8, "parasite ABI changed");

enum parasite_pages_flags {
	PARASITE_PAGES_CLOSE_PIPE = 1 << 0,	/* close the page pipes after this command */
};

/*
 * PARASITE_CMD_DUMP_PAGES: vmsplice iovs[0..nr_iovs) in order into the page pipes, cut into
 * batches of batch_bytes (the last one may be shorter): batch k goes into pipe k % nr_pipes.
 * Before each batch the parasite takes a free pipe, waiting for a credit once none is left (see
 * SET_PAGE_PIPES); the host, having sent the command without waiting, drains batch after batch
 * in the same order and writes a credit after each (so nr_pipes batches are in flight), then
 * takes the reply. Credits not taken carry over to the next command. On failure the parasite
 * closes all page pipes first: the host's reads see EOF.
 */
struct parasite_dump_pages {
	uint32_t nr_iovs;
	uint32_t flags;		/* enum parasite_pages_flags */
	uint64_t batch_bytes;	/* in: a multiple of the page size */
	uint64_t bytes;		/* out: bytes moved into the pipes */
	struct parasite_iov iovs[];
};
_Static_assert(sizeof(struct parasite_dump_pages) == 24, "parasite ABI changed");

/*
 * PARASITE_CMD_DRAIN_FDS: send the task's fds fds[0..nr_fds) over the control socket
 * (SCM_RIGHTS), PARASITE_DRAIN_BATCH per message, in order.
 */
#define PARASITE_DRAIN_BATCH	16
struct parasite_drain_fds {
	uint32_t nr_fds;
	int32_t fds[];
};
_Static_assert(sizeof(struct parasite_drain_fds) == 4, "parasite ABI changed");

#endif
