/* The executor pool: the exact bound, expiry, exactly-once under
 * multi-producer stress, stats, draining stop and idle sleep. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>

#include <ck_pr.h>

#include "actors/clock.h"
#include "pool/pool.h"
#include "tests/tap.h"

#define WAIT_MS 30000   /* guards against hangs only */

/* ---- a gate the test opens, and a counter it can wait on ------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool gate_open, blocker_started;
static unsigned done_count;

static bool wait_until(bool (*pred)(void *), void *arg)
{
	struct timespec dl;
	bool r;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&mu);
	while (!(r = pred(arg)))
		if (pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT) {
			r = pred(arg);
			break;
		}
	pthread_mutex_unlock(&mu);
	return r;
}

static bool is_started(void *arg) { (void)arg; return blocker_started; }
static bool reached(void *arg) { return done_count >= *(unsigned *)arg; }

static void gate(bool open)
{
	pthread_mutex_lock(&mu);
	gate_open = open;
	blocker_started = false;
	done_count = 0;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

struct job {
	struct pool_task t;      /* first, so the cast back is plain */
	unsigned ran, expired;
	bool blocks;
};

static void job_finish(struct job *j)
{
	if (j->blocks) {
		pthread_mutex_lock(&mu);
		blocker_started = true;
		pthread_cond_broadcast(&cv);
		while (!gate_open)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_lock(&mu);
	done_count++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void job_run(struct pool_task *t)
{
	struct job *j = (struct job *)t;
	ck_pr_inc_uint(&j->ran);
	job_finish(j);
}

static void job_expire(struct pool_task *t)
{
	struct job *j = (struct job *)t;
	ck_pr_inc_uint(&j->expired);
	job_finish(j);
}

static void job_init(struct job *j, bool blocks)
{
	memset(j, 0, sizeof(*j));
	j->t.run = job_run;
	j->t.expire = job_expire;
	j->blocks = blocks;
}

static void test_config(void)
{
	struct pool *p;
	struct pool_config c = { "x", 0, 4, 0, 0 };

	is(pool_create(&p, &c), -EINVAL, "0 threads refused");
	c.threads = 1;
	c.queue_size = 0;
	is(pool_create(&p, &c), -EINVAL, "0 queue refused");
	ok(p == NULL, "no pool on error");
}

static void test_exact_bound(unsigned qs)
{
	struct pool *p;
	struct pool_config c = { "get", 1, qs, 60ull * 1000000000u, 0 };
	struct pool_stats st;
	struct job blocker, *jobs = calloc(qs + 1, sizeof(*jobs));
	unsigned want;
	bool all = true;

	gate(false);
	is(pool_create(&p, &c), 0, "[q=%u] create", qs);
	is_str(pool_name(p), "get", "name kept");
	job_init(&blocker, true);
	is(pool_try_submit(p, &blocker.t), 0, "blocker accepted");
	ok(wait_until(is_started, NULL), "the only worker is blocked");
	for (unsigned i = 0; i < qs; i++) {
		job_init(&jobs[i], false);
		all &= pool_try_submit(p, &jobs[i].t) == 0;
	}
	ok(all, "[q=%u] exactly queue_size accepted", qs);
	is(pool_queued(p), qs, "queued == queue_size");
	job_init(&jobs[qs], false);
	is(pool_try_submit(p, &jobs[qs].t), -EBUSY, "the next one: -EBUSY");
	is(pool_try_submit(p, &jobs[qs].t), -EBUSY, "and again");
	pool_read_stats(p, &st);
	is(st.queued, qs, "stats: queued");
	is(st.queue_size, qs, "stats: queue_size");
	is(st.threads, 1, "stats: threads");
	is(st.submitted, qs + 1, "stats: submitted");
	is(st.rejected_busy, 2, "stats: rejected_busy");

	gate(true);
	want = qs;  /* the blocker's own count was reset by gate() */
	ok(wait_until(reached, &want), "all queued tasks ran after release");
	pool_stop(p);
	pool_read_stats(p, &st);
	is(st.completed, qs + 1, "stats: completed");
	is(st.expired, 0, "stats: expired");
	is(st.queued, 0, "stats: queued 0");
	all = blocker.ran == 1;
	for (unsigned i = 0; i < qs; i++)
		all &= jobs[i].ran == 1 && jobs[i].expired == 0;
	ok(all && jobs[qs].ran == 0, "each accepted task ran once, the rejected never");
	pool_destroy(p);
	free(jobs);
}

static void test_expiry(void)
{
	enum { N = 3 };
	struct pool *p;
	struct pool_config c = { "put", 1, 8, 1000000, 0 }; /* 1 ms */
	struct pool_stats st;
	struct job blocker, j[N];
	unsigned want = N;

	gate(false);
	pool_create(&p, &c);
	job_init(&blocker, true);
	pool_try_submit(p, &blocker.t);
	ok(wait_until(is_started, NULL), "worker blocked");
	for (unsigned i = 0; i < N; i++) {
		job_init(&j[i], false);
		pool_try_submit(p, &j[i].t);
	}
	ok(j[N - 1].t.deadline_ns == j[N - 1].t.enqueued_ns + 1000000,
	   "deadline = enqueue + timeout");
	/* Wait for the clock (not for the pool) to pass the deadlines. */
	while (clock_now_ns() <= j[N - 1].t.deadline_ns) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	gate(true);
	ok(wait_until(reached, &want), "the queued tasks were handed over");
	pool_stop(p);
	bool exp = true;
	for (unsigned i = 0; i < N; i++)
		exp &= j[i].expired == 1 && j[i].ran == 0;
	ok(exp, "late tasks went to expire, not run");
	pool_read_stats(p, &st);
	is(st.expired - (blocker.expired ? 1 : 0), N, "stats: expired");
	is(st.completed + st.expired, N + 1, "stats: every task accounted for");
	ok(st.wait_p99_us >= 1000, "p99 queue wait shows the 1 ms+ wait (%llu us)",
	   (unsigned long long)st.wait_p99_us);
	pool_destroy(p);
}

/* ---- stress ---------------------------------------------------------- */

#define PRODUCERS 4
#define PER_PRODUCER 50000

struct counted {
	struct pool_task t;
	unsigned runs, expires;
};

static void counted_run(struct pool_task *t)
{
	ck_pr_inc_uint(&((struct counted *)t)->runs);
}

static void counted_expire(struct pool_task *t)
{
	ck_pr_inc_uint(&((struct counted *)t)->expires);
}

static struct pool *sp;
static struct counted *tasks;
static uint64_t busy_seen[PRODUCERS];
static unsigned per_producer = PER_PRODUCER;

static void *producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < per_producer; i++) {
		struct counted *c = &tasks[id * per_producer + i];
		int r;

		c->t.run = counted_run;
		c->t.expire = counted_expire;
		while ((r = pool_try_submit(sp, &c->t)) == -EBUSY) {
			busy_seen[id]++;
			sched_yield();
		}
		if (r != 0)
			bail_out("submit: %d", r);
	}
	return NULL;
}

static void test_stress(void)
{
	struct pool_config c = { "stress", 4, 256, 0, 0 }; /* no deadline */
	struct pool_stats st;
	pthread_t th[PRODUCERS];
	uint64_t busy = 0, t0 = clock_now_ms();
	unsigned total, bad = 0;
	const char *scale = getenv("PMQ_POOL_STRESS");

	if (scale && atoi(scale) > 0)
		per_producer = (unsigned)atoi(scale);
	total = PRODUCERS * per_producer;
	tasks = calloc(total, sizeof(*tasks));
	is(pool_create(&sp, &c), 0, "stress pool");
	for (unsigned i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		busy += busy_seen[i];
	}
	pool_stop(sp);
	for (unsigned i = 0; i < total; i++)
		bad += tasks[i].runs != 1 || tasks[i].expires != 0;
	is(bad, 0, "%u tasks from %d producers: each run exactly once", total,
	   PRODUCERS);
	pool_read_stats(sp, &st);
	is(st.submitted, total, "stats: submitted");
	is(st.completed, total, "stats: completed");
	is(st.expired, 0, "stats: none expired");
	is(st.rejected_busy, busy, "stats: rejected_busy matches what producers saw");
	is(st.queued, 0, "stats: queue empty");
	ok(st.wait_p50_us <= st.wait_p99_us, "p50 %llu us <= p99 %llu us",
	   (unsigned long long)st.wait_p50_us, (unsigned long long)st.wait_p99_us);
	is(pool_try_submit(sp, &tasks[0].t), -ESHUTDOWN, "after stop: -ESHUTDOWN");
	diag("stress: %u tasks in %llu ms, %llu EBUSY retries", total,
	     (unsigned long long)(clock_now_ms() - t0), (unsigned long long)busy);
	pool_destroy(sp);
	free(tasks);
}

/* ---- lanes: one producer each --------------------------------------- */

#define LANE_PRODUCERS 3
#define PER_LANE 20000

struct ordered {
	struct pool_task t;
	unsigned lane, seq, runs;
};

static unsigned lane_last[LANE_PRODUCERS]; /* the one worker's view */
static unsigned lane_out_of_order;

static void ordered_run(struct pool_task *t)
{
	struct ordered *o = (struct ordered *)t;

	/* One worker: a lane's tasks must arrive in their submit order. */
	if (o->seq != 0 && o->seq != lane_last[o->lane] + 1)
		lane_out_of_order++;
	lane_last[o->lane] = o->seq;
	ck_pr_inc_uint(&o->runs);
}

static struct pool *lp;
static struct ordered *ltasks;
static uint64_t lane_busy[LANE_PRODUCERS];

static void *lane_producer(void *arg)
{
	unsigned lane = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < PER_LANE; i++) {
		struct ordered *o = &ltasks[lane * PER_LANE + i];
		int r;

		o->t.run = o->t.expire = ordered_run;
		o->lane = lane;
		o->seq = i;
		while ((r = pool_try_submit_lane(lp, lane, &o->t)) == -EBUSY) {
			lane_busy[lane]++;
			pool_wake(lp); /* before yielding: the contract */
			sched_yield();
		}
		if (r != 0)
			bail_out("lane submit: %d", r);
		if (i % 16 == 15)
			pool_wake(lp); /* a wake per batch, as an IO thread does */
	}
	pool_wake(lp);
	return NULL;
}

static void test_lanes(void)
{
	struct pool_config c = { "lanes", 1, 64, 0, LANE_PRODUCERS };
	struct pool_stats st;
	pthread_t th[LANE_PRODUCERS];
	unsigned total = LANE_PRODUCERS * PER_LANE, bad = 0;
	uint64_t busy = 0;

	ltasks = calloc(total, sizeof(*ltasks));
	is(pool_create(&lp, &c), 0, "a pool with %d lanes", LANE_PRODUCERS);
	for (unsigned i = 0; i < LANE_PRODUCERS; i++)
		pthread_create(&th[i], NULL, lane_producer, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < LANE_PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		busy += lane_busy[i];
	}
	pool_stop(lp);
	for (unsigned i = 0; i < total; i++)
		bad += ltasks[i].runs != 1;
	is(bad, 0, "%u tasks through %d lanes: each run exactly once", total, LANE_PRODUCERS);
	is(lane_out_of_order, 0, "each lane's tasks ran in submit order");
	pool_read_stats(lp, &st);
	is(st.completed, total, "stats: completed");
	is(st.rejected_busy, busy, "stats: rejected_busy is what the producers saw (%llu)",
	   (unsigned long long)busy);
	pool_destroy(lp);
	free(ltasks);
}

/* A lane holds 4095; the rest of the bound overflows into the shared ring. */
static void test_lane_overflow(void)
{
	enum { QS = 5000 };
	struct pool *p;
	struct pool_config c = { "over", 1, QS, 0, 1 };
	struct job blocker, *jobs = calloc(QS + 1, sizeof(*jobs));
	unsigned want = QS;
	bool all = true;

	gate(false);
	is(pool_create(&p, &c), 0, "one lane, queue_size %d", QS);
	job_init(&blocker, true);
	is(pool_try_submit_lane(p, 0, &blocker.t), 0, "blocker through the lane");
	ok(wait_until(is_started, NULL), "the only worker is blocked");
	for (unsigned i = 0; i < QS; i++) {
		job_init(&jobs[i], false);
		all &= pool_try_submit_lane(p, i % 2 ? 0 : 7, &jobs[i].t) == 0;
	}
	pool_wake(p);
	ok(all, "queue_size accepted through lane 0 (past its 4095) and lane 7 (none: shared)");
	job_init(&jobs[QS], false);
	is(pool_try_submit_lane(p, 0, &jobs[QS].t), -EBUSY, "the bound holds across lanes");
	gate(true);
	ok(wait_until(reached, &want), "all ran after release");
	pool_stop(p);
	for (unsigned i = 0; i < QS; i++)
		all &= jobs[i].ran == 1;
	ok(all && jobs[QS].ran == 0, "each accepted task ran once");
	pool_destroy(p);
	free(jobs);
}

/* ---- stop drains ----------------------------------------------------- */

static void *stopper(void *arg)
{
	pool_stop(arg);
	return NULL;
}

static void test_stop_drains(void)
{
	enum { N = 50 };
	struct pool *p;
	/* The queue is exactly full, so the probing submission below is
	 * refused (-EBUSY) until the stop begins (-ESHUTDOWN). */
	struct pool_config c = { "hb", 1, N, 0, 0 };
	struct pool_stats st;
	struct job blocker, j[N], late;
	pthread_t th;
	bool all = true, refused = false;

	gate(false);
	pool_create(&p, &c);
	job_init(&blocker, true);
	pool_try_submit(p, &blocker.t);
	ok(wait_until(is_started, NULL), "worker blocked");
	for (unsigned i = 0; i < N; i++) {
		job_init(&j[i], false);
		pool_try_submit(p, &j[i].t);
	}
	pthread_create(&th, NULL, stopper, p);
	/* Wait for the stop to begin: submissions are refused from then. */
	job_init(&late, false);
	for (uint64_t end = clock_now_ms() + WAIT_MS; clock_now_ms() < end;) {
		if (pool_try_submit(p, &late.t) == -ESHUTDOWN) {
			refused = true;
			break;
		}
		sched_yield();
	}
	ok(refused, "stop begun: -ESHUTDOWN");
	gate(true);
	pthread_join(th, NULL);
	for (unsigned i = 0; i < N; i++)
		all &= j[i].ran == 1;
	ok(all && blocker.ran == 1, "stop ran every queued task before joining");
	pool_read_stats(p, &st);
	is(st.completed, st.submitted, "completed == submitted");
	is(st.queued, 0, "nothing left queued");
	pool_stop(p); /* a second stop is harmless */
	pool_destroy(p);
}

/* ---- idle workers sleep ---------------------------------------------- */

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void test_idle(void)
{
	struct pool *p;
	struct pool_config c = { "idle", 4, 16, 0, 0 };
	struct timespec ts = { 0, 600000000 };

	pool_create(&p, &c);
	double before = cpu_s();
	nanosleep(&ts, NULL); /* measuring idleness, not synchronising */
	double used = cpu_s() - before;
	ok(used < 0.15, "4 idle workers used %.3f s CPU in 0.6 s (limit 0.15)",
	   used);
	pool_destroy(p);
}

int main(void)
{
	test_config();
	test_exact_bound(1);
	test_exact_bound(8);
	test_exact_bound(100);   /* not a power of two minus one */
	test_expiry();
	test_stop_drains();
	test_stress();
	test_lanes();
	test_lane_overflow();
	test_idle();
	return done_testing();
}
