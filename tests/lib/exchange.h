/*
 * exchange.h - a test states an exchange as bytes in and exact bytes out,
 * and the helper computes every length (beanstalkd's mustsend/ckresp).
 *
 *   ok(td_exchange(&c, "put test 0 %B 0 1\r\n", "hello",
 *                  "result 500 %B 1\r\n", "checksum mismatch"), "...");
 *
 * A frame format is printf's (conversions d i u x X o c s p and %%, with
 * flags, width, precision and the length modifiers hh h l ll z j t; no
 * `*`) plus two of its own:
 *   %b  takes (const void *body, size_t len): writes len in decimal here and
 *       the body's bytes right after this line's "\r\n" (the protocol's
 *       `LEN` field and the bytes it counts);
 *   %B  takes (const char *text): the same for a NUL-terminated text.
 * A line with more than one %b/%B gets their bodies in order. The newline
 * that ends a line must be in the format itself (not in a %s argument).
 * The compiler cannot check these formats: keep each call's arguments next
 * to its format.
 *
 * Every wait is bounded by TD_EXCHANGE_MS (only a guard against hangs);
 * failures print a TAP diagnostic with the bytes that differ.
 */
#ifndef PMQ_TEST_EXCHANGE_H
#define PMQ_TEST_EXCHANGE_H

#include <stdarg.h>
#include <stddef.h>

#include "tests/lib/daemon.h"

#define TD_EXCHANGE_MS 15000 /* sanitizer builds answer slowly, never this slowly */

/* Bytes built from a frame format; free with td_frame_free(). */
struct td_frame {
	char *p;
	size_t len, cap;
};

/* Builds fmt into f (f is initialised here). 0, or -1 (bad format, no
 * memory; a diagnostic says which). */
int td_frame(struct td_frame *f, const char *fmt, ...);
int td_vframe(struct td_frame *f, const char *fmt, va_list *ap);
void td_frame_free(struct td_frame *f);

/* Sends the frame fmt builds. 0 or -1. */
int td_sendx(struct td_conn *c, const char *fmt, ...);
/* The next bytes from the peer are exactly the frame fmt builds: 1, else
 * 0 (different bytes, too few before a close or TD_EXCHANGE_MS). The
 * matched bytes are consumed and td_read_msg() goes on after them. After
 * different bytes, as many whole responses as fmt holds are read and
 * dropped, so the next exchange on c starts at a response boundary (one
 * wrong answer fails one test, not every test after it). */
int td_expectx(struct td_conn *c, const char *fmt, ...);
/* The next len bytes are exactly want: 1, else 0. */
int td_expect_bytes(struct td_conn *c, const void *want, size_t len);
/*
 * td_sendx(in...) then td_expectx(out...) in one call: the arguments of
 * in_fmt, then out_fmt (a const char *), then its arguments. 1 when the
 * answer is exactly out, else 0.
 */
int td_exchange(struct td_conn *c, const char *in_fmt, ...);

#endif
