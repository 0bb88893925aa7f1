/* parse_ctl.c - control commands (version, stats, quit, debug) and the two
 * response words (result, value). */
#include <config.h>

#include <string.h>

#include "protocol/codec.h"

/* version [OPAQUE] */
int codec_parse_version(const struct codec_tokens *t, struct pmq_msg *m,
                        struct pmq_decode_error *err)
{
	if (codec_count(t, "version", 1, 2, err))
		return -1;
	m->opaque = PMQ_OPAQUE_DEFAULT;
	return t->n == 2 ? codec_i32_field(t->v[1], "opaque", &m->opaque, err) : 0;
}

/* An item is "" or a name like a topic's ("pools", "topics", ...). */
static int item_field(struct pmq_view v, struct pmq_msg *m, struct pmq_decode_error *err)
{
	if (v.len > 0 && !pmq_topic_valid(v.ptr, v.len))
		return codec_fail(err, "invalid stats item");
	m->item = v;
	return 0;
}

/*
 * stats [ITEM] [OPAQUE]
 *   stats            item none, opaque PMQ_OPAQUE_DEFAULT
 *   stats OP         2 tokens, a number: the opaque, item none (MetaQ)
 *   stats ITEM       2 tokens, not a number: the item, opaque default [ext]
 *   stats ITEM OP    3 tokens; `stats  OP` (two spaces) is item ""
 */
int codec_parse_stats(const struct codec_tokens *t, struct pmq_msg *m,
                      struct pmq_decode_error *err)
{
	if (codec_count(t, "stats", 1, 3, err))
		return -1;
	m->opaque = PMQ_OPAQUE_DEFAULT;
	if (t->n == 1)
		return 0;
	if (t->n == 2)
		return codec_parse_i32(t->v[1], &m->opaque) == CODEC_NUM_OK ?
		       0 : item_field(t->v[1], m, err);
	if (item_field(t->v[1], m, err))
		return -1;
	return codec_i32_field(t->v[2], "opaque", &m->opaque, err);
}

/* quit */
int codec_parse_quit(const struct codec_tokens *t, struct pmq_msg *m,
                     struct pmq_decode_error *err)
{
	(void)m;
	return codec_count(t, "quit", 1, 1, err);
}

static bool view_is(struct pmq_view v, const char *word)
{
	size_t n = strlen(word);
	return v.len == n && memcmp(v.ptr, word, n) == 0;
}

/* Longest a debug sleep may hold a worker: enough to fill a queue in a test,
 * short enough that a typo cannot park a pool for long. */
#define DEBUG_SLEEP_MAX_MS 60000

/* debug sleep TARGET MS OPAQUE [ext]; TARGET is a pool (get, put,
 * heartbeat), a thread (io: the connection's IO thread, timer), the next
 * group commit (flush) or the connection's IO mailbox (mailbox: answers
 * find it full for MS, as if that thread were wedged). */
int codec_parse_debug(const struct codec_tokens *t, struct pmq_msg *m,
                      struct pmq_decode_error *err)
{
	const struct pmq_view *v = t->v;

	if (codec_count(t, "debug", 5, 5, err))
		return -1;
	if (!view_is(v[1], "sleep"))
		return codec_fail(err, "unknown debug command (only 'sleep')");
	if (!view_is(v[2], "get") && !view_is(v[2], "put") && !view_is(v[2], "heartbeat") &&
	    !view_is(v[2], "io") && !view_is(v[2], "timer") && !view_is(v[2], "flush") &&
	    !view_is(v[2], "mailbox"))
		return codec_fail(err, "debug sleep target must be get, put, heartbeat, io, "
		                  "timer, flush or mailbox");
	if (codec_i32_field(v[3], "debug sleep time", &m->debug_ms, err))
		return -1;
	if (m->debug_ms < 0 || m->debug_ms > DEBUG_SLEEP_MAX_MS)
		return codec_fail(err, "debug sleep time %d ms is outside 0..%d",
		                  (int)m->debug_ms, DEBUG_SLEEP_MAX_MS);
	m->debug_verb = v[1];
	m->debug_pool = v[2];
	return codec_i32_field(v[4], "opaque", &m->opaque, err);
}

/* admin status|online|offline OPAQUE, admin drain MS OPAQUE [ext]
 * (protocol.md "Administration and availability"). Whether the session may
 * send it (the admin socket only) is the runtime's question, not ours. */
int codec_parse_admin(const struct codec_tokens *t, struct pmq_msg *m,
                      struct pmq_decode_error *err)
{
	static const char usage[] = "admin command must be 'status OP', 'online OP', "
	                            "'offline OP' or 'drain MS OP'";
	const struct pmq_view *v = t->v;

	if (t->n < 3 || t->n > 4)
		return codec_fail(err, "%s", usage);
	if (view_is(v[1], "drain")) {
		if (t->n != 4)
			return codec_fail(err, "%s", usage);
		if (codec_i32_field(v[2], "drain time", &m->admin_ms, err))
			return -1;
		if (m->admin_ms < 0 || m->admin_ms > PMQ_ADMIN_DRAIN_MAX_MS)
			return codec_fail(err, "drain time %d ms is outside 0..%d",
			                  (int)m->admin_ms, PMQ_ADMIN_DRAIN_MAX_MS);
	} else if (t->n != 3 || (!view_is(v[1], "status") && !view_is(v[1], "online") &&
	                         !view_is(v[1], "offline"))) {
		return codec_fail(err, "%s", usage);
	}
	m->admin_verb = v[1];
	return codec_i32_field(t->last, "opaque", &m->opaque, err);
}

/* result CODE LEN OPAQUE */
int codec_parse_result(const struct codec_tokens *t, struct pmq_msg *m,
                       struct pmq_decode_error *err)
{
	if (codec_count(t, "result", 4, 4, err) ||
	    codec_i32_field(t->v[1], "code", &m->code, err))
		return -1;
	return codec_i32_field(t->v[3], "opaque", &m->opaque, err);
}

/* value LEN OPAQUE */
int codec_parse_value(const struct codec_tokens *t, struct pmq_msg *m,
                      struct pmq_decode_error *err)
{
	if (codec_count(t, "value", 3, 3, err))
		return -1;
	return codec_i32_field(t->v[2], "opaque", &m->opaque, err);
}
