/*
 * rt_util.h - helpers shared by the runtime's integration tests
 * (test_runtime_*.c): timing margins under sanitizers, a bulk response
 * reader, and the daemon's RSS.
 */
#ifndef PMQ_RT_UTIL_H
#define PMQ_RT_UTIL_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "protocol/protocol.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif

/* Sanitizer builds run 5-15x slower: timing assertions get a larger, stated
 * margin there. Compile-time detection (the tests are built with the same
 * -fsanitize flags as the daemon); PMQ_SLOW_TESTS=1 forces it. */
static inline int rt_sanitized(void)
{
	const char *e = getenv("PMQ_SLOW_TESTS");
	if (e && *e == '1')
		return 1;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(PMQ_TSAN) || \
	__has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	return 1;
#else
	return 0;
#endif
}

/* Deadline that only guards against hangs. */
#define RT_HANG_MS 15000

/* A response reader that never moves more bytes than one message: the
 * buffer is consumed by an offset and compacted only when it is full. */
struct rt_reader {
	int fd;
	char *buf;
	size_t off, len, cap;
	int eof;
};

static inline void rt_reader_init(struct rt_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = 1 << 20;
	r->buf = malloc(r->cap);
}

static inline void rt_reader_free(struct rt_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* One recv (non-blocking if nb): 1 bytes came, 0 EOF, -1 nothing/error. */
static inline int rt_reader_fill(struct rt_reader *r, int nb)
{
	if (r->off > 0 && (r->len == r->cap || r->off > r->cap / 2)) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (r->len == r->cap) {
		char *nbuf = realloc(r->buf, r->cap * 2);
		if (!nbuf)
			return -1;
		r->buf = nbuf;
		r->cap *= 2;
	}
	ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len, nb ? MSG_DONTWAIT : 0);
	if (n > 0) {
		r->len += (size_t)n;
		return 1;
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	return -1;
}

/* Next whole response already buffered: 1 (m filled, views into the
 * buffer until the next fill), 0 need more, -1 undecodable. */
static inline int rt_reader_next(struct rt_reader *r, struct pmq_msg *m)
{
	static const struct pmq_limits lim = { 1 << 16, 64u << 20 };
	struct pmq_decode_error err;
	size_t used = 0;

	if (r->len == r->off)
		return 0;
	enum pmq_decode_status st = pmq_decode_response(&lim, r->buf + r->off,
	                                                r->len - r->off, m, &used, &err);
	if (st == PMQ_DECODE_NEED_MORE)
		return 0;
	if (st == PMQ_DECODE_ERROR) {
		diag("undecodable response: %s", err.text);
		return -1;
	}
	r->off += used;
	return 1;
}

/* Blocking: waits up to timeout_ms for the next response. 1, 0 (EOF), -1. */
static inline int rt_reader_wait(struct rt_reader *r, struct pmq_msg *m, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int rc = rt_reader_next(r, m);
		if (rc != 0)
			return rc;
		if (r->eof)
			return 0;
		uint64_t now = td_now_ms();
		if (now >= deadline)
			return -1;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		if (rt_reader_fill(r, 1) < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
}

static inline int rt_body_is(const struct pmq_msg *m, const char *s)
{
	size_t n = strlen(s);
	return m->body.len == n && memcmp(m->body.ptr, s, n) == 0;
}

static inline int rt_body_has(const struct pmq_msg *m, const char *s)
{
	size_t n = strlen(s);
	if (m->body.len < n)
		return 0;
	for (size_t i = 0; i + n <= m->body.len; i++)
		if (memcmp(m->body.ptr + i, s, n) == 0)
			return 1;
	return 0;
}

/* VmRSS of pid in KiB, or -1. */
static inline long rt_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Polls `stats ITEM` until key == want (or the deadline); returns the last value. */
static inline long long rt_stat_wait(int port, const char *item, const char *key,
                                     long long want, int timeout_ms)
{
	uint64_t deadline = td_now_ms() + (uint64_t)timeout_ms;
	long long v;
	for (;;) {
		v = td_stat(port, item, key);
		if (v == want || td_now_ms() >= deadline)
			return v;
		poll(NULL, 0, 5);
	}
}

#endif
