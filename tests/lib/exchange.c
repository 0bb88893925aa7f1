/*
 * exchange.c - frames with computed lengths, sent and expected byte for
 * byte (exchange.h).
 */
#include <config.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/exchange.h"
#include "tests/tap.h"

#define TD_BODIES_PER_LINE 8  /* a protocol line has one; pipelines use more lines */
#define TD_SPEC_MAX 32        /* one conversion, "%-08.3lld" and the like */
#define TD_DIAG_BYTES 60      /* bytes shown either side of a difference */

static int frame_put(struct td_frame *f, const void *p, size_t n)
{
	if (f->cap - f->len < n + 1) {
		size_t cap = f->cap ? f->cap : 256;
		while (cap - f->len < n + 1)
			cap *= 2;
		char *np = realloc(f->p, cap);
		if (!np) {
			diag("td_frame: out of memory for %zu bytes", cap);
			return -1;
		}
		f->p = np;
		f->cap = cap;
	}
	memcpy(f->p + f->len, p, n);
	f->len += n;
	f->p[f->len] = '\0';
	return 0;
}

struct body {
	const void *p;
	size_t len;
};

/* One printf conversion with its single argument, taken from ap by the
 * type its length modifier and conversion name. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static int frame_conv(struct td_frame *f, const char *spec, const char *mod, char conv,
                      va_list *ap)
{
	char out[512];
	int n;

	switch (conv) {
	case 'd':
	case 'i':
		if (!strcmp(mod, "ll"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, long long));
		else if (!strcmp(mod, "l"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, long));
		else if (!strcmp(mod, "z") || !strcmp(mod, "t"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, ptrdiff_t));
		else if (!strcmp(mod, "j"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, intmax_t));
		else
			n = snprintf(out, sizeof out, spec, va_arg(*ap, int));
		break;
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		if (!strcmp(mod, "ll"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, unsigned long long));
		else if (!strcmp(mod, "l"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, unsigned long));
		else if (!strcmp(mod, "z") || !strcmp(mod, "t"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, size_t));
		else if (!strcmp(mod, "j"))
			n = snprintf(out, sizeof out, spec, va_arg(*ap, uintmax_t));
		else
			n = snprintf(out, sizeof out, spec, va_arg(*ap, unsigned));
		break;
	case 'c':
		n = snprintf(out, sizeof out, spec, va_arg(*ap, int));
		break;
	case 'p':
		n = snprintf(out, sizeof out, spec, va_arg(*ap, void *));
		break;
	case 's': {
		/* A string may be longer than out: copy it whole unless the
		 * spec has a width or precision. */
		const char *s = va_arg(*ap, const char *);
		if (!strcmp(spec, "%s"))
			return frame_put(f, s, strlen(s));
		n = snprintf(out, sizeof out, spec, s);
		break;
	}
	default:
		diag("td_frame: unsupported conversion '%s'", spec);
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof out) {
		diag("td_frame: conversion '%s' failed or too long", spec);
		return -1;
	}
	return frame_put(f, out, (size_t)n);
}
#pragma GCC diagnostic pop

/* Reads one conversion after its '%' at *pp into spec/mod/conv. */
static int parse_spec(const char **pp, char spec[TD_SPEC_MAX], char mod[3], char *conv)
{
	const char *p = *pp, *start = p - 1;
	size_t m = 0;

	while (*p && strchr("-+ #0", *p))
		p++;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	while (*p && strchr("hlzjt", *p) && m < 2)
		mod[m++] = *p++;
	mod[m] = '\0';
	if (!*p || (size_t)(p + 1 - start) >= TD_SPEC_MAX) {
		diag("td_frame: bad conversion at '%s'", start);
		return -1;
	}
	*conv = *p++;
	memcpy(spec, start, (size_t)(p - start));
	spec[p - start] = '\0';
	*pp = p;
	return 0;
}

static int flush_bodies(struct td_frame *f, struct body *b, size_t *nb)
{
	for (size_t i = 0; i < *nb; i++)
		if (frame_put(f, b[i].p, b[i].len) != 0)
			return -1;
	*nb = 0;
	return 0;
}

int td_vframe(struct td_frame *f, const char *fmt, va_list *ap)
{
	struct body bodies[TD_BODIES_PER_LINE];
	size_t nb = 0;
	const char *p = fmt;

	memset(f, 0, sizeof *f);
	if (frame_put(f, "", 0) != 0)
		return -1;
	while (*p) {
		if (*p != '%') {
			if (frame_put(f, p, 1) != 0)
				return -1;
			if (*p++ == '\n' && flush_bodies(f, bodies, &nb) != 0)
				return -1;
			continue;
		}
		p++;
		if (*p == '%') {
			p++;
			if (frame_put(f, "%", 1) != 0)
				return -1;
			continue;
		}
		if (*p == 'b' || *p == 'B') {
			struct body b;
			if (*p++ == 'b') {
				b.p = va_arg(*ap, const void *);
				b.len = va_arg(*ap, size_t);
			} else {
				b.p = va_arg(*ap, const char *);
				b.len = strlen(b.p);
			}
			if (nb == TD_BODIES_PER_LINE) {
				diag("td_frame: more than %d bodies on one line", TD_BODIES_PER_LINE);
				return -1;
			}
			bodies[nb++] = b;
			char len[24];
			int n = snprintf(len, sizeof len, "%zu", b.len);
			if (frame_put(f, len, (size_t)n) != 0)
				return -1;
			continue;
		}
		char spec[TD_SPEC_MAX], mod[3], conv;
		if (parse_spec(&p, spec, mod, &conv) != 0 || frame_conv(f, spec, mod, conv, ap) != 0)
			return -1;
	}
	/* A last line without its newline still carries its bodies. */
	return flush_bodies(f, bodies, &nb);
}

int td_frame(struct td_frame *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = td_vframe(f, fmt, &ap);
	va_end(ap);
	return rc;
}

void td_frame_free(struct td_frame *f)
{
	free(f->p);
	memset(f, 0, sizeof *f);
}

static int sendv(struct td_conn *c, const char *fmt, va_list *ap)
{
	struct td_frame f;
	int rc = td_vframe(&f, fmt, ap);
	if (rc == 0 && td_send(c->fd, f.p, f.len) != 0) {
		diag("td_sendx: send failed");
		rc = -1;
	}
	td_frame_free(&f);
	return rc;
}

int td_sendx(struct td_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = sendv(c, fmt, &ap);
	va_end(ap);
	return rc;
}

/* Bytes as a C string literal would spell them, for diagnostics. */
static void quote(char *out, size_t cap, const char *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch == '\r')
			o += (size_t)snprintf(out + o, cap - o, "\\r");
		else if (ch == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (ch == '\\' || ch == '"')
			o += (size_t)snprintf(out + o, cap - o, "\\%c", ch);
		else if (isprint(ch))
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static void diag_difference(const char *want, size_t wlen, const char *got, size_t glen,
                            const char *why)
{
	size_t at = 0;
	while (at < wlen && at < glen && want[at] == got[at])
		at++;
	size_t from = at > TD_DIAG_BYTES ? at - TD_DIAG_BYTES : 0;
	size_t wn = wlen - from < 2 * TD_DIAG_BYTES ? wlen - from : 2 * TD_DIAG_BYTES;
	size_t gn = glen - from < 2 * TD_DIAG_BYTES ? glen - from : 2 * TD_DIAG_BYTES;
	char qw[8 * TD_DIAG_BYTES + 8], qg[8 * TD_DIAG_BYTES + 8];
	quote(qw, sizeof qw, want + from, wn);
	quote(qg, sizeof qg, got + from, gn);
	diag("exchange: %s; first difference at byte %zu of %zu", why, at, wlen);
	diag("  expected: \"%s\"", qw);
	diag("       got: \"%s\"", qg);
}

/* After a mismatch: drop as many whole responses as want holds, so the
 * next exchange on c starts at a response boundary again instead of
 * failing on the leftovers of this one. */
static void resync(struct td_conn *c, const char *want, size_t len)
{
	struct pmq_limits lim = { 1 << 16, 64u << 20 };
	struct pmq_decode_error err;
	struct pmq_msg m;
	size_t off = 0, used;

	while (off < len && pmq_decode_response(&lim, want + off, len - off, &m, &used, &err) ==
	                    PMQ_DECODE_OK) {
		off += used;
		if (td_read_msg(c, TD_EXCHANGE_MS) != 1)
			return;
	}
}

int td_expect_bytes(struct td_conn *c, const void *want, size_t len)
{
	uint64_t deadline = td_now_ms() + TD_EXCHANGE_MS;
	const char *w = want;

	for (;;) {
		size_t have = c->len < len ? c->len : len;
		if (memcmp(c->buf ? c->buf : "", w, have) != 0) {
			diag_difference(w, len, c->buf, c->len, "different bytes");
			resync(c, w, len);
			return 0;
		}
		if (have == len)
			break;
		int r = td_conn_fill(c, deadline);
		if (r <= 0) {
			diag_difference(w, len, c->buf ? c->buf : "", c->len,
			                r == 0 ? "the peer closed first" : "too few bytes in time");
			return 0;
		}
	}
	memmove(c->buf, c->buf + len, c->len - len);
	c->len -= len;
	return 1;
}

static int expectv(struct td_conn *c, const char *fmt, va_list *ap)
{
	struct td_frame f;
	int rc = td_vframe(&f, fmt, ap) == 0 ? td_expect_bytes(c, f.p, f.len) : 0;
	td_frame_free(&f);
	return rc;
}

int td_expectx(struct td_conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = expectv(c, fmt, &ap);
	va_end(ap);
	return rc;
}

int td_exchange(struct td_conn *c, const char *in_fmt, ...)
{
	va_list ap;
	int rc = 0;

	va_start(ap, in_fmt);
	if (sendv(c, in_fmt, &ap) == 0) {
		const char *out_fmt = va_arg(ap, const char *);
		rc = expectv(c, out_fmt, &ap);
	}
	va_end(ap);
	return rc;
}
