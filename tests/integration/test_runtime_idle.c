/*
 * test_runtime_idle.c - the broker's heartbeats (protocol.md "Heartbeats").
 *
 * idle_timeout_ms=200 heartbeat_timeout_ms=100 max_missed_heartbeats=3
 * tick_ms=10:
 *  - a client that answers the broker's `version N` (alternately with
 *    `result 200` and, as the MetaQ Java client does, `result 503 95 N` +
 *    95 bytes) stays connected for 3 s, and its next request decodes intact;
 *  - a silent client is closed after idle + 3 x timeout = 500 ms, plus one
 *    tick; measured from the client side (connect to EOF) the window is
 *    [480, 500 + 10 + margin] ms, margin 150 ms plain, 1500 ms under
 *    sanitizers;
 *  - the stats counters agree;
 *  - with session_timeout_ms=300 (and heartbeats far off) a session that
 *    sends nothing is closed after 300 ms, counted as idle;
 *  - the session gauges: a heartbeat awaiting its answer shows in
 *    sessions_heartbeat_outstanding until answered, and sessions_open
 *    follows connects and closes.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define STAY_MS 3000
#define EXPECT_CLOSE_MS (200 + 3 * 100)

static const char metaq_503[] =
	"No processor for command `version` is registered in this client; "
	"the request was not handled!!!";

/* Read silence for session_timeout_ms closes a session whatever else. */
static void read_silence(void)
{
	struct td_daemon d;
	const char *settings[] = { "idle_timeout_ms=60000", "session_timeout_ms=300",
	                           "tick_ms=10", NULL };
	uint64_t margin = rt_sanitized() ? 1500 : 150;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	uint64_t t0 = td_now_ms();
	int fd = td_connect(d.port);
	ok(td_wait_closed(fd, RT_HANG_MS) == 1, "a session that sends nothing is closed");
	uint64_t lived = td_now_ms() - t0;
	ok(lived >= 290 && lived <= 300 + 10 + margin,
	   "... after session_timeout_ms: %llu ms (window [290, %llu])",
	   (unsigned long long)lived, (unsigned long long)(310 + margin));
	ok(td_stat(d.port, "", "sessions_closed_idle") == 1, "stats: 1 closed as idle");
	ok(td_stat(d.port, "", "heartbeats_sent") == 0, "no heartbeat was sent");
	close(fd);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

/* The gauges behind pulsemq_sessions{state} and _heartbeat_outstanding. */
static void session_gauges(void)
{
	struct td_daemon d;
	/* 1 s idle: after x answers, the next heartbeat is a second away,
	 * long enough to see the gauge at 0 even on a loaded machine. */
	const char *settings[] = { "idle_timeout_ms=1000", "heartbeat_timeout_ms=60000",
	                           "tick_ms=10", NULL };
	struct td_conn x;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&x, td_connect(d.port));
	/* The stats connection counts itself: one open beside x. */
	is(rt_stat_wait(d.port, "", "sessions_open", 2, RT_HANG_MS), 2,
	   "sessions_open: x and the stats connection");
	ok(td_read_msg(&x, RT_HANG_MS) == 1 && x.msg.cmd == PMQ_CMD_VERSION,
	   "x, silent, receives the broker's heartbeat");
	int32_t op = x.msg.opaque;
	is(rt_stat_wait(d.port, "", "sessions_heartbeat_outstanding", 1, RT_HANG_MS), 1,
	   "sessions_heartbeat_outstanding: 1 while x has not answered");
	td_sendf(x.fd, "result 200 0 %d\r\n", (int)op);
	is(rt_stat_wait(d.port, "", "sessions_heartbeat_outstanding", 0, RT_HANG_MS), 0,
	   "... 0 once x answered");
	td_conn_free(&x);
	is(rt_stat_wait(d.port, "", "sessions_open", 1, RT_HANG_MS), 1,
	   "sessions_open: x closed, only the stats connection");
	/* The stats connections of the polls above close as the test goes:
	 * one may be draining (its EOF read, not yet reaped) at any look. */
	is(rt_stat_wait(d.port, "", "sessions_draining", 0, RT_HANG_MS), 0,
	   "sessions_draining: 0 once the stats connections are gone");
	is(td_stat(d.port, "", "sessions_throttled"), 0, "sessions_throttled: 0");
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "idle_timeout_ms=200", "heartbeat_timeout_ms=100",
	                           "max_missed_heartbeats=3", "tick_ms=10", NULL };
	uint64_t margin = rt_sanitized() ? 1500 : 150;
	struct rt_reader a, b;
	struct pmq_msg m;

	if (sizeof(metaq_503) - 1 != 95)
		bail_out("the MetaQ-like answer must be 95 bytes, is %zu", sizeof(metaq_503) - 1);
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fa = td_connect(d.port);
	uint64_t t_b = td_now_ms();
	int fb = td_connect(d.port);
	rt_reader_init(&a, fa);
	rt_reader_init(&b, fb);

	uint64_t start = td_now_ms(), b_closed_at = 0;
	int a_beats = 0, b_beats = 0, a_closed = 0, a_bad = 0;
	while (td_now_ms() - start < STAY_MS) {
		struct pollfd p[2] = { { fa, POLLIN, 0 }, { fb, b_closed_at ? 0 : POLLIN, 0 } };
		int left = (int)(STAY_MS - (td_now_ms() - start));
		if (poll(p, 2, left > 0 ? left : 0) <= 0)
			continue;
		if (p[0].revents) {
			if (rt_reader_fill(&a, 1) == 0)
				a_closed = 1;
			while (rt_reader_next(&a, &m) == 1) {
				if (m.cmd != PMQ_CMD_VERSION) {
					a_bad++;
					continue;
				}
				if (a_beats++ % 2 == 0)
					td_sendf(fa, "result 200 13 %d\r\npulsemq 0.0.0", (int)m.opaque);
				else
					td_sendf(fa, "result 503 95 %d\r\n%s", (int)m.opaque, metaq_503);
			}
			if (a_closed)
				break;
		}
		if (p[1].revents && !b_closed_at) {
			if (rt_reader_fill(&b, 1) == 0)
				b_closed_at = td_now_ms();
			while (rt_reader_next(&b, &m) == 1)
				b_beats += m.cmd == PMQ_CMD_VERSION;
		}
	}
	ok(!a_closed, "the answering client is still connected after %d ms", STAY_MS);
	ok(a_beats >= STAY_MS / 400, "it received heartbeats (%d)", a_beats);
	is(a_bad, 0, "nothing but heartbeats reached it");
	/* Its next request decodes intact: nothing of the 503 body stuck. */
	td_sendf(fa, "version 4242\r\n");
	int rc;
	while ((rc = rt_reader_wait(&a, &m, RT_HANG_MS)) == 1 && m.cmd == PMQ_CMD_VERSION)
		td_sendf(fa, "result 200 0 %d\r\n", (int)m.opaque), a_beats++;
	ok(rc == 1 && m.cmd == PMQ_CMD_RESULT && m.code == 200 && m.opaque == 4242 &&
	   rt_body_has(&m, "pulsemq "), "its next request is answered intact");
	td_sendf(fa, "result 200 0 999999\r\nvalue 3 -5\r\nabcversion 4243\r\n");
	while ((rc = rt_reader_wait(&a, &m, RT_HANG_MS)) == 1 && m.cmd == PMQ_CMD_VERSION)
		td_sendf(fa, "result 200 0 %d\r\n", (int)m.opaque), a_beats++;
	ok(rc == 1 && m.opaque == 4243, "unmatched result/value are swallowed, not answered");

	ok(b_closed_at != 0, "the silent client was closed");
	uint64_t lived = b_closed_at - t_b;
	ok(lived >= EXPECT_CLOSE_MS - 20 && lived <= EXPECT_CLOSE_MS + 10 + margin,
	   "... after %llu ms (window [%d, %llu])", (unsigned long long)lived,
	   EXPECT_CLOSE_MS - 20, (unsigned long long)(EXPECT_CLOSE_MS + 10 + margin));
	is(b_beats, 3, "it was sent 3 heartbeats before");

	ok(td_stat(d.port, "", "sessions_closed_heartbeat") == 1, "stats: 1 closed by heartbeat");
	/* B missed exactly 3. An answer of A's that arrives after its
	 * heartbeat's deadline (a loaded machine, a sanitizer build) counts a
	 * miss, and then matches the run late or not at all: so A's answers
	 * are split between answered and unmatched, and misses may exceed 3. */
	long long missed = td_stat(d.port, "", "heartbeats_missed");
	ok(missed >= 3, "stats: heartbeats_missed %lld >= 3 (B's)", missed);
	long long sent = td_stat(d.port, "", "heartbeats_sent");
	long long answered = td_stat(d.port, "", "heartbeats_answered");
	long long unmatched = td_stat(d.port, "", "heartbeat_answers_unmatched");
	ok(sent == a_beats + b_beats, "stats: heartbeats_sent %lld = %d received", sent,
	   a_beats + b_beats);
	ok(answered + unmatched == a_beats + 2,
	   "stats: answered %lld + unmatched %lld = %d answers + 2 strays", answered,
	   unmatched, a_beats);
	ok(answered >= a_beats - (missed - 3), "stats: only late answers went unmatched");
	ok(td_stat(d.port, "", "cmd_result") == a_beats + 1, "stats: cmd_result counted");

	rt_reader_free(&a);
	rt_reader_free(&b);
	close(fa);
	close(fb);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	read_silence();
	session_gauges();
	return done_testing();
}
