/*
 * wheel.c - a hashed timer wheel: slot = tick of the deadline mod slots.
 *
 * Each slot is a circular list with a sentinel, so cancel unlinks in O(1)
 * without knowing the slot. A slot holds entries of every round; an advance
 * fires only those whose deadline has passed and leaves the rest, which is
 * the wrap-around re-check.
 *
 * Tick t covers [start + t*tick, start + (t+1)*tick). cur_tick is the next
 * tick an advance will scan; after an advance to tick tn it is tn itself,
 * because entries of tick tn later than now must be looked at again.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "actors/wheel.h"

/* Enough for hours at 1 ms ticks; the count is a hint, not a limit. */
#define WHEEL_MAX_SLOTS (1u << 24)

struct wheel {
	struct wheel_entry *slot;   /* sentinels, nslots of them */
	unsigned nslots;                /* power of two */
	unsigned tick_ms;
	uint64_t start_ms;
	uint64_t cur_tick;              /* lowest tick an insert may use */
	unsigned count;
};

static uint64_t tick_of(const struct wheel *w, uint64_t ms)
{
	return ms <= w->start_ms ? 0 : (ms - w->start_ms) / w->tick_ms;
}

static void list_init(struct wheel_entry *head)
{
	head->next = head->prev = head;
}

static void list_add(struct wheel_entry *head, struct wheel_entry *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

static void list_del(struct wheel_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = NULL;
}

/* Moves every entry of from onto the (empty) list to. */
static void list_move_all(struct wheel_entry *from, struct wheel_entry *to)
{
	list_init(to);
	if (from->next == from)
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

int wheel_create(struct wheel **out, unsigned slots, unsigned tick_ms,
                 uint64_t now_ms)
{
	struct wheel *w;
	unsigned n = 1;

	*out = NULL;
	if (slots == 0 || slots > WHEEL_MAX_SLOTS || tick_ms == 0)
		return -EINVAL;
	while (n < slots)
		n <<= 1;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->slot = calloc(n, sizeof(*w->slot));
	if (!w->slot) {
		free(w);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		list_init(&w->slot[i]);
	w->nslots = n;
	w->tick_ms = tick_ms;
	w->start_ms = now_ms;
	*out = w;
	return 0;
}

void wheel_destroy(struct wheel *w)
{
	if (!w)
		return;
	/* Entries are caller memory: leave them marked as not queued. */
	for (unsigned i = 0; i < w->nslots; i++) {
		struct wheel_entry *h = &w->slot[i];
		while (h->next != h) {
			struct wheel_entry *e = h->next;
			list_del(e);
			e->queued = false;
		}
	}
	free(w->slot);
	free(w);
}

static void insert(struct wheel *w, struct wheel_entry *e)
{
	uint64_t t = tick_of(w, e->deadline_ms);

	/* A tick already scanned would only be seen a round later. */
	if (t < w->cur_tick)
		t = w->cur_tick;
	list_add(&w->slot[t & (w->nslots - 1)], e);
}

void wheel_schedule(struct wheel *w, struct wheel_entry *e,
                    uint64_t deadline_ms)
{
	wheel_cancel(w, e);
	e->deadline_ms = deadline_ms;
	e->queued = true;
	insert(w, e);
	w->count++;
}

void wheel_cancel(struct wheel *w, struct wheel_entry *e)
{
	if (!e->queued)
		return;
	list_del(e);
	e->queued = false;
	w->count--;
}

unsigned wheel_advance(struct wheel *w, uint64_t now_ms)
{
	uint64_t tn = tick_of(w, now_ms), t;
	unsigned fired = 0;

	if (tn < w->cur_tick)
		tn = w->cur_tick; /* time went nowhere: re-check the current slot */
	t = w->cur_tick;
	/* Past one full round every slot has been seen once. */
	if (tn - t >= w->nslots)
		t = tn - w->nslots + 1;

	for (; t <= tn; t++) {
		struct wheel_entry pending;

		/* Callbacks may insert; what they insert at this tick or
		 * earlier must land where this advance (t < tn) or the next
		 * one (t == tn) still looks. */
		w->cur_tick = t < tn ? t + 1 : tn;
		/* Detach the slot so callbacks can schedule and cancel
		 * freely while we walk it. */
		list_move_all(&w->slot[t & (w->nslots - 1)], &pending);
		while (pending.next != &pending) {
			struct wheel_entry *e = pending.next;

			list_del(e);
			if (e->deadline_ms > now_ms) {
				/* A later round of this slot (or later
				 * in tick tn): keep it. */
				list_add(&w->slot[t & (w->nslots - 1)], e);
				continue;
			}
			e->queued = false;
			w->count--;
			fired++;
			e->fire(e, e->arg);
		}
	}
	w->cur_tick = tn;
	return fired;
}

unsigned wheel_count(const struct wheel *w)
{
	return w->count;
}
