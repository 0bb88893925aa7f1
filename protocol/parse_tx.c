/* parse_tx.c - transaction commands and transaction keys. */
#include <config.h>

#include <string.h>

#include "protocol/codec.h"

static bool hex_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		      (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Splits v at its next ':' into *field; false when there is none. */
static bool next_field(struct pmq_view *rest, struct pmq_view *field)
{
	const char *colon = memchr(rest->ptr, ':', rest->len);

	if (colon == NULL)
		return false;
	field->ptr = rest->ptr;
	field->len = (size_t)(colon - rest->ptr);
	rest->ptr = colon + 1;
	rest->len -= field->len + 1;
	return true;
}

/* TX:<session>:<n>, exactly three ':' fields as MetaQ's LocalTransactionId
 * splits it, with <n> read by Integer.parseInt: an int32. */
static bool local_key_valid(struct pmq_view rest)
{
	const char *colon = memchr(rest.ptr, ':', rest.len);

	if (colon == NULL || colon == rest.ptr) /* no ':' or an empty session */
		return false;
	struct pmq_view n = { colon + 1, rest.len - (size_t)(colon + 1 - rest.ptr) };
	int32_t x;
	return memchr(n.ptr, ':', n.len) == NULL && codec_parse_i32(n, &x) == CODEC_NUM_OK;
}

/* XID:<formatId>:<hex gtrid>:<hex bqual>:<uq>; bqual may be empty (XA
 * allows it), the rest may not; uq is whatever is left. */
static bool xa_key_valid(struct pmq_view rest)
{
	struct pmq_view fmt, gtrid, bqual;
	int32_t x;

	if (!next_field(&rest, &fmt) || !next_field(&rest, &gtrid) ||
	    !next_field(&rest, &bqual))
		return false;
	return codec_parse_i32(fmt, &x) == CODEC_NUM_OK && gtrid.len > 0 &&
	       hex_digits(gtrid.ptr, gtrid.len) && hex_digits(bqual.ptr, bqual.len) &&
	       rest.len > 0;
}

bool codec_txkey_valid(struct pmq_view v)
{
	if (v.len > 3 && memcmp(v.ptr, "TX:", 3) == 0)
		return local_key_valid((struct pmq_view){ v.ptr + 3, v.len - 3 });
	if (v.len > 4 && memcmp(v.ptr, "XID:", 4) == 0)
		return xa_key_valid((struct pmq_view){ v.ptr + 4, v.len - 4 });
	return false;
}

/* The optional tokens: 6 tokens = TIMEOUT when all digits, else
 * UNIQUEQUALIFIER; 7 tokens = both. TIMEOUT is digits only (never negative),
 * so a decoded message encodes back to tokens that decode the same way. */
static int parse_tx_options(const struct codec_tokens *t, struct pmq_msg *m,
                            struct pmq_decode_error *err)
{
	struct pmq_view v4 = t->v[4];
	char q[CODEC_QUOTE_BYTES];

	if (t->n == 5)
		return 0;
	if (t->n == 6 && !codec_all_digits(v4)) {
		m->unique_qualifier = v4;
		return 0;
	}
	if (!codec_all_digits(v4)) {
		codec_quote(v4, q, sizeof(q));
		return codec_fail(err, "transaction timeout '%s' is not a number", q);
	}
	if (codec_i32_field(v4, "transaction timeout", &m->tx_timeout, err))
		return -1;
	m->has_tx_timeout = true;
	if (t->n == 7)
		m->unique_qualifier = t->v[5];
	return 0;
}

/* transaction TXKEY SESSIONID TYPE [TIMEOUT] [UNIQUEQUALIFIER] OPAQUE */
int codec_parse_transaction(const struct codec_tokens *t, struct pmq_msg *m,
                            struct pmq_decode_error *err)
{
	char q[CODEC_QUOTE_BYTES];

	if (codec_count(t, "transaction", 5, 7, err))
		return -1;
	/* `null`: MetaQ's NullTransactionId, the key RECOVER (and FORGET) send */
	bool null_key = t->v[1].len == 4 && memcmp(t->v[1].ptr, "null", 4) == 0;
	if (!null_key && !codec_txkey_valid(t->v[1])) {
		codec_quote(t->v[1], q, sizeof(q));
		return codec_fail(err, "invalid transaction key '%s'", q);
	}
	m->txkey = t->v[1];
	m->session_id = t->v[2];
	m->tx_type = codec_tx_type_parse(t->v[3]);
	if (m->tx_type == PMQ_TX_NONE) {
		codec_quote(t->v[3], q, sizeof(q));
		return codec_fail(err, "unknown transaction type '%s'", q);
	}
	if (parse_tx_options(t, m, err))
		return -1;
	return codec_i32_field(t->v[t->n - 1], "opaque", &m->opaque, err);
}
