/*
 * tx_util.h - exact-byte exchanges with the real pulsemqd for the
 * transaction tests: request bytes in, answer bytes out, compared whole.
 */
#ifndef PMQ_TEST_TX_UTIL_H
#define PMQ_TEST_TX_UTIL_H

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol/protocol.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define TX_T_MS 10000 /* guards against hangs only */

/* Reads exactly n bytes within timeout_ms: n, or fewer on EOF/timeout. */
static inline size_t tx_read_n(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	uint64_t end = td_now_ms() + (uint64_t)timeout_ms;
	while (got < n) {
		uint64_t now = td_now_ms();
		if (now >= end)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(end - now)) <= 0)
			continue;
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Sends req (len bytes) and checks the next answer bytes are want. */
static inline bool tx_xchg(int fd, const char *req, size_t len, const char *want, const char *name)
{
	size_t wl = strlen(want);
	char *got = malloc(wl + 1);
	if (td_send(fd, req, len) != 0) {
		free(got);
		return ok(0, "%s: send", name);
	}
	size_t n = tx_read_n(fd, got, wl, TX_T_MS);
	bool pass = n == wl && memcmp(got, want, wl) == 0;
	is_mem(got, n, want, wl, "%s", name);
	free(got);
	return pass;
}

static inline bool tx_xchg_s(int fd, const char *req, const char *want, const char *name)
{
	return tx_xchg(fd, req, strlen(req), want, name);
}

/* Nothing more arrives within ms (END is never answered). */
static inline bool tx_quiet(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, ms) == 0;
}

/* One `result` answer: code, body (NUL-terminated in body, cap bytes). */
static inline int tx_read_result(int fd, int *code, char *body, size_t cap, int32_t *opaque)
{
	char line[256];
	size_t n = 0;
	while (n + 1 < sizeof line) {
		if (tx_read_n(fd, line + n, 1, TX_T_MS) != 1)
			return -1;
		n++;
		if (n >= 2 && line[n - 2] == '\r' && line[n - 1] == '\n')
			break;
	}
	line[n] = '\0';
	long len;
	if (sscanf(line, "result %d %ld %" SCNd32, code, &len, opaque) != 3 || len < 0 ||
	    (size_t)len >= cap)
		return -1;
	if (tx_read_n(fd, body, (size_t)len, TX_T_MS) != (size_t)len)
		return -1;
	body[len] = '\0';
	return 0;
}

/* put TOPIC PART LEN 0 CRC TXKEY OPAQUE\r\nbody, as the MetaQ client. */
static inline int tx_put_line(char *buf, size_t cap, const char *topic, int part, const char *body,
                       const char *key, int32_t opaque)
{
	size_t bl = strlen(body);
	int n = snprintf(buf, cap, "put %s %d %zu 0 %" PRId32 " %s %" PRId32 "\r\n%s", topic,
	                 part, bl, pmq_checksum(body, bl), key, opaque, body);
	return n;
}

/* Sends a transactional put and reads its answer: 200 with "<id> P -1"
 * gives the msgId, anything else -1 (code in *code, body in err). */
static inline int64_t tx_put(int fd, const char *topic, int part, const char *body, const char *key,
                      int32_t opaque, int *code, char *err, size_t errcap)
{
	size_t cap = strlen(body) + strlen(key) + strlen(topic) + 128;
	char *buf = malloc(cap), ans[1024];
	int32_t op;
	int c;
	int n = tx_put_line(buf, cap, topic, part, body, key, opaque);
	int rc = td_send(fd, buf, (size_t)n);
	free(buf);
	if (rc != 0 || tx_read_result(fd, &c, ans, sizeof ans, &op) != 0)
		return -1;
	if (code)
		*code = c;
	if (err)
		snprintf(err, errcap, "%.*s", (int)(errcap > 1 ? errcap - 1 : 0), ans);
	long long id;
	int p;
	char tail[8];
	if (c != 200 || op != opaque || sscanf(ans, "%lld %d %7s", &id, &p, tail) != 3 ||
	    p != part || strcmp(tail, "-1") != 0)
		return -1;
	return id;
}

/* The msgIds of the records in partition TOPIC-P from offset 0 (one get of
 * up to 1 MiB): how many, into ids (cap). -1 on a bad answer. */
static inline int tx_read_ids(int port, const char *topic, int part, int64_t *ids, int cap)
{
	struct td_conn c;
	char req[256];
	int fd = td_connect(port), count = -1;
	if (fd < 0)
		return -1;
	td_conn_init(&c, fd);
	int n = snprintf(req, sizeof req, "get %s g 0 0 1048576 1\r\n", topic);
	(void)part;
	n = snprintf(req, sizeof req, "get %s g %d 0 1048576 1\r\n", topic, part);
	if (td_roundtrip(&c, req, (size_t)n, TX_T_MS) == 1) {
		if (c.msg.cmd == PMQ_CMD_RESULT && c.msg.code == 404) {
			count = 0;
		} else if (c.msg.cmd == PMQ_CMD_VALUE) {
			const unsigned char *b = (const unsigned char *)c.msg.body.ptr;
			size_t len = c.msg.body.len, at = 0;
			count = 0;
			while (at + 20 <= len) {
				uint32_t rl = (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 |
				              (uint32_t)b[at + 2] << 8 | b[at + 3];
				int64_t id = 0;
				for (int k = 0; k < 8; k++)
					id = id << 8 | b[at + 8 + k];
				if (at + 20 + rl > len)
					break;
				if (count < cap)
					ids[count] = id;
				count++;
				at += 20 + rl;
			}
		}
	}
	td_conn_free(&c);
	return count;
}

/* Polls `stats transactions` until key == want or the deadline passes. */
static inline bool tx_wait_stat(int port, const char *key, long long want, int timeout_ms)
{
	uint64_t end = td_now_ms() + (uint64_t)timeout_ms;
	do {
		if (td_stat(port, "transactions", key) == want)
			return true;
		struct pollfd none;
		poll(&none, 0, 20);
	} while (td_now_ms() < end);
	return false;
}

#endif
