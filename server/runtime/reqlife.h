/*
 * reqlife.h - the runtime's side of a request's life (request.c): made on
 * the IO thread from a decoded message, submitted to its pool, answered
 * once through reply_post(). The processors' side is request.h.
 */
#ifndef PMQ_REQLIFE_H
#define PMQ_REQLIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/runtime/rt.h"

struct request;
/* The processor for cmd, or NULL. */
processor_fn *processor_lookup(enum pmq_cmd cmd, void **ctx);
/* Copies the decoded message (line + body in raw[0..len)) into a new
 * request for session h; NULL on ENOMEM. */
struct request *request_new(const struct pmq_msg *m, const char *raw,
                                size_t len, struct handle h,
                                enum rt_pool pool);
/* Submits to the request's pool: 0, -EBUSY or -ESHUTDOWN (req then still
 * belongs to the caller, who frees it with request_free). */
int request_submit(struct request *req);
/* A request that runs `debug sleep` instead of a processor. */
void request_set_sleep(struct request *req, int32_t ms);
/* Output bytes the answer may take, reserved on the session meanwhile;
 * handed back with the answer (outbuf.reserved). */
void request_set_reserve(struct request *req, size_t bytes);
void request_free(struct request *req);
/* Copies the session's peer address into req (request_peer()). */
void request_set_peer(struct request *req, const char *peer);
/* Posts an encoded answer to the owning IO thread (any thread). */
void reply_post(struct handle h, bool prio, struct outbuf *b);

#endif
