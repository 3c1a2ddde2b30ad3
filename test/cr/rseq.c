/*
 * The rseq registration glibc makes for the thread survives: registering the same area again
 * fails with EBUSY before the dump and after the restore (it succeeds only if the kernel has
 * forgotten the registration), and the kernel keeps the area's cpu_id up to date.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RSEQ_SIG_X86	0x53053053

static struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static int reregister(void)
{
	long r = syscall(SYS_rseq, rseq_area(), __rseq_size < 32 ? 32 : __rseq_size, 0,
			 RSEQ_SIG_X86);

	return r == 0 ? 0 : -errno;
}

int main(int argc, char **argv)
{
	int ret;

	test_init(argc, argv);
	if (__rseq_size == 0)
		skip("glibc did not register rseq (glibc.pthread.rseq=0?)");
	ret = reregister();
	if (ret != -EBUSY)
		skip("re-registering rseq gives %d, not -EBUSY: cannot tell", ret);

	test_ready();
	test_waitsig();

	ret = reregister();
	if (ret == 0)
		fail("the rseq registration was lost (registering again succeeded)");
	if (ret != -EBUSY)
		fail("re-registering rseq gives %d, expected -EBUSY", ret);
	if ((int)rseq_area()->cpu_id != sched_getcpu())
		fail("rseq cpu_id %d, sched_getcpu %d", (int)rseq_area()->cpu_id, sched_getcpu());
	pass();
}
