/*
 * slow_consumer.c - output that does not drain (slow_consumer.h). The
 * stamp is idle_policy.c's: time the broker spent paused is not the
 * client's.
 */
#include <config.h>

#include "server/common/log.h"
#include "server/runtime/idle_policy.h"
#include "server/runtime/session.h"
#include "server/runtime/slow_consumer.h"

uint64_t slow_consumer_deadline(const struct session *s, const struct idle_view *v)
{
	if (outq_empty(&s->out))
		return UINT64_MAX;
	return v->out_since_ms + (uint64_t)rt.cfg->write_timeout_ms;
}

bool slow_consumer_check(struct io_thread *io, struct session *s, const struct idle_view *v)
{
	if (v->now_ms < slow_consumer_deadline(s, v))
		return false;
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: %zu bytes unwritten for %d ms: "
	        "slow consumer", (unsigned long long)s->id, s->peer, s->out.bytes,
	        (int)rt.cfg->write_timeout_ms);
	session_kill(io, s, CLOSE_SLOW_CONSUMER);
	return true;
}
