/*
 * sbuf.h - a growing text buffer for listings (`stats`, /metrics).
 *
 * Promises: appends never fail loudly; on ENOMEM the buffer stops growing,
 * failed is set, and the caller answers an error instead of a cut listing.
 */
#ifndef PMQ_SBUF_H
#define PMQ_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/* A growing text buffer; failed is set (and text cut) on ENOMEM. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_append(struct sbuf *b, const void *p, size_t n);
void sbuf_free(struct sbuf *b);

#endif
