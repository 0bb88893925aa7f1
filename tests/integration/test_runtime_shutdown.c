/*
 * test_runtime_shutdown.c - SIGTERM with requests in flight: the daemon
 * finishes what its pools hold, delivers every answer to the open
 * sessions, closes them and exits 0. Requests whose bytes reached the
 * daemon but were not read yet when the stop came are answered too (the
 * result or 503 "shutting down"), never dropped with the unread input.
 */
#include <config.h>

#include <signal.h>

#include "tests/integration/rt_util.h"

/* Reads until EOF; counts answers by opaque (0..63). */
static int read_to_eof(int fd, int *by_op, int *codes_ok)
{
	struct rt_reader r;
	struct pmq_msg m;
	int n = 0, rc;

	rt_reader_init(&r, fd);
	while ((rc = rt_reader_wait(&r, &m, RT_HANG_MS)) == 1) {
		n++;
		if (m.opaque >= 0 && m.opaque < 64)
			by_op[m.opaque]++;
		if (m.code != 200)
			*codes_ok = 0;
	}
	rt_reader_free(&r);
	return rc == 0 ? n : -1;
}

#define PIPELINED 64

/* The IO thread (0 or 1) of c's session, from `stats sessions` on c: the
 * one whose count went up when c came. -1 when it cannot be told. */
static int io_of(struct td_conn *c, int before[2])
{
	int now[2] = { -1, -1 };

	if (td_roundtrip(c, "stats sessions 90\r\n", 19, RT_HANG_MS) != 1 || c->msg.code != 200)
		return -1;
	for (int i = 0; i < 2; i++) {
		char key[32];
		snprintf(key, sizeof(key), "\r\nio%d_sessions ", i);
		const char *p = memmem(c->msg.body.ptr, c->msg.body.len, key, strlen(key));
		now[i] = p ? atoi(p + strlen(key)) : -1;
	}
	int which = now[0] > before[0] ? 0 : now[1] > before[1] ? 1 : -1;
	before[0] = now[0];
	before[1] = now[1];
	return which;
}

static long long stat_on(struct td_conn *c, const char *key)
{
	char k[64];

	if (td_roundtrip(c, "stats 91\r\n", 10, RT_HANG_MS) != 1 || c->msg.code != 200)
		return -1;
	snprintf(k, sizeof(k), "\r\n%s ", key);
	const char *p = memmem(c->msg.body.ptr, c->msg.body.len, k, strlen(k));
	return p ? atoll(p + strlen(k)) : -1;
}

/* A's IO thread stops (`debug sleep io`) before it reads A's pipelined
 * puts; SIGTERM comes meanwhile, so the stop reaches that thread with the
 * puts still unread in the socket. Each must still get its answer. */
static void unread_at_stop(void)
{
	struct td_daemon d;
	const char *settings[] = { "io_threads=2", "put_threads=1", "enable_debug_commands=yes",
	                           NULL };
	struct td_conn a, b;
	int seen[2] = { 0, 0 }, extra[16], nextra = 0;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&a, td_connect(d.port));
	int ia = io_of(&a, seen);
	/* B must be on the other IO thread: it watches while A's is stopped. */
	td_conn_init(&b, td_connect(d.port));
	int ib = io_of(&b, seen);
	while (ia >= 0 && ib == ia && nextra < 16) {
		extra[nextra++] = b.fd; /* keep it: closing would move the counts */
		b.fd = td_connect(d.port);
		b.len = 0;
		ib = io_of(&b, seen);
	}
	if (!ok(ia >= 0 && ib >= 0 && ia != ib, "A on IO thread %d, B on %d", ia, ib)) {
		td_conn_free(&a);
		td_conn_free(&b);
		td_stop(&d, RT_HANG_MS);
		td_cleanup(&d);
		return;
	}
	long long debug0 = stat_on(&b, "cmd_debug");
	td_sendf(a.fd, "debug sleep io 3000 1\r\n");
	uint64_t deadline = td_now_ms() + RT_HANG_MS;
	while (stat_on(&b, "cmd_debug") <= debug0 && td_now_ms() < deadline)
		;
	/* A's thread sleeps now: these stay unread in the socket. */
	char req[PIPELINED * 32];
	size_t len = 0;
	for (int i = 0; i < PIPELINED; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, "put t 0 1 0 %d\r\nx", 100 + i);
	ok(td_send(a.fd, req, len) == 0, "A: %d puts sent while its IO thread sleeps", PIPELINED);
	is(td_stop(&d, 30000), 0, "SIGTERM: exit 0");

	struct rt_reader r;
	struct pmq_msg m;
	int by_op[PIPELINED] = { 0 }, answered = 0, other = 0, rc;
	rt_reader_init(&r, a.fd);
	while ((rc = rt_reader_wait(&r, &m, RT_HANG_MS)) == 1) {
		if (m.opaque >= 100 && m.opaque < 100 + PIPELINED &&
		    (m.code == 200 || (m.code == 503 && rt_body_has(&m, "shutting down"))))
			answered += by_op[m.opaque - 100]++ == 0;
		else if (m.opaque != 1)
			other++;
	}
	rt_reader_free(&r);
	is(answered, PIPELINED, "every put that reached the daemon got one answer (200 or "
	   "503 shutting down)");
	ok(rc == 0 && other == 0, "then the close, nothing else");
	for (int i = 0; i < nextra; i++)
		close(extra[i]);
	td_conn_free(&a);
	td_conn_free(&b);
	td_cleanup(&d);
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "get_threads=1", "heartbeat_threads=1",
	                           "enable_debug_commands=yes", NULL };
	struct td_conn a;
	int fb;

	(void)SIGTERM;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&a, td_connect(d.port));
	fb = td_connect(d.port);

	/* A: a long get-pool task and two queued behind it; the version
	 * answer proves the broker has read everything before it. The sleep
	 * must outlast the checks up to SIGTERM on a loaded machine under
	 * TSan (400 ms did not, once). */
	td_sendf(a.fd, "debug sleep get 1500 1\r\ndebug sleep get 50 2\r\n"
	               "debug sleep get 50 3\r\n");
	ok(td_roundtrip(&a, "version 4\r\n", 11, RT_HANG_MS) == 1 && a.msg.opaque == 4,
	   "A: three get-pool requests in flight");
	/* B: one queued behind A's sleep, one sleeping on the put pool;
	 * again the version answer proves both were read. */
	struct td_conn b;
	td_conn_init(&b, fb);
	td_sendf(fb, "debug sleep get 10 10\r\ndebug sleep put 300 11\r\n");
	ok(td_roundtrip(&b, "version 12\r\n", 12, RT_HANG_MS) == 1 && b.msg.opaque == 12,
	   "B: two requests in flight");
	/* 4 until the worker has taken A's sleep off the queue, then 3. */
	is(rt_stat_wait(d.port, "pools", "get_queued", 3, RT_HANG_MS), 3,
	   "the get pool holds A's and B's");

	uint64_t t0 = td_now_ms();
	is(td_stop(&d, 30000), 0, "SIGTERM: exit 0");
	uint64_t took = td_now_ms() - t0;
	ok(took > 150, "the stop waited for the work in flight (%llu ms)",
	   (unsigned long long)took);

	int by_a[64] = { 0 }, by_b[64] = { 0 }, ok_a = 1, ok_b = 1;
	int na = read_to_eof(a.fd, by_a, &ok_a);
	int nb = read_to_eof(fb, by_b, &ok_b);
	ok(na == 3 && by_a[1] == 1 && by_a[2] == 1 && by_a[3] == 1 && ok_a,
	   "A got its 3 answers (200), then the close");
	ok(nb == 2 && by_b[10] == 1 && by_b[11] == 1 && ok_b,
	   "B got its 2 answers (200), then the close");
	td_conn_free(&a);
	td_conn_free(&b);
	td_cleanup(&d);
	unread_at_stop();
	return done_testing();
}
