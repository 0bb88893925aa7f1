/*
 * test_runtime_shutdown.c - SIGTERM with requests in flight: the daemon
 * finishes what its pools hold, delivers every answer to the open
 * sessions, closes them and exits 0.
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
	return done_testing();
}
