/* Malformed input, table-driven: each line gets its 400 text, its opaque and
 * the right decision (RESYNC with how much to consume and how many body bytes
 * to drop unread, SKIP_LINE, or CLOSE). */
#include <config.h>

#include "protocol/protocol.h"
#include "tests/tap.h"
#include "tests/unit/test_protocol_util.h"

#define A16 "aaaaaaaaaaaaaaaa"
#define A256 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16 A16

enum { RESYNC, CLOSE, MORE, SKIPLINE };

struct bad {
	const char *in;
	size_t len;
	int what;        /* RESYNC, CLOSE, or MORE (NEED_MORE) */
	size_t consumed; /* RESYNC only; 0 = the whole input */
	size_t skip;     /* RESYNC only: body bytes dropped after consumed */
	int32_t opaque;
	const char *text; /* without the "bad request: " prefix */
};

#define ROW(lit, what, consumed, opaque, text) { S(lit), what, consumed, 0, opaque, text }
/* A refused body command: its line is consumed, its body dropped unread. */
#define SKIP(lit, consumed, skip, opaque, text) { S(lit), RESYNC, consumed, skip, opaque, text }

static const struct bad requests[] = {
	/* registration [ext]: heartbeat is a body command; its line must parse */
	ROW("heartbeat c1 5\r\nhello", CLOSE, 0, 5, "heartbeat expects 4 tokens, got 3"),
	ROW("heartbeat c1 5 1 2\r\nhello", CLOSE, 0, 2, "heartbeat expects 4 tokens, got 5"),
	ROW("heartbeat c1 x 1\r\n", CLOSE, 0, 1, "heartbeat body length 'x' is not a number"),
	ROW("heartbeat c1 -1 1\r\n", CLOSE, 0, 1, "negative body length -1"),
	ROW("heartbeat c1 2 x\r\nab", CLOSE, 0, 0, "opaque 'x' is not a number"),
	ROW("heartbeat\r\n", CLOSE, 0, 0, "heartbeat without a body length"),
	SKIP("heartbeat c/1 3 4\r\nabc", 19, 3, 4,
	     "invalid client id (1-128 bytes of [A-Za-z0-9._:@-])"),
	SKIP("heartbeat c1 10485760 4\r\n", 25, 10485760, 4,
	     "registration of 10485760 bytes exceeds the limit of 65536 bytes"),
	SKIP("heartbeat c1 65537 4\r\n", 22, 65537, 4,
	     "registration of 65537 bytes exceeds the limit of 65536 bytes"),
	ROW("members g\r\n", RESYNC, 0, 0, "members expects 3 tokens, got 2"),
	ROW("members g/x 1\r\n", RESYNC, 0, 1, "invalid group name"),
	ROW("members g y\r\n", RESYNC, 0, 0, "opaque 'y' is not a number"),
	ROW("commit t g 0 5\r\n", RESYNC, 0, 5, "commit expects 6 tokens, got 5"),
	ROW("commit t g -1 5 1\r\n", RESYNC, 0, 1, "negative partition -1"),
	ROW("commit t g 0 -5 1\r\n", RESYNC, 0, 1, "negative offset -5"),
	ROW("commit t g 0 x 1\r\n", RESYNC, 0, 1, "offset 'x' is not a number"),
	ROW("commit t/ g 0 1 1\r\n", RESYNC, 0, 1, "invalid topic name"),
	ROW("committed t g 0\r\n", RESYNC, 0, 0, "committed expects 5 tokens, got 4"),
	ROW("committed t .g 0 2\r\n", RESYNC, 0, 2, "invalid group name"),
	ROW("notify g 1 2\r\n", RESYNC, 0, 2, "unknown command 'notify'"),
	/* token counts */
	ROW("put t 0 5 7\r\nhello", CLOSE, 0, 7, "put expects 6 to 8 tokens, got 5"),
	ROW("put t 0 5 0 1 TX:a:1 3 4\r\nhello", CLOSE, 0, 4, "put expects 6 to 8 tokens, got 9"),
	ROW("get t g 0 0 5\r\n", RESYNC, 0, 5, "get expects 7 tokens, got 6"),
	ROW("get t g 0 0 5 6 7\r\n", RESYNC, 0, 7, "get expects 7 tokens, got 8"),
	ROW("get a b c d e f g h i j k l m n 3\r\n", RESYNC, 0, 3, "get expects 7 tokens, got 16"),
	ROW("offset t g 0 9\r\n", RESYNC, 0, 9, "offset expects 6 tokens, got 5"),
	ROW("version 1 2\r\n", RESYNC, 0, 2, "version expects 1 or 2 tokens, got 3"),
	ROW("stats a 1 2\r\n", RESYNC, 0, 2, "stats expects 1 to 3 tokens, got 4"),
	ROW("quit 5\r\n", RESYNC, 0, 5, "quit expects 1 token, got 2"),
	ROW("transaction TX:a:1 a BEGIN\r\n", RESYNC, 0, 0, "transaction expects 5 to 7 tokens, got 4"),
	ROW("transaction TX:a:1 a BEGIN 1 q r 6\r\n", RESYNC, 0, 6, "transaction expects 5 to 7 tokens, got 8"),
	ROW("sync t 0 0 0 1\r\n", CLOSE, 0, 1, "sync expects 7 or 8 tokens, got 6"),
	ROW("debug sleep get 5\r\n", RESYNC, 0, 5, "debug expects 5 tokens, got 4"),
	ROW("result 200 0\r\n", CLOSE, 0, 0, "result expects 4 tokens, got 3"),
	ROW("value 0 1 2\r\n", CLOSE, 0, 2, "value expects 3 tokens, got 4"),
	/* numbers */
	ROW("get t g x 0 5 1\r\n", RESYNC, 0, 1, "partition 'x' is not a number"),
	ROW("get t g 0 12a 5 1\r\n", RESYNC, 0, 1, "offset '12a' is not a number"),
	ROW("get t g 0 0 5 +1\r\n", RESYNC, 0, 0, "opaque '+1' is not a number"),
	ROW("get t g 0 0 - 1\r\n", RESYNC, 0, 1, "maxsize '-' is not a number"),
	ROW("get t g 0 0 5 \xef\xbc\x91\r\n", RESYNC, 0, 0, "opaque '\?\?\?' is not a number"),
	ROW("get t g 2147483648 0 5 1\r\n", RESYNC, 0, 1, "partition '2147483648' is out of range"),
	ROW("get t g 0 9223372036854775808 5 1\r\n", RESYNC, 0, 1,
	    "offset '9223372036854775808' is out of range"),
	ROW("get t g 0 -9223372036854775809 5 1\r\n", RESYNC, 0, 1,
	    "offset '-9223372036854775809' is out of range"),
	ROW("get t g 0 0 5 2147483648\r\n", RESYNC, 0, 0, "opaque '2147483648' is out of range"),
	ROW("get t g 0 0 5 -2147483649\r\n", RESYNC, 0, 0, "opaque '-2147483649' is out of range"),
	ROW("put t 0 5 x 1\r\nhello", CLOSE, 0, 1, "flag 'x' is not a number"),
	ROW("put t 0 5 0 12x 3\r\nhello", CLOSE, 0, 3, "checksum '12x' is not a number"),
	ROW("put t 0 0 0 1 -\r\n", CLOSE, 0, 0, "opaque '-' is not a number"),
	ROW("version abc\r\n", RESYNC, 0, 0, "opaque 'abc' is not a number"),
	ROW("result x 0 1\r\n", CLOSE, 0, 1, "code 'x' is not a number"),
	/* body lengths that cannot be trusted: close */
	ROW("put t 0 -1 0 1\r\n", CLOSE, 0, 1, "negative body length -1"),
	ROW("put t 0 abc 0 1\r\n", CLOSE, 0, 1, "put body length 'abc' is not a number"),
	ROW("put t 0\r\n", CLOSE, 0, 0, "put without a body length"),
	ROW("put\r\n", CLOSE, 0, 0, "put without a body length"),
	ROW("put t 0 2147483648 0 1\r\n", CLOSE, 0, 1, "body length 2147483648 is out of range"),
	/* a MetaQ client's put to the topic "space x": the body is not a command */
	ROW("put space x 0 10 0 1 -5\r\nversion 1\r\n", CLOSE, 0, -5,
	    "partition 'x' is not a number"),
	ROW("put t  0 5 0 1\r\nhello", CLOSE, 0, 1, "double space in line"),
	ROW("result 200 5 1 \r\nhello", CLOSE, 0, 0, "line ends with a space"),
	/* refused, but well formed: the body is dropped unread, at once */
	SKIP("put t 0 2000000 0 1\r\n", 0, 2000000, 1,
	     "body of 2000000 bytes exceeds max_body_bytes 1048576"),
	SKIP("put t 0 2000000 0 1\r\nversion 1\r\n", 21, 2000000, 1,
	     "body of 2000000 bytes exceeds max_body_bytes 1048576"),
	SKIP("result 503 2000000 1\r\nabc", 22, 2000000, 1,
	     "body of 2000000 bytes exceeds max_body_bytes 1048576"),
	ROW("value 99999999999999999999 1\r\n", CLOSE, 0, 1,
	    "value body length '99999999999999999999' is out of range"),
	ROW("result 200 -5 1\r\n", CLOSE, 0, 1, "negative body length -5"),
	ROW("sync t 0 x 0 1 2\r\n", CLOSE, 0, 2, "sync body length 'x' is not a number"),
	ROW("put t 0 5\t0 1\r\n", CLOSE, 0, 1, "put body length '5?0' is not a number"),
	/* shape of the line */
	ROW("get t g 0 0 5  1\r\n", RESYNC, 0, 1, "double space in line"),
	ROW("stats a  1\r\n", RESYNC, 0, 1, "double space in line"),
	ROW(" get t g 0 0 5 1\r\n", RESYNC, 0, 1, "line starts with a space"),
	ROW("get t g 0 0 5 1 \r\n", RESYNC, 0, 0, "line ends with a space"),
	ROW("stats  \r\n", RESYNC, 0, 0, "line ends with a space"),
	ROW(" \r\n", RESYNC, 0, 0, "line starts with a space"),
	ROW("get\tt g 0 0 5 1\r\n", RESYNC, 0, 1, "tab in line (tokens are separated by one space)"),
	ROW("get t g 0 0 5 1\0\r\n", RESYNC, 0, 0, "NUL byte in line"),
	ROW("get t\0 g 0 0 5 1\r\n", RESYNC, 0, 1, "NUL byte in line"),
	ROW("get t g\n0 0 5 1\r\n", RESYNC, 0, 1, "bare \\n in line (lines end with \\r\\n)"),
	ROW("version 1\n\r\n", RESYNC, 0, 0, "bare \\n in line (lines end with \\r\\n)"),
	ROW("get t g\r0 0 5 1\r\n", RESYNC, 0, 1, "bare \\r in line"),
	ROW("get t g 0 0 5 1\x7f\r\n", RESYNC, 0, 0, "control character 0x7f in line"),
	ROW("\r\n", RESYNC, 0, 0, "empty line"),
	ROW("\r\nversion 1\r\n", RESYNC, 2, 0, "empty line"),
	/* commands */
	ROW("GET t g 0 0 5 1\r\n", RESYNC, 0, 1, "unknown command 'GET'"),
	ROW("Version 1\r\n", RESYNC, 0, 1, "unknown command 'Version'"),
	ROW("xyz\r\nversion 1\r\n", RESYNC, 5, 0, "unknown command 'xyz'"),
	ROW("puts t 0 5 0 1\r\nversion 1\r\n", RESYNC, 16, 1, "unknown command 'puts'"),
	/* names */
	ROW("get ../x g 0 0 5 1\r\n", RESYNC, 0, 1, "invalid topic name"),
	ROW("get a/b g 0 0 5 1\r\n", RESYNC, 0, 1, "invalid topic name"),
	ROW("get .hidden g 0 0 5 1\r\n", RESYNC, 0, 1, "invalid topic name"),
	ROW("get " A256 " g 0 0 5 1\r\n", RESYNC, 0, 1, "invalid topic name"),
	ROW("get t g/x 0 0 5 1\r\n", RESYNC, 0, 1, "invalid group name"),
	SKIP("put ../x 0 5 0 1\r\nhelloversion 1\r\n", 18, 5, 1, "invalid topic name"),
	SKIP("sync .. 0 1 0 5 3\r\nx", 19, 1, 3, "invalid topic name"),
	SKIP("put ../x 0 2000000 0 1\r\n", 0, 2000000, 1, "invalid topic name"),
	ROW("stats a/b 1\r\n", RESYNC, 0, 1, "invalid stats item"),
	/* transactions */
	ROW("transaction TX:a:1 a START 1\r\n", RESYNC, 0, 1, "unknown transaction type 'START'"),
	ROW("transaction TX:a:1 a begin 1\r\n", RESYNC, 0, 1, "unknown transaction type 'begin'"),
	ROW("transaction TY:a:1 a BEGIN 1\r\n", RESYNC, 0, 1, "invalid transaction key 'TY:a:1'"),
	ROW("transaction TX:a:x a BEGIN 1\r\n", RESYNC, 0, 1, "invalid transaction key 'TX:a:x'"),
	/* MetaQ reads a local key's counter with Integer.parseInt and splits
	 * the key into exactly three fields */
	ROW("transaction TX:a:2147483648 a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'TX:a:2147483648'"),
	ROW("transaction TX:a:b:1 a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'TX:a:b:1'"),
	ROW("transaction Null a RECOVER 1\r\n", RESYNC, 0, 1, "invalid transaction key 'Null'"),
	ROW("transaction TX::1 a BEGIN 1\r\n", RESYNC, 0, 1, "invalid transaction key 'TX::1'"),
	ROW("transaction TX:a a BEGIN 1\r\n", RESYNC, 0, 1, "invalid transaction key 'TX:a'"),
	ROW("transaction XID:1:zz:00:q a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'XID:1:zz:00:q'"),
	ROW("transaction XID:1:ab:00: a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'XID:1:ab:00:'"),
	ROW("transaction XID:x:ab:00:q a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'XID:x:ab:00:q'"),
	ROW("transaction XID:1::00:q a BEGIN 1\r\n", RESYNC, 0, 1,
	    "invalid transaction key 'XID:1::00:q'"),
	ROW("transaction TX:a:1 a BEGIN -5 q 1\r\n", RESYNC, 0, 1,
	    "transaction timeout '-5' is not a number"),
	ROW("transaction TX:a:1 a BEGIN 99999999999 1\r\n", RESYNC, 0, 1,
	    "transaction timeout '99999999999' is out of range"),
	ROW("put t 0 0 0 TY:1 1\r\n", CLOSE, 0, 1, "invalid transaction key 'TY:1'"),
	ROW("put t 0 0 0 1 TX:a 1\r\n", CLOSE, 0, 1, "invalid transaction key 'TX:a'"),
	/* debug */
	ROW("debug nap get 5 1\r\n", RESYNC, 0, 1, "unknown debug command (only 'sleep')"),
	ROW("debug sleep disk 5 1\r\n", RESYNC, 0, 1, "debug sleep target must be get, put, heartbeat, io, timer, flush or mailbox"),
	ROW("debug sleep get 60001 1\r\n", RESYNC, 0, 1, "debug sleep time 60001 ms is outside 0..60000"),
	ROW("debug sleep get -1 1\r\n", RESYNC, 0, 1, "debug sleep time -1 ms is outside 0..60000"),
	/* a good line waits for its body; a bad one does not */
	ROW("put t 0 5 0 1\r\nhel", MORE, 0, 0, NULL),
	ROW("put t 0 5 0 1 2 3 4\r\nhel", CLOSE, 0, 4, "put expects 6 to 8 tokens, got 9"),
	SKIP("put ../x 0 5 0 1\r\n", 0, 5, 1, "invalid topic name"),
};

static const struct bad responses[] = {
	ROW("get t g 0 0 5 1\r\n", RESYNC, 0, 1, "unexpected command 'get' in a response"),
	ROW("put t 0 5 0 1\r\n", RESYNC, 0, 1, "unexpected command 'put' in a response"),
	ROW("result 200 -1 1\r\n", CLOSE, 0, 1, "negative body length -1"),
	ROW("value 1 x\r\nz", CLOSE, 0, 0, "opaque 'x' is not a number"),
	ROW("result 200 0 1 2\r\nversion 3\r\n", CLOSE, 0, 2, "result expects 4 tokens, got 5"),
	ROW("\r\n", RESYNC, 0, 0, "empty line"),
	ROW("notify g -1 2\r\n", RESYNC, 0, 2, "generation is not an unsigned number"),
	ROW("notify g 18446744073709551616 2\r\n", RESYNC, 0, 2, "generation out of range"),
	ROW("notify g 1\r\n", RESYNC, 0, 1, "notify expects 4 tokens, got 3"),
	ROW("heartbeat c 0 1\r\n", RESYNC, 0, 1, "unexpected command 'heartbeat' in a response"),
};

static void check(const struct bad *b, bool response, const char *prefix)
{
	struct pmq_msg m;
	struct pmq_decode_error err;
	size_t used = 99;
	char want[PMQ_ERROR_TEXT_BYTES];
	enum pmq_decode_status st = dec(response, b->in, b->len, &m, &used, &err);

	if (b->what == MORE) {
		ok(st == PMQ_DECODE_NEED_MORE && used == 0, "need more: %.*s",
		   (int)strcspn(b->in, "\r\n"), b->in);
		return;
	}
	snprintf(want, sizeof(want), "%s: %s", prefix, b->text);
	if (!ok(st == PMQ_DECODE_ERROR, "error: %.40s", b->text)) {
		diag("  status %d for '%.60s'", (int)st, b->in);
		return;
	}
	is_str(err.text, want, "  text");
	enum pmq_error_action action = b->what == CLOSE ? PMQ_ERR_CLOSE : b->what == SKIPLINE ?
		PMQ_ERR_SKIP_LINE : PMQ_ERR_RESYNC;
	ok(err.action == action && err.code == 400 && err.opaque == b->opaque &&
	   m.cmd == PMQ_CMD_NONE, "  action %d, 400, opaque %d", (int)action, (int)b->opaque);
	if (b->what == RESYNC) {
		is(used, b->consumed ? b->consumed : b->len, "  consumed");
		is(err.skip, b->skip, "  body bytes to drop");
	} else {
		is(err.skip, 0, "  nothing to drop");
	}
}

/* Over-long lines: once max_line_bytes pass without \r\n, one that names a
 * body command closes (its body's extent is unknown), any other is skipped
 * up to its \r\n; a line of exactly max_line_bytes (\r\n included) is fine. */
static void test_line_limit(void)
{
	struct pmq_limits lim = { 15, 100 };
	struct pmq_msg m;
	struct pmq_decode_error err;
	size_t used;
	char junk[40];

	memset(junk, 'a', sizeof(junk));
	ok(pmq_decode_request(&lim, junk, 14, &m, &used, &err) == PMQ_DECODE_NEED_MORE,
	   "14 bytes of 15 without \\r\\n: need more");
	ok(pmq_decode_request(&lim, junk, 15, &m, &used, &err) == PMQ_DECODE_ERROR &&
	   err.action == PMQ_ERR_SKIP_LINE && err.opaque == 0 && used == 0 && err.skip == 0,
	   "15 bytes without \\r\\n: skip the line");
	is_str(err.text, "bad request: line longer than 15 bytes (max_line_bytes): skipped up "
	       "to its \\r\\n", "  text");
	ok(pmq_decode_request(&lim, S("version 12345\r\n"), &m, &used, &err) == PMQ_DECODE_OK &&
	   used == 15, "a line of exactly max_line_bytes decodes");
	lim.max_line_bytes = 14;
	ok(pmq_decode_request(&lim, S("version 12345\r\n"), &m, &used, &err) == PMQ_DECODE_ERROR &&
	   err.action == PMQ_ERR_SKIP_LINE, "one byte more: skip the line");
	ok(pmq_decode_request(&lim, S("version 1234\r"), &m, &used, &err) == PMQ_DECODE_NEED_MORE,
	   "\\r as the 14th byte: need more");
	ok(pmq_decode_request(NULL, junk, sizeof(junk), &m, &used, &err) == PMQ_DECODE_NEED_MORE,
	   "40 bytes under the default limit: need more");
	ok(pmq_decode_request(&lim, S("put t 0 101 0 1\r\n"), &m, &used, &err) == PMQ_DECODE_ERROR &&
	   err.action == PMQ_ERR_CLOSE, "an over-long put line: close");
	is_str(err.text, "bad request: put line longer than 14 bytes without \\r\\n", "  text");
	ok(pmq_decode_response(&lim, S("result 200 5 123456\r\n"), &m, &used, &err) ==
	   PMQ_DECODE_ERROR && err.action == PMQ_ERR_CLOSE, "an over-long result line: close");
	ok(pmq_decode_request(&lim, S("get t g 0 0 100 1\r\n"), &m, &used, &err) ==
	   PMQ_DECODE_ERROR && err.action == PMQ_ERR_SKIP_LINE, "an over-long get line: skip");
	lim.max_line_bytes = 64;
	ok(pmq_decode_request(&lim, S("put t 0 101 0 1\r\n"), &m, &used, &err) == PMQ_DECODE_ERROR &&
	   err.action == PMQ_ERR_RESYNC && used == 17 && err.skip == 101,
	   "body over a custom max_body_bytes: the line, then 101 bytes dropped");
	is_str(err.text, "bad request: body of 101 bytes exceeds max_body_bytes 100", "  text");
}

/* After a RESYNC error the stream goes on with the next command. */
static void test_resync_continues(void)
{
	const char in[] = "bogus 1\r\nput ../x 0 3 0 2\r\nabcversion 3\r\n";
	struct pmq_msg m;
	struct pmq_decode_error err;
	size_t used, off = 0;
	int32_t seen[3];

	for (int i = 0; i < 3; i++) {
		enum pmq_decode_status st = pmq_decode_request(NULL, in + off, sizeof(in) - 1 - off,
		                                               &m, &used, &err);
		seen[i] = st == PMQ_DECODE_OK ? m.opaque : err.opaque;
		off += used + (st == PMQ_DECODE_ERROR ? err.skip : 0);
	}
	ok(seen[0] == 1 && seen[1] == 2 && seen[2] == 3 && off == sizeof(in) - 1 &&
	   m.cmd == PMQ_CMD_VERSION, "error, error (body dropped), version: decoded in order");
}

int main(void)
{
	size_t nreq = sizeof(requests) / sizeof(requests[0]);
	size_t nresp = sizeof(responses) / sizeof(responses[0]);

	diag("%zu malformed requests, %zu malformed responses", nreq, nresp);
	for (size_t i = 0; i < nreq; i++)
		check(&requests[i], false, "bad request");
	for (size_t i = 0; i < nresp; i++)
		check(&responses[i], true, "bad response");
	test_line_limit();
	test_resync_continues();
	return done_testing();
}
