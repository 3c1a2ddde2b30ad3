/*
 * Zombies in a process group another task leads, that task created after them: the root forks
 * Z1, then A, which leads its own group, and Z1 joins it and exits 9; it forks Z2, then B,
 * whose child N leads its own group, and Z2 joins N's group and is killed by SIGUSR1. At dump
 * time both are zombies (nothing reaped), their leaders have higher pids than theirs.
 * After restore the root checks from the inside: waitpid(-A) reaps Z1 (the only one of its
 * children in A's group but A itself, which runs), waitpid(-N) reaps Z2, each with its
 * status, and A, B and N still run.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>


static void read_pid(int fd, pid_t *pid)
{
	if (read(fd, pid, sizeof(*pid)) != sizeof(*pid))
		_exit(70);
}

/* A zombie-to-be: joins the group whose leader's pid comes through @fd, then dies @how. */
static pid_t make_zombie(int fds[2], int how)
{
	pid_t pid, leader;

	if (pipe(fds))
		fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		fail("fork: %m");
	if (pid == 0) {
		close(fds[1]);
		read_pid(fds[0], &leader);
		if (setpgid(0, leader))
			_exit(71);
		if (how < 0) {
			signal(-how, SIG_DFL);
			raise(-how);
		}
		_exit(how);
	}
	close(fds[0]);
	return pid;
}

/* A task that leads its own group and runs until killed. */
static void leader(int ready)
{
	if (setpgid(0, 0) || write(ready, "l", 1) != 1)
		_exit(72);
	for (;;)
		pause();
}

/* Send the pid @lead of the zombie's leader to it (@zfd), once the leader said it leads. */
static void hand_leader(int ready, int zfd, pid_t lead)
{
	char c;

	if (read(ready, &c, 1) != 1)
		fail("the leader %d did not start", lead);
	if (write(zfd, &lead, sizeof(lead)) != sizeof(lead))
		fail("write: %m");
	close(zfd);
}

/* B: creates N, which leads its own group; says N's pid through @out once N leads. */
static void middle(int out)
{
	int q[2];
	pid_t c;
	char ch;

	if (pipe(q))
		_exit(73);
	c = fork();
	if (c < 0)
		_exit(73);
	if (c == 0)
		leader(q[1]);
	if (read(q[0], &ch, 1) != 1 || write(out, &c, sizeof(c)) != sizeof(c))
		_exit(74);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int z1fd[2], z2fd[2], r[2], q[2], got;
	pid_t z1, z2, a, b, n = 0;

	test_init(argc, argv);
	if (pipe(r))
		fail("pipe: %m");

	z1 = make_zombie(z1fd, 9);
	a = fork();
	if (a < 0)
		fail("fork: %m");
	if (a == 0)
		leader(r[1]);
	hand_leader(r[0], z1fd[1], a);

	z2 = make_zombie(z2fd, -SIGUSR1);
	if (pipe(q))
		fail("pipe: %m");
	b = fork();
	if (b < 0)
		fail("fork: %m");
	if (b == 0)
		middle(q[1]);
	if (read(q[0], &n, sizeof(n)) != sizeof(n))
		fail("B did not say who its child is");
	if (write(z2fd[1], &n, sizeof(n)) != sizeof(n))
		fail("write: %m");
	close(z2fd[1]);
	if (test_wait_zombie(z1) || test_wait_zombie(z2))
		fail("waitid: %m");
	if (getpgid(z1) != a || getpgid(z2) != n)
		fail("before the dump: the zombies are in groups %d and %d, not %d and %d",
		     getpgid(z1), getpgid(z2), a, n);
	test_msg("zombies %d (group of %d) and %d (group of %d, child of %d)", z1, a, z2, n, b);

	test_ready();
	test_waitsig();

	if (getpgid(z1) != a || getpgid(z2) != n)
		fail("the zombies are in groups %d and %d, not %d and %d", getpgid(z1),
		     getpgid(z2), a, n);
	if (waitpid(-a, &got, WNOHANG) != z1)
		fail("waitpid(-%d) did not reap zombie %d: %m", a, z1);
	if (got != 9 << 8)
		fail("zombie %d: wait status %#x, want %#x", z1, got, 9 << 8);
	if (waitpid(-n, &got, WNOHANG) != z2)
		fail("waitpid(-%d) did not reap zombie %d: %m", n, z2);
	if (got != SIGUSR1)
		fail("zombie %d: wait status %#x, want %#x", z2, got, SIGUSR1);
	if (kill(a, 0) || kill(b, 0) || kill(n, 0))
		fail("a leader or B is gone: %m");
	kill(n, SIGKILL);
	kill(b, SIGKILL);
	kill(a, SIGKILL);
	waitpid(a, &got, 0);
	waitpid(b, &got, 0);
	pass();
}
