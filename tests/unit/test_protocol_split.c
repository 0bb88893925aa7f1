/* Incremental decoding: every message decodes the same whole, grown one byte
 * at a time, and inside pipelined streams read in chunks of any size. */
#include <config.h>

#include <stdlib.h>

#include "protocol/protocol.h"
#include "tests/tap.h"
#include "tests/unit/test_protocol_util.h"

/* Every proper prefix needs more and consumes nothing; the whole decodes
 * like the reference, with views into the copy being decoded. */
static bool grows_cleanly(const struct sample *s, const struct pmq_msg *want)
{
	char *buf = malloc(s->len + 1);
	struct pmq_msg m;
	struct pmq_decode_error err;
	size_t used = 1;
	bool good = true;

	for (size_t k = 0; k < s->len && good; k++) {
		buf[k] = s->in[k]; /* the bytes past k are not there yet */
		good = dec(s->response, buf, k, &m, &used, &err) == PMQ_DECODE_NEED_MORE &&
		       used == 0;
		if (!good)
			diag("  prefix of %zu bytes did not need more", k);
	}
	buf[s->len - 1] = s->in[s->len - 1];
	good = good && dec(s->response, buf, s->len, &m, &used, &err) == PMQ_DECODE_OK &&
	       used == s->len && msg_same(&m, want) && m.compat_spelling == want->compat_spelling;
	if (good && m.body.ptr != NULL)
		good = m.body.ptr >= buf && m.body.ptr + m.body.len <= buf + s->len;
	free(buf);
	return good;
}

static void test_each(void)
{
	size_t n;
	const struct sample *all = samples(&n);

	for (size_t i = 0; i < n; i++) {
		struct pmq_msg whole;
		struct pmq_decode_error err;
		size_t used;
		const struct sample *s = &all[i];
		int len = (int)strcspn(s->in, "\r");

		ok(dec(s->response, s->in, s->len, &whole, &used, &err) == PMQ_DECODE_OK &&
		   used == s->len, "whole: %.*s", len, s->in);
		ok(grows_cleanly(s, &whole), "  byte at a time and split at every position");
	}
}

/* Reads `stream` into a small buffer `chunk` bytes at a time, as a session
 * would, decoding everything complete after each read and comparing each
 * message with want[] at once (its views die with the memmove). Returns how
 * many matched in order. */
static size_t read_in_chunks(bool response, const char *stream, size_t len, size_t chunk,
                             const struct pmq_msg *want, size_t want_n)
{
	char buf[512];
	size_t have = 0, fed = 0, count = 0;

	while (fed < len) {
		size_t n = len - fed < chunk ? len - fed : chunk, off = 0, used;
		struct pmq_msg m;
		struct pmq_decode_error err;

		memcpy(buf + have, stream + fed, n);
		have += n;
		fed += n;
		while (dec(response, buf + off, have - off, &m, &used, &err) == PMQ_DECODE_OK) {
			if (count >= want_n || !msg_same(&m, &want[count]))
				return count;
			count++;
			off += used;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	return have == 0 ? count : 0;
}

static void test_pipelined(bool response)
{
	size_t n, len = 0, count = 0;
	const struct sample *all = samples(&n);
	char stream[4096];
	struct pmq_msg want[64];
	size_t want_n = 0;

	for (size_t i = 0; i < n; i++) {
		if (all[i].response != response)
			continue;
		memcpy(stream + len, all[i].in, all[i].len);
		len += all[i].len;
		want_n++;
	}
	/* whole stream, in place */
	size_t off = 0, used;
	struct pmq_decode_error err;
	bool good = true;
	for (size_t i = 0; i < n; i++) {
		if (all[i].response != response)
			continue;
		struct pmq_msg ref;
		dec(response, all[i].in, all[i].len, &ref, &used, &err);
		good = good && dec(response, stream + off, len - off, &want[count], &used, &err) ==
		               PMQ_DECODE_OK && msg_same(&want[count], &ref);
		off += used;
		count++;
	}
	ok(good && off == len && count == want_n, "%s stream: %zu messages in order",
	   response ? "response" : "request", want_n);

	static const size_t chunks[] = { 1, 2, 3, 7, 13, 64, 200 };
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++)
		is(read_in_chunks(response, stream, len, chunks[c], want, want_n), want_n,
		   "  read %zu bytes at a time: same messages in order", chunks[c]);
}

/* A malformed message, too, gives the same answer at every split: once its
 * line is complete (a refused body is not waited for: it is dropped unread),
 * never earlier. */
static void test_error_split(void)
{
	static const struct sample bad[] = {
		{ S("put ../x 0 5 0 1\r\nhello"), false },
		{ S("put t 0 -1 0 1\r\n"), false },
		{ S("get t g 0 0 5  1\r\n"), false },
		{ S("xyz 1\r\n"), false },
		{ S("put a b 0 5 0 1 -5\r\nhello"), false },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pmq_msg m;
		struct pmq_decode_error whole, err;
		size_t wused, used;
		const struct sample *s = &bad[i];
		size_t line = strstr(s->in, "\r\n") + 2 - s->in;
		bool good = dec(false, s->in, s->len, &m, &wused, &whole) == PMQ_DECODE_ERROR;
		for (size_t k = 0; k <= s->len && good; k++) {
			enum pmq_decode_status st = dec(false, s->in, k, &m, &used, &err);
			if (k < line)
				good = st == PMQ_DECODE_NEED_MORE && used == 0;
			else
				good = st == PMQ_DECODE_ERROR && used == wused &&
				       err.action == whole.action && err.skip == whole.skip &&
				       strcmp(err.text, whole.text) == 0;
		}
		ok(good, "error '%.*s' once its line is complete, never earlier",
		   (int)strcspn(s->in, "\r"), s->in);
	}
}

int main(void)
{
	test_each();
	test_pipelined(false);
	test_pipelined(true);
	test_error_split();
	return done_testing();
}
