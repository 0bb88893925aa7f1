/*
 * pool.h - a bounded executor pool: fixed workers, lock-free queues.
 *
 * Promises:
 *  - pool_try_submit() never blocks and never allocates: the task goes into
 *    the pool's ring, or the call fails at once with -EBUSY and the caller
 *    answers 503 itself. At most queue_size tasks wait at any time.
 *  - A task dequeued after its deadline is handed to its expire callback
 *    (answer 504) instead of run, and counted as expired.
 *  - Idle workers sleep on a futex, never spin and never sched_yield() in
 *    a loop; a submit (or pool_wake() after lane submits) wakes one
 *    sleeping worker, and only when one sleeps.
 *  - Task memory belongs to the caller; the pool only passes the pointer
 *    along. A task is given to exactly one of run / expire / (at shutdown)
 *    cancel.
 */
#ifndef PMQ_POOL_H
#define PMQ_POOL_H

#include <stdint.h>

struct pool;
struct pool_task;

typedef void pool_task_fn(struct pool_task *t);

/* Embed this at the start of (or anywhere in) your request structure. */
struct pool_task {
	pool_task_fn *run;       /* on a worker, deadline not passed */
	pool_task_fn *expire;    /* on a worker, deadline passed: answer 504 */
	uint64_t enqueued_ns;   /* set by pool_try_submit (monotonic) */
	uint64_t deadline_ns;   /* set by pool_try_submit: enqueued + timeout */
};

struct pool_config {
	const char *name;       /* "get", "put", "heartbeat": used in logs, stats */
	unsigned threads;       /* >= 1 */
	unsigned queue_size;    /* >= 1: the bound, exactly */
	uint64_t timeout_ns;    /* request deadline measured from enqueue */
	unsigned lanes;         /* single-producer lanes (0..1024), see below */
};

struct pool_stats {
	unsigned threads;
	unsigned queue_size;
	unsigned queued;        /* waiting now */
	uint64_t submitted;     /* accepted into the queue */
	uint64_t rejected_busy; /* try_submit said -EBUSY */
	uint64_t expired;       /* handed to expire */
	uint64_t completed;     /* handed to run and returned */
	uint64_t wait_p50_us;   /* queue wait, from a histogram of all dequeues */
	uint64_t wait_p99_us;
};

/* Starts the workers. Returns 0 or -errno. */
int pool_create(struct pool **out, const struct pool_config *cfg);

/* Any thread. 0, or -EBUSY when the queue holds queue_size tasks already,
 * or -ESHUTDOWN once pool_stop() has begun. */
int pool_try_submit(struct pool *p, struct pool_task *t);
/* The same through lane (< cfg.lanes; others fall back to the shared
 * queue). A lane must have one producer thread at a time: its caller
 * promises that (an IO thread submits through its own index). Tasks of
 * one lane are taken in their order; the bound is shared by all lanes.
 * It does not wake a worker: after a batch of lane submits, and always
 * before the producer sleeps or blocks, it calls pool_wake() once (one
 * fence and one look at the sleepers per batch instead of per task). */
int pool_try_submit_lane(struct pool *p, unsigned lane, struct pool_task *t);
void pool_wake(struct pool *p);

/* Tasks waiting now. */
unsigned pool_queued(const struct pool *p);
void pool_read_stats(const struct pool *p, struct pool_stats *out);
/* The queue-wait histogram of every worker, summed into *out (any thread). */
struct hist;
void pool_wait_hist(const struct pool *p, struct hist *out);
const char *pool_name(const struct pool *p);

/*
 * Stop accepting, let the workers finish every queued task (run or expire as
 * usual), then join them. Safe to call once; pool_destroy() frees.
 */
void pool_stop(struct pool *p);
void pool_destroy(struct pool *p);

#endif
