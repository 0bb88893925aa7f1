/*
 * encode.c - every message into a caller buffer, snprintf style: the return
 * value is the whole length; when it exceeds cap the buffer holds nothing
 * useful. No NUL is written (bodies are bytes).
 */
#include <config.h>

#include <string.h>

#include "protocol/protocol.h"

struct enc {
	char *buf;
	size_t cap;
	size_t len; /* bytes the message needs so far, written or not */
};

static void enc_bytes(struct enc *e, const void *p, size_t n)
{
	if (n > 0 && e->len + n <= e->cap)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void enc_word(struct enc *e, const char *s)
{
	enc_bytes(e, s, strlen(s));
}

/* " TOKEN": every token after the first */
static void enc_view(struct enc *e, struct pmq_view v)
{
	enc_bytes(e, " ", 1);
	enc_bytes(e, v.ptr, v.len);
}

static void enc_num(struct enc *e, int64_t x)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	/* the magnitude of INT64_MIN only fits unsigned */
	uint64_t u = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (x < 0)
		tmp[--i] = '-';
	tmp[--i] = ' ';
	enc_bytes(e, tmp + i, sizeof(tmp) - i);
}

/* " OPAQUE\r\n" then the body, if any */
static void enc_end(struct enc *e, int32_t opaque, struct pmq_view body)
{
	enc_num(e, opaque);
	enc_bytes(e, "\r\n", 2);
	enc_bytes(e, body.ptr, body.len);
}

static const struct pmq_view no_body = { NULL, 0 };

static void enc_put(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "put");
	enc_view(e, m->topic);
	enc_num(e, m->partition);
	enc_num(e, (int64_t)m->body.len);
	enc_num(e, m->flag);
	if (m->checksum != -1)
		enc_num(e, m->checksum);
	if (m->txkey.ptr != NULL)
		enc_view(e, m->txkey);
	enc_end(e, m->opaque, m->body);
}

static void enc_sync(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "sync");
	enc_view(e, m->topic);
	enc_num(e, m->partition);
	enc_num(e, (int64_t)m->body.len);
	enc_num(e, m->flag);
	enc_num(e, m->msgid);
	if (m->checksum != -1)
		enc_num(e, m->checksum);
	enc_end(e, m->opaque, m->body);
}

/* get and offset: WORD TOPIC GROUP PARTITION OFFSET */
static void enc_position(struct enc *e, const char *word, const struct pmq_msg *m)
{
	enc_word(e, word);
	enc_view(e, m->topic);
	enc_view(e, m->group);
	enc_num(e, m->partition);
	enc_num(e, m->offset);
}

static void enc_get(struct enc *e, const struct pmq_msg *m)
{
	enc_position(e, "get", m);
	enc_num(e, m->max_size);
	enc_end(e, m->opaque, no_body);
}

static void enc_offset(struct enc *e, const struct pmq_msg *m)
{
	enc_position(e, "offset", m);
	enc_end(e, m->opaque, no_body);
}

static void enc_version(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "version");
	enc_end(e, m->opaque, no_body);
}

/* item none: `stats OPAQUE`; else `stats ITEM OPAQUE` (item "" gives two
 * spaces, as MetaQ writes it) */
static void enc_stats(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "stats");
	if (m->item.ptr != NULL)
		enc_view(e, m->item);
	enc_end(e, m->opaque, no_body);
}

static void enc_quit(struct enc *e, const struct pmq_msg *m)
{
	(void)m;
	enc_word(e, "quit\r\n");
}

static void enc_transaction(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "transaction");
	enc_view(e, m->txkey);
	enc_view(e, m->session_id);
	enc_bytes(e, " ", 1);
	enc_word(e, pmq_tx_type_name(m->tx_type));
	if (m->has_tx_timeout)
		enc_num(e, m->tx_timeout);
	if (m->unique_qualifier.ptr != NULL)
		enc_view(e, m->unique_qualifier);
	enc_end(e, m->opaque, no_body);
}

static void enc_debug(struct enc *e, const struct pmq_msg *m)
{
	static const struct pmq_view sleep = { "sleep", 5 };

	enc_word(e, "debug");
	enc_view(e, m->debug_verb.ptr != NULL ? m->debug_verb : sleep);
	enc_view(e, m->debug_pool);
	enc_num(e, m->debug_ms);
	enc_end(e, m->opaque, no_body);
}

static void enc_result(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "result");
	enc_num(e, m->code);
	enc_num(e, (int64_t)m->body.len);
	enc_end(e, m->opaque, m->body);
}

static void enc_value(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "value");
	enc_num(e, (int64_t)m->body.len);
	enc_end(e, m->opaque, m->body);
}

static void enc_admin(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "admin");
	enc_view(e, m->admin_verb);
	if (m->admin_verb.len == 5 && memcmp(m->admin_verb.ptr, "drain", 5) == 0)
		enc_num(e, m->admin_ms);
	enc_end(e, m->opaque, no_body);
}

static void enc_u64(struct enc *e, uint64_t u)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	tmp[--i] = ' ';
	enc_bytes(e, tmp + i, sizeof(tmp) - i);
}

static void enc_heartbeat(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "heartbeat");
	enc_view(e, m->client_id);
	enc_num(e, (int64_t)m->body.len);
	enc_end(e, m->opaque, m->body);
}

static void enc_members(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "members");
	enc_view(e, m->group);
	enc_end(e, m->opaque, no_body);
}

static void enc_commit(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "commit");
	enc_view(e, m->topic);
	enc_view(e, m->group);
	enc_num(e, m->partition);
	enc_num(e, m->offset);
	enc_end(e, m->opaque, no_body);
}

static void enc_committed(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "committed");
	enc_view(e, m->topic);
	enc_view(e, m->group);
	enc_num(e, m->partition);
	enc_end(e, m->opaque, no_body);
}

static void enc_notify(struct enc *e, const struct pmq_msg *m)
{
	enc_word(e, "notify");
	enc_view(e, m->group);
	enc_u64(e, m->generation);
	enc_end(e, m->opaque, no_body);
}

typedef void (*enc_fn)(struct enc *e, const struct pmq_msg *m);

static const enc_fn encoders[PMQ_CMD_COUNT] = {
	[PMQ_CMD_PUT] = enc_put,
	[PMQ_CMD_GET] = enc_get,
	[PMQ_CMD_OFFSET] = enc_offset,
	[PMQ_CMD_VERSION] = enc_version,
	[PMQ_CMD_STATS] = enc_stats,
	[PMQ_CMD_QUIT] = enc_quit,
	[PMQ_CMD_TRANSACTION] = enc_transaction,
	[PMQ_CMD_SYNC] = enc_sync,
	[PMQ_CMD_DEBUG] = enc_debug,
	[PMQ_CMD_RESULT] = enc_result,
	[PMQ_CMD_VALUE] = enc_value,
	[PMQ_CMD_ADMIN] = enc_admin,
	[PMQ_CMD_HEARTBEAT] = enc_heartbeat,
	[PMQ_CMD_MEMBERS] = enc_members,
	[PMQ_CMD_COMMIT] = enc_commit,
	[PMQ_CMD_COMMITTED] = enc_committed,
	[PMQ_CMD_NOTIFY] = enc_notify,
};

size_t pmq_encode(char *buf, size_t cap, const struct pmq_msg *m)
{
	struct enc e = { buf, cap, 0 };

	if (pmq_cmd_info(m->cmd) == NULL)
		return 0;
	encoders[m->cmd](&e, m);
	return e.len;
}

size_t pmq_encode_result_head(char *buf, size_t cap, int code, size_t body_len,
                              int32_t opaque)
{
	struct enc e = { buf, cap, 0 };

	enc_word(&e, "result");
	enc_num(&e, code);
	enc_num(&e, (int64_t)body_len);
	enc_end(&e, opaque, no_body);
	return e.len;
}

size_t pmq_encode_value_head(char *buf, size_t cap, size_t body_len, int32_t opaque)
{
	struct enc e = { buf, cap, 0 };

	enc_word(&e, "value");
	enc_num(&e, (int64_t)body_len);
	enc_end(&e, opaque, no_body);
	return e.len;
}

size_t pmq_encode_version(char *buf, size_t cap, int32_t opaque)
{
	struct enc e = { buf, cap, 0 };

	enc_word(&e, "version");
	enc_end(&e, opaque, no_body);
	return e.len;
}

size_t pmq_encode_result(char *buf, size_t cap, int code, const void *body,
                         size_t len, int32_t opaque)
{
	struct enc e = { buf, cap, 0 };
	struct pmq_view b = { body, len };

	enc_word(&e, "result");
	enc_num(&e, code);
	enc_num(&e, (int64_t)len);
	enc_end(&e, opaque, b);
	return e.len;
}

size_t pmq_encode_notify(char *buf, size_t cap, struct pmq_view group, uint64_t generation,
                         int32_t opaque)
{
	struct enc e = { buf, cap, 0 };
	struct pmq_msg m = { .cmd = PMQ_CMD_NOTIFY, .group = group, .generation = generation,
	                     .opaque = opaque };

	enc_notify(&e, &m);
	return e.len;
}
