/*
 * reg_util.h - helpers of the registration tests (heartbeat, members,
 * notify) over td_conn. Header-only, each test stays one program.
 */
#ifndef PMQ_REG_UTIL_H
#define PMQ_REG_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define REG_T_MS 10000 /* only guards against hangs */

/* A connection with the notifies it has seen. */
struct reg_conn {
	struct td_conn c;
	unsigned notifies;
	uint64_t last_gen;
};

static inline int reg_open(struct reg_conn *r, int port)
{
	int fd = td_connect(port);

	memset(r, 0, sizeof *r);
	if (fd < 0)
		return -1;
	td_conn_init(&r->c, fd);
	return 0;
}

static inline void reg_close(struct reg_conn *r)
{
	td_conn_free(&r->c);
}

/* The next message; notifies are counted and, unless want_notify, skipped.
 * 1 got one (in r->c.msg), 0 closed, -1 timeout. */
static inline int reg_read(struct reg_conn *r, bool want_notify, int timeout_ms)
{
	for (;;) {
		int rc = td_read_msg(&r->c, timeout_ms);
		if (rc != 1)
			return rc;
		if (r->c.msg.cmd != PMQ_CMD_NOTIFY)
			return 1;
		r->notifies++;
		r->last_gen = r->c.msg.generation;
		if (want_notify)
			return 1;
	}
}

/* Sends `heartbeat ID LEN OP` + body and reads its result: the code, or -1. */
static inline int reg_heartbeat(struct reg_conn *r, const char *id, const char *body, int op)
{
	size_t len = body ? strlen(body) : 0;

	if (td_sendf(r->c.fd, "heartbeat %s %zu %d\r\n%s", id, len, op, body ? body : "") != 0 ||
	    reg_read(r, false, REG_T_MS) != 1 || r->c.msg.cmd != PMQ_CMD_RESULT)
		return -1;
	return r->c.msg.code;
}

/* Sends a line and reads the result: the code, or -1. */
static inline int reg_request(struct reg_conn *r, const char *line)
{
	if (td_send(r->c.fd, line, strlen(line)) != 0 || reg_read(r, false, REG_T_MS) != 1 ||
	    r->c.msg.cmd != PMQ_CMD_RESULT)
		return -1;
	return r->c.msg.code;
}

/* The last result's body as a string (cut at cap). */
static inline const char *reg_body(const struct reg_conn *r, char *buf, size_t cap)
{
	size_t n = r->c.msg.body.len < cap - 1 ? r->c.msg.body.len : cap - 1;

	memcpy(buf, r->c.msg.body.ptr, n);
	buf[n] = '\0';
	return buf;
}

static inline bool reg_body_is(const struct reg_conn *r, const char *s)
{
	return r->c.msg.body.len == strlen(s) && memcmp(r->c.msg.body.ptr, s, strlen(s)) == 0;
}

/* Reads notifies until one carries generation >= gen: true, or false on
 * timeout or close. */
static inline bool reg_wait_gen(struct reg_conn *r, uint64_t gen, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;

	while (r->last_gen < gen) {
		uint64_t now = td_now_ms();
		if (now >= deadline || reg_read(r, true, (int)(deadline - now)) != 1)
			return false;
	}
	return true;
}

/* `members GROUP` on r: the generation, or 0 (404 or error); members in buf. */
static inline uint64_t reg_members(struct reg_conn *r, const char *group, char *buf, size_t cap)
{
	char line[300];
	unsigned long long gen = 0;

	snprintf(line, sizeof line, "members %s 77\r\n", group);
	buf[0] = '\0';
	if (reg_request(r, line) != 200)
		return 0;
	reg_body(r, buf, cap);
	char *sp = strchr(buf, ' ');
	if (sscanf(buf, "%llu", &gen) != 1 || !sp)
		return 0;
	memmove(buf, sp + 1, strlen(sp + 1) + 1);
	return gen;
}

#endif
