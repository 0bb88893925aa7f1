/* parse_data.c - the data commands: put, sync, get, offset. The decoder has
 * already checked the body length token of put and sync and set m->body. */
#include <config.h>

#include "protocol/codec.h"

/* MetaQ's rule for put's 7-token form: a checksum starts like a number. */
static bool looks_numeric(struct pmq_view v)
{
	return v.len > 0 && (v.ptr[0] == '-' || (v.ptr[0] >= '0' && v.ptr[0] <= '9'));
}

static int txkey_field(struct pmq_view v, struct pmq_msg *m, struct pmq_decode_error *err)
{
	char q[CODEC_QUOTE_BYTES];

	if (!codec_txkey_valid(v)) {
		codec_quote(v, q, sizeof(q));
		return codec_fail(err, "invalid transaction key '%s'", q);
	}
	m->txkey = v;
	return 0;
}

/* The topic is checked last, once the rest of the line has parsed: a bad
 * name is a refusal (CODEC_REFUSED), after which the body can be skipped. */
static int topic_last(struct pmq_view v, struct pmq_msg *m, struct pmq_decode_error *err)
{
	return codec_name_field(v, "topic", &m->topic, err) ? CODEC_REFUSED : 0;
}

/* put TOPIC PARTITION LEN FLAG [CHECKSUM] [TXKEY] OPAQUE */
int codec_parse_put(const struct codec_tokens *t, struct pmq_msg *m,
                    struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;

	if (codec_count(t, "put", 6, 8, err) ||
	    codec_i32_field(v[2], "partition", &m->partition, err) ||
	    codec_i32_field(v[4], "flag", &m->flag, err))
		return -1;
	m->checksum = -1;
	if (t->n == 8 && (codec_i32_field(v[5], "checksum", &m->checksum, err) ||
	                  txkey_field(v[6], m, err)))
		return -1;
	if (t->n == 7 && looks_numeric(v[5]) &&
	    codec_i32_field(v[5], "checksum", &m->checksum, err))
		return -1;
	if (t->n == 7 && !looks_numeric(v[5]) && txkey_field(v[5], m, err))
		return -1;
	if (codec_i32_field(v[t->n - 1], "opaque", &m->opaque, err))
		return -1;
	return topic_last(v[1], m, err);
}

/* sync TOPIC PARTITION LEN FLAG MSGID [CHECKSUM] OPAQUE */
int codec_parse_sync(const struct codec_tokens *t, struct pmq_msg *m,
                     struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;

	if (codec_count(t, "sync", 7, 8, err) ||
	    codec_i32_field(v[2], "partition", &m->partition, err) ||
	    codec_i32_field(v[4], "flag", &m->flag, err) ||
	    codec_i64_field(v[5], "msgid", &m->msgid, err))
		return -1;
	m->checksum = -1;
	if (t->n == 8 && codec_i32_field(v[6], "checksum", &m->checksum, err))
		return -1;
	if (codec_i32_field(v[t->n - 1], "opaque", &m->opaque, err))
		return -1;
	return topic_last(v[1], m, err);
}

/* TOPIC GROUP PARTITION OFFSET: shared by get and offset */
static int parse_position(const struct pmq_view *v, struct pmq_msg *m,
                          struct pmq_decode_error *err)
{
	if (codec_name_field(v[1], "topic", &m->topic, err) ||
	    codec_name_field(v[2], "group", &m->group, err) ||
	    codec_i32_field(v[3], "partition", &m->partition, err) ||
	    codec_i64_field(v[4], "offset", &m->offset, err))
		return -1;
	return 0;
}

/* get TOPIC GROUP PARTITION OFFSET MAXSIZE OPAQUE. MAXSIZE <= 0 decodes: the
 * get processor answers it with 400, as protocol.md says. */
int codec_parse_get(const struct codec_tokens *t, struct pmq_msg *m,
                    struct pmq_decode_error *err)
{
	if (codec_count(t, "get", 7, 7, err) || parse_position(t->v, m, err) ||
	    codec_i32_field(t->v[5], "maxsize", &m->max_size, err))
		return -1;
	return codec_i32_field(t->v[6], "opaque", &m->opaque, err);
}

/* offset TOPIC GROUP PARTITION OFFSET OPAQUE */
int codec_parse_offset(const struct codec_tokens *t, struct pmq_msg *m,
                       struct pmq_decode_error *err)
{
	if (codec_count(t, "offset", 6, 6, err) || parse_position(t->v, m, err))
		return -1;
	return codec_i32_field(t->v[5], "opaque", &m->opaque, err);
}
