/*
 * test_runtime_hb_order.c - any traffic after the broker's heartbeat proves
 * the client alive, however fast it comes (protocol.md "Heartbeats").
 *
 * Six clients answer every `version N` of the broker the moment they read
 * it, in one write, but never with N: two with `result 200 0 M`, one with
 * `value 3 M` + 3 bytes (M another opaque: unmatched, yet traffic), two
 * with a `version` request of their own, one with `stats`. On loopback the
 * answer is read within the millisecond the heartbeat left, which a
 * comparison of millisecond stamps (`last_read_ms > sent_ms`) called
 * silence: misses, and a close after max_missed_heartbeats of them. Judged
 * by the order of events, each answer proves life: after ROUNDS heartbeats
 * to each client, none is closed and heartbeats_missed is 0.
 *
 * idle_timeout_ms=20 (a new round soon after the last), heartbeat_timeout_ms
 * 500 (2000 under sanitizers): generous, so a loaded machine does not make
 * a late answer a miss.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define CLIENTS 6
#define ROUNDS 6

enum answer { ANS_RESULT, ANS_VALUE, ANS_VERSION, ANS_STATS };

static const enum answer how[CLIENTS] = {
	ANS_RESULT, ANS_RESULT, ANS_VALUE, ANS_VERSION, ANS_VERSION, ANS_STATS,
};

/* The answer to heartbeat op: one write, never carrying op. */
static int answer(int fd, enum answer a, int32_t op)
{
	int other = (int)(op + 1000000);

	switch (a) {
	case ANS_RESULT:
		return td_sendf(fd, "result 200 0 %d\r\n", other);
	case ANS_VALUE:
		return td_sendf(fd, "value 3 %d\r\nabc", other);
	case ANS_VERSION:
		return td_sendf(fd, "version %d\r\n", other);
	case ANS_STATS:
		return td_sendf(fd, "stats %d\r\n", other);
	}
	return -1;
}

int main(void)
{
	struct td_daemon d;
	char hb_timeout[64];
	const char *settings[] = { "idle_timeout_ms=20", hb_timeout, "max_missed_heartbeats=3",
	                           "session_timeout_ms=600000", "tick_ms=10", NULL };
	struct rt_reader r[CLIENTS];
	int beats[CLIENTS] = { 0 }, closed[CLIENTS] = { 0 }, bad = 0, replies = 0;

	snprintf(hb_timeout, sizeof(hb_timeout), "heartbeat_timeout_ms=%d",
	         rt_sanitized() ? 2000 : 500);
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	for (int i = 0; i < CLIENTS; i++) {
		int fd = td_connect(d.port);
		if (fd < 0)
			bail_out("cannot connect");
		rt_reader_init(&r[i], fd);
	}

	uint64_t deadline = td_now_ms() + 60000;
	for (;;) {
		int done = 1, any_closed = 0;
		struct pollfd p[CLIENTS];

		for (int i = 0; i < CLIENTS; i++) {
			done = done && beats[i] >= ROUNDS;
			any_closed = any_closed || closed[i];
			p[i] = (struct pollfd){ r[i].fd, closed[i] ? 0 : POLLIN, 0 };
		}
		if (done || any_closed || td_now_ms() >= deadline)
			break;
		if (poll(p, CLIENTS, 100) <= 0)
			continue;
		for (int i = 0; i < CLIENTS; i++) {
			struct pmq_msg m;

			if (!p[i].revents)
				continue;
			if (rt_reader_fill(&r[i], 1) == 0)
				closed[i] = 1;
			int rc;
			while ((rc = rt_reader_next(&r[i], &m)) == 1) {
				if (m.cmd == PMQ_CMD_VERSION) {
					beats[i]++;
					answer(r[i].fd, how[i], m.opaque);
				} else if (m.cmd == PMQ_CMD_RESULT && m.code == 200 &&
				           m.opaque >= 1000000) {
					replies++; /* the answer to a request of ours */
				} else {
					bad++;
				}
			}
			if (rc < 0)
				bad++;
		}
	}

	int nclosed = 0, fewest = ROUNDS;
	for (int i = 0; i < CLIENTS; i++) {
		nclosed += closed[i];
		if (beats[i] < fewest)
			fewest = beats[i];
	}
	is(nclosed, 0, "no client that answers at once is closed");
	ok(fewest >= ROUNDS, "each received %d heartbeats and answered them (fewest: %d)",
	   ROUNDS, fewest);
	is(bad, 0, "nothing else reached them");
	is(td_stat(d.port, "", "heartbeats_missed"), 0, "stats: heartbeats_missed 0");
	is(td_stat(d.port, "", "sessions_closed_heartbeat"), 0,
	   "stats: sessions_closed_heartbeat 0");
	ok(td_stat(d.port, "", "heartbeats_sent") >= CLIENTS * ROUNDS,
	   "stats: heartbeats_sent >= %d", CLIENTS * ROUNDS);
	/* Three clients answer with unmatched results/values; the other three
	 * send requests, which are no answer at all (the last round's replies may
	 * still be on their way). */
	ok(td_stat(d.port, "", "heartbeat_answers_unmatched") >= 3 * ROUNDS,
	   "stats: the unmatched answers were counted, not taken for the heartbeat's");
	is(td_stat(d.port, "", "heartbeats_answered"), 0, "stats: heartbeats_answered 0");
	ok(replies >= 3 * (ROUNDS - 1), "the clients' own requests were answered (%d)", replies);

	for (int i = 0; i < CLIENTS; i++) {
		close(r[i].fd);
		rt_reader_free(&r[i]);
	}
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
