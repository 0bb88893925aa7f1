/*
 * flush.c - the flush thread: group commit and the async flush policy.
 *
 * flush_mode = sync (group commit): a put worker appends, then hands the
 * put's answer to this thread (flush_wait_ack) and goes back to its pool.
 * This thread takes every answer queued so far as one batch, fsyncs each
 * partition the batch touched once (store_partition_flush: a second call
 * for the same partition finds nothing new and returns at once), and then
 * answers every put of the batch: 200 when the flushed end covers its
 * record, 500 with the reason when the fsync failed. While it fsyncs, the
 * next batch gathers, so under load one fsync covers many puts.
 *
 * flush_mode = async: puts are answered at once; this thread fsyncs every
 * dirty partition when a partition reaches its flush_threshold messages
 * (flush_note_async wakes it) and at least every flush_interval_ms.
 *
 * Either way it also runs retention once a minute, so expired segments go
 * even when nothing calls store_service_tick().
 *
 * Lock: fl.lock guards the queue and flags only; it is never held across a
 * flush or a reply.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/store_service_priv.h"

/* In sync mode the thread still wakes this often, for retention. */
#define FLUSH_IDLE_WAKE_MS 1000
#define ACK_BODY_BYTES 64

struct ack {
	struct pmq_request *req;
	struct store_partition *p;
	int64_t end;
	size_t len;
	char body[ACK_BODY_BYTES];
	struct ack *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ack *head, **tail;
	bool stop, kick, running;
	pthread_t thread;
} fl = { .lock = PTHREAD_MUTEX_INITIALIZER };

void flush_wait_ack(struct pmq_request *req, struct store_partition *p, int64_t end,
                    const char *body, size_t len)
{
	struct ack *a = malloc(sizeof *a);
	if (!a) {
		/* The record is written; it becomes durable with the next flush,
		 * but this put cannot wait for it: say so rather than guess. */
		request_reply_resultf(req, 500, "out of memory while waiting for the flush; the "
		                      "message may or may not be stored");
		atomic_fetch_add(&store_svc.puts_failed, 1);
		return;
	}
	a->req = req;
	a->p = p;
	a->end = end;
	a->len = len < sizeof a->body ? len : sizeof a->body;
	memcpy(a->body, body, a->len);
	a->next = NULL;
	pthread_mutex_lock(&fl.lock);
	bool was_empty = fl.head == NULL;
	*fl.tail = a;
	fl.tail = &a->next;
	pthread_mutex_unlock(&fl.lock);
	if (was_empty)
		pthread_cond_signal(&fl.cond);
}

void flush_note_async(struct store_partition *p, int32_t threshold)
{
	if (store_partition_unflushed(p) < (uint64_t)(threshold > 0 ? threshold : 1))
		return;
	pthread_mutex_lock(&fl.lock);
	fl.kick = true;
	pthread_mutex_unlock(&fl.lock);
	pthread_cond_signal(&fl.cond);
}

/* A batch flushes each partition it touches once; more distinct partitions
 * than this in one batch are flushed again for the extra ones (correct,
 * just more fsyncs). */
#define BATCH_PARTITIONS 32

struct flushed_part {
	struct store_partition *p;
	int64_t flushed;
	int rc;
	char err[STORE_ERR_BYTES];
};

static struct flushed_part *flush_once(struct flushed_part *fp, size_t *n,
                                       struct flushed_part *spare, struct store_partition *p)
{
	for (size_t i = 0; i < *n; i++)
		if (fp[i].p == p)
			return &fp[i];
	struct flushed_part *f = *n < BATCH_PARTITIONS ? &fp[(*n)++] : spare;
	f->p = p;
	f->rc = store_partition_flush(p, &f->flushed, f->err, sizeof f->err);
	if (f->rc != 0)
		pmq_log(PMQ_LOG_ERROR, "flush of %s-%" PRId32 " failed: %s",
		        store_partition_topic(p), store_partition_id(p), f->err);
	return f;
}

/* Answers one batch: every put whose record the flush covered gets 200. */
static void answer_batch(struct ack *a)
{
	static struct flushed_part fp[BATCH_PARTITIONS], spare; /* flush thread only */
	size_t nfp = 0;
	uint64_t n = 0;

	while (a) {
		struct ack *next = a->next;
		struct flushed_part *f = flush_once(fp, &nfp, &spare, a->p);
		if (f->flushed >= a->end) {
			request_reply_result(a->req, 200, a->body, a->len);
			atomic_fetch_add(&store_svc.puts_acked, 1);
		} else {
			request_reply_resultf(a->req, 500, "the message was not stored durably: %s",
			                      f->rc != 0 ? f->err : "the flush did not cover it");
			atomic_fetch_add(&store_svc.puts_failed, 1);
		}
		free(a);
		a = next;
		n++;
	}
	atomic_fetch_add(&store_svc.flush_batches, 1);
	atomic_fetch_add(&store_svc.acks_batched, n);
}

struct dirty_list {
	struct store_partition **v;
	size_t n, cap;
};

static void collect_dirty(struct store_partition *p, void *ctx)
{
	struct dirty_list *d = ctx;
	if (!store_partition_dirty(p))
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *v = realloc(d->v, cap * sizeof *d->v);
		if (!v)
			return; /* flushed next time */
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = p;
}

/* Flushes every dirty partition, outside the store's map lock. */
static void flush_all(void)
{
	struct dirty_list d = { 0 };
	char err[STORE_ERR_BYTES];
	int64_t flushed;
	store_foreach_partition(store_svc.st, collect_dirty, &d);
	for (size_t i = 0; i < d.n; i++)
		if (store_partition_flush(d.v[i], &flushed, err, sizeof err) != 0)
			pmq_log(PMQ_LOG_ERROR, "flush of %s-%" PRId32 " failed: %s",
			        store_partition_topic(d.v[i]), store_partition_id(d.v[i]), err);
	free(d.v);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *flush_main(void *arg)
{
	const struct pmq_config *cfg = store_svc.cfg;
	bool async = cfg->flush_mode == PMQ_FLUSH_ASYNC;
	int wake_ms = async ? cfg->flush_interval_ms : FLUSH_IDLE_WAKE_MS;
	uint64_t last_flush_all = now_ms();
	(void)arg;

	pthread_mutex_lock(&fl.lock);
	for (;;) {
		struct timespec dl;
		deadline_in(&dl, wake_ms);
		while (!fl.head && !fl.kick && !fl.stop)
			if (pthread_cond_timedwait(&fl.cond, &fl.lock, &dl) == ETIMEDOUT)
				break;
		struct ack *batch = fl.head;
		bool kick = fl.kick, stop = fl.stop;
		fl.head = NULL;
		fl.tail = &fl.head;
		fl.kick = false;
		pthread_mutex_unlock(&fl.lock);

		if (batch)
			answer_batch(batch);
		uint64_t now = now_ms();
		if (async && (kick || now - last_flush_all >= (uint64_t)cfg->flush_interval_ms)) {
			flush_all();
			last_flush_all = now;
		}
		store_service_retention(time(NULL));

		pthread_mutex_lock(&fl.lock);
		if (stop && !fl.head)
			break;
	}
	pthread_mutex_unlock(&fl.lock);
	flush_all(); /* the last async puts */
	return NULL;
}

int flush_start(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&fl.cond, &ca);
	pthread_condattr_destroy(&ca);
	fl.head = NULL;
	fl.tail = &fl.head;
	fl.stop = fl.kick = false;
	int rc = pthread_create(&fl.thread, NULL, flush_main, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&fl.cond);
		return -rc;
	}
	fl.running = true;
	return 0;
}

void flush_stop(void)
{
	if (!fl.running)
		return;
	pthread_mutex_lock(&fl.lock);
	fl.stop = true;
	pthread_mutex_unlock(&fl.lock);
	pthread_cond_signal(&fl.cond);
	pthread_join(fl.thread, NULL);
	fl.running = false;
	pthread_cond_destroy(&fl.cond);
}
