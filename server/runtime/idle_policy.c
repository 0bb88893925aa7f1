/*
 * idle_policy.c - one look at a session when its idle timer fires
 * (idle_policy.h, doc/runtime.md "Heartbeat policy"), in this order:
 *
 *  1. The stamps: none earlier than the end of the last local pause the
 *     timer thread saw (timer_pause_resumed_ms()), as Cassandra's failure
 *     detector convicts nobody on the silence of its own pause.
 *  2. A session silent across that pause and not heartbeated since is
 *     heartbeated now, before anything is judged: its peer had no chance
 *     to speak while we were stopped, and its answer decides.
 *  3. Read silence, then the outstanding heartbeat's deadline (dead_peer.c).
 *  4. A heartbeat when all idle (heartbeat.c).
 *  5. Stuck output (slow_consumer.c).
 *  6. The next look: the earliest of the next idle state, the heartbeat's
 *     deadline and the write deadline.
 */
#include <config.h>

#include "server/common/log.h"
#include "server/runtime/dead_peer.h"
#include "server/runtime/heartbeat.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/session.h"
#include "server/runtime/slow_consumer.h"

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void idle_policy_init(struct session *s)
{
	idle_marks_init(&s->marks);
	heartbeat_session_init(s);
}

uint64_t idle_policy_first_check(const struct session *s)
{
	uint64_t idle = (uint64_t)rt.cfg->idle_timeout_ms;
	uint64_t sess = (uint64_t)rt.cfg->session_timeout_ms;

	return s->last_read_ms + min64(idle, sess);
}

static void view_of(struct session *s, uint64_t now, struct idle_view *v)
{
	struct idle_spec sp = { .period_ms = {
		[IDLE_READER] = (uint64_t)rt.cfg->session_timeout_ms,
		[IDLE_WRITER] = 0, /* no policy uses writer idle */
		[IDLE_ALL] = (uint64_t)rt.cfg->idle_timeout_ms,
	} };

	v->now_ms = now;
	v->resumed_ms = timer_pause_resumed_ms(rt.timer, now);
	v->read_ms = max64(s->last_read_ms, v->resumed_ms);
	v->write_ms = max64(s->last_write_ms, v->resumed_ms);
	v->out_since_ms = max64(s->out_since_ms, v->resumed_ms);
	idle_evaluate(&sp, &s->marks, v->read_ms, v->write_ms, now, &v->r);
}

/* Silent since before the pause and not heartbeated since it ended. */
static bool silent_across_pause(const struct session *s, const struct idle_view *v)
{
	return s->last_read_ms < v->resumed_ms && s->hb_sent_ms < v->resumed_ms &&
	       s->state == SS_OPEN;
}

static uint64_t next_look(const struct session *s, const struct idle_view *v)
{
	uint64_t next = v->r.next_ms;

	if (s->hb_out)
		next = min64(next, s->hb_deadline_ms);
	next = min64(next, slow_consumer_deadline(s, v));
	return next > v->now_ms ? next : v->now_ms + 1;
}

uint64_t idle_policy_check(struct io_thread *io, struct session *s, uint64_t now)
{
	struct idle_view v;

	if (s->dead)
		return 0;
	view_of(s, now, &v);
	if (silent_across_pause(s, &v)) {
		pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: silent across a local pause: "
		        "heartbeat first", (unsigned long long)s->id, s->peer);
		/* Joins an outstanding run: an answer to either counts. */
		heartbeat_send(io, s, now + (uint64_t)rt.cfg->heartbeat_timeout_ms);
	}
	if (s->dead || dead_peer_read_silence(io, s, &v) || dead_peer_heartbeat_due(io, s, &v))
		return 0;
	heartbeat_when_idle(io, s, &v);
	if (s->dead || slow_consumer_check(io, s, &v))
		return 0;
	return next_look(s, &v);
}
