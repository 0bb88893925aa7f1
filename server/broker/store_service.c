/*
 * store_service.c - the daemon's side of the store: opens (and so recovers)
 * it at start-up, registers the put / get / offset / transaction processors
 * (proc_store.c), runs the flush thread (flush.c), deletes expired segments
 * and reports counters for `stats`.
 *
 * Threads: put and get workers call the processors; the flush thread answers
 * sync puts and flushes; the periodic hook (a put worker, once a second) and the flush thread both run
 * retention, at most once a minute and one run at a time.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/log.h"
#include "server/broker/broker.h"
#include "server/broker/clients.h"
#include "server/broker/store_service.h"
#include "server/broker/tx.h"
#include "server/runtime/runtime.h"

/* Retention looks for expired segments this often. */
#define RETENTION_EVERY_S 60
/* How often a put worker asks whether retention is due. */
#define RETENTION_TICK_MS 1000

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
	const struct settings *cfg = ctx;
	const struct settings_topic *tc = settings_find_topic(cfg, topic, strlen(topic));
	return tc && tc->segment_bytes > 0 ? tc->segment_bytes : cfg->segment_bytes;
}

/* On a put worker, once a second (runtime_every): retention itself runs at
 * most once a minute. */
static void retention_tick(void *ctx)
{
	(void)ctx;
	store_service_retention(time(NULL));
}

/* A [topic=NAME] section is the operator's: it never counts against
 * max_topics, so clients creating topics cannot lock it out. */
static bool topic_configured(void *ctx, const char *topic, size_t len)
{
	return settings_find_topic(ctx, topic, len) != NULL;
}

int store_service_start(const struct settings *cfg)
{
	char err[STORE_ERR_BYTES];
	struct store_options o = {
		.data_dir = cfg->data_dir,
		.broker_id = cfg->broker_id,
		.segment_bytes = cfg->segment_bytes,
		.topic_segment_bytes = topic_segment_bytes,
		.topic_ctx = (void *)cfg,
		.notice = store_notice_log,
		.recovery = cfg->recovery == PMQ_RECOVERY_TRUNCATE ? STORE_RECOVERY_TRUNCATE
			: STORE_RECOVERY_REFUSE,
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
	if (rc == 0)
		rc = proc_version_register();
	if (rc == 0)
		rc = runtime_every(RETENTION_TICK_MS, RT_POOL_PUT, retention_tick, NULL);
	if (rc == 0)
		rc = runtime_debug_target("flush", store_service_debug_stall);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "store: cannot register the processors: %s", strerror(-rc));
		goto fail;
	}
	/* recovers the transaction log (logging why it cannot) */
	rc = tx_start(cfg, store_svc.st);
	if (rc != 0)
		goto fail;
	/* Before the flush thread starts: it reads retention_last. */
	retention_last = time(NULL);
	rc = flush_start();
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "store: cannot start the flush thread: %s", strerror(-rc));
		goto fail;
	}
	rc = clients_start(cfg);
	if (rc == 0)
		rc = offsets_start(cfg);
	if (rc != 0) {
		flush_stop();
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
	tx_stop(); /* harmless when it never started */
	store_close(store_svc.st);
	store_svc.st = NULL;
	return rc;
}

static void scrub_print(void *ctx, const char *line)
{
	(void)ctx;
	printf("%s\n", line);
}

int store_service_scrub(const struct settings *cfg)
{
	struct store_scrub_result res;
	char err[STORE_ERR_BYTES];
	int rc = store_scrub(cfg->data_dir, scrub_print, NULL, &res, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "pulsemqd: scrub: %s\n", err);
		return 1;
	}
	printf("scrub of %s: %" PRIu64 " partitions, %" PRIu64 " segments, %" PRIu64
	       " valid records (%" PRIu64 " bytes); %" PRIu64 " bad, %" PRIu64 " torn tails\n",
	       cfg->data_dir, res.partitions, res.segments, res.records, res.bytes, res.bad,
	       res.torn);
	return res.bad ? 1 : 0;
}

void store_service_stop(void)
{
	if (!store_svc.st)
		return;
	offsets_stop();
	clients_stop();
	flush_stop();
	tx_stop();
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
	const struct settings *cfg = store_svc.cfg;
	const char *topic = store_partition_topic(p);
	const struct settings_topic *tc = settings_find_topic(cfg, topic, strlen(topic));
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



int store_service_figures(uint64_t v[SF_COUNT])
{
	struct store_stats s;

	if (!store_svc.st)
		return -ENOENT;
	store_get_stats(store_svc.st, &s);
	v[SF_STORE_PUTS] = s.appends;
	v[SF_STORE_BYTES] = s.append_bytes;
	v[SF_STORE_PUTS_ACKED] = atomic_load(&store_svc.puts_acked);
	v[SF_STORE_PUTS_FAILED] = atomic_load(&store_svc.puts_failed);
	v[SF_STORE_APPEND_ERRORS] = s.append_errors;
	v[SF_STORE_FSYNCS] = s.fsyncs;
	v[SF_STORE_FSYNC_ERRORS] = s.fsync_errors;
	v[SF_STORE_FLUSH_BATCHES] = atomic_load(&store_svc.flush_batches);
	v[SF_STORE_ACKS_BATCHED] = atomic_load(&store_svc.acks_batched);
	v[SF_STORE_GETS] = atomic_load(&store_svc.gets);
	v[SF_STORE_GET_MISSES] = atomic_load(&store_svc.get_misses);
	v[SF_STORE_GET_BYTES] = atomic_load(&store_svc.get_bytes);
	v[SF_STORE_OFFSETS] = atomic_load(&store_svc.offsets);
	v[SF_STORE_PARTITIONS] = s.partitions;
	v[SF_STORE_SEGMENTS] = s.segments;
	v[SF_STORE_TRUNCATED_BYTES] = s.truncated_bytes;
	v[SF_STORE_CORRUPT_READS] = s.corrupt_reads;
	v[SF_STORE_SEGMENTS_DELETED] = s.segments_deleted;
	v[SF_STORE_TOPICS] = s.topics;
	v[SF_STORE_TOPICS_REFUSED] = s.topics_refused;
	v[SF_STORE_OPEN_FILES] = s.open_files;
	v[SF_STORE_MAX_OPEN_FILES] = s.max_open_files;
	v[SF_STORE_FILE_OPENS] = s.file_opens;
	/* fsyncs per put, in thousandths: the group commit's effect */
	v[SF_STORE_FSYNCS_PER_1000_PUTS] = s.appends ? s.fsyncs * 1000 / s.appends : 0;
	tx_figures(&v[SF_TX_OPEN]);
	clients_figures(v);
	offsets_figures(v);
	return 0;
}

/* Topics gathered under the store's map lock, reported after it. */
struct topic_list {
	struct broker_topic_stats *v;
	size_t len, cap;
	bool failed;
};

static void topic_add(struct store_partition *p, void *ctx)
{
	struct topic_list *l = ctx;
	const char *name = store_partition_topic(p);
	struct store_partition_info in;

	if (l->failed)
		return;
	/* the store visits a topic's partitions one after the other */
	if (l->len == 0 || strcmp(l->v[l->len - 1].name, name) != 0) {
		if (l->len == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			struct broker_topic_stats *n = realloc(l->v, cap * sizeof(*n));
			if (!n) {
				l->failed = true;
				return;
			}
			l->v = n;
			l->cap = cap;
		}
		/* the name lives as long as the store: no copy needed */
		l->v[l->len++] = (struct broker_topic_stats){ .name = name };
	}
	struct broker_topic_stats *t = &l->v[l->len - 1];
	store_partition_info(p, &in);
	t->partitions++;
	t->bytes += in.end > in.first ? (uint64_t)(in.end - in.first) : 0;
	t->messages += in.appended;
	if (in.last_append_ms > t->last_append_ms)
		t->last_append_ms = in.last_append_ms;
}

static int topic_cmp(const void *a, const void *b)
{
	return strcmp(((const struct broker_topic_stats *)a)->name,
	              ((const struct broker_topic_stats *)b)->name);
}

int store_service_topics(void (*fn)(const struct broker_topic_stats *t, void *ctx), void *ctx)
{
	struct topic_list l = { 0 };

	if (!store_svc.st)
		return 0;
	store_foreach_partition(store_svc.st, topic_add, &l);
	if (l.failed) {
		free(l.v);
		return -ENOMEM;
	}
	if (l.len > 1) /* not with NULL: no topic yet */
		qsort(l.v, l.len, sizeof(*l.v), topic_cmp);
	for (size_t i = 0; i < l.len; i++)
		fn(&l.v[i], ctx);
	free(l.v);
	return 0;
}
