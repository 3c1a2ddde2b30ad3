/*
 * Credentials: uids and gids (real, effective, saved, fs), supplementary groups, the five
 * capability sets and the securebits.
 *
 * Dump: /proc/PID/status (its main thread's), securebits from the parasite (PR_GET_SECUREBITS);
 * they go into core-PID.img (task_core_entry.creds). A thread with others (/proc/PID/task/TID/
 * status) has them in its own core (thread_core_entry.creds), with the main thread's securebits.
 * Restore: criu's child checks that criu has every capability the task had (it cannot give
 * more than it has) and hands them to the restorer (struct rst_creds), which sets them as the
 * last thing before rt_sigreturn, after seccomp, in each thread: see set_creds() in
 * criu/pie/restorer.c. A task whose credentials are criu's own gets nothing to set; a thread
 * with its own always gets them.
 */
#define LOG_PREFIX "creds: "
#include "res/res.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "common/cleanup.h"
#include "common/compiler.h"
#include "core/log.h"
#include "images/core.pb-c.h"

/* ================================= dump side ================================= */

#define STATUS_BUF_SIZE	(64 * 1024)

static int parse_hex64(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 16);
	if (errno || end == s)
		return -EINVAL;
	return 0;
}

/* The "Groups:" line: space-separated decimal gids. */
static int parse_groups(const char *s, struct dump_creds *c)
{
	unsigned long v;
	uint32_t *g;
	char *end;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '\n')
			return 0;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || end == s || v > UINT32_MAX)
			return -EINVAL;
		g = realloc(c->groups, (c->nr_groups + 1) * sizeof(*g));
		if (!g)
			return -ENOMEM;
		c->groups = g;
		g[c->nr_groups++] = v;
		s = end;
	}
}

static int parse_ids(const char *s, uint32_t ids[4])
{
	unsigned int v[4];

	if (sscanf(s, "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) != 4)
		return -EINVAL;
	memcpy(ids, v, sizeof(v));
	return 0;
}

/* Non-logging: the credential lines of a /proc/PID/status text into @c (groups appended). */
int creds_parse_status(const char *buf, struct dump_creds *c)
{
	static const struct {
		const char *key;
		size_t off;
	} caps[] = {
		{ "CapInh:", offsetof(struct dump_creds, cap_inh) },
		{ "CapPrm:", offsetof(struct dump_creds, cap_prm) },
		{ "CapEff:", offsetof(struct dump_creds, cap_eff) },
		{ "CapBnd:", offsetof(struct dump_creds, cap_bnd) },
		{ "CapAmb:", offsetof(struct dump_creds, cap_amb) },
	};
	unsigned int seen = 0, i;
	const char *line, *nl;
	int ret = 0;

	for (line = buf; *line && ret == 0; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = line + strlen(line) - 1;
		if (!strncmp(line, "Uid:", 4)) {
			ret = parse_ids(line + 4, c->uid);
			seen |= 1 << 5;
		} else if (!strncmp(line, "Gid:", 4)) {
			ret = parse_ids(line + 4, c->gid);
			seen |= 1 << 6;
		} else if (!strncmp(line, "Groups:", 7)) {
			ret = parse_groups(line + 7, c);
			seen |= 1 << 7;
		}
		for (i = 0; i < ARRAY_SIZE(caps) && ret == 0; i++)
			if (!strncmp(line, caps[i].key, strlen(caps[i].key))) {
				ret = parse_hex64(line + strlen(caps[i].key),
						  (uint64_t *)((char *)c + caps[i].off));
				seen |= 1 << i;
			}
	}
	if (ret == 0 && seen != 0xff)
		ret = -ENODATA;
	return ret;
}

/* Non-logging: the whole of @path into a new buffer (*@ret_buf, NUL-terminated). */
static int read_text(const char *path, char **ret_buf)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t len = 0;
	ssize_t n;

	buf = malloc(STATUS_BUF_SIZE);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf + len, STATUS_BUF_SIZE - 1 - len)) > 0)
		len += n;
	if (n < 0)
		return -errno;
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	return 0;
}

static bool creds_equal(const struct dump_creds *a, const struct dump_creds *b)
{
	return !memcmp(a->uid, b->uid, sizeof(a->uid)) && !memcmp(a->gid, b->gid, sizeof(a->gid)) &&
	       a->nr_groups == b->nr_groups &&
	       !memcmp(a->groups, b->groups, a->nr_groups * sizeof(*a->groups)) &&
	       a->cap_inh == b->cap_inh && a->cap_prm == b->cap_prm && a->cap_eff == b->cap_eff &&
	       a->cap_bnd == b->cap_bnd && a->cap_amb == b->cap_amb;
}

/*
 * Credentials belong to each thread (a server may impersonate a user in one thread with the
 * raw set*id() system calls, which, unlike libc's, change the calling thread only): the image
 * has the process's (the main thread's) and, in a thread's own core, those of a thread that has
 * others. Their securebits cannot be read from outside the thread: the main thread's are
 * taken.
 */
static int creds_collect_threads(struct dump_ctx *dc)
{
	struct dump_creds *tc;
	char path[64], *buf;
	size_t i;
	int ret;

	if (dc->nr_tids < 2)
		return 0;
	dc->thread_creds = calloc(dc->nr_tids - 1, sizeof(*dc->thread_creds));
	if (!dc->thread_creds)
		return -ENOMEM;
	for (i = 1; i < dc->nr_tids; i++) {
		tc = &dc->thread_creds[i - 1];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", dc->pid, dc->tids[i]);
		ret = read_text(path, &buf);
		if (ret < 0)
			return pr_err_ret(ret, "cannot read %s", path);
		ret = creds_parse_status(buf, tc);
		free(buf);
		if (ret < 0)
			return pr_err_ret(ret, "cannot parse the credentials in %s", path);
		if (creds_equal(tc, &dc->creds)) {
			free(tc->groups);
			tc->groups = NULL;
			tc->nr_groups = -1;
			continue;
		}
		pr_info("thread %d of task %d: credentials of its own, uid %u/%u/%u/%u gid "
			"%u/%u/%u/%u, caps eff %#" PRIx64, dc->tids[i], dc->pid, tc->uid[0],
			tc->uid[1], tc->uid[2], tc->uid[3], tc->gid[0], tc->gid[1], tc->gid[2],
			tc->gid[3], tc->cap_eff);
	}
	return 0;
}

int creds_collect(struct dump_ctx *dc)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/status", dc->pid);
	ret = read_text(path, &buf);
	if (ret < 0)
		return pr_err_ret(ret, "cannot read %s", path);
	ret = creds_parse_status(buf, &dc->creds);
	if (ret < 0)
		return pr_err_ret(ret, "cannot parse the credentials in %s", path);
	ret = creds_collect_threads(dc);
	if (ret < 0)
		return ret;
	pr_info("task %d: uid %u/%u/%u/%u gid %u/%u/%u/%u, %d groups, caps eff %#" PRIx64
		" prm %#" PRIx64 " bnd %#" PRIx64, dc->pid, dc->creds.uid[0], dc->creds.uid[1],
		dc->creds.uid[2], dc->creds.uid[3], dc->creds.gid[0], dc->creds.gid[1],
		dc->creds.gid[2], dc->creds.gid[3], dc->creds.nr_groups, dc->creds.cap_eff,
		dc->creds.cap_prm, dc->creds.cap_bnd);
	return 0;
}

void creds_release(struct dump_ctx *dc)
{
	size_t i;

	free(dc->creds.groups);
	dc->creds.groups = NULL;
	dc->creds.nr_groups = 0;
	for (i = 0; dc->thread_creds && i + 1 < dc->nr_tids; i++)
		free(dc->thread_creds[i].groups);
	free(dc->thread_creds);
	dc->thread_creds = NULL;
}

static CredsEntry *creds_entry_of(const struct dump_ctx *dc, const struct dump_creds *c)
{
	CredsEntry *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	creds_entry__init(e);
	e->uid = c->uid[0];
	e->euid = c->uid[1];
	e->suid = c->uid[2];
	e->fsuid = c->uid[3];
	e->gid = c->gid[0];
	e->egid = c->gid[1];
	e->sgid = c->gid[2];
	e->fsgid = c->gid[3];
	e->n_groups = c->nr_groups;
	e->groups = c->groups;
	e->cap_inh = c->cap_inh;
	e->cap_prm = c->cap_prm;
	e->cap_eff = c->cap_eff;
	e->cap_bnd = c->cap_bnd;
	e->cap_amb = c->cap_amb;
	e->securebits = dc->misc.securebits;
	return e;
}

CredsEntry *creds_entry_new(const struct dump_ctx *dc)
{
	return creds_entry_of(dc, &dc->creds);
}

CredsEntry *creds_thread_entry_new(const struct dump_ctx *dc, size_t idx, bool *ret_own)
{
	*ret_own = dc->thread_creds && dc->thread_creds[idx].nr_groups >= 0;
	return *ret_own ? creds_entry_of(dc, &dc->thread_creds[idx]) : NULL;
}

/* ================================ restore side =============================== */

#include <linux/capability.h>

#define MAX_GROUPS	65536

static size_t creds_size(const CredsEntry *e)
{
	return e ? sizeof(struct rst_creds) + e->n_groups * sizeof(uint32_t) + 16 : 0;
}

/* The thread cores' credentials of their own (threads are the process's by default). */
static const CredsEntry *thread_creds(const struct rst_ctx *c, size_t i)
{
	const ThreadCoreEntry *tce = c->thread_cores[i]->thread_core;

	return tce ? tce->creds : NULL;
}

size_t creds_args_size(const struct rst_ctx *c)
{
	size_t n = creds_size(c->core->tc->creds), i;

	for (i = 0; i < c->nr_threads; i++)
		n += creds_size(thread_creds(c, i));
	return n;
}

/* The credentials criu's child runs with now (the restorer starts with them). */
struct cur_creds {
	uid_t uid[3], fsuid;
	gid_t gid[3], fsgid;
	gid_t *groups;		/* owned */
	int nr_groups;
	uint64_t eff, prm, inh, bnd, amb;
	uint32_t securebits, last_cap;
};

static int cur_creds_read(struct cur_creds *cc)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	char buf[16] = "";
	int fd, n, i;

	if (getresuid(&cc->uid[0], &cc->uid[1], &cc->uid[2]) ||
	    getresgid(&cc->gid[0], &cc->gid[1], &cc->gid[2]))
		return -errno;
	cc->fsuid = syscall(SYS_setfsuid, -1);	/* fails, and tells the current one */
	cc->fsgid = syscall(SYS_setfsgid, -1);
	n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	cc->groups = calloc(n + 1, sizeof(gid_t));
	if (!cc->groups)
		return -ENOMEM;
	cc->nr_groups = getgroups(n, cc->groups);
	if (cc->nr_groups < 0)
		return -errno;
	if (syscall(SYS_capget, &h, d))
		return -errno;
	cc->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	cc->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	cc->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || (cc->last_cap = strtoul(buf, NULL, 10)) >= 64)
		return -EIO;
	cc->bnd = cc->amb = 0;
	for (i = 0; i <= (int)cc->last_cap; i++) {
		if (prctl(PR_CAPBSET_READ, i, 0, 0, 0) == 1)
			cc->bnd |= 1ULL << i;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0) == 1)
			cc->amb |= 1ULL << i;
	}
	n = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	if (n < 0)
		return -errno;
	cc->securebits = n;
	return 0;
}

static bool creds_same(const CredsEntry *e, const struct cur_creds *cc)
{
	size_t i;

	if (e->uid != cc->uid[0] || e->euid != cc->uid[1] || e->suid != cc->uid[2] ||
	    e->fsuid != cc->fsuid || e->gid != cc->gid[0] || e->egid != cc->gid[1] ||
	    e->sgid != cc->gid[2] || e->fsgid != cc->fsgid || e->n_groups != (size_t)cc->nr_groups)
		return false;
	for (i = 0; i < e->n_groups; i++)
		if (e->groups[i] != cc->groups[i])
			return false;
	return e->cap_eff == cc->eff && e->cap_prm == cc->prm && e->cap_inh == cc->inh &&
	       e->cap_bnd == cc->bnd && e->cap_amb == cc->amb && e->securebits == cc->securebits;
}

/* What criu cannot hand the task: capabilities it does not have itself. */
static int creds_check(struct rst_task *t, const CredsEntry *e, const struct cur_creds *cc)
{
	uint64_t all = cc->last_cap == 63 ? ~0ULL : (1ULL << (cc->last_cap + 1)) - 1;
	uint64_t lack;

	lack = (e->cap_prm | e->cap_eff | e->cap_amb) & ~cc->prm;
	if (lack)
		return rst_task_err(t, -EPERM, "core-%d.img: the task has capabilities %#" PRIx64
				    " that criu lacks", t->c->pid, lack);
	lack = e->cap_bnd & all & ~cc->bnd;
	if (lack)
		return rst_task_err(t, -EPERM, "core-%d.img: the task's bounding set has %#" PRIx64
				    ", which criu's lacks", t->c->pid, lack);
	lack = e->cap_inh & ~(cc->inh | cc->bnd);
	if (lack)
		return rst_task_err(t, -EPERM, "core-%d.img: inheritable capabilities %#" PRIx64
				    " are outside criu's bounding set", t->c->pid, lack);
	if ((e->cap_eff & ~e->cap_prm) || (e->cap_amb & ~(e->cap_prm & e->cap_inh)))
		return rst_task_err(t, -EBADMSG, "core-%d.img: inconsistent capability sets",
				    t->c->pid);
	if (!(cc->eff & (1ULL << CAP_SETPCAP)) || !(cc->eff & (1ULL << CAP_SETUID)) ||
	    !(cc->eff & (1ULL << CAP_SETGID)))
		return rst_task_err(t, -EPERM, "core-%d.img: the task's credentials differ from "
				    "criu's, which needs CAP_SETUID, CAP_SETGID and CAP_SETPCAP to set "
				    "them", t->c->pid);
	if (e->n_groups > MAX_GROUPS)
		return rst_task_err(t, -EBADMSG, "core-%d.img: %zu supplementary groups",
				    t->c->pid, e->n_groups);
	return 0;
}

/* @e as struct rst_creds at *@off of @a (checked first); returns that offset, or -errno. */
static int64_t creds_put(struct rst_task *t, struct restorer_args *a, size_t *off,
			 const CredsEntry *e, const struct cur_creds *cc)
{
	struct rst_creds *rc;
	int64_t at;
	int ret;

	ret = creds_check(t, e, cc);
	if (ret < 0)
		return ret;
	*off = ALIGN_UP(*off, 8);
	at = (int64_t)*off;
	rc = (struct rst_creds *)((char *)a + *off);
	memset(rc, 0, sizeof(*rc));
	rc->uid = e->uid;
	rc->euid = e->euid;
	rc->suid = e->suid;
	rc->fsuid = e->fsuid;
	rc->gid = e->gid;
	rc->egid = e->egid;
	rc->sgid = e->sgid;
	rc->fsgid = e->fsgid;
	rc->cap_inh = e->cap_inh;
	rc->cap_prm = e->cap_prm;
	rc->cap_eff = e->cap_eff;
	rc->cap_bnd = e->cap_bnd;
	rc->cap_amb = e->cap_amb;
	rc->cap_now = cc->prm;
	rc->securebits = e->securebits;
	rc->last_cap = cc->last_cap;
	rc->nr_groups = e->n_groups;
	if (e->n_groups)
		memcpy(rc->groups, e->groups, e->n_groups * sizeof(uint32_t));
	*off += sizeof(*rc) + e->n_groups * sizeof(uint32_t);
	return at;
}

/*
 * The process's credentials (none to set when they are criu's own), and those of each thread
 * that has its own (always set: the thread would get the process's otherwise). After
 * core_fill_args(): the threads' struct rst_thread are in place.
 */
int creds_fill_args(struct rst_task *t, struct restorer_args *a, size_t *off)
{
	const CredsEntry *e = t->c->core->tc->creds;
	struct cur_creds cc = { .groups = NULL };
	struct rst_thread *th = (struct rst_thread *)((char *)a + a->threads_off);
	int64_t at = 0;
	size_t i;
	int ret;

	a->creds_off = 0;
	if (!e)
		return 0;
	ret = cur_creds_read(&cc);
	if (ret < 0) {
		free(cc.groups);
		return rst_task_err(t, ret, "cannot read criu's own credentials: %s",
				    strerror(-ret));
	}
	if (!creds_same(e, &cc))
		at = creds_put(t, a, off, e, &cc);
	if (at >= 0)
		a->creds_off = (uint64_t)at;
	for (i = 0; at >= 0 && i < t->c->nr_threads && i < a->nr_threads; i++) {
		if (!thread_creds(t->c, i))
			continue;
		at = creds_put(t, a, off, thread_creds(t->c, i), &cc);
		if (at >= 0)
			th[i].creds_off = (uint64_t)at;
	}
	free(cc.groups);
	return at < 0 ? (int)at : 0;
}
