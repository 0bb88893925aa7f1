/* Encoders: encode -> decode gives the same fields for every command, the
 * canonical forms come back byte for byte, and small buffers are handled
 * the snprintf way. */
#include <config.h>

#include "protocol/protocol.h"
#include "tests/tap.h"
#include "tests/unit/test_protocol_util.h"

static char out[2048];

#define IS_BYTES(got, n, lit, ...) is_mem(got, n, lit, sizeof(lit) - 1, __VA_ARGS__)

/* Encodes m, decodes the bytes, and compares. */
static bool round_trip(bool response, const struct pmq_msg *m)
{
	struct pmq_msg back;
	struct pmq_decode_error err;
	size_t used, n = pmq_encode(out, sizeof(out), m);

	if (n == 0 || n > sizeof(out))
		return false;
	if (dec(response, out, n, &back, &used, &err) != PMQ_DECODE_OK) {
		diag("  '%.*s': %s", (int)n, out, err.text);
		return false;
	}
	return used == n && msg_same(&back, m);
}

/* Every sample decodes, encodes, and decodes again to the same fields. */
static void test_samples(void)
{
	size_t n;
	const struct sample *all = samples(&n);

	for (size_t i = 0; i < n; i++) {
		struct pmq_msg m;
		struct pmq_decode_error err;
		size_t used;
		dec(all[i].response, all[i].in, all[i].len, &m, &used, &err);
		ok(round_trip(all[i].response, &m), "round trip: %.*s",
		   (int)strcspn(all[i].in, "\r"), all[i].in);
	}
}

/* The forms encoders write come back byte for byte. */
static void test_canonical(void)
{
	static const struct sample canon[] = {
		{ S("put t 2 5 0 907060870 XID:1:0a:ff:u1 9\r\nhello"), false },
		{ S("put t 1 0 0 TX:s1:3 12\r\n"), false },
		{ S("put topic1 0 5 0 -2147483648\r\nhello"), false },
		{ S("get t g 0 -9223372036854775808 -5 2147483647\r\n"), false },
		{ S("offset topic1 group1 2 4096 -3\r\n"), false },
		{ S("version 42\r\n"), false },
		{ S("stats  5\r\n"), false },
		{ S("stats pools 6\r\n"), false },
		{ S("stats 7\r\n"), false },
		{ S("quit\r\n"), false },
		{ S("transaction XID:-1:ab::q s ROLLBACK 0 q 5\r\n"), false },
		{ S("transaction XID:7:abcd:01:xa-1 s PREPARE xa-1 4\r\n"), false },
		{ S("sync t 1 5 2 123456789012 907060870 8\r\nhello"), false },
		{ S("debug sleep put 250 9\r\n"), false },
		{ S("result 200 21 5\r\n123 0 4096 extra text"), true },
		{ S("value 4 6\r\nabcd"), true },
	};
	for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
		struct pmq_msg m;
		struct pmq_decode_error err;
		size_t used;
		dec(canon[i].response, canon[i].in, canon[i].len, &m, &used, &err);
		size_t n = pmq_encode(out, sizeof(out), &m);
		is_mem(out, n, canon[i].in, canon[i].len, "byte for byte: %.*s",
		       (int)strcspn(canon[i].in, "\r"), canon[i].in);
	}
	struct pmq_msg m = { .cmd = PMQ_CMD_VERSION, .opaque = PMQ_OPAQUE_DEFAULT };
	size_t n = pmq_encode(out, sizeof(out), &m);
	IS_BYTES(out, n, "version 2147483647\r\n", "version always carries its opaque");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_STATS, .opaque = PMQ_OPAQUE_DEFAULT };
	n = pmq_encode(out, sizeof(out), &m);
	IS_BYTES(out, n, "stats 2147483647\r\n", "stats, item none");
}

#define V(lit) ((struct pmq_view){ (lit), sizeof(lit) - 1 })

/* Built by hand, with edge values, every command. */
static void test_built(void)
{
	struct pmq_msg m = { .cmd = PMQ_CMD_PUT, .topic = V("a.b-c_D9"), .partition = INT32_MAX,
		.flag = INT32_MIN, .checksum = 0, .opaque = INT32_MIN, .body = V("x\r\ny") };
	ok(round_trip(false, &m), "put, checksum 0, no txkey");
	m.checksum = -1;
	/* MetaQ's LocalTransactionId: exactly three ':' fields, an int32 last */
	m.txkey = V("TX:a.b-1:-2147483648");
	ok(round_trip(false, &m), "put, txkey only (INT32_MIN counter)");
	m.checksum = pmq_checksum("x\r\ny", 4);
	ok(round_trip(false, &m), "put, checksum and txkey");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_GET, .topic = V("t"), .group = V("g"),
		.partition = -1, .offset = INT64_MAX, .max_size = INT32_MAX, .opaque = 0 };
	ok(round_trip(false, &m), "get, extreme numbers");
	m.cmd = PMQ_CMD_OFFSET;
	m.max_size = 0;
	m.offset = INT64_MIN;
	ok(round_trip(false, &m), "offset");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_STATS, .item = V(""), .opaque = -1 };
	ok(round_trip(false, &m), "stats, item \"\"");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_QUIT };
	ok(round_trip(false, &m), "quit");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_TRANSACTION, .txkey = V("XID:0:00:0:u"),
		.session_id = V("s:1"), .tx_type = PMQ_TX_END, .has_tx_timeout = true,
		.tx_timeout = INT32_MAX, .opaque = 1 };
	ok(round_trip(false, &m), "transaction with timeout only");
	m.tx_type = PMQ_TX_FORGET;
	m.unique_qualifier = V("u-1");
	ok(round_trip(false, &m), "transaction with both");
	m.has_tx_timeout = false;
	m.tx_timeout = 0;
	m.tx_type = PMQ_TX_RECOVER;
	ok(round_trip(false, &m), "transaction with qualifier only");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_SYNC, .topic = V("t"), .partition = 3, .flag = 1,
		.msgid = INT64_MIN, .checksum = -1, .opaque = 2, .body = V("") };
	ok(round_trip(false, &m), "sync without checksum, empty body");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_DEBUG, .debug_verb = V("sleep"),
		.debug_pool = V("heartbeat"), .debug_ms = 60000, .opaque = 3 };
	ok(round_trip(false, &m), "debug sleep");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_RESULT, .code = 500, .body = V("checksum mismatch"),
		.opaque = 4 };
	ok(round_trip(false, &m) && round_trip(true, &m), "result, both directions");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_VALUE, .body = V("\0\0\0\1"), .opaque = 5 };
	ok(round_trip(false, &m) && round_trip(true, &m), "value, both directions");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_VERSION, .opaque = -2147483647 - 1 };
	ok(round_trip(false, &m) && round_trip(true, &m), "version, both directions");
	m = (struct pmq_msg){ .cmd = PMQ_CMD_NONE };
	is(pmq_encode(out, sizeof(out), &m), 0, "PMQ_CMD_NONE encodes to nothing");
}

static void test_helpers(void)
{
	size_t n = pmq_encode_result(out, sizeof(out), 200, "hello", 5, 7);
	IS_BYTES(out, n, "result 200 5 7\r\nhello", "pmq_encode_result");
	n = pmq_encode_result(out, sizeof(out), 404, NULL, 0, -1);
	IS_BYTES(out, n, "result 404 0 -1\r\n", "pmq_encode_result, no body");
	n = pmq_encode_result_head(out, sizeof(out), 503, 95, INT32_MIN);
	IS_BYTES(out, n, "result 503 95 -2147483648\r\n", "pmq_encode_result_head");
	n = pmq_encode_value_head(out, sizeof(out), 1048576, 12);
	IS_BYTES(out, n, "value 1048576 12\r\n", "pmq_encode_value_head");
}

/* The broker's own heartbeat: the same bytes as pmq_encode() of a version,
 * and a client's decoder reads it back as one. */
static void test_version(void)
{
	const int32_t ops[] = { 1, 42, INT32_MAX, -1, INT32_MIN };

	size_t n = pmq_encode_version(out, sizeof(out), 42);
	IS_BYTES(out, n, "version 42\r\n", "pmq_encode_version");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct pmq_msg m = { .cmd = PMQ_CMD_VERSION, .opaque = ops[i] };
		char via_msg[64];
		struct pmq_msg back;
		struct pmq_decode_error err;
		size_t used = 0, k = pmq_encode(via_msg, sizeof(via_msg), &m);

		n = pmq_encode_version(out, sizeof(out), ops[i]);
		is_mem(out, n, via_msg, k, "version %d: as pmq_encode() writes it", (int)ops[i]);
		ok(dec(true, out, n, &back, &used, &err) == PMQ_DECODE_OK && used == n &&
		   back.cmd == PMQ_CMD_VERSION && back.opaque == ops[i],
		   "version %d: decodes as a response with its opaque", (int)ops[i]);
	}
	ok(pmq_encode_version(NULL, 0, INT32_MIN) == sizeof("version -2147483648\r\n") - 1,
	   "pmq_encode_version measures with cap 0");
}

/* snprintf semantics: the needed length whatever the cap, nothing past cap. */
static void test_small_caps(void)
{
	struct pmq_msg m = { .cmd = PMQ_CMD_PUT, .topic = V("t"), .checksum = -1,
		.opaque = 1, .body = V("hello") };
	size_t need = pmq_encode(out, sizeof(out), &m);
	bool good = true;

	for (size_t cap = 0; cap <= need; cap++) {
		char buf[64];
		memset(buf, 0x5a, sizeof(buf));
		good = good && pmq_encode(buf, cap, &m) == need;
		for (size_t i = cap; i < sizeof(buf); i++)
			good = good && buf[i] == 0x5a;
	}
	ok(good, "every cap 0..%zu: returns %zu, writes nothing past cap", need, need);
	ok(pmq_encode(NULL, 0, &m) == need, "NULL buffer with cap 0 measures");
	ok(pmq_encode_result(NULL, 0, 200, "abc", 3, 1) == 19 &&
	   pmq_encode_value_head(NULL, 0, 3, 1) == 11, "helpers measure too");
}

int main(void)
{
	test_samples();
	test_canonical();
	test_built();
	test_helpers();
	test_version();
	test_small_caps();
	return done_testing();
}
