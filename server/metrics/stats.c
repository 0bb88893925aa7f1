/*
 * stats.c - the `stats` listings (stats.h).
 *
 * Items: none or "" (system counters, then the store's), "pools",
 * "sessions", "config". An unknown item is a bad request (400) whose body
 * names the known ones: a typo should not look like an empty listing.
 */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/clock.h"
#include "pool/pool.h"
#include "server/runtime/runtime.h"
#include "server/metrics/stats.h"
#include "server/broker/broker.h"
#include "server/common/counters.h"

#define STATS_EXTERNAL_MAX 65536 /* room for the store's and the config's lines */

static void kv(struct sbuf *b, const char *key, unsigned long long v)
{
	sbuf_printf(b, "%s %llu\r\n", key, v);
}

/* Appends what a "key value\r\n" producer writes into a bounded buffer. */
static void external(struct sbuf *b, size_t (*fn)(char *, size_t, const void *),
                     const void *arg)
{
	char *tmp = malloc(STATS_EXTERNAL_MAX);

	if (!tmp) {
		b->failed = true;
		return;
	}
	size_t n = fn(tmp, STATS_EXTERNAL_MAX, arg);
	sbuf_append(b, tmp, n < STATS_EXTERNAL_MAX ? n : STATS_EXTERNAL_MAX);
	free(tmp);
}

static size_t store_lines(char *buf, size_t cap, const void *arg)
{
	(void)arg;
	return store_service_stats(buf, cap);
}

static size_t (*config_source)(char *buf, size_t cap);

void stats_set_config_source(size_t (*fn)(char *buf, size_t cap))
{
	config_source = fn;
}

static size_t config_lines(char *buf, size_t cap, const void *arg)
{
	(void)arg;
	return config_source ? config_source(buf, cap) : 0;
}

static void render_system(struct sbuf *b)
{
	char key[64];

	kv(b, "pid", (unsigned long long)getpid());
	kv(b, "uptime", (clock_now_ms() - runtime_started_ms()) / 1000u);
	sbuf_printf(b, "version %s\r\n", PACKAGE_VERSION);
	kv(b, "curr_connections", runtime_connections());
	kv(b, "total_connections", runtime_counter_total(ST_TOTAL_CONNECTIONS));
	kv(b, "rejected_connections", runtime_counter_total(ST_REJECTED_CONNECTIONS));
	kv(b, "rejected_connections_no_fds", runtime_counter_total(ST_REJECTED_FDS));
	for (int c = PMQ_CMD_NONE + 1; c < PMQ_CMD_COUNT; c++) {
		snprintf(key, sizeof(key), "cmd_%s", pmq_cmd_name((enum pmq_cmd)c));
		kv(b, key, runtime_counter_total((enum stat_id)(ST_CMD_FIRST + c)));
	}
	kv(b, "cmd_compat_spellings", runtime_counter_total(ST_CMD_COMPAT));
	kv(b, "bad_requests", runtime_counter_total(ST_BAD_REQUESTS));
	kv(b, "heartbeats_sent", runtime_counter_total(ST_HB_SENT));
	kv(b, "heartbeats_answered", runtime_counter_total(ST_HB_ANSWERED));
	kv(b, "heartbeats_missed", runtime_counter_total(ST_HB_MISSED));
	kv(b, "heartbeat_answers_unmatched", runtime_counter_total(ST_HB_UNMATCHED));
	for (int r = 0; r < CLOSE_REASON_COUNT; r++) {
		snprintf(key, sizeof(key), "sessions_closed_%s",
		         close_reason_name((enum close_reason)r));
		kv(b, key, runtime_counter_total((enum stat_id)(ST_CLOSED_FIRST + r)));
	}
	kv(b, "replies_dropped", runtime_counter_total(ST_REPLIES_DROPPED));
	kv(b, "sessions_open", runtime_counter_total(ST_SESS_OPEN));
	kv(b, "sessions_draining", runtime_counter_total(ST_SESS_DRAINING));
	kv(b, "sessions_throttled", runtime_counter_total(ST_SESS_THROTTLED));
	kv(b, "input_buffer_bytes", runtime_input_buffer_bytes());
	kv(b, "sessions_heartbeat_outstanding", runtime_counter_total(ST_SESS_HB_OUT));
	external(b, store_lines, NULL);
}

static void render_pools(struct sbuf *b)
{
	for (int p = 0; p < RT_POOL_COUNT; p++) {
		struct pool_stats ps;
		const char *n = rt_pool_name((enum rt_pool)p);

		pool_read_stats(runtime_pool((enum rt_pool)p), &ps);
		sbuf_printf(b, "%s_threads %u\r\n", n, ps.threads);
		sbuf_printf(b, "%s_queue_size %u\r\n", n, ps.queue_size);
		sbuf_printf(b, "%s_queued %u\r\n", n, ps.queued);
		sbuf_printf(b, "%s_submitted %llu\r\n", n, (unsigned long long)ps.submitted);
		sbuf_printf(b, "%s_rejected_busy %llu\r\n", n, (unsigned long long)ps.rejected_busy);
		sbuf_printf(b, "%s_expired %llu\r\n", n, (unsigned long long)ps.expired);
		sbuf_printf(b, "%s_completed %llu\r\n", n, (unsigned long long)ps.completed);
		sbuf_printf(b, "%s_wait_p50_us %llu\r\n", n, (unsigned long long)ps.wait_p50_us);
		sbuf_printf(b, "%s_wait_p99_us %llu\r\n", n, (unsigned long long)ps.wait_p99_us);
	}
}

static void render_sessions(struct sbuf *b)
{
	unsigned total = 0;

	for (unsigned i = 0; i < runtime_io_threads(); i++)
		total += runtime_io_sessions(i);
	kv(b, "sessions", total);
	kv(b, "io_threads", runtime_io_threads());
	for (unsigned i = 0; i < runtime_io_threads(); i++) {
		sbuf_printf(b, "io%u_sessions %u\r\n", i, runtime_io_sessions(i));
		sbuf_printf(b, "io%u_mailbox_depth %u\r\n", i, runtime_io_mailbox_depth(i));
	}
}

static bool item_is(struct pmq_view v, const char *s)
{
	size_t n = strlen(s);
	return v.len == n && memcmp(v.ptr, s, n) == 0;
}

int stats_render(struct pmq_view item, struct sbuf *out)
{
	void (*fn)(struct sbuf *) = NULL;

	if (!item.ptr || item.len == 0)
		fn = render_system;
	else if (item_is(item, "pools"))
		fn = render_pools;
	else if (item_is(item, "sessions"))
		fn = render_sessions;
	if (fn || (item.ptr && item_is(item, "config"))) {
		sbuf_append(out, "STATS\r\n", 7);
		if (fn)
			fn(out);
		else
			external(out, config_lines, NULL);
		sbuf_append(out, "END\r\n", 5);
		return 200;
	}
	sbuf_printf(out, "unknown stats item '%.*s': known items are none, \"\", pools, "
	            "sessions, config", (int)(item.len > 64 ? 64 : item.len), item.ptr);
	return 400;
}
