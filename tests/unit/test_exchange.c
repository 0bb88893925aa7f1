/*
 * test_exchange.c - the exchange helpers themselves (tests/lib/exchange.h):
 * lengths computed from the bodies, bodies placed after their line, exact
 * matching over a socket pair, and a mismatch reported, not passed.
 */
#include <config.h>

#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/exchange.h"
#include "tests/tap.h"

static int frame_is(const char *want, size_t wlen, const char *fmt, ...)
{
	struct td_frame f;
	va_list ap;
	va_start(ap, fmt);
	int rc = td_vframe(&f, fmt, &ap);
	va_end(ap);
	int same = rc == 0 && f.len == wlen && memcmp(f.p, want, wlen) == 0;
	if (!same)
		diag("built %zu bytes: '%.*s'", f.len, (int)f.len, f.p ? f.p : "");
	td_frame_free(&f);
	return same;
}

#define FRAME_IS(lit, ...) frame_is(lit, sizeof(lit) - 1, __VA_ARGS__)

static void frames(void)
{
	const unsigned char bin[] = { 0, 1, '\r', '\n', 0xff };

	ok(FRAME_IS("put t 0 5 0 1\r\nhello", "put t 0 %B 0 1\r\n", "hello"),
	   "%%B: the text's length in the line, the text after it");
	ok(FRAME_IS("put t 0 5 0 1\r\n\0\1\r\n\xff", "put t 0 %b 0 1\r\n", bin, sizeof bin),
	   "%%b: binary bytes, NULs and CRLF included");
	ok(FRAME_IS("result 200 0 7\r\n", "result 200 %B 7\r\n", ""), "an empty body: 0");
	ok(FRAME_IS("result 200 2 1\r\nokresult 404 3 2\r\nnah",
	            "result 200 %B 1\r\nresult 404 %B 2\r\n", "ok", "nah"),
	   "each body follows its own line (a pipeline)");
	ok(FRAME_IS("get t g -1 9223372036854775807 2147483647 4294967295 x 100% 18446744073709551615",
	            "get %s g %d %" PRId64 " %ld %u %c 100%% %zu", "t", -1, INT64_MAX,
	            (long)INT32_MAX, UINT32_MAX, 'x', SIZE_MAX),
	   "printf conversions take their arguments by type");
	ok(FRAME_IS("[   7][ab]", "[%4d][%.2s]", 7, "abc"), "width and precision");
	ok(FRAME_IS("value 3 9\r\nabc", "value %b %d\r\n", "abcdef", (size_t)3, 9),
	   "arguments after a %%b are still in order");
}

static void peer_writes(int fd, const char *s, size_t n)
{
	if (write(fd, s, n) != (ssize_t)n)
		bail_out("write to the socket pair");
}

static void matching(void)
{
	int sv[2];
	struct td_conn c;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		bail_out("socketpair");
	td_conn_init(&c, sv[0]);

	ok(td_sendx(&c, "put t 0 %B 0 1\r\n", "hi") == 0, "td_sendx sends");
	char got[64];
	ssize_t n = read(sv[1], got, sizeof got);
	ok(n == 17 && memcmp(got, "put t 0 2 0 1\r\nhi", 17) == 0, "the frame it built");

	/* The answer arrives in two pieces and is followed by another. */
	peer_writes(sv[1], "result 200 ", 11);
	peer_writes(sv[1], "2 1\r\nokresult 404 1 2\r\nx", 24);
	ok(td_expectx(&c, "result 200 %B 1\r\n", "ok") == 1, "exact bytes, read in pieces");
	ok(td_read_msg(&c, 1000) == 1 && c.msg.code == 404 && c.msg.opaque == 2,
	   "td_read_msg goes on after the matched bytes");

	peer_writes(sv[1], "result 500 3 1\r\nbad", 19);
	diag("a mismatch is expected here, with its diagnostic:");
	ok(td_expectx(&c, "result 200 %B 1\r\n", "bad") == 0, "a different code fails");
	peer_writes(sv[1], "result 200 2 3\r\nok", 19);
	ok(td_expectx(&c, "result 200 %B 3\r\n", "ok") == 1,
	   "the wrong answer was dropped whole: the next one matches");

	peer_writes(sv[1], "result 200 1", 12);
	close(sv[1]);
	diag("a close before the whole answer is expected here:");
	ok(td_expectx(&c, "result 200 1 1\r\nx") == 0, "too few bytes before a close fails");
	td_conn_free(&c);
}

int main(void)
{
	frames();
	matching();
	return done_testing();
}
