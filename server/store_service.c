/*
 * store_service.c - the daemon's side of the store: opens (and so recovers)
 * it at start-up, registers the put / get / offset / transaction processors
 * (proc_store.c), runs the flush thread (flush.c), deletes expired segments
 * and reports counters for `stats`.
 *
 * Threads: put and get workers call the processors; the flush thread answers
 * sync puts and flushes; store_service_tick() and the flush thread both run
 * retention, at most once a minute and one run at a time.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "server/store_service.h"
#include "server/store_service_priv.h"

/* Retention looks for expired segments this often. */
#define RETENTION_EVERY_S 60

struct store_service store_svc;

static pthread_mutex_t retention_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t retention_last;

static void store_notice_log(void *ctx, const char *msg)
{
	(void)ctx;
	pmq_log(PMQ_LOG_WARN, "store: %s", msg);
}

static int64_t topic_segment_bytes(void *ctx, const char *topic)
{
	const struct pmq_config *cfg = ctx;
	const struct pmq_topic_config *tc = config_topic(cfg, topic, strlen(topic));
	return tc && tc->segment_bytes > 0 ? tc->segment_bytes : cfg->segment_bytes;
}

/* A [topic=NAME] section is the operator's: it never counts against
 * max_topics, so clients creating topics cannot lock it out. */
static bool topic_configured(void *ctx, const char *topic, size_t len)
{
	return config_topic(ctx, topic, len) != NULL;
}

int store_service_start(const struct pmq_config *cfg)
{
	char err[STORE_ERR_BYTES];
	struct store_options o = {
		.data_dir = cfg->data_dir,
		.broker_id = cfg->broker_id,
		.segment_bytes = cfg->segment_bytes,
		.topic_segment_bytes = topic_segment_bytes,
		.topic_ctx = (void *)cfg,
		.notice = store_notice_log,
		.max_topics = cfg->max_topics,
		.topic_configured = topic_configured,
		.max_open_files = cfg->max_open_files,
	};
	int rc;

	memset(&store_svc, 0, sizeof store_svc);
	store_svc.cfg = cfg;
	rc = store_open(&store_svc.st, &o, err, sizeof err);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "store: %s", err);
		return rc;
	}
	rc = proc_store_register();
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "store: cannot register the processors: %s", strerror(-rc));
		goto fail;
	}
	/* Before the flush thread starts: it reads retention_last. */
	retention_last = time(NULL);
	rc = flush_start();
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "store: cannot start the flush thread: %s", strerror(-rc));
		goto fail;
	}
	struct store_stats s;
	store_get_stats(store_svc.st, &s);
	pmq_log(PMQ_LOG_INFO, "store: %" PRIu64 " partitions of %" PRIu64 " topics in %s, "
	        "flush_mode %s, up to %" PRIu64 " segment files open", s.partitions, s.topics,
	        cfg->data_dir, cfg->flush_mode == PMQ_FLUSH_SYNC ? "sync" : "async",
	        s.max_open_files);
	return 0;
fail:
	store_close(store_svc.st);
	store_svc.st = NULL;
	return rc;
}

void store_service_stop(void)
{
	if (!store_svc.st)
		return;
	flush_stop();
	store_close(store_svc.st);
	store_svc.st = NULL;
}

struct retention_run {
	time_t now;
	int deleted;
};

static void expire_one(struct store_partition *p, void *ctx)
{
	struct retention_run *r = ctx;
	const struct pmq_config *cfg = store_svc.cfg;
	const char *topic = store_partition_topic(p);
	const struct pmq_topic_config *tc = config_topic(cfg, topic, strlen(topic));
	int64_t hours = tc && tc->retention_hours > 0 ? tc->retention_hours : cfg->retention_hours;
	char err[STORE_ERR_BYTES];
	int n = store_partition_expire(p, r->now - (time_t)(hours * 3600), err, sizeof err);
	if (n < 0)
		pmq_log(PMQ_LOG_ERROR, "retention of %s-%" PRId32 ": %s", topic,
		        store_partition_id(p), err);
	else if (n > 0)
		pmq_log(PMQ_LOG_INFO, "retention: deleted %d segments of %s-%" PRId32
		        " older than %" PRId64 " hours", n, topic, store_partition_id(p), hours);
	if (n > 0)
		r->deleted += n;
}

void store_service_retention(time_t now)
{
	if (!store_svc.st || pthread_mutex_trylock(&retention_lock) != 0)
		return;
	if (now - retention_last >= RETENTION_EVERY_S) {
		struct retention_run r = { .now = now };
		retention_last = now;
		/* expire_one only unlinks files: fine under the map lock. */
		store_foreach_partition(store_svc.st, expire_one, &r);
	}
	pthread_mutex_unlock(&retention_lock);
}

void store_service_commit_progress(bool *waiting, uint64_t *finished)
{
	*waiting = flush_waiting();
	*finished = atomic_load(&store_svc.flush_batches);
}

void store_service_debug_stall(int32_t ms)
{
	flush_debug_stall(ms);
}

void store_service_tick(void)
{
	store_service_retention(time(NULL));
}

size_t store_service_stats(char *buf, size_t cap)
{
	struct store_stats s;
	size_t n = 0;
	if (!store_svc.st || cap == 0)
		return 0;
	store_get_stats(store_svc.st, &s);
	uint64_t acked = atomic_load(&store_svc.puts_acked);
	uint64_t batches = atomic_load(&store_svc.flush_batches);
	uint64_t batched = atomic_load(&store_svc.acks_batched);
	const struct { const char *k; uint64_t v; } rows[] = {
		{ "store_puts", s.appends },
		{ "store_bytes", s.append_bytes },
		{ "store_puts_acked", acked },
		{ "store_puts_failed", atomic_load(&store_svc.puts_failed) },
		{ "store_append_errors", s.append_errors },
		{ "store_fsyncs", s.fsyncs },
		{ "store_fsync_errors", s.fsync_errors },
		{ "store_flush_batches", batches },
		{ "store_acks_batched", batched },
		{ "store_gets", atomic_load(&store_svc.gets) },
		{ "store_get_misses", atomic_load(&store_svc.get_misses) },
		{ "store_get_bytes", atomic_load(&store_svc.get_bytes) },
		{ "store_offsets", atomic_load(&store_svc.offsets) },
		{ "store_partitions", s.partitions },
		{ "store_segments", s.segments },
		{ "store_truncated_bytes", s.truncated_bytes },
		{ "store_segments_deleted", s.segments_deleted },
		{ "store_topics", s.topics },
		{ "store_topics_refused", s.topics_refused },
		{ "store_open_files", s.open_files },
		{ "store_max_open_files", s.max_open_files },
		{ "store_file_opens", s.file_opens },
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0] && n < cap; i++) {
		int w = snprintf(buf + n, cap - n, "%s %" PRIu64 "\r\n", rows[i].k, rows[i].v);
		if (w < 0 || (size_t)w >= cap - n)
			return n; /* whole lines only */
		n += (size_t)w;
	}
	/* fsyncs per put, in thousandths: the group commit's effect */
	if (n < cap) {
		uint64_t per = s.appends ? s.fsyncs * 1000 / s.appends : 0;
		int w = snprintf(buf + n, cap - n, "store_fsyncs_per_1000_puts %" PRIu64 "\r\n", per);
		if (w > 0 && (size_t)w < cap - n)
			n += (size_t)w;
	}
	return n;
}
