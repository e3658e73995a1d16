/* station_core: slot map, counters and the "already holds the image" decision of `dartdup station`. */
#include "check.h"
#include "host/station/core.h"

#define P1 "pci-0000:00:05.0-usb-0:1:1.0-scsi-0:0:0:0"
#define P2 "pci-0000:00:05.0-usb-0:2:1.0-scsi-0:0:0:0"
#define HUB3_1 "pci-0000:00:05.0-usb-0:3.1:1.0-scsi-0:0:0:0"
#define P10 "pci-0000:00:05.0-usb-0:10:1.0-scsi-0:0:0:0"

TEST(port_matching)
{
	CHECK(station_port_matches(P1, P1));
	CHECK(station_port_matches("/dev/disk/by-path/" P1, P1));
	CHECK(station_port_matches("pci-0000:00:05.0-usb-0:3", HUB3_1));   /* a hub on socket 3 */
	CHECK(station_port_matches("pci-0000:00:05.0-usb-0:1", P1));
	CHECK(!station_port_matches("pci-0000:00:05.0-usb-0:1", P10));    /* 1 is not 10 */
	CHECK(!station_port_matches(P1, P2));
	CHECK(!station_port_matches("", P1));
	CHECK(!station_port_matches(P1 "-part1", P1));
}

TEST(dynamic_slots_keep_their_number)
{
	struct station s;
	struct station_slot *a, *b;

	station_init(&s, NULL, 0, NULL);
	CHECK(!station_slot_for_port(&s, "", NULL));
	a = station_slot_for_port(&s, P2, NULL);
	b = station_slot_for_port(&s, P1, NULL);
	CHECK(a && b && a != b);
	CHECK_EQ_INT(a->number, 1);
	CHECK_EQ_INT(b->number, 2);
	CHECK(station_slot_for_port(&s, P2, NULL) == a); /* same socket, same slot, later in the session */
	CHECK_EQ_INT(s.n_slots, 2);
}

TEST(fixed_ports_only)
{
	const char *ports[] = { "/dev/disk/by-path/" P2, "pci-0000:00:05.0-usb-0:3" };
	struct station s;

	station_init(&s, ports, 2, NULL);
	CHECK_EQ_INT(s.n_slots, 2);
	CHECK(station_slot_for_port(&s, P2, NULL) == &s.slot[0]);
	CHECK(station_slot_for_port(&s, HUB3_1, NULL) == &s.slot[1]);
	CHECK(!station_slot_for_port(&s, P1, NULL)); /* not watched: never touched */
	CHECK_EQ_INT(s.n_slots, 2);
	CHECK(!strcmp(s.slot[0].port, P2));
}

TEST(slots_run_out)
{
	struct station s;
	char port[64];

	station_init(&s, NULL, 0, NULL);
	for (unsigned i = 0; i < STATION_MAX_SLOTS; i++) {
		snprintf(port, sizeof(port), "usb-0:%u", i + 1);
		CHECK(station_slot_for_port(&s, port, NULL));
	}
	CHECK(!station_slot_for_port(&s, "usb-0:999", NULL));
}

TEST(pass_then_pull_frees_the_slot)
{
	struct station s;
	struct station_slot *a;

	station_init(&s, NULL, 0, NULL);
	a = station_slot_for_port(&s, P1, NULL);
	CHECK(station_stick_arrived(&s, a, "/dev/sdb", "S1", "Stick", 1 << 30, 10));
	CHECK_EQ_INT(a->state, SLOT_BUSY);
	CHECK(!station_stick_arrived(&s, a, "/dev/sdc", "S2", "Stick", 1 << 30, 11)); /* busy */
	CHECK(station_slot_of_dev(&s, "/dev/sdb") == a);
	station_job_done(&s, a, OUT_PASS, "", 40);
	CHECK_EQ_INT(a->state, SLOT_DONE);
	CHECK_EQ_INT(s.c.passed, 1);
	CHECK(station_stick_left(&s, "/dev/sdb") == a);
	CHECK_EQ_INT(a->state, SLOT_EMPTY);
	CHECK_EQ_INT(a->outcome, OUT_PASS); /* the last result stays visible */
	CHECK(!station_stick_left(&s, "/dev/sdb"));
	CHECK(station_stick_arrived(&s, a, "/dev/sdc", "S2", "Stick", 1 << 30, 50));
	CHECK(!strcmp(a->serial, "S2"));
	CHECK_EQ_INT(a->outcome, OUT_NONE);
}

TEST(pulled_mid_write_fails_and_frees)
{
	struct station s;
	struct station_slot *a;

	station_init(&s, NULL, 0, NULL);
	a = station_slot_for_port(&s, P1, NULL);
	CHECK(station_stick_arrived(&s, a, "/dev/sdb", "S1", "Stick", 1 << 30, 10));
	CHECK(station_stick_left(&s, "/dev/sdb") == a);
	CHECK_EQ_INT(a->state, SLOT_BUSY); /* the job still has to wind down */
	CHECK(a->pulled);
	CHECK(!station_slot_of_dev(&s, "/dev/sdb")); /* the next stick may get the same name */
	/* whatever the engine concluded, a pulled stick is reported pulled, and failed */
	station_job_done(&s, a, OUT_FAIL, "/dev/sdb: write at 4194304: No such device", 12);
	CHECK_EQ_INT(a->outcome, OUT_PULLED);
	CHECK_EQ_INT(a->state, SLOT_EMPTY);
	CHECK_EQ_INT(s.c.failed, 1);
	CHECK_EQ_INT(s.c.passed, 0);
	CHECK(station_stick_arrived(&s, a, "/dev/sdc", "S2", "Stick", 1 << 30, 20));
}

TEST(ejected_stick_is_no_pull)
{
	struct station s;
	struct station_slot *a;

	station_init(&s, NULL, 0, NULL);
	a = station_slot_for_port(&s, P1, NULL);
	CHECK(station_stick_arrived(&s, a, "/dev/sdb", "S1", "Stick", 1 << 30, 10));
	station_eject_begin(&s, a);
	/* the disk leaves because we ejected it, before the job reported */
	CHECK(station_stick_left(&s, "/dev/sdb") == a);
	CHECK(!a->pulled);
	station_job_done(&s, a, OUT_ALREADY, "", 12);
	CHECK_EQ_INT(a->outcome, OUT_ALREADY);
	CHECK_EQ_INT(a->state, SLOT_DONE); /* keeps showing "safe to pull" */
	CHECK_EQ_INT(s.c.already, 1);
	CHECK_EQ_INT(s.c.failed, 0);
	CHECK(!station_slot_of_dev(&s, "/dev/sdb")); /* a new disk reusing the name is a new stick */
	/* ejected after the job reported: same */
	CHECK(station_stick_arrived(&s, a, "/dev/sdb", "S2", "Stick", 1 << 30, 20));
	station_eject_begin(&s, a);
	station_job_done(&s, a, OUT_PASS, "", 22);
	CHECK(station_stick_left(&s, "/dev/sdb") == a);
	CHECK_EQ_INT(a->state, SLOT_DONE);
	CHECK_EQ_INT(a->outcome, OUT_PASS);
	CHECK_EQ_INT(s.c.passed, 1);
}

TEST(counters_and_rate)
{
	struct station s;
	struct station_slot *a;
	enum station_outcome outs[] = { OUT_PASS, OUT_ALREADY, OUT_FAIL, OUT_COUNTERFEIT, OUT_REFUSED,
					OUT_PASS, OUT_INCOMPLETE };

	station_init(&s, NULL, 0, NULL);
	a = station_slot_for_port(&s, P1, NULL);
	for (unsigned i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
		CHECK(station_stick_arrived(&s, a, "/dev/sdb", "S", "M", 1 << 30, i));
		station_job_done(&s, a, outs[i], "", i + 0.5);
	}
	CHECK_EQ_INT(s.c.passed, 2);
	CHECK_EQ_INT(s.c.already, 1);
	CHECK_EQ_INT(s.c.failed, 2);
	CHECK_EQ_INT(s.c.refused, 1);
	CHECK_EQ_INT(s.c.incomplete, 1);
	CHECK_EQ_INT(a->sticks, 7);
	CHECK(station_per_hour(&s.c, 30) == 0);           /* too early to say */
	CHECK(station_per_hour(&s.c, 1800) == 10.0);      /* 5 finished in half an hour */
}

TEST(outcome_of_engine_result)
{
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_PASS, false, false, false), OUT_PASS);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_PASS, true, false, false), OUT_PULLED);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_FAIL, false, true, false), OUT_COUNTERFEIT);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_FAIL, false, false, false), OUT_FAIL);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_INCOMPLETE, false, false, true), OUT_INCOMPLETE);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_INCOMPLETE, false, false, false), OUT_FAIL);
	CHECK_EQ_INT(station_outcome_of(DD_RESULT_NONE, false, false, false), OUT_FAIL);
	CHECK(station_outcome_good(OUT_ALREADY));
	CHECK(!station_outcome_good(OUT_PULLED));
	CHECK(!strcmp(station_outcome_name(OUT_COUNTERFEIT), "counterfeit"));
}

/* The failure kind a finished stick reports: the outcome's own, else what the engine or the door found. */
TEST(outcome_kind)
{
	CHECK_EQ_INT(station_outcome_kind(OUT_PASS, DD_FAIL_NONE), DD_FAIL_NONE);
	CHECK_EQ_INT(station_outcome_kind(OUT_ALREADY, DD_FAIL_NONE), DD_FAIL_NONE);
	CHECK_EQ_INT(station_outcome_kind(OUT_COUNTERFEIT, DD_FAIL_COUNTERFEIT), DD_FAIL_COUNTERFEIT);
	CHECK_EQ_INT(station_outcome_kind(OUT_PULLED, DD_FAIL_IO), DD_FAIL_PULLED);
	CHECK_EQ_INT(station_outcome_kind(OUT_INCOMPLETE, DD_FAIL_NONE), DD_FAIL_INTERRUPTED);
	CHECK_EQ_INT(station_outcome_kind(OUT_REFUSED, DD_FAIL_TOO_SMALL), DD_FAIL_TOO_SMALL);
	CHECK_EQ_INT(station_outcome_kind(OUT_REFUSED, DD_FAIL_NONE), DD_FAIL_REFUSED);
	CHECK_EQ_INT(station_outcome_kind(OUT_FAIL, DD_FAIL_MISMATCH), DD_FAIL_MISMATCH);
	CHECK_EQ_INT(station_outcome_kind(OUT_FAIL, DD_FAIL_NONE), DD_FAIL_OTHER);
	CHECK(!strcmp(dd_fail_kind_name(DD_FAIL_TOO_SMALL), "too_small"));
	CHECK(dd_fail_kind_name(DD_FAIL_NONE) == NULL);
}

TEST(already_holds_decision)
{
	/* a blank or different stick is written straight away: no full read first */
	CHECK_EQ_INT(station_first_action(false, false, false), ACT_WRITE);
	/* same first block: verify it read-only, keep it only if every block verified */
	CHECK_EQ_INT(station_first_action(true, false, false), ACT_VERIFY);
	CHECK_EQ_INT(station_after_verify(DD_RESULT_PASS), ACT_KEEP);
	CHECK_EQ_INT(station_after_verify(DD_RESULT_FAIL), ACT_WRITE);
	CHECK_EQ_INT(station_after_verify(DD_RESULT_INCOMPLETE), ACT_WRITE);
	/* --rewrite and --probe always write */
	CHECK_EQ_INT(station_first_action(true, true, false), ACT_WRITE);
	CHECK_EQ_INT(station_first_action(true, false, true), ACT_WRITE);
}

int main(void)
{
	RUN(port_matching);
	RUN(dynamic_slots_keep_their_number);
	RUN(fixed_ports_only);
	RUN(slots_run_out);
	RUN(pass_then_pull_frees_the_slot);
	RUN(pulled_mid_write_fails_and_frees);
	RUN(ejected_stick_is_no_pull);
	RUN(counters_and_rate);
	RUN(outcome_of_engine_result);
	RUN(outcome_kind);
	RUN(already_holds_decision);
	return check_done();
}
