/*
 * progress.c - the watchdog's view of the runtime's threads and pools
 * (runtime_progress_check() in runtime.h; the policy is in
 * server/daemon/liveness.h).
 */
#include <config.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "actors/clock.h"
#include "server/runtime/io.h"
#include "server/runtime/probe.h"
#include "server/runtime/rt.h"
#include "server/runtime/timer.h"

/* What each pool looked like at the previous check (main thread only). */
static struct {
	bool valid;
	unsigned queued;
	uint64_t finished;
} last[RT_POOL_COUNT];

/* Records the first finding in why; counts them all. */
struct verdict {
	char *why;
	size_t cap;
	unsigned stuck;
};

__attribute__((format(printf, 2, 3)))
static void report(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->stuck++ != 0 || !v->cap)
		return;
	va_start(ap, fmt);
	vsnprintf(v->why, v->cap, fmt, ap);
	va_end(ap);
}

/* Posts the next ping (at most one waits at a time). A full mailbox needs
 * none: the owner has mail to take, and its stamp moves when it does. */
static void ping(struct probe *p, bool (*post)(void *, struct io_msg *), void *owner)
{
	if (atomic_load_explicit(&p->ping_queued, memory_order_acquire))
		return;
	/* Set before posting: the owner clears it when it takes the ping. */
	atomic_store_explicit(&p->ping_queued, true, memory_order_relaxed);
	if (!post(owner, &p->ping))
		atomic_store_explicit(&p->ping_queued, false, memory_order_relaxed);
}

static void check_probe(struct verdict *v, struct probe *p, const char *what,
                        bool (*post)(void *, struct io_msg *), void *owner, uint64_t now)
{
	uint64_t took = atomic_load_explicit(&p->took, memory_order_acquire);

	if (!p->expecting || took != p->took_seen)
		p->progress_ms = now;
	else
		report(v, "%s has not taken its mail for %" PRIu64 " ms", what,
		       now - p->progress_ms);
	p->took_seen = took;
	ping(p, post, owner);
	p->expecting = true;
}

static bool post_io(void *owner, struct io_msg *m)
{
	return io_post(owner, m);
}

static bool post_timer(void *owner, struct io_msg *m)
{
	return timer_post_msg(owner, m);
}

static void check_threads(struct verdict *v)
{
	uint64_t now = clock_now_ms();
	char what[64];

	for (unsigned i = 0; i < rt.nio; i++) {
		snprintf(what, sizeof what, "IO thread %u", i);
		check_probe(v, io_probe(rt.io[i]), what, post_io, rt.io[i], now);
	}
	if (rt.timer)
		check_probe(v, timer_probe(rt.timer), "the timer thread", post_timer, rt.timer, now);
}

static void check_pools(struct verdict *v)
{
	for (int i = 0; i < RT_POOL_COUNT; i++) {
		struct pool_stats st;

		if (!rt.pools[i])
			continue;
		pool_read_stats(rt.pools[i], &st);
		uint64_t finished = st.completed + st.expired;
		if (last[i].valid && last[i].queued > 0 && st.queued > 0 &&
		    finished == last[i].finished)
			report(v, "%s pool stuck: %u queued, none finished since the last check",
			       rt_pool_name((enum rt_pool)i), st.queued);
		last[i].valid = true;
		last[i].queued = st.queued;
		last[i].finished = finished;
	}
}

unsigned runtime_progress_check(char *why, size_t cap)
{
	struct verdict v = { .why = why, .cap = cap };

	if (cap)
		why[0] = '\0';
	check_threads(&v);
	check_pools(&v);
	return v.stuck;
}
