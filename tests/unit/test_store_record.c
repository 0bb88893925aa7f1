/*
 * test_store_record.c - the record format against MetaQ's example, the
 * check of the record a read starts with, and the message id layout.
 */
#include <config.h>

#include "store/msgid.h"
#include "store/record.h"
#include "tests/tap.h"

static void test_example(void)
{
	static const unsigned char want[] = {
		0x00, 0x00, 0x00, 0x05, 0x36, 0x10, 0xa6, 0x86,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x10,
		0x00, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o',
	};
	unsigned char buf[STORE_RECORD_HEADER + 5];
	struct store_record r;

	store_record_header(buf, 10000, 0, "hello", 5);
	memcpy(buf + STORE_RECORD_HEADER, "hello", 5);
	is_mem(buf, sizeof buf, want, sizeof want, "hello / id 10000 / flag 0 encodes as MetaQ's");
	is(store_checksum("hello", 5), 907060870, "checksum of hello");
	is(store_checksum("123456789", 9), 1274296614, "checksum of 123456789");
	is(store_checksum("", 0), 0, "checksum of nothing");

	is(store_record_check(want, sizeof want, &r), STORE_RECORD_VALID, "the example checks");
	is(r.len, 5, "len decoded");
	is(r.checksum, 0x3610a686, "checksum decoded");
	is(r.msgid, 10000, "msgid decoded");
	is(r.flag, 0, "flag decoded");

	is(store_record_check(want, sizeof want - 1, &r), STORE_RECORD_SHORT, "cut payload is short");
	is(store_record_check(want, 19, &r), STORE_RECORD_SHORT, "cut header is short");
	unsigned char bad[sizeof want];
	memcpy(bad, want, sizeof want);
	bad[24] ^= 1;
	is(store_record_check(bad, sizeof bad, &r), STORE_RECORD_BAD_CRC, "flipped payload bit fails the CRC");
	memcpy(bad, want, sizeof want);
	bad[0] = 0x80;
	is(store_record_check(bad, sizeof bad, &r), STORE_RECORD_BAD_LEN, "negative length");
	unsigned char zero[40] = { 0 };
	is(store_record_check(zero, sizeof zero, &r), STORE_RECORD_BAD_ID, "zero-filled space is no record");

	/* big values round trip */
	store_record_header(buf, INT64_MAX - 5, -7, "hello", 5);
	memcpy(buf + STORE_RECORD_HEADER, "hello", 5);
	is(store_record_check(buf, sizeof buf, &r), STORE_RECORD_VALID, "big id checks");
	ok(r.msgid == INT64_MAX - 5 && r.flag == -7, "big id and negative flag round trip");
}

/* store_record_check_head(): what a get may hand out at its offset. */
static void test_check_head(void)
{
	unsigned char rec[STORE_RECORD_HEADER + 5];
	struct store_record r;
	store_record_header(rec, 10000, 0, "hello", 5);
	memcpy(rec + STORE_RECORD_HEADER, "hello", 5);

	is(store_record_check_head(rec, 25, 25, &r), STORE_RECORD_VALID, "a whole record read");
	is(store_record_check_head(rec, 22, 1000, &r), STORE_RECORD_VALID,
	   "a partial read cannot check the CRC: valid");
	is(store_record_check_head(rec, 10, 1000, &r), STORE_RECORD_VALID,
	   "fewer than 20 bytes asked for: cannot tell");
	is(store_record_check_head(rec, 10, 10, &r), STORE_RECORD_SHORT,
	   "a header cut by the segment's end is corrupt");
	is(store_record_check_head(rec, 24, 24, &r), STORE_RECORD_SHORT,
	   "a record running past its segment's end is corrupt");
	unsigned char bad[sizeof rec];
	memcpy(bad, rec, sizeof rec);
	bad[22] ^= 1;
	is(store_record_check_head(bad, 25, 25, &r), STORE_RECORD_BAD_CRC,
	   "a flipped payload bit read whole: bad CRC");
	is(store_record_check_head(bad, 24, 4096, &r), STORE_RECORD_VALID,
	   "the same read partially: not checked");
	memcpy(bad, rec, sizeof rec);
	bad[0] = 0x7f;
	is(store_record_check_head(bad, 25, 1 << 20, &r), STORE_RECORD_SHORT,
	   "a huge length inside a 1 MiB segment: corrupt");
	bad[0] = 0x80;
	is(store_record_check_head(bad, 25, 1 << 20, &r), STORE_RECORD_BAD_LEN, "negative length");
	unsigned char zero[40] = { 0 };
	is(store_record_check_head(zero, 40, 40, &r), STORE_RECORD_BAD_ID, "zeros are no record");
}

static void test_msgid(void)
{
	struct msgid_gen g;
	int64_t now = MSGID_EPOCH_MS + 1000;
	msgid_init(&g, 5);
	int64_t a = msgid_next(&g, now);
	is(a, (1000LL << 22) | (5 << 12) | 0, "first id: time, broker, seq 0");
	int64_t b = msgid_next(&g, now);
	is(b, a + 1, "same ms: seq + 1");
	int64_t c = msgid_next(&g, now - 500);
	ok(c > b, "clock stepping back still increases");
	bool mono = true;
	int64_t prev = c;
	for (int i = 0; i < 10000; i++) {
		int64_t x = msgid_next(&g, now);
		if (x <= prev)
			mono = false;
		prev = x;
	}
	ok(mono, "10000 ids in one millisecond stay strictly increasing");
	is((prev >> 12) & 1023, 5, "broker id kept");
	msgid_seed(&g, (5000LL << 22) | (9 << 12) | 17);
	int64_t d = msgid_next(&g, now);
	ok(d > ((5000LL << 22) | (9 << 12) | 17), "after a seed ids continue above it");
	msgid_destroy(&g);
}

int main(void)
{
	test_example();
	test_check_head();
	test_msgid();
	return done_testing();
}
