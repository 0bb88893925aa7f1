/*
 * status.c - the STATUS= line (status.h).
 */
#include <config.h>

#include <stdio.h>

#include "actors/clock.h"
#include "pool/pool.h"
#include "server/daemon/status.h"
#include "server/broker/broker.h"
#include "server/runtime/runtime.h"

/* The previous sample, for the rate (main thread only). */
static uint64_t last_ms, last_ops;

size_t status_line(char *buf, size_t cap)
{
	uint64_t now = clock_now_ms(), ops = 0, rate;
	unsigned queued[RT_POOL_COUNT] = { 0 };
	int n;

	if (cap == 0)
		return 0;
	for (int c = 0; c < PMQ_CMD_COUNT; c++)
		ops += runtime_counter_total((enum stat_id)(ST_CMD_FIRST + c));
	for (int i = 0; i < RT_POOL_COUNT; i++)
		if (runtime_pool((enum rt_pool)i))
			queued[i] = pool_queued(runtime_pool((enum rt_pool)i));
	if (last_ms == 0)
		last_ms = runtime_started_ms();
	/* Rounded to whole ops/s; an interval under 1 ms reports 0. */
	rate = now > last_ms ? (ops - last_ops) * 1000u / (now - last_ms) : 0;
	last_ms = now;
	last_ops = ops;
	n = snprintf(buf, cap, "%s, %u connections, %llu ops/s, queued get/put/heartbeat "
	             "%u/%u/%u", availability_name(availability_state()), runtime_connections(), (unsigned long long)rate,
	             queued[RT_POOL_GET], queued[RT_POOL_PUT], queued[RT_POOL_HEARTBEAT]);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < cap ? (size_t)n : cap - 1;
}
