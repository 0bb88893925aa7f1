/*
 * tx_log.c - the transaction log's records, recovery at start-up and
 * compaction (doc/store-format.md, "Transaction log"; store/txlog.h
 * frames them).
 *
 * Payloads (big-endian):
 *   PREPARE, COMMITTING:
 *     u64 id | u8 xa | u16 keylen | key | u32 nmsgs |
 *     nmsgs x { u16 topiclen | topic | i32 partition | i64 msgid |
 *               i32 flag | u32 len | body }
 *     COMMITTING adds: u32 nbounds | nbounds x { u16 topiclen | topic |
 *               i32 partition | i64 from }
 *   COMMITTED, ROLLED_BACK: u64 id
 *
 * Recovery replays the records into a list of live entries keyed by id
 * (PREPARE and COMMITTING add or replace, COMMITTED and ROLLED_BACK drop),
 * then completes every COMMITTING entry (looks for its records after each
 * partition's recorded end, appends those missing, flushes, logs
 * COMMITTED), brings every PREPARE entry back as a prepared branch, and
 * rewrites the log with only those.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/log.h"
#include "server/broker/tx.h"
#include "store/record.h"

/* Recovery reads a partition's tail in windows of this size. */
#define TX_SCAN_BYTES (1u << 20)

/* ---- encoding ------------------------------------------------------------ */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	bool failed;
};

static void w_bytes(struct wbuf *w, const void *d, size_t n)
{
	if (w->failed)
		return;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		while (cap < w->len + n)
			cap *= 2;
		unsigned char *np = realloc(w->p, cap);
		if (!np) {
			w->failed = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_uint(struct wbuf *w, uint64_t v, int bytes)
{
	unsigned char b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
	w_bytes(w, b, (size_t)bytes);
}

static void w_str(struct wbuf *w, const char *s, size_t n)
{
	w_uint(w, n, 2);
	w_bytes(w, s, n);
}

static void w_partition(struct wbuf *w, struct store_partition *p)
{
	const char *topic = store_partition_topic(p);
	w_str(w, topic, strlen(topic));
	w_uint(w, (uint32_t)store_partition_id(p), 4);
}

int tx_log_encode(const struct tx *t, enum tx_rec type, unsigned char **out, size_t *len)
{
	struct wbuf w = { 0 };
	w_uint(&w, t->id, 8);
	w_uint(&w, t->xa, 1);
	w_str(&w, t->key, t->keylen);
	w_uint(&w, t->nmsgs, 4);
	for (const struct tx_msg *m = t->msgs; m; m = m->next) {
		w_partition(&w, m->p);
		w_uint(&w, (uint64_t)m->msgid, 8);
		w_uint(&w, (uint32_t)m->flag, 4);
		w_uint(&w, m->len, 4);
		w_bytes(&w, m->body, m->len);
	}
	if (type == TXR_COMMITTING) {
		w_uint(&w, t->nbounds, 4);
		for (size_t i = 0; i < t->nbounds; i++) {
			w_partition(&w, t->bounds[i].p);
			w_uint(&w, (uint64_t)t->bounds[i].from, 8);
		}
	}
	if (w.failed) {
		free(w.p);
		return -ENOMEM;
	}
	*out = w.p;
	*len = w.len;
	return 0;
}

int tx_log_finish(uint64_t id, enum tx_rec type, bool sync, char *err, size_t errlen)
{
	unsigned char b[8];
	uint64_t seq;
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(id >> (56 - 8 * i));
	int rc = txlog_append(tx_g.log, (uint8_t)type, b, sizeof b, &seq, err, errlen);
	if (rc == 0 && sync)
		rc = txlog_sync(tx_g.log, seq, err, errlen);
	return rc;
}

/* ---- decoding -------------------------------------------------------------- */

struct rbuf {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint64_t r_uint(struct rbuf *r, int bytes)
{
	uint64_t v = 0;
	if (r->bad || r->len - r->off < (size_t)bytes) {
		r->bad = true;
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v = v << 8 | r->p[r->off++];
	return v;
}

static const unsigned char *r_bytes(struct rbuf *r, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return NULL;
	}
	r->off += n;
	return r->p + r->off - n;
}

/* A partition named in the log: opened (created if the directory went). */
static struct store_partition *r_partition(struct rbuf *r)
{
	size_t tl = (size_t)r_uint(r, 2);
	const char *topic = (const char *)r_bytes(r, tl);
	int32_t id = (int32_t)r_uint(r, 4);
	struct store_partition *p;
	char err[STORE_ERR_BYTES];
	if (r->bad)
		return NULL;
	if (store_partition_open(tx_g.st, topic, tl, id, &p, err, sizeof err) != 0) {
		pmq_log(PMQ_LOG_ERROR, "transaction log: %s", err);
		r->bad = true;
		return NULL;
	}
	return p;
}

static int64_t max_msgid;

static struct tx *decode_tx(const unsigned char *payload, size_t len, bool committing)
{
	struct rbuf r = { payload, len, 0, false };
	uint64_t id = r_uint(&r, 8);
	bool xa = r_uint(&r, 1) != 0;
	size_t kl = (size_t)r_uint(&r, 2);
	const char *key = (const char *)r_bytes(&r, kl);
	uint32_t n = (uint32_t)r_uint(&r, 4);
	if (r.bad || (xa && !memchr(key, ':', kl)))
		return NULL;
	struct tx *t = tx_new(key, kl, xa, (struct handle){ 0 });
	if (!t)
		return NULL;
	t->id = id;
	for (uint32_t i = 0; i < n && !r.bad; i++) {
		struct store_partition *p = r_partition(&r);
		int64_t msgid = (int64_t)r_uint(&r, 8);
		int32_t flag = (int32_t)r_uint(&r, 4);
		size_t bl = (size_t)r_uint(&r, 4);
		const unsigned char *body = r_bytes(&r, bl);
		struct tx_msg *m = r.bad ? NULL : malloc(sizeof *m + bl);
		if (!m) {
			r.bad = true;
			break;
		}
		*m = (struct tx_msg){ .p = p, .msgid = msgid, .flag = flag, .len = bl };
		memcpy(m->body, body, bl);
		*t->tail = m;
		t->tail = &m->next;
		t->nmsgs++;
		t->bytes += bl;
		if (msgid > max_msgid)
			max_msgid = msgid;
	}
	if (committing && !r.bad) {
		uint32_t nb = (uint32_t)r_uint(&r, 4);
		t->bounds = calloc(nb ? nb : 1, sizeof *t->bounds);
		if (!t->bounds)
			r.bad = true;
		for (uint32_t i = 0; i < nb && !r.bad; i++) {
			struct store_partition *p = r_partition(&r);
			t->bounds[i] = (struct tx_bound){ p, (int64_t)r_uint(&r, 8) };
			t->nbounds = i + 1;
		}
	}
	if (r.bad) {
		tx_free(t);
		return NULL;
	}
	return t;
}

/* ---- recovery -------------------------------------------------------------- */

/* Live entries while replaying: next links them, logged says which. */
static struct tx *replayed;
static uint64_t replay_records;

static struct tx **replayed_find(uint64_t id)
{
	struct tx **pp = &replayed;
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static int replay_one(void *ctx, uint8_t type, const unsigned char *p, size_t len)
{
	(void)ctx;
	replay_records++;
	if (type == TXR_PREPARE || type == TXR_COMMITTING) {
		struct tx *t = decode_tx(p, len, type == TXR_COMMITTING);
		if (!t)
			return -EBADMSG;
		t->logged = type == TXR_PREPARE ? TXL_PREPARED : TXL_COMMITTING;
		struct tx **pp = replayed_find(t->id);
		if (*pp) {
			/* a PREPARE re-emitted by a compaction changes nothing */
			if (type == TXR_PREPARE) {
				tx_free(t);
				return 0;
			}
			struct tx *old = *pp;
			*pp = old->next;
			tx_free(old);
		}
		t->next = replayed;
		replayed = t;
	} else if (type == TXR_COMMITTED || type == TXR_ROLLED_BACK) {
		struct rbuf r = { p, len, 0, false };
		uint64_t id = r_uint(&r, 8);
		if (r.bad)
			return -EBADMSG;
		struct tx **pp = replayed_find(id);
		if (*pp) {
			struct tx *old = *pp;
			*pp = old->next;
			tx_free(old);
		}
		if (id > tx_g.next_id)
			tx_g.next_id = id;
		return 0;
	} else {
		return -EBADMSG;
	}
	if (replayed->id > tx_g.next_id)
		tx_g.next_id = replayed->id;
	return 0;
}

/* Marks in skip[] (put order) t's messages already in partition p after
 * from. Their ids rise in put order, so one pass over the tail does. */
static int scan_present(struct tx *t, struct store_partition *p, int64_t from, bool *skip,
                        size_t *found)
{
	unsigned char *buf = malloc(TX_SCAN_BYTES);
	char err[STORE_ERR_BYTES];
	int64_t off = from;
	if (!buf)
		return -ENOMEM;
	*found = 0;
	for (;;) {
		struct store_read r;
		int rc = store_partition_read(p, off, buf, TX_SCAN_BYTES, &r, err, sizeof err);
		if (rc != 0 || r.status != STORE_READ_OK || r.len < STORE_RECORD_HEADER)
			break;
		size_t at = 0;
		while (at + STORE_RECORD_HEADER <= r.len) {
			struct store_record rec;
			store_record_parse(buf + at, &rec);
			if (rec.len < 0 || at + STORE_RECORD_HEADER + (size_t)rec.len > r.len)
				break;
			size_t i = 0;
			for (struct tx_msg *m = t->msgs; m; m = m->next, i++) {
				if (m->p == p && m->msgid == rec.msgid && !skip[i]) {
					skip[i] = true;
					(*found)++;
				}
			}
			at += STORE_RECORD_HEADER + (size_t)rec.len;
		}
		if (at == 0) /* one record bigger than the window: cannot be ours */
			break;
		off += (int64_t)at;
	}
	free(buf);
	return 0;
}

/* Completes a commit that was decided before the crash. */
static int redo_commit(struct tx *t, uint64_t *appended)
{
	char err[STORE_ERR_BYTES] = "";
	bool *skip = calloc(t->nmsgs ? t->nmsgs : 1, sizeof *skip);
	if (!skip)
		return -ENOMEM;
	for (size_t b = 0; b < t->nbounds; b++) {
		size_t found = 0, want = 0, i = 0;
		for (struct tx_msg *m = t->msgs; m; m = m->next, i++)
			want += m->p == t->bounds[b].p;
		int64_t end, flushed;
		int rc = scan_present(t, t->bounds[b].p, t->bounds[b].from, skip, &found);
		if (rc == 0 && found < want)
			rc = tx_append_partition(t, t->bounds[b].p, skip, &end, err, sizeof err);
		/* also when all were there: they may be in the page cache only,
		 * and COMMITTED is synced next */
		if (rc == 0)
			rc = store_partition_flush(t->bounds[b].p, &flushed, err, sizeof err);
		if (rc != 0) {
			pmq_log(PMQ_LOG_ERROR, "transaction log: cannot finish the commit of %s: %s",
			        t->key, err);
			free(skip);
			return rc;
		}
		*appended += want - found;
	}
	free(skip);
	return tx_log_finish(t->id, TXR_COMMITTED, true, err, sizeof err);
}

static int emit_live(void *ctx, struct txlog_writer *w);

int tx_log_recover(char *err, size_t errlen)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/txlog", tx_g.cfg->data_dir);
	replayed = NULL;
	replay_records = 0;
	max_msgid = 0;
	int rc = txlog_open(&tx_g.log, path, NULL, tx_g.cfg->recovery == PMQ_RECOVERY_TRUNCATE,
	                    replay_one, NULL, err, errlen);
	if (rc != 0) {
		for (struct tx *t = replayed, *n; t; t = n) {
			n = t->next;
			tx_free(t);
		}
		replayed = NULL;
		return rc;
	}
	struct txlog_stats ls;
	txlog_get_stats(tx_g.log, &ls);
	if (ls.truncated)
		pmq_log(PMQ_LOG_WARN, "transaction log %s: cut a torn tail of %" PRIu64 " bytes",
		        path, ls.truncated);
	if (max_msgid)
		store_seed_msgid(tx_g.st, max_msgid);
	uint64_t prepared = 0, redone = 0, appended = 0;
	for (struct tx *t = replayed, *n; t; t = n) {
		n = t->next;
		t->next = NULL;
		if (t->logged == TXL_COMMITTING) {
			rc = redo_commit(t, &appended);
			if (rc != 0) {
				snprintf(err, errlen, "cannot finish the commit of transaction %s found "
				         "in %s", t->key, path);
				tx_free(t);
				for (t = n; t; t = n) {
					n = t->next;
					tx_free(t);
				}
				return rc;
			}
			redone++;
			tx_free(t);
			continue;
		}
		t->state = TX_PREPARED;
		pthread_mutex_lock(&tx_g.lock);
		tx_insert(t);
		pthread_mutex_unlock(&tx_g.lock);
		prepared++;
	}
	replayed = NULL;
	pmq_log(PMQ_LOG_INFO, "transactions: %" PRIu64 " log records replayed; %" PRIu64
	        " prepared XA branches restored as prepared; %" PRIu64 " interrupted commits "
	        "finished (%" PRIu64 " messages appended again); every other transaction open "
	        "at the last stop is rolled back (those are never written to the log)",
	        replay_records, prepared, redone, appended);
	rc = txlog_rewrite(tx_g.log, emit_live, NULL, err, errlen);
	if (rc == 0) {
		txlog_get_stats(tx_g.log, &ls);
		tx_g.live_log_bytes = ls.bytes;
	}
	return rc;
}

/* ---- compaction ------------------------------------------------------------ */

/* Lock held: every record a live transaction still needs. */
static int emit_live(void *ctx, struct txlog_writer *w)
{
	(void)ctx;
	for (int x = 0; x < 2; x++) {
		for (size_t i = 0; i < TX_BUCKETS; i++) {
			for (struct tx *t = x ? tx_g.xa[i] : tx_g.local[i]; t; t = t->next) {
				if (t->logged == TXL_NONE)
					continue;
				enum tx_rec type = t->logged == TXL_PREPARED ? TXR_PREPARE
					: TXR_COMMITTING;
				unsigned char *rec;
				size_t len;
				int rc = tx_log_encode(t, type, &rec, &len);
				if (rc == 0) {
					rc = txlog_emit(w, (uint8_t)type, rec, len);
					free(rec);
				}
				if (rc != 0)
					return rc;
			}
		}
	}
	return 0;
}

void tx_log_maybe_compact(void)
{
	struct txlog_stats ls;
	char err[STORE_ERR_BYTES];

	txlog_get_stats(tx_g.log, &ls);
	if (ls.bytes < TX_LOG_COMPACT_BYTES || ls.bytes < 2 * tx_g.live_log_bytes)
		return;
	pthread_mutex_lock(&tx_g.lock);
	int rc = txlog_rewrite(tx_g.log, emit_live, NULL, err, sizeof err);
	pthread_mutex_unlock(&tx_g.lock);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "transaction log: compaction failed: %s", err);
		return;
	}
	txlog_get_stats(tx_g.log, &ls);
	tx_g.live_log_bytes = ls.bytes;
	pmq_log(PMQ_LOG_DEBUG, "transaction log compacted to %" PRIu64 " bytes", ls.bytes);
}
