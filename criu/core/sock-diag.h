/*
 * sock_diag netlink queries for AF_UNIX sockets (criu/core/sock-diag.c): what the kernel tells
 * about one socket from outside (name, peer, queued connections, queue lengths, shutdown).
 * Non-logging: functions return 0 or a negative errno.
 */
#ifndef CRIU_CORE_SOCK_DIAG_H
#define CRIU_CORE_SOCK_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNIX_NAME_MAX	108

/* One unix socket as UNIX_DIAG_* describes it. */
struct unix_diag {
	uint32_t ino;
	uint8_t type;			/* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint8_t state;			/* TCP_LISTEN, TCP_ESTABLISHED, TCP_CLOSE */
	uint8_t shutdown;		/* RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 */
	bool has_peer;			/* connected */
	uint32_t peer;			/* the peer's inode; 0: none, or a connection queued
					 * on a listener (no inode before accept()) */
	char name[UNIX_NAME_MAX];	/* as bound: sun_path, abstract ones start with '\0' */
	size_t namelen;			/* 0: not bound */
	bool has_vfs;			/* bound to a filesystem name: its inode */
	uint32_t vfs_ino, vfs_dev;	/* vfs_dev: the kernel's encoding (major << 20 | minor) */
	uint32_t rqlen, wqlen;		/* listener: queued connections and backlog; else bytes */
	uint32_t *icons;		/* owned: listener: the inodes of the clients of its queued
					 * connections, in order (0: a closed client) */
	size_t nr_icons;
	bool has_uid;
	uint32_t uid;
};

/*
 * Look the unix socket of inode @ino up in the network namespace of task @pid (0: criu's).
 * -ENOENT: no such unix socket there. *@ret is filled on success only; release it with
 * unix_diag_release().
 */
int sock_diag_unix(pid_t pid, uint32_t ino, struct unix_diag *ret);

/* Free what @u owns (accepts a zeroed one). */
void unix_diag_release(struct unix_diag *u);

#endif
