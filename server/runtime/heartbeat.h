/*
 * heartbeat.h - the broker's own heartbeats (heartbeat.c): `version OPAQUE`
 * to an idle client, and what its answers prove.
 *
 * Promises: a session idle for idle_timeout_ms in both directions with none
 * outstanding gets `version OPAQUE` (its own opaque sequence 1, 2, ...,
 * priority lane, written by protocol/'s encoder); a result/value carrying
 * an opaque of the unanswered run answers it; any byte read after a
 * heartbeat was queued proves the peer alive, judged by the order of events
 * on the IO thread, never by comparing millisecond stamps.
 */
#ifndef PMQ_HEARTBEAT_H
#define PMQ_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

struct idle_view;
struct io_thread;
struct session;

void heartbeat_session_init(struct session *s);
/* Queue the next `version N` (joining the unanswered run, if any) and arm
 * deadline_ms. Kills the session when out of memory. */
void heartbeat_send(struct io_thread *io, struct session *s, uint64_t deadline_ms);
/* All idle and none outstanding: send one, its deadline on the ideal
 * schedule (the idle spell's start + idle + timeout). */
void heartbeat_when_idle(struct io_thread *io, struct session *s, const struct idle_view *v);
/* Anything was read since the last heartbeat was queued. */
bool heartbeat_spoke_since(const struct session *s);
/* The peer proved alive: no heartbeat outstanding, no misses. */
void heartbeat_run_over(struct io_thread *io, struct session *s);
/* A `result`/`value` from the client. */
void heartbeat_on_answer(struct io_thread *io, struct session *s, int32_t opaque);

#endif
