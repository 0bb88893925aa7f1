/*
 * conn.h - libpulsemq internals shared by conn.c (socket, opaques,
 * liveness), request.c (typed encoders) and blocking.c. Not installed.
 *
 * A request is queued in three steps so that encoders can write straight
 * into the output buffer with the opaque already known:
 *   op = conn_reserve(c, cb, arg, &opaque);   // a pending slot
 *   p = conn_out_space(c, n);                  // room in the output
 *   ... encode n bytes at p carrying opaque ...
 *   conn_out_commit(c, n);                     // or conn_unreserve(c, opaque)
 */
#ifndef PMQ_CLIENT_CONN_H
#define PMQ_CLIENT_CONN_H

#include "client/pulsemq.h"

/* 0 and *opaque set, or -ENOTCONN / -ENOMEM. */
int conn_reserve(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg,
                 int32_t *opaque);
void conn_unreserve(struct pulsemq_conn *c, int32_t opaque);
/* At least n writable bytes at the end of the output buffer, or NULL. */
char *conn_out_space(struct pulsemq_conn *c, size_t n);
size_t conn_out_room(const struct pulsemq_conn *c);
void conn_out_commit(struct pulsemq_conn *c, size_t n);

const struct pulsemq_options *conn_options(const struct pulsemq_conn *c);
/* True while a completion callback runs on c. */
bool conn_in_callback(const struct pulsemq_conn *c);
/* Stops reconnecting (after quit). */
void conn_no_reconnect(struct pulsemq_conn *c);

#endif
