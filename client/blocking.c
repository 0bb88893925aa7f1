/*
 * blocking.c - the blocking API: submit one request, then process this one
 * connection until its completion arrives. The deadline is the library's
 * request timeout (the request completes with -ETIMEDOUT), so nothing here
 * keeps its own clock except while waiting for a reconnect.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/conn.h"

struct waiter {
	bool done;
	struct pulsemq_reply *reply;
};

static void waiter_cb(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)c;
	struct waiter *w = arg;
	w->done = true;
	w->reply->status = r->status;
	w->reply->value = r->value;
	w->reply->body = NULL;
	w->reply->len = 0;
	if (r->status > 0) {
		char *b = malloc(r->len + 1);
		if (!b) {
			w->reply->status = -ENOMEM;
			return;
		}
		if (r->len)
			memcpy(b, r->body, r->len);
		b[r->len] = '\0';
		w->reply->body = b;
		w->reply->len = r->len;
	}
}

void pulsemq_reply_free(struct pulsemq_reply *reply)
{
	if (!reply)
		return;
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

/* The broker's text (first line) or strerror into err. */
static void error_fill(struct pulsemq_error *err, int status, const char *body, size_t len)
{
	if (!err)
		return;
	err->status = status;
	if (status < 0) {
		snprintf(err->text, sizeof(err->text), "%s", strerror(-status));
		return;
	}
	size_t n = 0;
	while (n < len && n + 1 < sizeof(err->text) && body[n] != '\r' && body[n] != '\n')
		n++;
	memcpy(err->text, body, n);
	err->text[n] = '\0';
}

static int ready(struct pulsemq_conn *c)
{
	/* Waiting here would need the dispatch loop we are called from. */
	if (conn_in_callback(c))
		return -EDEADLK;
	if (pulsemq_connected(c))
		return 0;
	return pulsemq_wait_connected(c, conn_options(c)->connect_timeout_ms);
}

/* Flushes and processes until w is done. rc_submit: the submit's result. */
static int wait_reply(struct pulsemq_conn *c, int rc_submit, struct waiter *w,
                      struct pulsemq_error *err)
{
	struct pulsemq_reply *reply = w->reply;
	if (rc_submit < 0) {
		reply->status = rc_submit;
		error_fill(err, rc_submit, NULL, 0);
		return rc_submit;
	}
	(void)pulsemq_flush(c);
	while (!w->done) {
		int rc = pulsemq_poll(c, -1);
		if (rc < 0 && !w->done) {
			/* -EDEADLK (called from a callback) or closed: the request
			 * is either completed above or can never be. */
			reply->status = rc;
			error_fill(err, rc, NULL, 0);
			return rc;
		}
	}
	if (reply->status == 200) {
		if (err) {
			err->status = 200;
			err->text[0] = '\0';
		}
		return 0;
	}
	error_fill(err, reply->status, reply->body, reply->len);
	return reply->status;
}

#define CALL(c, reply, err, submit_expr)                                   \
	do {                                                               \
		struct waiter w_ = { .done = false, .reply = (reply) };    \
		memset((reply), 0, sizeof(*(reply)));                      \
		int rr_ = ready(c);                                        \
		void *arg = &w_;                                           \
		pulsemq_callback *cb = waiter_cb;                          \
		int rs_ = rr_ < 0 ? rr_ : (submit_expr);                   \
		return wait_reply((c), rs_, &w_, (err));                   \
	} while (0)

int pulsemq_call(struct pulsemq_conn *c, const char *line, const void *body,
                 size_t len, struct pulsemq_reply *reply, struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit(c, line, body, len, cb, arg, NULL));
}

static int call_put(struct pulsemq_conn *c, const char *topic, int32_t partition,
                    const void *data, size_t len, int32_t flag,
                    struct pulsemq_reply *reply, struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit_put(c, topic, partition, data, len, flag, cb, arg));
}

static int call_get(struct pulsemq_conn *c, const char *topic, const char *group,
                    int32_t partition, int64_t offset, int32_t max_size,
                    struct pulsemq_reply *reply, struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit_get(c, topic, group, partition, offset,
	                                       max_size, cb, arg));
}

static int call_offset(struct pulsemq_conn *c, const char *topic, const char *group,
                       int32_t partition, int64_t offset,
                       struct pulsemq_reply *reply, struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit_offset(c, topic, group, partition, offset, cb, arg));
}

static int call_version(struct pulsemq_conn *c, struct pulsemq_reply *reply,
                        struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit_version(c, cb, arg));
}

int pulsemq_stats(struct pulsemq_conn *c, const char *item,
                  struct pulsemq_reply *reply, struct pulsemq_error *err)
{
	CALL(c, reply, err, pulsemq_submit_stats(c, item, cb, arg));
}

static int bad_answer(struct pulsemq_error *err, const char *what, const struct pulsemq_reply *r)
{
	if (err) {
		err->status = -EPROTO;
		snprintf(err->text, sizeof(err->text), "unexpected %s answer: '%.*s'", what,
		         (int)(r->len > 100 ? 100 : r->len), r->body ? r->body : "");
	}
	return -EPROTO;
}

int pulsemq_put(struct pulsemq_conn *c, const char *topic, int32_t partition,
                const void *data, size_t len, int32_t flag,
                struct pulsemq_put_result *res, struct pulsemq_error *err)
{
	struct pulsemq_reply r;
	int rc = call_put(c, topic, partition, data, len, flag, &r, err);
	if (rc == 0 && res) {
		/* `<msgId> <partition> <offset>` */
		if (sscanf(r.body, "%" SCNd64 " %" SCNd32 " %" SCNd64,
		           &res->msgid, &res->partition, &res->offset) != 3)
			rc = bad_answer(err, "put", &r);
	}
	pulsemq_reply_free(&r);
	return rc;
}

int pulsemq_offset(struct pulsemq_conn *c, const char *topic, const char *group,
                   int32_t partition, int64_t offset, int64_t *result,
                   struct pulsemq_error *err)
{
	struct pulsemq_reply r;
	int rc = call_offset(c, topic, group, partition, offset, &r, err);
	if (rc == 0 && result && sscanf(r.body, "%" SCNd64, result) != 1)
		rc = bad_answer(err, "offset", &r);
	pulsemq_reply_free(&r);
	return rc;
}

int pulsemq_version(struct pulsemq_conn *c, char *buf, size_t cap, struct pulsemq_error *err)
{
	struct pulsemq_reply r;
	int rc = call_version(c, &r, err);
	if (rc == 0 && buf && cap)
		snprintf(buf, cap, "%s", r.body);
	pulsemq_reply_free(&r);
	return rc;
}

/* The largest MAXSIZE asked for: the answer must fit max_body_bytes. */
static int32_t get_limit(const struct pulsemq_conn *c)
{
	size_t lim = conn_options(c)->max_body_bytes;
	return lim == 0 || lim > INT32_MAX ? INT32_MAX : (int32_t)lim;
}

int pulsemq_get(struct pulsemq_conn *c, const char *topic, const char *group,
                int32_t partition, int64_t offset, int32_t *max_size,
                struct pulsemq_msgset *set, struct pulsemq_error *err)
{
	int32_t ms = *max_size > 0 ? *max_size : 64 * 1024;
	int32_t limit = get_limit(c);
	memset(set, 0, sizeof(*set));
	for (;;) {
		struct pulsemq_reply r;
		int rc = call_get(c, topic, group, partition, offset, ms, &r, err);
		if (rc != 0) {
			pulsemq_reply_free(&r);
			return rc;
		}
		set->data = r.body;
		set->len = r.len;
		set->offset = offset;
		size_t pos = 0;
		struct pulsemq_message m;
		if (pulsemq_msgset_next(set, &pos, &m) != 0)
			return 0; /* a message (or a bad record the caller will see) */
		/* No whole message: as MetaQ's client does, double MAXSIZE until
		 * the first message fits, and ask again. */
		size_t need = pulsemq_msgset_needed(set, 0);
		if (set->len >= (size_t)ms && ms < limit) {
			do
				ms = ms > limit / 2 ? limit : ms * 2;
			while ((size_t)ms < need && ms < limit);
			*max_size = ms;
			pulsemq_msgset_free(set);
			continue;
		}
		if (err) {
			err->status = -EMSGSIZE;
			snprintf(err->text, sizeof(err->text),
			         "the message at offset %" PRId64 " needs %zu bytes; got %zu with MAXSIZE %" PRId32,
			         offset, need, set->len, ms);
		}
		pulsemq_msgset_free(set);
		return -EMSGSIZE;
	}
}

int pulsemq_quit(struct pulsemq_conn *c)
{
	if (conn_in_callback(c))
		return -EDEADLK;
	conn_no_reconnect(c);
	if (!pulsemq_connected(c))
		return -ENOTCONN;
	char *p = conn_out_space(c, 6);
	if (!p)
		return -ENOMEM;
	memcpy(p, "quit\r\n", 6);
	conn_out_commit(c, 6);
	int rc = pulsemq_flush(c);
	if (rc < 0)
		return rc;
	int tmo = conn_options(c)->request_timeout_ms;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (tmo > 0 ? tmo : 5000);
	/* The broker closes after writing what it owed: wait for that EOF. */
	while (pulsemq_connected(c)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t left = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		if (pulsemq_poll(c, (int)left) == -ENOTCONN)
			break;
	}
	return 0;
}
