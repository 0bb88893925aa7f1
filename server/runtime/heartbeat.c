/*
 * heartbeat.c - the broker's side of liveness, run when the timer says
 * "look at this session" (protocol.md "Heartbeats", design.md "Timer").
 *
 *  - Reader idle for session_timeout_ms: closed (idle).
 *  - All idle for idle_timeout_ms and no heartbeat outstanding: send
 *    `version OPAQUE` (the session's own opaque sequence, priority lane) and
 *    arm heartbeat_timeout_ms.
 *  - Any result/value carrying an opaque of the current unanswered run
 *    clears it. Past the deadline with nothing read since the heartbeat left
 *    is a miss: the next heartbeat goes out at once; max_missed_heartbeats
 *    misses in a row close the session (heartbeat). Bytes read after the
 *    heartbeat left prove the peer alive too: no miss is counted then.
 *  - Output pending with no progress for write_timeout_ms: closed
 *    (slow_consumer).
 * Deadlines follow the ideal schedule (the idle spell's start + periods), not
 * the time a late check happened to run, so lateness does not add up: a
 * silent peer is closed within idle + misses x timeout + one tick.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "server/common/log.h"
#include "server/runtime/heartbeat.h"
#include "server/runtime/session.h"

static void spec_of(struct idle_spec *sp)
{
	sp->period_ms[IDLE_READER] = (uint64_t)rt.cfg->session_timeout_ms;
	sp->period_ms[IDLE_WRITER] = 0; /* no policy uses writer idle */
	sp->period_ms[IDLE_ALL] = (uint64_t)rt.cfg->idle_timeout_ms;
}

void heartbeat_session_init(struct session *s)
{
	idle_marks_init(&s->marks);
	s->hb_next = 1;
}

uint64_t heartbeat_first_check(const struct session *s)
{
	uint64_t idle = (uint64_t)rt.cfg->idle_timeout_ms;
	uint64_t sess = (uint64_t)rt.cfg->session_timeout_ms;

	return s->last_read_ms + (idle < sess ? idle : sess);
}

static void send_heartbeat(struct io_thread *io, struct session *s, uint64_t deadline)
{
	char line[32];
	int32_t op = s->hb_next;
	int n = snprintf(line, sizeof(line), "version %d\r\n", (int)op);
	struct outbuf *b = outbuf_new((size_t)n);

	if (!b) {
		session_kill(io, s, CLOSE_PEER);
		return;
	}
	s->hb_next = op == INT32_MAX ? 1 : op + 1;
	memcpy(b->data, line, (size_t)n);
	b->prio = true; /* never behind a large queued answer */
	session_push(io, s, b);
	if (!s->hb_out) {
		session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, true);
		s->hb_run_first = op;
	}
	s->hb_last = op;
	s->hb_sent_ms = io->now_ms;
	s->hb_deadline_ms = deadline;
	stats_inc(&io->stats, ST_HB_SENT);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t heartbeat_check(struct io_thread *io, struct session *s, uint64_t now)
{
	struct idle_spec sp;
	struct idle_result r;
	uint64_t timeout = (uint64_t)rt.cfg->heartbeat_timeout_ms;
	uint64_t next;

	if (s->dead)
		return 0;
	spec_of(&sp);
	idle_evaluate(&sp, &s->marks, s->last_read_ms, s->last_write_ms, now, &r);
	if (r.idle[IDLE_READER]) {
		pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: nothing read for %d ms",
		        (unsigned long long)s->id, s->peer, (int)rt.cfg->session_timeout_ms);
		session_kill(io, s, CLOSE_IDLE);
		return 0;
	}
	if (s->hb_out && now >= s->hb_deadline_ms) {
		if (s->last_read_ms > s->hb_sent_ms) {
			/* it spoke: alive */
			session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, false);
			s->hb_misses = 0;
		} else {
			s->hb_misses++;
			stats_inc(&io->stats, ST_HB_MISSED);
			if (s->hb_misses >= (uint32_t)rt.cfg->max_missed_heartbeats) {
				pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: %u heartbeats "
				        "unanswered", (unsigned long long)s->id, s->peer,
				        s->hb_misses);
				session_kill(io, s, CLOSE_HEARTBEAT);
				return 0;
			}
			if (s->state == SS_OPEN)
				send_heartbeat(io, s, s->hb_deadline_ms + timeout);
		}
	}
	if (r.idle[IDLE_ALL] && !s->hb_out && s->state == SS_OPEN) {
		uint64_t last = s->last_read_ms > s->last_write_ms ? s->last_read_ms
		                                                   : s->last_write_ms;
		uint64_t ideal = last + (uint64_t)rt.cfg->idle_timeout_ms + timeout;
		/* A very late check still leaves the peer half a timeout. */
		send_heartbeat(io, s, ideal > now + timeout / 2 ? ideal : now + timeout / 2);
	}
	if (s->dead)
		return 0;
	if (!outq_empty(&s->out) &&
	    now - s->out_since_ms >= (uint64_t)rt.cfg->write_timeout_ms) {
		pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: %zu bytes unwritten for %d ms: "
		        "slow consumer", (unsigned long long)s->id, s->peer, s->out.bytes,
		        (int)rt.cfg->write_timeout_ms);
		session_kill(io, s, CLOSE_SLOW_CONSUMER);
		return 0;
	}
	next = r.next_ms;
	if (s->hb_out)
		next = min64(next, s->hb_deadline_ms);
	if (!outq_empty(&s->out))
		next = min64(next, s->out_since_ms + (uint64_t)rt.cfg->write_timeout_ms);
	return next > now ? next : now + 1;
}

void heartbeat_on_answer(struct io_thread *io, struct session *s, int32_t opaque)
{
	uint32_t span = (uint32_t)s->hb_last - (uint32_t)s->hb_run_first;

	if (s->hb_out && (uint32_t)opaque - (uint32_t)s->hb_run_first <= span) {
		session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, false);
		s->hb_misses = 0;
		stats_inc(&io->stats, ST_HB_ANSWERED);
		return;
	}
	stats_inc(&io->stats, ST_HB_UNMATCHED);
}
