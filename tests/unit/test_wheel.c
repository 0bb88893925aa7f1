/* The timer wheel: never early, at most one tick late, wrap-around, cancel,
 * rescheduling from a callback, and many entries. Time is simulated. */
#include <config.h>

#include <errno.h>
#include <stdint.h>

#include "actors/wheel.h"
#include "tests/tap.h"

struct rec {
	struct wheel_entry e;
	uint64_t *now;          /* the simulated clock at fire time */
	uint64_t fired_at;
	unsigned fires;
	unsigned order;
	unsigned *order_ctr;
	/* for reschedule / cancel from a callback */
	struct wheel *w;
	unsigned period, times;
	struct rec *victim;
};

static void on_fire(struct wheel_entry *e, void *arg)
{
	struct rec *r = arg;

	(void)e;
	r->fires++;
	r->fired_at = *r->now;
	if (r->order_ctr)
		r->order = (*r->order_ctr)++;
	if (r->victim)
		wheel_cancel(r->w, &r->victim->e);
	if (r->period && r->fires < r->times)
		wheel_schedule(r->w, &r->e, *r->now + r->period);
}

static void rec_init(struct rec *r, uint64_t *now)
{
	memset(r, 0, sizeof(*r));
	r->e.fire = on_fire;
	r->e.arg = r;
	r->now = now;
}

/* xorshift: deterministic "random" deadlines */
static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_create(void)
{
	struct wheel *w;

	is(wheel_create(&w, 0, 10, 0), -EINVAL, "0 slots refused");
	is(wheel_create(&w, 8, 0, 0), -EINVAL, "0 ms tick refused");
	is(wheel_create(&w, 100, 10, 5), 0, "create 100 slots (rounded to 128)");
	is(wheel_count(w), 0, "empty");
	is(wheel_advance(w, 1000), 0, "nothing fires on an empty wheel");
	wheel_destroy(w);
	wheel_destroy(NULL);
}

static void test_order_and_lateness(void)
{
	enum { N = 50 };
	struct wheel *w;
	struct rec r[N];
	uint64_t now = 1000;
	unsigned ctr = 0;
	bool early = false, late = false, order = true;

	wheel_create(&w, 16, 10, now);
	for (unsigned i = 0; i < N; i++) {
		rec_init(&r[i], &now);
		r[i].order_ctr = &ctr;
		/* distinct deadlines 37 ms apart, spanning several rounds */
		wheel_schedule(w, &r[i].e, 1000 + 5 + (uint64_t)(N - i) * 37);
	}
	is(wheel_count(w), N, "all queued");
	/* Advance one tick at a time: each fires within one tick. */
	while (now < 1000 + 5 + (N + 1) * 37 + 20) {
		now += 10;
		wheel_advance(w, now);
	}
	for (unsigned i = 0; i < N; i++) {
		early |= r[i].fired_at < r[i].e.deadline_ms;
		late |= r[i].fired_at >= r[i].e.deadline_ms + 10;
		order &= r[i].order == N - 1 - i;
		if (r[i].fires != 1)
			order = false;
	}
	ok(!early, "none fired early");
	ok(!late, "none fired a tick or more late (advancing a tick at a time)");
	ok(order, "fired once each, in deadline order");
	is(wheel_count(w), 0, "wheel empty after");
	wheel_destroy(w);
}

static void test_never_early_random(void)
{
	enum { N = 2000 };
	struct wheel *w;
	static struct rec r[N];
	uint64_t now = 0, prev = 0;
	bool early = false, missed = false;
	unsigned total = 0;

	wheel_create(&w, 64, 4, 0);
	for (unsigned i = 0; i < N; i++) {
		rec_init(&r[i], &now);
		wheel_schedule(w, &r[i].e, rnd() % 5000);
	}
	/* Random steps, some over a whole round (64 * 4 ms). */
	while (wheel_count(w) > 0 && now < 20000) {
		prev = now;
		now += rnd() % 300;
		unsigned f = wheel_advance(w, now);
		total += f;
		for (unsigned i = 0; i < N; i++) {
			if (r[i].fires && r[i].fired_at == now) {
				early |= r[i].e.deadline_ms > now;
				/* It must fire on the FIRST advance at or
				 * past its deadline. */
				missed |= r[i].e.deadline_ms <= prev && prev > 0;
			}
		}
	}
	ok(!early, "random steps: never early");
	ok(!missed, "random steps: fired on the first advance past the deadline");
	is(total, N, "every entry fired");
	bool once = true;
	for (unsigned i = 0; i < N; i++)
		once &= r[i].fires == 1;
	ok(once, "each exactly once");
	wheel_destroy(w);
}

static void test_far_future_and_past(void)
{
	struct wheel *w;
	struct rec far, past;
	uint64_t now = 0;

	wheel_create(&w, 8, 10, 0);     /* one round = 80 ms */
	rec_init(&far, &now);
	rec_init(&past, &now);
	wheel_schedule(w, &far.e, 1005);  /* ~12.5 rounds ahead */
	for (now = 10; now < 1005; now += 10)
		wheel_advance(w, now);
	is(far.fires, 0, "far deadline re-checked each round, not fired");
	now = 1005;
	wheel_advance(w, now);
	is(far.fires, 1, "fires when its time comes");

	/* A jump over many rounds fires it exactly at the jump. */
	wheel_schedule(w, &far.e, 5000);
	now = 100000;
	is(wheel_advance(w, now), 1, "big jump fires what is due");
	is(far.fires, 2, "fired once more");

	wheel_schedule(w, &past.e, 3);  /* already in the past */
	is(past.fires, 0, "a past deadline does not fire on schedule");
	wheel_advance(w, now);
	is(past.fires, 1, "it fires on the next advance");

	/* Time that does not move still re-checks the current tick. */
	wheel_schedule(w, &past.e, now + 5);
	wheel_advance(w, now + 4);
	is(past.fires, 1, "not early within a tick");
	wheel_advance(w, now + 5);
	is(past.fires, 2, "fires at its deadline within the same tick");
	wheel_destroy(w);
}

static void test_cancel(void)
{
	struct wheel *w;
	struct rec a, b, c;
	uint64_t now = 0;

	wheel_create(&w, 8, 1, 0);
	rec_init(&a, &now);
	rec_init(&b, &now);
	rec_init(&c, &now);
	wheel_schedule(w, &a.e, 5);
	wheel_schedule(w, &b.e, 5);
	wheel_schedule(w, &c.e, 13); /* same slot as 5 (13 & 7 == 5) */
	wheel_cancel(w, &a.e);
	wheel_cancel(w, &a.e);
	ok(!a.e.queued && a.e.next == NULL, "cancelled entry is unlinked");
	is(wheel_count(w), 2, "count after cancel");
	wheel_schedule(w, &b.e, 6);     /* re-schedule moves it */
	is(wheel_count(w), 2, "re-scheduling does not duplicate");
	now = 5;
	is(wheel_advance(w, now), 0, "nothing at 5 any more");
	now = 6;
	is(wheel_advance(w, now), 1, "b at 6");
	now = 20;
	is(wheel_advance(w, now), 1, "c at 13");
	is(a.fires, 0, "cancelled never fires");

	/* A callback cancels an entry of the same slot not yet visited. */
	struct rec k1, k2;
	rec_init(&k1, &now);
	rec_init(&k2, &now);
	k1.w = w;
	k1.victim = &k2;
	wheel_schedule(w, &k1.e, 30);
	wheel_schedule(w, &k2.e, 30);
	now = 30;
	is(wheel_advance(w, now), 1, "callback cancelled its neighbour");
	is(k2.fires, 0, "the neighbour did not fire");
	is(wheel_count(w), 0, "empty");
	wheel_destroy(w);
}

static void test_reschedule_from_callback(void)
{
	struct wheel *w;
	struct rec p, z;
	uint64_t now = 0;
	unsigned fired = 0;

	wheel_create(&w, 16, 5, 0);
	rec_init(&p, &now);
	p.w = w;
	p.period = 100;
	p.times = 10;
	wheel_schedule(w, &p.e, 100);
	for (now = 1; now <= 2000; now++)
		fired += wheel_advance(w, now);
	is(p.fires, 10, "periodic entry fired 10 times");
	is(fired, 10, "advance counted them");
	is(p.fired_at, 1000, "last firing on time");

	/* A callback that re-arms at 'now' during a multi-tick advance fires
	 * on the next advance, not a round later. */
	rec_init(&z, &now);
	z.w = w;
	z.period = 0;
	wheel_schedule(w, &z.e, now + 1);
	now += 50;
	wheel_advance(w, now);
	is(z.fires, 1, "fired");
	wheel_schedule(w, &z.e, now); /* due now */
	now += 1;
	wheel_advance(w, now);
	is(z.fires, 2, "re-armed at now fires on the next advance");
	wheel_destroy(w);
}

static struct wheel *zw;
static void rearm_now(struct wheel_entry *e, void *arg)
{
	unsigned *n = arg;
	if (++*n < 3)
		wheel_schedule(zw, e, e->deadline_ms); /* same, past deadline */
}

static void test_rearm_in_long_advance(void)
{
	struct wheel_entry e = { .fire = rearm_now };
	unsigned n = 0;

	wheel_create(&zw, 8, 10, 0);
	e.arg = &n;
	wheel_schedule(zw, &e, 15);
	wheel_advance(zw, 500);         /* many ticks in one go */
	ok(n >= 2, "re-armed past-due entry fired again in the same or next advance (%u)", n);
	wheel_advance(zw, 510);
	is(n, 3, "and again: never parked for a round");
	is(wheel_count(zw), 0, "done");
	wheel_destroy(zw);
}

static void test_many(void)
{
	enum { N = 100000 };
	struct wheel *w;
	struct rec *r = calloc(N, sizeof(*r));
	uint64_t now = 0;
	unsigned total = 0;
	bool ok_all = true;

	wheel_create(&w, 512, 1, 0);
	for (unsigned i = 0; i < N; i++) {
		rec_init(&r[i], &now);
		wheel_schedule(w, &r[i].e, 1 + rnd() % 10000);
	}
	for (unsigned i = 0; i < N; i += 3)
		wheel_cancel(w, &r[i].e);
	is(wheel_count(w), N - (N + 2) / 3, "count after cancelling a third");
	for (now = 0; now <= 10000; now += 7)
		total += wheel_advance(w, now);
	now = 10001;
	total += wheel_advance(w, now);
	is(total, N - (N + 2) / 3, "every remaining entry fired");
	for (unsigned i = 0; i < N; i++) {
		unsigned want = i % 3 ? 1 : 0;
		ok_all &= r[i].fires == want &&
		          (!want || (r[i].fired_at >= r[i].e.deadline_ms &&
		                     r[i].fired_at < r[i].e.deadline_ms + 7));
	}
	ok(ok_all, "each once, never early, within one advance step");
	is(wheel_count(w), 0, "empty");
	wheel_destroy(w);
	free(r);
}

int main(void)
{
	test_create();
	test_order_and_lateness();
	test_never_early_random();
	test_far_future_and_past();
	test_cancel();
	test_reschedule_from_callback();
	test_rearm_in_long_advance();
	test_many();
	return done_testing();
}
