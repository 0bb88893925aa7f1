/*
 * dispatch.c - where a decoded message goes (the codec's command table).
 *
 *  PMQ_ROUTE_GET / PUT / HEARTBEAT: copied into a request and submitted to
 *      that pool; a full queue is answered 503 here, at once.
 *  PMQ_ROUTE_IO: handled on the IO thread: quit, debug, and the client's
 *      result/value answers to the broker's heartbeats (never answered).
 *  PMQ_ROUTE_NONE, or no processor registered: 503 "no processor for X".
 *  admin, from a session that did not come through admin_socket: 403.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/runtime/dispatch.h"
#include "server/runtime/heartbeat.h"
#include "server/runtime/session.h"

static bool view_is(struct pmq_view v, const char *s)
{
	size_t n = strlen(s);
	return v.ptr && v.len == n && memcmp(v.ptr, s, n) == 0;
}

/* Output a request's answer may add: a get's answer is as large as its
 * MAXSIZE (at most max_transfer_bytes); every other answer is one short
 * line, left out. */
static size_t answer_bound(const struct pmq_msg *m)
{
	int64_t n;

	if (m->cmd != PMQ_CMD_GET || m->max_size <= 0)
		return 0;
	n = m->max_size < rt.cfg->max_transfer_bytes ? m->max_size : rt.cfg->max_transfer_bytes;
	return (size_t)n + 64; /* + the value line */
}

static void submit(struct io_thread *io, struct session *s, const struct pmq_msg *m,
                   const char *raw, size_t len, enum rt_pool pool, int32_t sleep_ms)
{
	struct request *req = request_new(m, raw, len, s->h, pool);
	int rc;

	if (!req) {
		session_answerf(io, s, 503, m->opaque, "%s not executed: out of memory, "
		                "retry later", pmq_cmd_name(m->cmd));
		return;
	}
	if (sleep_ms >= 0)
		request_set_sleep(req, sleep_ms);
	if (m->cmd == PMQ_CMD_HEARTBEAT) /* `stats clients` shows it */
		request_set_peer(req, s->peer);
	size_t reserve = answer_bound(m);
	request_set_reserve(req, reserve);
	rc = request_submit(req);
	if (rc == 0) {
		/* req now belongs to the pool: do not touch it. io.c wakes
		 * the pool once for every submit of this turn. */
		io->pools_to_wake |= 1u << pool;
		s->inflight++;
		s->reserved += reserve;
		if (s->out.bytes + s->reserved > (size_t)rt.cfg->max_output_bytes)
			/* session.c resumes it below half */
			session_set_flag(io, &s->throttled, ST_SESS_THROTTLED, true);
		return;
	}
	request_free(req);
	if (rc == -EBUSY)
		session_answerf(io, s, 503, m->opaque, "%s pool busy: %u queued, retry later",
		                rt_pool_name(pool), pool_queued(rt.pools[pool]));
	else
		session_answerf(io, s, 503, m->opaque, "server shutting down: %s not "
		                "executed, retry later", pmq_cmd_name(m->cmd));
}

/* `debug sleep io MS`: this IO thread stops, with every session it owns,
 * as a wedged thread would (the watchdog test needs one). */
static void stall_io(struct io_thread *io, struct session *s, const struct pmq_msg *m)
{
	pmq_log(PMQ_LOG_WARN, "debug: IO thread %u stops for %d ms", io->idx, (int)m->debug_ms);
	clock_sleep_ms(m->debug_ms);
	io->now_ms = clock_now_ms();
	session_answer(io, s, 200, m->opaque, NULL, 0);
}

static void stall_timer(struct io_thread *io, struct session *s, const struct pmq_msg *m)
{
	if (!timer_stall(rt.timer, s->h, m->opaque, m->debug_ms))
		session_answerf(io, s, 503, m->opaque, "timer mailbox full, retry later");
}

/* `debug sleep TARGET` for targets the broker owns (runtime_debug_target). */
#define DEBUG_TARGETS_MAX 4
#define DEBUG_TARGET_NAME_MAX 16
static struct {
	char name[DEBUG_TARGET_NAME_MAX];
	void (*fn)(int32_t ms);
} debug_targets[DEBUG_TARGETS_MAX];
static unsigned ndebug_targets;

int runtime_debug_target(const char *target, void (*fn)(int32_t ms))
{
	if (ndebug_targets == DEBUG_TARGETS_MAX || strlen(target) >= DEBUG_TARGET_NAME_MAX)
		return -ENOSPC;
	strcpy(debug_targets[ndebug_targets].name, target);
	debug_targets[ndebug_targets].fn = fn;
	ndebug_targets++;
	return 0;
}

/* A hooked target: called here, answered now (the stall it arms hits
 * later work, e.g. the next group commit). */
static bool debug_hooked(struct io_thread *io, struct session *s, const struct pmq_msg *m)
{
	for (unsigned i = 0; i < ndebug_targets; i++) {
		if (!view_is(m->debug_pool, debug_targets[i].name))
			continue;
		debug_targets[i].fn(m->debug_ms);
		session_answer(io, s, 200, m->opaque, NULL, 0);
		return true;
	}
	return false;
}

static void debug_cmd(struct io_thread *io, struct session *s, const struct pmq_msg *m,
                      const char *raw, size_t len)
{
	enum rt_pool pool;

	if (!rt.cfg->enable_debug_commands) {
		session_answerf(io, s, 403, m->opaque,
		                "debug commands are disabled (enable_debug_commands = no)");
		return;
	}
	if (!view_is(m->debug_verb, "sleep")) {
		session_answerf(io, s, 400, m->opaque, "unknown debug command (only 'sleep')");
		return;
	}
	if (view_is(m->debug_pool, "get"))
		pool = RT_POOL_GET;
	else if (view_is(m->debug_pool, "put"))
		pool = RT_POOL_PUT;
	else if (view_is(m->debug_pool, "heartbeat"))
		pool = RT_POOL_HEARTBEAT;
	else if (view_is(m->debug_pool, "io")) {
		stall_io(io, s, m);
		return;
	} else if (view_is(m->debug_pool, "timer")) {
		stall_timer(io, s, m);
		return;
	} else if (view_is(m->debug_pool, "mailbox")) {
		io_jam_replies(io, m->debug_ms);
		session_answer(io, s, 200, m->opaque, NULL, 0);
		return;
	} else if (debug_hooked(io, s, m)) {
		return;
	} else {
		session_answerf(io, s, 400, m->opaque, "debug sleep target must be get, put, "
		                "heartbeat, io, timer, flush or mailbox");
		return;
	}
	submit(io, s, m, raw, len, pool, m->debug_ms < 0 ? 0 : m->debug_ms);
}

void dispatch_msg(struct io_thread *io, struct session *s, const struct pmq_msg *m,
                  const char *raw, size_t len)
{
	const struct pmq_cmd_info *ci = pmq_cmd_info(m->cmd);
	enum rt_pool pool;
	void *ctx;

	if (!ci) { /* the decoder never returns this; answer rather than assert */
		stats_inc(&io->stats, ST_BAD_REQUESTS);
		session_answerf(io, s, 400, m->opaque, "bad request: unknown command");
		return;
	}
	stats_inc(&io->stats, (enum stat_id)(ST_CMD_FIRST + m->cmd));
	if (m->compat_spelling)
		stats_inc(&io->stats, ST_CMD_COMPAT);
	if (m->cmd == PMQ_CMD_ADMIN && !s->admin) {
		session_answerf(io, s, 403, m->opaque, "admin commands are accepted only on "
		                "the admin socket (admin_socket)");
		return;
	}
	/* Producers and consumers now, for drain and `admin status`. */
	if (m->cmd == PMQ_CMD_PUT)
		session_set_flag(io, &s->producer, ST_SESS_PRODUCERS, true);
	else if (m->cmd == PMQ_CMD_GET)
		session_set_flag(io, &s->consumer, ST_SESS_CONSUMERS, true);

	switch (ci->route) {
	case PMQ_ROUTE_IO:
		if (m->cmd == PMQ_CMD_QUIT)
			session_drain(io, s, CLOSE_QUIT);
		else if (m->cmd == PMQ_CMD_RESULT || m->cmd == PMQ_CMD_VALUE)
			heartbeat_on_answer(io, s, m->opaque);
		else if (m->cmd == PMQ_CMD_DEBUG)
			debug_cmd(io, s, m, raw, len);
		else
			session_answerf(io, s, 503, m->opaque, "no processor for %s", ci->word);
		return;
	case PMQ_ROUTE_GET:
		pool = RT_POOL_GET;
		break;
	case PMQ_ROUTE_PUT:
		pool = RT_POOL_PUT;
		break;
	case PMQ_ROUTE_HEARTBEAT:
		pool = RT_POOL_HEARTBEAT;
		break;
	case PMQ_ROUTE_NONE:
	default:
		session_answerf(io, s, 503, m->opaque, "no processor for %s", ci->word);
		return;
	}
	if (!processor_lookup(m->cmd, &ctx)) {
		session_answerf(io, s, 503, m->opaque, "no processor for %s", ci->word);
		return;
	}
	submit(io, s, m, raw, len, pool, -1);
}
