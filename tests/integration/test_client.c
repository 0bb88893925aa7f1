/*
 * test_client.c - libpulsemq against the real pulsemqd: round trips,
 * pipelining, out-of-order answers, request timeouts, errors with the
 * broker's text, answering the broker's heartbeats, put/get/offset (when
 * the store serves them), reconnect with backoff after a daemon restart,
 * and replacing a connection to a peer that stopped answering.
 */
#include <config.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/pulsemq.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define WAIT_MS 20000 /* only guards against hangs (sanitizer builds are slow) */

/* ---- helpers --------------------------------------------------------- */

struct events {
	int n;
	struct pulsemq_event ev[64];
	uint64_t at[64];
};

static void record_event(struct pulsemq_conn *c, const struct pulsemq_event *ev, void *arg)
{
	(void)c;
	struct events *e = arg;
	if (e->n < 64) {
		e->ev[e->n] = *ev;
		e->at[e->n] = td_now_ms();
		e->n++;
	}
}

static int count_events(const struct events *e, enum pulsemq_event_type t)
{
	int n = 0;
	for (int i = 0; i < e->n; i++)
		n += e->ev[i].type == t;
	return n;
}

/* Processes c until cond(arg) holds or WAIT_MS pass: true if it held. */
static bool pump_until(struct pulsemq_conn *c, bool (*cond)(void *), void *arg, int max_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)max_ms;
	while (!cond(arg)) {
		if (td_now_ms() >= deadline)
			return false;
		(void)pulsemq_poll(c, 50);
	}
	return true;
}

struct done {
	int n;
	int order[16];
	int status[16];
	int32_t opaque[16];
};

static void on_done(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)c;
	struct done *d = ((struct done **)arg)[0];
	int tag = (int)(intptr_t)((void **)arg)[1];
	if (d->n < 16) {
		d->order[d->n] = tag;
		d->status[d->n] = r->status;
		d->opaque[d->n] = r->opaque;
	}
	d->n++;
}

static struct done g_done;
static bool done_two(void *arg)
{
	(void)arg;
	return g_done.n >= 2;
}

static bool done_one(void *arg)
{
	(void)arg;
	return g_done.n >= 1;
}

static struct pulsemq_conn *connect_to(int port, struct pulsemq_options *opt)
{
	struct pulsemq_conn *c = NULL;
	char err[256] = "";
	int rc = pulsemq_connect(&c, "127.0.0.1", port, opt, err, sizeof(err));
	if (rc < 0)
		diag("connect to %d: %s", port, err);
	return c;
}

/* ---- against one daemon ---------------------------------------------- */

static void test_roundtrip(int port)
{
	struct pulsemq_conn *c = connect_to(port, NULL);
	ok(c != NULL, "pulsemq_connect to the daemon");
	if (!c)
		return;
	char v[128] = "";
	struct pulsemq_error err;
	is(pulsemq_version(c, v, sizeof(v), &err), 0, "version: 0");
	ok(strstr(v, "pulsemq") != NULL, "version string '%s' names pulsemq", v);

	struct pulsemq_reply r;
	is(pulsemq_stats(c, NULL, &r, &err), 0, "stats: 0");
	ok(r.body && strstr(r.body, "cmd_version") && strstr(r.body, "END"),
	   "stats body has cmd_version and END");
	pulsemq_reply_free(&r);

	/* An unknown command carrying our opaque: 400 with the broker's text. */
	int rc = pulsemq_call(c, "frobnicate", NULL, 0, &r, &err);
	is(rc, 400, "unknown command: 400 returned");
	is(err.status, 400, "error carries the status");
	ok(strlen(err.text) > 0, "error carries the broker's text: '%s'", err.text);
	pulsemq_reply_free(&r);
	is(pulsemq_version(c, v, sizeof(v), &err), 0, "connection still usable after a 400");
	is(pulsemq_quit(c), 0, "quit: the broker closed the connection");
	ok(!pulsemq_connected(c), "not connected after quit");
	is(pulsemq_poll(c, 0), -ENOTCONN, "and it stays closed (no reconnect after quit)");
	pulsemq_close(c);
}

static int pipe_done;
static int pipe_bad;
static void on_pipe(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)c;
	int32_t *want = arg;
	if (r->status != 200 || r->opaque != *want)
		pipe_bad++;
	pipe_done++;
}

static bool pipe_all(void *arg)
{
	return pipe_done >= *(int *)arg;
}

static void test_pipelined(int port)
{
	struct pulsemq_conn *c = connect_to(port, NULL);
	if (!ok(c != NULL, "connect for pipelining"))
		return;
	enum { N = 500 };
	static int32_t ops[N];
	int submitted = 0;
	for (int i = 0; i < N; i++) {
		int32_t op;
		if (pulsemq_submit(c, "version", NULL, 0, on_pipe, &ops[i], &op) == 0) {
			ops[i] = op;
			submitted++;
		}
	}
	is(submitted, N, "%d requests queued without waiting", N);
	ok(pulsemq_pending(c) >= N, "all pending");
	bool distinct = true;
	for (int i = 1; i < N; i++)
		if (ops[i] == ops[i - 1])
			distinct = false;
	ok(distinct && ops[0] == INT32_MIN, "opaques allocated from INT32_MIN, distinct");
	pulsemq_flush(c);
	int want = N;
	ok(pump_until(c, pipe_all, &want, WAIT_MS), "all %d answered", N);
	is(pipe_bad, 0, "each answer matched its own opaque with 200");
	is(pulsemq_pending(c), 0, "nothing pending");
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(c, &st);
	is(st.responses, N, "stats: %d responses", N);
	pulsemq_close(c);
}

static int nested_rc[2] = { 1, 1 };
static void on_nested(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)r;
	(void)arg;
	char v[32];
	nested_rc[0] = pulsemq_version(c, v, sizeof(v), NULL);
	nested_rc[1] = pulsemq_poll(c, 0);
}

static bool nested_done(void *arg)
{
	(void)arg;
	return nested_rc[1] != 1;
}

/* A callback must not block on its own connection: refused, not hung. */
static void test_nested_call(int port)
{
	struct pulsemq_conn *c = connect_to(port, NULL);
	if (!ok(c != NULL, "connect for a nested call"))
		return;
	is(pulsemq_submit_version(c, on_nested, NULL), 0, "version with a callback that blocks");
	pulsemq_flush(c);
	ok(pump_until(c, nested_done, NULL, WAIT_MS), "callback ran");
	is(nested_rc[0], -EDEADLK, "a blocking call from a callback: -EDEADLK");
	is(nested_rc[1], -EDEADLK, "pulsemq_poll from a callback: -EDEADLK");
	is(pulsemq_pending(c), 0, "nothing left pending");
	pulsemq_close(c);
}

static void test_out_of_order(int port)
{
	struct pulsemq_conn *c = connect_to(port, NULL);
	if (!ok(c != NULL, "connect for out-of-order"))
		return;
	memset(&g_done, 0, sizeof(g_done));
	struct done *dp = &g_done;
	void *slow[2] = { dp, (void *)(intptr_t)1 };
	void *fast[2] = { dp, (void *)(intptr_t)2 };
	int32_t op_slow, op_fast;
	is(pulsemq_submit(c, "debug sleep get 1000", NULL, 0, on_done, slow, &op_slow), 0,
	   "debug sleep get 1000 queued");
	is(pulsemq_submit(c, "version", NULL, 0, on_done, fast, &op_fast), 0, "version queued after it");
	pulsemq_flush(c);
	ok(pump_until(c, done_two, NULL, WAIT_MS), "both answered");
	is(g_done.order[0], 2, "version answered first");
	is(g_done.order[1], 1, "the sleeping request second");
	is(g_done.opaque[0], op_fast, "first answer carries version's opaque");
	is(g_done.opaque[1], op_slow, "second carries the sleep's opaque");
	is(g_done.status[1], 200, "sleep answered 200");
	pulsemq_close(c);
}

static bool late_seen(void *arg)
{
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(arg, &st);
	return st.late_responses >= 1;
}

static void test_request_timeout(int port)
{
	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.request_timeout_ms = 150;
	struct pulsemq_conn *c = connect_to(port, &opt);
	if (!ok(c != NULL, "connect with a 150 ms request timeout"))
		return;
	memset(&g_done, 0, sizeof(g_done));
	void *slow[2] = { &g_done, (void *)(intptr_t)1 };
	uint64_t t0 = td_now_ms();
	is(pulsemq_submit(c, "debug sleep get 1000", NULL, 0, on_done, slow, NULL), 0,
	   "debug sleep get 1000 queued");
	pulsemq_flush(c);
	ok(pump_until(c, done_one, NULL, WAIT_MS), "completed");
	uint64_t el = td_now_ms() - t0;
	is(g_done.status[0], -ETIMEDOUT, "completed with -ETIMEDOUT");
	ok(el >= 140 && el < 950, "after the timeout (%llu ms), before the answer",
	   (unsigned long long)el);
	ok(pump_until(c, late_seen, c, WAIT_MS), "the late answer is counted and dropped");
	ok(pulsemq_connected(c), "still connected");
	pulsemq_close(c);
}

static bool broker_hb_seen(void *arg)
{
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(arg, &st);
	return st.broker_heartbeats >= 2;
}

/* The daemon runs with idle_timeout_ms=300: a silent client gets its
 * `version OPAQUE` and must answer it. */
static void test_broker_heartbeat(int port)
{
	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.heartbeat_interval_ms = 0; /* stay silent: let the broker ask */
	long long missed0 = td_stat(port, NULL, "heartbeats_missed");
	struct pulsemq_conn *c = connect_to(port, &opt);
	if (!ok(c != NULL, "connect with our heartbeats off"))
		return;
	ok(pump_until(c, broker_hb_seen, c, WAIT_MS), "two broker heartbeats answered");
	ok(pulsemq_connected(c), "the broker kept the session");
	char v[64];
	is(pulsemq_version(c, v, sizeof(v), NULL), 0, "and it still answers");
	long long missed = td_stat(port, NULL, "heartbeats_missed");
	ok(missed >= 0 && missed == missed0, "daemon counted no missed heartbeat (%lld -> %lld)",
	   missed0, missed);
	pulsemq_close(c);
}

/* put/get/offset through the store. */
static void test_store(int port)
{
	struct pulsemq_conn *c = connect_to(port, NULL);
	if (!ok(c != NULL, "connect for put/get"))
		return;
	struct pulsemq_put_result res;
	struct pulsemq_error err;
	int rc = pulsemq_put(c, "clienttest", 0, "hello", 5, 7, &res, &err);
	is(rc, 0, "put hello: 0 (%s)", err.text);
	is(res.partition, 0, "partition 0");
	is(res.offset, 0, "first message at offset 0");
	rc = pulsemq_put(c, "clienttest", 0, "", 0, 0, &res, &err);
	is(rc, 0, "put of an empty message");
	is(res.offset, 25, "second at 25 (20 header + 5)");
	static char big[100000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 26);
	is(pulsemq_put(c, "clienttest", 0, big, sizeof(big), 0, &res, &err), 0, "put 100000 bytes");
	is(res.offset, 45, "third at 45");

	struct pulsemq_msgset set;
	int32_t max = 4096;
	is(pulsemq_get(c, "clienttest", "g1", 0, 0, &max, &set, &err), 0, "get from 0");
	size_t pos = 0;
	struct pulsemq_message m;
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "first message");
	is_mem(m.payload, m.len, "hello", 5, "payload hello");
	is(m.flag, 7, "flag 7 kept");
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "second message");
	is(m.len, 0, "empty payload");
	is(pulsemq_msgset_next(&set, &pos, &m), 0, "the big one does not fit in 4096: partial");
	pulsemq_msgset_free(&set);
	is(max, 4096, "MAXSIZE unchanged while messages fit");

	max = 1024;
	is(pulsemq_get(c, "clienttest", "g1", 0, 45, &max, &set, &err), 0, "get the big one, MAXSIZE 1024");
	ok(max >= 100020, "MAXSIZE doubled to %d", max);
	pos = 0;
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "big message decoded");
	is_mem(m.payload, m.len, big, sizeof(big), "big payload intact");
	pulsemq_msgset_free(&set);

	int64_t end = 45 + 20 + (int64_t)sizeof(big);
	max = 4096;
	rc = pulsemq_get(c, "clienttest", "g1", 0, end, &max, &set, &err);
	is(rc, 404, "get at the end: 404 (%s)", err.text);
	int64_t off = -1;
	is(pulsemq_offset(c, "clienttest", "g1", 0, 30, &off, &err), 0, "offset 30: 0");
	is(off, 0, "segment start 0");
	rc = pulsemq_put(c, "bad/topic", 0, "x", 1, 0, &res, &err);
	ok(rc < 0 || rc >= 400, "bad topic refused (%d)", rc);
	pulsemq_close(c);
}

/* ---- reconnect after a restart --------------------------------------- */

/* A port nobody listens on right now. Race: another process may take it
 * between this close and the daemon's bind; the daemon then fails to start
 * and the test says so rather than hanging. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return ntohs(a.sin_port);
}

static struct events g_ev;
static bool disconnected(void *arg)
{
	(void)arg;
	return count_events(&g_ev, PULSEMQ_EV_DISCONNECTED) >= 1;
}
static bool three_retries(void *arg)
{
	(void)arg;
	return count_events(&g_ev, PULSEMQ_EV_RECONNECT_SCHEDULED) >= 4;
}

static void test_reconnect(void)
{
	int port = free_port();
	char setting[32];
	snprintf(setting, sizeof(setting), "port=%d", port);
	const char *settings[] = { setting, NULL };
	struct td_daemon d;
	if (!ok(port > 0 && td_start(&d, settings) == 0 && d.port == port,
	        "daemon on a chosen port %d", port))
		return;
	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.backoff_min_ms = 100;
	opt.backoff_max_ms = 800;
	opt.on_event = record_event;
	opt.event_arg = &g_ev;
	memset(&g_ev, 0, sizeof(g_ev));
	struct pulsemq_conn *c = connect_to(port, &opt);
	ok(c != NULL, "connected");
	if (!c) {
		td_stop(&d, 10000);
		td_cleanup(&d);
		return;
	}
	ok(td_stop(&d, 10000) == 0, "daemon stopped");
	ok(pump_until(c, disconnected, NULL, WAIT_MS), "loss noticed");
	ok(!pulsemq_connected(c), "not connected");
	char v[64];
	struct pulsemq_error err;
	ok(pulsemq_submit_version(c, NULL, NULL) == -ENOTCONN, "submit while down: -ENOTCONN");
	ok(pump_until(c, three_retries, NULL, WAIT_MS), "reconnect attempts scheduled while down");

	/* Delays: attempt n within [base/2, base], base = 100 * 2^(n-1); each
	 * next attempt happened no earlier than its delay (5 ms margin for
	 * the clock's granularity). */
	bool in_range = true, waited = true;
	int k = 0;
	uint64_t prev_at = 0;
	int prev_delay = 0;
	for (int i = 0; i < g_ev.n; i++) {
		const struct pulsemq_event *e = &g_ev.ev[i];
		if (e->type != PULSEMQ_EV_RECONNECT_SCHEDULED)
			continue;
		k++;
		int base = 100 << (k - 1 > 3 ? 3 : k - 1);
		if (base > 800)
			base = 800;
		if (e->attempt != k || e->delay_ms < base / 2 || e->delay_ms > base)
			in_range = false;
		diag("attempt %d: delay %d ms (base %d), error %d", e->attempt, e->delay_ms, base, e->error);
		if (prev_at && g_ev.at[i] + 5 < prev_at + (uint64_t)prev_delay)
			waited = false;
		prev_at = g_ev.at[i];
		prev_delay = e->delay_ms;
	}
	ok(in_range, "delays grow exponentially within the jitter band");
	ok(waited, "attempts were spaced by their delays");
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(c, &st);
	ok(st.reconnect_attempts >= 3, "%llu failed attempts counted",
	   (unsigned long long)st.reconnect_attempts);

	ok(td_restart(&d, settings) == 0 && d.port == port, "daemon restarted on port %d", port);
	is(pulsemq_wait_connected(c, WAIT_MS), 0, "reconnected");
	int last = -1;
	for (int i = 0; i < g_ev.n; i++)
		if (g_ev.ev[i].type == PULSEMQ_EV_CONNECTED)
			last = g_ev.ev[i].attempt;
	ok(last >= 3, "it took %d attempts", last);
	is(pulsemq_version(c, v, sizeof(v), &err), 0, "requests work again");
	pulsemq_close(c);
	td_stop(&d, 10000);
	td_cleanup(&d);
}

/* ---- a peer that stops answering -------------------------------------- */

static bool timed_out(void *arg)
{
	(void)arg;
	for (int i = 0; i < g_ev.n; i++)
		if (g_ev.ev[i].type == PULSEMQ_EV_DISCONNECTED && g_ev.ev[i].error == -ETIMEDOUT)
			return true;
	return false;
}

static bool reconnected(void *arg)
{
	(void)arg;
	return count_events(&g_ev, PULSEMQ_EV_CONNECTED) >= 2;
}

static void test_silent_peer(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (!ok(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 8) == 0 &&
	        getsockname(lfd, (struct sockaddr *)&a, &al) == 0,
	        "a silent peer listens"))
		return;
	/* The kernel completes the handshakes into the backlog: the peer
	 * "accepts" and then never says a word. */
	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.heartbeat_interval_ms = 100;
	opt.max_read_timeouts = 2;
	opt.backoff_min_ms = 20;
	opt.backoff_max_ms = 40;
	opt.on_event = record_event;
	opt.event_arg = &g_ev;
	memset(&g_ev, 0, sizeof(g_ev));
	uint64_t t0 = td_now_ms();
	struct pulsemq_conn *c = connect_to(ntohs(a.sin_port), &opt);
	if (!ok(c != NULL, "connected to the silent peer")) {
		close(lfd);
		return;
	}
	ok(pump_until(c, timed_out, NULL, WAIT_MS), "closed for silence (-ETIMEDOUT)");
	uint64_t el = td_now_ms() - t0;
	/* Write-idle at 100 ms sends a heartbeat; reads then stay silent for
	 * two more intervals: at least 300 ms, and well before WAIT_MS. */
	ok(el >= 290, "not before 3 intervals (%llu ms)", (unsigned long long)el);
	is(count_events(&g_ev, PULSEMQ_EV_READ_TIMEOUT), 2, "two read timeouts in a row");
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(c, &st);
	ok(st.heartbeats_sent >= 1, "heartbeats were sent (%llu)", (unsigned long long)st.heartbeats_sent);
	ok(pump_until(c, reconnected, NULL, WAIT_MS), "replaced by a new connection");

	int fd1 = accept(lfd, NULL, NULL);
	ok(fd1 >= 0, "first connection in the peer's backlog");
	char buf[512];
	ssize_t n = fd1 >= 0 ? recv(fd1, buf, sizeof(buf) - 1, MSG_DONTWAIT) : -1;
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && !strncmp(buf, "version ", 8), "it carried our `version` heartbeat");
	ok(fd1 >= 0 && td_wait_closed(fd1, WAIT_MS) == 1, "and the client closed it");
	int fd2 = accept(lfd, NULL, NULL);
	ok(fd2 >= 0, "the replacement reached the peer");
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	pulsemq_close(c);
	close(lfd);
}

/* ---- a broker that misbehaves ----------------------------------------- */

static bool got_one(void *arg)
{
	(void)arg;
	return g_done.n >= 1;
}

/* Reads from fd until want is seen or WAIT_MS pass. */
static bool peer_expect(int fd, const char *want)
{
	char buf[1024];
	size_t len = 0;
	uint64_t deadline = td_now_ms() + WAIT_MS;
	while (len + 1 < sizeof(buf) && td_now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, want))
			return true;
	}
	diag("peer read '%.*s', wanted '%s'", (int)len, buf, want);
	return false;
}

static void test_hostile_peer(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (!ok(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 8) == 0 &&
	        getsockname(lfd, (struct sockaddr *)&a, &al) == 0,
	        "a scripted peer listens"))
		return;
	struct pulsemq_options opt;
	pulsemq_options_init(&opt);
	opt.reconnect = false;
	struct pulsemq_conn *c = connect_to(ntohs(a.sin_port), &opt);
	int fd = accept(lfd, NULL, NULL);
	if (!ok(c != NULL && fd >= 0, "connected and accepted")) {
		close(lfd);
		return;
	}
	/* The broker's own heartbeat gets `result 200 0 OPAQUE`. */
	ok(td_send(fd, "version 77\r\n", strlen("version 77\r\n")) == 0, "peer sends version 77");
	(void)pulsemq_poll(c, 200);
	ok(peer_expect(fd, "result 200 0 77\r\n"), "client answered result 200 0 77");

	/* Garbage that can be skipped, then the real answer. */
	memset(&g_done, 0, sizeof(g_done));
	void *tag[2] = { &g_done, (void *)(intptr_t)1 };
	int32_t op;
	is(pulsemq_submit(c, "version", NULL, 0, on_done, tag, &op), 0, "a request queued");
	pulsemq_flush(c);
	ok(peer_expect(fd, "version "), "peer got it");
	char ans[128];
	int n = snprintf(ans, sizeof(ans), "bogus words\r\nresult 200 2 %d\r\nok", op);
	td_send(fd, ans, (size_t)n);
	ok(pump_until(c, got_one, NULL, WAIT_MS), "answer delivered after the garbage");
	is(g_done.status[0], 200, "with 200");
	struct pulsemq_conn_stats st;
	pulsemq_get_stats(c, &st);
	is(st.protocol_errors, 1, "the bad line was counted");
	is(st.broker_heartbeats, 1, "the broker heartbeat was counted");

	/* An answer for nobody is dropped and counted. */
	td_send(fd, "result 200 0 12345\r\n", strlen("result 200 0 12345\r\n"));
	(void)pulsemq_poll(c, 200);
	pulsemq_get_stats(c, &st);
	is(st.late_responses, 1, "an unknown opaque is counted, not delivered");

	/* A body length that cannot be trusted: framing is lost, close. */
	memset(&g_done, 0, sizeof(g_done));
	is(pulsemq_submit(c, "version", NULL, 0, on_done, tag, &op), 0, "another request");
	pulsemq_flush(c);
	td_send(fd, "result 200 -5 1\r\n", strlen("result 200 -5 1\r\n"));
	ok(pump_until(c, got_one, NULL, WAIT_MS), "the pending request completed");
	is(g_done.status[0], -EPROTO, "with -EPROTO");
	ok(!pulsemq_connected(c), "and the connection was closed");
	ok(td_wait_closed(fd, WAIT_MS) == 1, "the peer saw the close");
	close(fd);
	pulsemq_close(c);
	close(lfd);
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "enable_debug_commands=yes", "idle_timeout_ms=300", NULL };
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	test_roundtrip(d.port);
	test_pipelined(d.port);
	test_out_of_order(d.port);
	test_nested_call(d.port);
	test_request_timeout(d.port);
	test_broker_heartbeat(d.port);
	test_store(d.port);
	ok(td_stop(&d, 10000) == 0, "daemon stopped cleanly");
	td_cleanup(&d);
	test_reconnect();
	test_silent_peer();
	test_hostile_peer();
	return done_testing();
}
