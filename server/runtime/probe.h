/*
 * probe.h - does a thread that sleeps on a mailbox still take its mail?
 *
 * An idle IO thread rightly sleeps in epoll_wait and the timer thread in
 * poll, so "it did something lately" proves nothing. The checker (the main
 * thread, see liveness.h) posts a ping into the thread's mailbox at each
 * check; the owner stamps `took` after every mailbox round that took at
 * least one message. A thread whose stamp has not moved since the previous
 * check, although a ping was waiting for it (or its mailbox was full, so
 * there was mail to take), is wedged.
 *
 * Why stamp every round, not just the ping: when the mailbox is full the
 * ping cannot be posted, yet a live thread is taking mail; and a ping taken
 * in the same round as the checker's previous look still moves the stamp
 * after that look.
 *
 * Promises:
 *  - Owner side (probe_took_mail, probe_took_ping) is a relaxed load and
 *    store each: no locked instruction on the IO path.
 *  - The ping message lives in the probe: never freed, posted at most once
 *    at a time (`ping_queued`), skipped by whoever drains a mailbox at
 *    shutdown.
 */
#ifndef PMQ_PROBE_H
#define PMQ_PROBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/runtime/iomsg.h"

struct probe {
	struct io_msg ping;              /* IOM_PING */
	atomic_bool ping_queued;         /* checker sets, owner clears on take */
	atomic_uint_fast64_t took;       /* owner: mailbox rounds that took mail */

	/* The checker's own memory (main thread only). */
	uint64_t took_seen;
	bool expecting;                  /* mail was waiting at the last check */
	uint64_t progress_ms;            /* the check that last saw `took` move */
};

static inline void probe_init(struct probe *p)
{
	p->ping.type = IOM_PING;
	atomic_init(&p->ping_queued, false);
	atomic_init(&p->took, 0);
	p->took_seen = 0;
	p->expecting = false;
	p->progress_ms = 0;
}

/* Owner: it took the ping (call for each IOM_PING taken). */
static inline void probe_took_ping(struct probe *p)
{
	atomic_store_explicit(&p->ping_queued, false, memory_order_release);
}

/* Owner: a mailbox round took at least one message. Single writer, so a
 * load and a store are enough. */
static inline void probe_took_mail(struct probe *p)
{
	uint64_t n = atomic_load_explicit(&p->took, memory_order_relaxed);
	atomic_store_explicit(&p->took, n + 1, memory_order_release);
}

#endif
