/*
 * counters.h - the broker's counters and gauges, in blocks every wing can
 * count into.
 *
 * Counters live in blocks: one per IO thread (written only by that thread)
 * and one shared block for every other thread. Updates are relaxed atomic
 * adds; a listing sums the blocks (runtime_counter_total()), so figures are
 * a consistent-enough snapshot, never torn.
 *
 * This header is a leaf (it includes nothing of server/), so the runtime,
 * the broker and the metrics that render them all use it without a circle.
 */
#ifndef PMQ_COUNTERS_H
#define PMQ_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "protocol/protocol.h"

/* Why a session closed; each has a sessions_closed_<name> counter. */
#define PMQ_CLOSE_REASONS(X) \
	X(QUIT, "quit")                \
	X(PEER, "peer")                \
	X(IDLE, "idle")                \
	X(HEARTBEAT, "heartbeat")      \
	X(SLOW_CONSUMER, "slow_consumer") \
	X(BAD_INPUT, "bad_input")      \
	X(FRAME_TIMEOUT, "frame_timeout") \
	X(BUFFER_BUDGET, "buffer_budget") \
	X(SHUTDOWN, "shutdown")

enum close_reason {
#define PMQ_X(id, name) CLOSE_##id,
	PMQ_CLOSE_REASONS(PMQ_X)
#undef PMQ_X
	CLOSE_REASON_COUNT
};
const char *close_reason_name(enum close_reason r);

enum stat_id {
	ST_TOTAL_CONNECTIONS,
	ST_REJECTED_CONNECTIONS,
	ST_CMD_COMPAT,          /* MetaQ "v..."/"q..." spellings */
	ST_BAD_REQUESTS,        /* answered 400 by the IO thread */
	ST_HB_SENT,
	ST_HB_ANSWERED,
	ST_HB_MISSED,
	ST_HB_UNMATCHED,
	ST_REPLIES_DROPPED,     /* a worker could not post an answer in time */
	ST_REJECTED_FDS,        /* accepted with the reserve fd, answered 503 */
	/* Gauges: sessions in a state now (+1 on entry, -1 on exit, by the
	 * owning IO thread; the sum over blocks is the figure). */
	ST_SESS_OPEN,           /* reading requests */
	ST_SESS_DRAINING,       /* closing: writing what is owed */
	ST_SESS_THROTTLED,      /* not reading: output over max_output_bytes */
	ST_SESS_HB_OUT,         /* a broker heartbeat awaits its answer */
	ST_CMD_FIRST,           /* + enum pmq_cmd */
	ST_CLOSED_FIRST = ST_CMD_FIRST + PMQ_CMD_COUNT, /* + enum close_reason */
	ST_COUNT = ST_CLOSED_FIRST + CLOSE_REASON_COUNT,
};

struct stats_block {
	_Atomic uint64_t v[ST_COUNT];
};

static inline void stats_add(struct stats_block *b, enum stat_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&b->v[id], n, memory_order_relaxed);
}

static inline void stats_inc(struct stats_block *b, enum stat_id id)
{
	stats_add(b, id, 1);
}

/* A gauge's -1: unsigned wrap-around, so the sum over blocks stays right. */
static inline void stats_dec(struct stats_block *b, enum stat_id id)
{
	stats_add(b, id, UINT64_MAX);
}

#endif
