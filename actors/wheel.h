/*
 * wheel.h - a hashed timer wheel (Varghese & Lauck), single-threaded.
 *
 * Promises:
 *  - O(1) insert and cancel; an advance costs the entries that fire plus the
 *    slots passed.
 *  - An entry never fires early: it fires on the first advance whose time is
 *    at or past its deadline (up to one tick late, as Netty's
 *    HashedWheelTimer). Deadlines far in the future wrap round the wheel and
 *    are re-checked, not fired.
 *  - No threads and no locks inside: the owner (the timer thread) serialises
 *    every call. Entries are caller-owned memory, embedded where convenient.
 */
#ifndef PMQ_WHEEL_H
#define PMQ_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

struct wheel_entry;
typedef void pmq_wheel_fire_fn(struct wheel_entry *e, void *arg);

struct wheel_entry {
	struct wheel_entry *next, *prev; /* slot list; NULL when not queued */
	uint64_t deadline_ms;                /* monotonic ms */
	pmq_wheel_fire_fn *fire;
	void *arg;
	bool queued;
};

struct wheel;

/* slots: rounded up to a power of two. tick_ms >= 1. now_ms: the start. */
int wheel_create(struct wheel **out, unsigned slots, unsigned tick_ms,
                 uint64_t now_ms);
void wheel_destroy(struct wheel *w);

/* Queue e to fire at deadline_ms (re-queues it if already queued). */
void wheel_schedule(struct wheel *w, struct wheel_entry *e,
                    uint64_t deadline_ms);
/* Remove e if queued; harmless otherwise. */
void wheel_cancel(struct wheel *w, struct wheel_entry *e);
/* Fire everything due at or before now_ms; returns how many fired. A fire
 * callback may schedule (including the entry itself) or cancel entries. */
unsigned wheel_advance(struct wheel *w, uint64_t now_ms);
/* Entries queued now. */
unsigned wheel_count(const struct wheel *w);

#endif
