/*
 * heartbeat.c - the broker's own heartbeats (protocol.md "Heartbeats",
 * doc/runtime.md "Heartbeat policy"); idle_policy.c says when to look,
 * dead_peer.c judges a deadline with heartbeat_spoke_since().
 *
 *  - All idle for idle_timeout_ms and none outstanding: `version OPAQUE`
 *    with the session's own opaque sequence, in the priority lane, and
 *    heartbeat_timeout_ms armed.
 *  - Heartbeats sent while one is unanswered form a run; a result/value
 *    carrying any opaque of the run clears it.
 *  - Evidence of life is ordered, not timed: the session counts its reads,
 *    a heartbeat remembers the count when it was queued, and any read after
 *    that proves the peer alive. Millisecond stamps cannot say this: a
 *    client on loopback answers within the millisecond the heartbeat left,
 *    and `last_read_ms > sent_ms` called that silence.
 */
#include <config.h>

#include <string.h>

#include "protocol/protocol.h"
#include "server/runtime/heartbeat.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/session.h"

/* `version -2147483648\r\n` and then some. */
#define HEARTBEAT_LINE_MAX 32

void heartbeat_session_init(struct session *s)
{
	s->hb_next = 1;
}

void heartbeat_send(struct io_thread *io, struct session *s, uint64_t deadline)
{
	char line[HEARTBEAT_LINE_MAX];
	int32_t op = s->hb_next;
	size_t n = pmq_encode_version(line, sizeof(line), op);
	struct outbuf *b = outbuf_new(n);

	if (!b) {
		session_kill(io, s, CLOSE_PEER);
		return;
	}
	s->hb_next = op == INT32_MAX ? 1 : op + 1;
	memcpy(b->data, line, n);
	b->prio = true; /* never behind a large queued answer */
	session_push(io, s, b);
	if (!s->hb_out) {
		session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, true);
		s->hb_run_first = op;
	}
	s->hb_last = op;
	s->hb_reads = s->reads;
	s->hb_sent_ms = io->now_ms;
	s->hb_deadline_ms = deadline;
	stats_inc(&io->stats, ST_HB_SENT);
}

void heartbeat_when_idle(struct io_thread *io, struct session *s, const struct idle_view *v)
{
	uint64_t timeout = (uint64_t)rt.cfg->heartbeat_timeout_ms;

	if (!v->r.idle[IDLE_ALL] || s->hb_out || s->state != SS_OPEN)
		return;
	uint64_t last = v->read_ms > v->write_ms ? v->read_ms : v->write_ms;
	uint64_t ideal = last + (uint64_t)rt.cfg->idle_timeout_ms + timeout;
	uint64_t least = v->now_ms + timeout / 2;
	/* A very late look still leaves the peer half a timeout. */
	heartbeat_send(io, s, ideal > least ? ideal : least);
}

bool heartbeat_spoke_since(const struct session *s)
{
	return s->reads != s->hb_reads;
}

void heartbeat_run_over(struct io_thread *io, struct session *s)
{
	session_set_flag(io, &s->hb_out, ST_SESS_HB_OUT, false);
	s->hb_misses = 0;
}

void heartbeat_on_answer(struct io_thread *io, struct session *s, int32_t opaque)
{
	uint32_t span = (uint32_t)s->hb_last - (uint32_t)s->hb_run_first;

	if (s->hb_out && (uint32_t)opaque - (uint32_t)s->hb_run_first <= span) {
		heartbeat_run_over(io, s);
		stats_inc(&io->stats, ST_HB_ANSWERED);
		return;
	}
	stats_inc(&io->stats, ST_HB_UNMATCHED);
}
