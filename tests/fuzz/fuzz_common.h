/*
 * fuzz_common.h - what both libFuzzer targets check on every input.
 *
 * The input is decoded as a stream (message after message, as a session
 * would), whole and then split at a point taken from the input itself.
 * Invariants: consumed <= len; every view lies inside the buffer; a RESYNC
 * consumes at least one byte; NEED_MORE and CLOSE consume nothing; an
 * error text is one NUL-terminated line; an OK message re-encodes to bytes
 * that decode to the same fields; splitting never changes the result.
 */
#ifndef PMQ_FUZZ_COMMON_H
#define PMQ_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/protocol.h"
#include "tests/unit/test_protocol_util.h"

#define FUZZ_CHECK(cond) do { if (!(cond)) { fuzz_fail(#cond, __LINE__); } } while (0)

static void fuzz_fail(const char *what, int line)
{
	fprintf(stderr, "invariant broken at line %d: %s\n", line, what);
	abort();
}

static void fuzz_view_inside(struct pmq_view v, const char *buf, size_t len)
{
	if (v.ptr != NULL)
		FUZZ_CHECK(v.ptr >= buf && v.len <= len && v.ptr + v.len <= buf + len);
}

static void fuzz_views_inside(const struct pmq_msg *m, const char *buf, size_t len)
{
	const struct pmq_view views[] = { m->topic, m->group, m->txkey, m->body, m->item,
		m->session_id, m->unique_qualifier, m->debug_verb, m->debug_pool, m->client_id };
	for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		fuzz_view_inside(views[i], buf, len);
}

/* Re-encoding an OK message decodes to the same fields. */
static void fuzz_reencode(bool response, const struct pmq_msg *m)
{
	static char out[2 * PMQ_MAX_LINE_BYTES_DEFAULT + (64 << 10)];
	struct pmq_limits lim = { sizeof(out), sizeof(out) };
	struct pmq_msg back;
	struct pmq_decode_error err;
	size_t used, n = pmq_encode(out, sizeof(out), m);

	FUZZ_CHECK(n > 0);
	if (n > sizeof(out))
		return;
	enum pmq_decode_status st = response ?
		pmq_decode_response(&lim, out, n, &back, &used, &err) :
		pmq_decode_request(&lim, out, n, &back, &used, &err);
	if (st != PMQ_DECODE_OK)
		fprintf(stderr, "re-encoded '%.*s': %s\n", (int)n, out, err.text);
	FUZZ_CHECK(st == PMQ_DECODE_OK && used == n && msg_same(&back, m));
}

/* The first \r\n in buf, or NULL. */
static const char *fuzz_find_crlf(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			return buf + i;
	return NULL;
}

/* One decode step with every per-call invariant checked. */
static enum pmq_decode_status fuzz_step(bool response, const struct pmq_limits *lim,
                                        const char *buf, size_t len, struct pmq_msg *m,
                                        size_t *used, struct pmq_decode_error *err)
{
	*used = (size_t)-1;
	enum pmq_decode_status st = response ?
		pmq_decode_response(lim, buf, len, m, used, err) :
		pmq_decode_request(lim, buf, len, m, used, err);
	FUZZ_CHECK(*used <= len);
	if (st == PMQ_DECODE_OK) {
		FUZZ_CHECK(*used > 0 && m->cmd != PMQ_CMD_NONE);
		fuzz_views_inside(m, buf, len);
	} else if (st == PMQ_DECODE_NEED_MORE) {
		FUZZ_CHECK(*used == 0);
	} else {
		FUZZ_CHECK(err->code == 400 && memchr(err->text, '\0', sizeof(err->text)));
		FUZZ_CHECK(strpbrk(err->text, "\r\n") == NULL);
		FUZZ_CHECK(err->action != PMQ_ERR_RESYNC || *used > 0);
		FUZZ_CHECK(err->action == PMQ_ERR_RESYNC || err->skip == 0);
		FUZZ_CHECK(err->action != PMQ_ERR_SKIP_LINE || *used == 0);
	}
	return st;
}

/* Decodes the stream message after message, folding every step that used
 * bytes into *h; returns the bytes used, the last status in *last. */
static size_t fuzz_stream(bool response, const struct pmq_limits *lim, const char *buf,
                          size_t len, uint64_t *h, enum pmq_decode_status *last, bool reencode)
{
	size_t off = 0, used;
	struct pmq_msg m;
	struct pmq_decode_error err;

	for (;;) {
		enum pmq_decode_status st = fuzz_step(response, lim, buf + off, len - off, &m,
		                                      &used, &err);
		*last = st;
		if (st == PMQ_DECODE_NEED_MORE ||
		    (st == PMQ_DECODE_ERROR && err.action == PMQ_ERR_CLOSE))
			return off;
		/* What the caller drops after the step: a refused body, or the
		 * rest of an over-long line. A step is counted only once all of
		 * it is there, so a split run repeats an unfinished one. */
		size_t extra = 0;
		if (st == PMQ_DECODE_ERROR && err.action == PMQ_ERR_RESYNC) {
			if (err.skip > len - off - used)
				return off;
			extra = err.skip;
		} else if (st == PMQ_DECODE_ERROR) {
			const char *end = fuzz_find_crlf(buf + off, len - off);
			if (!end)
				return off;
			extra = (size_t)(end + 2 - (buf + off));
		}
		int32_t op = st == PMQ_DECODE_OK ? m.opaque : err.opaque;
		*h = (*h ^ (uint64_t)st ^ ((uint64_t)used << 8) ^ ((uint64_t)(uint32_t)op << 32) ^
		      (uint64_t)m.cmd) * 1099511628211ULL;
		if (st == PMQ_DECODE_OK && reencode)
			fuzz_reencode(response, &m);
		off += used + extra;
	}
}

/* Whole, then split: a reader that got only the first `cut` bytes decodes
 * a prefix of the same messages, then the rest, and ends where the whole
 * run ended, having seen the same steps. */
static int fuzz_one(bool response, const uint8_t *data, size_t size)
{
	const struct pmq_limits small = { 64, 256 };
	const struct pmq_limits *lim = size > 0 && (data[0] & 1) ? &small : &pmq_limits_default;
	char *buf = malloc(size + 1);
	uint64_t whole = 1, split = 1;
	enum pmq_decode_status wlast, slast;

	memcpy(buf, data, size); /* an exact-size heap copy: ASan sees overreads */
	size_t used = fuzz_stream(response, lim, buf, size, &whole, &wlast, true);
	size_t cut = size > 1 ? (size_t)data[size - 1] * 7919u % size : 0;
	size_t first = fuzz_stream(response, lim, buf, cut, &split, &slast, false);
	FUZZ_CHECK(first <= used);
	size_t rest = fuzz_stream(response, lim, buf + first, size - first, &split, &slast, false);
	FUZZ_CHECK(first + rest == used && split == whole && slast == wlast);
	free(buf);
	return 0;
}

#endif
