/*
 * test_runtime_bigmsg.c - a put is accepted only if one get can deliver it:
 * with the default settings a body of exactly max_body_bytes is stored and
 * comes back whole from one get whose MAXSIZE is max_transfer_bytes (the
 * 20-byte record header included); one byte more is refused and its body
 * dropped, and the session goes on.
 */
#include <config.h>

#include <arpa/inet.h>

#include "tests/integration/rt_util.h"

#define MAX_BODY (1u << 20)       /* max_body_bytes default */
#define MAX_TRANSFER (2u << 20)   /* max_transfer_bytes default */
#define RECORD_HEADER 20

static uint32_t be32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put_body(struct td_conn *c, size_t len, int32_t opaque)
{
	char line[64];
	char *body = malloc(len);
	int n = snprintf(line, sizeof(line), "put big 0 %zu 0 %d\r\n", len, (int)opaque);

	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + i % 26);
	if (td_send(c->fd, line, (size_t)n) != 0 || td_send(c->fd, body, len) != 0)
		diag("send failed");
	free(body);
}

int main(void)
{
	struct td_daemon d;
	struct td_conn c;
	char req[96];

	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	is(td_stat(d.port, "config", "max_body_bytes"), MAX_BODY, "max_body_bytes default 1 MiB");
	is(td_stat(d.port, "config", "max_transfer_bytes"), MAX_TRANSFER,
	   "max_transfer_bytes default 2 MiB: at least max_body_bytes + 20");

	td_conn_init(&c, td_connect(d.port));
	put_body(&c, MAX_BODY, 1);
	ok(td_read_msg(&c, RT_HANG_MS) == 1 && c.msg.code == 200 && c.msg.opaque == 1,
	   "a put of exactly max_body_bytes: 200");
	int n = snprintf(req, sizeof(req), "get big g 0 0 %u 2\r\n", MAX_TRANSFER);
	ok(td_roundtrip(&c, req, (size_t)n, RT_HANG_MS) == 1 && c.msg.cmd == PMQ_CMD_VALUE &&
	   c.msg.opaque == 2, "one get with MAXSIZE max_transfer_bytes: a value");
	is(c.msg.body.len, MAX_BODY + RECORD_HEADER, "  the whole record, header included");
	ok(c.msg.body.len >= RECORD_HEADER && be32(c.msg.body.ptr) == MAX_BODY &&
	   c.msg.body.ptr[RECORD_HEADER] == 'a' &&
	   c.msg.body.ptr[c.msg.body.len - 1] == (char)('a' + (MAX_BODY - 1) % 26),
	   "  its length field and payload are the message's");

	put_body(&c, MAX_BODY + 1, 3);
	ok(td_read_msg(&c, RT_HANG_MS) == 1 && c.msg.code == 400 && c.msg.opaque == 3 &&
	   rt_body_has(&c.msg, "exceeds max_body_bytes"), "one byte more: 400");
	ok(td_roundtrip(&c, "version 4\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 4, "  its body dropped, the session goes on");
	td_conn_free(&c);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
