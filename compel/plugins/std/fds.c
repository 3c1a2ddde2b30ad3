/* fd passing over a unix socket (SCM_RIGHTS), parasite side. */
#include <stdint.h>

#include "compel/plugins/std/std.h"

#define STD_SOL_SOCKET		1
#define STD_SCM_RIGHTS		1
#define STD_MAX_FDS		16
#define STD_EINVAL		22
#define STD_EIO			5

struct std_iovec {
	void *base;
	size_t len;
};

struct std_msghdr {
	void *name;
	uint32_t namelen;
	struct std_iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	int32_t flags;
};

struct std_cmsghdr {
	size_t len;
	int32_t level;
	int32_t type;
};

struct std_fd_msg {
	struct std_cmsghdr h;
	int32_t fds[STD_MAX_FDS];
};

static int fds_xfer(int sock, int *fds, unsigned int nr, int send)
{
	struct std_fd_msg cm;
	struct std_iovec iov;
	struct std_msghdr mh;
	char dummy = 0;
	unsigned int i;
	long ret;

	if (nr == 0 || nr > STD_MAX_FDS)
		return -STD_EINVAL;
	memset(&cm, 0, sizeof(cm));
	memset(&mh, 0, sizeof(mh));
	iov.base = &dummy;
	iov.len = 1;
	mh.iov = &iov;
	mh.iovlen = 1;
	mh.control = &cm;
	mh.controllen = sizeof(struct std_cmsghdr) + nr * sizeof(int32_t);
	mh.controllen = (mh.controllen + 7) & ~7UL;
	if (send) {
		cm.h.len = sizeof(struct std_cmsghdr) + nr * sizeof(int32_t);
		cm.h.level = STD_SOL_SOCKET;
		cm.h.type = STD_SCM_RIGHTS;
		for (i = 0; i < nr; i++)
			cm.fds[i] = fds[i];
		ret = sys_sendmsg(sock, &mh, 0x4000 /* MSG_NOSIGNAL: no SIGPIPE if the host died */);
		return ret == 1 ? 0 : (ret < 0 ? (int)ret : -STD_EIO);
	}
	ret = sys_recvmsg(sock, &mh, 0);
	if (ret < 0)
		return (int)ret;
	if (ret != 1 || cm.h.level != STD_SOL_SOCKET || cm.h.type != STD_SCM_RIGHTS ||
	    cm.h.len != sizeof(struct std_cmsghdr) + nr * sizeof(int32_t))
		return -STD_EIO;
	for (i = 0; i < nr; i++)
		fds[i] = cm.fds[i];
	return 0;
}

int std_send_fds(int sock, const int *fds, unsigned int nr)
{
	return fds_xfer(sock, (int *)fds, nr, 1);
}

int std_recv_fds(int sock, int *fds, unsigned int nr)
{
	return fds_xfer(sock, fds, nr, 0);
}
