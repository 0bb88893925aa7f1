/*
 * metrics_source.c - the contents of one scrape (metrics_source.h).
 *
 * The table of figures, valued by the same live source as the stats
 * command (stats_live_read()), so the two views can never disagree about a
 * counter; then the build info and the histograms, which have no `stats`
 * lines (only quantiles do): the pools' queue-wait and the commands'
 * latency histograms are read directly.
 */
#include <config.h>

#include <stdio.h>

#include "server/broker/broker.h"
#include "server/metrics/metrics_source.h"
#include "pool/hist.h"
#include "pool/pool.h"
#include "server/runtime/runtime.h"
#include "server/metrics/stats.h"

static void render_histograms(struct metrics_out *out)
{
	struct hist wait;
	char labels[64];

	metrics_histogram_head(out, "pulsemq_pool_queue_wait_seconds",
	                       "Time requests waited in the pool's queue.");
	for (int p = 0; p < RT_POOL_COUNT; p++) {
		pool_wait_hist(runtime_pool((enum rt_pool)p), &wait);
		snprintf(labels, sizeof labels, "pool=\"%s\"", rt_pool_name((enum rt_pool)p));
		metrics_histogram(out, "pulsemq_pool_queue_wait_seconds", labels, &wait);
	}
	metrics_histogram_head(out, "pulsemq_command_duration_seconds",
	                       "Time from queueing a request to its answer reaching the IO "
	                       "thread, by command (commands served by a pool; 503s are "
	                       "not timed).");
	for (int c = PMQ_CMD_NONE + 1; c < PMQ_CMD_COUNT; c++) {
		enum pmq_route r = pmq_cmd_info((enum pmq_cmd)c)->route;
		if (r != PMQ_ROUTE_GET && r != PMQ_ROUTE_PUT && r != PMQ_ROUTE_HEARTBEAT)
			continue;
		struct hist lat = { 0 };
		runtime_cmd_latency((enum pmq_cmd)c, &lat);
		snprintf(labels, sizeof labels, "command=\"%s\"", pmq_cmd_name((enum pmq_cmd)c));
		metrics_histogram(out, "pulsemq_command_duration_seconds", labels, &lat);
	}
}

static void group_sample(const char *group, size_t members, void *ctx)
{
	metrics_printf(ctx, "pulsemq_consumer_group_members{group=\"%s\"} %zu\n", group, members);
}

static void lag_sample(const char *group, const char *topic, int32_t partition,
                       int64_t committed, int64_t end, int64_t lag, void *ctx)
{
	(void)committed;
	(void)end;
	/* group and topic names need no escaping: [A-Za-z0-9_.-] only */
	metrics_printf(ctx, "pulsemq_consumer_group_lag_bytes{group=\"%s\",topic=\"%s\","
	               "partition=\"%d\"} %lld\n", group, topic, (int)partition, (long long)lag);
}

/* Per group and partition (doc/registration.md), capped at stats_max_lines. */
static void render_groups(struct metrics_out *out)
{
	metrics_printf(out, "# HELP pulsemq_consumer_group_members Member client ids of a "
	               "consumer group now.\n# TYPE pulsemq_consumer_group_members gauge\n");
	broker_groups_each(group_sample, out);
	metrics_printf(out, "# HELP pulsemq_consumer_group_lag_bytes Bytes between a group's "
	               "committed offset and the partition's log end.\n"
	               "# TYPE pulsemq_consumer_group_lag_bytes gauge\n");
	broker_lag_each(lag_sample, out);
}

void metrics_source_render(struct metrics_out *out)
{
	metrics_printf(out, "# HELP pulsemq_build_info pulsemqd's version.\n"
	               "# TYPE pulsemq_build_info gauge\n"
	               "pulsemq_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	struct stats_live live;
	metrics_render_figures(out, stats_live_read(&live));
	render_histograms(out);
	render_groups(out);
}
