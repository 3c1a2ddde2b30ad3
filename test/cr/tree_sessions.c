/*
 * Sessions and process groups of a three-level tree survive. The root has two children:
 * A leads a session of its own (setsid) and has a child A1 in it; B leads a process group of
 * its own (setpgid) in the root's session and has a child B1 in that group. Each task records
 * its pid, ppid, pgid and sid; after restore each checks them from the inside, A1 and B1 also
 * check that their group and session leaders are their parents, and the result travels up
 * through exit codes.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static void get_ids(struct ids *i)
{
	i->pid = getpid();
	i->ppid = getppid();
	i->pgid = getpgid(0);
	i->sid = getsid(0);
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 10;
	if (!WIFEXITED(status))
		return 11;
	return WEXITSTATUS(status);
}

enum role { ROLE_A, ROLE_A1, ROLE_B, ROLE_B1 };

/*
 * The life of a task below the root: set up its role, fork its child (A, B), report ready,
 * wait for SIGTERM, check. Exit code: 0 fine, 2 ids changed, 3 setup, 4 leader wrong, 20+N
 * its child failed with N.
 */
static void run_task(enum role role, int ready_fd)
{
	struct ids was, now;
	pid_t kid;
	int ret = 0;

again:
	kid = -1;
	if (role == ROLE_A && setsid() < 0)
		_exit(3);
	if (role == ROLE_B && setpgid(0, 0) < 0)
		_exit(3);
	if (role == ROLE_A || role == ROLE_B) {
		kid = fork();
		if (kid < 0)
			_exit(3);
		if (kid == 0) {
			role = role == ROLE_A ? ROLE_A1 : ROLE_B1;
			goto again;
		}
	}
	get_ids(&was);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	close(ready_fd);

	test_waitsig();
	get_ids(&now);
	if (memcmp(&now, &was, sizeof(now)))
		ret = 2;
	if (!ret && role == ROLE_A && (now.sid != now.pid || now.pgid != now.pid))
		ret = 4;
	if (!ret && role == ROLE_A1 && (now.sid != now.ppid || now.pgid != now.ppid))
		ret = 4;
	if (!ret && role == ROLE_B && (now.pgid != now.pid || now.sid == now.pid))
		ret = 4;
	if (!ret && role == ROLE_B1 && now.pgid != now.ppid)
		ret = 4;
	if (kid > 0) {
		int kr;

		kill(kid, SIGTERM);
		kr = wait_child(kid);
		if (!ret && kr)
			ret = 20 + kr;
	}
	_exit(ret);
}

int main(int argc, char **argv)
{
	struct ids was, now;
	pid_t kids[2];
	int pfd[2], i, ret;
	char c;

	test_init(argc, argv);
	if (pipe(pfd))
		fail("pipe: %m");
	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			fail("fork: %m");
		if (kids[i] == 0) {
			close(pfd[0]);
			run_task(i == 0 ? ROLE_A : ROLE_B, pfd[1]);
		}
	}
	close(pfd[1]);
	for (i = 0; i < 4; i++)
		if (read(pfd[0], &c, 1) != 1)
			fail("a task of the tree did not start");
	close(pfd[0]);
	get_ids(&was);
	if (getsid(kids[1]) != was.sid)
		fail("B is not in the root's session before the dump");

	test_ready();
	test_waitsig();

	get_ids(&now);
	if (memcmp(&now, &was, sizeof(now)))
		fail("the root's pid, ppid, group or session changed");
	if (getsid(kids[0]) != kids[0] || getpgid(kids[0]) != kids[0])
		fail("A does not lead its own session after restore");
	if (getpgid(kids[1]) != kids[1] || getsid(kids[1]) != was.sid)
		fail("B does not lead its own group in the root's session after restore");
	for (i = 0; i < 2; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < 2; i++) {
		ret = wait_child(kids[i]);
		if (ret)
			fail("child %c (pid %d) failed its check with code %d (2 ids, 4 leader, "
			     "2x its own child)", 'A' + i, kids[i], ret);
	}
	pass();
}
