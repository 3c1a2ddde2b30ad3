/*
 * Threads with credentials of their own (a file server impersonating users per thread: raw
 * set*id system calls change the calling thread only, unlike libc's). The main thread stays
 * root; thread A took gid 2000, groups {2000, 2001} and uid 65534 (losing its capabilities);
 * thread B only set its fs uid and gid to 1000 and dropped CAP_NET_RAW from its effective set;
 * thread C has the process's. After restore each thread checks its own uids, gids, groups and
 * capabilities (read with raw system calls, which answer for the calling thread), and the main
 * thread its own.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>

struct creds {
	uid_t uid[3], fsuid;
	gid_t gid[3], fsgid;
	int nr_groups;
	gid_t groups[8];
	uint64_t eff, prm;
};

static int ready_pipe[2], go_pipe[2];
static char verdict[3][160];

static void read_creds(struct creds *c)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(c, 0, sizeof(*c));
	syscall(SYS_getresuid, &c->uid[0], &c->uid[1], &c->uid[2]);
	syscall(SYS_getresgid, &c->gid[0], &c->gid[1], &c->gid[2]);
	c->fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	c->fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	c->nr_groups = (int)syscall(SYS_getgroups, 8, c->groups);
	syscall(SYS_capget, &h, d);
	c->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	c->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
}

static void describe(char *buf, size_t len, const char *who, const struct creds *c)
{
	snprintf(buf, len, "%s: uid %u/%u/%u fs %u gid %u/%u/%u fs %u, %d groups, eff %#llx prm %#llx",
		 who, c->uid[0], c->uid[1], c->uid[2], c->fsuid, c->gid[0], c->gid[1], c->gid[2],
		 c->fsgid, c->nr_groups, (unsigned long long)c->eff, (unsigned long long)c->prm);
}

static int drop_eff(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[cap / 32].effective &= ~(1U << (cap % 32));
	return (int)syscall(SYS_capset, &h, d);
}

static void *thread_fn(void *arg)
{
	long which = (long)arg;
	static const gid_t groups[] = { 2000, 2001 };
	struct creds before, after;
	char c;
	int ret = 0;

	if (which == 0)
		ret = (int)(syscall(SYS_setgroups, 2, groups) ||
			    syscall(SYS_setresgid, 2000, 2000, 2000) ||
			    syscall(SYS_setresuid, 65534, 65534, 65534));
	else if (which == 1)
		ret = (syscall(SYS_setfsuid, 1000), syscall(SYS_setfsgid, 1000), drop_eff(CAP_NET_RAW));
	read_creds(&before);
	if (ret)
		snprintf(verdict[which], sizeof(verdict[which]), "cannot set up: %s",
			 strerror(errno));
	if (write(ready_pipe[1], "r", 1) != 1 || read(go_pipe[0], &c, 1) != 1)
		return NULL;
	read_creds(&after);
	if (!ret && memcmp(&before, &after, sizeof(before))) {
		char b[160];

		describe(b, sizeof(b), "now", &after);
		snprintf(verdict[which], sizeof(verdict[which]), "%s", b);
	}
	if (!ret && !verdict[which][0])
		snprintf(verdict[which], sizeof(verdict[which]), "ok");
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[3];
	struct creds main_before, main_after, a;
	char c, buf[160];
	long i;

	test_init(argc, argv);
	if (pipe(ready_pipe) || pipe(go_pipe))
		fail("pipe: %m");
	read_creds(&main_before);
	if (main_before.uid[0] != 0)
		skip("not root");
	for (i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, thread_fn, (void *)i))
			fail("pthread_create: %m");
	for (i = 0; i < 3; i++)
		if (read(ready_pipe[0], &c, 1) != 1)
			fail("a thread did not start");
	for (i = 0; i < 3; i++)
		if (verdict[i][0])
			fail("thread %ld: %s", i, verdict[i]);
	read_creds(&a);
	if (memcmp(&a, &main_before, sizeof(a)))
		fail("the threads' set*id changed the main thread's credentials");

	test_ready();
	test_waitsig();

	for (i = 0; i < 3; i++)
		if (write(go_pipe[1], "g", 1) != 1)
			fail("write: %m");
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	read_creds(&main_after);
	if (memcmp(&main_after, &main_before, sizeof(main_after))) {
		describe(buf, sizeof(buf), "main thread", &main_after);
		fail("%s, not as before", buf);
	}
	for (i = 0; i < 3; i++)
		if (strcmp(verdict[i], "ok"))
			fail("thread %c has other credentials after restore: %s", (int)('A' + i),
			     verdict[i]);
	pass();
}
