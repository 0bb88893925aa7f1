/*
 * store_service.h - shared by the files of the broker wing only:
 * store_service.c (start, stop, stats, retention), proc_store.c (the put,
 * get, offset and transaction processors) and flush.c (the flush thread).
 */
#ifndef PMQ_STORE_SERVICE_H
#define PMQ_STORE_SERVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "server/common/settings.h"
#include "server/runtime/request.h"
#include "store/store.h"

struct store_service {
	const struct settings *cfg;
	struct store *st;
	atomic_uint_fast64_t puts_acked, puts_failed, gets, get_bytes, get_misses, offsets,
		flush_batches, acks_batched;
};

/* The one store service of the daemon (server/ may hold global state). */
extern struct store_service store_svc;

/* proc_store.c: registers put, get, offset, transaction. 0 or -errno. */
int proc_store_register(void);
/* proc_version.c: registers version. 0 or -errno. */
int proc_version_register(void);

/* flush.c */
int flush_start(void);
/* Answers every waiting put (after a last flush) and joins the thread. */
void flush_stop(void);
/* sync mode: the put of req was appended up to end; answer it with body
 * (200) once a flush covers end, or 500 if the flush fails. */
void flush_wait_ack(struct request *req, struct store_partition *p, int64_t end,
                    const char *body, size_t len);
/* A partition and the end of what a waiter appended to it. */
struct flush_need {
	struct store_partition *p;
	int64_t end;
};
/* rc 0, or -errno with err (a message, valid during the call only). */
typedef void (*flush_done_fn)(void *ctx, int rc, const char *err);
/* Joins the group commit (either flush_mode): done runs, on whichever
 * thread flushes, once one batch has flushed every need[i].p up to its end,
 * or with the first failure. Every waiter's done runs before flush_stop()
 * returns. req is the waiting request (whether others queue behind it). */
void flush_wait_many(struct request *req, const struct flush_need *need, size_t n,
                     flush_done_fn done, void *ctx);
/* async mode: p got a message; wakes the flush thread at the threshold. */
void flush_note_async(struct store_partition *p, int32_t threshold);
/* Puts waiting for a group commit now (queued or being flushed). */
bool flush_waiting(void);
/* The next group commit sleeps ms first (debug). */
void flush_debug_stall(int32_t ms);

/* store_service.c: deletes expired segments if the last run is a minute
 * old (any thread; one run at a time). */
void store_service_retention(time_t now);

#endif
