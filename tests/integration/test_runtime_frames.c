/*
 * test_runtime_frames.c - unfinished input is bounded, in memory and time:
 *  - max_buffer_bytes: while one session holds a 600 KB partial put, a
 *    second session's growing put is answered `result 503 L 0` naming
 *    max_buffer_bytes and closed (buffer_budget); the first completes (200);
 *    its buffer is given back, and a third session's large put then fits;
 *  - frame_timeout_ms: a put whose body trickles in one byte every 100 ms is
 *    answered 400 naming frame_timeout_ms and closed (frame_timeout), not
 *    before the deadline; one that stops half way is closed too, by the
 *    idle check; a put completed in two parts within the deadline is served.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define BODY 1000000      /* the put's LEN */
#define PARTIAL 600000    /* bytes of it sent before waiting */
#define FRAME_MS 1000     /* frame_timeout_ms here */
#define TRICKLE_MAX 60    /* bytes at most, one each 100 ms: 6 s > FRAME_MS */

static char body[BODY];

/* The put line for LEN bytes with opaque op; returns its length. */
static int put_line(char *buf, size_t cap, int len, int op)
{
	return snprintf(buf, cap, "put frames 0 %d 0 %d\r\n", len, op);
}

/* The next result, skipping the broker's own heartbeats: 1 or -1. */
static int read_result(struct td_conn *c)
{
	for (int i = 0; i < 10; i++) {
		if (td_read_msg(c, RT_HANG_MS) != 1)
			return -1;
		if (c->msg.cmd == PMQ_CMD_RESULT)
			return 1;
	}
	return -1;
}

static void budget(void)
{
	const char *settings[] = { "max_buffer_bytes=1M", "io_threads=1", NULL };
	struct td_daemon d;
	struct td_conn a, b, c;
	char line[64];
	int n;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	memset(body, 'x', sizeof body);

	/* A: 600 KB of a 1 MB put; its buffer grows to 1 MiB (~1 MiB counted). */
	td_conn_init(&a, td_connect(d.port));
	n = put_line(line, sizeof line, BODY, 1);
	td_send(a.fd, line, (size_t)n);
	td_send(a.fd, body, PARTIAL);
	long long held = 0;
	uint64_t deadline = td_now_ms() + RT_HANG_MS;
	while ((held = td_stat(d.port, "", "input_buffer_bytes")) < PARTIAL &&
	       td_now_ms() < deadline)
		poll(NULL, 0, 5);
	ok(held >= PARTIAL, "the first partial put is buffered (input_buffer_bytes %lld)", held);

	/* B: the same; its buffer may not grow past the budget's rest. */
	td_conn_init(&b, td_connect(d.port));
	n = put_line(line, sizeof line, BODY, 2);
	td_send(b.fd, line, (size_t)n);
	td_send(b.fd, body, PARTIAL);
	ok(td_read_msg(&b, RT_HANG_MS) == 1 && b.msg.code == 503 && b.msg.opaque == 0 &&
	   rt_body_has(&b.msg, "max_buffer_bytes"),
	   "the second: result 503 L 0 naming max_buffer_bytes");
	if (b.msg.body.ptr)
		diag("its text: %.*s", (int)b.msg.body.len, b.msg.body.ptr);
	ok(td_wait_closed(b.fd, RT_HANG_MS) == 1, "... and closed");
	td_conn_free(&b);
	ok(rt_stat_wait(d.port, "", "sessions_closed_buffer_budget", 1, RT_HANG_MS) == 1,
	   "counted: sessions_closed_buffer_budget 1");

	/* A is not disturbed: it completes. */
	td_send(a.fd, body + PARTIAL, BODY - PARTIAL);
	ok(td_read_msg(&a, RT_HANG_MS) == 1 && a.msg.code == 200 && a.msg.opaque == 1,
	   "the first put completes: 200");
	ok(rt_stat_wait(d.port, "", "input_buffer_bytes", 0, RT_HANG_MS) == 0,
	   "its buffer is given back (input_buffer_bytes 0)");

	/* C: a whole 1 MB put fits now. */
	td_conn_init(&c, td_connect(d.port));
	n = put_line(line, sizeof line, BODY, 3);
	td_send(c.fd, line, (size_t)n);
	td_send(c.fd, body, BODY);
	ok(td_read_msg(&c, RT_HANG_MS) == 1 && c.msg.code == 200 && c.msg.opaque == 3,
	   "then a new session's 1 MB put is served");
	td_conn_free(&a);
	td_conn_free(&c);
	is(td_stop(&d, RT_HANG_MS), 0, "budget: exit 0");
	td_cleanup(&d);
}

static void frames(void)
{
	char frame_opt[32];
	snprintf(frame_opt, sizeof frame_opt, "frame_timeout_ms=%d", FRAME_MS);
	/* idle_timeout 2 s: the idle check that catches the silent one. */
	const char *settings[] = { frame_opt, "idle_timeout_ms=2000", "max_body_bytes=2000",
	                           NULL };
	struct td_daemon d;
	struct td_conn s, t, u, v;
	char line[64];
	int n, sent = 0, answered = 0;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");

	/* S: one body byte every 100 ms, never finishing in time. */
	td_conn_init(&s, td_connect(d.port));
	n = put_line(line, sizeof line, 1000, 10);
	uint64_t t0 = td_now_ms();
	td_send(s.fd, line, (size_t)n);
	while (sent < TRICKLE_MAX && !answered) {
		struct pollfd p = { .fd = s.fd, .events = POLLIN };
		if (poll(&p, 1, 100) == 1) { /* the attacker's pace, also the wait */
			answered = 1;
			break;
		}
		if (send(s.fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
	}
	uint64_t took = td_now_ms() - t0;
	ok(answered && td_read_msg(&s, RT_HANG_MS) == 1 && s.msg.code == 400 &&
	   rt_body_has(&s.msg, "frame_timeout_ms"),
	   "a trickled put: answered 400 naming frame_timeout_ms (after %d bytes)", sent);
	if (s.msg.body.ptr)
		diag("its text: %.*s", (int)s.msg.body.len, s.msg.body.ptr);
	ok(took >= FRAME_MS, "not before the deadline (%llu ms >= %d)", (unsigned long long)took,
	   FRAME_MS);
	ok(td_wait_closed(s.fd, RT_HANG_MS) == 1, "... and closed");
	td_conn_free(&s);

	/* T: half a body, then silence. */
	td_conn_init(&t, td_connect(d.port));
	n = put_line(line, sizeof line, 1000, 11);
	td_send(t.fd, line, (size_t)n);
	td_send(t.fd, body, 500);
	ok(read_result(&t) == 1 && t.msg.code == 400 &&
	   rt_body_has(&t.msg, "frame_timeout_ms") && td_wait_closed(t.fd, RT_HANG_MS) == 1,
	   "a put that stops half way: answered 400 and closed by the idle check");
	td_conn_free(&t);
	ok(rt_stat_wait(d.port, "", "sessions_closed_frame_timeout", 2, RT_HANG_MS) == 2,
	   "counted: sessions_closed_frame_timeout 2");

	/* V: a refused body (over max_body_bytes) is dropped unread, not
	 * buffered; trickled, it still meets the deadline. */
	td_conn_init(&v, td_connect(d.port));
	n = put_line(line, sizeof line, 5000, 13);
	td_send(v.fd, line, (size_t)n);
	ok(td_read_msg(&v, RT_HANG_MS) == 1 && v.msg.code == 400 && v.msg.opaque == 13 &&
	   rt_body_has(&v.msg, "max_body_bytes"), "an oversized put: 400 at once");
	sent = 0;
	answered = 0;
	t0 = td_now_ms();
	while (sent < TRICKLE_MAX && !answered) {
		struct pollfd p = { .fd = v.fd, .events = POLLIN };
		if (poll(&p, 1, 100) == 1) {
			answered = 1;
			break;
		}
		if (send(v.fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
	}
	took = td_now_ms() - t0;
	ok(answered && read_result(&v) == 1 && v.msg.code == 400 &&
	   rt_body_has(&v.msg, "frame_timeout_ms") && td_wait_closed(v.fd, RT_HANG_MS) == 1,
	   "its body trickled while dropped: 400 naming frame_timeout_ms, closed (after %d "
	   "bytes, %llu ms)", sent, (unsigned long long)took);
	td_conn_free(&v);

	/* U: two halves within the deadline: served. */
	td_conn_init(&u, td_connect(d.port));
	n = put_line(line, sizeof line, 1000, 12);
	td_send(u.fd, line, (size_t)n);
	td_send(u.fd, body, 500);
	td_send(u.fd, body, 500);
	ok(td_read_msg(&u, RT_HANG_MS) == 1 && u.msg.code == 200 && u.msg.opaque == 12,
	   "a put completed within the deadline is served");
	td_conn_free(&u);
	is(td_stop(&d, RT_HANG_MS), 0, "frames: exit 0");
	td_cleanup(&d);
}

int main(void)
{
	budget();
	frames();
	return done_testing();
}
