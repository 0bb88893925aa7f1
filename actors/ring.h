/*
 * ring.h - multi-producer enqueue into a ck_ring of pointers that survives
 * a preempted producer.
 *
 * ck_ring's mp enqueue (0.7.1) takes a ticket (CAS on p_head), writes its
 * slot, then spins with only "pause" until p_tail reaches its ticket, so
 * commits happen in ticket order. When a producer is preempted between
 * ticket and commit, every later producer spins for the rest of the
 * holder's time slice; with more runnable producers than cores (2-core CI,
 * sanitizers) that convoy lasts and throughput collapses by 100x or more.
 * So we reserve and commit through ck's reserve/commit API, but wait for
 * our turn ourselves: a short spin, then sched_yield() so the holder can
 * run. The yield only happens while another producer is mid-enqueue.
 */
#ifndef PMQ_RING_H
#define PMQ_RING_H

#include <sched.h>
#include <stdbool.h>

#include <ck_pr.h>
#include <ck_ring.h>

/* Spins before yielding: a commit normally takes a few dozen cycles. */
#define RING_COMMIT_SPINS 128u

/* Any number of producers. false: the ring is full, nothing was written. */
static inline bool ring_enqueue_mp(struct ck_ring *ring,
                                   struct ck_ring_buffer *buf, void *ptr)
{
	unsigned ticket, spins = 0;
	void **slot = ck_ring_enqueue_reserve_mpmc(ring, buf, &ticket);

	if (!slot)
		return false;
	/* ck's dequeue reads the slot after it sees p_tail move; the commit
	 * fences this store before that move. */
	ck_pr_store_ptr(slot, ptr);
	while (ck_pr_load_uint(&ring->p_tail) != ticket) {
		if (++spins < RING_COMMIT_SPINS)
			ck_pr_stall();
		else
			sched_yield(); /* let the preempted earlier producer on */
	}
	ck_ring_enqueue_commit_mpmc(ring, ticket);
	return true;
}

#endif
