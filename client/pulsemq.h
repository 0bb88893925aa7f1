/*
 * pulsemq.h - libpulsemq, the C client of pulsemq (MetaQ text protocol).
 *
 * Promises:
 *  - One struct pulsemq_conn is one TCP connection to one broker, used by one
 *    thread at a time. Nothing in the library is global or locked; use one
 *    connection per thread (or your own lock).
 *  - Every request gets an opaque the library allocates, and exactly one
 *    completion: the broker's answer (matched by opaque, in whatever order
 *    answers arrive), or a local error: -ETIMEDOUT (request_timeout_ms
 *    passed), -ECONNRESET (the connection was lost first), -EPROTO (the
 *    broker's bytes lost their framing: the connection is closed) or
 *    -ECANCELED (pulsemq_close). A late answer to a timed-out request is
 *    dropped and counted; a line that cannot be decoded but can be skipped
 *    is counted as a protocol error and skipped.
 *  - Liveness, as MPush does it: a connection that has written nothing for
 *    heartbeat_interval_ms sends `version`; one that has read nothing for
 *    that long while an answer is owed (our heartbeat included) counts a
 *    read timeout; max_read_timeouts in a row close it (-ETIMEDOUT). A
 *    silent peer is dropped about (max_read_timeouts + 1) intervals after
 *    the last byte it sent.
 *    A lost connection is reconnected after an exponential backoff with
 *    jitter. The broker's own `version OPAQUE` heartbeats are answered
 *    `result 200 0 OPAQUE`.
 *  - Functions return 0 (or a count) on success and -errno on failure. The
 *    blocking calls return 0 on status 200, the broker's status code (> 0)
 *    when the broker refused, -errno on a local failure; the
 *    struct pulsemq_error then holds the code and the broker's text.
 *
 * Two ways to use it:
 *  - blocking: pulsemq_connect(), then pulsemq_put()/pulsemq_get()/... each
 *    waits for its answer (at most request_timeout_ms).
 *  - pipelined: pulsemq_submit*() queue requests with a completion callback;
 *    put pulsemq_fd() into your poll/epoll set with pulsemq_events(), call
 *    pulsemq_process() when it is ready or when pulsemq_timeout() ms have
 *    passed, and pulsemq_flush() after submitting. pulsemq_poll() does the
 *    waiting for you on this one connection. The fd changes when the
 *    connection is re-established: re-read it after every process call.
 *
 * A completion callback may submit and flush. Blocking calls,
 * pulsemq_process(), pulsemq_poll() and pulsemq_quit() made from a callback
 * return -EDEADLK (they would need the loop that is calling back);
 * pulsemq_close() must not be called from one.
 */
#ifndef PULSEMQ_H
#define PULSEMQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PULSEMQ_DEFAULT_HOST "127.0.0.1"
#define PULSEMQ_DEFAULT_PORT 8123

struct pulsemq_conn;

enum pulsemq_event_type {
	PULSEMQ_EV_CONNECTED,     /* (re)connected; attempt = tries it took */
	PULSEMQ_EV_DISCONNECTED,  /* lost; error = -errno (-ETIMEDOUT: liveness) */
	PULSEMQ_EV_RECONNECT_SCHEDULED, /* next try in delay_ms (attempt n) */
	PULSEMQ_EV_READ_TIMEOUT,  /* an answer owed, nothing read for an interval */
	PULSEMQ_EV_NOTIFY,        /* the broker's notify: group, generation */
	PULSEMQ_EV_REGISTERED,    /* a registration was answered: error = status (200, 400...) */
};

struct pulsemq_event {
	enum pulsemq_event_type type;
	int error;     /* DISCONNECTED, or a failed attempt before RECONNECT_SCHEDULED */
	int delay_ms;  /* RECONNECT_SCHEDULED */
	int attempt;   /* 1-based count of consecutive reconnect attempts */
	const char *group;    /* NOTIFY: the group (NUL-terminated, valid during the call) */
	uint64_t generation;  /* NOTIFY: its generation now */
};

struct pulsemq_options {
	int connect_timeout_ms;    /* 3000: each connect attempt */
	int request_timeout_ms;    /* 10000: answer deadline; 0 = none */
	int heartbeat_interval_ms; /* 10000 (MetaQ's idle time); 0 = off */
	int max_read_timeouts;     /* 2 read timeouts in a row close */
	bool reconnect;            /* true: re-establish lost connections */
	int backoff_min_ms;        /* 100: first reconnect delay (before jitter) */
	int backoff_max_ms;        /* 10000: the delay doubles up to this */
	size_t max_body_bytes;     /* 64 MiB: largest answer body accepted */
	/* Optional: told about connection state changes (tests, logs). */
	void (*on_event)(struct pulsemq_conn *c, const struct pulsemq_event *ev, void *arg);
	void *event_arg;
};

/* Fills *o with the defaults above. */
void pulsemq_options_init(struct pulsemq_options *o);

/* An answer, or a local failure (status < 0, -errno). */
struct pulsemq_response {
	int status;        /* 200, 404, 503 ... or -ETIMEDOUT/-ECONNRESET/-EPROTO/-ECANCELED */
	bool value;        /* a `value` (message set) answer rather than `result` */
	int32_t opaque;
	const char *body;  /* valid only during the callback; not NUL-terminated */
	size_t len;
};

typedef void pulsemq_callback(struct pulsemq_conn *c,
                              const struct pulsemq_response *r, void *arg);

/*
 * Resolves host (name or address), connects within connect_timeout_ms and
 * returns a connection in *out. opt may be NULL (defaults). On failure
 * returns -errno and writes why into err (errlen bytes, may be NULL).
 */
int pulsemq_connect(struct pulsemq_conn **out, const char *host, int port,
                    const struct pulsemq_options *opt, char *err, size_t errlen);
/* Completes every pending request with -ECANCELED, closes, frees. Never
 * call it from a completion callback. NULL is fine. */
void pulsemq_close(struct pulsemq_conn *c);

/* ---- pipelined API --------------------------------------------------- */

/*
 * Queues one request: `line` is the command without opaque and without
 * \r\n ("version", "debug sleep get 200"); the library appends " OPAQUE\r\n"
 * and then body (len bytes, may be NULL/0). cb may be NULL (answer dropped).
 * The opaque goes into *opaque when that is not NULL.
 * -ENOTCONN while disconnected (reconnecting): submit again later.
 */
int pulsemq_submit(struct pulsemq_conn *c, const char *line, const void *body,
                   size_t len, pulsemq_callback *cb, void *arg, int32_t *opaque);
/* Typed requests, encoded by the protocol library. put carries the CRC
 * checksum of data; partition -1 lets the broker pick. */
int pulsemq_submit_put(struct pulsemq_conn *c, const char *topic, int32_t partition,
                       const void *data, size_t len, int32_t flag,
                       pulsemq_callback *cb, void *arg);
int pulsemq_submit_get(struct pulsemq_conn *c, const char *topic, const char *group,
                       int32_t partition, int64_t offset, int32_t max_size,
                       pulsemq_callback *cb, void *arg);
int pulsemq_submit_offset(struct pulsemq_conn *c, const char *topic, const char *group,
                          int32_t partition, int64_t offset,
                          pulsemq_callback *cb, void *arg);
int pulsemq_submit_version(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg);
/* item NULL = the system stats. */
int pulsemq_submit_stats(struct pulsemq_conn *c, const char *item,
                         pulsemq_callback *cb, void *arg);

/* Writes what is queued, without blocking. 0 or -errno (connection lost:
 * its pending requests are then completed with -ECONNRESET). */
int pulsemq_flush(struct pulsemq_conn *c);

/* The socket to watch; -1 while disconnected. Changes on reconnect. */
int pulsemq_fd(const struct pulsemq_conn *c);
/* POLLIN/POLLOUT (same bits as EPOLLIN/EPOLLOUT) the connection waits for. */
unsigned pulsemq_events(const struct pulsemq_conn *c);
/* Milliseconds until pulsemq_process() must run even without I/O
 * (heartbeat, request deadline, reconnect); -1 = no timer. */
int pulsemq_timeout(const struct pulsemq_conn *c);
/*
 * Does the I/O that revents (POLLIN/POLLOUT/POLLERR/POLLHUP bits, 0 = none)
 * allows, runs due timers and delivers completions. Returns the number of
 * completions delivered, or -ENOTCONN when the connection is closed for
 * good (reconnect off).
 */
int pulsemq_process(struct pulsemq_conn *c, unsigned revents);
/* Waits up to timeout_ms (-1 = until something happens) for this one
 * connection, then processes: pulsemq_process()'s result. */
int pulsemq_poll(struct pulsemq_conn *c, int timeout_ms);

/* Requests sent or queued and not completed yet (heartbeats included). */
size_t pulsemq_pending(const struct pulsemq_conn *c);
bool pulsemq_connected(const struct pulsemq_conn *c);
/* Waits (processing) until connected: 0, or -ETIMEDOUT / -ENOTCONN. */
int pulsemq_wait_connected(struct pulsemq_conn *c, int timeout_ms);

struct pulsemq_conn_stats {
	uint64_t connects;            /* successful connects, the first included */
	uint64_t disconnects;
	uint64_t reconnect_attempts;
	uint64_t requests;            /* submitted by the user */
	uint64_t responses;           /* matched answers */
	uint64_t timeouts;            /* requests completed with -ETIMEDOUT */
	uint64_t late_responses;      /* answers that matched no pending request */
	uint64_t heartbeats_sent;     /* our `version` when write-idle */
	uint64_t heartbeats_answered;
	uint64_t read_timeouts;
	uint64_t broker_heartbeats;   /* the broker's `version`, answered 200 */
	uint64_t protocol_errors;     /* undecodable bytes from the broker */
	int last_backoff_ms;
};
void pulsemq_get_stats(const struct pulsemq_conn *c, struct pulsemq_conn_stats *st);

/* ---- registration (protocol.md "Client registration" [ext]) ------------ */

#define PULSEMQ_CLIENT_ID_MAX 128

/* A client id as libpulsemq makes them: host@pid@random. */
void pulsemq_client_id(char *buf, size_t cap);

/*
 * Declares this connection's registration: client_id and body, the
 * heartbeat body's lines (`producer GROUP\n`, `consumer GROUP T1,T2\n`).
 * Sent in full at once (when connected) and after every reconnect, then
 * refreshed with LEN 0 every heartbeat_interval_ms (the broker expires a
 * registration after client_expire_ms, 120 s by default); a refresh the
 * broker answers 404 is followed by the full set. Its answers are
 * PULSEMQ_EV_REGISTERED events, the broker's notify pushes PULSEMQ_EV_NOTIFY
 * events (on_event). body NULL or "" stops registering (the broker keeps
 * the last registration until the session closes or expires).
 * 0, -EINVAL (bad client id, body over 65536 bytes) or -ENOMEM.
 */
int pulsemq_register(struct pulsemq_conn *c, const char *client_id, const char *body);

/* ---- consumer groups (doc/client.md) ------------------------------------ */

/*
 * A member of consumer group GROUP on TOPIC. It registers (consumer GROUP
 * TOPIC), owns a contiguous share of the topic's partitions
 * (pulsemq_assign_averagely over the members sorted by client id),
 * starts each from its committed offset (from 0 when none is committed),
 * commits every auto_commit_ms and on close, and rebalances on every
 * notify: it commits, re-reads the members, and releases or takes
 * partitions. At-least-once: messages after the last commit are delivered
 * again after a rebalance or a crash, never lost.
 */
struct pulsemq_consumer;
struct pulsemq_message;

struct pulsemq_consumer_options {
	const char *group;
	const char *topic;
	const char *client_id;     /* NULL: pulsemq_client_id() */
	int auto_commit_ms;        /* 1000; 0: on close and pulsemq_consumer_commit() only */
	int32_t max_size;          /* 65536: the first get's size (grown as needed) */
	struct pulsemq_options conn;
};
void pulsemq_consumer_options_init(struct pulsemq_consumer_options *o);

/* Called for each message; a non-zero return stops the poll there (the
 * message counts as consumed). */
typedef int pulsemq_message_fn(const struct pulsemq_message *m, int32_t partition, void *arg);

int pulsemq_consumer_open(struct pulsemq_consumer **out, const char *host, int port,
                          const struct pulsemq_consumer_options *o, char *err, size_t errlen);
/* Waits up to timeout_ms for messages of the owned partitions, delivering
 * them through fn: how many were delivered (0 on timeout), or -errno. */
int pulsemq_consumer_poll(struct pulsemq_consumer *k, int timeout_ms, pulsemq_message_fn *fn,
                          void *arg);
/* Commits the position of every owned partition now: 0 or -errno / status. */
int pulsemq_consumer_commit(struct pulsemq_consumer *k);
/* The owned partitions (up to cap into parts): how many are owned. */
int pulsemq_consumer_partitions(const struct pulsemq_consumer *k, int32_t *parts, size_t cap);
/* Rebalances done so far (the first assignment included). */
uint64_t pulsemq_consumer_rebalances(const struct pulsemq_consumer *k);
/* Commits, then closes. NULL is fine. */
void pulsemq_consumer_close(struct pulsemq_consumer *k);

/* RocketMQ's AllocateMessageQueueAveragely: of nparts partitions (sorted)
 * and nmembers members (sorted by client id), member index takes
 * *first .. *first + return - 1. */
int pulsemq_assign_averagely(int nparts, int nmembers, int index, int *first);

/* ---- blocking API ---------------------------------------------------- */

#define PULSEMQ_ERROR_TEXT 256

struct pulsemq_error {
	int status;                     /* broker code, or -errno */
	char text[PULSEMQ_ERROR_TEXT];  /* the broker's text, or strerror */
};

/* Any request, waited for: reply->body is malloc'd (NUL-terminated, len
 * bytes before the NUL); release with pulsemq_reply_free(). Returns
 * reply->status == 200 ? 0 : status (> 0), or -errno (no reply). */
struct pulsemq_reply {
	int status;
	bool value;
	char *body;
	size_t len;
};
int pulsemq_call(struct pulsemq_conn *c, const char *line, const void *body,
                 size_t len, struct pulsemq_reply *reply, struct pulsemq_error *err);
void pulsemq_reply_free(struct pulsemq_reply *reply);

struct pulsemq_put_result {
	int64_t msgid;
	int32_t partition;
	int64_t offset;    /* byte position where the message starts */
};
int pulsemq_put(struct pulsemq_conn *c, const char *topic, int32_t partition,
                const void *data, size_t len, int32_t flag,
                struct pulsemq_put_result *res, struct pulsemq_error *err);

/* A message set as `get` returns it: records
 * int32 len | int32 checksum | int64 msgid | int32 flag | payload (big-endian). */
struct pulsemq_msgset {
	char *data;        /* malloc'd by pulsemq_get; pulsemq_msgset_free() */
	size_t len;
	int64_t offset;    /* the partition offset of data[0] */
};
struct pulsemq_message {
	int64_t offset;    /* where this record starts in the partition */
	int64_t msgid;
	int32_t flag;
	int32_t checksum;  /* as stored */
	const char *payload;
	size_t len;
	size_t size;       /* whole record: 20 + len; next offset = offset + size */
};
#define PULSEMQ_MSG_HEADER 20

/*
 * Decodes the record at *pos and advances *pos past it. Returns 1 (a
 * message), 0 (no whole message left: the set ended, possibly with a
 * partial trailing record, which is normal), -EBADMSG (checksum mismatch:
 * *m and *pos still describe/skip the record) or -EPROTO (a negative
 * length: nothing after it can be trusted; *pos is not advanced).
 */
int pulsemq_msgset_next(const struct pulsemq_msgset *set, size_t *pos,
                        struct pulsemq_message *m);
/* The record size the set's first incomplete record needs (header read),
 * 0 if unknown (fewer than 4 bytes of it). */
size_t pulsemq_msgset_needed(const struct pulsemq_msgset *set, size_t pos);
void pulsemq_msgset_free(struct pulsemq_msgset *set);

/*
 * get TOPIC GROUP PARTITION OFFSET MAXSIZE. *max_size is in/out: when the
 * first message at offset does not fit, it is doubled (as MetaQ's client
 * does) and the get repeated, up to max_body_bytes; the grown value is left
 * in *max_size for the next call. 0 with set->len == 0 cannot happen: the
 * broker answers 404 at the end of a partition.
 */
int pulsemq_get(struct pulsemq_conn *c, const char *topic, const char *group,
                int32_t partition, int64_t offset, int32_t *max_size,
                struct pulsemq_msgset *set, struct pulsemq_error *err);
/* offset TOPIC GROUP PARTITION OFFSET: the broker's answer in *result. */
int pulsemq_offset(struct pulsemq_conn *c, const char *topic, const char *group,
                   int32_t partition, int64_t offset, int64_t *result,
                   struct pulsemq_error *err);
/* The broker's version string, NUL-terminated (truncated to cap). */
int pulsemq_version(struct pulsemq_conn *c, char *buf, size_t cap,
                    struct pulsemq_error *err);
/* stats [ITEM]: the body in reply (see pulsemq_call). */
int pulsemq_stats(struct pulsemq_conn *c, const char *item,
                  struct pulsemq_reply *reply, struct pulsemq_error *err);
/* Sends `quit` and waits until the broker closes (or timeout): 0 or -errno.
 * The connection does not reconnect afterwards. */
int pulsemq_quit(struct pulsemq_conn *c);

/* ---- transactions (blocking) --------------------------------------------
 *
 * Local transactions, as MetaQ's transactional producer: begin, puts with
 * the transaction's key (answered with offset -1: nothing is visible until
 * commit), then commit (every message appears at once) or rollback. A
 * local transaction belongs to its connection: closing it, or a reconnect,
 * rolls it back on the broker. The broker's errors come back as for any
 * call (status 500, the text in err).
 */
#define PULSEMQ_TX_KEY_BYTES 128
struct pulsemq_tx {
	char session[64];              /* pulsemq-<pid>-<n>: MetaQ's session id */
	char key[PULSEMQ_TX_KEY_BYTES]; /* TX:<session>:1 */
};
/* BEGIN; timeout_s > 0 rolls it back on the broker after that many
 * seconds (clamped to the broker's max_tx_timeout_s), 0 = never. */
int pulsemq_tx_begin(struct pulsemq_conn *c, struct pulsemq_tx *tx, int32_t timeout_s,
                     struct pulsemq_error *err);
/* A put inside tx: partition must be >= 0 (the broker picks none inside a
 * transaction). res->offset is -1. */
int pulsemq_tx_put(struct pulsemq_conn *c, const struct pulsemq_tx *tx, const char *topic,
                   int32_t partition, const void *data, size_t len, int32_t flag,
                   struct pulsemq_put_result *res, struct pulsemq_error *err);
int pulsemq_tx_commit(struct pulsemq_conn *c, const struct pulsemq_tx *tx,
                      struct pulsemq_error *err);
int pulsemq_tx_rollback(struct pulsemq_conn *c, const struct pulsemq_tx *tx,
                        struct pulsemq_error *err);
/* XA recovery for operators: the keys of the prepared branches of unique
 * qualifier uq (NULL: every one), joined by \r\n in reply->body. */
int pulsemq_tx_recover(struct pulsemq_conn *c, const char *uq, struct pulsemq_reply *reply,
                       struct pulsemq_error *err);
/* Commits (COMMIT_TWO_PHASE) or rolls back the prepared XA branch key,
 * from any connection. */
int pulsemq_tx_finish(struct pulsemq_conn *c, const char *key, bool commit,
                      struct pulsemq_error *err);

/* MetaQ's checksum: CRC-32 (IEEE) masked with 0x7FFFFFFF. */
int32_t pulsemq_checksum(const void *data, size_t len);

/* ---- cluster discovery (ZooKeeper, MetaQ's layout) -------------------- */

/* One partition of a topic and the broker that holds it. */
struct pulsemq_route {
	int32_t broker_id;
	int32_t partition;     /* the broker's own partition number */
	char host[256];
	int port;
};

/*
 * Reads the registry once (protocol.md "Registry in ZooKeeper"): every
 * partition of topic under ROOT/brokers/topics-pub (for_put) or topics-sub,
 * with the address in ROOT/brokers/ids/B/master, sorted by broker id then
 * partition. zk is "HOST:PORT[,HOST:PORT...][/ROOT]" (ROOT default /meta).
 * *out is malloc'ed (free() it); *n may be 0 (no broker has the topic, or
 * none is available for puts). -errno with why on failure (ZooKeeper not
 * reachable within timeout_ms: -ETIMEDOUT).
 */
int pulsemq_discover(const char *zk, const char *topic, bool for_put, int timeout_ms,
                     struct pulsemq_route **out, size_t *n, char *why, size_t whylen);

/*
 * A producer over every broker of a cluster (cluster.c): one connection per
 * broker, opened when first used; a topic's partitions from topics-pub,
 * read again at most every PULSEMQ_CLUSTER_REFRESH_MS and after any
 * failure. A put goes to the next partition round robin (or, with a key,
 * to the partition of the key's hash among those available), and when its
 * broker refuses it (403 offline, 503 busy) or cannot be reached, to the
 * next one: a put fails only when every partition did. One blocking put at
 * a time, so one partition's acknowledged messages keep their order.
 * Not thread-safe: one per thread.
 */
#define PULSEMQ_CLUSTER_REFRESH_MS 1000
struct pulsemq_cluster;
struct pulsemq_cluster_result {
	int32_t broker_id;
	struct pulsemq_put_result put;  /* partition: the broker's own */
	unsigned retries;               /* sends that failed before this one */
};
/* zk as for pulsemq_discover(); opt may be NULL. 0 or -errno. */
int pulsemq_cluster_open(struct pulsemq_cluster **out, const char *zk,
                         const struct pulsemq_options *opt);
void pulsemq_cluster_close(struct pulsemq_cluster *cl);
/* key may be NULL (round robin). 0, or the last failure (broker code or
 * -errno; -ENOENT: no broker takes puts for topic) with err. */
int pulsemq_cluster_put(struct pulsemq_cluster *cl, const char *topic, const char *key,
                        const void *data, size_t len, int32_t flag,
                        struct pulsemq_cluster_result *res, struct pulsemq_error *err);

#ifdef __cplusplus
}
#endif

#endif
