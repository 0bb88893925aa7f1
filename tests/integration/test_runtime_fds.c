/*
 * test_runtime_fds.c - out of file descriptors is answered, not hidden:
 * under a low RLIMIT_NOFILE,
 *  - once the daemon has no descriptor left, a new connection gets
 *    `result 503 L 0` + "server out of file descriptors, retry later" and
 *    is closed (before: it waited in the backlog, unanswered), and so does
 *    the next;
 *  - the log says so once for the episode, not once per 100 ms;
 *  - after some connections close, new ones are served again, the episode's
 *    end is logged with its count and `stats` counts the refusals.
 */
#include <config.h>

#include "tests/integration/rt_util.h"

#define NOFILE 64       /* the daemon's whole descriptor budget */
#define MAXCONN 100     /* more than NOFILE: the limit is reached first */
#define ANSWER_MS 5000  /* must happen: the answer arrives */

static const char NOFD[] = "server out of file descriptors, retry later";

static int log_count(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	while (f && fgets(line, sizeof line, f))
		n += strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return n;
}

static void log_show(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	while (f && fgets(line, sizeof line, f))
		if (strstr(line, text))
			diag("log: %s", line);
	if (f)
		fclose(f);
}

/* A fresh connection's first answer to `version OP`: its code, or -1. */
static int try_one(struct td_conn *c, int port, int op)
{
	char req[32];
	int n = snprintf(req, sizeof req, "version %d\r\n", op);

	td_conn_init(c, td_connect(port));
	if (c->fd < 0 || td_roundtrip(c, req, (size_t)n, ANSWER_MS) != 1)
		return -1;
	return c->msg.code;
}

int main(void)
{
	const char *settings[] = { "io_threads=1", NULL };
	struct td_daemon d;
	struct td_conn c[MAXCONN], extra;
	int served = 0, code = -1;

	struct td_opts opts = { .nofile = NOFILE };
	if (td_start_opts(&d, &opts, settings) != 0)
		bail_out("cannot start pulsemqd under RLIMIT_NOFILE %d", NOFILE);

	for (served = 0; served < MAXCONN; served++) {
		code = try_one(&c[served], d.port, served + 1);
		if (code != 200)
			break;
	}
	diag("%d connections served before the descriptors ran out", served);
	ok(served > 0 && served < MAXCONN, "connections are served until descriptors run out");
	ok(code == 503 && c[served].msg.opaque == 0 && rt_body_is(&c[served].msg, NOFD),
	   "the next connection: result 503 L 0 + '%s' (code %d)", NOFD, code);
	ok(code == 503 && td_wait_closed(c[served].fd, ANSWER_MS) == 1, "... and it is closed");
	if (served < MAXCONN)
		td_conn_free(&c[served]);

	code = try_one(&extra, d.port, 1000);
	ok(code == 503 && rt_body_is(&extra.msg, NOFD) &&
	   td_wait_closed(extra.fd, ANSWER_MS) == 1, "and the one after it too (code %d)", code);
	td_conn_free(&extra);
	ok(served == 0 || td_roundtrip(&c[0], "version 2\r\n", 11, ANSWER_MS) == 1,
	   "the sessions already open are served meanwhile");

	/* Give back some descriptors; the broker sees the closes soon. */
	for (int i = 0; i < 5 && served > 0; i++)
		td_conn_free(&c[--served]);
	int refused_after = 0;
	uint64_t deadline = td_now_ms() + RT_HANG_MS;
	do {
		code = try_one(&extra, d.port, 2000);
		refused_after += code == 503;
		if (code != 200)
			td_conn_free(&extra);
	} while (code != 200 && td_now_ms() < deadline);
	is(code, 200, "once some close, a new connection is served (%d refused meanwhile)",
	   refused_after);
	if (code == 200)
		td_conn_free(&extra);
	long long counted = td_stat(d.port, "", "rejected_connections_no_fds");
	ok(counted >= 2 + refused_after, "stats counts them: rejected_connections_no_fds %lld",
	   counted);

	int starts = log_count(d.log_path, "answering new connections 503");
	int raw = log_count(d.log_path, "Too many open files");
	is(starts, 1, "the log says it once for the episode");
	if (starts != 1)
		log_show(d.log_path, "file descriptors");
	ok(raw <= 1, "no per-retry warnings (%d lines name EMFILE)", raw);
	ok(log_count(d.log_path, "file descriptors available again") == 1,
	   "and once, with the count, when it ended");
	for (int i = 0; i < served; i++)
		td_conn_free(&c[i]);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
