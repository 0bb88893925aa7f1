/*
 * tx.c - transactions over the blocking API (pulsemq.h): the lines of
 * MetaQ's TransactionCommand and its put with a transaction key
 * (../shared/metaq-transactions.md §2).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client/conn.h"

/* Command lines are short: keys and topics are bounded. */
#define TX_LINE_BYTES 512

static atomic_uint tx_sessions;

static int call_tx(struct pulsemq_conn *c, const char *key, const char *session,
                   const char *type, const char *extra, struct pulsemq_reply *reply,
                   struct pulsemq_error *err)
{
	char line[TX_LINE_BYTES];
	int n = snprintf(line, sizeof line, "transaction %s %s %s%s%s", key, session, type,
	                 extra ? " " : "", extra ? extra : "");
	if (n < 0 || (size_t)n >= sizeof line) {
		if (err) {
			err->status = -EINVAL;
			snprintf(err->text, sizeof err->text, "transaction key too long");
		}
		return -EINVAL;
	}
	return pulsemq_call(c, line, NULL, 0, reply, err);
}

static int call_tx_done(struct pulsemq_conn *c, const char *key, const char *session,
                        const char *type, const char *extra, struct pulsemq_error *err)
{
	struct pulsemq_reply r;
	int rc = call_tx(c, key, session, type, extra, &r, err);
	pulsemq_reply_free(&r);
	return rc;
}

int pulsemq_tx_begin(struct pulsemq_conn *c, struct pulsemq_tx *tx, int32_t timeout_s,
                     struct pulsemq_error *err)
{
	char t[16];
	/* no ':' and no space: the broker splits the key on ':' */
	snprintf(tx->session, sizeof tx->session, "pulsemq-%ld-%u", (long)getpid(),
	         atomic_fetch_add(&tx_sessions, 1) + 1);
	snprintf(tx->key, sizeof tx->key, "TX:%s:1", tx->session);
	snprintf(t, sizeof t, "%" PRId32, timeout_s);
	return call_tx_done(c, tx->key, tx->session, "BEGIN", timeout_s > 0 ? t : NULL, err);
}

int pulsemq_tx_put(struct pulsemq_conn *c, const struct pulsemq_tx *tx, const char *topic,
                   int32_t partition, const void *data, size_t len, int32_t flag,
                   struct pulsemq_put_result *res, struct pulsemq_error *err)
{
	char line[TX_LINE_BYTES];
	struct pulsemq_reply r;
	int n = snprintf(line, sizeof line, "put %s %" PRId32 " %zu %" PRId32 " %" PRId32 " %s",
	                 topic, partition, len, flag, pulsemq_checksum(data, len), tx->key);
	if (n < 0 || (size_t)n >= sizeof line)
		return -EINVAL;
	int rc = pulsemq_call(c, line, data, len, &r, err);
	if (rc == 0 && res &&
	    sscanf(r.body, "%" SCNd64 " %" SCNd32 " %" SCNd64, &res->msgid, &res->partition,
	           &res->offset) != 3) {
		rc = -EPROTO;
		if (err) {
			err->status = rc;
			snprintf(err->text, sizeof err->text, "bad answer to a transactional put");
		}
	}
	pulsemq_reply_free(&r);
	return rc;
}

int pulsemq_tx_commit(struct pulsemq_conn *c, const struct pulsemq_tx *tx,
                      struct pulsemq_error *err)
{
	return call_tx_done(c, tx->key, tx->session, "COMMIT_ONE_PHASE", NULL, err);
}

int pulsemq_tx_rollback(struct pulsemq_conn *c, const struct pulsemq_tx *tx,
                        struct pulsemq_error *err)
{
	return call_tx_done(c, tx->key, tx->session, "ROLLBACK", NULL, err);
}

int pulsemq_tx_recover(struct pulsemq_conn *c, const char *uq, struct pulsemq_reply *reply,
                       struct pulsemq_error *err)
{
	/* a qualifier of digits alone would read as a TIMEOUT: MetaQ's own
	 * client refuses none, so neither does this; the broker then lists all */
	return call_tx(c, "null", "pulsemq-cli", "RECOVER", uq, reply, err);
}

int pulsemq_tx_finish(struct pulsemq_conn *c, const char *key, bool commit,
                      struct pulsemq_error *err)
{
	return call_tx_done(c, key, "pulsemq-cli", commit ? "COMMIT_TWO_PHASE" : "ROLLBACK",
	                    NULL, err);
}
