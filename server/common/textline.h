/*
 * textline.h - one line of English for an answer, from a format.
 *
 * Error answers carry a line such as "put pool busy: 1024 queued, retry
 * later". textline_vformat() writes it into a caller's buffer and returns
 * its length, cut to fit (an answer is better short than missing); an
 * encoding error gives an empty line.
 */
#ifndef PMQ_TEXTLINE_H
#define PMQ_TEXTLINE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The longest error answer line, with its NUL: room for a store error
 * (STORE_ERR_BYTES, 256) around a topic name (PMQ_TOPIC_MAX_BYTES, 255) and
 * a few numbers. A longer line is cut, never dropped. */
#define TEXTLINE_MAX 1024

__attribute__((format(printf, 3, 0)))
static inline size_t textline_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, cap, fmt, ap);

	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

#endif
