/*
 * budget.c - the input memory budget and the frame deadline (budget.h).
 */
#include <config.h>

#include <stdatomic.h>

#include "server/common/log.h"
#include "server/runtime/budget.h"
#include "server/runtime/session.h"

/* Bytes of input buffers beyond each session's free first BUDGET_FREE_BYTES. */
static _Atomic size_t input_bytes;

static size_t counted(size_t cap)
{
	return cap > BUDGET_FREE_BYTES ? cap - BUDGET_FREE_BYTES : 0;
}

bool budget_input_resize(size_t old_cap, size_t new_cap)
{
	size_t was = counted(old_cap), will = counted(new_cap);

	if (will <= was) {
		atomic_fetch_sub_explicit(&input_bytes, was - will, memory_order_relaxed);
		return true;
	}
	/* Take the growth, and give it back if that overshot: two sessions
	 * racing for the last bytes may both be refused, never both served. */
	size_t add = will - was;
	size_t total = atomic_fetch_add_explicit(&input_bytes, add, memory_order_relaxed) + add;
	if (total > (size_t)rt.cfg->max_buffer_bytes) {
		atomic_fetch_sub_explicit(&input_bytes, add, memory_order_relaxed);
		return false;
	}
	return true;
}

size_t runtime_input_buffer_bytes(void)
{
	return atomic_load_explicit(&input_bytes, memory_order_relaxed);
}

void budget_input_refuse(struct io_thread *io, struct session *s)
{
	/* Debug level: an overload must not flood the log from an IO thread;
	 * sessions_closed_buffer_budget counts every one. */
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: input budget used up (%zu bytes "
	        "buffered by all sessions): closing", (unsigned long long)s->id, s->peer,
	        runtime_input_buffer_bytes());
	session_answerf(io, s, 503, 0, "server input memory is used up (max_buffer_bytes = "
	                "%lld): this request cannot be buffered, retry later",
	                (long long)rt.cfg->max_buffer_bytes);
	session_drain(io, s, CLOSE_BUFFER_BUDGET);
}

static void frame_expire(struct io_thread *io, struct session *s, uint64_t now)
{
	pmq_log(PMQ_LOG_DEBUG, "session %llu from %s: request unfinished after %llu ms "
	        "(%zu bytes): closing", (unsigned long long)s->id, s->peer,
	        (unsigned long long)(now - s->frame_since_ms), s->in_len);
	session_answerf(io, s, 400, 0, "request not completed within frame_timeout_ms (%d ms): "
	                "closing", (int)rt.cfg->frame_timeout_ms);
	session_drain(io, s, CLOSE_FRAME_TIMEOUT);
}

/* A frame is begun while bytes of it are buffered, and also while the rest
 * of a refused body or an over-long line is being dropped unread: a peer
 * trickling those must meet the same deadline. */
static bool frame_pending(const struct session *s)
{
	return s->in_len > 0 || s->skip > 0 || s->skip_line;
}

void budget_frame_note(struct io_thread *io, struct session *s, bool progressed)
{
	uint64_t now = io->now_ms;

	if (s->dead || s->state != SS_OPEN)
		return;
	if (!frame_pending(s)) {
		s->frame_since_ms = 0;
		return;
	}
	/* Throttled, we stopped reading: the clock is ours, not the peer's. */
	if (progressed || s->frame_since_ms == 0 || s->throttled) {
		s->frame_since_ms = now ? now : 1;
		return;
	}
	if (now - s->frame_since_ms >= (uint64_t)rt.cfg->frame_timeout_ms)
		frame_expire(io, s, now);
}

uint64_t budget_frame_check(struct io_thread *io, struct session *s, uint64_t now,
                            uint64_t next)
{
	if (s->dead || s->state != SS_OPEN || s->throttled || s->frame_since_ms == 0 ||
	    !frame_pending(s))
		return next;
	uint64_t due = s->frame_since_ms + (uint64_t)rt.cfg->frame_timeout_ms;
	if (now >= due) {
		frame_expire(io, s, now);
		return next; /* draining: the write timeout still needs checks */
	}
	return due < next ? due : next;
}
