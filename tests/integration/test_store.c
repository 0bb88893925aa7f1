/*
 * test_store.c - put / get / offset against the real daemon: exact bytes
 * back, every code of protocol.md's table, a consumer reading every message
 * once and in order across segment rolls, restart on the same data, the
 * data directory lock, topics refused when auto_create_topics is off, and
 * the async flush policy.
 */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/lib/exchange.h"
#include "tests/tap.h"

#define T_MS 10000 /* only guards against hangs (sanitizer builds are slow) */
#define NMSG 300

struct rec {
	int32_t len, checksum, flag;
	int64_t msgid;
	const unsigned char *payload;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One whole record at p (avail bytes): its size, or 0 if incomplete. */
static size_t parse_rec(const unsigned char *p, size_t avail, struct rec *r)
{
	if (avail < 20)
		return 0;
	r->len = (int32_t)be32(p);
	r->checksum = (int32_t)be32(p + 4);
	r->msgid = (int64_t)((uint64_t)be32(p + 8) << 32 | be32(p + 12));
	r->flag = (int32_t)be32(p + 16);
	r->payload = p + 20;
	if (r->len < 0 || (size_t)r->len > avail - 20)
		return 0;
	return 20 + (size_t)r->len;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* The bytes of one stored record, as store-format.md lays them out: the
 * 20-byte header, then the payload. Returns its size. */
static size_t make_rec(unsigned char *out, int32_t checksum, int64_t msgid, int32_t flag,
                       const char *payload)
{
	size_t len = strlen(payload);
	put_be32(out, (uint32_t)len);
	put_be32(out + 4, (uint32_t)checksum);
	put_be32(out + 8, (uint32_t)((uint64_t)msgid >> 32));
	put_be32(out + 12, (uint32_t)msgid);
	put_be32(out + 16, (uint32_t)flag);
	memcpy(out + 20, payload, len);
	return 20 + len;
}

static bool body_has(const struct td_conn *c, const char *s)
{
	char buf[512];
	size_t n = c->msg.body.len < sizeof buf - 1 ? c->msg.body.len : sizeof buf - 1;
	memcpy(buf, c->msg.body.ptr, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

/* Sends a request line (+ body), reads one response. */
static int rt(struct td_conn *c, const char *line, const void *body, size_t len)
{
	char buf[8192];
	size_t n = strlen(line);
	if (n + len > sizeof buf)
		return -1;
	memcpy(buf, line, n);
	if (len)
		memcpy(buf + n, body, len);
	return td_roundtrip(c, buf, n + len, T_MS);
}

static int put(struct td_conn *c, const char *topic, int part, const char *payload,
               int32_t checksum, int64_t *msgid, int *gotpart, int64_t *offset)
{
	char line[512];
	size_t len = strlen(payload);
	if (checksum == -2)
		snprintf(line, sizeof line, "put %s %d %zu 0 1\r\n", topic, part, len);
	else
		snprintf(line, sizeof line, "put %s %d %zu 0 %" PRId32 " 1\r\n", topic, part, len,
		         checksum);
	if (rt(c, line, payload, len) != 1 || c->msg.cmd != PMQ_CMD_RESULT)
		return -1;
	if (c->msg.code == 200 && msgid) {
		char b[128];
		size_t n = c->msg.body.len < sizeof b - 1 ? c->msg.body.len : sizeof b - 1;
		memcpy(b, c->msg.body.ptr, n);
		b[n] = '\0';
		long long id, off;
		int p;
		if (sscanf(b, "%lld %d %lld", &id, &p, &off) != 3)
			return -1;
		*msgid = id;
		*gotpart = p;
		*offset = off;
	}
	return c->msg.code;
}

static int get(struct td_conn *c, const char *topic, int part, int64_t off, int max)
{
	char line[512];
	snprintf(line, sizeof line, "get %s grp %d %" PRId64 " %d 3\r\n", topic, part, off, max);
	if (rt(c, line, NULL, 0) != 1)
		return -1;
	return c->msg.cmd == PMQ_CMD_VALUE ? 200 : c->msg.code;
}

static void test_basics(struct td_conn *c, int64_t *hello_id)
{
	int64_t id = 0, off = -1;
	int p = -1;

	is(put(c, "test", 0, "hello", 907060870, &id, &p, &off), 200, "put hello with its checksum");
	ok(id > 0 && p == 0 && off == 0, "answer: msgid %lld, partition 0, offset 0",
	   (long long)id);
	*hello_id = id;
	unsigned char rec[64];
	size_t rlen = make_rec(rec, 907060870, id, 0, "hello");
	ok(td_exchange(c, "get test grp 0 0 1000 3\r\n", "value %b 3\r\n", rec, rlen),
	   "get from offset 0: one 25-byte record, its exact bytes, checksum and msgid");

	ok(td_exchange(c, "get test grp 0 25 1000 3\r\n", "result 404 %B 3\r\n",
	               "The broker offset[25] is not above the requested offset[25]: "
	               "no more messages yet"), "get at the end: 404");
	ok(td_exchange(c, "get test grp 0 0 0 3\r\n", "result 400 %B 3\r\n",
	               "Bad request, invalid max size: 0"), "MAXSIZE 0: 400");
	ok(td_exchange(c, "get test grp 0 0 -1 3\r\n", "result 400 %B 3\r\n",
	               "Bad request, invalid max size: -1"), "MAXSIZE -1: 400");
	ok(td_exchange(c, "get test grp 0 0 10 3\r\n", "value %b 3\r\n", rec, (size_t)10),
	   "MAXSIZE 10: the record's first 10 bytes");
	ok(td_exchange(c, "get test grp 0 -5 1000 3\r\n", "result 301 %B 3\r\n", "0"),
	   "before the first segment: 301 with the first start");
	ok(td_exchange(c, "get test grp 0 %" PRId64 " 1000 3\r\n", INT64_MAX,
	               "result 301 %B 3\r\n", "25"), "offset INT64_MAX: 301 with the end");
	ok(td_exchange(c, "get test grp 0 1000 1000 3\r\n", "result 404 %B 3\r\n",
	               "The broker offset[25] is not above the requested offset[1000]: "
	               "no more messages yet"), "past the end without update_consumer_offsets: 404");
	ok(td_exchange(c, "get test grp 1 0 1000 3\r\n", "result 404 %B 3\r\n",
	               "The topic `test` in partition 1 has no data"),
	   "a partition with no data: 404");
	ok(td_exchange(c, "get nosuchtopic grp 0 0 1000 3\r\n", "result 404 %B 3\r\n",
	               "The topic `nosuchtopic` in partition 0 has no data"), "an unknown topic: 404");

	ok(td_exchange(c, "offset test grp 0 10 4\r\n", "result 200 %B 4\r\n", "0"),
	   "offset 10 -> segment start 0");
	ok(td_exchange(c, "offset test grp 0 99 4\r\n", "result 200 %B 4\r\n", "25"),
	   "offset past the end -> the end");
	ok(td_exchange(c, "offset nosuchtopic grp 0 0 4\r\n", "result 404 %B 4\r\n",
	               "The topic `nosuchtopic` in partition 0 has no data"),
	   "offset of an unknown topic: 404");

	ok(td_exchange(c, "put test 0 %B 0 12345 1\r\n", "hello", "result 500 %B 1\r\n",
	               "checksum mismatch: the body's checksum is 907060870 but the request "
	               "says 12345; the message was not stored"), "checksum mismatch: 500");
	ok(td_exchange(c, "put test 5 %B 0 1\r\n", "hello", "result 500 %B 1\r\n",
	               "The partition 5 is not valid for topic test: it has partitions 0 to 1"),
	   "partition 5 of 2: 500 in MetaQ's wording");
	ok(td_exchange(c, "put bad/name 0 %B 0 1\r\n", "hello", "result 400 %B 1\r\n",
	               "bad request: invalid topic name"),
	   "a bad topic name: 400");
	ok(td_exchange(c, "put test 0 %B 0 TX:1:1 6\r\n", "hello", "result 500 %B 6\r\n",
	               "Local transaction 'TX:1:1' has not been started."),
	   "a put with the key of no transaction: 500, as MetaQ says it");
	ok(td_exchange(c, "get test grp 0 25 1000 3\r\n", "result 404 %B 3\r\n",
	               "The broker offset[25] is not above the requested offset[25]: "
	               "no more messages yet"), "none of the refused puts was stored");

	int seen[2] = { 0 };
	for (int i = 0; i < 4; i++)
		if (put(c, "rr", -1, "x", -2, &id, &p, &off) == 200 && p >= 0 && p < 2)
			seen[p]++;
	ok(seen[0] == 2 && seen[1] == 2, "partition -1 spreads puts round robin");
}

/* The payload of message i: varied lengths, recognisable content. */
static size_t make_msg(char *buf, int i)
{
	int n = snprintf(buf, 64, "message %d:", i);
	size_t len = 20 + (size_t)(i * 37) % 200;
	for (size_t k = (size_t)n; k < len; k++)
		buf[k] = (char)('a' + (i + k) % 26);
	return len;
}

static void test_consume_all(struct td_conn *c)
{
	char payload[256], line[128];
	int64_t ids[NMSG], offs[NMSG];
	bool puts_ok = true;

	for (int i = 0; i < NMSG; i++) {
		size_t len = make_msg(payload, i);
		snprintf(line, sizeof line, "put stream 1 %zu %d 1\r\n", len, i);
		char buf[512];
		memcpy(buf, line, strlen(line));
		memcpy(buf + strlen(line), payload, len);
		long long id, off;
		int p;
		char ans[128];
		if (td_roundtrip(c, buf, strlen(line) + len, T_MS) != 1 || c->msg.code != 200 ||
		    c->msg.body.len >= sizeof ans) {
			puts_ok = false;
			break;
		}
		memcpy(ans, c->msg.body.ptr, c->msg.body.len);
		ans[c->msg.body.len] = '\0';
		if (sscanf(ans, "%lld %d %lld", &id, &p, &off) != 3 || p != 1) {
			puts_ok = false;
			break;
		}
		ids[i] = id;
		offs[i] = off;
	}
	ok(puts_ok, "%d puts of 20..219 bytes answered 200", NMSG);

	/* A consumer: from 0, fetch, take the whole records, advance, until 404. */
	int64_t off = 0;
	int next = 0, fetches = 0;
	bool order = true, bytes = true;
	for (;;) {
		int code = get(c, "stream", 1, off, 700);
		if (code != 200)
			break;
		fetches++;
		const unsigned char *p = (const unsigned char *)c->msg.body.ptr;
		size_t avail = c->msg.body.len, used = 0, n;
		struct rec r;
		while ((n = parse_rec(p + used, avail - used, &r)) > 0) {
			size_t len = next < NMSG ? make_msg(payload, next) : 0;
			if (next >= NMSG || r.msgid != ids[next] || off + (int64_t)used != offs[next] ||
			    r.flag != next)
				order = false;
			else if ((size_t)r.len != len || memcmp(r.payload, payload, len) != 0)
				bytes = false;
			next++;
			used += n;
		}
		if (used == 0 || fetches > 10 * NMSG) {
			order = false;
			break;
		}
		off += (int64_t)used;
	}
	is(c->msg.code, 404, "the consumer stops at 404");
	is(next, NMSG, "it received every message");
	ok(order, "exactly once, in order, at the offsets the puts reported");
	ok(bytes, "with the bytes that were put");
	ok(fetches > NMSG * 120 / 4096, "across segment rolls (%d fetches)", fetches);
}

int main(void)
{
	struct td_daemon d, d2;
	int64_t hello_id = 0;
	const char *settings[] = { "num_partitions=2", "segment_bytes=4096", NULL };

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(d.port);
	struct td_conn c;
	td_conn_init(&c, fd);

	test_basics(&c, &hello_id);
	test_consume_all(&c);

	long long puts = td_stat(d.port, "", "store_puts");
	long long fsyncs = td_stat(d.port, "", "store_fsyncs");
	ok(puts >= NMSG + 5 && fsyncs > 0, "stats: store_puts %lld, store_fsyncs %lld", puts, fsyncs);

	/* the data directory is locked */
	char dd[700];
	snprintf(dd, sizeof dd, "data_dir=%s", d.data_dir);
	const char *same[] = { dd, NULL };
	diag("a second daemon on the same data directory must refuse to start:");
	ok(td_start(&d2, same) != 0, "a second daemon on the same data directory refuses to start");
	td_cleanup(&d2);

	td_conn_free(&c);
	is(td_stop(&d, T_MS), 0, "clean stop");

	/* restart: the same bytes back */
	if (td_restart(&d, settings) != 0)
		bail_out("cannot restart pulsemqd");
	fd = td_connect(d.port);
	td_conn_init(&c, fd);
	struct rec r;
	is(get(&c, "test", 0, 0, 1000), 200, "after a restart: get from 0");
	ok(c.msg.body.len == 25 && parse_rec((const unsigned char *)c.msg.body.ptr, 25, &r) == 25 &&
	   r.msgid == hello_id && memcmp(r.payload, "hello", 5) == 0, "the same record");
	int64_t id, off;
	int p;
	is(put(&c, "test", 0, "again", -2, &id, &p, &off), 200, "put after the restart");
	ok(id > hello_id && off == 25, "msgid above the old one, offset 25");
	td_conn_free(&c);
	td_stop(&d, T_MS);

	/* a stray segment that does not line up: the daemon refuses to start */
	char stray[800];
	snprintf(stray, sizeof stray, "%s/test-0/00000000000000099999.meta", d.data_dir);
	FILE *f = fopen(stray, "w");
	if (f)
		fclose(f);
	diag("misaligned segments must refuse the start:");
	ok(td_restart(&d, settings) != 0, "misaligned segments: the daemon refuses to start");
	FILE *lf = fopen(d.log_path, "r");
	char logbuf[8192] = "";
	size_t ln = lf ? fread(logbuf, 1, sizeof logbuf - 1, lf) : 0;
	logbuf[ln] = '\0';
	if (lf)
		fclose(lf);
	ok(strstr(logbuf, "00000000000000099999.meta") && strstr(logbuf, "do not line up"),
	   "the log names the file");
	unlink(stray);
	if (!ok(td_restart(&d, settings) == 0, "starts again once the stray file is gone"))
		bail_out("cannot restart pulsemqd without the stray file");
	td_stop(&d, T_MS);
	td_cleanup(&d);

	/* auto_create_topics = no: an unknown topic is refused */
	const char *closed[] = { "auto_create_topics=no", NULL };
	if (td_start(&d, closed) != 0)
		bail_out("cannot start pulsemqd");
	fd = td_connect(d.port);
	td_conn_init(&c, fd);
	is(put(&c, "unknown", 0, "hello", -2, NULL, NULL, NULL), 500,
	   "auto_create_topics=no: a put to an unknown topic is 500");
	ok(body_has(&c, "not accepted"), "saying the topic is not accepted");
	td_conn_free(&c);
	td_stop(&d, T_MS);
	td_cleanup(&d);

	/* async: answered at once, readable after the interval flush */
	const char *async[] = { "flush_mode=async", "flush_interval_ms=20",
	                        "flush_threshold=1000000", NULL };
	if (td_start(&d, async) != 0)
		bail_out("cannot start pulsemqd");
	fd = td_connect(d.port);
	td_conn_init(&c, fd);
	is(put(&c, "a", 0, "async", -2, &id, &p, &off), 200, "async put answered");
	uint64_t deadline = td_now_ms() + T_MS;
	int code;
	/* No event says "flushed": poll, bounded by the deadline. */
	while ((code = get(&c, "a", 0, 0, 100)) == 404 && td_now_ms() < deadline)
		usleep(5000);
	is(code, 200, "readable once the interval flush ran");
	td_conn_free(&c);
	td_stop(&d, T_MS);
	td_cleanup(&d);
	return done_testing();
}
