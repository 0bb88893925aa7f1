/*
 * codec.h - private to protocol/: the pieces the decoder is built from.
 *
 * A line is tokenized once into views (tokens.c), the first token picks a
 * row of the command table (cmdtable.c), and that row's parser fills the
 * message from the token views (parse_*.c). Parsers return 0, or -1 after
 * writing the reason into err->text through codec_fail(). Nothing here
 * allocates or keeps state between calls.
 */
#ifndef PMQ_PROTOCOL_CODEC_H
#define PMQ_PROTOCOL_CODEC_H

#include "protocol/protocol.h"

#define CODEC_NO_INDEX ((size_t)-1)

/* A parser's "the line is well formed, but a value in it is refused" (an
 * invalid topic name), as opposed to -1, "the line does not parse". Only a
 * body command tells the two apart: after a refusal its body can still be
 * skipped, after a parse failure its extent is unknown. */
#define CODEC_REFUSED (-2)

/* The tokens of one line (without its \r\n), split on single spaces. */
struct codec_tokens {
	struct pmq_view v[PMQ_MAX_TOKENS]; /* the first PMQ_MAX_TOKENS tokens */
	size_t n;                          /* all tokens, may exceed PMQ_MAX_TOKENS */
	struct pmq_view last;              /* the last token, wherever it is */
	size_t first_empty;                /* index of the first empty token, or CODEC_NO_INDEX */
	int bad_char;                      /* first byte < 0x20 or 0x7f, or -1 */
};

void codec_tokenize(const char *line, size_t len, struct codec_tokens *t);

/* Strict decimal: optional '-', then digits only, inside [min, max]. */
enum codec_num { CODEC_NUM_OK = 0, CODEC_NUM_BAD = -1, CODEC_NUM_RANGE = -2 };
enum codec_num codec_parse_i64(struct pmq_view v, int64_t min, int64_t max, int64_t *out);
enum codec_num codec_parse_i32(struct pmq_view v, int32_t *out);
bool codec_all_digits(struct pmq_view v);

/* Errors: every parser failure goes through these; they return -1. */
int codec_fail(struct pmq_decode_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A token made printable and short enough to quote in an error line. */
void codec_quote(struct pmq_view v, char *out, size_t cap);
#define CODEC_QUOTE_BYTES 40
int codec_i32_field(struct pmq_view v, const char *what, int32_t *out,
                    struct pmq_decode_error *err);
int codec_i64_field(struct pmq_view v, const char *what, int64_t *out,
                    struct pmq_decode_error *err);
int codec_name_field(struct pmq_view v, const char *what, struct pmq_view *out,
                     struct pmq_decode_error *err);
int codec_count(const struct codec_tokens *t, const char *cmd, size_t lo,
                size_t hi, struct pmq_decode_error *err);

/* Per-command parsers; the decoder has already set m->cmd and m->body.
 * They return 0, -1 or (put and sync, which check the topic last)
 * CODEC_REFUSED. */
typedef int (*codec_parse_fn)(const struct codec_tokens *t, struct pmq_msg *m,
                              struct pmq_decode_error *err);

struct codec_cmd {
	codec_parse_fn parse;
	size_t len_index; /* token holding the body length, or CODEC_NO_INDEX */
};

/* Parser row of a command; NULL for PMQ_CMD_NONE or out of range. */
const struct codec_cmd *codec_cmd(enum pmq_cmd cmd);
/* Exact word, else MetaQ's "v..." / "q..."; PMQ_CMD_NONE when unknown. */
enum pmq_cmd codec_lookup(struct pmq_view word, bool *compat);

int codec_parse_put(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_sync(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_get(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_offset(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_version(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_stats(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_quit(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_transaction(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_debug(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_admin(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_result(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_value(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);

int codec_parse_heartbeat(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_members(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_commit(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_committed(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);
int codec_parse_notify(const struct codec_tokens *t, struct pmq_msg *m, struct pmq_decode_error *err);

/* TX:<session>:<n> or XID:<formatId>:<hex gtrid>:<hex bqual>:<uq>. */
bool codec_txkey_valid(struct pmq_view v);
enum pmq_tx_type codec_tx_type_parse(struct pmq_view v);

#endif
