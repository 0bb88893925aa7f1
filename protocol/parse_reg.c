/* parse_reg.c - client registration [ext]: the heartbeat, members, commit,
 * committed and notify lines, and the registration body of a heartbeat. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "protocol/codec.h"

static bool client_id_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
}

bool pmq_client_id_valid(const char *id, size_t len)
{
	if (id == NULL || len == 0 || len > PMQ_CLIENT_ID_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!client_id_char((unsigned char)id[i]))
			return false;
	return true;
}

/* heartbeat CLIENT_ID LEN OPAQUE. The line parses once its token count and
 * opaque do; a bad CLIENT_ID or an oversized body is then a refusal, whose
 * body is skipped without being read. */
int codec_parse_heartbeat(const struct codec_tokens *t, struct pmq_msg *m,
                          struct pmq_decode_error *err)
{
	if (codec_count(t, "heartbeat", 4, 4, err) ||
	    codec_i32_field(t->v[3], "opaque", &m->opaque, err))
		return -1;
	if (!pmq_client_id_valid(t->v[1].ptr, t->v[1].len)) {
		codec_fail(err, "invalid client id (1-%d bytes of [A-Za-z0-9._:@-])",
		           PMQ_CLIENT_ID_MAX_BYTES);
		return CODEC_REFUSED;
	}
	if (m->body.len > PMQ_REG_MAX_BODY_BYTES) {
		codec_fail(err, "registration of %zu bytes exceeds the limit of %d bytes",
		           m->body.len, PMQ_REG_MAX_BODY_BYTES);
		return CODEC_REFUSED;
	}
	m->client_id = t->v[1];
	return 0;
}

/* members GROUP OPAQUE */
int codec_parse_members(const struct codec_tokens *t, struct pmq_msg *m,
                        struct pmq_decode_error *err)
{
	if (codec_count(t, "members", 3, 3, err) ||
	    codec_name_field(t->v[1], "group", &m->group, err))
		return -1;
	return codec_i32_field(t->v[2], "opaque", &m->opaque, err);
}

/* commit TOPIC GROUP PARTITION OFFSET OPAQUE */
int codec_parse_commit(const struct codec_tokens *t, struct pmq_msg *m,
                       struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;

	if (codec_count(t, "commit", 6, 6, err) ||
	    codec_name_field(v[1], "topic", &m->topic, err) ||
	    codec_name_field(v[2], "group", &m->group, err) ||
	    codec_i32_field(v[3], "partition", &m->partition, err) ||
	    codec_i64_field(v[4], "offset", &m->offset, err))
		return -1;
	if (m->partition < 0)
		return codec_fail(err, "negative partition %d", (int)m->partition);
	if (m->offset < 0)
		return codec_fail(err, "negative offset %lld", (long long)m->offset);
	return codec_i32_field(v[5], "opaque", &m->opaque, err);
}

/* committed TOPIC GROUP PARTITION OPAQUE */
int codec_parse_committed(const struct codec_tokens *t, struct pmq_msg *m,
                          struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;

	if (codec_count(t, "committed", 5, 5, err) ||
	    codec_name_field(v[1], "topic", &m->topic, err) ||
	    codec_name_field(v[2], "group", &m->group, err) ||
	    codec_i32_field(v[3], "partition", &m->partition, err))
		return -1;
	if (m->partition < 0)
		return codec_fail(err, "negative partition %d", (int)m->partition);
	return codec_i32_field(v[4], "opaque", &m->opaque, err);
}

/* notify GROUP GENERATION OPAQUE (decoded by clients) */
int codec_parse_notify(const struct codec_tokens *t, struct pmq_msg *m,
                       struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;
	uint64_t g = 0;

	if (codec_count(t, "notify", 4, 4, err) ||
	    codec_name_field(v[1], "group", &m->group, err))
		return -1;
	if (!codec_all_digits(v[2]) || v[2].len > 20)
		return codec_fail(err, "generation is not an unsigned number");
	for (size_t i = 0; i < v[2].len; i++) {
		unsigned d = (unsigned)(v[2].ptr[i] - '0');
		if (g > (UINT64_MAX - d) / 10)
			return codec_fail(err, "generation out of range");
		g = g * 10 + d;
	}
	m->generation = g;
	return codec_i32_field(v[3], "opaque", &m->opaque, err);
}

/* ---- the registration body ------------------------------------------------ */

void pmq_reg_begin(struct pmq_reg_iter *it, struct pmq_view body)
{
	it->body = body;
	it->pos = 0;
	it->lineno = 0;
}

static bool view_is(struct pmq_view v, const char *w)
{
	size_t n = strlen(w);
	return v.len == n && memcmp(v.ptr, w, n) == 0;
}

/* Checks a TOPIC[,TOPIC...] list; the count in *n. */
static int topic_list(struct pmq_view v, unsigned lineno, unsigned *n, char *err, size_t cap)
{
	size_t start = 0;

	*n = 0;
	for (size_t i = 0; i <= v.len; i++) {
		if (i < v.len && v.ptr[i] != ',')
			continue;
		if (!pmq_topic_valid(v.ptr + start, i - start)) {
			snprintf(err, cap, "line %u: invalid topic name in the topic list", lineno);
			return -1;
		}
		if (++*n > PMQ_REG_MAX_TOPICS) {
			snprintf(err, cap, "line %u: more than %d topics in one consumer group",
			         lineno, PMQ_REG_MAX_TOPICS);
			return -1;
		}
		start = i + 1;
	}
	return 0;
}

/* One line's words: KIND GROUP [TOPICS], single spaces. */
static int reg_line(struct pmq_view l, struct pmq_reg_line *out, char *err, size_t cap)
{
	struct pmq_view w[4];
	size_t nw = 0, start = 0;

	for (size_t i = 0; i <= l.len; i++) {
		if (i < l.len && l.ptr[i] != ' ')
			continue;
		if (nw == 4 || i == start) {
			snprintf(err, cap, "line %u: expected 'producer GROUP' or "
			         "'consumer GROUP TOPIC[,TOPIC...]'", out->lineno);
			return -1;
		}
		w[nw++] = (struct pmq_view){ l.ptr + start, i - start };
		start = i + 1;
	}
	bool producer = view_is(w[0], "producer"), consumer = view_is(w[0], "consumer");
	if (!(producer && nw == 2) && !(consumer && nw == 3)) {
		snprintf(err, cap, "line %u: expected 'producer GROUP' or "
		         "'consumer GROUP TOPIC[,TOPIC...]'", out->lineno);
		return -1;
	}
	if (!pmq_topic_valid(w[1].ptr, w[1].len)) {
		snprintf(err, cap, "line %u: invalid group name", out->lineno);
		return -1;
	}
	out->kind = producer ? PMQ_REG_PRODUCER : PMQ_REG_CONSUMER;
	out->group = w[1];
	out->topics = producer ? (struct pmq_view){ l.ptr + l.len, 0 } : w[2];
	out->ntopics = 0;
	return producer ? 0 : topic_list(w[2], out->lineno, &out->ntopics, err, cap);
}

int pmq_reg_next(struct pmq_reg_iter *it, struct pmq_reg_line *out, char *err, size_t errcap)
{
	const char *p = it->body.ptr + it->pos;
	size_t left = it->body.len - it->pos;

	if (left == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	out->lineno = ++it->lineno;
	if (out->lineno > PMQ_REG_MAX_GROUPS) {
		snprintf(err, errcap, "more than %d groups in one registration", PMQ_REG_MAX_GROUPS);
		return -1;
	}
	const char *nl = memchr(p, '\n', left);
	if (nl == NULL) {
		snprintf(err, errcap, "line %u: not ended by \\n", out->lineno);
		return -1;
	}
	struct pmq_view l = { p, (size_t)(nl - p) };
	for (size_t i = 0; i < l.len; i++) {
		unsigned char c = (unsigned char)l.ptr[i];
		if (c < 0x20 || c == 0x7f) {
			snprintf(err, errcap, "line %u: control character 0x%02x", out->lineno, c);
			return -1;
		}
	}
	it->pos += l.len + 1;
	return reg_line(l, out, err, errcap) ? -1 : 1;
}

struct pmq_view pmq_reg_topic(struct pmq_view topics, unsigned i)
{
	size_t start = 0;

	for (size_t k = 0; k <= topics.len; k++) {
		if (k < topics.len && topics.ptr[k] != ',')
			continue;
		if (i-- == 0)
			return (struct pmq_view){ topics.ptr + start, k - start };
		start = k + 1;
	}
	return (struct pmq_view){ NULL, 0 };
}
