/* Unit tests of criu/core/proc-parse.c: exit 0 pass, 77 skip, anything else fail. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "core/proc-parse.h"

static int failures;

#define CHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;						\
		}								\
	} while (0)

static void test_maps_lines(void)
{
	struct proc_vma v;
	const char *name;

	CHECK(proc_parse_maps_line("55d0c0a00000-55d0c0a02000 r--p 00001000 fd:01 1835113"
				   "                    /usr/bin/cat\n", &v, &name) == 0);
	CHECK(v.start == 0x55d0c0a00000ULL && v.end == 0x55d0c0a02000ULL);
	CHECK(v.prot == PROT_READ && !v.shared && v.pgoff == 0x1000);
	CHECK(v.dev_major == 0xfd && v.dev_minor == 1 && v.ino == 1835113);
	CHECK(!strcmp(name, "/usr/bin/cat\n"));

	/* A name with spaces, and a deleted file. */
	CHECK(proc_parse_maps_line("7f0000000000-7f0000001000 rw-s 00000000 08:02 42"
				   "                         /tmp/my file  x (deleted)", &v, &name) == 0);
	CHECK(v.shared && v.prot == (PROT_READ | PROT_WRITE));
	CHECK(!strcmp(name, "/tmp/my file  x (deleted)"));

	/* Anonymous, no name at all. */
	CHECK(proc_parse_maps_line("7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n",
				   &v, &name) == 0);
	CHECK(v.ino == 0 && v.dev_major == 0 && !strcmp(name, ""));
	CHECK(proc_parse_maps_line("7f0000001000-7f0000003000 ---p 00000000 00:00 0",
				   &v, &name) == 0);
	CHECK(v.prot == 0 && !strcmp(name, ""));

	CHECK(proc_parse_maps_line("7ffd1c5f0000-7ffd1c5f4000 r--p 00000000 00:00 0"
				   "                          [vvar_vclock]", &v, &name) == 0);
	CHECK(!strcmp(name, "[vvar_vclock]"));
	CHECK(proc_parse_maps_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
				   "                  [vsyscall]", &v, &name) == 0);
	CHECK(v.start == 0xffffffffff600000ULL && v.prot == PROT_EXEC && !strcmp(name, "[vsyscall]"));

	/* Garbage. */
	CHECK(proc_parse_maps_line("", &v, &name) == -EINVAL);
	CHECK(proc_parse_maps_line("7f0000001000-7f0000000000 rw-p 00000000 00:00 0", &v, &name) ==
	      -EINVAL);
	CHECK(proc_parse_maps_line("7f0000000000-7f0000001000 rw-x 00000000 00:00 0", &v, &name) ==
	      -EINVAL);
	CHECK(proc_parse_maps_line("Size:                  4 kB", &v, &name) == -EINVAL);
}

static void test_smaps(void)
{
	static const char smaps[] =
		"00400000-00401000 r-xp 00000000 fd:01 12 /bin/x y\n"
		"Size:                  4 kB\n"
		"Rss:                   4 kB\n"
		"VmFlags: rd ex mr mw me dw\n"
		"7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n"
		"Size:                132 kB\n"
		"VmFlags: rd wr mr mw me gd ac dc wf\n"
		"7ffc00100000-7ffc00101000 rw-p 00000000 00:00 0 [anon:my name]\n"
		"VmFlags: rd wr mr mw me ac hg\n";
	struct proc_vmas vmas;
	unsigned int f;

	CHECK(proc_parse_smaps_buf(smaps, true, &vmas) == 0);
	CHECK(vmas.nr == 3);
	if (vmas.nr == 3) {
		CHECK(!strcmp(vmas.v[0].name, "/bin/x y") && vmas.v[0].vmflags == 0);
		CHECK(!strcmp(vmas.v[1].name, "[stack]"));
		CHECK(vmas.v[1].vmflags == (VMF_GROWSDOWN | VMF_DONTCOPY | VMF_WIPEONFORK));
		CHECK(!strcmp(vmas.v[2].name, "[anon:my name]") &&
		      vmas.v[2].vmflags == VMF_HUGEPAGE);
	}
	proc_vmas_release(&vmas);

	/* Plain maps refuse smaps-only lines. */
	CHECK(proc_parse_smaps_buf(smaps, false, &vmas) == -EINVAL);
	CHECK(proc_parse_vmflags("VmFlags: rd wr io pf\n", &f) == 0 && f == (VMF_IO | VMF_PFNMAP));
	CHECK(proc_parse_vmflags("VmFlags: rdx\n", &f) == -EINVAL);
}

static void test_stat(void)
{
	/* A comm with ") " and parentheses inside: only the last ')' ends it. */
	static const char stat[] =
		"4242 (a) b (c) d) S 1 4242 4200 34816 4242 4194560 110 0 0 0 0 0 0 0 20 0 1 0 "
		"123456 2539520 200 18446744073709551615 94000000000000 94000000004096 "
		"140720000000000 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94000000008192 94000000008704 "
		"94000001000000 140720000001000 140720000001010 140720000001010 140720000002000 7\n";
	struct proc_stat st;

	CHECK(proc_parse_stat_buf(stat, &st) == 0);
	CHECK(st.pid == 4242 && !strcmp(st.comm, "a) b (c) d"));
	CHECK(st.state == 'S' && st.ppid == 1 && st.pgid == 4242 && st.sid == 4200);
	CHECK(st.flags == 4194560 && st.num_threads == 1 && st.exit_signal == 17);
	CHECK(st.start_code == 94000000000000ULL && st.end_code == 94000000004096ULL);
	CHECK(st.start_stack == 140720000000000ULL);
	CHECK(st.start_data == 94000000008192ULL && st.end_data == 94000000008704ULL);
	CHECK(st.start_brk == 94000001000000ULL);
	CHECK(st.arg_start == 140720000001000ULL && st.arg_end == 140720000001010ULL);
	CHECK(st.env_start == 140720000001010ULL && st.env_end == 140720000002000ULL);
	CHECK(st.exit_code == 7);

	CHECK(proc_parse_stat_buf("12 (x) S 1 2 3\n", &st) == -EINVAL);
	CHECK(proc_parse_stat_buf("12 (x S 1 2 3\n", &st) == -EINVAL);

	/* Our own stat parses and agrees with getpid()/getppid(). */
	CHECK(proc_parse_stat(getpid(), &st) == 0);
	CHECK(st.pid == getpid() && st.ppid == getppid() && st.num_threads == 1);
	CHECK(st.start_code != 0 && st.arg_start < st.arg_end);
}

static void test_status(void)
{
	static const char status[] =
		"Name:\tcat\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t77\nNgid:\t0\nPid:\t77\n"
		"PPid:\t1\nTracerPid:\t0\nUid:\t0\t1\t2\t3\nGid:\t4\t5\t6\t7\nThreads:\t1\n"
		"SigQ:\t0/63569\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
		"SigBlk:\t0000000000010002\nSigIgn:\t0000000000001000\nSigCgt:\t0000000180004002\n"
		"THP_enabled:\t1\n";
	struct proc_status st;

	CHECK(proc_parse_status_buf(status, &st) == 0);
	CHECK(st.tgid == 77 && st.ppid == 1 && st.tracer_pid == 0 && st.threads == 1);
	CHECK(st.umask == 022 && st.sig_blk == 0x10002 && st.thp_enabled == 1);
	CHECK(st.sig_ign == 0x1000 && st.sig_cgt == 0x180004002ULL);
	CHECK(st.seccomp == -1 && st.no_new_privs == -1);
	CHECK(st.uid[0] == 0 && st.uid[3] == 3 && st.gid[0] == 4 && st.gid[3] == 7);
	CHECK(proc_parse_status_buf("Name:\tx\n", &st) == -EINVAL);
	CHECK(proc_parse_status(getpid(), &st) == 0 && st.tgid == getpid());
}

static void test_limits(void)
{
	static const char limits[] =
		"Limit                     Soft Limit           Hard Limit           Units     \n"
		"Max cpu time              unlimited            unlimited            seconds   \n"
		"Max file size             unlimited            unlimited            bytes     \n"
		"Max data size             unlimited            unlimited            bytes     \n"
		"Max stack size            8388608              unlimited            bytes     \n"
		"Max core file size        0                    unlimited            bytes     \n"
		"Max resident set          unlimited            unlimited            bytes     \n"
		"Max processes             63569                63569                processes \n"
		"Max open files            777                  1999                 files     \n"
		"Max locked memory         8388608              8388608              bytes     \n"
		"Max address space         unlimited            unlimited            bytes     \n"
		"Max file locks            unlimited            unlimited            locks     \n"
		"Max pending signals       63569                63569                signals   \n"
		"Max msgqueue size         819200               819200               bytes     \n"
		"Max nice priority         0                    0                    \n"
		"Max realtime priority     0                    0                    \n"
		"Max realtime timeout      unlimited            unlimited            us        \n";
	struct proc_limits lim;
	struct rlimit rl;
	int i;

	CHECK(proc_parse_limits_buf(limits, &lim) == 0);
	CHECK(lim.cur[RLIMIT_CPU] == RLIM_INFINITY && lim.max[RLIMIT_CPU] == RLIM_INFINITY);
	CHECK(lim.cur[RLIMIT_STACK] == 8388608 && lim.max[RLIMIT_STACK] == RLIM_INFINITY);
	CHECK(lim.cur[RLIMIT_NOFILE] == 777 && lim.max[RLIMIT_NOFILE] == 1999);
	CHECK(lim.cur[RLIMIT_RTPRIO] == 0 && lim.max[RLIMIT_RTTIME] == RLIM_INFINITY);
	CHECK(proc_parse_limits_buf("Limit\nMax cpu time              1 2\n", &lim) == -EINVAL);

	/* Ours agree with getrlimit(). */
	CHECK(proc_parse_limits(getpid(), &lim) == 0);
	for (i = 0; i < PROC_NR_LIMITS; i++) {
		CHECK(getrlimit(i, &rl) == 0);
		CHECK(lim.cur[i] == rl.rlim_cur && lim.max[i] == rl.rlim_max);
	}
}

static void test_fdinfo(void)
{
	struct proc_fdinfo fi;
	int fd;

	CHECK(proc_parse_fdinfo_buf("pos:\t1234\nflags:\t02100002\nmnt_id:\t25\nino:\t99\n",
				    &fi) == 0);
	CHECK(fi.pos == 1234 && fi.flags == 02100002 && fi.mnt_id == 25 && fi.ino == 99);
	CHECK(proc_parse_fdinfo_buf("flags:\t02\n", &fi) == -EINVAL);

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char c;

		CHECK(read(fd, &c, 1) == 1);
		CHECK(proc_parse_fdinfo(getpid(), fd, &fi) == 0);
		CHECK(fi.pos == 1 && (fi.flags & O_CLOEXEC) && (fi.flags & O_ACCMODE) == O_RDONLY);
		close(fd);
	}
}

static void test_self(void)
{
	struct proc_vmas vmas;
	uint64_t *auxv = NULL;
	int *fds = NULL;
	char buf[4096];
	int nr;

	CHECK(proc_count_threads(getpid()) == 1);
	CHECK(proc_count_children(getpid()) == 0);
	nr = proc_read_auxv(getpid(), &auxv);
	CHECK(nr >= 2 && nr % 2 == 0 && auxv[nr - 2] == 0);
	free(auxv);
	nr = proc_list_fds(getpid(), &fds);
	CHECK(nr >= 1);
	if (nr > 1)
		CHECK(fds[0] < fds[1]);
	free(fds);
	CHECK(proc_readlink(getpid(), "exe", buf, sizeof(buf)) > 0 && buf[0] == '/');
	CHECK(proc_parse_vmas(getpid(), true, &vmas) == 0 && vmas.nr > 3);
	if (vmas.nr > 1)
		CHECK(vmas.v[0].start < vmas.v[1].start);
	proc_vmas_release(&vmas);
}

int main(void)
{
	test_maps_lines();
	test_smaps();
	test_stat();
	test_status();
	test_limits();
	test_fdinfo();
	test_self();
	if (failures) {
		fprintf(stderr, "test-proc-parse: %d failures\n", failures);
		return 1;
	}
	printf("test-proc-parse: PASS\n");
	return 0;
}
