/*
 * counters.h - the one table of the broker's figures, and the counter
 * blocks every wing counts into.
 *
 * Every figure `stats` and /metrics report is declared once below: its
 * stats key, kind, unit, Prometheus name and help. The `stats` listings,
 * the /metrics exposition (server/metrics/) and doc/stats.md (checked by
 * tests/unit/test_stats_table) are all rendered from these rows, so a
 * figure cannot exist in one and be missing from another.
 *
 * Counters live in blocks: one per IO thread (written only by that thread)
 * and one shared block for every other thread. Updates are relaxed atomic
 * adds; a listing sums the blocks (runtime_counter_total()), so figures are
 * a consistent-enough snapshot, never torn.
 *
 * This header is a leaf (it includes nothing of server/ but the sbuf), so
 * the runtime, the broker and the metrics that render them all use it
 * without a circle.
 */
#ifndef PMQ_COUNTERS_H
#define PMQ_COUNTERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/protocol.h"
#include "server/common/sbuf.h"

/* Why a session closed; each has a sessions_closed_<name> counter. */
#define PMQ_CLOSE_REASONS(X) \
	X(QUIT, "quit")                \
	X(PEER, "peer")                \
	X(IDLE, "idle")                \
	X(HEARTBEAT, "heartbeat")      \
	X(SLOW_CONSUMER, "slow_consumer") \
	X(BAD_INPUT, "bad_input")      \
	X(FRAME_TIMEOUT, "frame_timeout") \
	X(BUFFER_BUDGET, "buffer_budget") \
	X(SHUTDOWN, "shutdown")        \
	X(REG_EXPIRED, "registration_expired")

enum close_reason {
#define PMQ_X(id, name) CLOSE_##id,
	PMQ_CLOSE_REASONS(PMQ_X)
#undef PMQ_X
	CLOSE_REASON_COUNT
};
const char *close_reason_name(enum close_reason r);

/* ---- the table ------------------------------------------------------------
 *
 * X(id, item, dim, kind, unit, key, prom, plabel, help)
 *   id     FIG_<id> (and ST_<id> / SF_<id> in the runtime's / store's rows)
 *   item   the `stats` item that lists it: SYSTEM (none or ""), POOLS,
 *          SESSIONS, TRANSACTIONS
 *   dim    NONE, or one figure per COMMAND (key cmd_<name>, label
 *          command=), per close REASON (key sessions_closed_<name>, label
 *          reason=), per POOL (key <pool>_<key>, label pool=), per IO
 *          thread (key io<n>_<key>, label io=)
 *   kind   COUNTER (only rises), GAUGE (a level now), TEXT (a word, `stats`
 *          only)
 *   unit   "", "seconds", "bytes", or "us": microseconds in `stats`,
 *          seconds on /metrics
 *   key    the `stats` key (for COMMAND and REASON: its prefix)
 *   prom   the Prometheus name; "" keeps the figure out of /metrics (the
 *          help says why)
 *   plabel a fixed label that tells rows of one Prometheus family apart
 *          (state="open"), or ""
 *   help   one line of English: the HELP text and doc/stats.md's
 *          description; of rows sharing a Prometheus name, the first
 *          row's help up to ": " is the family's HELP
 */

/* Read when a listing is made, from the runtime's views. */
#define PMQ_STATS_PROCESS(X) \
	X(PID, SYSTEM, NONE, GAUGE, "", "pid", "", "", \
	  "pulsemqd's process id (not on /metrics: the node exporter has it).") \
	X(UPTIME, SYSTEM, NONE, GAUGE, "seconds", "uptime", "pulsemq_uptime_seconds", "", \
	  "Seconds since pulsemqd started.") \
	X(VERSION, SYSTEM, NONE, TEXT, "", "version", "", "", \
	  "pulsemqd's version (on /metrics: pulsemq_build_info{version}).") \
	X(CURR_CONNECTIONS, SYSTEM, NONE, GAUGE, "", "curr_connections", "pulsemq_connections", "", \
	  "Client connections open now.") \
	X(INPUT_BUFFER_BYTES, SYSTEM, NONE, GAUGE, "bytes", "input_buffer_bytes", \
	  "pulsemq_input_buffer_bytes", "", \
	  "Session input buffers counted against max_buffer_bytes, now.") \
	X(AVAILABILITY, SYSTEM, NONE, TEXT, "", "availability", "", "", \
	  "available, unavailable (puts answered 403) or draining (on /metrics: pulsemq_available).") \
	X(AVAILABLE, SYSTEM, NONE, GAUGE, "", "available", "pulsemq_available", "", \
	  "1 while the broker takes puts, 0 while it is unavailable or draining.") \
	X(REGISTRY, SYSTEM, NONE, TEXT, "", "registry", "", "", \
	  "The ZooKeeper registry: connected, connecting or off (on /metrics: pulsemq_registry_connected).") \
	X(REGISTRY_CONNECTED, SYSTEM, NONE, GAUGE, "", "registry_connected", \
	  "pulsemq_registry_connected", "", \
	  "1 while the ZooKeeper session is connected, 0 while connecting or off.")

/* Counted into the stats blocks by the runtime (ST_<id>). */
#define PMQ_STATS_RUNTIME(X) \
	X(TOTAL_CONNECTIONS, SYSTEM, NONE, COUNTER, "", "total_connections", \
	  "pulsemq_connections_accepted_total", "", "Client connections accepted.") \
	X(REJECTED_CONNECTIONS, SYSTEM, NONE, COUNTER, "", "rejected_connections", \
	  "pulsemq_connections_rejected_total", "", \
	  "Client connections refused (max_connections, or out of file descriptors).") \
	X(REJECTED_FDS, SYSTEM, NONE, COUNTER, "", "rejected_connections_no_fds", \
	  "pulsemq_connections_rejected_no_fds_total", "", \
	  "Client connections accepted on the reserve descriptor, answered 503 and closed.") \
	X(CMD_FIRST, SYSTEM, COMMAND, COUNTER, "", "cmd_", "pulsemq_commands_total", "", \
	  "Requests decoded, by command.") \
	X(CMD_COMPAT, SYSTEM, NONE, COUNTER, "", "cmd_compat_spellings", \
	  "pulsemq_commands_compat_spelling_total", "", \
	  "Requests that used MetaQ's loose v.../q... spellings.") \
	X(BAD_REQUESTS, SYSTEM, NONE, COUNTER, "", "bad_requests", "pulsemq_bad_requests_total", "", \
	  "Requests answered 400 by the IO thread.") \
	X(HB_SENT, SYSTEM, NONE, COUNTER, "", "heartbeats_sent", "pulsemq_heartbeats_sent_total", "", \
	  "Heartbeats (version requests) sent to idle clients.") \
	X(HB_ANSWERED, SYSTEM, NONE, COUNTER, "", "heartbeats_answered", \
	  "pulsemq_heartbeats_answered_total", "", "Heartbeats answered by the client in time.") \
	X(HB_MISSED, SYSTEM, NONE, COUNTER, "", "heartbeats_missed", \
	  "pulsemq_heartbeats_missed_total", "", \
	  "Heartbeats not answered within heartbeat_timeout_ms.") \
	X(HB_UNMATCHED, SYSTEM, NONE, COUNTER, "", "heartbeat_answers_unmatched", \
	  "pulsemq_heartbeats_unmatched_total", "", \
	  "Heartbeat answers that matched no outstanding heartbeat.") \
	X(CLOSED_FIRST, SYSTEM, REASON, COUNTER, "", "sessions_closed_", \
	  "pulsemq_sessions_closed_total", "", "Sessions closed, by reason.") \
	X(REPLIES_DROPPED, SYSTEM, NONE, COUNTER, "", "replies_dropped", \
	  "pulsemq_replies_dropped_total", "", \
	  "Answers a worker could not hand to an IO thread in time.") \
	X(LOCAL_PAUSES, SYSTEM, NONE, COUNTER, "", "local_pauses", \
	  "pulsemq_local_pauses_total", "", \
	  "Times the timer thread woke more than max_local_pause_ms late (a paused process).") \
	/* Gauges: sessions in a state now (+1 on entry, -1 on exit, by the \
	 * owning IO thread; the sum over blocks is the figure). */ \
	X(SESS_OPEN, SYSTEM, NONE, GAUGE, "", "sessions_open", "pulsemq_sessions", "state=\"open\"", \
	  "Sessions now, by state: open (reading requests).") \
	X(SESS_DRAINING, SYSTEM, NONE, GAUGE, "", "sessions_draining", "pulsemq_sessions", \
	  "state=\"draining\"", "Sessions now, by state: draining (closing, writing what is owed).") \
	X(SESS_THROTTLED, SYSTEM, NONE, GAUGE, "", "sessions_throttled", \
	  "pulsemq_sessions_throttled", "", \
	  "Sessions not read because their unwritten output is over max_output_bytes.") \
	X(SESS_HB_OUT, SYSTEM, NONE, GAUGE, "", "sessions_heartbeat_outstanding", \
	  "pulsemq_sessions_heartbeat_outstanding", "", \
	  "Idle sessions whose broker heartbeat awaits an answer.") \
	X(SESS_PRODUCERS, SYSTEM, NONE, GAUGE, "", "sessions_producers", \
	  "pulsemq_sessions_producers", "", \
	  "Sessions that have sent a put (a drain waits for them to leave).") \
	X(SESS_CONSUMERS, SYSTEM, NONE, GAUGE, "", "sessions_consumers", \
	  "pulsemq_sessions_consumers", "", "Sessions that have sent a get.")

/* The broker's store service (SF_<id>; store_service_figures() fills them). */
#define PMQ_STATS_STORE(X) \
	X(STORE_PUTS, SYSTEM, NONE, COUNTER, "", "store_puts", "pulsemq_store_puts_total", "", \
	  "Messages appended.") \
	X(STORE_BYTES, SYSTEM, NONE, GAUGE, "bytes", "store_bytes", "pulsemq_store_bytes", "", \
	  "Bytes appended to segment files since start, record headers included.") \
	X(STORE_PUTS_ACKED, SYSTEM, NONE, COUNTER, "", "store_puts_acked", \
	  "pulsemq_store_puts_acked_total", "", "Puts acknowledged after the flush policy was met.") \
	X(STORE_PUTS_FAILED, SYSTEM, NONE, COUNTER, "", "store_puts_failed", \
	  "pulsemq_store_puts_failed_total", "", "Puts that failed.") \
	X(STORE_APPEND_ERRORS, SYSTEM, NONE, COUNTER, "", "store_append_errors", \
	  "pulsemq_store_append_errors_total", "", "Appends that failed (disk full, I/O error).") \
	X(STORE_FSYNCS, SYSTEM, NONE, COUNTER, "", "store_fsyncs", "pulsemq_store_fsyncs_total", "", \
	  "fsync calls made by the store.") \
	X(STORE_FSYNC_ERRORS, SYSTEM, NONE, COUNTER, "", "store_fsync_errors", \
	  "pulsemq_store_fsync_errors_total", "", "fsync calls that failed.") \
	X(STORE_FLUSH_BATCHES, SYSTEM, NONE, COUNTER, "", "store_flush_batches", \
	  "pulsemq_store_flush_batches_total", "", "Group commits (one fsync round for many puts).") \
	X(STORE_ACKS_BATCHED, SYSTEM, NONE, COUNTER, "", "store_acks_batched", \
	  "pulsemq_store_acks_batched_total", "", "Put acknowledgements released by group commits.") \
	X(STORE_GETS, SYSTEM, NONE, COUNTER, "", "store_gets", "pulsemq_store_gets_total", "", \
	  "Gets served by the store.") \
	X(STORE_GET_MISSES, SYSTEM, NONE, COUNTER, "", "store_get_misses", \
	  "pulsemq_store_get_misses_total", "", "Gets that found no data (404, 301).") \
	X(STORE_GET_BYTES, SYSTEM, NONE, COUNTER, "bytes", "store_get_bytes", \
	  "pulsemq_store_get_bytes_total", "", "Bytes returned by gets.") \
	X(STORE_OFFSETS, SYSTEM, NONE, COUNTER, "", "store_offsets", \
	  "pulsemq_store_offset_requests_total", "", "Offset requests served.") \
	X(STORE_PARTITIONS, SYSTEM, NONE, GAUGE, "", "store_partitions", "pulsemq_store_partitions", \
	  "", "Partitions open.") \
	X(STORE_SEGMENTS, SYSTEM, NONE, GAUGE, "", "store_segments", "pulsemq_store_segments", "", \
	  "Segment files in the store.") \
	X(STORE_TOPICS, SYSTEM, NONE, GAUGE, "", "store_topics", "pulsemq_store_topics", "", \
	  "Topics in the store.") \
	X(STORE_TOPICS_REFUSED, SYSTEM, NONE, COUNTER, "", "store_topics_refused", \
	  "pulsemq_store_topics_refused_total", "", \
	  "Topic creations refused by max_topics (answered 403).") \
	X(STORE_OPEN_FILES, SYSTEM, NONE, GAUGE, "", "store_open_files", \
	  "pulsemq_store_open_files", "", "Segment file descriptors open now.") \
	X(STORE_MAX_OPEN_FILES, SYSTEM, NONE, GAUGE, "", "store_max_open_files", \
	  "pulsemq_store_max_open_files", "", \
	  "Segment file descriptors kept open at most (max_open_files).") \
	X(STORE_FILE_OPENS, SYSTEM, NONE, COUNTER, "", "store_file_opens", \
	  "pulsemq_store_file_opens_total", "", \
	  "Segment files opened again after the cache closed them.") \
	X(STORE_TRUNCATED_BYTES, SYSTEM, NONE, COUNTER, "bytes", "store_truncated_bytes", \
	  "pulsemq_store_recovery_truncated_bytes_total", "", \
	  "Bytes of torn tails cut off by recovery.") \
	X(STORE_CORRUPT_READS, SYSTEM, NONE, COUNTER, "", "store_corrupt_reads", \
	  "pulsemq_store_corrupt_reads_total", "", \
	  "Gets refused because the record at their offset is corrupt.") \
	X(STORE_SEGMENTS_DELETED, SYSTEM, NONE, COUNTER, "", "store_segments_deleted", \
	  "pulsemq_store_segments_deleted_total", "", "Segments deleted by retention.") \
	X(STORE_FSYNCS_PER_1000_PUTS, SYSTEM, NONE, GAUGE, "", "store_fsyncs_per_1000_puts", \
	  "pulsemq_store_fsyncs_per_1000_puts", "", \
	  "fsync calls per 1000 puts since start (group-commit efficiency).") \
	/* `stats transactions` (server/broker/tx.c fills them): SF_TX_OPEN \
	 * must stay the first of these rows, tx_figures() indexes from it. */ \
	X(TX_OPEN, TRANSACTIONS, NONE, GAUGE, "", "tx_open", "pulsemq_transactions_open", "", \
	  "Transactions open now (local and XA, prepared included).") \
	X(TX_PREPARED, TRANSACTIONS, NONE, GAUGE, "", "tx_prepared", \
	  "pulsemq_transactions_prepared", "", "XA branches prepared, awaiting commit or rollback.") \
	X(TX_STAGED_BYTES, TRANSACTIONS, NONE, GAUGE, "bytes", "tx_staged_bytes", \
	  "pulsemq_transactions_staged_bytes", "", \
	  "Message bytes held by open transactions (bounded by max_tx_staged_bytes).") \
	X(TX_BEGUN, TRANSACTIONS, NONE, COUNTER, "", "tx_begun", "pulsemq_transactions_begun_total", \
	  "", "Transactions begun.") \
	X(TX_COMMITTED, TRANSACTIONS, NONE, COUNTER, "", "tx_committed", \
	  "pulsemq_transactions_committed_total", "", \
	  "Transactions committed (XA read-only prepares included).") \
	X(TX_ROLLED_BACK, TRANSACTIONS, NONE, COUNTER, "", "tx_rolled_back", \
	  "pulsemq_transactions_rolled_back_total", "", \
	  "Transactions rolled back (by request, timeout, closed connection or failure).") \
	X(TX_TIMED_OUT, TRANSACTIONS, NONE, COUNTER, "", "tx_timed_out", \
	  "pulsemq_transactions_timed_out_total", "", \
	  "Unprepared transactions rolled back by their TIMEOUT.") \
	X(TX_CLOSED_ROLLBACKS, TRANSACTIONS, NONE, COUNTER, "", "tx_closed_rollbacks", \
	  "pulsemq_transactions_closed_rollbacks_total", "", \
	  "Local transactions rolled back because their connection closed.") \
	X(TX_REFUSED_CAP, TRANSACTIONS, NONE, COUNTER, "", "tx_refused_cap", \
	  "pulsemq_transactions_refused_total", "", \
	  "BEGINs and puts answered 503 by max_open_transactions or max_tx_staged_bytes.") \
	X(TX_LOG_BYTES, TRANSACTIONS, NONE, GAUGE, "bytes", "tx_log_bytes", \
	  "pulsemq_transactions_log_bytes", "", "Size of the transaction log file now.") \
	X(TX_LOG_FSYNCS, TRANSACTIONS, NONE, COUNTER, "", "tx_log_fsyncs", \
	  "pulsemq_transactions_log_fsyncs_total", "", \
	  "fdatasync calls on the transaction log (shared by concurrent prepares and commits).") \
	X(TX_LOG_COMPACTIONS, TRANSACTIONS, NONE, COUNTER, "", "tx_log_compactions", \
	  "pulsemq_transactions_log_compactions_total", "", \
	  "Rewrites of the transaction log down to what is live.") \
	/* client registration and committed offsets (server/broker/clients.c, \
	 * offsets.c; doc/registration.md) */ \
	X(REG_CLIENTS, SYSTEM, NONE, GAUGE, "", "registered_clients", "pulsemq_registered_clients", \
	  "", "Client ids with a registered session now.") \
	X(REG_SESSIONS, SYSTEM, NONE, GAUGE, "", "registered_sessions", \
	  "pulsemq_registered_sessions", "", "Sessions with a registration now.") \
	X(REG_PRODUCER_GROUPS, SYSTEM, NONE, GAUGE, "", "producer_groups", \
	  "pulsemq_groups", "kind=\"producer\"", "Groups with members now, by kind: producer.") \
	X(REG_CONSUMER_GROUPS, SYSTEM, NONE, GAUGE, "", "consumer_groups", \
	  "pulsemq_groups", "kind=\"consumer\"", "Groups with members now, by kind: consumer.") \
	X(REG_REGISTRATIONS, SYSTEM, NONE, COUNTER, "", "registrations", \
	  "pulsemq_registrations_total", "", "Full registrations (heartbeats with a body) accepted.") \
	X(REG_REFRESHES, SYSTEM, NONE, COUNTER, "", "registration_refreshes", \
	  "pulsemq_registration_refreshes_total", "", "Registration refreshes (heartbeats with LEN 0) accepted.") \
	X(REG_REFUSED, SYSTEM, NONE, COUNTER, "", "registrations_refused", \
	  "pulsemq_registrations_refused_total", "", "Registrations answered 400 for a bad body line or a limit.") \
	X(REG_EXPIRED, SYSTEM, NONE, COUNTER, "", "registrations_expired", \
	  "pulsemq_registrations_expired_total", "", \
	  "Registrations that lapsed after client_expire_ms without a heartbeat (session closed).") \
	X(REG_NOTIFIES, SYSTEM, NONE, COUNTER, "", "notifies_sent", "pulsemq_notifies_sent_total", \
	  "", "notify pushes sent to consumer group members.") \
	X(OFFSETS_COMMITS, SYSTEM, NONE, COUNTER, "", "offset_commits", \
	  "pulsemq_offset_commits_total", "", "commit requests stored (answered 200).") \
	X(OFFSETS_STORED, SYSTEM, NONE, GAUGE, "", "committed_offsets", \
	  "pulsemq_committed_offsets", "", "(group, topic, partition) committed offsets held now.") \
	X(OFFSETS_EXPIRED, SYSTEM, NONE, COUNTER, "", "committed_offsets_expired", \
	  "pulsemq_committed_offsets_expired_total", "", \
	  "Committed offsets removed by offset_retention_ms.") \
	X(OFFSETS_FSYNCS, SYSTEM, NONE, COUNTER, "", "offset_log_fsyncs", \
	  "pulsemq_offset_log_fsyncs_total", "", "fsync calls on the committed-offsets log.")

/* Per executor pool (`stats pools`), from pool_read_stats(). */
#define PMQ_STATS_POOL(X) \
	X(POOL_THREADS, POOLS, POOL, GAUGE, "", "threads", "pulsemq_pool_threads", "", \
	  "Worker threads of the pool.") \
	X(POOL_QUEUE_SIZE, POOLS, POOL, GAUGE, "", "queue_size", "pulsemq_pool_queue_capacity", "", \
	  "Requests the pool's queue holds at most.") \
	X(POOL_QUEUED, POOLS, POOL, GAUGE, "", "queued", "pulsemq_pool_queue_depth", "", \
	  "Requests waiting in the pool's queue now.") \
	X(POOL_SUBMITTED, POOLS, POOL, COUNTER, "", "submitted", "pulsemq_pool_submitted_total", "", \
	  "Requests queued to the pool.") \
	X(POOL_REJECTED_BUSY, POOLS, POOL, COUNTER, "", "rejected_busy", \
	  "pulsemq_pool_rejected_total", "", \
	  "Requests answered 503 because the pool's queue was full.") \
	X(POOL_EXPIRED, POOLS, POOL, COUNTER, "", "expired", "pulsemq_pool_expired_total", "", \
	  "Requests answered 504 after waiting past request_timeout_ms.") \
	X(POOL_COMPLETED, POOLS, POOL, COUNTER, "", "completed", "pulsemq_pool_completed_total", "", \
	  "Requests the pool's workers finished.") \
	X(POOL_WAIT_P50, POOLS, POOL, GAUGE, "us", "wait_p50_us", \
	  "pulsemq_pool_queue_wait_quantile_seconds", "quantile=\"0.5\"", \
	  "Time requests waited in the pool's queue, quantiles since start: the median.") \
	X(POOL_WAIT_P99, POOLS, POOL, GAUGE, "us", "wait_p99_us", \
	  "pulsemq_pool_queue_wait_quantile_seconds", "quantile=\"0.99\"", \
	  "Time requests waited in the pool's queue, quantiles since start: the 99th percentile.")

/* Per IO thread (`stats sessions`), from the runtime's views. */
#define PMQ_STATS_SESSIONS(X) \
	X(SESSIONS, SESSIONS, NONE, GAUGE, "", "sessions", "", "", \
	  "Sessions held by all IO threads now (on /metrics: sum pulsemq_io_sessions).") \
	X(IO_THREADS, SESSIONS, NONE, GAUGE, "", "io_threads", "pulsemq_io_threads", "", \
	  "IO threads running.") \
	X(IO_SESSIONS, SESSIONS, IO, GAUGE, "", "sessions", "pulsemq_io_sessions", "", \
	  "Sessions the IO thread holds now.") \
	X(IO_MAILBOX_DEPTH, SESSIONS, IO, GAUGE, "", "mailbox_depth", "pulsemq_io_mailbox_depth", \
	  "", "Messages waiting in the IO thread's mailbox now.")

#define PMQ_STATS_TABLE(X) \
	PMQ_STATS_PROCESS(X) PMQ_STATS_RUNTIME(X) PMQ_STATS_STORE(X) PMQ_STATS_POOL(X) \
	PMQ_STATS_SESSIONS(X)

/* How many counter slots a runtime row takes in a block. */
#define PMQ_STAT_SPAN_NONE 1
#define PMQ_STAT_SPAN_COMMAND PMQ_CMD_COUNT        /* + enum pmq_cmd */
#define PMQ_STAT_SPAN_REASON CLOSE_REASON_COUNT    /* + enum close_reason */

/* The runtime's counters: ST_CMD_FIRST + enum pmq_cmd, ST_CLOSED_FIRST +
 * enum close_reason, one slot for every other row. */
enum stat_id {
#define PMQ_X(id, item, dim, ...) ST_##id, ST_##id##_LAST_ = ST_##id + PMQ_STAT_SPAN_##dim - 1,
	PMQ_STATS_RUNTIME(PMQ_X)
#undef PMQ_X
	ST_COUNT
};

/* The store service's figures, as store_service_figures() fills them. */
enum store_figure {
#define PMQ_X(id, ...) SF_##id,
	PMQ_STATS_STORE(PMQ_X)
#undef PMQ_X
	SF_COUNT
};

/* Every row of the table. */
enum stat_figure {
#define PMQ_X(id, ...) FIG_##id,
	PMQ_STATS_TABLE(PMQ_X)
#undef PMQ_X
	FIG_COUNT
};

enum stat_item { STAT_ITEM_SYSTEM, STAT_ITEM_POOLS, STAT_ITEM_SESSIONS, STAT_ITEM_TRANSACTIONS,
	STAT_ITEM_COUNT };
enum stat_dim { STAT_DIM_NONE, STAT_DIM_COMMAND, STAT_DIM_REASON, STAT_DIM_POOL, STAT_DIM_IO };
enum stat_kind { STAT_COUNTER, STAT_GAUGE, STAT_TEXT };
/* Where a row's live value comes from. */
enum stat_src { STAT_SRC_PROCESS, STAT_SRC_RUNTIME, STAT_SRC_STORE, STAT_SRC_POOL,
	STAT_SRC_SESSIONS };

struct stat_figure_info {
	const char *id;        /* "CMD_FIRST": the row's name in this table */
	enum stat_item item;
	enum stat_dim dim;
	enum stat_kind kind;
	enum stat_src src;
	unsigned slot;         /* ST_<id> or SF_<id> for those sources, else 0 */
	const char *unit, *key, *prom, *plabel, *help;
};

extern const struct stat_figure_info stat_figures[FIG_COUNT];

/* "" for the system item, "pools", "sessions". */
const char *stat_item_name(enum stat_item item);
/* The label a dimension's figures carry on /metrics ("command"), or NULL. */
const char *stat_dim_label(enum stat_dim dim);

/*
 * The one writer of `stats` lines: appends "PREFIXKEY VALUE\r\n" to b. The
 * counter listings, the store's figures and `stats config` all go through
 * it, so every item has the same shape.
 */
void stats_line(struct sbuf *b, const char *prefix, const char *key, const char *value);

/* ---- the blocks ------------------------------------------------------------ */

struct stats_block {
	_Atomic uint64_t v[ST_COUNT];
};

static inline void stats_add(struct stats_block *b, enum stat_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&b->v[id], n, memory_order_relaxed);
}

static inline void stats_inc(struct stats_block *b, enum stat_id id)
{
	stats_add(b, id, 1);
}

/* A gauge's -1: unsigned wrap-around, so the sum over blocks stays right. */
static inline void stats_dec(struct stats_block *b, enum stat_id id)
{
	stats_add(b, id, UINT64_MAX);
}

#endif
