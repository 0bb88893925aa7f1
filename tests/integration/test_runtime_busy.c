/*
 * test_runtime_busy.c - overload is answered, never hidden:
 *  - a full get pool answers 503 "get pool busy" at once, with each
 *    request's own opaque, while `version` on another connection still
 *    answers promptly; the queued requests complete afterwards;
 *  - a request that waits in the queue past request_timeout_ms gets 504
 *    and is not executed.
 * Timing margins: 100 ms in the plain build, 1000 ms under sanitizers
 * (5-15x slower; see rt_sanitized()).
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define OVERFLOW 10

static void busy(void)
{
	struct td_daemon d;
	const char *settings[] = { "get_threads=1", "get_queue_size=4",
	                           "enable_debug_commands=yes", "io_threads=2", NULL };
	uint64_t margin = rt_sanitized() ? 1000 : 100;
	struct rt_reader a;
	struct td_conn b;
	struct pmq_msg m;
	char req[64];

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fa = td_connect(d.port);
	rt_reader_init(&a, fa);
	td_conn_init(&b, td_connect(d.port));

	/* Occupy the only get worker, and wait until it took the task. The
	 * sleep must outlast the checks below on a loaded 2-core machine
	 * (500 ms did not, once, with the suite running in parallel). */
	td_sendf(fa, "debug sleep get 2000 1\r\n");
	ok(rt_stat_wait(d.port, "pools", "get_queued", 0, RT_HANG_MS) == 0 &&
	   rt_stat_wait(d.port, "pools", "get_submitted", 1, RT_HANG_MS) == 1,
	   "the get worker is busy with a 2000 ms sleep");
	/* Fill the queue: 4 more. */
	for (int i = 2; i <= 5; i++)
		td_sendf(fa, "debug sleep get 10 %d\r\n", i);
	ok(rt_stat_wait(d.port, "pools", "get_queued", 4, RT_HANG_MS) == 4, "the queue holds 4");

	/* The next get-pool requests are answered 503 at once. */
	int fast = 0, right = 0;
	uint64_t worst = 0;
	for (int i = 0; i < OVERFLOW; i++) {
		int32_t op = 100 + i;
		int n = snprintf(req, sizeof(req), "debug sleep get 1 %d\r\n", (int)op);
		uint64_t t0 = td_now_ms();
		td_send(fa, req, (size_t)n);
		if (rt_reader_wait(&a, &m, RT_HANG_MS) != 1)
			break;
		uint64_t dt = td_now_ms() - t0;
		worst = dt > worst ? dt : worst;
		fast += dt < margin;
		right += m.code == 503 && m.opaque == op && rt_body_has(&m, "get pool busy: 4 queued");
	}
	is(right, OVERFLOW, "overflow requests: 503 'get pool busy: 4 queued' with their own opaques");
	is(fast, OVERFLOW, "each 503 within %llu ms (worst %llu ms)",
	   (unsigned long long)margin, (unsigned long long)worst);

	/* The heartbeat pool is not behind get work. */
	uint64_t t0 = td_now_ms();
	ok(td_roundtrip(&b, "version 9\r\n", 11, RT_HANG_MS) == 1 &&
	   b.msg.code == 200 && b.msg.opaque == 9, "version answers while the get pool is full");
	uint64_t vdt = td_now_ms() - t0;
	ok(vdt < margin, "... within %llu ms (took %llu ms)", (unsigned long long)margin,
	   (unsigned long long)vdt);

	/* Then the sleep ends and the queued ones run. */
	int done[6] = { 0 };
	for (int i = 0; i < 5; i++) {
		if (rt_reader_wait(&a, &m, RT_HANG_MS) != 1)
			break;
		if (m.code == 200 && m.opaque >= 1 && m.opaque <= 5 && m.body.len == 0)
			done[m.opaque]++;
	}
	ok(done[1] == 1 && done[2] == 1 && done[3] == 1 && done[4] == 1 && done[5] == 1,
	   "the sleeping and the 4 queued requests complete with 200");
	ok(td_stat(d.port, "pools", "get_rejected_busy") == OVERFLOW, "get_rejected_busy counted");
	ok(rt_stat_wait(d.port, "pools", "get_completed", 5, RT_HANG_MS) == 5, "get_completed counted");

	rt_reader_free(&a);
	close(fa);
	td_conn_free(&b);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

static void deadline(void)
{
	struct td_daemon d;
	/* The first sleep must be taken before its own deadline: on a loaded
	 * 2-core machine under TSan a worker can wait 100 ms for a CPU (it
	 * did), so the deadline is 1 s and the sleep ahead of the second
	 * request 3 s. */
	const char *settings[] = { "get_threads=1", "request_timeout_ms=1000",
	                           "enable_debug_commands=yes", NULL };
	struct rt_reader a;
	struct pmq_msg m;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fa = td_connect(d.port);
	rt_reader_init(&a, fa);
	td_sendf(fa, "debug sleep get 3000 1\r\n"); /* outlasts the stats round trips under load */
	ok(rt_stat_wait(d.port, "pools", "get_queued", 0, RT_HANG_MS) == 0 &&
	   rt_stat_wait(d.port, "pools", "get_submitted", 1, RT_HANG_MS) == 1,
	   "the get worker sleeps 3000 ms");
	td_sendf(fa, "debug sleep get 1000 2\r\n");
	int got504 = 0, got200 = 0;
	for (int i = 0; i < 2; i++) {
		if (rt_reader_wait(&a, &m, RT_HANG_MS) != 1)
			break;
		diag("answer: opaque %d, code %d", (int)m.opaque, (int)m.code);
		if (m.opaque == 2 && m.code == 504 && rt_body_has(&m, "request_timeout_ms 1000"))
			got504++;
		if (m.opaque == 1 && m.code == 200)
			got200++;
	}
	ok(got200 == 1, "the sleep answers 200");
	ok(got504 == 1, "the request queued behind it past request_timeout_ms gets 504");
	ok(td_stat(d.port, "pools", "get_expired") == 1, "get_expired counted");
	ok(rt_stat_wait(d.port, "pools", "get_completed", 1, RT_HANG_MS) == 1 &&
	   td_stat(d.port, "pools", "get_completed") == 1, "the expired one was not run");
	rt_reader_free(&a);
	close(fa);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

int main(void)
{
	busy();
	deadline();
	return done_testing();
}
