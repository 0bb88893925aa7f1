/*
 * slow_consumer.h - a client that does not read what it is owed
 * (slow_consumer.c).
 *
 * Promises: output pending with no write progress for write_timeout_ms
 * closes the session (slow_consumer); looked at when its idle timer fires,
 * which is never later than the write deadline.
 */
#ifndef PMQ_SLOW_CONSUMER_H
#define PMQ_SLOW_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

struct idle_view;
struct io_thread;
struct session;

/* true: killed. */
bool slow_consumer_check(struct io_thread *io, struct session *s, const struct idle_view *v);
/* When output now pending becomes stuck; UINT64_MAX when none is pending. */
uint64_t slow_consumer_deadline(const struct session *s, const struct idle_view *v);

#endif
