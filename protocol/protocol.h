/*
 * protocol.h - the MetaQ text protocol: decoder, encoder, command table.
 *
 * Promises (see ../shared/protocol.md for the wire format, byte for byte):
 *  - Pure: no I/O, no allocation, no global mutable state. Linked unchanged
 *    into pulsemqd, libpulsemq, the CLI and the bench.
 *  - The decoder works over a caller-owned buffer and returns views into it;
 *    a view is valid only while the caller keeps those bytes.
 *  - Every decode ends in exactly one of: a whole message (and how many bytes
 *    it used), "need more bytes", or a typed error that says what to answer
 *    and whether the stream can be resynchronised or must be closed.
 */
#ifndef PMQ_PROTOCOL_H
#define PMQ_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Defaults of the configurable ones; the daemon's config table
 * (server/config.c) can change them per instance through struct pmq_limits. */
#define PMQ_MAX_LINE_BYTES_DEFAULT 1024        /* a command line, \r\n included */
#define PMQ_MAX_BODY_BYTES_DEFAULT (1u << 20)  /* put/sync/result/value body */
#define PMQ_TOPIC_MAX_BYTES 255                /* topic names become directory names */
#define PMQ_MAX_TOKENS 12                      /* more than any command has */
#define PMQ_ERROR_TEXT_BYTES 160               /* room for one line of English */
#define PMQ_ADMIN_DRAIN_MAX_MS 86400000        /* admin drain: a day at most */

/* Client registration [ext] (protocol.md "Client registration, groups and
 * offsets"): fixed limits, not settings. */
#define PMQ_CLIENT_ID_MAX_BYTES 128
#define PMQ_REG_MAX_BODY_BYTES 65536   /* a heartbeat's registration body */
#define PMQ_REG_MAX_GROUPS 64          /* groups in one registration */
#define PMQ_REG_MAX_TOPICS 1024        /* topics of one consumer group line */

/* The opaque MetaQ uses when `version` or `stats` carry none. */
#define PMQ_OPAQUE_DEFAULT INT32_MAX

/* Where the runtime sends a decoded command. */
enum pmq_route {
	PMQ_ROUTE_IO,        /* handled on the IO thread (quit, result, value, debug) */
	PMQ_ROUTE_GET,       /* get pool */
	PMQ_ROUTE_PUT,       /* put pool */
	PMQ_ROUTE_HEARTBEAT, /* heartbeat pool */
	PMQ_ROUTE_NONE,      /* no processor: answered 503 (sync) */
};

/*
 * The command table: name on the wire, route, and whether a body follows the
 * line. X(ID, "word", route, has_body)
 */
#define PMQ_COMMANDS(X)                                        \
	X(PUT, "put", PMQ_ROUTE_PUT, true)                     \
	X(GET, "get", PMQ_ROUTE_GET, false)                    \
	X(OFFSET, "offset", PMQ_ROUTE_GET, false)              \
	X(VERSION, "version", PMQ_ROUTE_HEARTBEAT, false)      \
	X(STATS, "stats", PMQ_ROUTE_HEARTBEAT, false)          \
	X(QUIT, "quit", PMQ_ROUTE_IO, false)                   \
	X(TRANSACTION, "transaction", PMQ_ROUTE_PUT, false)    \
	X(SYNC, "sync", PMQ_ROUTE_NONE, true)                  \
	X(DEBUG, "debug", PMQ_ROUTE_IO, false)                 \
	X(RESULT, "result", PMQ_ROUTE_IO, true)                \
	X(VALUE, "value", PMQ_ROUTE_IO, true)                  \
	X(ADMIN, "admin", PMQ_ROUTE_HEARTBEAT, false)          \
	X(HEARTBEAT, "heartbeat", PMQ_ROUTE_HEARTBEAT, true)   \
	X(MEMBERS, "members", PMQ_ROUTE_HEARTBEAT, false)      \
	X(COMMIT, "commit", PMQ_ROUTE_PUT, false)              \
	X(COMMITTED, "committed", PMQ_ROUTE_GET, false)        \
	X(NOTIFY, "notify", PMQ_ROUTE_NONE, false)

enum pmq_cmd {
	PMQ_CMD_NONE = 0,
#define PMQ_X_ENUM(id, word, route, body) PMQ_CMD_##id,
	PMQ_COMMANDS(PMQ_X_ENUM)
#undef PMQ_X_ENUM
	PMQ_CMD_COUNT
};

struct pmq_cmd_info {
	const char *word;
	enum pmq_route route;
	bool has_body;
};

/* Table row for a command; NULL for PMQ_CMD_NONE or out of range. */
const struct pmq_cmd_info *pmq_cmd_info(enum pmq_cmd cmd);
const char *pmq_cmd_name(enum pmq_cmd cmd); /* "put", ...; "?" if unknown */

enum pmq_tx_type {
	PMQ_TX_NONE = 0,
	PMQ_TX_BEGIN,
	PMQ_TX_PREPARE,
	PMQ_TX_COMMIT_ONE_PHASE,
	PMQ_TX_COMMIT_TWO_PHASE,
	PMQ_TX_ROLLBACK,
	PMQ_TX_RECOVER,
	PMQ_TX_FORGET,
	PMQ_TX_END,
};
const char *pmq_tx_type_name(enum pmq_tx_type t);

/* A span of bytes inside the caller's buffer. ptr == NULL means "absent",
 * which differs from present-but-empty (ptr != NULL, len == 0). */
struct pmq_view {
	const char *ptr;
	size_t len;
};

/*
 * One decoded message, request or response. Only the fields of its command
 * are meaningful; the decoder zeroes the rest.
 */
struct pmq_msg {
	enum pmq_cmd cmd;
	int32_t opaque;
	bool compat_spelling;   /* a MetaQ "v..."/"q..." word, not the exact one */

	struct pmq_view topic;  /* put get offset sync */
	struct pmq_view group;  /* get offset */
	int32_t partition;      /* put get offset sync; -1 = broker picks (put) */
	int64_t offset;         /* get offset */
	int32_t max_size;       /* get */
	int32_t flag;           /* put sync */
	int32_t checksum;       /* put sync; -1 = not sent */
	int64_t msgid;          /* sync */
	struct pmq_view txkey;  /* put (optional), transaction */
	struct pmq_view body;   /* put sync result value */
	int32_t code;           /* result */

	struct pmq_view item;   /* stats: ptr NULL = none, len 0 = "" */

	/* transaction */
	struct pmq_view session_id;
	enum pmq_tx_type tx_type;
	bool has_tx_timeout;
	int32_t tx_timeout;
	struct pmq_view unique_qualifier; /* ptr NULL = absent */

	/* debug sleep TARGET MS OPAQUE */
	struct pmq_view debug_verb; /* "sleep" */
	struct pmq_view debug_pool; /* a pool, "io", "timer" or "flush" */
	int32_t debug_ms;

	/* admin status|online|offline OPAQUE, admin drain MS OPAQUE [ext] */
	struct pmq_view admin_verb;
	int32_t admin_ms;       /* drain */
	/* heartbeat CLIENT_ID LEN OPAQUE (body: the registration); members
	 * GROUP; commit / committed use topic group partition offset; notify
	 * GROUP GENERATION OPAQUE (a push, decoded as a response). */
	struct pmq_view client_id;
	uint64_t generation;
};

struct pmq_limits {
	size_t max_line_bytes;
	size_t max_body_bytes;
};
/* { PMQ_MAX_LINE_BYTES_DEFAULT, PMQ_MAX_BODY_BYTES_DEFAULT } */
extern const struct pmq_limits pmq_limits_default;

enum pmq_decode_status {
	PMQ_DECODE_OK,        /* *out is a whole message, *consumed bytes used */
	PMQ_DECODE_NEED_MORE, /* nothing consumed; call again with more bytes */
	PMQ_DECODE_ERROR,     /* *err says what to answer and what to do next */
};

enum pmq_error_action {
	/* The bad line is *consumed bytes long: answer, drop them, then drop
	 * err->skip more bytes (the body of a refused request, which may not
	 * have arrived yet: count it down as it comes, never buffer it), and
	 * go on decoding. */
	PMQ_ERR_RESYNC,
	/* The line is longer than max_line_bytes and is no body command:
	 * answer, then drop every byte up to and including the next \r\n (it
	 * may not have arrived yet), and go on. *consumed is 0. */
	PMQ_ERR_SKIP_LINE,
	/* Framing is lost (untrusted body length, a body command whose line
	 * does not parse): answer, then close the session. *consumed is
	 * meaningless. */
	PMQ_ERR_CLOSE,
};

struct pmq_decode_error {
	enum pmq_error_action action;
	int code;        /* status code to answer with: 400 */
	int32_t opaque;  /* the line's last token when it is a number, else 0 */
	size_t skip;     /* RESYNC: body bytes to drop after *consumed; else 0 */
	char text[PMQ_ERROR_TEXT_BYTES]; /* NUL-terminated body of the answer */
};

/*
 * Decode one request (what the broker reads: every command of the table,
 * including the client's result/value answers to broker heartbeats).
 * Never reads past buf[len - 1]; never allocates. lim NULL means
 * pmq_limits_default.
 *
 * Decisions where protocol.md leaves room (tests/unit/test_protocol_*.c
 * pin each one down):
 *  - `stats`: 1 token = item none, opaque PMQ_OPAQUE_DEFAULT; 2 tokens = the
 *    token is the OPAQUE when it parses as int32 (MetaQ), else the ITEM with
 *    the default opaque ([ext] `stats ITEM`); 3 tokens = ITEM OPAQUE, where
 *    `stats  OP` (two spaces) is item "" and the only line allowed an empty
 *    token.
 *  - MetaQ spellings: an unknown word starting with 'v' is version, with 'q'
 *    quit (compat_spelling = true). Exact words win, so `value` is value.
 *  - A body command's length token is read before anything else on the
 *    line: when it is missing, not a number, negative or over INT32_MAX
 *    the error is CLOSE. Then the whole line is parsed: when it does not
 *    parse (token count, shape, a bad number, a bad transaction key) the
 *    body's extent is unknown and the error is CLOSE too. When it parses
 *    but is refused (a body over max_body_bytes, an invalid topic name)
 *    the error is RESYNC with *consumed = the line and err->skip = the
 *    body, at once: the body is never waited for. (The MetaQ client sends
 *    `put a b 0 10 0 1 -5` for topic "a b": its body must not be decoded.)
 *  - A line over max_line_bytes: CLOSE when its first token (within the
 *    limit) names a body command, else SKIP_LINE.
 *  - transaction TIMEOUT is digits only; debug sleep MS is 0..60000;
 *    admin drain MS is 0..PMQ_ADMIN_DRAIN_MAX_MS;
 *    get MAXSIZE <= 0 decodes (the get processor answers 400).
 *  - Any byte below 0x20 or 0x7f in a line is a 400 (NUL, tab, bare \r or \n).
 *  - Error texts start with "bad request: " ("bad response: " when decoding
 *    responses).
 *  - `heartbeat` is a body command (LEN is token 2). A bad token count or
 *    opaque is CLOSE; an invalid CLIENT_ID or LEN over
 *    PMQ_REG_MAX_BODY_BYTES is a refusal (RESYNC, body skipped unread).
 *    The body is not parsed here: pmq_reg_next() does that.
 *  - `notify` is a response word only: as a request it is an unknown
 *    command.
 */
enum pmq_decode_status pmq_decode_request(const struct pmq_limits *lim,
                                          const char *buf, size_t len,
                                          struct pmq_msg *out, size_t *consumed,
                                          struct pmq_decode_error *err);

/*
 * A heartbeat's registration body, line by line. Pure: views into the body.
 * Each line is `producer GROUP` or `consumer GROUP TOPIC[,TOPIC...]` ended
 * by \n; GROUP and each TOPIC follow pmq_topic_valid(). Limits: at most
 * PMQ_REG_MAX_GROUPS lines, PMQ_REG_MAX_TOPICS topics per line. Repeats are
 * not detected here (the broker does, it has the table).
 */
enum pmq_reg_kind { PMQ_REG_PRODUCER, PMQ_REG_CONSUMER };
struct pmq_reg_line {
	enum pmq_reg_kind kind;
	struct pmq_view group;
	struct pmq_view topics;  /* consumer: "T1,T2"; producer: empty */
	unsigned ntopics;
	unsigned lineno;         /* 1-based */
};
struct pmq_reg_iter {
	struct pmq_view body;
	size_t pos;
	unsigned lineno;
};
void pmq_reg_begin(struct pmq_reg_iter *it, struct pmq_view body);
/* 1: *out is the next line; 0: the end; -1: a malformed line or a limit
 * passed, err (NUL-terminated, one line, naming the line number or the
 * limit) says which. */
int pmq_reg_next(struct pmq_reg_iter *it, struct pmq_reg_line *out, char *err,
                 size_t errcap);
/* The i-th topic of a consumer line's list (i < ntopics). */
struct pmq_view pmq_reg_topic(struct pmq_view topics, unsigned i);
/* CLIENT_ID: 1..PMQ_CLIENT_ID_MAX_BYTES of [A-Za-z0-9._:@-]. */
bool pmq_client_id_valid(const char *id, size_t len);

/* `notify GROUP GENERATION OPAQUE\r\n`, the broker's push. */
size_t pmq_encode_notify(char *buf, size_t cap, struct pmq_view group, uint64_t generation,
                         int32_t opaque);

/*
 * Decode one response (what a client reads): result, value, notify, and the
 * broker's own `version OPAQUE` heartbeat. Same contract as pmq_decode_request().
 */
enum pmq_decode_status pmq_decode_response(const struct pmq_limits *lim,
                                           const char *buf, size_t len,
                                           struct pmq_msg *out, size_t *consumed,
                                           struct pmq_decode_error *err);

/*
 * Encoders. Each writes the whole message (line and body) into buf and
 * returns its length. When cap is too small nothing useful is written and the
 * return value is the length needed (snprintf semantics): callers check
 * `n > cap`. No NUL terminator is written. pmq_encode() takes put/sync/
 * result/value body lengths from m->body, writes put/sync CHECKSUM unless
 * it is -1, optional views only when their ptr is set, and stats as
 * `stats OPAQUE` (item none) or `stats ITEM OPAQUE`; it returns 0 for
 * PMQ_CMD_NONE. Fields are taken as they are: encoding a value the decoder
 * would reject (a bad topic name) is the caller's mistake.
 */
size_t pmq_encode(char *buf, size_t cap, const struct pmq_msg *m);

/* `result CODE LEN OPAQUE\r\n` + body */
size_t pmq_encode_result(char *buf, size_t cap, int code, const void *body,
                         size_t len, int32_t opaque);
/* Only the line of a value response, so the body can go out by writev. */
size_t pmq_encode_value_head(char *buf, size_t cap, size_t body_len, int32_t opaque);
/* Only the line of a result response. */
size_t pmq_encode_result_head(char *buf, size_t cap, int code, size_t body_len,
                              int32_t opaque);

/* `version OPAQUE\r\n`: a client's heartbeat, and the broker's own to an
 * idle client (protocol.md "Heartbeats"). */
size_t pmq_encode_version(char *buf, size_t cap, int32_t opaque);

/* CRC-32 (IEEE, as zlib computes it) masked with 0x7FFFFFFF: MetaQ's checksum. */
int32_t pmq_checksum(const void *data, size_t len);

/* [A-Za-z0-9_.-], 1..255 bytes, not starting with '.' (so not "." or ".."). */
bool pmq_topic_valid(const char *name, size_t len);

#endif
