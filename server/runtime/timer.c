/*
 * timer.c - the one timer thread: a hashed wheel of idle timers.
 *
 * IO threads hand a session's idle_timer over through this thread's
 * mailbox (MPSC ring + eventfd, woken only while it sleeps); the thread
 * queues it in the wheel. When it fires, the timer is posted to the owning
 * IO thread's mailbox as an idle-check message: the timer never looks at a
 * session, the IO thread does and sends the timer back with its next
 * deadline. While the wheel holds timers the thread wakes once a tick;
 * with none it sleeps until a timer arrives or a periodic hook is due.
 *
 * Periodic hooks (runtime_every(), e.g. the broker's retention) are timed
 * here and run on a pool worker: the timer submits the task and goes on,
 * so a slow unlink or fsync never delays an idle check.
 *
 * A fired timer whose IO mailbox is full stays here and is retried a tick
 * later: this thread never blocks on an IO thread.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/runtime/io.h"
#include "server/runtime/probe.h"
#include "server/runtime/reqlife.h"
#include "server/runtime/timer.h"

#define TIMER_MAILBOX_CAPACITY 65536 /* timers in transit; IO threads retry when full */
/* The longest the thread sleeps with nothing due: a bound, not a period. */
#define TIMER_IDLE_WAKE_MS 1000

/* One periodic hook: its task is in a pool or free, never both
 * (running), so a slow run skips periods instead of piling up. */
struct periodic {
	struct pool_task task;          /* first: the pool hands it back */
	uint32_t period_ms;
	enum rt_pool pool;
	void (*fn)(void *ctx);
	void *ctx;
	uint64_t next_ms;               /* timer thread only */
	atomic_bool running;
};
static struct periodic periodics[RT_PERIODIC_MAX];
static unsigned nperiodics;

struct timer_thread {
	pthread_t tid;
	bool started;
	bool stopping;
	struct mailbox *mb;
	struct wheel *wheel;
	struct idle_timer owned;        /* list head: every timer in the wheel */
	struct io_ctrl stop;
	struct probe probe;      /* the watchdog's ping (probe.h) */
};

/* `debug sleep timer MS OPAQUE`: stop this thread, then answer h. */
struct timer_stall {
	struct io_msg msg;              /* IOM_STALL, h: who asked */
	int32_t opaque;
	int32_t ms;
};

static void own(struct timer_thread *tt, struct idle_timer *t)
{
	t->next = tt->owned.next;
	t->prev = &tt->owned;
	tt->owned.next->prev = t;
	tt->owned.next = t;
}

static void disown(struct idle_timer *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

static void fire(struct wheel_entry *e, void *arg)
{
	struct idle_timer *t = arg;
	struct timer_thread *tt = rt.timer;

	(void)e;
	/* Off our list first: once posted, the IO thread owns every field. */
	disown(t);
	if (io_post(rt.io[t->msg.h.io], &t->msg))
		return;
	/* Its IO thread is flooded: ask again next tick. */
	own(tt, t);
	wheel_schedule(tt->wheel, &t->entry, clock_now_ms() + (uint64_t)rt.cfg->tick_ms);
}

/* Sleeps the whole stall, then answers. */
static void stall(struct timer_stall *st)
{
	char line[64];

	pmq_log(PMQ_LOG_WARN, "debug: timer thread stops for %d ms", (int)st->ms);
	clock_sleep_ms(st->ms);
	size_t n = pmq_encode_result(line, sizeof line, 200, NULL, 0, st->opaque);
	struct outbuf *b = outbuf_new(n);
	if (b) {
		memcpy(b->data, line, n);
		reply_post(st->msg.h, false, b);
	}
	free(st);
}

static void take_mail(struct timer_thread *tt)
{
	struct io_msg *m;
	bool took = false;

	while ((m = mailbox_take(tt->mb))) {
		took = true;
		if (m->type == IOM_CTRL) {
			tt->stopping = true;
			continue;
		}
		if (m->type == IOM_PING) {
			probe_took_ping(&tt->probe);
			continue;
		}
		if (m->type == IOM_STALL) {
			stall((struct timer_stall *)m);
			continue;
		}
		struct idle_timer *t = (struct idle_timer *)m;
		t->entry.fire = fire;
		t->entry.arg = t;
		own(tt, t);
		wheel_schedule(tt->wheel, &t->entry, t->deadline_ms);
	}
	if (took)
		probe_took_mail(&tt->probe);
}

int runtime_every(uint32_t period_ms, enum rt_pool pool, void (*fn)(void *ctx), void *ctx)
{
	if (nperiodics == RT_PERIODIC_MAX || period_ms == 0)
		return -ENOSPC;
	periodics[nperiodics++] = (struct periodic){
		.period_ms = period_ms, .pool = pool, .fn = fn, .ctx = ctx,
	};
	return 0;
}

static void periodic_run(struct pool_task *t)
{
	struct periodic *pe = (struct periodic *)t;

	pe->fn(pe->ctx);
	atomic_store_explicit(&pe->running, false, memory_order_release);
}

/* Waited past its deadline in a busy pool: this period is skipped. */
static void periodic_expire(struct pool_task *t)
{
	struct periodic *pe = (struct periodic *)t;

	atomic_store_explicit(&pe->running, false, memory_order_release);
}

/* Submits every hook that is due and not still running; returns the time
 * of the next one due. */
static uint64_t periodic_post(uint64_t now)
{
	uint64_t next = now + TIMER_IDLE_WAKE_MS;

	for (unsigned i = 0; i < nperiodics; i++) {
		struct periodic *pe = &periodics[i];

		if (pe->next_ms == 0)
			pe->next_ms = now + pe->period_ms;
		if (now >= pe->next_ms) {
			pe->next_ms = now + pe->period_ms;
			if (!atomic_load_explicit(&pe->running, memory_order_acquire)) {
				pe->task.run = periodic_run;
				pe->task.expire = periodic_expire;
				atomic_store_explicit(&pe->running, true, memory_order_relaxed);
				if (pool_try_submit(rt.pools[pe->pool], &pe->task) != 0)
					atomic_store_explicit(&pe->running, false,
					                      memory_order_relaxed);
			}
		}
		if (pe->next_ms < next)
			next = pe->next_ms;
	}
	return next;
}

static void *timer_main(void *arg)
{
	struct timer_thread *tt = arg;

	uint64_t next_due = periodic_post(clock_now_ms());

	while (!tt->stopping) {
		uint64_t now = clock_now_ms();
		int timeout = now >= next_due ? 0 : (int)(next_due - now);

		if (wheel_count(tt->wheel) > 0 && timeout > rt.cfg->tick_ms)
			timeout = rt.cfg->tick_ms;
		if (timeout > 0 && mailbox_prepare_sleep(tt->mb)) {
			struct pollfd pfd = { .fd = mailbox_fd(tt->mb), .events = POLLIN };
			poll(&pfd, 1, timeout);
			mailbox_woke(tt->mb);
		}
		take_mail(tt);
		now = clock_now_ms();
		wheel_advance(tt->wheel, now);
		if (now >= next_due)
			next_due = periodic_post(now);
	}
	return NULL;
}

int timer_create_thread(struct timer_thread **out)
{
	struct timer_thread *tt = calloc(1, sizeof(*tt));
	int err;

	*out = NULL;
	if (!tt)
		return -ENOMEM;
	tt->owned.next = tt->owned.prev = &tt->owned;
	tt->stop.msg.type = IOM_CTRL;
	tt->stop.op = IOC_TIMER_STOP;
	probe_init(&tt->probe);
	err = mailbox_create(&tt->mb, TIMER_MAILBOX_CAPACITY);
	if (!err)
		err = wheel_create(&tt->wheel, (unsigned)rt.cfg->wheel_slots,
		                   (unsigned)rt.cfg->tick_ms, clock_now_ms());
	if (err)
		goto fail;
	/* rt.timer must be set before the thread runs: fire() reads it. */
	*out = tt;
	rt.timer = tt;
	err = -pthread_create(&tt->tid, NULL, timer_main, tt);
	if (err) {
		rt.timer = NULL;
		*out = NULL;
		goto fail;
	}
	tt->started = true;
	pthread_setname_np(tt->tid, "pmq-timer");
	return 0;
fail:
	timer_destroy(tt);
	return err;
}

bool timer_post(struct timer_thread *tt, struct idle_timer *t)
{
	return mailbox_post(tt->mb, &t->msg);
}

bool timer_post_msg(struct timer_thread *tt, struct io_msg *m)
{
	return mailbox_post(tt->mb, m);
}

struct probe *timer_probe(struct timer_thread *tt)
{
	return &tt->probe;
}

bool timer_stall(struct timer_thread *tt, struct handle h, int32_t opaque, int32_t ms)
{
	struct timer_stall *st = calloc(1, sizeof(*st));

	if (!st)
		return false;
	st->msg.type = IOM_STALL;
	st->msg.h = h;
	st->opaque = opaque;
	st->ms = ms;
	if (mailbox_post(tt->mb, &st->msg))
		return true;
	free(st);
	return false;
}

void timer_stop(struct timer_thread *tt)
{
	if (!tt || !tt->started)
		return;
	while (!mailbox_post(tt->mb, &tt->stop.msg)) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	pthread_join(tt->tid, NULL);
	tt->started = false;
}

void timer_destroy(struct timer_thread *tt)
{
	struct io_msg *m;

	if (!tt)
		return;
	timer_stop(tt);
	while (tt->owned.next != &tt->owned) {
		struct idle_timer *t = tt->owned.next;
		if (tt->wheel)
			wheel_cancel(tt->wheel, &t->entry);
		disown(t);
		free(t);
	}
	if (tt->mb) {
		while ((m = mailbox_take(tt->mb)))
			if (m->type != IOM_CTRL && m->type != IOM_PING)
				free(m); /* idle timers and stalls */
		mailbox_destroy(tt->mb);
	}
	wheel_destroy(tt->wheel);
	free(tt);
}
