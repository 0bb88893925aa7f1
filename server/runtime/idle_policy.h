/*
 * idle_policy.h - one look at a session when its idle timer fires
 * (idle_policy.c), on the session's IO thread: the order of the policies
 * and the next look.
 *
 * The policies, each in its place:
 *   dead_peer.c      read silence and unanswered heartbeats close (dead_peer.h)
 *   heartbeat.c      the broker's own `version N`, its answers (heartbeat.h)
 *   slow_consumer.c  output stuck past write_timeout_ms closes (slow_consumer.h)
 *
 * Promises: silence that overlaps a local pause (the timer thread found
 * itself late by more than max_local_pause_ms: SIGSTOP, a VM pause, swap) is
 * no proof of death: every stamp counts from the resume at the earliest, and
 * a session silent across the pause is heartbeated before it is judged.
 * Deadlines follow the ideal schedule (stamps + periods), not the time a
 * late look ran, so lateness does not add up.
 */
#ifndef PMQ_IDLE_POLICY_H
#define PMQ_IDLE_POLICY_H

#include <stdint.h>

#include "server/runtime/idle.h"

struct io_thread;
struct session;

/* A session's stamps as the policies judge them: none earlier than the end
 * of the last local pause (resumed_ms, 0: none seen). */
struct idle_view {
	uint64_t now_ms;
	uint64_t resumed_ms;
	uint64_t read_ms, write_ms, out_since_ms;
	struct idle_result r;           /* idle states from read_ms / write_ms */
};

void idle_policy_init(struct session *s);
/* When a new session is first looked at. */
uint64_t idle_policy_first_check(const struct session *s);
/* The timer says look. Returns the next look, or 0 when the session was
 * killed (or already dead). */
uint64_t idle_policy_check(struct io_thread *io, struct session *s, uint64_t now_ms);

#endif
