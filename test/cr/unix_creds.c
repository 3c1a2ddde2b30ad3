/*
 * Queued unix messages keep their sender's credentials (what SCM_CREDENTIALS reports to a
 * receiver with SO_PASSCRED). The root holds the receiving ends of a datagram pair and a stream
 * pair; its child W dropped to uid/gid 65534 and sent "from W" on both (W holds the other ends
 * and runs on); the root sent "from root" on the datagram pair through a pair of its own, once
 * as itself and once with SCM_CREDENTIALS naming uid 1234, gid 5678; a child E set uid 4242
 * and gid 4343, sent "from E" on the datagram pair and exited (reaped: its pid is gone).
 * After restore the root reads them in order and checks each one's pid, uid and gid (E's pid
 * is not checked: no process has it). Then W sends again: its new messages have its creds too.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

struct cred_msg {
	const char *text;
	pid_t pid;		/* 0: not checked */
	uid_t uid;
	gid_t gid;
};

/* Send @text on @sk with the credentials @uc (NULL: the kernel's own). */
static int send_as(int sk, const char *text, const struct ucred *uc)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (uc) {
		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.b;
		m.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*uc));
		memcpy(CMSG_DATA(c), uc, sizeof(*uc));
	}
	return sendmsg(sk, &m, 0) == (ssize_t)strlen(text) ? 0 : -1;
}

/* Receive the next message of @sk: it must be @want, with its credentials. */
static void expect_msg(int sk, const char *what, const struct cred_msg *want)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} cb;
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
			    .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	struct ucred uc;
	ssize_t n;

	n = recvmsg(sk, &m, MSG_DONTWAIT);
	if (n < 0)
		fail("%s: no message '%s': %m", what, want->text);
	buf[n] = '\0';
	if (strcmp(buf, want->text))
		fail("%s: got '%s', expected '%s'", what, buf, want->text);
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_CREDENTIALS)
		fail("%s: '%s' came without credentials", what, buf);
	memcpy(&uc, CMSG_DATA(c), sizeof(uc));
	if ((want->pid && uc.pid != want->pid) || uc.uid != want->uid || uc.gid != want->gid)
		fail("%s: '%s' comes from pid %d uid %u gid %u, expected pid %d uid %u gid %u",
		     what, buf, uc.pid, uc.uid, uc.gid, want->pid, want->uid, want->gid);
}

static void drop_to(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		_exit(70);
}

int main(int argc, char **argv)
{
	int dg[2], st[2], own[2], go[2], rd[2], one = 1, status;
	struct ucred fake;
	pid_t w, e, me;
	char c;

	test_init(argc, argv);
	me = getpid();
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) || socketpair(AF_UNIX, SOCK_STREAM, 0, st) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, own) || pipe(go) || pipe(rd))
		fail("socketpair: %m");
	if (setsockopt(dg[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(st[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(own[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		fail("SO_PASSCRED: %m");

	w = fork();
	if (w < 0)
		fail("fork: %m");
	if (w == 0) {
		close(dg[0]);
		close(st[0]);
		close(go[1]);
		close(rd[0]);
		drop_to(65534, 65534);
		if (send_as(dg[1], "from W", NULL) || send_as(st[1], "from W", NULL) ||
		    write(rd[1], "r", 1) != 1)
			_exit(71);
		/* after restore: once more */
		if (read(go[0], &c, 1) != 1 || send_as(dg[1], "W again", NULL) ||
		    send_as(st[1], "W again", NULL) || write(rd[1], "r", 1) != 1)
			_exit(72);
		for (;;)
			pause();
	}
	close(dg[1]);
	close(st[1]);
	close(go[0]);
	close(rd[1]);

	e = fork();
	if (e < 0)
		fail("fork: %m");
	if (e == 0) {
		drop_to(4242, 4343);
		_exit(send_as(own[1], "from E", NULL) ? 73 : 0);
	}
	if (waitpid(e, &status, 0) != e || status)
		fail("E failed: %#x", status);
	fake = (struct ucred){ .pid = me, .uid = 1234, .gid = 5678 };
	if (send_as(own[1], "from root", NULL) || send_as(own[1], "root as 1234", &fake))
		fail("send: %m");
	if (read(rd[0], &c, 1) != 1)
		fail("W did not send");

	test_ready();
	test_waitsig();

	expect_msg(dg[0], "datagram pair", &(struct cred_msg){ "from W", w, 65534, 65534 });
	expect_msg(st[0], "stream pair", &(struct cred_msg){ "from W", w, 65534, 65534 });
	expect_msg(own[0], "own pair", &(struct cred_msg){ "from E", 0, 4242, 4343 });
	expect_msg(own[0], "own pair", &(struct cred_msg){ "from root", me, 0, 0 });
	expect_msg(own[0], "own pair", &(struct cred_msg){ "root as 1234", me, 1234, 5678 });
	if (write(go[1], "g", 1) != 1 || read(rd[0], &c, 1) != 1)
		fail("W did not send again: %m");
	expect_msg(dg[0], "datagram pair", &(struct cred_msg){ "W again", w, 65534, 65534 });
	expect_msg(st[0], "stream pair", &(struct cred_msg){ "W again", w, 65534, 65534 });
	kill(w, SIGKILL);
	waitpid(w, &status, 0);
	pass();
}
