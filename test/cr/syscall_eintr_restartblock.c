/* syscall_eintr_kinds.c with the syscalls the kernel restarts through restart_syscall(). */
#define RESTART_BLOCK
#include "syscall_eintr_kinds.c"
