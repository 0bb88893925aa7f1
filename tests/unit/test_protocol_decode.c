/* The requests and responses of protocol.md, decoded field by field, with
 * every MetaQ token-count form; plus the command table, CRC and topics. */
#include <config.h>

#include <string.h>

#include "protocol/protocol.h"
#include "tests/tap.h"
#include "tests/unit/test_protocol_util.h"

static struct pmq_msg m;
static size_t used;
static struct pmq_decode_error err;

/* Decodes a whole request that must be OK and use every byte. */
static bool req(const char *buf, size_t len)
{
	enum pmq_decode_status st = pmq_decode_request(NULL, buf, len, &m, &used, &err);
	if (st != PMQ_DECODE_OK)
		diag("  status %d: %s", (int)st, st == PMQ_DECODE_ERROR ? err.text : "");
	return st == PMQ_DECODE_OK && used == len;
}

static bool resp(const char *buf, size_t len)
{
	enum pmq_decode_status st = pmq_decode_response(NULL, buf, len, &m, &used, &err);
	if (st != PMQ_DECODE_OK)
		diag("  status %d: %s", (int)st, st == PMQ_DECODE_ERROR ? err.text : "");
	return st == PMQ_DECODE_OK && used == len;
}

static void test_put(void)
{
	ok(req(S("put topic1 0 5 0 -2147483648\r\nhello")), "put, 6 tokens");
	ok(m.cmd == PMQ_CMD_PUT && view_is(m.topic, "topic1") && m.partition == 0 &&
	   m.flag == 0 && m.checksum == -1 && m.txkey.ptr == NULL &&
	   m.opaque == INT32_MIN && view_is(m.body, "hello"), "put 6: fields");
	ok(req(S("put t -1 5 7 907060870 12\r\nhello")), "put, 7 tokens, checksum");
	ok(m.partition == -1 && m.flag == 7 && m.checksum == 907060870 &&
	   m.txkey.ptr == NULL && m.opaque == 12, "put 7 checksum: fields");
	ok(req(S("put t 1 0 0 TX:s1:3 12\r\n")), "put, 7 tokens, TXKEY, empty body");
	ok(m.checksum == -1 && view_is(m.txkey, "TX:s1:3") && view_is(m.body, "") &&
	   m.body.ptr != NULL, "put 7 txkey: fields");
	ok(req(S("put t 1 1 0 -1 12\r\nx")), "put, 7 tokens, checksum -1");
	ok(m.checksum == -1 && m.txkey.ptr == NULL, "put 7 checksum -1: no txkey");
	ok(req(S("put t 2 5 0 907060870 XID:1:0a:ff:u1 9\r\nhello")), "put, 8 tokens");
	ok(m.checksum == 907060870 && view_is(m.txkey, "XID:1:0a:ff:u1") && m.opaque == 9,
	   "put 8: checksum and txkey");
	ok(req(S("put t 0 4 0 1\r\na\r\nb")), "put body may hold \\r\\n");
	ok(view_is(m.body, "a\r\nb"), "put body is raw bytes");
}

static void test_get_offset(void)
{
	ok(req(S("get topic1 group1 3 1024 65536 77\r\n")), "get");
	ok(m.cmd == PMQ_CMD_GET && view_is(m.topic, "topic1") && view_is(m.group, "group1") &&
	   m.partition == 3 && m.offset == 1024 && m.max_size == 65536 && m.opaque == 77,
	   "get: fields");
	ok(req(S("get t g 0 9223372036854775807 0 1\r\n")), "get MAXSIZE 0 decodes");
	ok(m.offset == INT64_MAX && m.max_size == 0, "get: int64 max offset");
	ok(req(S("get t g 0 -9223372036854775808 -5 1\r\n")), "get negative MAXSIZE decodes");
	ok(m.offset == INT64_MIN && m.max_size == -5, "get: int64 min offset");
	ok(req(S("offset topic1 group1 2 4096 -3\r\n")), "offset");
	ok(m.cmd == PMQ_CMD_OFFSET && view_is(m.group, "group1") && m.partition == 2 &&
	   m.offset == 4096 && m.opaque == -3, "offset: fields");
}

static void test_version_stats_quit(void)
{
	ok(req(S("version\r\n")), "version without opaque");
	ok(m.cmd == PMQ_CMD_VERSION && m.opaque == PMQ_OPAQUE_DEFAULT && !m.compat_spelling,
	   "version: default opaque 2147483647");
	ok(req(S("version 42\r\n")), "version 42");
	is(m.opaque, 42, "version: opaque");
	ok(req(S("vers 42\r\n")) && m.cmd == PMQ_CMD_VERSION && m.compat_spelling,
	   "MetaQ: any v... word is version, counted as compat");
	ok(req(S("v\r\n")) && m.cmd == PMQ_CMD_VERSION && m.compat_spelling, "MetaQ: 'v' alone");
	ok(req(S("stats\r\n")), "stats, 1 token");
	ok(m.cmd == PMQ_CMD_STATS && m.item.ptr == NULL && m.opaque == PMQ_OPAQUE_DEFAULT,
	   "stats: item none, default opaque");
	ok(req(S("stats  5\r\n")), "stats  OP (two spaces)");
	ok(view_is(m.item, "") && m.opaque == 5, "stats  OP: item \"\"");
	ok(req(S("stats pools 6\r\n")) && view_is(m.item, "pools") && m.opaque == 6,
	   "stats ITEM OP");
	ok(req(S("stats 7\r\n")) && m.item.ptr == NULL && m.opaque == 7,
	   "stats N (2 tokens, numeric): opaque, item none (MetaQ)");
	ok(req(S("stats topics\r\n")) && view_is(m.item, "topics") &&
	   m.opaque == PMQ_OPAQUE_DEFAULT, "stats ITEM (2 tokens, not numeric): item [ext]");
	ok(req(S("quit\r\n")) && m.cmd == PMQ_CMD_QUIT && !m.compat_spelling, "quit");
	ok(req(S("quitnow\r\n")) && m.cmd == PMQ_CMD_QUIT && m.compat_spelling,
	   "MetaQ: any q... word is quit");
}

static void test_transaction(void)
{
	ok(req(S("transaction TX:sess-1:5 sess-1 BEGIN 3\r\n")), "transaction, 5 tokens");
	ok(m.cmd == PMQ_CMD_TRANSACTION && view_is(m.txkey, "TX:sess-1:5") &&
	   view_is(m.session_id, "sess-1") && m.tx_type == PMQ_TX_BEGIN &&
	   !m.has_tx_timeout && m.unique_qualifier.ptr == NULL && m.opaque == 3,
	   "transaction 5: fields");
	/* the MetaQ client's RECOVER sends the key `null` */
	ok(req(S("transaction null 192.0.2.2-1-1 RECOVER XAMessageProducer-vm -5\r\n")),
	   "transaction null RECOVER UQ");
	ok(view_is(m.txkey, "null") && m.tx_type == PMQ_TX_RECOVER &&
	   view_is(m.unique_qualifier, "XAMessageProducer-vm") && m.opaque == -5,
	   "null key: fields");
	ok(req(S("transaction TX:s:2147483647 s BEGIN 1\r\n")), "local key, INT32_MAX counter");
	ok(req(S("transaction TX:s:1 s COMMIT_ONE_PHASE 30 4\r\n")), "transaction, 6 tokens, timeout");
	ok(m.has_tx_timeout && m.tx_timeout == 30 && m.unique_qualifier.ptr == NULL &&
	   m.tx_type == PMQ_TX_COMMIT_ONE_PHASE, "transaction 6: timeout");
	ok(req(S("transaction XID:7:abcd:01:xa-1 s PREPARE xa-1 4\r\n")),
	   "transaction, 6 tokens, unique qualifier");
	ok(!m.has_tx_timeout && view_is(m.unique_qualifier, "xa-1") && m.tx_type == PMQ_TX_PREPARE,
	   "transaction 6: unique qualifier");
	ok(req(S("transaction XID:-1:ab::q s COMMIT_TWO_PHASE 0 q 5\r\n")), "transaction, 7 tokens");
	ok(m.has_tx_timeout && m.tx_timeout == 0 && view_is(m.unique_qualifier, "q") &&
	   m.tx_type == PMQ_TX_COMMIT_TWO_PHASE, "transaction 7: both");
	static const char *const types[] = { "BEGIN", "PREPARE", "COMMIT_ONE_PHASE",
		"COMMIT_TWO_PHASE", "ROLLBACK", "RECOVER", "FORGET", "END" };
	for (int i = 0; i < 8; i++) {
		char line[80];
		int n = snprintf(line, sizeof(line), "transaction TX:a:1 a %s 1\r\n", types[i]);
		ok(req(line, (size_t)n) && m.tx_type == (enum pmq_tx_type)(i + 1) &&
		   strcmp(pmq_tx_type_name(m.tx_type), types[i]) == 0, "transaction type %s", types[i]);
	}
}

static void test_sync_debug_result_value(void)
{
	ok(req(S("sync t 1 5 2 123456789012 907060870 8\r\nhello")), "sync, 8 tokens");
	ok(m.cmd == PMQ_CMD_SYNC && m.partition == 1 && m.flag == 2 &&
	   m.msgid == 123456789012LL && m.checksum == 907060870 && m.opaque == 8 &&
	   view_is(m.body, "hello"), "sync: fields");
	ok(req(S("sync t 1 0 2 -5 8\r\n")) && m.checksum == -1 && m.msgid == -5, "sync, 7 tokens");
	ok(pmq_cmd_info(PMQ_CMD_SYNC)->route == PMQ_ROUTE_NONE, "sync routes nowhere (503)");
	ok(req(S("debug sleep heartbeat 250 9\r\n")), "debug sleep");
	ok(m.cmd == PMQ_CMD_DEBUG && view_is(m.debug_verb, "sleep") &&
	   view_is(m.debug_pool, "heartbeat") && m.debug_ms == 250 && m.opaque == 9,
	   "debug: fields");
	ok(req(S("debug sleep io 10 1\r\n")) && view_is(m.debug_pool, "io"),
	   "debug sleep io (the connection's IO thread)");
	ok(req(S("debug sleep timer 10 2\r\n")) && view_is(m.debug_pool, "timer"),
	   "debug sleep timer");
	ok(req(S("debug sleep flush 10 3\r\n")) && view_is(m.debug_pool, "flush"),
	   "debug sleep flush");
	ok(req(S("result 503 5 -7\r\nnopro")), "result from a client (heartbeat answer)");
	ok(m.cmd == PMQ_CMD_RESULT && m.code == 503 && m.opaque == -7 && view_is(m.body, "nopro"),
	   "result: fields");
	/* protocol.md: the MetaQ Java client answers the broker's `version N`
	 * with `result 503 95 N` and 95 bytes of text. */
	char answer[256];
	int hn = snprintf(answer, sizeof(answer), "result 503 95 -2147483000\r\n");
	memset(answer + hn, 'x', 95);
	memcpy(answer + hn + 95, "version 1\r\n", 11);
	ok(pmq_decode_request(NULL, answer, (size_t)hn + 95 + 11, &m, &used, &err) ==
	   PMQ_DECODE_OK && used == (size_t)hn + 95 && m.cmd == PMQ_CMD_RESULT &&
	   m.code == 503 && m.body.len == 95 && m.opaque == -2147483000,
	   "MetaQ client's 503 answer: body read, next request not glued to it");
	ok(pmq_cmd_info(PMQ_CMD_RESULT)->route == PMQ_ROUTE_IO, "result from a client: IO thread");
	ok(req(S("value 3 11\r\nabc")) && m.cmd == PMQ_CMD_VALUE && view_is(m.body, "abc") &&
	   m.opaque == 11, "value request");
}

static void test_responses(void)
{
	ok(resp(S("result 200 21 5\r\n123 0 4096 extra text")), "response: result");
	ok(m.code == 200 && m.opaque == 5 && m.body.len == 21, "response result: fields");
	ok(resp(S("value 4 6\r\nabcd")) && m.cmd == PMQ_CMD_VALUE && view_is(m.body, "abcd"),
	   "response: value");
	ok(resp(S("version 99\r\n")) && m.cmd == PMQ_CMD_VERSION && m.opaque == 99,
	   "response: broker heartbeat");
	enum pmq_decode_status st = pmq_decode_response(NULL, S("put t 0 0 0 1\r\n"), &m, &used, &err);
	ok(st == PMQ_DECODE_ERROR && err.action == PMQ_ERR_RESYNC && used == 15,
	   "response decoder refuses a request");
	is_str(err.text, "bad response: unexpected command 'put' in a response", "its text");
}

/* Strict decimal at the edges of int32 and int64. */
static void test_numbers(void)
{
	ok(req(S("version -2147483648\r\n")) && m.opaque == INT32_MIN, "opaque INT32_MIN");
	ok(req(S("version 2147483647\r\n")) && m.opaque == INT32_MAX, "opaque INT32_MAX");
	ok(req(S("version -0\r\n")) && m.opaque == 0, "-0 is 0");
	ok(req(S("version 007\r\n")) && m.opaque == 7, "leading zeros are decimal");
	ok(req(S("get t g 0 00000000000000000000009223372036854775807 1 1\r\n")) &&
	   m.offset == INT64_MAX, "long run of zeros then INT64_MAX");
	ok(req(S("offset t g 0 -9223372036854775808 1\r\n")) && m.offset == INT64_MIN,
	   "offset INT64_MIN");
}

static void test_table_crc_topics(void)
{
	ok(pmq_cmd_info(PMQ_CMD_NONE) == NULL && pmq_cmd_info(PMQ_CMD_COUNT) == NULL,
	   "no row for NONE or COUNT");
	is_str(pmq_cmd_name(PMQ_CMD_TRANSACTION), "transaction", "cmd name");
	is_str(pmq_cmd_name(PMQ_CMD_NONE), "?", "cmd name of NONE");
	ok(pmq_cmd_info(PMQ_CMD_PUT)->has_body && !pmq_cmd_info(PMQ_CMD_GET)->has_body &&
	   pmq_cmd_info(PMQ_CMD_GET)->route == PMQ_ROUTE_GET &&
	   pmq_cmd_info(PMQ_CMD_STATS)->route == PMQ_ROUTE_HEARTBEAT, "table rows");
	is_str(pmq_tx_type_name((enum pmq_tx_type)99), "?", "tx name out of range");
	is(pmq_checksum("hello", 5), 907060870, "crc hello");
	is(pmq_checksum("123456789", 9), 1274296614, "crc 123456789");
	is(pmq_checksum("", 0), 0, "crc empty");
	ok(pmq_topic_valid(S("a-b_c.9")), "topic a-b_c.9");
	ok(!pmq_topic_valid(S("../x")) && !pmq_topic_valid(S("a/b")) &&
	   !pmq_topic_valid(S(".hidden")) && !pmq_topic_valid(S("")) &&
	   !pmq_topic_valid(S(".")) && !pmq_topic_valid(S("..")), "bad topics");
	char big[256];
	memset(big, 'a', sizeof(big));
	ok(pmq_topic_valid(big, 255) && !pmq_topic_valid(big, 256), "255 ok, 256 too long");
}

/* protocol.md "Administration and availability" [ext]. */
static void test_admin(void)
{
	char buf[64];
	ok(req(S("admin status 5\r\n")) && m.cmd == PMQ_CMD_ADMIN &&
	   view_is(m.admin_verb, "status") && m.opaque == 5, "admin status");
	ok(req(S("admin online -3\r\n")) && view_is(m.admin_verb, "online") && m.opaque == -3,
	   "admin online");
	ok(req(S("admin offline 0\r\n")) && view_is(m.admin_verb, "offline"), "admin offline");
	ok(req(S("admin drain 10000 7\r\n")) && view_is(m.admin_verb, "drain") &&
	   m.admin_ms == 10000 && m.opaque == 7, "admin drain MS OP");
	ok(pmq_cmd_info(PMQ_CMD_ADMIN)->route == PMQ_ROUTE_HEARTBEAT, "admin runs on the heartbeat pool");
	static const char *const bad[] = { "admin\r\n", "admin 1\r\n", "admin status\r\n",
		"admin status 1 2\r\n", "admin reboot 1\r\n", "admin drain 1\r\n",
		"admin drain -1 1\r\n", "admin drain 86400001 1\r\n", "admin drain x 1\r\n",
		"admin Status 1\r\n" };
	int refused = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		enum pmq_decode_status st = pmq_decode_request(NULL, bad[i], strlen(bad[i]), &m,
		                                               &used, &err);
		refused += st == PMQ_DECODE_ERROR && err.code == 400 &&
		           err.action == PMQ_ERR_RESYNC;
	}
	ok(refused == (int)(sizeof bad / sizeof bad[0]), "malformed admin lines: 400, resync");
	struct pmq_msg e = { .cmd = PMQ_CMD_ADMIN, .admin_verb = { "drain", 5 }, .admin_ms = 2000,
	                     .opaque = 4 };
	size_t n = pmq_encode(buf, sizeof buf, &e);
	ok(n == strlen("admin drain 2000 4\r\n") && memcmp(buf, "admin drain 2000 4\r\n", n) == 0,
	   "encode admin drain");
	e = (struct pmq_msg){ .cmd = PMQ_CMD_ADMIN, .admin_verb = { "status", 6 }, .opaque = 9 };
	n = pmq_encode(buf, sizeof buf, &e);
	ok(n == strlen("admin status 9\r\n") && memcmp(buf, "admin status 9\r\n", n) == 0,
	   "encode admin status");
}

int main(void)
{
	test_put();
	test_admin();
	test_get_offset();
	test_version_stats_quit();
	test_transaction();
	test_sync_debug_result_value();
	test_responses();
	test_numbers();
	test_table_crc_topics();
	return done_testing();
}
