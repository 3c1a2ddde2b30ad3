/*
 * Pure /proc parsers (see proc-parse.h). No logging: errors are returned as negative errnos.
 */
#include "core/proc-parse.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "common/cleanup.h"
#include "common/compiler.h"

#define STAT_NR_FIELDS	52

int proc_read_file(const char *path, char **ret_buf)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = 4096;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= size) {
			char *nb;

			if (size >= (size_t)INT_MAX / 2)
				return -EFBIG;
			nb = realloc(buf, size * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			size *= 2;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*ret_buf = TAKE_PTR(buf);
	return (int)len;
}

static int proc_read_pid_file(pid_t pid, const char *what, char **ret_buf)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return proc_read_file(path, ret_buf);
}

/* ---- /proc/PID/stat ---- */

int proc_parse_stat_buf(const char *buf, struct proc_stat *ret_st)
{
	uint64_t f[STAT_NR_FIELDS + 1] = { 0 };
	struct proc_stat st = { 0 };
	const char *open_p, *close_p, *p;
	char *end;
	size_t comm_len;
	int i;

	/* The comm is everything between the first '(' and the last ')'. */
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;

	errno = 0;
	st.pid = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;

	comm_len = close_p - open_p - 1;
	if (comm_len >= sizeof(st.comm))
		comm_len = sizeof(st.comm) - 1;
	memcpy(st.comm, open_p + 1, comm_len);
	st.comm[comm_len] = '\0';

	p = close_p + 1;
	while (*p == ' ')
		p++;
	if (!*p || !isalpha((unsigned char)*p))
		return -EINVAL;
	st.state = *p++;

	for (i = 4; i <= STAT_NR_FIELDS; i++) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		errno = 0;
		if (*p == '-')
			f[i] = (uint64_t)strtoll(p, &end, 10);
		else
			f[i] = strtoull(p, &end, 10);
		if (errno || end == p)
			return -EINVAL;
		p = end;
	}
	/* env_end (field 51) arrived in Linux 3.5; anything older is not for us. */
	if (i <= 51)
		return -EINVAL;

	st.ppid = (pid_t)f[4];
	st.pgid = (pid_t)f[5];
	st.sid = (pid_t)f[6];
	st.flags = (unsigned int)f[9];
	st.num_threads = (long)f[20];
	st.start_code = f[26];
	st.end_code = f[27];
	st.start_stack = f[28];
	st.exit_signal = (int)f[38];
	st.start_data = f[45];
	st.end_data = f[46];
	st.start_brk = f[47];
	st.arg_start = f[48];
	st.arg_end = f[49];
	st.env_start = f[50];
	st.env_end = f[51];
	st.exit_code = (int)f[52];
	*ret_st = st;
	return 0;
}

int proc_parse_stat(pid_t pid, struct proc_stat *ret_st)
{
	_cleanup_free_ char *buf = NULL;
	int ret;

	ret = proc_read_pid_file(pid, "stat", &buf);
	if (ret < 0)
		return ret;
	return proc_parse_stat_buf(buf, ret_st);
}

/* ---- /proc/PID/status ---- */

/* The value of "Key:\t..." in @buf, or NULL. */
static const char *status_field(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	const char *p = buf;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			p += klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static int status_ulong(const char *buf, const char *key, int base, unsigned long long *ret)
{
	const char *p = status_field(buf, key);
	char *end;

	if (!p)
		return -ENOENT;
	errno = 0;
	*ret = strtoull(p, &end, base);
	if (errno || end == p)
		return -EINVAL;
	return 0;
}

static int status_ids(const char *buf, const char *key, unsigned int ids[4])
{
	const char *p = status_field(buf, key);

	if (!p)
		return -ENOENT;
	if (sscanf(p, "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		return -EINVAL;
	return 0;
}

int proc_parse_status_buf(const char *buf, struct proc_status *ret_st)
{
	struct proc_status st = { .umask = -1, .thp_enabled = -1, .seccomp = -1, .no_new_privs = -1 };
	unsigned long long v;
	int ret;

	if ((ret = status_ulong(buf, "Tgid", 10, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.tgid = v;
	if ((ret = status_ulong(buf, "PPid", 10, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.ppid = v;
	if ((ret = status_ulong(buf, "TracerPid", 10, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.tracer_pid = v;
	if ((ret = status_ulong(buf, "Threads", 10, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.threads = v;
	if ((ret = status_ulong(buf, "SigBlk", 16, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.sig_blk = v;
	if ((ret = status_ulong(buf, "SigIgn", 16, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.sig_ign = v;
	if ((ret = status_ulong(buf, "SigCgt", 16, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	st.sig_cgt = v;

	ret = status_ulong(buf, "Umask", 8, &v);
	if (ret == 0)
		st.umask = v;
	else if (ret != -ENOENT)
		return ret;
	ret = status_ulong(buf, "THP_enabled", 10, &v);
	if (ret == 0)
		st.thp_enabled = !!v;
	else if (ret != -ENOENT)
		return ret;
	ret = status_ulong(buf, "Seccomp", 10, &v);
	if (ret == 0)
		st.seccomp = v;
	else if (ret != -ENOENT)
		return ret;
	ret = status_ulong(buf, "NoNewPrivs", 10, &v);
	if (ret == 0)
		st.no_new_privs = !!v;
	else if (ret != -ENOENT)
		return ret;

	if ((ret = status_ids(buf, "Uid", st.uid)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	if ((ret = status_ids(buf, "Gid", st.gid)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	*ret_st = st;
	return 0;
}

int proc_parse_status(pid_t pid, struct proc_status *ret_st)
{
	_cleanup_free_ char *buf = NULL;
	int ret;

	ret = proc_read_pid_file(pid, "status", &buf);
	if (ret < 0)
		return ret;
	return proc_parse_status_buf(buf, ret_st);
}

/* ---- /proc/PID/limits ---- */

/*
 * "Limit                     Soft Limit           Hard Limit           Units     "
 * "Max open files            1024                 1048576              files     "
 * The name column is 25 characters wide and each limit 20, in RLIMIT_* order.
 */
#define LIMITS_SOFT_COL	26

static int limit_value(const char *s, uint64_t *ret)
{
	char *end;

	if (!strncmp(s, "unlimited", 9)) {
		*ret = ~0ULL;
		return 0;
	}
	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s || (*end != ' ' && *end != '\n' && *end != '\0'))
		return -EINVAL;
	return 0;
}

int proc_parse_limits_buf(const char *buf, struct proc_limits *ret_lim)
{
	struct proc_limits lim;
	const char *line, *p;
	int i;

	line = strchr(buf, '\n');		/* skip the header */
	for (i = 0; i < PROC_NR_LIMITS; i++) {
		if (!line || !line[1])
			return -EINVAL;
		line++;
		if (strnlen(line, LIMITS_SOFT_COL) < LIMITS_SOFT_COL)
			return -EINVAL;
		p = line + LIMITS_SOFT_COL;
		if (limit_value(p, &lim.cur[i]) < 0)
			return -EINVAL;
		p = strchr(p, ' ');
		while (p && *p == ' ')
			p++;
		if (!p || limit_value(p, &lim.max[i]) < 0)
			return -EINVAL;
		line = strchr(line, '\n');
	}
	*ret_lim = lim;
	return 0;
}

int proc_parse_limits(pid_t pid, struct proc_limits *ret_lim)
{
	_cleanup_free_ char *buf = NULL;
	int ret;

	ret = proc_read_pid_file(pid, "limits", &buf);
	if (ret < 0)
		return ret;
	return proc_parse_limits_buf(buf, ret_lim);
}

/* ---- /proc/PID/maps and smaps ---- */

int proc_parse_maps_line(const char *line, struct proc_vma *ret_vma, const char **ret_name)
{
	struct proc_vma v = { 0 };
	unsigned long long start, end, pgoff, ino;
	unsigned int maj, min;
	char perms[5];
	int n = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n",
		   &start, &end, perms, &pgoff, &maj, &min, &ino, &n) != 7 || n == 0)
		return -EINVAL;
	if (strlen(perms) != 4 || end <= start)
		return -EINVAL;

	v.start = start;
	v.end = end;
	v.pgoff = pgoff;
	v.dev_major = maj;
	v.dev_minor = min;
	v.ino = ino;
	if (perms[0] == 'r')
		v.prot |= PROT_READ;
	if (perms[1] == 'w')
		v.prot |= PROT_WRITE;
	if (perms[2] == 'x')
		v.prot |= PROT_EXEC;
	if (perms[3] == 's')
		v.shared = true;
	else if (perms[3] != 'p')
		return -EINVAL;

	line += n;
	/* The kernel pads the inode column with spaces up to the name. */
	while (*line == ' ')
		line++;
	if (line[0] == '\n')
		line++;

	*ret_vma = v;
	*ret_name = line;
	return 0;
}

static const struct {
	char name[3];
	unsigned int bit;
} vmflag_names[] = {
	{ "gd", VMF_GROWSDOWN }, { "dc", VMF_DONTCOPY }, { "wf", VMF_WIPEONFORK },
	{ "hg", VMF_HUGEPAGE }, { "nh", VMF_NOHUGEPAGE }, { "mg", VMF_MERGEABLE },
	{ "dd", VMF_DONTDUMP }, { "io", VMF_IO }, { "pf", VMF_PFNMAP },
	{ "lo", VMF_LOCKED }, { "sr", VMF_SEQ_READ }, { "rr", VMF_RAND_READ },
	{ "sh", VMF_SHARED }, { "um", VMF_UFFD }, { "uw", VMF_UFFD }, { "ui", VMF_UFFD },
};

int proc_parse_vmflags(const char *line, unsigned int *ret_flags)
{
	unsigned int flags = 0;
	const char *p;
	size_t i;

	if (strncmp(line, "VmFlags:", 8))
		return -EINVAL;
	p = line + 8;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		if (!isalpha((unsigned char)p[0]) || !isalpha((unsigned char)p[1]) ||
		    (p[2] != ' ' && p[2] != '\n' && p[2] != '\0'))
			return -EINVAL;
		for (i = 0; i < ARRAY_SIZE(vmflag_names); i++)
			if (!strncmp(p, vmflag_names[i].name, 2))
				flags |= vmflag_names[i].bit;
		p += 2;
	}
	*ret_flags = flags;
	return 0;
}

void proc_vmas_release(struct proc_vmas *vmas)
{
	size_t i;

	if (!vmas)
		return;
	for (i = 0; i < vmas->nr; i++)
		free(vmas->v[i].name);
	free(vmas->v);
	vmas->v = NULL;
	vmas->nr = 0;
}

static int vmas_add(struct proc_vmas *vmas, size_t *cap, const struct proc_vma *v,
		    const char *name, size_t name_len)
{
	struct proc_vma *nv;

	if (vmas->nr == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		nv = realloc(vmas->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		vmas->v = nv;
		*cap = ncap;
	}
	nv = &vmas->v[vmas->nr];
	*nv = *v;
	nv->name = strndup(name, name_len);
	if (!nv->name)
		return -ENOMEM;
	vmas->nr++;
	return 0;
}

/* Is @line a maps line ("hex-hex ...") rather than an smaps "Key: value" line? */
static bool is_maps_line(const char *line)
{
	const char *p = line;

	while (isxdigit((unsigned char)*p))
		p++;
	return p != line && *p == '-';
}

int proc_parse_smaps_buf(const char *buf, bool smaps, struct proc_vmas *ret)
{
	struct proc_vmas vmas = { 0 };
	const char *line = buf, *nl, *name;
	struct proc_vma v;
	size_t cap = 0;
	int err;

	while (*line) {
		nl = strchrnul(line, '\n');
		if (is_maps_line(line)) {
			err = proc_parse_maps_line(line, &v, &name);
			if (err < 0)
				goto out_free;
			if (name > nl)
				name = nl;
			err = vmas_add(&vmas, &cap, &v, name, nl - name);
			if (err < 0)
				goto out_free;
		} else if (smaps && !strncmp(line, "VmFlags:", 8)) {
			err = -EINVAL;
			if (!vmas.nr)
				goto out_free;
			err = proc_parse_vmflags(line, &vmas.v[vmas.nr - 1].vmflags);
			if (err < 0)
				goto out_free;
		} else if (!smaps) {
			err = -EINVAL;
			goto out_free;
		}
		line = *nl ? nl + 1 : nl;
	}
	*ret = vmas;
	return 0;

out_free:
	proc_vmas_release(&vmas);
	return err;
}

int proc_parse_vmas(pid_t pid, bool smaps, struct proc_vmas *ret)
{
	_cleanup_free_ char *buf = NULL;
	int ret_len;

	ret_len = proc_read_pid_file(pid, smaps ? "smaps" : "maps", &buf);
	if (ret_len < 0)
		return ret_len;
	return proc_parse_smaps_buf(buf, smaps, ret);
}

/* ---- /proc/PID/fdinfo/FD ---- */

int proc_parse_fdinfo_buf(const char *buf, struct proc_fdinfo *ret_fi)
{
	struct proc_fdinfo fi = { .mnt_id = -1 };
	unsigned long long v;
	int ret;

	if ((ret = status_ulong(buf, "pos", 10, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	fi.pos = v;
	if ((ret = status_ulong(buf, "flags", 8, &v)) < 0)
		return ret == -ENOENT ? -EINVAL : ret;
	fi.flags = v;
	ret = status_ulong(buf, "mnt_id", 10, &v);
	if (ret == 0)
		fi.mnt_id = v;
	else if (ret != -ENOENT)
		return ret;
	ret = status_ulong(buf, "ino", 10, &v);
	if (ret == 0)
		fi.ino = v;
	else if (ret != -ENOENT)
		return ret;
	*ret_fi = fi;
	return 0;
}

int proc_parse_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret_fi)
{
	_cleanup_free_ char *buf = NULL;
	char what[32];
	int ret;

	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	ret = proc_read_pid_file(pid, what, &buf);
	if (ret < 0)
		return ret;
	return proc_parse_fdinfo_buf(buf, ret_fi);
}

/* ---- auxv, fd lists, threads, links ---- */

int proc_read_auxv(pid_t pid, uint64_t **ret_words)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t *words;
	int len, nr, i;

	len = proc_read_pid_file(pid, "auxv", &buf);
	if (len < 0)
		return len;
	if (len % (2 * sizeof(uint64_t)))
		return -EINVAL;
	nr = len / sizeof(uint64_t);
	words = (uint64_t *)buf;
	for (i = 0; i < nr; i += 2)
		if (words[i] == 0)	/* AT_NULL */
			break;
	if (i >= nr)
		return -EINVAL;
	*ret_words = (uint64_t *)TAKE_PTR(buf);
	return i + 2;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* The numeric entries of directory @path, sorted (NULL @ret_nums: just count them). */
static int list_numeric_dir(const char *path, int **ret_nums)
{
	_cleanup_free_ int *nums = NULL;
	struct dirent *de;
	size_t nr = 0, cap = 0;
	DIR *d;
	int err = 0;

	d = opendir(path);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		char *end;
		long v;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = strtol(de->d_name, &end, 10);
		if (*end || v < 0 || v > INT_MAX)
			continue;
		if (nr == cap) {
			int *nn;

			cap = cap ? cap * 2 : 32;
			nn = realloc(nums, cap * sizeof(*nn));
			if (!nn) {
				err = -ENOMEM;
				break;
			}
			nums = nn;
		}
		nums[nr++] = (int)v;
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err)
		return err;
	if (nr)
		qsort(nums, nr, sizeof(*nums), cmp_int);
	if (ret_nums)
		*ret_nums = TAKE_PTR(nums);
	return (int)nr;
}

int proc_list_fds(pid_t pid, int **ret_fds)
{
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	ret = list_numeric_dir(path, ret_fds);
	if (ret == 0)
		*ret_fds = NULL;
	return ret;
}

int proc_count_threads(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	return list_numeric_dir(path, NULL);
}

int proc_count_children(pid_t pid)
{
	_cleanup_free_ int *tids = NULL;
	char path[96];
	int nr, i, count = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	nr = list_numeric_dir(path, &tids);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr; i++) {
		_cleanup_free_ char *buf = NULL;
		char *p, *end;
		int ret;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, tids[i]);
		ret = proc_read_file(path, &buf);
		if (ret == -ENOENT)
			continue;	/* the thread is gone */
		if (ret < 0)
			return ret;
		for (p = buf;; p = end) {
			strtol(p, &end, 10);
			if (end == p)
				break;
			count++;
		}
	}
	return count;
}

int proc_readlink(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[96];
	ssize_t n;

	if (len < 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	n = readlink(path, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return (int)n;
}
