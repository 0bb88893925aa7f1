/*
 * test_runtime_churn.c - the idle timer's travels under connection churn.
 *
 * Every session owns one idle timer that moves between its IO thread and
 * the timer thread through mailboxes (doc/runtime.md "Timer thread"). This
 * test makes those hand-offs as frequent as possible (tick_ms=1, idle and
 * heartbeat timeouts of 10-50 ms) while sessions open and close at random
 * moments: silent ones (closed by the broker's heartbeats or read-silence
 * timeout, or by us while their timer is in flight), ones that answer the
 * broker's heartbeats, ones that close, half-close or reset with a `debug
 * sleep` still in a pool, ones that quit with a request pending. Then:
 *
 *  - no connect was refused (the daemon stayed up), every silent session we
 *    left open was closed by the broker, every `quit` session got at most
 *    one answer and then the close (none when read silence closed it before
 *    a busy pool ran the request), and on a quiet daemon exactly one;
 *  - once every client has closed, curr_connections drops back to 1 (the
 *    stats connection itself), total_connections is exactly what we opened,
 *    the sessions_closed_* counters add up to total - curr, and no answer
 *    was dropped;
 *  - `version` is still answered, and SIGTERM (in the second round with
 *    sessions open, requests in the pools and timers in the wheel) ends in
 *    exit 0. Under ASan the daemon's exit also checks that no timer leaked.
 *
 * Each round churns for a bounded time and a bounded number of connections;
 * the seed is printed (PMQ_CHURN_SEED=N replays a run's choices).
 */
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

#include "tests/integration/rt_util.h"

#define MAX_LIVE 40         /* client connections open at once */
#define MAX_TOTAL 3000      /* connections per round at most */
#define CHURN_MS 1500       /* per round */
#define CBUF 8192

enum kind {
	K_SILENT,       /* never sends; we close it at a random moment */
	K_SILENT_WAIT,  /* never sends; the broker must close it */
	K_ANSWER,       /* answers heartbeats, sends versions, closes at random */
	K_SLEEPER,      /* debug sleep pending, then close / half-close / reset */
	K_QUIT,         /* debug sleep + quit: one answer, then the broker closes */
	K_KINDS
};

enum close_how { C_CLOSE, C_SHUT_WR, C_RESET };

struct client {
	int fd;                 /* -1: slot free */
	enum kind kind;
	enum close_how how;
	uint64_t close_at;      /* ms; 0 = we never close it */
	bool half_closed;       /* shut our side, waiting for the broker's EOF */
	bool got_any;           /* a byte came: the broker accepted it */
	int answers;            /* answers to our own requests */
	bool bad;               /* an answer we did not expect */
	char buf[CBUF];
	size_t len;
};

struct round_stats {
	unsigned opened, connect_failed;
	unsigned silent_wait, silent_wait_closed;
	unsigned quits, quits_ok, quits_answered;
	unsigned sleeps_sent, heartbeats_seen, resets, half_closes;
	unsigned bad_answers;
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static unsigned rnd_below(unsigned n)
{
	return n ? rnd() % n : 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Writes everything (small requests on a fresh socket: the send buffer
 * takes them); false when the broker has already closed. */
static bool send_str(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, RT_HANG_MS) <= 0)
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void reset_close(struct client *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	client_close(c);
}

/* Handles one decoded message for c. */
static void on_msg(struct client *c, const struct pmq_msg *m, struct round_stats *st)
{
	char line[64];

	if (m->cmd == PMQ_CMD_VERSION) { /* the broker's heartbeat */
		st->heartbeats_seen++;
		if (c->kind == K_ANSWER && !c->half_closed) {
			/* Alternate a 200 and the MetaQ client's 503 + body. */
			if (rnd_below(2))
				snprintf(line, sizeof(line), "result 200 0 %d\r\n", (int)m->opaque);
			else
				snprintf(line, sizeof(line), "result 503 2 %d\r\nno", (int)m->opaque);
			send_str(c->fd, line);
		}
		return;
	}
	if (m->cmd != PMQ_CMD_RESULT) {
		c->bad = true;
		return;
	}
	/* Our requests: debug sleep (200, 503 busy, 504 expired) and version. */
	if (m->code != 200 && m->code != 503 && m->code != 504)
		c->bad = true;
	c->answers++;
}

/* Reads what is there. Returns false once the broker closed (EOF/reset). */
static bool client_read(struct client *c, struct round_stats *st)
{
	static const struct pmq_limits lim = { 1 << 16, 1 << 20 };

	for (;;) {
		if (c->len == sizeof(c->buf)) {
			c->bad = true; /* nothing we ask for is this large */
			return false;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
		if (n == 0)
			return false;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->got_any = true;
		c->len += (size_t)n;
		size_t off = 0;
		for (;;) {
			struct pmq_msg m;
			struct pmq_decode_error err;
			size_t used = 0;
			enum pmq_decode_status ds = pmq_decode_response(&lim, c->buf + off,
			                                                c->len - off, &m, &used, &err);
			if (ds == PMQ_DECODE_NEED_MORE)
				break;
			if (ds == PMQ_DECODE_ERROR) {
				diag("undecodable response: %s", err.text);
				c->bad = true;
				return false;
			}
			on_msg(c, &m, st);
			off += used;
		}
		memmove(c->buf, c->buf + off, c->len - off);
		c->len -= off;
	}
}

/* The broker closed c: was that expected? */
static void on_broker_close(struct client *c, struct round_stats *st)
{
	if (c->kind == K_SILENT_WAIT)
		st->silent_wait_closed++;
	/* One answer, or none when the read-silence timeout closed the
	 * draining session before its pool got to the request. */
	if (c->kind == K_QUIT && c->answers <= 1 && !c->bad) {
		st->quits_ok++;
		st->quits_answered += c->answers;
	}
	if (c->bad)
		st->bad_answers++;
	client_close(c);
}

/* Our own close, the way c was told to go. */
static void on_our_close(struct client *c, struct round_stats *st)
{
	if (c->bad)
		st->bad_answers++;
	if (c->how == C_RESET && c->got_any) {
		/* Only once a byte proved the broker accepted it: a reset
		 * connection still in the backlog would never be a session,
		 * and total_connections must match what we opened. */
		st->resets++;
		reset_close(c);
	} else if (c->how == C_SHUT_WR && !c->half_closed) {
		/* The broker drains (answers owed, then closes): wait for it. */
		st->half_closes++;
		shutdown(c->fd, SHUT_WR);
		c->half_closed = true;
		c->close_at = 0;
	} else {
		client_close(c);
	}
}

static void client_open(struct client *c, int port, uint64_t now, struct round_stats *st,
                        unsigned idle_ms)
{
	char req[128];
	int fd = td_connect(port);

	if (fd < 0) {
		st->connect_failed++;
		return;
	}
	st->opened++;
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	set_nonblock(fd);
	c->kind = (enum kind)rnd_below(K_KINDS);
	c->how = (enum close_how)rnd_below(3);
	switch (c->kind) {
	case K_SILENT:
		/* Around the broker's first checks: the timer is in flight. */
		c->close_at = now + rnd_below(3 * idle_ms);
		break;
	case K_SILENT_WAIT:
		st->silent_wait++;
		c->close_at = 0;
		break;
	case K_ANSWER:
		c->close_at = now + rnd_below(6 * idle_ms);
		if (rnd_below(2))
			send_str(fd, "version 1\r\n");
		break;
	case K_SLEEPER: {
		static const char *const pools[] = { "get", "put", "heartbeat" };
		/* The version answer proves it was accepted (resets wait for
		 * that) while the sleep is still pending. */
		snprintf(req, sizeof(req), "debug sleep %s %u 1\r\nversion 2\r\n",
		         pools[rnd_below(3)], rnd_below(idle_ms));
		send_str(fd, req);
		st->sleeps_sent++;
		c->close_at = now + rnd_below(2 * idle_ms);
		break;
	}
	case K_QUIT:
		snprintf(req, sizeof(req), "debug sleep get %u 1\r\nquit\r\n", rnd_below(idle_ms));
		send_str(fd, req);
		st->sleeps_sent++;
		st->quits++;
		c->close_at = 0; /* the broker closes after the answer */
		break;
	case K_KINDS:
		break;
	}
}

/* Any fd still open is read until the broker closes it (or the deadline). */
static void wait_broker_closes(struct client *cl, struct round_stats *st, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		struct pollfd p[MAX_LIVE];
		int idx[MAX_LIVE], n = 0;

		for (int i = 0; i < MAX_LIVE; i++)
			if (cl[i].fd >= 0) {
				p[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
				idx[n++] = i;
			}
		uint64_t now = td_now_ms();
		if (n == 0 || now >= deadline)
			return;
		if (poll(p, (nfds_t)n, (int)(deadline - now)) <= 0)
			continue;
		for (int k = 0; k < n; k++)
			if (p[k].revents && !client_read(&cl[idx[k]], st))
				on_broker_close(&cl[idx[k]], st);
	}
}

static void churn(int port, unsigned idle_ms, struct client *cl, struct round_stats *st)
{
	uint64_t end = td_now_ms() + CHURN_MS;

	for (int i = 0; i < MAX_LIVE; i++)
		cl[i].fd = -1;
	/* A refused connect means the daemon is gone: stop at once. */
	while (td_now_ms() < end && st->opened < MAX_TOTAL && !st->connect_failed) {
		struct pollfd p[MAX_LIVE];
		int idx[MAX_LIVE], n = 0;
		uint64_t now = td_now_ms(), wake = now + 5;

		for (int i = 0; i < MAX_LIVE; i++) {
			if (cl[i].fd < 0 && st->opened < MAX_TOTAL && !st->connect_failed)
				client_open(&cl[i], port, now, st, idle_ms);
			if (cl[i].fd < 0)
				continue;
			if (cl[i].close_at && cl[i].close_at < wake)
				wake = cl[i].close_at;
			p[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
			idx[n++] = i;
		}
		now = td_now_ms();
		poll(p, (nfds_t)n, wake > now ? (int)(wake - now) : 0);
		now = td_now_ms();
		for (int k = 0; k < n; k++) {
			struct client *c = &cl[idx[k]];
			if (p[k].revents && !client_read(c, st)) {
				on_broker_close(c, st);
				continue;
			}
			if (c->close_at && now >= c->close_at)
				on_our_close(c, st);
		}
	}
	/* Everything we would close, we close now (mid-flight, as the rest). */
	for (int i = 0; i < MAX_LIVE; i++)
		if (cl[i].fd >= 0 && cl[i].close_at)
			on_our_close(&cl[i], st);
}

/* One `stats` listing on its own connection, answering the broker's
 * heartbeats meanwhile (with 10 ms idle timeouts one may come first). */
struct snapshot {
	long long curr, total, rejected, dropped, closed_sum, hb_sent, closed_hb_idle,
		cmd_quit, cmd_version;
};

static long long kv_get(const struct pmq_msg *m, const char *key)
{
	size_t klen = strlen(key);
	const char *p = m->body.ptr, *end = p + m->body.len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			break;
		if ((size_t)(eol - p) > klen && !memcmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = eol + 1;
	}
	return -1;
}

static long long kv_sum_prefix(const struct pmq_msg *m, const char *prefix)
{
	size_t plen = strlen(prefix);
	long long sum = 0;
	const char *p = m->body.ptr, *end = p + m->body.len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *sp;
		if (!eol)
			break;
		if ((size_t)(eol - p) > plen && !memcmp(p, prefix, plen) &&
		    (sp = memchr(p, ' ', (size_t)(eol - p))))
			sum += strtoll(sp + 1, NULL, 10);
		p = eol + 1;
	}
	return sum;
}

static int snapshot_take(int port, struct snapshot *s, unsigned *conns)
{
	struct rt_reader r;
	struct pmq_msg m;
	int fd = td_connect(port), rc = -1;

	if (fd < 0)
		return -1;
	(*conns)++;
	rt_reader_init(&r, fd);
	td_sendf(fd, "stats  77\r\n");
	for (;;) {
		if (rt_reader_wait(&r, &m, RT_HANG_MS) != 1)
			break;
		if (m.cmd == PMQ_CMD_VERSION) {
			td_sendf(fd, "result 200 0 %d\r\n", (int)m.opaque);
			continue;
		}
		if (m.cmd != PMQ_CMD_RESULT || m.opaque != 77 || m.code != 200)
			break;
		s->curr = kv_get(&m, "curr_connections");
		s->total = kv_get(&m, "total_connections");
		s->rejected = kv_get(&m, "rejected_connections");
		s->dropped = kv_get(&m, "replies_dropped");
		s->closed_sum = kv_sum_prefix(&m, "sessions_closed_");
		s->hb_sent = kv_get(&m, "heartbeats_sent");
		s->closed_hb_idle = kv_get(&m, "sessions_closed_heartbeat") +
		                    kv_get(&m, "sessions_closed_idle");
		s->cmd_quit = kv_get(&m, "cmd_quit");
		s->cmd_version = kv_get(&m, "cmd_version");
		rc = 0;
		break;
	}
	rt_reader_free(&r);
	close(fd);
	return rc;
}

/* Polls until curr_connections is 1 (this very stats connection). */
static int snapshot_settled(int port, struct snapshot *s, unsigned *conns)
{
	uint64_t deadline = td_now_ms() + RT_HANG_MS;
	for (;;) {
		int rc = snapshot_take(port, s, conns);
		if ((rc == 0 && s->curr == 1) || td_now_ms() >= deadline)
			return rc;
		poll(NULL, 0, 10);
	}
}

/* `version` on a fresh connection, answering heartbeats that come first;
 * asked again after a 503/504 (a short pool queue, a slow sanitizer wake). */
static bool version_answered(int port, unsigned *conns)
{
	struct rt_reader r;
	struct pmq_msg m;
	bool good = false;
	int fd = td_connect(port), tries = 0;

	if (fd < 0)
		return false;
	(*conns)++;
	rt_reader_init(&r, fd);
	td_sendf(fd, "version 4242\r\n");
	while (rt_reader_wait(&r, &m, RT_HANG_MS) == 1) {
		if (m.cmd == PMQ_CMD_VERSION) {
			td_sendf(fd, "result 200 0 %d\r\n", (int)m.opaque);
			continue;
		}
		if (m.cmd == PMQ_CMD_RESULT && m.opaque == 4242 &&
		    (m.code == 503 || m.code == 504) && ++tries < 20) {
			td_sendf(fd, "version 4242\r\n");
			continue;
		}
		good = m.cmd == PMQ_CMD_RESULT && m.code == 200 && m.opaque == 4242 &&
		       rt_body_has(&m, "pulsemq");
		break;
	}
	rt_reader_free(&r);
	close(fd);
	return good;
}

/* On a quiet daemon a quit with a request in a pool gets exactly that
 * answer, then the close (session_timeout_ms must leave room for it). */
static bool quiet_quit(int port, unsigned *conns)
{
	struct rt_reader r;
	struct pmq_msg m;
	int answers = 0, good = 0, rc;
	int fd = td_connect(port);

	if (fd < 0)
		return false;
	(*conns)++;
	rt_reader_init(&r, fd);
	td_sendf(fd, "debug sleep get 0 5\r\nquit\r\n");
	while ((rc = rt_reader_wait(&r, &m, RT_HANG_MS)) == 1) {
		if (m.cmd == PMQ_CMD_VERSION)
			continue; /* a heartbeat sent before the quit was read */
		answers++;
		/* 504 if the worker woke past request_timeout_ms (sanitizers) */
		good += m.cmd == PMQ_CMD_RESULT && m.opaque == 5 &&
		        (m.code == 200 || m.code == 504);
	}
	rt_reader_free(&r);
	close(fd);
	return rc == 0 && answers == 1 && good == 1;
}

/* Sessions of every kind open, requests in the pools, timers in the wheel
 * and in flight: SIGTERM must still end in exit 0 (and, under ASan, with
 * every timer freed). */
static void stop_mid_churn(struct td_daemon *d, unsigned idle_ms, struct client *cl)
{
	struct round_stats st = { 0 };
	uint64_t now = td_now_ms();

	for (int i = 0; i < MAX_LIVE; i++) {
		client_open(&cl[i], d->port, now, &st, idle_ms);
		if (cl[i].fd >= 0)
			cl[i].close_at = 0; /* keep them all open */
	}
	/* Let the timers start travelling: read for a few idle periods. */
	uint64_t until = td_now_ms() + idle_ms;
	while (td_now_ms() < until) {
		for (int i = 0; i < MAX_LIVE; i++)
			if (cl[i].fd >= 0 && !client_read(&cl[i], &st))
				client_close(&cl[i]);
		poll(NULL, 0, 1);
	}
	unsigned live = 0;
	for (int i = 0; i < MAX_LIVE; i++)
		live += cl[i].fd >= 0;
	ok(st.connect_failed == 0, "stop: %u sessions opened (%u still connected)", st.opened,
	   live);
	is(td_stop(d, RT_HANG_MS * 2), 0, "SIGTERM with sessions, requests and timers in flight: exit 0");
	for (int i = 0; i < MAX_LIVE; i++)
		client_close(&cl[i]);
}

static void run_round(const char *name, const char *const *settings, unsigned idle_ms,
                      bool stop_busy)
{
	struct td_daemon d;
	struct client *cl = calloc(MAX_LIVE, sizeof(*cl));
	struct round_stats st = { 0 };
	struct snapshot s = { 0 };
	unsigned stat_conns = 0;

	if (!cl)
		bail_out("out of memory");
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	churn(d.port, idle_ms, cl, &st);
	diag("%s: %u connections, %u debug sleeps, %u heartbeats seen, %u resets, "
	     "%u half-closes", name, st.opened, st.sleeps_sent, st.heartbeats_seen,
	     st.resets, st.half_closes);
	if (!ok(st.connect_failed == 0 && st.opened > 0, "%s: %u connections, none refused",
	        name, st.opened)) {
		/* Say how it died (td_stop dumps its log), then give up. */
		is(td_stop(&d, RT_HANG_MS), 0, "%s: the daemon survived the churn", name);
		bail_out("%s: pulsemqd stopped accepting connections", name);
	}

	/* What is left: silent ones, quits and half-closed ones: all are the
	 * broker's to close. */
	wait_broker_closes(cl, &st, RT_HANG_MS);
	unsigned left = 0;
	for (int i = 0; i < MAX_LIVE; i++)
		if (cl[i].fd >= 0) {
			left++;
			client_close(&cl[i]);
		}
	is(left, 0, "%s: the broker closed every session we left to it", name);
	is(st.silent_wait_closed, st.silent_wait, "%s: every silent session was closed by the "
	   "broker (%u)", name, st.silent_wait);
	is(st.quits_ok, st.quits, "%s: every quit got at most one answer, then the close "
	   "(%u, %u answered)", name, st.quits, st.quits_answered);
	is(st.bad_answers, 0, "%s: no unexpected answer", name);

	int rc = snapshot_settled(d.port, &s, &stat_conns);
	ok(rc == 0 && s.curr == 1, "%s: curr_connections back to 1 (the stats one): %lld",
	   name, s.curr);
	is(s.total, (long long)(st.opened + stat_conns),
	   "%s: total_connections %lld = %u opened + %u for stats", name, s.total, st.opened,
	   stat_conns);
	ok(s.closed_sum == s.total - s.curr, "%s: closes counted %lld = total %lld - curr %lld",
	   name, s.closed_sum, s.total, s.curr);
	ok(s.rejected == 0 && s.dropped == 0, "%s: nothing rejected (%lld), no answer dropped "
	   "(%lld)", name, s.rejected, s.dropped);
	ok(s.hb_sent > 0 && s.closed_hb_idle >= (long long)st.silent_wait,
	   "%s: heartbeats sent (%lld), silent sessions closed by heartbeat/idle (%lld >= %u)",
	   name, s.hb_sent, s.closed_hb_idle, st.silent_wait);
	is(s.cmd_quit, (long long)st.quits, "%s: cmd_quit counted every quit", name);
	ok(version_answered(d.port, &stat_conns), "%s: `version` still answered", name);
	if (stop_busy)
		ok(quiet_quit(d.port, &stat_conns), "%s: a quit with a request pending gets its "
		   "answer, then the close", name);
	ok(kill(d.pid, 0) == 0, "%s: the daemon is alive", name);

	if (stop_busy)
		stop_mid_churn(&d, idle_ms, cl);
	else
		is(td_stop(&d, RT_HANG_MS), 0, "%s: SIGTERM: exit 0", name);
	td_cleanup(&d);
	free(cl);
}

int main(void)
{
	const char *seed_env = getenv("PMQ_CHURN_SEED");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : td_now_ms() ^ (uint64_t)getpid();

	rng_state = seed ? seed : 1;
	diag("seed %llu (PMQ_CHURN_SEED replays it)", (unsigned long long)seed);

	/* Two IO threads, the smallest timeouts: timers turn every few ms. */
	const char *fast[] = { "tick_ms=1", "idle_timeout_ms=10", "heartbeat_timeout_ms=10",
	                       "max_missed_heartbeats=2", "session_timeout_ms=25",
	                       "enable_debug_commands=yes", "io_threads=2", "get_threads=2",
	                       "get_queue_size=8", "put_threads=1", "put_queue_size=8",
	                       "heartbeat_threads=1", "heartbeat_queue_size=8",
	                       "request_timeout_ms=30", NULL };
	run_round("fast", fast, 10, false);

	/* One IO thread, small pools with short queues and a short request
	 * timeout: 503 and 504 answers race the closes too; then SIGTERM with
	 * everything in flight. */
	const char *busy[] = { "tick_ms=1", "idle_timeout_ms=50", "heartbeat_timeout_ms=10",
	                       "max_missed_heartbeats=3", "session_timeout_ms=200",
	                       "enable_debug_commands=yes", "io_threads=1", "get_threads=1",
	                       "get_queue_size=4", "put_threads=1", "put_queue_size=4",
	                       "heartbeat_threads=1", "heartbeat_queue_size=4",
	                       "request_timeout_ms=30", NULL };
	run_round("busy", busy, 50, true);
	return done_testing();
}
