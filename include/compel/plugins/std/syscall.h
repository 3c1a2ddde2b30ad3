/*
 * Raw x86_64 syscalls for blobs (no libc): sys_NAME() returns the kernel's result, a negative
 * errno on failure. Freestanding.
 */
#ifndef COMPEL_PLUGINS_STD_SYSCALL_H
#define COMPEL_PLUGINS_STD_SYSCALL_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>

static inline long __std_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;

	__asm__ __volatile__("syscall"
			     : "=a"(ret)
			     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			     : "rcx", "r11", "memory");
	return ret;
}

#define __SC(nr, a1, a2, a3, a4, a5, a6)					\
	__std_syscall6((nr), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6))

struct iovec;
struct std_msghdr;

static inline long sys_read(int fd, void *buf, size_t n)
{
	return __SC(__NR_read, fd, buf, n, 0, 0, 0);
}
static inline long sys_write(int fd, const void *buf, size_t n)
{
	return __SC(__NR_write, fd, buf, n, 0, 0, 0);
}
static inline long sys_close(int fd) { return __SC(__NR_close, fd, 0, 0, 0, 0, 0); }
static inline long sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return __SC(__NR_mmap, addr, len, prot, flags, fd, off);
}
static inline long sys_munmap(void *addr, size_t len)
{
	return __SC(__NR_munmap, addr, len, 0, 0, 0, 0);
}
static inline long sys_mprotect(void *addr, size_t len, int prot)
{
	return __SC(__NR_mprotect, addr, len, prot, 0, 0, 0);
}
static inline long sys_vmsplice(int fd, const struct iovec *iov, unsigned long nr,
				unsigned int flags)
{
	return __SC(__NR_vmsplice, fd, iov, nr, flags, 0, 0);
}
static inline long sys_sendmsg(int fd, const struct std_msghdr *msg, int flags)
{
	return __SC(__NR_sendmsg, fd, msg, flags, 0, 0, 0);
}
static inline long sys_recvmsg(int fd, struct std_msghdr *msg, int flags)
{
	return __SC(__NR_recvmsg, fd, msg, flags, 0, 0, 0);
}
static inline long sys_prctl(int op, unsigned long a2, unsigned long a3, unsigned long a4,
			     unsigned long a5)
{
	return __SC(__NR_prctl, op, a2, a3, a4, a5, 0);
}
static inline long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old, size_t sz)
{
	return __SC(__NR_rt_sigprocmask, how, set, old, sz, 0, 0);
}
static inline long sys_getpid(void) { return __SC(__NR_getpid, 0, 0, 0, 0, 0, 0); }
static inline long sys_gettid(void) { return __SC(__NR_gettid, 0, 0, 0, 0, 0, 0); }
static inline long sys_getsid(int pid) { return __SC(__NR_getsid, pid, 0, 0, 0, 0, 0); }
static inline long sys_getpgid(int pid) { return __SC(__NR_getpgid, pid, 0, 0, 0, 0, 0); }
static inline long sys_umask(unsigned int mask) { return __SC(__NR_umask, mask, 0, 0, 0, 0, 0); }
static inline long sys_personality(unsigned int p)
{
	return __SC(__NR_personality, p, 0, 0, 0, 0, 0);
}
static inline long sys_exit(int code) { return __SC(__NR_exit, code, 0, 0, 0, 0, 0); }

#endif
