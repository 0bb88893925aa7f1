/*
 * views.c - the runtime's read-only views for stats, /metrics and the
 * STATUS= line (runtime.h). Counters are summed over blocks; nothing here
 * takes a lock or touches a session.
 */
#include <config.h>

#include <stdatomic.h>

#include "server/runtime/io.h"
#include "server/runtime/rt.h"
#include "server/runtime/runtime.h"

const struct pool *runtime_pool(enum rt_pool p)
{
	return (unsigned)p < RT_POOL_COUNT ? rt.pools[p] : NULL;
}

unsigned runtime_connections(void)
{
	return atomic_load(&rt.curr_connections);
}

uint64_t runtime_started_ms(void)
{
	return rt.started_ms;
}

uint64_t runtime_counter_total(enum stat_id id)
{
	uint64_t sum = atomic_load_explicit(&rt.shared.v[id], memory_order_relaxed);

	for (unsigned i = 0; i < rt.nio; i++)
		sum += atomic_load_explicit(&io_stats(rt.io[i])->v[id], memory_order_relaxed);
	return sum;
}

unsigned runtime_io_threads(void)
{
	return rt.nio;
}

unsigned runtime_io_sessions(unsigned io)
{
	return io < rt.nio ? io_sessions(rt.io[io]) : 0;
}

unsigned runtime_io_mailbox_depth(unsigned io)
{
	return io < rt.nio ? io_mailbox_depth(rt.io[io]) : 0;
}

void runtime_cmd_latency(enum pmq_cmd cmd, struct hist *into)
{
	for (unsigned i = 0; i < rt.nio; i++)
		io_cmd_latency(rt.io[i], cmd, into);
}
