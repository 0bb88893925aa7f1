/*
 * test_client_msgset.c - decoding get's message sets: whole records,
 * a partial trailing record, checksum mismatch, a negative length.
 */
#include <config.h>

#include <errno.h>

#include "client/pulsemq.h"
#include "tests/tap.h"

static size_t put_be32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
	return 4;
}

static size_t record(char *p, const char *payload, size_t len, int64_t msgid,
                     int32_t flag, bool corrupt)
{
	size_t n = 0;
	n += put_be32(p + n, (uint32_t)len);
	n += put_be32(p + n, (uint32_t)(pulsemq_checksum(payload, len) ^ (corrupt ? 1 : 0)));
	n += put_be32(p + n, (uint32_t)((uint64_t)msgid >> 32));
	n += put_be32(p + n, (uint32_t)msgid);
	n += put_be32(p + n, (uint32_t)flag);
	memcpy(p + n, payload, len);
	return n + len;
}

int main(void)
{
	char buf[512];
	size_t n = 0;
	n += record(buf + n, "hello", 5, 42, 0, false);
	n += record(buf + n, "", 0, -7, 3, false);
	n += record(buf + n, "world!", 6, 1ll << 40, 1, false);
	size_t whole = n;
	n += record(buf + n, "truncated", 9, 9, 0, false);
	size_t cut = n - 4; /* 4 bytes of the last payload missing */

	is(pulsemq_checksum("hello", 5), 907060870, "checksum of 'hello' (protocol.md)");
	is(pulsemq_checksum("123456789", 9), 1274296614, "checksum of '123456789'");
	is(pulsemq_checksum("", 0), 0, "checksum of empty");

	struct pulsemq_msgset set = { .data = buf, .len = cut, .offset = 1000 };
	struct pulsemq_message m;
	size_t pos = 0;
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "first record");
	is(m.offset, 1000, "first offset is the set's");
	is(m.msgid, 42, "msgid");
	is(m.flag, 0, "flag");
	is_mem(m.payload, m.len, "hello", 5, "payload");
	is(m.size, 25, "record size 20 + 5");
	is(pos, 25, "pos advanced");
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "empty payload record");
	is(m.len, 0, "zero length");
	is(m.msgid, -7, "negative msgid");
	is(m.flag, 3, "flag 3");
	is(m.offset, 1025, "second offset");
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "third record");
	is(m.msgid, 1ll << 40, "64-bit msgid");
	is_mem(m.payload, m.len, "world!", 6, "third payload");
	is(pos, whole, "pos at the partial record");
	is(pulsemq_msgset_next(&set, &pos, &m), 0, "partial trailing record stops iteration");
	is(pos, whole, "pos not advanced past the partial record");
	is(pulsemq_msgset_needed(&set, pos), 29, "needed size of the partial record");

	set.len = whole + 3;
	is(pulsemq_msgset_next(&set, &pos, &m), 0, "3 bytes of a header: stop");
	is(pulsemq_msgset_needed(&set, pos), 0, "needed unknown with < 4 bytes");
	set.len = whole + 19;
	is(pulsemq_msgset_next(&set, &pos, &m), 0, "19 bytes of a header: stop");

	set.len = n;
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "whole last record once complete");
	is(pulsemq_msgset_next(&set, &pos, &m), 0, "end of set");

	struct pulsemq_msgset empty = { .data = buf, .len = 0 };
	pos = 0;
	is(pulsemq_msgset_next(&empty, &pos, &m), 0, "empty set");

	n = record(buf, "abc", 3, 1, 0, true);
	n += record(buf + n, "def", 3, 2, 0, false);
	set = (struct pulsemq_msgset){ .data = buf, .len = n, .offset = 0 };
	pos = 0;
	is(pulsemq_msgset_next(&set, &pos, &m), -EBADMSG, "checksum mismatch reported");
	is(pos, 23, "a bad record is skipped");
	is(pulsemq_msgset_next(&set, &pos, &m), 1, "the next record decodes");
	is_mem(m.payload, m.len, "def", 3, "after the bad one");

	put_be32(buf, 0x80000000u);
	pos = 0;
	is(pulsemq_msgset_next(&set, &pos, &m), -EPROTO, "negative length: -EPROTO");
	is(pos, 0, "not advanced");
	return done_testing();
}
