/*
 * test_stats_topics.c - `stats topics` (protocol.md, [ext]): one line per
 * topic, in name order, with its partitions, the log bytes it holds, the
 * messages appended since the daemon started and how long ago the last
 * one was. A restart keeps the bytes and starts the counts again.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define RECORD_HEADER 20

static void put(struct td_conn *c, const char *topic, int part, const char *body, int op)
{
	char req[128];
	int n = snprintf(req, sizeof(req), "put %s %d %zu 0 %d\r\n%s", topic, part, strlen(body),
	                 op, body);

	ok(td_roundtrip(c, req, (size_t)n, RT_HANG_MS) == 1 && c->msg.code == 200 &&
	   c->msg.opaque == op, "put %s-%d: 200", topic, part);
}

/* The body of `stats topics`, NUL-terminated in buf; 0 or -1. */
static int topics(struct td_conn *c, char *buf, size_t cap)
{
	if (td_roundtrip(c, "stats topics 9\r\n", 16, RT_HANG_MS) != 1 || c->msg.code != 200 ||
	    c->msg.opaque != 9 || c->msg.body.len >= cap)
		return -1;
	memcpy(buf, c->msg.body.ptr, c->msg.body.len);
	buf[c->msg.body.len] = '\0';
	return 0;
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "num_partitions=2", NULL };
	struct td_conn c;
	char body[4096], want[256];
	long long ago = -2;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	ok(topics(&c, body, sizeof(body)) == 0, "stats topics: 200");
	is_str(body, "STATS\r\nEND\r\n", "  no topic yet: an empty listing");

	put(&c, "beta", 0, "hello", 1);
	put(&c, "alpha", 0, "abc", 2);
	put(&c, "alpha", 1, "defg", 3);
	put(&c, "alpha", 1, "hi", 4);
	ok(topics(&c, body, sizeof(body)) == 0, "stats topics after 4 puts: 200");
	diag("%s", body);
	snprintf(want, sizeof(want), "STATS\r\nalpha partitions=2 bytes=%d messages=3 "
	         "last_append_ms_ago=", 3 * RECORD_HEADER + 3 + 4 + 2);
	ok(strncmp(body, want, strlen(want)) == 0, "  alpha first: 2 partitions, its bytes, 3 messages");
	ago = atoll(body + strlen(want));
	ok(ago >= 0 && ago < 600000, "  its last append %lld ms ago", ago);
	snprintf(want, sizeof(want), "\r\nbeta partitions=1 bytes=%d messages=1 last_append_ms_ago=",
	         RECORD_HEADER + 5);
	ok(strstr(body, want) != NULL, "  then beta: 1 partition, 1 message");
	ok(strlen(body) > 5 && strcmp(body + strlen(body) - 5, "END\r\n") == 0, "  then END");
	td_conn_free(&c);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");

	if (td_restart(&d, settings) != 0)
		bail_out("cannot restart pulsemqd");
	td_conn_init(&c, td_connect(d.port));
	ok(topics(&c, body, sizeof(body)) == 0, "after a restart: 200");
	snprintf(want, sizeof(want), "STATS\r\nalpha partitions=2 bytes=%d messages=0 "
	         "last_append_ms_ago=-1\r\nbeta partitions=1 bytes=%d messages=0 "
	         "last_append_ms_ago=-1\r\nEND\r\n", 3 * RECORD_HEADER + 9, RECORD_HEADER + 5);
	is_str(body, want, "  the bytes stay, the counts start again");
	td_conn_free(&c);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
