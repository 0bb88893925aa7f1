/*
 * request.c - the processor seam (request.h): the processor table, a
 * decoded command's copy for the pools, and the replies back to the IO
 * threads.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/clock.h"
#include "server/common/log.h"
#include "server/runtime/reqlife.h"
#include "server/runtime/request.h"
#include "server/runtime/io.h"
#include "server/common/textline.h"

/* How long a worker keeps retrying a full IO mailbox before it leaves the
 * answer on the IO thread's overflow list (io_post_reply). The IO thread
 * drains thousands of messages per loop, so this is only reached when it
 * is wedged. */
#define REPLY_POST_BUDGET_MS 2000

struct processor {
	processor_fn *fn;
	void *ctx;
};

/* Written at start-up only (before any thread of the runtime exists). */
static struct processor processors[PMQ_CMD_COUNT];

struct request {
	struct pool_task task;   /* what the pool sees */
	struct handle h;    /* whom to answer */
	enum rt_pool pool;
	processor_fn *fn;
	void *ctx;
	int32_t sleep_ms;       /* debug sleep: run this instead of fn */
	size_t reserve;         /* output reserved on the session (gets) */
	char peer[RT_PEER_BYTES]; /* the session's peer, for registrations */
	struct pmq_msg msg;     /* views point into data */
	size_t len;
	char data[];
};

int processor_register(enum pmq_cmd cmd, processor_fn *fn, void *ctx)
{
	if (cmd <= PMQ_CMD_NONE || cmd >= PMQ_CMD_COUNT || !fn)
		return -EINVAL;
	processors[cmd].fn = fn;
	processors[cmd].ctx = ctx;
	return 0;
}

processor_fn *processor_lookup(enum pmq_cmd cmd, void **ctx)
{
	if (cmd <= PMQ_CMD_NONE || cmd >= PMQ_CMD_COUNT)
		return NULL;
	*ctx = processors[cmd].ctx;
	return processors[cmd].fn;
}

struct handle request_session(const struct request *req)
{
	return req->h;
}

const char *request_peer(const struct request *req)
{
	return req->peer;
}

void request_set_peer(struct request *req, const char *peer)
{
	snprintf(req->peer, sizeof(req->peer), "%s", peer);
}

const struct pmq_msg *request_msg(const struct request *req)
{
	return &req->msg;
}

unsigned request_pool_queued(const struct request *req)
{
	return pool_queued(rt.pools[req->pool]);
}

static void rebase(struct pmq_view *v, const char *from, char *to)
{
	if (v->ptr)
		v->ptr = to + (v->ptr - from);
}

struct request *request_new(const struct pmq_msg *m, const char *raw,
                                size_t len, struct handle h,
                                enum rt_pool pool)
{
	struct request *r = malloc(sizeof(*r) + len);

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	memcpy(r->data, raw, len);
	r->len = len;
	r->h = h;
	r->pool = pool;
	r->msg = *m;
	struct pmq_view *views[] = { &r->msg.topic, &r->msg.group, &r->msg.txkey,
	                             &r->msg.body, &r->msg.item, &r->msg.session_id,
	                             &r->msg.unique_qualifier, &r->msg.debug_verb,
	                             &r->msg.debug_pool, &r->msg.client_id };
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		rebase(views[i], raw, r->data);
	r->fn = processor_lookup(m->cmd, &r->ctx);
	return r;
}

void request_free(struct request *req)
{
	free(req);
}

void request_set_reserve(struct request *req, size_t bytes)
{
	req->reserve = bytes;
}

void request_set_sleep(struct request *req, int32_t ms)
{
	req->sleep_ms = ms;
	req->fn = NULL;
}

static void task_run(struct pool_task *t)
{
	struct request *req = (struct request *)t;

	if (req->fn) {
		req->fn(req, req->ctx);
		return;
	}
	/* debug sleep: hold this worker, as a slow request would. */
	clock_sleep_ms(req->sleep_ms);
	request_reply_result(req, 200, NULL, 0);
}

static void task_expire(struct pool_task *t)
{
	struct request *req = (struct request *)t;
	uint64_t waited = (clock_now_ns() - t->enqueued_ns) / 1000000u;

	request_reply_resultf(req, 504, "%s waited %llu ms in the %s pool queue, over "
	                      "request_timeout_ms %d: not executed, retry later",
	                      pmq_cmd_name(req->msg.cmd), (unsigned long long)waited,
	                      rt_pool_name(req->pool), (int)rt.cfg->request_timeout_ms);
}

int request_submit(struct request *req)
{
	req->task.run = task_run;
	req->task.expire = task_expire;
	/* Only the session's IO thread submits: its index is its lane. */
	return pool_try_submit_lane(rt.pools[req->pool], req->h.io, &req->task);
}

void reply_post(struct handle h, bool prio, struct outbuf *b)
{
	b->msg.type = IOM_REPLY;
	b->msg.h = h;
	b->prio = prio;
	atomic_fetch_add(&rt.replies_busy, 1);
	if (atomic_load(&rt.replies_open)) {
		/* never dropped: its session counts it in flight */
		io_post_reply(rt.io[h.io], b, REPLY_POST_BUDGET_MS);
	} else {
		/* the IO threads are gone, and their sessions with them */
		stats_inc(&rt.shared, ST_REPLIES_DROPPED);
		free(b);
	}
	atomic_fetch_sub(&rt.replies_busy, 1);
}

/* Where an answer goes, saved before its bytes may overwrite the request. */
struct reply_to {
	struct handle h;
	int32_t opaque;
	bool prio;
	size_t reserve;
	enum pmq_cmd cmd;       /* for the latency histogram */
	uint64_t since_ns;      /* when the IO thread queued it */
};

static struct reply_to reply_to_of(const struct request *req)
{
	return (struct reply_to){ req->h, req->msg.opaque, req->pool == RT_POOL_HEARTBEAT,
	                          req->reserve, req->msg.cmd, req->task.enqueued_ns };
}

/*
 * An outbuf for an n-byte answer. A short answer (version, put, 503/504:
 * most of them) is built in the request's own block, which the IO thread
 * allocated and will free once written: the worker then calls neither
 * malloc nor free, and the block goes back to the allocator of the thread
 * that took it. Not when the body lies inside the request (it would be
 * overwritten while encoded). The caller saved what it needs of req.
 */
static struct outbuf *reply_buf(struct request *req, size_t n,
                                const void *body, size_t len)
{
	size_t have = sizeof(*req) + req->len;
	const char *lo = (const char *)req, *bp = body;
	struct outbuf *b;

	if (sizeof(*b) + n > have || (bp && len && bp < lo + have && bp + len > lo))
		return outbuf_new(n);
	b = (struct outbuf *)(void *)req;
	b->msg.type = IOM_REPLY;
	b->next = NULL;
	b->len = n;
	b->off = 0;
	b->prio = false;
	b->reserved = 0;
	b->timed_cmd = 0;
	return b;
}

/* No memory for an answer: a short 500 built in the request's own block,
 * which always has room for it, so the request is still answered once and
 * its session's in-flight count and reserved output come back. */
#define REPLY_LOST_TEXT "out of memory: the answer was lost"
_Static_assert(sizeof(struct request) >= sizeof(struct outbuf) + sizeof(REPLY_LOST_TEXT) +
               sizeof("result 500 99 -2147483648\r\n"), "a lost answer's 500 fits a request");

static struct outbuf *reply_lost(struct request *req, int32_t opaque)
{
	size_t len = sizeof(REPLY_LOST_TEXT) - 1;
	size_t n = pmq_encode_result(NULL, 0, 500, REPLY_LOST_TEXT, len, opaque);
	struct outbuf *b = reply_buf(req, n, NULL, 0);

	pmq_log(PMQ_LOG_ERROR, "out of memory encoding an answer: answered 500 instead");
	stats_inc(&rt.shared, ST_REPLIES_DROPPED);
	pmq_encode_result(b->data, n, 500, REPLY_LOST_TEXT, len, opaque);
	return b;
}

static void reply_done(struct request *req, struct reply_to to, struct outbuf *b)
{
	if (!b)
		b = reply_lost(req, to.opaque);
	if ((void *)b != (void *)req)
		free(req);
	b->reserved = to.reserve;
	/* The IO thread records the latency when the answer reaches it. */
	b->timed_cmd = (unsigned)to.cmd;
	b->since_ns = to.since_ns;
	reply_post(to.h, to.prio, b);
}

void request_reply_result(struct request *req, int code,
                          const void *body, size_t len)
{
	struct reply_to to = reply_to_of(req);
	int32_t op = req->msg.opaque;
	size_t n = pmq_encode_result(NULL, 0, code, body, len, op);
	struct outbuf *b = reply_buf(req, n, body, len);

	if (b)
		pmq_encode_result(b->data, n, code, body, len, op);
	reply_done(req, to, b);
}

void request_reply_resultf(struct request *req, int code,
                           const char *fmt, ...)
{
	char text[TEXTLINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	size_t n = textline_vformat(text, sizeof(text), fmt, ap);
	va_end(ap);
	request_reply_result(req, code, text, n);
}

void request_reply_none(struct request *req)
{
	struct reply_to to = reply_to_of(req);
	/* an empty answer: the IO thread counts it done and writes nothing */
	reply_done(req, to, reply_buf(req, 0, NULL, 0));
}

void request_reply_value(struct request *req, const void *data, size_t len)
{
	struct reply_to to = reply_to_of(req);
	int32_t op = req->msg.opaque;
	size_t head = pmq_encode_value_head(NULL, 0, len, op);
	struct outbuf *b = reply_buf(req, head + len, data, len);

	if (b) {
		pmq_encode_value_head(b->data, head, len, op);
		if (len)
			memcpy(b->data + head, data, len);
	}
	reply_done(req, to, b);
}
