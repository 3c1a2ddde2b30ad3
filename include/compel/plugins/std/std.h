/*
 * The std plugin: the runtime every compel blob links with (compel/plugins/std/).
 *
 * A blob provides two functions, and the std daemon calls them:
 *   int parasite_daemon_cmd(unsigned int cmd, void *args);  - run command @cmd (>= 64) with the
 *       shared args area @args; return 0 or a negative errno, sent back to the host
 *   void parasite_daemon_fini(void);  - release what the commands acquired (the daemon stops)
 * Freestanding.
 */
#ifndef COMPEL_PLUGINS_STD_STD_H
#define COMPEL_PLUGINS_STD_STD_H

#include <stdint.h>

#include "compel/plugins/std/syscall.h"
#include "compel/plugins/std/string.h"

int parasite_daemon_cmd(unsigned int cmd, void *args);
void parasite_daemon_fini(void);

/* The daemon's end of the control socket. */
int std_ctl_sock(void);

/* The task's blocked signals before compel blocked them all. */
uint64_t std_orig_sigmask(void);

/*
 * Log to the host's log (through the control socket). Formats: %d %i %u %x %lx %ld %lu %llx
 * %lld %llu %s %p %c %%. Levels as enum compel_log_level (1 error .. 4 debug).
 */
void std_log(unsigned int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pie_err(fmt, ...)	std_log(1, fmt, ##__VA_ARGS__)
#define pie_warn(fmt, ...)	std_log(2, fmt, ##__VA_ARGS__)
#define pie_info(fmt, ...)	std_log(3, fmt, ##__VA_ARGS__)
#define pie_debug(fmt, ...)	std_log(4, fmt, ##__VA_ARGS__)

/* Pass @nr fds over the unix socket @sock (SCM_RIGHTS, up to 16 at a time). 0 or -errno. */
int std_send_fds(int sock, const int *fds, unsigned int nr);
int std_recv_fds(int sock, int *fds, unsigned int nr);

#endif
