/*
 * test_runtime_badinput.c - bad input gets a clear answer, never a crash:
 *  - malformed lines: 400 with the line's opaque, and the session goes on;
 *  - a body command whose line does not parse (a MetaQ client's put to a
 *    topic with a space) or an untrusted body length: 400, then closed,
 *    and the body is never decoded as commands;
 *  - a refused body (over max_body_bytes, a bad topic): 400, the body is
 *    dropped unread and the session goes on;
 *  - an over-long line: 400 and skipped up to its \r\n (closed when it is a
 *    body command's);
 *  - 200 connections sending random bytes do not disturb a well-behaved
 *    client alongside, and the daemon stays up.
 */
#include <config.h>

#include <fcntl.h>
#include <signal.h>

#include "tests/integration/rt_util.h"

#define NOISY 200
#define NOISE_BYTES 4096
#define CALM_ROUNDS 100

static void malformed(int port)
{
	struct td_conn c;

	td_conn_init(&c, td_connect(port));
	ok(td_roundtrip(&c, "foo bar 12\r\n", 12, RT_HANG_MS) == 1 && c.msg.code == 400 &&
	   c.msg.opaque == 12 && rt_body_has(&c.msg, "bad request"), "unknown command: 400 + opaque");
	ok(td_roundtrip(&c, "get t g 0 x 100 5\r\n", 19, RT_HANG_MS) == 1 && c.msg.code == 400 &&
	   c.msg.opaque == 5, "bad number: 400");
	ok(td_roundtrip(&c, "version\t1\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 400,
	   "control byte: 400");
	ok(td_roundtrip(&c, "version 6\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 6, "the session goes on");
	td_conn_free(&c);

	td_conn_init(&c, td_connect(port));
	ok(td_roundtrip(&c, "put t 0 -5 0 7\r\n", 16, RT_HANG_MS) == 1 && c.msg.code == 400,
	   "negative body length: 400");
	ok(td_wait_closed(c.fd, RT_HANG_MS) == 1, "... and closed");
	td_conn_free(&c);

	char line[3000];
	memset(line, 'a', sizeof(line));
	td_conn_init(&c, td_connect(port));
	memcpy(line, "put ", 4);
	ok(td_roundtrip(&c, line, sizeof(line), RT_HANG_MS) == 1 && c.msg.code == 400 &&
	   rt_body_has(&c.msg, "put line longer than 1024 bytes"),
	   "put line over max_line_bytes: 400");
	ok(td_wait_closed(c.fd, RT_HANG_MS) == 1, "... and closed (its body cannot be found)");
	td_conn_free(&c);
}

/* The body of a put whose line does not parse must never become requests:
 * the MetaQ client sends 8 tokens for the topic "space x". */
static void unparsable_body_cmd(int port)
{
	static const char metaq[] = "put space x 0 12 0 1 -5\r\nversion 77\r\n";
	struct td_conn c;

	td_conn_init(&c, td_connect(port));
	ok(td_roundtrip(&c, metaq, sizeof(metaq) - 1, RT_HANG_MS) == 1 && c.msg.code == 400 &&
	   c.msg.opaque == -5, "put to a topic with a space: 400 with its opaque");
	int rc = td_read_msg(&c, RT_HANG_MS);
	ok(rc == 0, "... then closed, its body not answered as a version (%d, opaque %d)", rc,
	   rc == 1 ? (int)c.msg.opaque : 0);
	td_conn_free(&c);

	td_conn_init(&c, td_connect(port));
	ok(td_roundtrip(&c, "put t 0 11 0 x 1 2 3 9\r\nversion 8\r\n", 35, RT_HANG_MS) == 1 &&
	   c.msg.code == 400 && c.msg.opaque == 9, "put with too many tokens: 400");
	ok(td_read_msg(&c, RT_HANG_MS) == 0, "... then closed, its body not decoded");
	td_conn_free(&c);
}

/* A refused put whose line parses: its body is dropped unread (however
 * large) and the session goes on with the next request. */
static void refused_body(int port)
{
	const size_t big = 200000; /* max_body_bytes is 65536 here */
	char *req = malloc(big + 64);
	struct td_conn c;

	/* the body is made of requests: none of them may be answered */
	int n = snprintf(req, 64, "put t 0 %zu 0 8\r\n", big);
	for (size_t i = 0; i < big; i++)
		req[n + i] = "version 1\r\n"[i % 11];
	td_conn_init(&c, td_connect(port));
	ok(td_send(c.fd, req, (size_t)n + big / 2) == 0 && td_read_msg(&c, RT_HANG_MS) == 1 &&
	   c.msg.code == 400 && c.msg.opaque == 8 &&
	   rt_body_has(&c.msg, "exceeds max_body_bytes 65536"),
	   "body over max_body_bytes: 400 before the body is all there");
	ok(td_send(c.fd, req + n + big / 2, big - big / 2) == 0 &&
	   td_roundtrip(&c, "version 6\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 6, "... its body dropped, the session goes on");

	ok(td_roundtrip(&c, "put ../x 0 11 0 3\r\nversion 2\r\n", 30, RT_HANG_MS) == 1 &&
	   c.msg.code == 400 && c.msg.opaque == 3 && rt_body_has(&c.msg, "invalid topic name"),
	   "put to an invalid topic name: 400");
	ok(td_roundtrip(&c, "version 4\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 4, "... its body dropped, not answered, the session goes on");

	/* An over-long line of no body command is skipped to its \r\n. */
	char line[3000];
	memset(line, 'a', sizeof(line));
	ok(td_send(c.fd, line, sizeof(line)) == 0 && td_read_msg(&c, RT_HANG_MS) == 1 &&
	   c.msg.code == 400 && c.msg.opaque == 0 &&
	   rt_body_has(&c.msg, "longer than 1024 bytes (max_line_bytes)"),
	   "line over max_line_bytes: 400 at once");
	ok(td_send(c.fd, line, sizeof(line)) == 0 &&
	   td_roundtrip(&c, "\r\nversion 5\r\n", 13, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 5, "... skipped up to its \\r\\n, answered once, the session goes on");
	td_conn_free(&c);
	free(req);
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static const char *const words[] = { "put t 0 ", "get t g 0 ", "offset t g 0 ",
	"version ", "stats ", "result 200 ", "value ", "sync t 0 ", "transaction ",
	"debug sleep get ", "-1 ", "5 " };

static void noise(struct td_daemon *d)
{
	static int fds[NOISY];
	char buf[NOISE_BYTES];
	uint32_t seed = 0x9e3779b9u;
	uint64_t margin = rt_sanitized() ? 2000 : 1000, worst = 0; /* a stall, not a slow machine */
	int opened = 0, answered = 0, reconnects = 0;
	struct td_conn calm;

	td_conn_init(&calm, td_connect(d->port));
	for (int i = 0; i < NOISY; i++) {
		fds[i] = td_connect(d->port);
		if (fds[i] >= 0) {
			opened++;
			fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		}
	}
	is(opened, NOISY, "%d noisy connections", NOISY);
	for (int round = 0; round < CALM_ROUNDS; round++) {
		/* Every noisy connection sends a slice of garbage... */
		for (int i = 0; i < NOISY; i++) {
			if (fds[i] < 0) {
				/* Closed by the broker: a new one takes its place. */
				fds[i] = td_connect(d->port);
				if (fds[i] < 0)
					continue;
				reconnects++;
				fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
			}
			size_t n = NOISE_BYTES / 8 + rnd(&seed) % (NOISE_BYTES - NOISE_BYTES / 8);
			for (size_t k = 0; k + 16 < n;) {
				uint32_t r = rnd(&seed);
				/* Mostly lines of printable tokens, some starting with a
				 * real command word, some with raw bytes, so the decoder
				 * sees lines, numbers and bodies. */
				if (r % 24 == 0) {
					buf[k++] = '\r';
					buf[k++] = '\n';
				} else if (r % 24 == 1) {
					const char *w = words[(r >> 8) % (sizeof(words) / sizeof(words[0]))];
					size_t wl = strlen(w);
					memcpy(buf + k, w, wl);
					k += wl;
				} else if (r % 8 == 2) {
					buf[k++] = ' ';
				} else if (r % 97 == 3) {
					buf[k++] = (char)(r >> 8);
				} else {
					buf[k++] = (char)('-' + (r >> 8) % 78);
				}
				if (k + 16 >= n)
					n = k;
			}
			if (send(fds[i], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(fds[i]); /* the broker closed it: fine */
				fds[i] = -1;
			} else {
				/* and drains its answers so it is not a slow consumer */
				while (recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
					;
			}
		}
		/* ...while the calm client's round trip stays prompt. */
		char req[32];
		int n = snprintf(req, sizeof(req), "version %d\r\n", round);
		uint64_t t0 = td_now_ms();
		if (td_roundtrip(&calm, req, (size_t)n, RT_HANG_MS) == 1 && calm.msg.code == 200 &&
		    calm.msg.opaque == round)
			answered++;
		uint64_t dt = td_now_ms() - t0;
		worst = dt > worst ? dt : worst;
	}
	is(answered, CALM_ROUNDS, "the calm client got all %d answers", CALM_ROUNDS);
	ok(worst < margin, "its worst round trip %llu ms < %llu ms", (unsigned long long)worst,
	   (unsigned long long)margin);
	int still = 0;
	for (int i = 0; i < NOISY; i++)
		if (fds[i] >= 0)
			still++, close(fds[i]);
	td_conn_free(&calm);
	diag("%d reconnects, %d noisy connections open at the end; %lld bad requests, "
	     "%lld closed as bad input", reconnects, still, td_stat(d->port, "", "bad_requests"),
	     td_stat(d->port, "", "sessions_closed_bad_input"));
	ok(td_stat(d->port, "", "bad_requests") > NOISY, "bad requests counted");
	ok(kill(d->pid, 0) == 0 && td_stat(d->port, "", "pid") == d->pid, "the daemon is up");
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "max_line_bytes=1024", "max_body_bytes=65536", NULL };

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	malformed(d.port);
	unparsable_body_cmd(d.port);
	refused_body(d.port);
	noise(&d);
	ok(td_stat(d.port, "", "sessions_closed_bad_input") >= 3, "bad_input closes counted");
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
