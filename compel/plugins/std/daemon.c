/* The parasite daemon loop: receive {cmd}, run it, reply {cmd, ret}. Runs inside the task. */
#include <stdint.h>

#include "compel/plugins/std/infect-proto.h"
#include "compel/plugins/std/std.h"

#define MSG_NOSIGNAL_	0x4000

static int ctl_sock = -1;
static uint64_t orig_sigmask;

int std_ctl_sock(void)
{
	return ctl_sock;
}

uint64_t std_orig_sigmask(void)
{
	return orig_sigmask;
}

static int send_msg(uint32_t cmd, int32_t ret)
{
	struct compel_rpc_msg m = { .cmd = cmd, .ret = ret };
	long r;

	r = __SC(__NR_sendto, ctl_sock, &m, sizeof(m), MSG_NOSIGNAL_, 0, 0);
	return r == sizeof(m) ? 0 : (r < 0 ? (int)r : -5 /* EIO */);
}

static int recv_msg(struct compel_rpc_msg *m)
{
	long r;

	r = __SC(__NR_recvfrom, ctl_sock, m, sizeof(*m), 0, 0, 0);
	if (r == sizeof(*m))
		return 0;
	return r < 0 ? (int)r : -5;
}

void __compel_sigreturn(uint64_t frame) __attribute__((noreturn));

/* Called by __compel_entry. Returns when told to finish or when the host went away. */
void std_daemon_main(struct compel_pie_hdr *hdr)
{
	struct compel_rpc_msg m;
	void *args = (void *)(uintptr_t)hdr->args;

	ctl_sock = hdr->sock;
	orig_sigmask = hdr->orig_sigmask;
	if (hdr->version != COMPEL_PIE_VERSION)
		return;
	if (hdr->sigframe)
		__SC(__NR_sigaltstack, 0, hdr->sigframe + COMPEL_SIGFRAME_UC_STACK_OFF, 0, 0, 0, 0);
	if (send_msg(COMPEL_CMD_READY, 0))
		return;

	for (;;) {
		if (recv_msg(&m))
			goto out_orphan;
		if (m.cmd == COMPEL_CMD_FINI)
			break;
		if (send_msg(m.cmd, parasite_daemon_cmd(m.cmd, args)))
			goto out_orphan;
	}
	parasite_daemon_fini();
	/* The host stops us (PTRACE_INTERRUPT) while we wait here; EOF means it died. */
	if (!send_msg(COMPEL_CMD_FINI, 0))
		recv_msg(&m);
	sys_close(ctl_sock);
	if (hdr->sigframe)
		__compel_sigreturn(hdr->sigframe);
	return;

out_orphan:
	/* The host is gone: nobody will cure the task, so put it back ourselves. */
	parasite_daemon_fini();
	sys_close(ctl_sock);
	if (hdr->sigframe)
		__compel_sigreturn(hdr->sigframe);
}
