/*
 * pool.c - fixed workers draining one MPMC ck_ring, sleeping on a ck_ec.
 *
 * The exact bound: a ck ring of size N holds N - 1 entries, and its fullness
 * test is not the bound we promise anyway, so the ring is sized to the next
 * power of two above queue_size and the bound is kept by `state`: the low
 * bits count reserved slots (taken by a submitter before it enqueues, given
 * back by a worker after it dequeues), the top bit says "stopping". A
 * submitter takes a slot with one CAS that fails when the count is at
 * queue_size (-EBUSY) or the stop bit is set (-ESHUTDOWN), so no task can
 * slip in after pool_stop() and be stranded, and at most queue_size tasks
 * ever sit in the ring.
 *
 * Sleeping: a worker snapshots the event count, tries the ring, and only
 * then waits for the count to move (ck_ec_wait, 1 s deadline as a safety
 * re-check). A submitter enqueues, then increments the count, which wakes
 * sleepers through the futex. A task published after the snapshot changes
 * the count, so the wait returns at once: no lost wake-up.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ck_ec.h>
#include <ck_pr.h>
#include <ck_ring.h>

#include "actors/clock.h"
#include "actors/ring.h"
#include "actors/tsan.h"
#include "pool/futex_ec.h"
#include "pool/hist.h"
#include "pool/pool.h"

#define POOL_STOP_BIT (1u << 31)
#define POOL_MAX_QUEUE (1u << 30)       /* ring size must fit an unsigned */
#define POOL_MAX_THREADS 1000u        /* keeps thread names short */
#define POOL_IDLE_RECHECK_S 1           /* a sleeping worker looks again */

struct pmq_pool {
	struct ck_ring ring;            /* first: ck pads it to cache lines */
	struct ck_ring_buffer *buf;
	struct ck_ec64 ec;              /* bumped after every enqueue and at stop */
	char pad0[64];
	unsigned state;                 /* POOL_STOP_BIT | reserved slots */
	char pad1[64];
	uint64_t submitted, rejected_busy, expired, completed;
	struct pmq_hist wait_us;

	char name[32];
	unsigned threads, queue_size;
	uint64_t timeout_ns;
	pthread_t *tid;
	unsigned started;               /* workers actually running */
	bool stopped;                   /* pool_stop() has joined them */
};

static void run_one(struct pmq_pool *p, struct pmq_task *t)
{
	uint64_t now = clock_now_ns();
	bool late = now > t->deadline_ns;

	hist_record(&p->wait_us, now > t->enqueued_ns ?
	            (now - t->enqueued_ns) / 1000u : 0);
	/* t may be freed by its callback: touch nothing after. */
	if (late) {
		t->expire(t);
		ck_pr_inc_64(&p->expired);
	} else {
		t->run(t);
		ck_pr_inc_64(&p->completed);
	}
}

static bool take(struct pmq_pool *p, struct pmq_task **out)
{
	void *v;

	if (!ck_ring_dequeue_mpmc(&p->ring, p->buf, &v))
		return false;
	PMQ_TSAN_ACQUIRE(v);
	/* The ring slot is free again: give the reservation back. The last
	 * one during a stop wakes the workers that wait to see it. */
	if (ck_pr_faa_uint(&p->state, (unsigned)-1) == (POOL_STOP_BIT | 1u))
		ck_ec_inc(&p->ec, &pmq_ec_mp);
	*out = v;
	return true;
}

static void *worker(void *arg)
{
	struct pmq_pool *p = arg;

	for (;;) {
		uint64_t snap = ck_ec_value(&p->ec);
		struct pmq_task *t;
		struct timespec dl, rel = { POOL_IDLE_RECHECK_S, 0 };

		if (take(p, &t)) {
			run_one(p, t);
			continue;
		}
		/* Stopping and nothing reserved: every task has been taken
		 * (a reservation is given back only after its dequeue). */
		if (ck_pr_load_uint(&p->state) == POOL_STOP_BIT)
			break;
		if (ck_ec_deadline(&dl, &pmq_ec_mp, &rel) != 0)
			dl.tv_sec = 0; /* clock failed: poll, do not hang */
		ck_ec_wait(&p->ec, &pmq_ec_mp, snap, &dl);
	}
	return NULL;
}

int pool_create(struct pmq_pool **out, const struct pmq_pool_config *cfg)
{
	struct pmq_pool *p = NULL;
	unsigned size = 2;
	int err;

	*out = NULL;
	if (!cfg || cfg->threads < 1 || cfg->threads > POOL_MAX_THREADS ||
	    cfg->queue_size < 1 || cfg->queue_size >= POOL_MAX_QUEUE)
		return -EINVAL;
	while (size - 1 < cfg->queue_size)
		size <<= 1;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->buf = calloc(size, sizeof(*p->buf));
	p->tid = calloc(cfg->threads, sizeof(*p->tid));
	if (!p->buf || !p->tid) {
		err = -ENOMEM;
		goto fail;
	}
	ck_ring_init(&p->ring, size);
	ck_ec_init(&p->ec, 0);
	snprintf(p->name, sizeof(p->name), "%s", cfg->name ? cfg->name : "pool");
	p->threads = cfg->threads;
	p->queue_size = cfg->queue_size;
	p->timeout_ns = cfg->timeout_ns;

	for (unsigned i = 0; i < cfg->threads; i++) {
		char tname[16];

		err = -pthread_create(&p->tid[i], NULL, worker, p);
		if (err)
			goto fail;
		p->started++;
		/* Names show in top -H and gdb; 15 chars at most. */
		snprintf(tname, sizeof(tname), "pmq-%.6s-%u", p->name, i % POOL_MAX_THREADS);
		pthread_setname_np(p->tid[i], tname);
	}
	*out = p;
	return 0;
fail:
	pool_destroy(p);
	return err;
}

int pool_try_submit(struct pmq_pool *p, struct pmq_task *t)
{
	unsigned s = ck_pr_load_uint(&p->state);

	for (;;) {
		if (s & POOL_STOP_BIT)
			return -ESHUTDOWN;
		if (s >= p->queue_size) {
			ck_pr_inc_64(&p->rejected_busy);
			return -EBUSY;
		}
		if (ck_pr_cas_uint_value(&p->state, s, s + 1, &s))
			break;
	}

	t->enqueued_ns = clock_now_ns();
	/* timeout 0: no deadline. */
	t->deadline_ns = p->timeout_ns ? t->enqueued_ns + p->timeout_ns : UINT64_MAX;
	PMQ_TSAN_RELEASE(t);
	/* Cannot fail: reservations (<= queue_size) bound the entries and
	 * the ring holds size - 1 >= queue_size. */
	ring_enqueue_mp(&p->ring, p->buf, t);
	ck_pr_inc_64(&p->submitted);
	ck_ec_inc(&p->ec, &pmq_ec_mp);
	return 0;
}

unsigned pool_queued(const struct pmq_pool *p)
{
	return ck_pr_load_uint(&((struct pmq_pool *)p)->state) & ~POOL_STOP_BIT;
}

void pool_stats(const struct pmq_pool *p, struct pmq_pool_stats *out)
{
	struct pmq_pool *q = (struct pmq_pool *)p; /* ck_pr loads want non-const */

	memset(out, 0, sizeof(*out));
	out->threads = p->threads;
	out->queue_size = p->queue_size;
	out->queued = pool_queued(p);
	out->submitted = ck_pr_load_64(&q->submitted);
	out->rejected_busy = ck_pr_load_64(&q->rejected_busy);
	out->expired = ck_pr_load_64(&q->expired);
	out->completed = ck_pr_load_64(&q->completed);
	out->wait_p50_us = hist_percentile(&p->wait_us, 500);
	out->wait_p99_us = hist_percentile(&p->wait_us, 990);
}

const char *pool_name(const struct pmq_pool *p)
{
	return p->name;
}

void pool_stop(struct pmq_pool *p)
{
	if (!p || p->stopped)
		return;
	ck_pr_or_uint(&p->state, POOL_STOP_BIT);
	/* Wake every sleeper so it sees the stop bit. */
	ck_ec_inc(&p->ec, &pmq_ec_mp);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->tid[i], NULL);
	p->stopped = true;
}

void pool_destroy(struct pmq_pool *p)
{
	if (!p)
		return;
	pool_stop(p);
	free(p->tid);
	free(p->buf);
	free(p);
}
