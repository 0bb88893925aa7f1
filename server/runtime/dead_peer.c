/*
 * dead_peer.c - the dead-peer policy (dead_peer.h): only inbound silence
 * convicts, and only silence the stamps of idle_policy.c still count (none
 * across a local pause).
 */
#include <config.h>

#include "server/common/log.h"
#include "server/runtime/dead_peer.h"
#include "server/runtime/heartbeat.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/session.h"

bool dead_peer_read_silence(struct io_thread *io, struct session *s, const struct idle_view *v)
{
	if (!v->r.idle[IDLE_READER])
		return false;
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: nothing read for %d ms",
	        (unsigned long long)s->id, s->peer, (int)rt.cfg->session_timeout_ms);
	session_kill(io, s, CLOSE_IDLE);
	return true;
}

bool dead_peer_heartbeat_due(struct io_thread *io, struct session *s, const struct idle_view *v)
{
	if (!s->hb_out || v->now_ms < s->hb_deadline_ms)
		return false;
	if (heartbeat_spoke_since(s)) {
		heartbeat_run_over(io, s); /* any traffic proves it alive */
		return false;
	}
	s->hb_misses++;
	stats_inc(&io->stats, ST_HB_MISSED);
	if (s->hb_misses >= (uint32_t)rt.cfg->max_missed_heartbeats) {
		pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: %u heartbeats unanswered",
		        (unsigned long long)s->id, s->peer, s->hb_misses);
		session_kill(io, s, CLOSE_HEARTBEAT);
		return true;
	}
	if (s->state == SS_OPEN)
		heartbeat_send(io, s, s->hb_deadline_ms + (uint64_t)rt.cfg->heartbeat_timeout_ms);
	return s->dead;
}
