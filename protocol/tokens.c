/* tokens.c - splitting a line into token views, strict numbers, error text. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#include "protocol/codec.h"

static void tokens_add(struct codec_tokens *t, const char *p, size_t len)
{
	struct pmq_view v = { p, len };

	if (t->n < PMQ_MAX_TOKENS)
		t->v[t->n] = v;
	if (len == 0 && t->first_empty == CODEC_NO_INDEX)
		t->first_empty = t->n;
	t->last = v;
	t->n++;
}

void codec_tokenize(const char *line, size_t len, struct codec_tokens *t)
{
	size_t start = 0;

	t->n = 0;
	t->first_empty = CODEC_NO_INDEX;
	t->bad_char = -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == ' ') {
			tokens_add(t, line + start, i - start);
			start = i + 1;
		} else if ((c < 0x20 || c == 0x7f) && t->bad_char < 0) {
			t->bad_char = c;
		}
	}
	tokens_add(t, line + start, len - start);
}

enum codec_num codec_parse_i64(struct pmq_view v, int64_t min, int64_t max, int64_t *out)
{
	const char *p = v.ptr, *end = v.ptr + v.len;
	bool neg = p < end && *p == '-';
	/* magnitude limit: |min| for negatives (2^63 fits in uint64_t) */
	uint64_t limit = !neg ? (uint64_t)max : min >= 0 ? 0 : (uint64_t)(-(min + 1)) + 1;
	uint64_t acc = 0;
	bool range = false;

	if (neg)
		p++;
	if (p == end)
		return CODEC_NUM_BAD;
	for (; p < end; p++) {
		unsigned d = (unsigned)(unsigned char)*p - '0';
		if (d > 9)
			return CODEC_NUM_BAD;
		if (range || acc > limit / 10 || (acc == limit / 10 && d > limit % 10))
			range = true; /* keep scanning: junk later is still BAD */
		else
			acc = acc * 10 + d;
	}
	if (range)
		return CODEC_NUM_RANGE;
	*out = neg ? (acc == 0 ? 0 : -(int64_t)(acc - 1) - 1) : (int64_t)acc;
	return CODEC_NUM_OK;
}

enum codec_num codec_parse_i32(struct pmq_view v, int32_t *out)
{
	int64_t x;
	enum codec_num r = codec_parse_i64(v, INT32_MIN, INT32_MAX, &x);

	if (r == CODEC_NUM_OK)
		*out = (int32_t)x;
	return r;
}

bool codec_all_digits(struct pmq_view v)
{
	if (v.len == 0)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (v.ptr[i] < '0' || v.ptr[i] > '9')
			return false;
	return true;
}

int codec_fail(struct pmq_decode_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* Error lines are read by people and must stay one line: replace what is not
 * printable ASCII and cut long tokens. */
void codec_quote(struct pmq_view v, char *out, size_t cap)
{
	size_t n = 0, max = cap - 4;

	for (size_t i = 0; i < v.len && n < max; i++) {
		unsigned char c = (unsigned char)v.ptr[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (v.len > max) {
		out[n++] = '.';
		out[n++] = '.';
		out[n++] = '.';
	}
	out[n] = '\0';
}

static int number_fail(enum codec_num r, struct pmq_view v, const char *what,
                       struct pmq_decode_error *err)
{
	char q[CODEC_QUOTE_BYTES];

	codec_quote(v, q, sizeof(q));
	if (r == CODEC_NUM_RANGE)
		return codec_fail(err, "%s '%s' is out of range", what, q);
	return codec_fail(err, "%s '%s' is not a number", what, q);
}

int codec_i32_field(struct pmq_view v, const char *what, int32_t *out,
                    struct pmq_decode_error *err)
{
	enum codec_num r = codec_parse_i32(v, out);

	return r == CODEC_NUM_OK ? 0 : number_fail(r, v, what, err);
}

int codec_i64_field(struct pmq_view v, const char *what, int64_t *out,
                    struct pmq_decode_error *err)
{
	enum codec_num r = codec_parse_i64(v, INT64_MIN, INT64_MAX, out);

	return r == CODEC_NUM_OK ? 0 : number_fail(r, v, what, err);
}

int codec_name_field(struct pmq_view v, const char *what, struct pmq_view *out,
                     struct pmq_decode_error *err)
{
	if (!pmq_topic_valid(v.ptr, v.len))
		return codec_fail(err, "invalid %s name", what);
	*out = v;
	return 0;
}

int codec_count(const struct codec_tokens *t, const char *cmd, size_t lo,
                size_t hi, struct pmq_decode_error *err)
{
	if (t->n >= lo && t->n <= hi)
		return 0;
	if (lo == hi)
		return codec_fail(err, "%s expects %zu token%s, got %zu", cmd, lo,
		                  lo == 1 ? "" : "s", t->n);
	if (hi == lo + 1)
		return codec_fail(err, "%s expects %zu or %zu tokens, got %zu", cmd,
		                  lo, hi, t->n);
	return codec_fail(err, "%s expects %zu to %zu tokens, got %zu", cmd, lo,
	                  hi, t->n);
}
