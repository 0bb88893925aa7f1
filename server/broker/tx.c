/*
 * tx.c - the transaction table and the `transaction` processor (tx.h).
 * Answers follow ../shared/metaq-transactions.md §2.4 and §4.2: errors of
 * XA branches as `XAException:code=N,msg=...`, of local transactions as
 * the bare message; END is never answered.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/protocol.h"
#include "server/common/log.h"
#include "server/common/sbuf.h"
#include "server/broker/store_service.h"
#include "server/broker/tx.h"

/* Longest reply body of a put: "<int64> <int32> -1". */
#define TX_PUT_REPLY_BYTES 64
#define TX_ERR_BYTES 1024

struct tx_global tx_g = { .lock = PTHREAD_MUTEX_INITIALIZER };

enum key_kind { KEY_NULL, KEY_LOCAL, KEY_XA };

static uint64_t hash_bytes(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* A connection's local transactions share its bucket, so a close finds
 * them all in one chain. */
static struct tx **bucket_of(const char *key, size_t keylen, bool xa, struct handle owner)
{
	if (xa)
		return &tx_g.xa[hash_bytes(key, keylen) % TX_BUCKETS];
	uint64_t h = ((uint64_t)owner.io << 48) ^ ((uint64_t)owner.slot << 20) ^ owner.gen;
	return &tx_g.local[(h * 11400714819323198485ULL >> 40) % TX_BUCKETS];
}

struct tx **tx_local_bucket(struct handle h)
{
	return bucket_of(NULL, 0, false, h);
}

struct tx *tx_new(const char *key, size_t keylen, bool xa, struct handle owner)
{
	struct tx *t = calloc(1, sizeof *t);
	if (!t || !(t->key = malloc(keylen + 1))) {
		free(t);
		return NULL;
	}
	memcpy(t->key, key, keylen);
	t->key[keylen] = '\0';
	t->keylen = keylen;
	t->xa = xa;
	t->owner = owner;
	t->tail = &t->msgs;
	if (xa) {
		const char *c = strrchr(t->key, ':');
		t->uq = c + 1;
		t->uqlen = keylen - (size_t)(c + 1 - t->key);
	}
	return t;
}

void tx_free(struct tx *t)
{
	if (!t)
		return;
	for (struct tx_msg *m = t->msgs, *n; m; m = n) {
		n = m->next;
		free(m);
	}
	free(t->bounds);
	free(t->key);
	free(t);
}

void tx_insert(struct tx *t)
{
	struct tx **b = bucket_of(t->key, t->keylen, t->xa, t->owner);
	t->next = *b;
	*b = t;
	tx_g.open++;
	tx_g.staged_bytes += t->bytes;
	if (t->state == TX_PREPARED)
		tx_g.prepared++;
}

void tx_unlink(struct tx *t)
{
	struct tx **b = bucket_of(t->key, t->keylen, t->xa, t->owner);
	for (; *b; b = &(*b)->next) {
		if (*b == t) {
			*b = t->next;
			break;
		}
	}
	t->next = NULL;
	tx_timer_cancel(t);
	tx_g.open--;
	tx_g.staged_bytes -= t->bytes;
	if (t->state == TX_PREPARED)
		tx_g.prepared--;
}

struct tx *tx_find(const char *key, size_t keylen, bool xa, struct handle owner)
{
	for (struct tx *t = *bucket_of(key, keylen, xa, owner); t; t = t->next)
		if (t->keylen == keylen && memcmp(t->key, key, keylen) == 0 &&
		    (xa || handle_equal(t->owner, owner)))
			return t;
	return NULL;
}

/* ---- answers ------------------------------------------------------------- */

static void reply_xa(struct request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_xa(struct request *req, int code, const char *fmt, ...)
{
	char msg[TX_ERR_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	request_reply_resultf(req, 500, "XAException:code=%d,msg=%s", code, msg);
}

static void reply_ok(struct request *req)
{
	request_reply_result(req, 200, NULL, 0);
}

static enum key_kind key_kind(struct pmq_view k)
{
	if (k.len == 4 && memcmp(k.ptr, "null", 4) == 0)
		return KEY_NULL;
	return k.len > 4 && memcmp(k.ptr, "XID:", 4) == 0 ? KEY_XA : KEY_LOCAL;
}

/* The transaction named by the request, or NULL with the answer MetaQ
 * gives for a missing one sent (§4.2 "Looking a transaction up"). */
static struct tx *find_or_reply(struct request *req, struct pmq_view key, bool put)
{
	enum key_kind k = key_kind(key);
	int kl = (int)key.len;
	struct tx *t = NULL;

	if (k != KEY_NULL)
		t = tx_find(key.ptr, key.len, k == KEY_XA, request_session(req));
	if (t)
		return t;
	pthread_mutex_unlock(&tx_g.lock);
	if (k == KEY_XA && !put)
		reply_xa(req, XAER_NOTA, "XA transaction '%.*s' has not been started.", kl,
		         key.ptr);
	else if (k == KEY_XA)
		request_reply_resultf(req, 500, "XA transaction '%.*s' has not been started.", kl,
		                      key.ptr);
	else
		request_reply_resultf(req, 500, "Local transaction '%.*s' has not been started.",
		                      kl, key.ptr);
	return NULL;
}

/* ---- commands ------------------------------------------------------------ */

static void do_begin(struct request *req, const struct pmq_msg *m)
{
	enum key_kind k = key_kind(m->txkey);
	struct handle h = request_session(req);

	if (k == KEY_NULL) {
		request_reply_resultf(req, 500, "BEGIN needs a transaction key, not null");
		return;
	}
	pthread_mutex_lock(&tx_g.lock);
	if (tx_find(m->txkey.ptr, m->txkey.len, k == KEY_XA, h)) {
		/* MetaQ: OK, and the timeout is not armed again */
		pthread_mutex_unlock(&tx_g.lock);
		reply_ok(req);
		return;
	}
	if (k == KEY_LOCAL && tx_conn_closed(h)) {
		/* queued before its connection closed: nobody could finish it */
		pthread_mutex_unlock(&tx_g.lock);
		request_reply_resultf(req, 500, "the connection of local transaction '%.*s' is "
		                      "closed", (int)m->txkey.len, m->txkey.ptr);
		return;
	}
	int64_t cap = tx_g.cfg->max_open_transactions;
	if (tx_g.open >= (uint64_t)cap) {
		pthread_mutex_unlock(&tx_g.lock);
		atomic_fetch_add(&tx_g.refused_cap, 1);
		request_reply_resultf(req, 503, "too many open transactions: %" PRId64 " are open, "
		                      "max_open_transactions = %" PRId64 "; finish some first",
		                      cap, cap);
		return;
	}
	struct tx *t = tx_new(m->txkey.ptr, m->txkey.len, k == KEY_XA, h);
	if (!t) {
		pthread_mutex_unlock(&tx_g.lock);
		request_reply_resultf(req, 500, "out of memory for a transaction");
		return;
	}
	tx_insert(t);
	if (m->has_tx_timeout && m->tx_timeout > 0)
		tx_timer_arm(t, m->tx_timeout);
	pthread_mutex_unlock(&tx_g.lock);
	atomic_fetch_add(&tx_g.begun, 1);
	reply_ok(req);
}

/* Takes t out of the table for good (its work is done or undone). */
static void finish(struct tx *t, bool committed)
{
	pthread_mutex_lock(&tx_g.lock);
	tx_unlink(t);
	pthread_mutex_unlock(&tx_g.lock);
	atomic_fetch_add(committed ? &tx_g.committed : &tx_g.rolled_back, 1);
	tx_free(t);
}

/* Makes t TX_BUSY (lock held, released here); the gauges follow. */
static void set_busy(struct tx *t)
{
	if (t->state == TX_PREPARED)
		tx_g.prepared--;
	t->was_prepared = t->state == TX_PREPARED;
	t->state = TX_BUSY;
	tx_timer_cancel(t);
	pthread_mutex_unlock(&tx_g.lock);
}

static void set_state(struct tx *t, enum tx_state s)
{
	pthread_mutex_lock(&tx_g.lock);
	t->state = s;
	if (s == TX_PREPARED)
		tx_g.prepared++;
	pthread_mutex_unlock(&tx_g.lock);
}

static void do_prepare(struct request *req, const struct pmq_msg *m)
{
	char err[STORE_ERR_BYTES];

	pthread_mutex_lock(&tx_g.lock);
	struct tx *t = find_or_reply(req, m->txkey, false);
	if (!t)
		return;
	if (!t->xa) {
		pthread_mutex_unlock(&tx_g.lock);
		reply_xa(req, XAER_RMERR, "Prepare not implemented on Local Transactions.");
		return;
	}
	if (t->state == TX_START) {
		/* no puts: read-only, and forgotten (a later COMMIT gets -4) */
		tx_unlink(t);
		pthread_mutex_unlock(&tx_g.lock);
		atomic_fetch_add(&tx_g.committed, 1);
		tx_free(t);
		request_reply_result(req, 200, "3", 1);
		return;
	}
	if (t->state != TX_IN_USE) {
		pthread_mutex_unlock(&tx_g.lock);
		reply_xa(req, XAER_PROTO, "Cannot call prepare now.");
		return;
	}
	set_busy(t);
	if (tx_do_prepare(t, err, sizeof err) != 0) {
		/* nothing durable says it is prepared: it is rolled back */
		pmq_log(PMQ_LOG_ERROR, "prepare of %s failed, rolled back: %s", t->key, err);
		finish(t, false);
		store_err_shorten(err, TX_ERR_BYTES / 2);
		reply_xa(req, XAER_RMERR, "prepare failed, the branch is rolled back: %s", err);
		return;
	}
	set_state(t, TX_PREPARED);
	request_reply_result(req, 200, "0", 1);
}

/* A commit or rollback of a transaction another one is finishing: refused
 * (and the lock released) in the wording of its kind. Lock held. */
static bool refused_busy(struct request *req, struct tx *t, const char *verb)
{
	if (t->state != TX_BUSY)
		return false;
	pthread_mutex_unlock(&tx_g.lock);
	if (t->xa)
		reply_xa(req, XAER_PROTO, "Cannot call %s now.", verb);
	else
		request_reply_resultf(req, 500, "Local transaction '%s' is being finished already.",
		                      t->key);
	return true;
}

static void do_commit(struct request *req, const struct pmq_msg *m)
{
	bool two = m->tx_type == PMQ_TX_COMMIT_TWO_PHASE;

	pthread_mutex_lock(&tx_g.lock);
	struct tx *t = find_or_reply(req, m->txkey, false);
	if (!t)
		return;
	if (refused_busy(req, t, "commit"))
		return;
	if (t->xa && two && t->state != TX_PREPARED) {
		pthread_mutex_unlock(&tx_g.lock);
		reply_xa(req, XAER_PROTO, "Cannot do 2 phase commit if the transaction has not "
		         "been prepared.");
		return;
	}
	t->commit_req = req;
	set_busy(t);
	tx_do_commit(t); /* answered in tx_commit_done */
}

void tx_commit_done(struct tx *t, int rc, char *err)
{
	struct request *req = t->commit_req;

	t->commit_req = NULL;
	if (rc == 0) {
		finish(t, true);
		reply_ok(req);
		return;
	}
	store_err_shorten(err, TX_ERR_BYTES / 2);
	if (rc == -EINPROGRESS) {
		/* the decision is on disk: recovery at the next start finishes it */
		pmq_log(PMQ_LOG_ERROR, "commit of %s recorded but not applied: %s", t->key, err);
		if (t->xa)
			reply_xa(req, XAER_RMERR, "the commit is recorded but its messages could not "
			         "be appended (%s); restart the broker to finish it", err);
		else
			request_reply_resultf(req, 500, "the commit is recorded but its messages could "
			                      "not be appended (%s); restart the broker to finish it",
			                      err);
		return;
	}
	pmq_log(PMQ_LOG_ERROR, "commit of %s failed: %s", t->key, err);
	if (t->was_prepared) {
		set_state(t, TX_PREPARED); /* still prepared: the TM may try again */
		reply_xa(req, XAER_RMERR, "commit failed, the branch stays prepared: %s", err);
		return;
	}
	bool xa = t->xa;
	finish(t, false);
	if (xa)
		reply_xa(req, XA_RBOTHER, "STORE COMMIT FAILED: Transaction rolled back. (%s)",
		         err);
	else
		request_reply_resultf(req, 500, "STORE COMMIT FAILED: Transaction rolled back. (%s)",
		                      err);
}

static void do_rollback(struct request *req, const struct pmq_msg *m)
{
	char err[STORE_ERR_BYTES];

	pthread_mutex_lock(&tx_g.lock);
	struct tx *t = find_or_reply(req, m->txkey, false);
	if (!t)
		return;
	if (refused_busy(req, t, "rollback"))
		return;
	if (t->state != TX_PREPARED) {
		tx_unlink(t);
		pthread_mutex_unlock(&tx_g.lock);
		atomic_fetch_add(&tx_g.rolled_back, 1);
		tx_free(t);
		reply_ok(req);
		return;
	}
	set_busy(t);
	if (tx_do_rollback_prepared(t, err, sizeof err) != 0) {
		set_state(t, TX_PREPARED);
		store_err_shorten(err, TX_ERR_BYTES / 2);
		reply_xa(req, XAER_RMERR, "rollback failed, the branch stays prepared: %s", err);
		return;
	}
	finish(t, false);
	reply_ok(req);
}

/* Prepared branches of the request's unique qualifier (or all without
 * one), joined by \r\n. */
static void do_recover(struct request *req, const struct pmq_msg *m)
{
	struct pmq_view uq = m->unique_qualifier;
	struct sbuf b = { 0 };
	bool first = true;

	pthread_mutex_lock(&tx_g.lock);
	for (size_t i = 0; i < TX_BUCKETS; i++) {
		for (struct tx *t = tx_g.xa[i]; t; t = t->next) {
			if (t->state != TX_PREPARED)
				continue;
			if (uq.ptr && (t->uqlen != uq.len || memcmp(t->uq, uq.ptr, uq.len) != 0))
				continue;
			if (!first)
				sbuf_append(&b, "\r\n", 2);
			sbuf_append(&b, t->key, t->keylen);
			first = false;
		}
	}
	pthread_mutex_unlock(&tx_g.lock);
	if (b.failed)
		request_reply_resultf(req, 500, "out of memory listing prepared transactions");
	else
		request_reply_result(req, 200, b.p, b.len);
	sbuf_free(&b);
}

static void do_forget(struct request *req, const struct pmq_msg *m)
{
	enum key_kind k = key_kind(m->txkey);
	if (k == KEY_NULL)
		reply_xa(req, XAER_NOTA, "null is not a valid xid");
	else if (k == KEY_LOCAL)
		reply_xa(req, XAER_NOTA, "%.*s is not a valid xid", (int)m->txkey.len,
		         m->txkey.ptr);
	else
		reply_ok(req); /* no heuristic decisions are ever kept */
}

void tx_proc(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	(void)ctx;

	switch (m->tx_type) {
	case PMQ_TX_BEGIN:
		do_begin(req, m);
		break;
	case PMQ_TX_END:
		request_reply_none(req); /* MetaQ ignores END and never answers it */
		break;
	case PMQ_TX_PREPARE:
		do_prepare(req, m);
		break;
	case PMQ_TX_COMMIT_ONE_PHASE:
	case PMQ_TX_COMMIT_TWO_PHASE:
		do_commit(req, m);
		break;
	case PMQ_TX_ROLLBACK:
		do_rollback(req, m);
		break;
	case PMQ_TX_RECOVER:
		do_recover(req, m);
		break;
	case PMQ_TX_FORGET:
		do_forget(req, m);
		break;
	default:
		request_reply_resultf(req, 400, "bad request: unknown transaction type");
		break;
	}
}

/* ---- puts ---------------------------------------------------------------- */

/* Lock held; t found. Answers and returns false when t takes no put. */
static bool takes_puts(struct request *req, struct tx *t)
{
	if (t->state == TX_START || t->state == TX_IN_USE)
		return true;
	pthread_mutex_unlock(&tx_g.lock);
	/* MetaQ answers 200 and loses the message (§5.4): refuse instead */
	reply_xa(req, XAER_PROTO, "transaction '%s' is %s: it takes no more messages",
	         t->key, t->state == TX_PREPARED ? "prepared" : "being finished");
	return false;
}

bool tx_put_admit(struct request *req)
{
	const struct pmq_msg *m = request_msg(req);

	if (key_kind(m->txkey) == KEY_NULL) {
		request_reply_resultf(req, 500, "Local transaction 'null' has not been started.");
		return false;
	}
	pthread_mutex_lock(&tx_g.lock);
	struct tx *t = find_or_reply(req, m->txkey, true);
	if (!t || !takes_puts(req, t))
		return false;
	pthread_mutex_unlock(&tx_g.lock);
	if (m->partition == -1) {
		request_reply_resultf(req, 500, "Invalid partition for transaction command:-1");
		return false;
	}
	return true;
}

void tx_put(struct request *req, struct store_partition *p)
{
	const struct pmq_msg *m = request_msg(req);
	size_t len = m->body.len;
	struct tx_msg *msg = malloc(sizeof *msg + len);

	if (!msg) {
		request_reply_resultf(req, 500, "out of memory staging a %zu-byte message", len);
		return;
	}
	msg->next = NULL;
	msg->p = p;
	msg->flag = m->flag;
	msg->len = len;
	memcpy(msg->body, m->body.ptr, len);
	pthread_mutex_lock(&tx_g.lock);
	struct tx *t = find_or_reply(req, m->txkey, true);
	if (!t || !takes_puts(req, t)) {
		free(msg);
		return;
	}
	int64_t cap = tx_g.cfg->max_tx_staged_bytes;
	if (tx_g.staged_bytes + len > (uint64_t)cap) {
		uint64_t have = tx_g.staged_bytes;
		pthread_mutex_unlock(&tx_g.lock);
		free(msg);
		atomic_fetch_add(&tx_g.refused_cap, 1);
		request_reply_resultf(req, 503, "transactions hold too many staged bytes: %" PRIu64
		                      " staged + %zu > max_tx_staged_bytes = %" PRId64 "; the "
		                      "message was not staged", have, len, cap);
		return;
	}
	/* ids in put order, from the store's own generator: unique with the
	 * plain puts' and after a restart (the log seeds it) */
	msg->msgid = store_next_msgid(tx_g.st);
	*t->tail = msg;
	t->tail = &msg->next;
	t->nmsgs++;
	t->bytes += len;
	tx_g.staged_bytes += len;
	t->state = TX_IN_USE;
	pthread_mutex_unlock(&tx_g.lock);

	char body[TX_PUT_REPLY_BYTES];
	int blen = snprintf(body, sizeof body, "%" PRId64 " %" PRId32 " -1", msg->msgid,
	                    m->partition);
	request_reply_result(req, 200, body, (size_t)blen);
}

void tx_figures(uint64_t *v)
{
	pthread_mutex_lock(&tx_g.lock);
	v[SF_TX_OPEN - SF_TX_OPEN] = tx_g.open;
	v[SF_TX_PREPARED - SF_TX_OPEN] = tx_g.prepared;
	v[SF_TX_STAGED_BYTES - SF_TX_OPEN] = tx_g.staged_bytes;
	pthread_mutex_unlock(&tx_g.lock);
	v[SF_TX_BEGUN - SF_TX_OPEN] = atomic_load(&tx_g.begun);
	v[SF_TX_COMMITTED - SF_TX_OPEN] = atomic_load(&tx_g.committed);
	v[SF_TX_ROLLED_BACK - SF_TX_OPEN] = atomic_load(&tx_g.rolled_back);
	v[SF_TX_TIMED_OUT - SF_TX_OPEN] = atomic_load(&tx_g.timed_out);
	v[SF_TX_CLOSED_ROLLBACKS - SF_TX_OPEN] = atomic_load(&tx_g.closed_rollbacks);
	v[SF_TX_REFUSED_CAP - SF_TX_OPEN] = atomic_load(&tx_g.refused_cap);
	struct txlog_stats ls = { 0 };
	if (tx_g.log)
		txlog_get_stats(tx_g.log, &ls);
	v[SF_TX_LOG_BYTES - SF_TX_OPEN] = ls.bytes;
	v[SF_TX_LOG_FSYNCS - SF_TX_OPEN] = ls.fsyncs;
	v[SF_TX_LOG_COMPACTIONS - SF_TX_OPEN] = ls.rewrites;
}

/* ---- life ---------------------------------------------------------------- */

int tx_start(const struct settings *cfg, struct store *st)
{
	char err[STORE_ERR_BYTES];

	tx_g.cfg = cfg;
	tx_g.st = st;
	tx_g.crash_at = cfg->enable_debug_commands ? getenv("PULSEMQD_TX_CRASH_AT") : NULL;
	int rc = tx_log_recover(err, sizeof err);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "transactions: %s", err);
		return rc;
	}
	rc = tx_timer_start();
	if (rc == 0)
		rc = processor_register(PMQ_CMD_TRANSACTION, tx_proc, NULL);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "transactions: cannot start: %s", strerror(-rc));
		tx_stop();
		return rc;
	}
	tx_g.started = true;
	return 0;
}

void tx_stop(void)
{
	/* Open transactions are dropped (rolled back, as a restart would);
	 * prepared ones are in the log. */
	pthread_mutex_lock(&tx_g.lock);
	tx_timer_stop();
	for (int x = 0; x < 2; x++) {
		for (size_t i = 0; i < TX_BUCKETS; i++) {
			struct tx **b = x ? &tx_g.xa[i] : &tx_g.local[i];
			for (struct tx *t = *b, *n; t; t = n) {
				n = t->next;
				tx_free(t);
			}
			*b = NULL;
		}
	}
	tx_g.open = tx_g.prepared = tx_g.staged_bytes = 0;
	pthread_mutex_unlock(&tx_g.lock);
	txlog_close(tx_g.log);
	tx_g.log = NULL;
	tx_g.started = false;
}
