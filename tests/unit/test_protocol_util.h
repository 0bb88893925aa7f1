/*
 * test_protocol_util.h - small helpers shared by the protocol unit tests.
 * Header-only (static) so each test stays one program.
 */
#ifndef PMQ_TEST_PROTOCOL_UTIL_H
#define PMQ_TEST_PROTOCOL_UTIL_H

#include <stdbool.h>
#include <string.h>

#include "protocol/protocol.h"

/* A string literal as (pointer, length), NULs included. */
#define S(lit) (lit), (sizeof(lit) - 1)

static inline bool view_is(struct pmq_view v, const char *s)
{
	if (s == NULL)
		return v.ptr == NULL;
	return v.ptr != NULL && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0;
}

static inline bool view_eq(struct pmq_view a, struct pmq_view b)
{
	if ((a.ptr == NULL) != (b.ptr == NULL))
		return false;
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Field by field, views by content: two decodes of the same bytes, or a
 * decode and the decode of its re-encoding, must agree. compat_spelling is
 * left out: encoders always write the exact word. */
static inline bool msg_same(const struct pmq_msg *a, const struct pmq_msg *b)
{
	return a->cmd == b->cmd && a->opaque == b->opaque &&
	       view_eq(a->topic, b->topic) && view_eq(a->group, b->group) &&
	       a->partition == b->partition && a->offset == b->offset &&
	       a->max_size == b->max_size && a->flag == b->flag &&
	       a->checksum == b->checksum && a->msgid == b->msgid &&
	       view_eq(a->txkey, b->txkey) && view_eq(a->body, b->body) &&
	       a->code == b->code && view_eq(a->item, b->item) &&
	       view_eq(a->session_id, b->session_id) && a->tx_type == b->tx_type &&
	       a->has_tx_timeout == b->has_tx_timeout &&
	       a->tx_timeout == b->tx_timeout &&
	       view_eq(a->unique_qualifier, b->unique_qualifier) &&
	       view_eq(a->debug_verb, b->debug_verb) &&
	       view_eq(a->debug_pool, b->debug_pool) && a->debug_ms == b->debug_ms &&
	       view_eq(a->client_id, b->client_id) && a->generation == b->generation;
}

/* Decode with default limits; request or response decoder. */
static inline enum pmq_decode_status dec(bool response, const char *buf, size_t len,
                                         struct pmq_msg *m, size_t *used,
                                         struct pmq_decode_error *err)
{
	if (response)
		return pmq_decode_response(NULL, buf, len, m, used, err);
	return pmq_decode_request(NULL, buf, len, m, used, err);
}

/* Well-formed messages of every command and form, for the split, pipeline
 * and round-trip tests. response: decode with pmq_decode_response(). */
struct sample {
	const char *in;
	size_t len;
	bool response;
};

static inline const struct sample *samples(size_t *n)
{
	static const struct sample all[] = {
		{ S("put topic1 0 5 0 -2147483648\r\nhello"), false },
		{ S("put t -1 5 7 907060870 12\r\nhello"), false },
		{ S("put t 1 0 0 TX:s1:3 12\r\n"), false },
		{ S("put t 2 5 0 907060870 XID:1:0a:ff:u1 9\r\nhello"), false },
		{ S("put t 0 4 0 1\r\na\r\nb"), false },
		{ S("get topic1 group1 3 1024 65536 77\r\n"), false },
		{ S("get t g 0 -9223372036854775808 -5 2147483647\r\n"), false },
		{ S("offset topic1 group1 2 4096 -3\r\n"), false },
		{ S("version\r\n"), false },
		{ S("version 42\r\n"), false },
		{ S("vers 42\r\n"), false },
		{ S("stats\r\n"), false },
		{ S("stats  5\r\n"), false },
		{ S("stats pools 6\r\n"), false },
		{ S("stats 7\r\n"), false },
		{ S("stats topics\r\n"), false },
		{ S("quit\r\n"), false },
		{ S("q\r\n"), false },
		{ S("transaction TX:sess-1:5 sess-1 BEGIN 3\r\n"), false },
		{ S("transaction TX:s:1 s COMMIT_ONE_PHASE 30 4\r\n"), false },
		{ S("transaction XID:7:abcd:01:xa-1 s PREPARE xa-1 4\r\n"), false },
		{ S("transaction XID:-1:ab::q s ROLLBACK 0 q 5\r\n"), false },
		{ S("sync t 1 5 2 123456789012 907060870 8\r\nhello"), false },
		{ S("sync t 1 0 2 -5 8\r\n"), false },
		{ S("debug sleep put 250 9\r\n"), false },
		{ S("result 503 5 -7\r\nnopro"), false },
		{ S("value 3 11\r\nabc"), false },
		{ S("result 200 21 5\r\n123 0 4096 extra text"), true },
		{ S("result 404 0 -1\r\n"), true },
		{ S("value 4 6\r\nabcd"), true },
		{ S("version 99\r\n"), true },
		{ S("heartbeat host@12@ab.c:d_e-f 0 3\r\n"), false },
		{ S("heartbeat c1 12 -4\r\nproducer pg\n"), false },
		{ S("members grp 5\r\n"), false },
		{ S("commit t g 3 4096 6\r\n"), false },
		{ S("committed t g 3 7\r\n"), false },
		{ S("notify grp 18446744073709551615 8\r\n"), true },
		{ S("notify grp 1 -8\r\n"), true },
	};
	*n = sizeof(all) / sizeof(all[0]);
	return all;
}

#endif
