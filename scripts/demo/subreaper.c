/*
 * subreaper COMMAND [ARGS...]: runs COMMAND as a child subreaper, so that orphans of its tree
 * (such as a task restored with criu restore -d) become our children and are reaped at once,
 * freeing their PIDs. Exits with COMMAND's exit status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 20000000 };
	int status, ret = 1, i;
	pid_t child, pid;

	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("prctl(PR_SET_CHILD_SUBREAPER)");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		/*
		 * The workload starts with a clean fd table: whatever the caller's shell or CI
		 * harness leaked (pipes, sockets) is not the demo's to checkpoint.
		 */
		close_range(3, ~0U, 0);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == child) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
	}
	/* Reap what is left for a moment; whatever still runs then is not ours to wait for. */
	for (i = 0; i < 100; i++) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0)
			break;
		if (pid == 0)
			nanosleep(&ts, NULL);
	}
	return ret;
}
