/*
 * dispatch.h - where a decoded message goes (dispatch.c): to its pool
 * through the processor table, or handled on the IO thread (quit, debug,
 * the client's answers to the broker's heartbeats).
 *
 * Promises: every decoded request with an opaque gets exactly one answer:
 * its processor's, 503 at once when its pool is full or it has no
 * processor, or 4xx.
 */
#ifndef PMQ_DISPATCH_H
#define PMQ_DISPATCH_H

#include <stddef.h>

#include "protocol/protocol.h"

struct io_thread;
struct session;

/* dispatch.c: one decoded message; raw[0..len) is its bytes. */
void dispatch_msg(struct io_thread *io, struct session *s,
                  const struct pmq_msg *m, const char *raw, size_t len);

#endif
