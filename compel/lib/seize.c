/* Seize and release tasks; wait for the traps of the code we run in them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* The state letter of /proc/PID/stat, or -errno. */
static int task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2])
		return -EIO;
	return p[2];
}

static bool is_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* After PTRACE_INTERRUPT: wait for the stop and tell what the task was doing. */
static int wait_seized(pid_t tid, enum compel_task_state *ret_state)
{
	int status, sig, i;

	for (i = 0; i < 64; i++) {
		if (waitpid(tid, &status, __WALL) < 0)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			*ret_state = is_stop_sig(sig) ? COMPEL_TASK_STOPPED : COMPEL_TASK_ALIVE;
			return 0;
		}
		/* A signal was on its way: deliver it as it would have been, then stop. */
		cl_debug("task %d: passing signal %d on while seizing", tid, sig);
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig))
			return -errno;
	}
	return -EAGAIN;
}

COMPEL_API int compel_seize_catch(pid_t tid, enum compel_task_state *ret_state)
{
	int st, ret;

	st = task_state(tid);
	if (st < 0)
		return st;
	if (st == 'Z' || st == 'X') {
		*ret_state = st == 'Z' ? COMPEL_TASK_ZOMBIE : COMPEL_TASK_DEAD;
		return 0;
	}
	/*
	 * TRACESYSGOOD: a syscall stop reports SIGTRAP|0x80, which the kernel cannot send as a
	 * signal should we die while the task sits in one (a plain SIGTRAP would kill it).
	 */
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD)) {
		ret = -errno;
		st = task_state(tid);
		if (st == 'Z' || st == 'X') {
			*ret_state = st == 'Z' ? COMPEL_TASK_ZOMBIE : COMPEL_TASK_DEAD;
			return 0;
		}
		return st == -ESRCH ? -ESRCH : ret;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL)) {
		ret = -errno;
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return ret;
	}
	*ret_state = COMPEL_TASK_ALIVE;
	return 0;
}

COMPEL_API int compel_seize_wait(pid_t tid, enum compel_task_state *ret_state)
{
	enum compel_task_state state = COMPEL_TASK_ALIVE;
	int ret;

	ret = wait_seized(tid, &state);
	if (ret) {
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return ret;
	}
	cl_debug("seized %d (%s)", tid, state == COMPEL_TASK_STOPPED ? "stopped" : "alive");
	*ret_state = state;
	return 0;
}

COMPEL_API int compel_seize(pid_t tid, enum compel_task_state *ret_state)
{
	enum compel_task_state state;
	int ret;

	ret = compel_seize_catch(tid, &state);
	if (ret || state != COMPEL_TASK_ALIVE) {
		if (!ret)
			*ret_state = state;
		return ret;
	}
	return compel_seize_wait(tid, ret_state);
}

/*
 * A task whose group was stopped re-enters the group stop on detach by itself (the kernel keeps
 * SIGNAL_STOP_STOPPED until a SIGCONT), so a plain detach releases both kinds.
 */
COMPEL_API int compel_release(pid_t tid, enum compel_task_state state)
{
	if (state == COMPEL_TASK_ZOMBIE || state == COMPEL_TASK_DEAD)
		return 0;
	if (ptrace(PTRACE_DETACH, tid, NULL, NULL))
		return -errno;
	return 0;
}

int compel_wait_stop(pid_t pid, bool nohang, int resume, bool want_event)
{
	int status, sig, ret;

	for (;;) {
		ret = waitpid(pid, &status, __WALL | (nohang ? WNOHANG : 0));
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -EAGAIN;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		sig = WSTOPSIG(status);
		if (sig == (SIGTRAP | 0x80))
			return COMPEL_STOP_SYSCALL;
		if ((status >> 16) == PTRACE_EVENT_STOP) {
			if (want_event)
				return COMPEL_STOP_EVENT;
			/* group stop while our code runs: run on (detach re-enters it) */
			if (ptrace(resume, pid, NULL, NULL))
				return -errno;
			continue;
		}
		if ((status >> 16) == 0 && sig == SIGTRAP)
			return COMPEL_STOP_TRAP;
		if ((status >> 16) == 0 && is_stop_sig(sig)) {
			if (ptrace(resume, pid, NULL, (void *)(long)sig))
				return -errno;
			continue;
		}
		cl_err("task %d: unexpected signal %d while running compel's code", pid, sig);
		return COMPEL_STOP_SIGNAL;
	}
}
