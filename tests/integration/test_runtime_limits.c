/*
 * test_runtime_limits.c - bounds are answered and counted:
 *  - max_connections: one more connection gets `result 503 L 0` +
 *    "too many connections" and is closed; counted as rejected;
 *  - a get reserves its MAXSIZE of output while queued, so pipelined large
 *    gets are decoded only as their room frees;
 *  - a client that never reads is closed as a slow consumer once its
 *    output made no progress for write_timeout_ms;
 *  - a client that pipelines PIPELINE version requests without reading
 *    keeps the daemon's RSS bounded (max_output_bytes=1M: the session stops
 *    being read while 1 MiB of answers wait) and then receives an answer
 *    for every request once it reads.
 * RSS bound over the idle daemon: 64 MiB plain; sanitizers keep freed memory
 * in quarantine and shadow it, so there the bound is 512 MiB (and ASan's
 * quarantine is capped at 16 MiB through ASAN_OPTIONS).
 */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/integration/rt_util.h"

#define PIPELINE 500000
#define MAXCONN 3

static void max_connections(void)
{
	struct td_daemon d;
	const char *settings[] = { "max_connections=3", NULL };
	struct td_conn c[MAXCONN], extra;
	int alive = 0;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	for (int i = 0; i < MAXCONN; i++) {
		td_conn_init(&c[i], td_connect(d.port));
		alive += td_roundtrip(&c[i], "version 1\r\n", 11, RT_HANG_MS) == 1 &&
		         c[i].msg.code == 200;
	}
	is(alive, MAXCONN, "%d connections served", MAXCONN);
	td_conn_init(&extra, td_connect(d.port));
	ok(td_read_msg(&extra, RT_HANG_MS) == 1 && extra.msg.code == 503 &&
	   extra.msg.opaque == 0 && rt_body_is(&extra.msg, "too many connections"),
	   "one more: result 503 L 0 + 'too many connections'");
	ok(td_wait_closed(extra.fd, RT_HANG_MS) == 1, "... and closed");
	td_conn_free(&extra);
	ok(td_roundtrip(&c[0], "version 2\r\n", 11, RT_HANG_MS) == 1 && c[0].msg.opaque == 2,
	   "the others are not disturbed");
	td_conn_free(&c[MAXCONN - 1]);
	/* The slot frees once the broker has seen the close; until then each
	 * stats connection is itself rejected (and counted). */
	long long rejected = -1;
	int refused = 0;
	uint64_t deadline = td_now_ms() + RT_HANG_MS;
	while ((rejected = td_stat(d.port, "", "rejected_connections")) < 0 &&
	       td_now_ms() < deadline) {
		refused++;
		poll(NULL, 0, 5);
	}
	is(rejected, 1 + refused, "rejected_connections counts every refusal (%d while "
	   "the close was in flight)", refused);
	for (int i = 0; i < MAXCONN - 1; i++)
		td_conn_free(&c[i]);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

struct writer {
	int fd;
	atomic_size_t sent;
	size_t total;
	char *buf;
	int failed;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->total) {
		size_t chunk = w->total - off < 65536 ? w->total - off : 65536;
		ssize_t n = send(w->fd, w->buf + off, chunk, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			w->failed = 1;
			break;
		}
		off += (size_t)n;
		atomic_store(&w->sent, off);
	}
	return NULL;
}

static void pipeline(void)
{
	struct td_daemon d;
	const char *settings[] = { "max_output_bytes=1M", "io_threads=1", NULL };
	int sanitized = rt_sanitized();
	long bound_kib = sanitized ? 512 * 1024 : 64 * 1024;
	struct writer w = { 0 };
	pthread_t tid;
	static unsigned char seen[PIPELINE];

	if (sanitized) {
		/* Freed answers sit in ASan's quarantine (256 MiB by default). */
		const char *old = getenv("ASAN_OPTIONS");
		char opts[1024];
		snprintf(opts, sizeof(opts), "%s quarantine_size_mb=16", old ? old : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	long base = rt_rss_kib(d.pid), peak = base;

	w.fd = td_connect(d.port);
	w.buf = malloc((size_t)PIPELINE * 20);
	for (int i = 0; i < PIPELINE; i++)
		w.total += (size_t)sprintf(w.buf + w.total, "version %d\r\n", i);
	pthread_create(&tid, NULL, write_all, &w);

	/* Do not read until the writer has been stuck for a while: the
	 * broker has stopped reading this session. */
	size_t last = 0;
	uint64_t still_since = td_now_ms(), t_end = td_now_ms() + 8000;
	while (td_now_ms() < t_end) {
		poll(NULL, 0, 20);
		long rss = rt_rss_kib(d.pid);
		peak = rss > peak ? rss : peak;
		size_t s = atomic_load(&w.sent);
		if (s == w.total)
			break;
		if (s != last) {
			last = s;
			still_since = td_now_ms();
		} else if (td_now_ms() - still_since > 500) {
			break;
		}
	}
	diag("writer sent %zu of %zu bytes before anything was read", atomic_load(&w.sent),
	     w.total);
	ok(atomic_load(&w.sent) < w.total, "the broker pushed back (stopped reading)");
	is(rt_stat_wait(d.port, "", "sessions_throttled", 1, RT_HANG_MS), 1,
	   "stats: sessions_throttled 1 while it waits");

	struct rt_reader r;
	struct pmq_msg m;
	unsigned total = 0, dup = 0, alien = 0, okays = 0;
	uint64_t deadline = td_now_ms() + 120000;
	memset(seen, 0, sizeof(seen));
	rt_reader_init(&r, w.fd);
	while (total < PIPELINE && td_now_ms() < deadline) {
		int rc = rt_reader_wait(&r, &m, RT_HANG_MS);
		if (rc != 1)
			break;
		total++;
		if (m.opaque < 0 || m.opaque >= PIPELINE) {
			alien++;
			continue;
		}
		dup += seen[m.opaque]++ != 0;
		okays += m.code == 200;
		if ((total & 8191) == 0) {
			long rss = rt_rss_kib(d.pid);
			peak = rss > peak ? rss : peak;
		}
	}
	pthread_join(tid, NULL);
	is(total, PIPELINE, "%d answers for %d requests", total, PIPELINE);
	is(dup + alien, 0, "each opaque answered once");
	is(rt_stat_wait(d.port, "", "sessions_throttled", 0, RT_HANG_MS), 0,
	   "stats: sessions_throttled 0 once read");
	diag("%u answered 200, the rest 503 'heartbeat pool busy'", okays);
	diag("RSS: %ld KiB idle, peak %ld KiB", base, peak);
	ok(base > 0 && peak - base < bound_kib, "RSS grew by %ld KiB < %ld KiB", peak - base,
	   bound_kib);
	rt_reader_free(&r);
	close(w.fd);
	free(w.buf);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

/* A client that sends without ever reading: once the broker's output for it
 * is stuck for write_timeout_ms it is closed as a slow consumer. */
static void slow_consumer(void)
{
	struct td_daemon d;
	const char *settings[] = { "max_output_bytes=256K", "write_timeout_ms=300",
	                           "idle_timeout_ms=200", "io_threads=1", NULL };
	struct writer w = { 0 };
	pthread_t tid;
	int small = 4096;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	w.fd = socket(AF_INET, SOCK_STREAM, 0);
	/* A small receive window, so the answers back up in the broker. */
	setsockopt(w.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(w.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		bail_out("connect: %s", strerror(errno));
	w.buf = malloc((size_t)PIPELINE * 20);
	for (int i = 0; i < PIPELINE; i++)
		w.total += (size_t)sprintf(w.buf + w.total, "version %d\r\n", i);
	uint64_t t0 = td_now_ms();
	pthread_create(&tid, NULL, write_all, &w);
	ok(rt_stat_wait(d.port, "", "sessions_closed_slow_consumer", 1, RT_HANG_MS) == 1,
	   "a client that never reads is closed as a slow consumer");
	diag("after %llu ms", (unsigned long long)(td_now_ms() - t0));
	ok(td_wait_closed(w.fd, RT_HANG_MS) == 1, "... its connection is closed");
	shutdown(w.fd, SHUT_RDWR); /* unblocks the writer if it still sends */
	pthread_join(tid, NULL);
	close(w.fd);
	free(w.buf);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

/* Gets reserve their MAXSIZE of output while in the pool: with
 * max_output_bytes=1M, pipelined gets of MAXSIZE 1M are decoded one at a
 * time (each waits for the previous answer), so a 4-slot get queue is
 * never overrun by one session. */
#define GETS 50

static void reservation(void)
{
	struct td_daemon d;
	const char *settings[] = { "max_output_bytes=1M", "max_transfer_bytes=1M", "max_body_bytes=512K",
	                           "get_threads=1", "get_queue_size=4", NULL };
	char req[GETS * 48];
	size_t len = 0;
	struct rt_reader r;
	struct pmq_msg m;
	int answered = 0, busy = 0;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(d.port);
	for (int i = 0; i < GETS; i++)
		len += (size_t)sprintf(req + len, "get nosuch g 0 0 1048576 %d\r\n", i);
	td_send(fd, req, len);
	rt_reader_init(&r, fd);
	while (answered < GETS && rt_reader_wait(&r, &m, RT_HANG_MS) == 1) {
		answered++;
		busy += m.code == 503 && rt_body_has(&m, "pool busy");
	}
	is(answered, GETS, "%d pipelined gets of MAXSIZE 1M answered", GETS);
	is(busy, 0, "none was refused busy: each waited for the previous answer's room");
	ok(td_stat(d.port, "pools", "get_rejected_busy") == 0, "get_rejected_busy is 0");
	rt_reader_free(&r);
	close(fd);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

int main(void)
{
	max_connections();
	reservation();
	pipeline();
	slow_consumer();
	return done_testing();
}
