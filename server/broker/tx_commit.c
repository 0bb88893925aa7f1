/*
 * tx_commit.c - prepare, commit and rollback of a prepared branch: what
 * goes to the transaction log, the partitions and the disk, in which
 * order (doc/store-format.md, "Transaction log"; tx.h).
 *
 * Commit, all or nothing across a crash:
 *   1. COMMITTING {the transaction, its messages, each partition's end}
 *      is appended to the log and synced (the log's own group commit with
 *      other transactions' records: it must be durable before the first
 *      byte of the commit reaches a partition, so it cannot ride the
 *      partitions' flush that follows);
 *   2. each partition's messages are appended as one batch
 *      (store_partition_append_batch: contiguous, one write), and the
 *      commit joins the puts' group commit (flush_wait_many), which
 *      flushes every partition touched and so makes the batch readable;
 *   3. once that flush covers every batch, COMMITTED {id} is appended, not
 *      synced (when it is lost, recovery finds the records already there
 *      and appends nothing twice), and the commit is answered.
 * A crash before 1 is durable leaves no trace (an unprepared transaction
 * is rolled back; a prepared one stays prepared); after it, recovery
 * completes the commit (tx_log.c).
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/broker/store_service.h"
#include "server/broker/tx.h"

/* The fault seam of the crash tests: with enable_debug_commands on, the
 * environment variable PULSEMQD_TX_CRASH_AT names a step of a commit at
 * which the daemon kills itself with SIGKILL (a kill -9 at exactly that
 * point): "before_log", "logged", "partial" (after the first partition),
 * "appended" (before COMMITTED). */
static void crash_point(const char *step)
{
	if (tx_g.crash_at && strcmp(tx_g.crash_at, step) == 0)
		raise(SIGKILL);
}

static int log_record(struct tx *t, enum tx_rec type, char *err, size_t errlen)
{
	unsigned char *rec;
	size_t len;
	uint64_t seq;
	int rc = tx_log_encode(t, type, &rec, &len);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory encoding a %zu-message transaction", t->nmsgs);
		return rc;
	}
	/* Marked first: a compaction from now on carries the record over, so
	 * it cannot be lost in a rewrite that starts before the append. */
	pthread_mutex_lock(&tx_g.lock);
	t->logged = type == TXR_PREPARE ? TXL_PREPARED : TXL_COMMITTING;
	pthread_mutex_unlock(&tx_g.lock);
	rc = txlog_append(tx_g.log, (uint8_t)type, rec, len, &seq, err, errlen);
	free(rec);
	if (rc == 0)
		rc = txlog_sync(tx_g.log, seq, err, errlen);
	return rc;
}

static void set_logged(struct tx *t, enum tx_logged l)
{
	pthread_mutex_lock(&tx_g.lock);
	t->logged = l;
	pthread_mutex_unlock(&tx_g.lock);
}

int tx_do_prepare(struct tx *t, char *err, size_t errlen)
{
	if (!t->id)
		t->id = __atomic_add_fetch(&tx_g.next_id, 1, __ATOMIC_RELAXED);
	int rc = log_record(t, TXR_PREPARE, err, errlen);
	if (rc != 0)
		set_logged(t, TXL_NONE);
	return rc;
}

/* The partitions t touches, in the order of their first message, with
 * their readable ends now: the commit's records land after those. */
static int collect_bounds(struct tx *t)
{
	free(t->bounds);
	t->bounds = calloc(t->nmsgs ? t->nmsgs : 1, sizeof *t->bounds);
	t->nbounds = 0;
	if (!t->bounds)
		return -ENOMEM;
	for (struct tx_msg *m = t->msgs; m; m = m->next) {
		size_t i = 0;
		while (i < t->nbounds && t->bounds[i].p != m->p)
			i++;
		if (i < t->nbounds)
			continue;
		int64_t first, end;
		store_partition_bounds(m->p, &first, &end);
		t->bounds[t->nbounds++] = (struct tx_bound){ m->p, end };
	}
	return 0;
}

int tx_append_partition(struct tx *t, struct store_partition *p, const bool *skip,
                        int64_t *end, char *err, size_t errlen)
{
	struct store_batch_msg *v = calloc(t->nmsgs, sizeof *v);
	size_t n = 0, i = 0;
	if (!v) {
		snprintf(err, errlen, "out of memory for a %zu-message batch", t->nmsgs);
		return -ENOMEM;
	}
	for (struct tx_msg *m = t->msgs; m; m = m->next, i++)
		if (m->p == p && !(skip && skip[i]))
			v[n++] = (struct store_batch_msg){ m->msgid, m->flag, m->body, m->len };
	struct store_append a;
	int rc = n ? store_partition_append_batch(p, v, n, &a, err, errlen) : 0;
	free(v);
	if (rc == 0) {
		int64_t first;
		if (n)
			*end = a.end;
		else
			store_partition_bounds(p, &first, end);
	}
	return rc;
}

/* The group commit covered every batch of t (rc 0) or failed. */
static void commit_flushed(void *ctx, int rc, const char *ferr)
{
	struct tx *t = ctx;
	char err[STORE_ERR_BYTES];

	if (rc != 0) {
		snprintf(err, sizeof err, "%s", ferr);
		tx_commit_done(t, -EINPROGRESS, err); /* stays COMMITTING */
		return;
	}
	crash_point("appended");
	set_logged(t, TXL_NONE);
	if (tx_log_finish(t->id, TXR_COMMITTED, false, err, sizeof err) != 0) {
		/* harmless: recovery finds the records and appends nothing */
	}
	err[0] = '\0';
	tx_commit_done(t, 0, err);
}

void tx_do_commit(struct tx *t)
{
	char err[STORE_ERR_BYTES] = "";
	int rc;

	if (t->nmsgs == 0) {
		tx_commit_done(t, 0, err);
		return;
	}
	if (!t->id)
		t->id = __atomic_add_fetch(&tx_g.next_id, 1, __ATOMIC_RELAXED);
	if (collect_bounds(t) != 0) {
		snprintf(err, sizeof err, "out of memory");
		tx_commit_done(t, -ENOMEM, err);
		return;
	}
	enum tx_logged before = t->logged;
	crash_point("before_log");
	rc = log_record(t, TXR_COMMITTING, err, sizeof err);
	if (rc != 0) {
		set_logged(t, before);
		tx_commit_done(t, rc, err);
		return;
	}
	crash_point("logged");
	struct flush_need *need = calloc(t->nbounds, sizeof *need);
	for (size_t i = 0; i < t->nbounds; i++) {
		int64_t end = 0;
		rc = tx_append_partition(t, t->bounds[i].p, NULL, &end, err, sizeof err);
		if (rc != 0) {
			free(need);
			tx_commit_done(t, -EINPROGRESS, err); /* recovery redoes it */
			return;
		}
		if (need)
			need[i] = (struct flush_need){ t->bounds[i].p, end };
		if (i == 0)
			crash_point("partial");
	}
	if (!need) {
		/* no memory to describe the wait: flush each here */
		for (size_t i = 0; i < t->nbounds && rc == 0; i++) {
			int64_t flushed;
			rc = store_partition_flush(t->bounds[i].p, &flushed, err, sizeof err);
		}
		commit_flushed(t, rc, err);
		return;
	}
	flush_wait_many(t->commit_req, need, t->nbounds, commit_flushed, t);
	free(need);
}

int tx_do_rollback_prepared(struct tx *t, char *err, size_t errlen)
{
	set_logged(t, TXL_NONE);
	int rc = tx_log_finish(t->id, TXR_ROLLED_BACK, true, err, errlen);
	if (rc != 0)
		set_logged(t, TXL_PREPARED);
	return rc;
}
