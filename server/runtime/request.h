/*
 * request.h - the seam between the runtime and the processors.
 *
 * The runtime decodes a command on an IO thread, copies it into a
 * struct request (which owns its bytes: the views of msg point into it),
 * and runs the command's processor on the command's pool. A processor
 * answers exactly once, through one of the reply calls, from any thread and
 * at any later time (group commit answers puts from the flush thread).
 * The reply call hands the answer to the session's IO thread and frees the
 * request; after it the processor must not touch req again.
 */
#ifndef PMQ_REQUEST_H
#define PMQ_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "actors/handle.h"
#include "protocol/protocol.h"

struct request;

/* Runs on a pool worker. ctx is what was registered. */
typedef void processor_fn(struct request *req, void *ctx);

/* At start-up, before the listeners open: cmd will be served by fn. A
 * command with no processor is answered 503 "no processor for <cmd>". */
int processor_register(enum pmq_cmd cmd, processor_fn *fn, void *ctx);

/* The session that sent req (for pushes, closes and registrations keyed
 * by session: runtime.h). */
struct handle request_session(const struct request *req);

/* The sender's peer address ("ADDR:PORT"), copied for registrations:
 * set for `heartbeat` only, "" for every other command. */
#define RT_PEER_BYTES 64
const char *request_peer(const struct request *req);

/* The decoded command; views stay valid until the reply. */
const struct pmq_msg *request_msg(const struct request *req);

/* Requests waiting in the queue of the pool req runs on, now: a processor
 * may trade latency for batching by it (group commit does). */
unsigned request_pool_queued(const struct request *req);

/* `result CODE LEN OPAQUE` + body. */
void request_reply_result(struct request *req, int code,
                          const void *body, size_t len);
/* Same, body from a format (one line of English for errors). */
void request_reply_resultf(struct request *req, int code,
                           const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* No answer at all (MetaQ never answers a transaction END): the request
 * is done and freed, its session's in-flight count comes back, and
 * nothing is written. */
void request_reply_none(struct request *req);
/* `value LEN OPAQUE` + data (copied; data may be freed on return). */
void request_reply_value(struct request *req, const void *data, size_t len);

#endif
