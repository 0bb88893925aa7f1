/*
 * stats_source.c - the live values behind the table of figures (stats.h).
 *
 * The only file of the `stats` listings that reads the running broker: the
 * counter blocks and views of the runtime (runtime.h), the pools, and the
 * store service's figures (broker.h, read-only). The pools' and the store's
 * figures are read once per listing, so one listing's lines agree with
 * each other; counters are read row by row, as relaxed sums always were.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "actors/clock.h"
#include "pool/pool.h"
#include "server/broker/broker.h"
#include "server/metrics/stats.h"
#include "server/runtime/runtime.h"

static uint64_t sessions_total(void)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < runtime_io_threads(); i++)
		total += runtime_io_sessions(i);
	return total;
}

/* A row this file has no case for is absent (-ENOENT), not 0: the
 * integration test then names it as missing from the daemon's stats. */
static int pool_value(const struct pool_stats *ps, enum stat_figure fig, uint64_t *v)
{
	switch (fig) {
	case FIG_POOL_THREADS:
		*v = ps->threads;
		return 0;
	case FIG_POOL_QUEUE_SIZE:
		*v = ps->queue_size;
		return 0;
	case FIG_POOL_QUEUED:
		*v = ps->queued;
		return 0;
	case FIG_POOL_SUBMITTED:
		*v = ps->submitted;
		return 0;
	case FIG_POOL_REJECTED_BUSY:
		*v = ps->rejected_busy;
		return 0;
	case FIG_POOL_EXPIRED:
		*v = ps->expired;
		return 0;
	case FIG_POOL_COMPLETED:
		*v = ps->completed;
		return 0;
	case FIG_POOL_WAIT_P50:
		*v = ps->wait_p50_us;
		return 0;
	case FIG_POOL_WAIT_P99:
		*v = ps->wait_p99_us;
		return 0;
	default:
		return -ENOENT;
	}
}

/* The rows read from the runtime's views when asked. */
static int view_value(enum stat_figure fig, unsigned i, uint64_t *v)
{
	switch (fig) {
	case FIG_PID:
		*v = (uint64_t)getpid();
		return 0;
	case FIG_UPTIME:
		*v = (clock_now_ms() - runtime_started_ms()) / 1000u;
		return 0;
	case FIG_CURR_CONNECTIONS:
		*v = runtime_connections();
		return 0;
	case FIG_INPUT_BUFFER_BYTES:
		*v = runtime_input_buffer_bytes();
		return 0;
	case FIG_AVAILABLE:
		*v = availability_state() == AVAIL_AVAILABLE;
		return 0;
	case FIG_REGISTRY_CONNECTED:
		*v = registry_state() == REGISTRY_CONNECTED;
		return 0;
	case FIG_SESSIONS:
		*v = sessions_total();
		return 0;
	case FIG_IO_THREADS:
		*v = runtime_io_threads();
		return 0;
	case FIG_IO_SESSIONS:
		*v = runtime_io_sessions(i);
		return 0;
	case FIG_IO_MAILBOX_DEPTH:
		*v = runtime_io_mailbox_depth(i);
		return 0;
	default:
		return -ENOENT;
	}
}

static int live_value(void *ctx, enum stat_figure fig, unsigned i, uint64_t *v)
{
	const struct stats_live *live = ctx;
	const struct stat_figure_info *f = &stat_figures[fig];

	switch (f->src) {
	case STAT_SRC_RUNTIME:
		/* A command's slot is ST_CMD_FIRST + its enum pmq_cmd (i + 1). */
		*v = runtime_counter_total((enum stat_id)(f->slot + i +
		                                          (f->dim == STAT_DIM_COMMAND)));
		return 0;
	case STAT_SRC_STORE:
		if (live->store_rc != 0)
			return live->store_rc;
		*v = live->store[f->slot];
		return 0;
	case STAT_SRC_POOL:
		return i < STATS_POOLS_MAX ? pool_value(&live->pools[i], fig, v) : -ENOENT;
	case STAT_SRC_PROCESS:
	case STAT_SRC_SESSIONS:
		return view_value(fig, i, v);
	}
	return -ENOENT;
}

static const char *live_text(void *ctx, enum stat_figure fig)
{
	(void)ctx;
	if (fig == FIG_AVAILABILITY)
		return availability_name(availability_state());
	if (fig == FIG_REGISTRY)
		return registry_state_name();
	return fig == FIG_VERSION ? PACKAGE_VERSION : NULL;
}

const struct stats_source *stats_live_read(struct stats_live *live)
{
	struct stats_source *src = &live->src;

	*src = (struct stats_source){ .value = live_value, .text = live_text, .ctx = live };
	src->pools = RT_POOL_COUNT < STATS_POOLS_MAX ? RT_POOL_COUNT : STATS_POOLS_MAX;
	for (unsigned p = 0; p < src->pools; p++) {
		src->pool_names[p] = rt_pool_name((enum rt_pool)p);
		pool_read_stats(runtime_pool((enum rt_pool)p), &live->pools[p]);
	}
	src->io_threads = runtime_io_threads();
	/* A store row the broker forgot to fill reads 0, not stack bytes. */
	memset(live->store, 0, sizeof live->store);
	live->store_rc = store_service_figures(live->store);
	return src;
}
