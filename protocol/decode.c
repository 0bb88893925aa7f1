/*
 * decode.c - framing and dispatch: find the line, trust (or not) its body
 * length, check the line's shape, then hand the tokens to the command's
 * parser. The order matters: a body command's line is parsed before its body
 * is waited for. A line that does not parse leaves the body's extent unknown
 * (close); a line that parses but is refused tells the caller how many body
 * bytes to drop (they are never buffered), so the next command is found.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "protocol/codec.h"

/* Finds the \r\n that ends the first line within max bytes (\r\n included).
 * 1: found, *line_len excludes \r\n; 0: need more; -1: over-long. */
static int find_line(const char *buf, size_t len, size_t max, size_t *line_len)
{
	const char *p = buf, *end = buf + (len < max ? len : max);

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p > buf && p[-1] == '\r') {
			*line_len = (size_t)(p - buf) - 1;
			return 1;
		}
		p++; /* a bare \n: part of the line, rejected by check_shape */
	}
	return len >= max ? -1 : 0;
}

/* The body length token of a body command; failing here loses framing.
 * A length over max_body_bytes is not a failure here: the line may still
 * parse, and then the body is skipped. */
static int body_length(const struct codec_tokens *t, enum pmq_cmd cmd, size_t *out,
                       struct pmq_decode_error *err)
{
	size_t i = codec_cmd(cmd)->len_index;
	const char *name = pmq_cmd_name(cmd);
	char q[CODEC_QUOTE_BYTES];
	int64_t n;

	if (t->n <= i)
		return codec_fail(err, "%s without a body length", name);
	enum codec_num r = codec_parse_i64(t->v[i], INT64_MIN, INT64_MAX, &n);
	if (r != CODEC_NUM_OK) {
		codec_quote(t->v[i], q, sizeof(q));
		return codec_fail(err, "%s body length '%s' is %s", name, q,
		                  r == CODEC_NUM_RANGE ? "out of range" : "not a number");
	}
	if (n < 0)
		return codec_fail(err, "negative body length %lld", (long long)n);
	if (n > INT32_MAX)
		return codec_fail(err, "body length %lld is out of range", (long long)n);
	*out = (size_t)n;
	return 0;
}

static int bad_char(int c, struct pmq_decode_error *err)
{
	switch (c) {
	case '\0': return codec_fail(err, "NUL byte in line");
	case '\n': return codec_fail(err, "bare \\n in line (lines end with \\r\\n)");
	case '\r': return codec_fail(err, "bare \\r in line");
	case '\t': return codec_fail(err, "tab in line (tokens are separated by one space)");
	default: return codec_fail(err, "control character 0x%02x in line", (unsigned)c);
	}
}

/* Exactly one space between tokens, none around them: except MetaQ's own
 * `stats  OPAQUE`, whose empty middle token is the item "". */
static int check_shape(const struct codec_tokens *t, enum pmq_cmd cmd,
                       size_t line_len, struct pmq_decode_error *err)
{
	if (line_len == 0)
		return codec_fail(err, "empty line");
	if (t->bad_char >= 0)
		return bad_char(t->bad_char, err);
	if (t->first_empty == CODEC_NO_INDEX)
		return 0;
	if (t->first_empty == 0)
		return codec_fail(err, "line starts with a space");
	if (t->last.len == 0)
		return codec_fail(err, "line ends with a space");
	if (cmd == PMQ_CMD_STATS && t->n == 3 && t->first_empty == 1)
		return 0;
	return codec_fail(err, "double space in line");
}

static bool response_cmd(enum pmq_cmd cmd)
{
	return cmd == PMQ_CMD_RESULT || cmd == PMQ_CMD_VALUE || cmd == PMQ_CMD_VERSION ||
	       cmd == PMQ_CMD_NOTIFY;
}

/* Words only the broker sends: a client naming them is unknown. */
static bool push_only_cmd(enum pmq_cmd cmd)
{
	return cmd == PMQ_CMD_NOTIFY;
}

static int unknown_cmd(const struct codec_tokens *t, bool response,
                       struct pmq_decode_error *err)
{
	char q[CODEC_QUOTE_BYTES];

	codec_quote(t->v[0], q, sizeof(q));
	if (response)
		return codec_fail(err, "unexpected command '%s' in a response", q);
	return codec_fail(err, "unknown command '%s'", q);
}

/* Fills the rest of *err once the reason is in err->text. */
static enum pmq_decode_status decode_error(const struct codec_tokens *t,
                                           enum pmq_error_action action,
                                           bool response, struct pmq_msg *out,
                                           struct pmq_decode_error *err)
{
	char why[PMQ_ERROR_TEXT_BYTES];

	/* reasons are short; the cut only keeps the compiler sure of it */
	memcpy(why, err->text, sizeof(why));
	snprintf(err->text, sizeof(err->text), "%s: %.140s",
	         response ? "bad response" : "bad request", why);
	err->action = action;
	err->code = 400;
	err->skip = 0;
	if (t == NULL || codec_parse_i32(t->last, &err->opaque) != CODEC_NUM_OK)
		err->opaque = 0;
	memset(out, 0, sizeof(*out));
	return PMQ_DECODE_ERROR;
}

/* The line of one message, tokenized, and its command. */
struct frame {
	struct codec_tokens t;
	size_t line_len;
	size_t body_len;
	enum pmq_cmd cmd;
	bool compat;
};

/* The command a line names, NONE when unknown or (response) not one a
 * response may carry. */
static enum pmq_cmd frame_cmd(struct pmq_view word, bool response, bool *compat)
{
	enum pmq_cmd cmd = codec_lookup(word, compat);

	if (response ? !response_cmd(cmd) : push_only_cmd(cmd))
		return PMQ_CMD_NONE;
	return cmd;
}

static bool cmd_has_body(enum pmq_cmd cmd)
{
	return cmd != PMQ_CMD_NONE && pmq_cmd_info(cmd)->has_body;
}

/* No \r\n within max_line_bytes. Its first token, when it ends inside the
 * limit, says whether a body follows: then framing is lost; otherwise the
 * caller skips to the line's end. */
static enum pmq_decode_status over_long(const struct pmq_limits *lim, bool response,
                                        const char *buf, struct pmq_msg *out,
                                        struct pmq_decode_error *err)
{
	const char *sp = memchr(buf, ' ', lim->max_line_bytes);
	bool compat;
	enum pmq_cmd cmd = PMQ_CMD_NONE;

	if (sp != NULL)
		cmd = frame_cmd((struct pmq_view){ buf, (size_t)(sp - buf) }, response, &compat);
	if (cmd_has_body(cmd)) {
		codec_fail(err, "%s line longer than %zu bytes without \\r\\n", pmq_cmd_name(cmd),
		           lim->max_line_bytes);
		return decode_error(NULL, PMQ_ERR_CLOSE, response, out, err);
	}
	codec_fail(err, "line longer than %zu bytes (max_line_bytes): skipped up to its \\r\\n",
	           lim->max_line_bytes);
	return decode_error(NULL, PMQ_ERR_SKIP_LINE, response, out, err);
}

/* The fields of a framed message; 0, -1 or CODEC_REFUSED with err->text set. */
static int frame_parse(const struct frame *f, bool response, const char *buf,
                       struct pmq_msg *out, struct pmq_decode_error *err)
{
	if (check_shape(&f->t, f->cmd, f->line_len, err))
		return -1;
	if (f->cmd == PMQ_CMD_NONE)
		return unknown_cmd(&f->t, response, err);
	out->cmd = f->cmd;
	out->compat_spelling = f->compat;
	if (pmq_cmd_info(f->cmd)->has_body)
		out->body = (struct pmq_view){ buf + f->line_len + 2, f->body_len };
	return codec_cmd(f->cmd)->parse(&f->t, out, err);
}

/* A body command whose length is known: its line decides, before the body
 * is waited for, whether the body is read (OK once all there), dropped
 * unread (RESYNC + skip: refused) or of unknown extent (CLOSE). */
static enum pmq_decode_status decode_body_cmd(const struct pmq_limits *lim, bool response,
                                              const struct frame *f, const char *buf,
                                              size_t len, struct pmq_msg *out,
                                              size_t *consumed, struct pmq_decode_error *err)
{
	int rc = frame_parse(f, response, buf, out, err);
	bool oversize = f->body_len > lim->max_body_bytes;

	if (rc == -1)
		return decode_error(&f->t, PMQ_ERR_CLOSE, response, out, err);
	if (rc == CODEC_REFUSED || oversize) {
		if (rc == 0)
			codec_fail(err, "body of %zu bytes exceeds max_body_bytes %zu",
			           f->body_len, lim->max_body_bytes);
		*consumed = f->line_len + 2;
		decode_error(&f->t, PMQ_ERR_RESYNC, response, out, err);
		err->skip = f->body_len;
		return PMQ_DECODE_ERROR;
	}
	if (len - f->line_len - 2 < f->body_len) {
		memset(out, 0, sizeof(*out));
		return PMQ_DECODE_NEED_MORE;
	}
	*consumed = f->line_len + 2 + f->body_len;
	return PMQ_DECODE_OK;
}

static enum pmq_decode_status decode(const struct pmq_limits *lim, bool response,
                                     const char *buf, size_t len,
                                     struct pmq_msg *out, size_t *consumed,
                                     struct pmq_decode_error *err)
{
	struct frame f;

	lim = lim != NULL ? lim : &pmq_limits_default;
	*consumed = 0;
	memset(out, 0, sizeof(*out));
	int found = find_line(buf, len, lim->max_line_bytes, &f.line_len);
	if (found == 0)
		return PMQ_DECODE_NEED_MORE;
	if (found < 0)
		return over_long(lim, response, buf, out, err);
	codec_tokenize(buf, f.line_len, &f.t);
	f.cmd = frame_cmd(f.t.v[0], response, &f.compat);
	f.body_len = 0;
	if (cmd_has_body(f.cmd)) {
		if (body_length(&f.t, f.cmd, &f.body_len, err))
			return decode_error(&f.t, PMQ_ERR_CLOSE, response, out, err);
		return decode_body_cmd(lim, response, &f, buf, len, out, consumed, err);
	}
	*consumed = f.line_len + 2;
	if (frame_parse(&f, response, buf, out, err))
		return decode_error(&f.t, PMQ_ERR_RESYNC, response, out, err);
	return PMQ_DECODE_OK;
}

enum pmq_decode_status pmq_decode_request(const struct pmq_limits *lim,
                                          const char *buf, size_t len,
                                          struct pmq_msg *out, size_t *consumed,
                                          struct pmq_decode_error *err)
{
	return decode(lim, false, buf, len, out, consumed, err);
}

enum pmq_decode_status pmq_decode_response(const struct pmq_limits *lim,
                                           const char *buf, size_t len,
                                           struct pmq_msg *out, size_t *consumed,
                                           struct pmq_decode_error *err)
{
	return decode(lim, true, buf, len, out, consumed, err);
}
