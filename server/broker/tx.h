/*
 * tx.h - MetaQ transactions, private to the broker wing: local
 * transactions (one connection's, one session id's) and XA branches
 * (global), their staged messages, the transaction log and timeouts.
 * ../shared/metaq-transactions.md is the wire behaviour followed; doc/
 * transactions.md says where pulsemqd departs from the real broker.
 *
 * Files:
 *   tx.c        the table, the state machine, the `transaction` processor
 *               and the staging of transactional puts
 *   tx_commit.c commit and prepare: log, append, flush
 *   tx_log.c    the log's records (store/txlog.h frames them), recovery at
 *               start-up and compaction
 *   tx_timer.c  the wheel (timeouts), closed connections, the tick
 *
 * Lock: tx_g.lock guards the table, the wheel, the gauges and every
 * transaction's state. It is never held across a disk write or a flush
 * except by compaction (a rewrite of what is live, bounded by
 * max_tx_staged_bytes). A transaction being prepared, committed or rolled
 * back is TX_BUSY: nothing else touches its messages meanwhile.
 */
#ifndef PMQ_BROKER_TX_H
#define PMQ_BROKER_TX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actors/handle.h"
#include "actors/wheel.h"
#include "server/common/counters.h"
#include "server/common/settings.h"
#include "server/runtime/request.h"
#include "store/store.h"
#include "store/txlog.h"

/* Hash buckets of each table (local, XA, closed connections). */
#define TX_BUCKETS 4096
/* The wheel's tick, and how often the tick task runs. */
#define TX_TICK_MS 100
#define TX_WHEEL_SLOTS 1024
/* The log is compacted once it holds more than this and more than twice
 * what was live after the last compaction. */
#define TX_LOG_COMPACT_BYTES (4 << 20)

/* XA error codes (javax.transaction.xa). */
#define XA_RDONLY 3
#define XA_RBOTHER 104
#define XAER_RMERR (-3)
#define XAER_NOTA (-4)
#define XAER_PROTO (-6)

enum tx_state {
	TX_START,    /* begun, no put yet */
	TX_IN_USE,   /* has puts */
	TX_PREPARED, /* XA, on disk */
	TX_BUSY,     /* being prepared, committed or rolled back */
};

/* What the log holds for a transaction now (compaction re-emits it). */
enum tx_logged { TXL_NONE, TXL_PREPARED, TXL_COMMITTING };

struct tx_msg {
	struct tx_msg *next;
	struct store_partition *p;
	int64_t msgid;
	int32_t flag;
	size_t len;
	unsigned char body[];
};

/* Where a partition's end was before a commit appended to it: recovery
 * looks for the commit's records from there on. */
struct tx_bound {
	struct store_partition *p;
	int64_t from;
};

struct tx {
	struct tx *next;          /* bucket chain */
	char *key;
	size_t keylen;
	const char *uq;           /* XA: the key's last field (inside key) */
	size_t uqlen;
	bool xa;
	struct handle owner;      /* local: the connection */
	enum tx_state state;
	enum tx_logged logged;
	bool was_prepared;
	uint64_t id;              /* names it in the log */
	struct tx_msg *msgs, **tail;
	size_t nmsgs;
	uint64_t bytes;           /* staged payload bytes */
	struct tx_bound *bounds;  /* while committing */
	size_t nbounds;
	struct request *commit_req; /* the COMMIT being answered */
	struct wheel_entry timer;
};

struct tx_global {
	pthread_mutex_t lock;
	const struct settings *cfg;
	struct store *st;
	struct txlog *log;
	struct tx *local[TX_BUCKETS], *xa[TX_BUCKETS];
	struct wheel *wheel;
	uint64_t next_id;
	uint64_t live_log_bytes;  /* after the last compaction */
	/* gauges (under lock) */
	uint64_t open, prepared, staged_bytes;
	/* counters */
	atomic_uint_fast64_t begun, committed, rolled_back, timed_out, closed_rollbacks,
		refused_cap;
	bool started;
	const char *crash_at;      /* tests' fault seam (tx_commit.c) */
};

extern struct tx_global tx_g;

/* tx.c */
struct tx *tx_new(const char *key, size_t keylen, bool xa, struct handle owner);
void tx_free(struct tx *t);
/* Under lock: into / out of its table, keeping the gauges. */
void tx_insert(struct tx *t);
void tx_unlink(struct tx *t);
/* The chain holding every local transaction of connection h. */
struct tx **tx_local_bucket(struct handle h);
struct tx *tx_find(const char *key, size_t keylen, bool xa, struct handle owner);
void tx_proc(struct request *req, void *ctx);
/* tx_do_commit's end: answers t->commit_req (any thread, no lock held). */
void tx_commit_done(struct tx *t, int rc, char *err);

/* tx_commit.c: t is TX_BUSY and out of reach of everything else. 0, or
 * -errno with err; on failure see each function for what state t is in. */
int tx_do_prepare(struct tx *t, char *err, size_t errlen);
/* Commits t for t->commit_req; ends, now or from the group commit's
 * flush, in exactly one tx_commit_done(t, rc, err): 0 (done and durable),
 * -EINPROGRESS (the decision is logged, the messages not all appended or
 * flushed: the next start finishes it) or another -errno (nothing done). */
void tx_do_commit(struct tx *t);
int tx_do_rollback_prepared(struct tx *t, char *err, size_t errlen);
/* Appends t's messages of partition p as one batch (those not skipped,
 * skip indexed in put order; NULL: all), not flushed; *end: where the
 * batch ends (durable once a flush of p covers it). */
int tx_append_partition(struct tx *t, struct store_partition *p, const bool *skip,
                        int64_t *end, char *err, size_t errlen);

/* tx_log.c */
enum tx_rec { TXR_PREPARE = 1, TXR_COMMITTING = 2, TXR_COMMITTED = 3, TXR_ROLLED_BACK = 4 };
/* Encodes t as a PREPARE or COMMITTING record (malloc'd). */
int tx_log_encode(const struct tx *t, enum tx_rec type, unsigned char **out, size_t *len);
int tx_log_finish(uint64_t id, enum tx_rec type, bool sync, char *err, size_t errlen);
int tx_log_recover(char *err, size_t errlen);
/* Compacts when due (tick, any thread); under no lock. */
void tx_log_maybe_compact(void);

/* tx_timer.c */
int tx_timer_start(void);
void tx_timer_stop(void);
/* Under lock: arms t's timeout (seconds, clamped), or cancels it. */
void tx_timer_arm(struct tx *t, int32_t seconds);
void tx_timer_cancel(struct tx *t);
/* Under lock: whether h closed lately (a BEGIN from it is refused). */
bool tx_conn_closed(struct handle h);

/* Entry points for the rest of the wing. */
int tx_start(const struct settings *cfg, struct store *st);
void tx_stop(void);
/* proc_store.c's put with a TXKEY: after the put's own checks (topic,
 * partition, checksum) and with its partition open. Answers req. */
void tx_put(struct request *req, struct store_partition *p);
/* Before those checks: the transaction exists, takes puts, and the
 * partition is not -1. false: req was answered. */
bool tx_put_admit(struct request *req);
/* The transaction figures (SF_TX_*), for store_service_figures(). */
void tx_figures(uint64_t *v);

#endif
