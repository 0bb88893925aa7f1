/*
 * timerthread.c - the one timer thread: a hashed wheel of idle timers.
 *
 * IO threads hand a session's idle_timer over through this thread's
 * mailbox (MPSC ring + eventfd, woken only while it sleeps); the thread
 * queues it in the wheel. When it fires, the timer is posted to the owning
 * IO thread's mailbox as an idle-check message: the timer never looks at a
 * session, the IO thread does and sends the timer back with its next
 * deadline. While the wheel holds timers the thread wakes once a tick;
 * with none it sleeps until a timer arrives (or the store's housekeeping
 * is due, once a second).
 *
 * A fired timer whose IO mailbox is full stays here and is retried a tick
 * later: this thread never blocks on an IO thread.
 */
#include <config.h> /* autoconf's: "config.h" here would be server/config.h */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "actors/clock.h"
#include "server/log.h"
#include "server/probe.h"
#include "server/runtime.h"
#include "server/store_service.h"

#define TIMER_MAILBOX_CAPACITY 65536 /* timers in transit; IO threads retry when full */
#define STORE_TICK_MS 1000           /* store_service_tick() period */

struct timer_thread {
	pthread_t tid;
	bool started;
	bool stopping;
	struct pmq_mailbox *mb;
	struct pmq_wheel *wheel;
	struct idle_timer owned;        /* list head: every timer in the wheel */
	struct io_ctrl stop;
	uint64_t next_store_tick_ms;
	struct thread_probe probe;      /* the watchdog's ping (probe.h) */
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

static void fire(struct pmq_wheel_entry *e, void *arg)
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

static void *timer_main(void *arg)
{
	struct timer_thread *tt = arg;

	tt->next_store_tick_ms = clock_now_ms() + STORE_TICK_MS;
	while (!tt->stopping) {
		uint64_t now = clock_now_ms();
		int timeout = now >= tt->next_store_tick_ms ? 0
		            : (int)(tt->next_store_tick_ms - now);

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
		if (now >= tt->next_store_tick_ms) {
			store_service_tick();
			tt->next_store_tick_ms = now + STORE_TICK_MS;
		}
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

struct thread_probe *timer_probe(struct timer_thread *tt)
{
	return &tt->probe;
}

bool timer_stall(struct timer_thread *tt, struct pmq_handle h, int32_t opaque, int32_t ms)
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
