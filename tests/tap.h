/*
 * tap.h - a small Test Anything Protocol emitter for our C tests.
 *
 * Output goes to stdout and is read by automake's tap-driver.sh. Each check
 * prints "ok N - name" or "not ok N - name" plus a diagnostic saying what was
 * expected. done_testing() prints the plan when none was given and returns
 * the exit status (0 only when every test passed).
 *
 *   plan(3); ok(x == 1, "x is one"); is(n, 5, "five"); is_str(s, "hi", "greets");
 *   return done_testing();
 */
#ifndef PMQ_TAP_H
#define PMQ_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_planned = -1;
static int tap_run;
static int tap_failed;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

static inline bool tap_vok(bool pass, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static inline bool tap_vok(bool pass, const char *fmt, va_list ap)
{
	tap_run++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_run);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	return pass;
}

static inline bool tap_ok_at(bool pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool tap_ok_at(bool pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		diag("  failed at %s:%d", file, line);
	return pass;
}

#define ok(cond, ...) tap_ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is(got, want, ...)                                                    \
	do {                                                                  \
		long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
		if (!tap_ok_at(tap_g_ == tap_w_, __FILE__, __LINE__, __VA_ARGS__)) \
			diag("  got: %lld, expected: %lld", tap_g_, tap_w_);  \
	} while (0)

#define is_str(got, want, ...)                                                \
	do {                                                                  \
		const char *tap_g_ = (got), *tap_w_ = (want);                 \
		bool tap_p_ = tap_g_ && tap_w_ ? strcmp(tap_g_, tap_w_) == 0 \
		                               : tap_g_ == tap_w_;           \
		if (!tap_ok_at(tap_p_, __FILE__, __LINE__, __VA_ARGS__))     \
			diag("  got: '%s', expected: '%s'",                 \
			     tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)"); \
	} while (0)

/* Same, for byte strings that may hold NULs or lack a terminator. */
#define is_mem(got, got_len, want, want_len, ...)                             \
	do {                                                                  \
		size_t tap_gl_ = (got_len), tap_wl_ = (want_len);             \
		bool tap_p_ = tap_gl_ == tap_wl_ &&                           \
		              (tap_gl_ == 0 || memcmp((got), (want), tap_gl_) == 0); \
		if (!tap_ok_at(tap_p_, __FILE__, __LINE__, __VA_ARGS__))     \
			diag("  got %zu bytes '%.*s', expected %zu bytes '%.*s'", \
			     tap_gl_, (int)(tap_gl_ > 200 ? 200 : tap_gl_),    \
			     (const char *)(got), tap_wl_,                     \
			     (int)(tap_wl_ > 200 ? 200 : tap_wl_), (const char *)(want)); \
	} while (0)

static inline void bail_out(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void bail_out(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("Bail out! ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	exit(255);
}

static inline int done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		diag("planned %d tests but ran %d", tap_planned, tap_run);
	fflush(stdout);
	if (tap_run == 0)
		return 1;
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_run) ? 1 : 0;
}

#endif
