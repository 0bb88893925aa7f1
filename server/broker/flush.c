/*
 * flush.c - the flush thread: group commit and the async flush policy.
 *
 * flush_mode = sync (group commit): a put worker appends, then queues the
 * put's answer (flush_wait_ack). A flusher takes every answer queued so far
 * as one batch, fsyncs each partition the batch touched once
 * (store_partition_flush: a second call for the same partition finds
 * nothing new and returns at once), and then answers every put of the
 * batch: 200 when the flushed end covers its record, 500 with the reason
 * when the fsync failed. While it fsyncs, the next batch gathers, so under
 * load one fsync covers many puts.
 *
 * Who flushes: one flusher at a time (fl.flushing). When none is at work
 * and no other put waits in the put pool, the worker that queued the
 * answer becomes the flusher for one batch itself, which saves the hand-
 * over to this thread and its wake-up (a lone client's puts went from
 * about 5.4 k/s to 7.0 k/s). With puts waiting it hands over as before:
 * a worker flushing at once would fsync batches of one while the others
 * were about to join (fsyncs per put rose by a quarter at 50 clients).
 * Answers that queue while a flusher works are left to this thread, which
 * the flusher wakes on its way out.
 *
 * A transaction's commit joins the same batches (flush_wait_many): it
 * names every partition it appended to and the end of its records there,
 * and its continuation runs once one batch's flushes cover them all (or
 * with the error of the first that does not), so concurrent commits and
 * puts share one fsync per partition instead of each commit flushing its
 * partitions itself.
 *
 * flush_mode = async: puts are answered at once; this thread fsyncs every
 * dirty partition when a partition reaches its flush_threshold messages
 * (flush_note_async wakes it) and at least every flush_interval_ms.
 *
 * Either way it also runs retention once a minute, so expired segments go
 * even when the periodic hook is late.
 *
 * Lock: fl.lock guards the queue and flags only; it is never held across a
 * flush or a reply.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/broker/store_service.h"

/* In sync mode the thread still wakes this often, for retention. */
#define FLUSH_IDLE_WAKE_MS 1000
#define ACK_BODY_BYTES 64

struct ack {
	struct request *req;
	size_t len;
	char body[ACK_BODY_BYTES];
	flush_done_fn done;             /* NULL: a put, answered 200 with body */
	void *ctx;
	struct ack *next;
	size_t nneed;                   /* a put: 1 */
	struct flush_need need[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ack *head, **tail;
	bool stop, kick, running;
	bool flushing;                  /* a batch is being flushed and answered */
	int32_t stall_ms;               /* debug: the next batch sleeps first */
	pthread_t thread;
} fl = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void answer_batch(struct ack *a);

/* The caller holds fl.lock and found no flusher at work: takes the queue
 * as a batch and answers it with the lock released. Returns with the lock
 * held again and fl.flushing cleared; answers queued meanwhile are the
 * caller's to hand on (a worker signals the flush thread, which loops). */
static void flush_queued(void)
{
	struct ack *batch = fl.head;
	int32_t stall = fl.stall_ms;

	fl.head = NULL;
	fl.tail = &fl.head;
	fl.flushing = true;
	fl.stall_ms = 0;
	pthread_mutex_unlock(&fl.lock);
	if (stall > 0) {
		pmq_log(PMQ_LOG_WARN, "debug: group commit stops for %d ms", (int)stall);
		clock_sleep_ms(stall);
	}
	answer_batch(batch);
	pthread_mutex_lock(&fl.lock);
	fl.flushing = false;
}

static struct ack *ack_new(struct request *req, size_t nneed)
{
	struct ack *a = malloc(sizeof *a + nneed * sizeof a->need[0]);
	if (!a)
		return NULL;
	a->req = req;
	a->len = 0;
	a->done = NULL;
	a->ctx = NULL;
	a->next = NULL;
	a->nneed = nneed;
	return a;
}

/* Queues a; flushes here when nobody else is at work or coming. */
static void ack_queue(struct ack *a)
{
	/* Read before queuing: once queued, req may be answered and freed. */
	bool alone = request_pool_queued(a->req) == 0;
	pthread_mutex_lock(&fl.lock);
	*fl.tail = a;
	fl.tail = &a->next;
	if (alone && !fl.flushing && !fl.stop)
		flush_queued(); /* nobody at work, nobody coming: flush here */
	bool more = (fl.head != NULL || fl.stop) && !fl.flushing;
	pthread_mutex_unlock(&fl.lock);
	if (more)
		pthread_cond_signal(&fl.cond);
}

void flush_wait_ack(struct request *req, struct store_partition *p, int64_t end,
                    const char *body, size_t len)
{
	struct ack *a = ack_new(req, 1);
	if (!a) {
		/* The record is written; it becomes durable with the next flush,
		 * but this put cannot wait for it: say so rather than guess. */
		request_reply_resultf(req, 500, "out of memory while waiting for the flush; the "
		                      "message may or may not be stored");
		atomic_fetch_add(&store_svc.puts_failed, 1);
		return;
	}
	a->need[0] = (struct flush_need){ p, end };
	a->len = len < sizeof a->body ? len : sizeof a->body;
	memcpy(a->body, body, a->len);
	ack_queue(a);
}

/* Without memory to queue: flushes each partition here (correct, only
 * without the sharing). */
static void flush_each(const struct flush_need *need, size_t n, flush_done_fn done, void *ctx)
{
	char err[STORE_ERR_BYTES];
	int64_t flushed;
	for (size_t i = 0; i < n; i++) {
		int rc = store_partition_flush(need[i].p, &flushed, err, sizeof err);
		if (rc == 0 && flushed < need[i].end) {
			rc = -EIO;
			snprintf(err, sizeof err, "the flush did not cover it");
		}
		if (rc != 0) {
			done(ctx, rc, err);
			return;
		}
	}
	done(ctx, 0, "");
}

void flush_wait_many(struct request *req, const struct flush_need *need, size_t n,
                     flush_done_fn done, void *ctx)
{
	struct ack *a = ack_new(req, n);
	if (!a) {
		flush_each(need, n, done, ctx);
		return;
	}
	memcpy(a->need, need, n * sizeof *need);
	a->done = done;
	a->ctx = ctx;
	ack_queue(a);
}

bool flush_waiting(void)
{
	pthread_mutex_lock(&fl.lock);
	bool waiting = fl.head != NULL || fl.flushing;
	pthread_mutex_unlock(&fl.lock);
	return waiting;
}

void flush_debug_stall(int32_t ms)
{
	pthread_mutex_lock(&fl.lock);
	fl.stall_ms = ms;
	pthread_mutex_unlock(&fl.lock);
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

/* A waiter of flush_wait_many: done with 0 when every partition's flush
 * covers its end, else with the first failure. */
static void answer_many(struct ack *a, struct flushed_part *fp, size_t *nfp,
                        struct flushed_part *spare)
{
	for (size_t i = 0; i < a->nneed; i++) {
		struct flushed_part *f = flush_once(fp, nfp, spare, a->need[i].p);
		if (f->flushed < a->need[i].end) {
			a->done(a->ctx, f->rc != 0 ? f->rc : -EIO,
			        f->rc != 0 ? f->err : "the flush did not cover it");
			return;
		}
	}
	a->done(a->ctx, 0, "");
}

/* Answers one batch: every put whose record the flush covered gets 200.
 * One flusher at a time (fl.flushing), any thread. */
static void answer_batch(struct ack *a)
{
	struct flushed_part fp[BATCH_PARTITIONS], spare;
	size_t nfp = 0;
	uint64_t n = 0;

	while (a) {
		struct ack *next = a->next;
		if (a->done) {
			answer_many(a, fp, &nfp, &spare);
			free(a);
			a = next;
			n++;
			continue;
		}
		struct flushed_part *f = flush_once(fp, &nfp, &spare, a->need[0].p);
		if (f->flushed >= a->need[0].end) {
			request_reply_result(a->req, 200, a->body, a->len);
			atomic_fetch_add(&store_svc.puts_acked, 1);
		} else {
			/* An answer line is shorter than a store error can be. */
			if (f->rc != 0)
				store_err_shorten(f->err, 900);
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
	const struct settings *cfg = store_svc.cfg;
	bool async = cfg->flush_mode == PMQ_FLUSH_ASYNC;
	int wake_ms = async ? cfg->flush_interval_ms : FLUSH_IDLE_WAKE_MS;
	uint64_t last_flush_all = clock_now_ms();
	(void)arg;

	pthread_mutex_lock(&fl.lock);
	for (;;) {
		struct timespec dl;
		deadline_in(&dl, wake_ms);
		/* Wait while a worker flushes (it wakes us on its way out if it
		 * leaves answers behind) or while there is nothing to do. */
		while (fl.flushing || (!fl.head && !fl.kick && !fl.stop))
			if (pthread_cond_timedwait(&fl.cond, &fl.lock, &dl) == ETIMEDOUT)
				break;
		bool kick = fl.kick, stop = fl.stop;
		fl.kick = false;
		if (fl.head && !fl.flushing)
			flush_queued();
		pthread_mutex_unlock(&fl.lock);

		uint64_t now = clock_now_ms();
		if (async && (kick || now - last_flush_all >= (uint64_t)cfg->flush_interval_ms)) {
			flush_all();
			last_flush_all = now;
		}
		store_service_retention(time(NULL));

		pthread_mutex_lock(&fl.lock);
		if (stop && !fl.head && !fl.flushing)
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
	fl.stop = fl.kick = fl.flushing = false;
	int rc = pthread_create(&fl.thread, NULL, flush_main, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&fl.cond);
		return -rc;
	}
	fl.running = true;
	/* top -H and gdb show it by name, beside pmq-io-N and pmq-put-N. */
	pthread_setname_np(fl.thread, "pmq-flush");
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
