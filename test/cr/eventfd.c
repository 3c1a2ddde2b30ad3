/*
 * eventfd: the counter (also one above 2^32), EFD_SEMAPHORE, O_NONBLOCK and a dup sharing the
 * counter survive.
 */
#include "zdtmtst.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>

#define DUP_FD	200

int main(int argc, char **argv)
{
	uint64_t v = 0, big = (1ULL << 40) + 5;
	int a, s, b;

	test_init(argc, argv);
	a = eventfd(0, EFD_NONBLOCK);
	s = eventfd(3, EFD_SEMAPHORE);
	b = eventfd(0, 0);
	if (a < 0 || s < 0 || b < 0)
		fail("eventfd: %m");
	if (write(a, &(uint64_t){ 12345 }, 8) != 8 || write(b, &big, 8) != 8)
		fail("write: %m");
	if (dup2(a, DUP_FD) != DUP_FD)
		fail("dup2: %m");

	test_ready();
	test_waitsig();

	if (!(fcntl(DUP_FD, F_GETFL) & O_NONBLOCK) || (fcntl(s, F_GETFL) & O_NONBLOCK))
		fail("O_NONBLOCK is not as it was");
	if (read(DUP_FD, &v, 8) != 8 || v != 12345)
		fail("counter of a: %llu, expected 12345", (unsigned long long)v);
	if (read(a, &v, 8) != -1 || errno != EAGAIN)
		fail("a and its dup do not share the counter (or a blocks)");
	if (read(b, &v, 8) != 8 || v != big)
		fail("counter of b: %llu, expected %llu", (unsigned long long)v,
		     (unsigned long long)big);
	for (int i = 0; i < 3; i++)
		if (read(s, &v, 8) != 8 || v != 1)
			fail("semaphore read %d gave %llu, expected 1", i, (unsigned long long)v);
	fcntl(s, F_SETFL, O_NONBLOCK);
	if (read(s, &v, 8) != -1 || errno != EAGAIN)
		fail("the semaphore should be at 0 after 3 reads");
	pass();
}
