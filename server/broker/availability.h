/*
 * availability.h - private to the broker wing: the put path's one question
 * to the availability switch (availability.c; the rest is in broker.h).
 */
#ifndef PMQ_AVAILABILITY_H
#define PMQ_AVAILABILITY_H

#include <stdbool.h>

#include "server/runtime/request.h"

/* A put worker, before anything else of a put: true when the broker is not
 * available, and then req has been answered 403 (protocol.md's text). */
bool availability_put_refused(struct request *req);

#endif
