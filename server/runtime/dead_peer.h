/*
 * dead_peer.h - when the broker declares a client dead (dead_peer.c),
 * judged on inbound silence only: our own writes prove nothing.
 *
 * Promises: session_timeout_ms without a byte read closes the session
 * (idle); an outstanding heartbeat past its deadline with nothing read since
 * it left is a miss, and max_missed_heartbeats misses in a row close it
 * (heartbeat). Both return true when they killed the session.
 */
#ifndef PMQ_DEAD_PEER_H
#define PMQ_DEAD_PEER_H

#include <stdbool.h>

struct idle_view;
struct io_thread;
struct session;

bool dead_peer_read_silence(struct io_thread *io, struct session *s,
                            const struct idle_view *v);
/* At the heartbeat's deadline: alive (the run is over) or a miss (the next
 * heartbeat goes out at once). */
bool dead_peer_heartbeat_due(struct io_thread *io, struct session *s,
                             const struct idle_view *v);

#endif
