/*
 * heartbeat.h - the broker's own heartbeats and the dead-peer policy
 * (heartbeat.c), run on the session's IO thread when the timer says look.
 *
 * Promises: any inbound traffic proves the peer alive; a session idle for
 * idle_timeout_ms in both directions gets `version OPAQUE`;
 * max_missed_heartbeats misses in a row, or session_timeout_ms without a
 * byte read, close it; so does output stuck past write_timeout_ms.
 */
#ifndef PMQ_HEARTBEAT_H
#define PMQ_HEARTBEAT_H

#include <stdint.h>

struct io_thread;
struct session;

void heartbeat_session_init(struct session *s);
/* The timer says look: idle states, heartbeats, slow consumer. Returns the
 * next check time, or 0 when the session was killed. */
uint64_t heartbeat_check(struct io_thread *io, struct session *s, uint64_t now_ms);
/* A `result`/`value` from the client. */
void heartbeat_on_answer(struct io_thread *io, struct session *s, int32_t opaque);
/* First check of a new session. */
uint64_t heartbeat_first_check(const struct session *s);

#endif
