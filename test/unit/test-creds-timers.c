/* Unit tests of the parsers of criu/res/creds.c and criu/res/timers.c: exit 0 pass, else fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res/res.h"

static int failures;

#define CHECK(cond)								\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;						\
		}								\
	} while (0)

static const char status[] =
	"Name:\tnginx\n"
	"Umask:\t0022\n"
	"State:\tS (sleeping)\n"
	"Uid:\t65534\t65534\t65534\t65534\n"
	"Gid:\t65534\t65533\t65532\t65531\n"
	"FDSize:\t64\n"
	"Groups:\t100 4242 65534 \n"
	"NStgid:\t42\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000400\n"
	"CapEff:\t0000000000000400\n"
	"CapBnd:\t000001fffeffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t1\n";

static void test_creds(void)
{
	struct dump_creds c;
	char *cut;

	memset(&c, 0, sizeof(c));
	CHECK(creds_parse_status(status, &c) == 0);
	CHECK(c.uid[0] == 65534 && c.uid[3] == 65534);
	CHECK(c.gid[0] == 65534 && c.gid[1] == 65533 && c.gid[2] == 65532 && c.gid[3] == 65531);
	CHECK(c.nr_groups == 3 && c.groups[0] == 100 && c.groups[1] == 4242 &&
	      c.groups[2] == 65534);
	CHECK(c.cap_prm == 0x400 && c.cap_eff == 0x400 && c.cap_inh == 0 && c.cap_amb == 0);
	CHECK(c.cap_bnd == 0x1fffeffffffULL);
	free(c.groups);

	/* No groups at all. */
	memset(&c, 0, sizeof(c));
	CHECK(creds_parse_status("Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\nCapInh:\t0\n"
				 "CapPrm:\t0\nCapEff:\t0\nCapBnd:\t0\nCapAmb:\t0\n", &c) == 0);
	CHECK(c.nr_groups == 0);
	free(c.groups);

	/* A missing line is an error. */
	cut = strdup(status);
	*strstr(cut, "CapAmb") = '\0';
	memset(&c, 0, sizeof(c));
	CHECK(creds_parse_status(cut, &c) == -ENODATA);
	free(c.groups);
	free(cut);
}

static void test_timers(void)
{
	struct dump_ctx dc;

	memset(&dc, 0, sizeof(dc));
	CHECK(timers_parse(&dc, "ID: 0\nsignal: 10/00000000005eed12\nnotify: signal/pid.123\n"
			   "ClockID: 1\nID: 7\nsignal: 12/0000000000000000\n"
			   "notify: signal/tid.124\nClockID: 0\nID: 9\nsignal: 0/0000000000000000\n"
			   "notify: none/pid.123\nClockID: 7\n") == 0);
	CHECK(dc.nr_ptimers == 3);
	if (dc.nr_ptimers == 3) {
		CHECK(dc.ptimers[0].id == 0 && dc.ptimers[0].signo == 10 &&
		      dc.ptimers[0].sival == 0x5eed12 && dc.ptimers[0].notify == 0 &&
		      dc.ptimers[0].clock_id == 1);
		CHECK(dc.ptimers[1].id == 7 && dc.ptimers[1].notify == 4 &&
		      dc.ptimers[1].notify_tid == 124 && dc.ptimers[1].clock_id == 0);
		CHECK(dc.ptimers[2].id == 9 && dc.ptimers[2].notify == 1 &&
		      dc.ptimers[2].clock_id == 7);
	}
	timers_release(&dc);

	CHECK(timers_parse(&dc, "") == 0 && dc.nr_ptimers == 0);
	CHECK(timers_parse(&dc, "signal: 10/0\n") == -EINVAL);	/* no ID line first */
	timers_release(&dc);
	CHECK(timers_parse(&dc, "ID: 1\nnotify: bogus/pid.1\n") == -EINVAL);
	timers_release(&dc);
}

int main(void)
{
	test_creds();
	test_timers();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	return failures ? 1 : 0;
}
