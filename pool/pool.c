/*
 * pool.c - fixed workers draining ck_rings, sleeping on a futex.
 *
 * Lanes: each regular producer (an IO thread) may own a lane, a ring only
 * it enqueues into (ck's SPMC ring: no CAS and no waiting on another
 * producer's commit), and there is one shared MPMC ring for everyone else
 * and for a lane that is full. With two IO threads submitting into one
 * MPMC ring, a third of the submit time went to waiting for the other
 * producer's commit and sched_yield when it was preempted (doc/
 * performance.md). Workers take from the lanes and the shared ring in
 * turn, so no lane starves; a lane keeps its producer's order.
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
 * Sleeping (doc/runtime-primitives.md has the proof): a worker that finds
 * the ring empty announces itself in `sleepers`, clears `wake_pending`,
 * reads `seq`, looks at the ring once more and only then waits on the
 * futex `seq`. A submitter enqueues, fences,
 * and wakes one worker only when `sleepers` is not 0 and no wake is in
 * flight already (`wake_pending` 0 -> 1, bump `seq`, FUTEX_WAKE 1). So a
 * submit to a busy pool costs no syscall and no locked instruction beyond
 * its slot and ring CASes, an idle pool wakes one worker per task rather
 * than all of them, and a worker drains every queued task per wake; a
 * worker that leaves work behind wakes the next sleeper itself.
 * The ck_ec event count this replaces did a locked add on a shared line
 * per submit and woke every waiter.
 *
 * Counters a worker owns (dequeued, completed, expired, its wait histogram)
 * live in its own cache line and are written with plain stores; `submitted`
 * is derived (dequeued + queued), so a submit does not touch them either.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#define POOL_MAX_LANES 1024u
#define POOL_IDLE_RECHECK_MS 1000      /* a sleeping worker looks again */
/* No spinning before a sleep: polling the ring for 5 us first cost 15% of
 * `version` throughput at 50 connections x 32 in flight on 2 cores (the
 * spinner takes CPU from the IO threads) and gained nothing measurable at
 * 1 x 1 (doc/performance.md). */
#define POOL_CACHE_LINE 64
/* A lane holds at most this many (the rest overflow into the shared ring,
 * which holds every reservation): lanes x slots x 8 bytes stays small even
 * with many IO threads and huge queues. */
#define POOL_LANE_MAX_SLOTS 4096u

/* One producer's ring (SPMC), on its own cache lines. */
struct pool_lane {
	struct ck_ring ring;
	struct ck_ring_buffer *buf;
} __attribute__((aligned(POOL_CACHE_LINE)));

/* What one worker writes: its own cache line(s). */
struct pool_worker {
	struct pool *p;
	pthread_t tid;
	uint64_t dequeued, expired, completed;  /* plain stores, atomic loads */
	struct hist wait_us;                /* hist_record_owned() */
	unsigned next_lane;                     /* where take() looks first */
} __attribute__((aligned(POOL_CACHE_LINE)));

struct pool {
	struct ck_ring ring;            /* first: ck pads it to cache lines */
	struct ck_ring_buffer *buf;
	char pad0[POOL_CACHE_LINE];
	unsigned state;                 /* POOL_STOP_BIT | reserved slots */
	char pad1[POOL_CACHE_LINE];
	/* The sleep/wake words: written when a worker goes to sleep or is
	 * woken, read by every submit (only `sleepers` while workers run). */
	uint32_t seq;                   /* the futex word: bumped to wake */
	unsigned sleepers;              /* workers between announce and wake */
	unsigned wake_pending;          /* 1: a wake is on its way */
	char pad2[POOL_CACHE_LINE];
	uint64_t rejected_busy;

	struct pool_lane *lanes;        /* [nlanes], single producer each */
	unsigned nlanes;

	char name[32];
	unsigned threads, queue_size;
	uint64_t timeout_ns;
	struct pool_worker *w;
	unsigned started;               /* workers actually running */
	bool stopped;                   /* pool_stop() has joined them */
};

/* Single writer: a plain increment, published whole. */
static inline void own_inc(uint64_t *c)
{
	ck_pr_store_64(c, ck_pr_load_64(c) + 1);
}

/* Wakes one sleeping worker unless none sleeps or a wake is already on its
 * way (whoever consumes that wake drains the ring, this task included).
 * The caller has published its task and fenced (store, then load). */
static void wake_one(struct pool *p)
{
	if (ck_pr_load_uint(&p->sleepers) == 0 ||
	    ck_pr_load_uint(&p->wake_pending) != 0 ||
	    !ck_pr_cas_uint(&p->wake_pending, 0, 1))
		return;
	ck_pr_inc_32(&p->seq);
	futex_ec_wake(&p->seq, 1);
}

/* Wakes every worker: at stop, so that each sees the stop bit. */
static void wake_all(struct pool *p)
{
	ck_pr_inc_32(&p->seq);
	futex_ec_wake(&p->seq, INT_MAX);
}

/* Committed tasks wait in the ring (a submitter's commit, then its fence,
 * then its look at `sleepers`: the other half of the sleep protocol). */
static bool ring_has_work(struct pool *p)
{
	for (unsigned i = 0; i < p->nlanes; i++)
		if (ck_ring_size(&p->lanes[i].ring) != 0)
			return true;
	return ck_ring_size(&p->ring) != 0;
}

/* One task from the lanes or the shared ring (index nlanes), starting
 * after where this worker last found one, so every source gets its turn.
 * A pool of one worker dequeues as the single consumer: no CAS. */
static bool dequeue_any(struct pool_worker *w, void **v)
{
	struct pool *p = w->p;
	unsigned n = p->nlanes + 1;
	bool sc = p->threads == 1;

	for (unsigned i = 0; i < n; i++) {
		unsigned src = (w->next_lane + i) % n;
		struct ck_ring *r = src == p->nlanes ? &p->ring : &p->lanes[src].ring;
		struct ck_ring_buffer *b = src == p->nlanes ? p->buf : p->lanes[src].buf;
		bool got = src == p->nlanes
		         ? (sc ? ck_ring_dequeue_mpsc(r, b, v) : ck_ring_dequeue_mpmc(r, b, v))
		         : (sc ? ck_ring_dequeue_spsc(r, b, v) : ck_ring_dequeue_spmc(r, b, v));
		if (got) {
			w->next_lane = src + 1;
			return true;
		}
	}
	return false;
}

static void run_one(struct pool_worker *w, struct pool_task *t)
{
	uint64_t now = clock_now_ns();
	bool late = now > t->deadline_ns;

	hist_record_owned(&w->wait_us, now > t->enqueued_ns ?
	                  (now - t->enqueued_ns) / 1000u : 0);
	/* t may be freed by its callback: touch nothing after. An expired
	 * task is counted before its 504 leaves, so whoever reads that answer
	 * then sees it in the stats; a run is counted once it has returned,
	 * which may be just after its answer was read. */
	if (late) {
		own_inc(&w->expired);
		t->expire(t);
	} else {
		t->run(t);
		own_inc(&w->completed);
	}
}

static bool take(struct pool_worker *w, struct pool_task **out)
{
	struct pool *p = w->p;
	unsigned before;
	void *v;

	if (!dequeue_any(w, &v))
		return false;
	PMQ_TSAN_ACQUIRE(v);
	own_inc(&w->dequeued);
	/* The ring slot is free again: give the reservation back. The last
	 * one during a stop wakes the workers that wait to see it. */
	before = ck_pr_faa_uint(&p->state, (unsigned)-1);
	if (before == (POOL_STOP_BIT | 1u))
		wake_all(p);
	else if (p->threads > 1 && ring_has_work(p))
		wake_one(p); /* more waits: a sleeping colleague may take it */
	*out = v;
	return true;
}

/* Sleeps until a submit, a stop or the re-check deadline. Every way out
 * clears wake_pending after leaving `sleepers`, and the caller looks at
 * the ring after that: see the header comment. */
static void sleep_for_work(struct pool *p)
{
	uint32_t seq;

	ck_pr_inc_uint(&p->sleepers);           /* locked: a full fence */
	ck_pr_fas_uint(&p->wake_pending, 0);    /* none is for us yet */
	seq = ck_pr_load_32(&p->seq);
	if (!ring_has_work(p) && ck_pr_load_uint(&p->state) != POOL_STOP_BIT)
		futex_ec_wait(&p->seq, seq, POOL_IDLE_RECHECK_MS);
	ck_pr_dec_uint(&p->sleepers);
	ck_pr_fas_uint(&p->wake_pending, 0);    /* consumed (or a stale one) */
}

static void *worker(void *arg)
{
	struct pool_worker *w = arg;
	struct pool *p = w->p;

	for (;;) {
		struct pool_task *t;

		if (take(w, &t)) {
			run_one(w, t);
			continue;
		}
		/* Stopping and nothing reserved: every task has been taken
		 * (a reservation is given back only after its dequeue). */
		if (ck_pr_load_uint(&p->state) == POOL_STOP_BIT)
			break;
		sleep_for_work(p);
	}
	return NULL;
}

/* ring_size: the shared ring's; a lane's is at most POOL_LANE_MAX_SLOTS. */
static int lanes_create(struct pool *p, unsigned n, unsigned ring_size)
{
	unsigned size = ring_size < POOL_LANE_MAX_SLOTS ? ring_size : POOL_LANE_MAX_SLOTS;

	if (n == 0)
		return 0;
	p->lanes = aligned_alloc(POOL_CACHE_LINE, n * sizeof(*p->lanes));
	if (!p->lanes)
		return -ENOMEM;
	memset(p->lanes, 0, n * sizeof(*p->lanes));
	p->nlanes = n; /* before the allocations: lanes_free() frees them all */
	for (unsigned i = 0; i < n; i++) {
		p->lanes[i].buf = calloc(size, sizeof(*p->lanes[i].buf));
		if (!p->lanes[i].buf)
			return -ENOMEM;
		ck_ring_init(&p->lanes[i].ring, size);
	}
	return 0;
}

static void lanes_free(struct pool *p)
{
	for (unsigned i = 0; i < p->nlanes; i++)
		free(p->lanes[i].buf);
	free(p->lanes);
}

int pool_create(struct pool **out, const struct pool_config *cfg)
{
	struct pool *p = NULL;
	unsigned size = 2;
	int err;

	*out = NULL;
	if (!cfg || cfg->threads < 1 || cfg->threads > POOL_MAX_THREADS ||
	    cfg->queue_size < 1 || cfg->queue_size >= POOL_MAX_QUEUE ||
	    cfg->lanes > POOL_MAX_LANES)
		return -EINVAL;
	while (size - 1 < cfg->queue_size)
		size <<= 1;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->buf = calloc(size, sizeof(*p->buf));
	/* aligned_alloc: the workers' blocks must not share cache lines. */
	p->w = aligned_alloc(POOL_CACHE_LINE, cfg->threads * sizeof(*p->w));
	if (!p->buf || !p->w) {
		err = -ENOMEM;
		goto fail;
	}
	memset(p->w, 0, cfg->threads * sizeof(*p->w));
	ck_ring_init(&p->ring, size);
	err = lanes_create(p, cfg->lanes, size);
	if (err)
		goto fail;
	snprintf(p->name, sizeof(p->name), "%s", cfg->name ? cfg->name : "pool");
	p->threads = cfg->threads;
	p->queue_size = cfg->queue_size;
	p->timeout_ns = cfg->timeout_ns;

	for (unsigned i = 0; i < cfg->threads; i++) {
		char tname[16];

		p->w[i].p = p;
		err = -pthread_create(&p->w[i].tid, NULL, worker, &p->w[i]);
		if (err)
			goto fail;
		p->started++;
		/* Names show in top -H and gdb; 15 chars at most. */
		snprintf(tname, sizeof(tname), "pmq-%.6s-%u", p->name, i % POOL_MAX_THREADS);
		pthread_setname_np(p->w[i].tid, tname);
	}
	*out = p;
	return 0;
fail:
	pool_destroy(p);
	return err;
}

/* Takes one of the queue_size slots: 0, -EBUSY or -ESHUTDOWN. */
static int reserve(struct pool *p)
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
			return 0;
	}
}

static void stamp(struct pool *p, struct pool_task *t)
{
	t->enqueued_ns = clock_now_ns();
	/* timeout 0: no deadline. */
	t->deadline_ns = p->timeout_ns ? t->enqueued_ns + p->timeout_ns : UINT64_MAX;
	PMQ_TSAN_RELEASE(t);
}

/* Publish, then look for a sleeper (store then load: a full fence; the
 * worker side does its locked inc of sleepers, then looks). */
static void published(struct pool *p)
{
	ck_pr_fence_memory();
	wake_one(p);
}

int pool_try_submit(struct pool *p, struct pool_task *t)
{
	int rc = reserve(p);

	if (rc)
		return rc;
	stamp(p, t);
	/* Cannot fail: reservations (<= queue_size) bound the entries and
	 * the ring holds size - 1 >= queue_size. */
	ring_enqueue_mp(&p->ring, p->buf, t);
	published(p);
	return 0;
}

int pool_try_submit_lane(struct pool *p, unsigned lane, struct pool_task *t)
{
	int rc;

	if (lane >= p->nlanes)
		return pool_try_submit(p, t); /* wakes itself; pool_wake() is harmless */
	rc = reserve(p);
	if (rc)
		return rc;
	stamp(p, t);
	/* A full lane overflows into the shared ring, which has room for
	 * every reservation. No wake here: pool_wake() after the batch. */
	if (!ck_ring_enqueue_spmc(&p->lanes[lane].ring, p->lanes[lane].buf, t))
		ring_enqueue_mp(&p->ring, p->buf, t);
	return 0;
}

void pool_wake(struct pool *p)
{
	published(p);
}

unsigned pool_queued(const struct pool *p)
{
	return ck_pr_load_uint(&((struct pool *)p)->state) & ~POOL_STOP_BIT;
}

void pool_wait_hist(const struct pool *p, struct hist *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < p->threads; i++)
		hist_add(out, &p->w[i].wait_us);
}

void pool_read_stats(const struct pool *p, struct pool_stats *out)
{
	struct pool *q = (struct pool *)p; /* ck_pr loads want non-const */
	struct hist wait;
	uint64_t dequeued = 0;

	memset(out, 0, sizeof(*out));
	out->threads = p->threads;
	out->queue_size = p->queue_size;
	out->queued = pool_queued(p);
	out->rejected_busy = ck_pr_load_64(&q->rejected_busy);
	for (unsigned i = 0; i < p->threads; i++) {
		struct pool_worker *w = &q->w[i];

		dequeued += ck_pr_load_64(&w->dequeued);
		out->expired += ck_pr_load_64(&w->expired);
		out->completed += ck_pr_load_64(&w->completed);
	}
	pool_wait_hist(p, &wait);
	/* Every accepted task is queued (reserved) or was dequeued; under
	 * concurrency the sum may be off by the tasks between the two. */
	out->submitted = dequeued + out->queued;
	out->wait_p50_us = hist_percentile(&wait, 500);
	out->wait_p99_us = hist_percentile(&wait, 990);
}

const char *pool_name(const struct pool *p)
{
	return p->name;
}

void pool_stop(struct pool *p)
{
	if (!p || p->stopped)
		return;
	ck_pr_or_uint(&p->state, POOL_STOP_BIT);
	/* Wake every sleeper so it sees the stop bit. */
	wake_all(p);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->w[i].tid, NULL);
	p->stopped = true;
}

void pool_destroy(struct pool *p)
{
	if (!p)
		return;
	pool_stop(p);
	free(p->w);
	free(p->buf);
	lanes_free(p);
	free(p);
}
