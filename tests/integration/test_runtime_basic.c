/*
 * test_runtime_basic.c - the runtime end to end: version and stats round
 * trips, 8 connections x 5,000 pipelined requests with distinct opaques,
 * every one answered exactly once, and the priority lane.
 */
#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "tests/integration/rt_util.h"
#include "tests/lib/exchange.h"

#define NCONN 8
#define PER_CONN 5000

static void round_trips(int port)
{
	struct td_conn c;
	char want[64];

	td_conn_init(&c, td_connect(port));
	snprintf(want, sizeof(want), "pulsemq %s", PACKAGE_VERSION);
	ok(td_exchange(&c, "version 77\r\n", "result 200 %B 77\r\n", want),
	   "version: result 200, '%s', its opaque", want);
	ok(td_exchange(&c, "version\r\n", "result 200 %B 2147483647\r\n", want),
	   "version without opaque: 2147483647");
	ok(td_exchange(&c, "version -2147483648\r\n", "result 200 %B -2147483648\r\n", want),
	   "negative opaque echoed");

	ok(td_roundtrip(&c, "stats 5\r\n", 9, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   c.msg.opaque == 5, "stats answered 200");
	ok(c.msg.body.len > 12 && !memcmp(c.msg.body.ptr, "STATS\r\n", 7) &&
	   !memcmp(c.msg.body.ptr + c.msg.body.len - 5, "END\r\n", 5),
	   "stats body is STATS ... END");
	ok(rt_body_has(&c.msg, "\r\ncurr_connections ") && rt_body_has(&c.msg, "\r\ncmd_version ") &&
	   rt_body_has(&c.msg, "\r\nsessions_closed_heartbeat ") &&
	   rt_body_has(&c.msg, "\r\nheartbeats_sent "), "system stats have the runtime's counters");

	ok(td_roundtrip(&c, "stats pools 6\r\n", 15, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   rt_body_has(&c.msg, "\r\nheartbeat_queue_size ") &&
	   rt_body_has(&c.msg, "\r\nget_rejected_busy ") &&
	   rt_body_has(&c.msg, "\r\nput_wait_p99_us "), "stats pools");
	ok(td_roundtrip(&c, "stats sessions 7\r\n", 18, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   rt_body_has(&c.msg, "\r\nsessions 1\r\n"), "stats sessions counts this one");
	ok(td_roundtrip(&c, "stats config 8\r\n", 16, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   rt_body_has(&c.msg, "idle_timeout_ms "), "stats config");
	ok(td_exchange(&c, "stats nosuch 9\r\n", "result 400 %B 9\r\n",
	               "unknown stats item 'nosuch': known items are none, \"\", pools, "
	               "sessions, transactions, topics, clients, groups, config"), "unknown stats item: 400 naming the known ones");
	ok(td_exchange(&c, "sync t 0 %B 0 1 10\r\n", "abc",
	               "result 503 %B 10\r\n", "no processor for sync"),
	   "sync: 503 no processor");
	ok(td_exchange(&c, "debug sleep get 1 11\r\n", "result 403 %B 11\r\n",
	               "debug commands are disabled (enable_debug_commands = no)"),
	   "debug disabled: 403");
	ok(td_exchange(&c, "vers 12\r\n", "result 200 %B 12\r\n", want),
	   "MetaQ spelling 'vers' is version");
	/* Pipelined, both answered inline by the IO thread, so in order (a
	 * pool's answer may overtake them: clients match by opaque). */
	ok(td_exchange(&c, "sync t 0 %B 0 1 13\r\ndebug sleep put 1 14\r\n", "xy",
	               "result 503 %B 13\r\nresult 403 %B 14\r\n", "no processor for sync",
	               "debug commands are disabled (enable_debug_commands = no)"),
	   "two pipelined requests: two exact answers, each body after its line");
	ok(td_stat(port, "", "cmd_compat_spellings") == 1, "compat spelling counted");

	td_send(c.fd, "quit\r\n", 6);
	ok(td_wait_closed(c.fd, RT_HANG_MS) == 1, "quit closes the session");
	td_conn_free(&c);
}

struct pipe_conn {
	int fd;
	char *out;
	size_t out_len, out_off;
	struct rt_reader r;
	unsigned got;
};

static void pipelined(int port)
{
	struct pipe_conn pc[NCONN];
	static unsigned char seen[NCONN * PER_CONN];
	unsigned dup = 0, alien = 0, busy = 0, okays = 0, total = 0;
	uint64_t deadline = td_now_ms() + 60000;
	int broken = 0;

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < NCONN; i++) {
		pc[i].fd = td_connect(port);
		pc[i].out = malloc(PER_CONN * 24);
		pc[i].out_len = pc[i].out_off = 0;
		pc[i].got = 0;
		for (int k = 0; k < PER_CONN; k++) {
			/* Negative opaques, as MetaQ clients use. */
			int32_t op = INT32_MIN + i * PER_CONN + k;
			pc[i].out_len += (size_t)sprintf(pc[i].out + pc[i].out_len,
			                                 "version %d\r\n", (int)op);
		}
		fcntl(pc[i].fd, F_SETFL, fcntl(pc[i].fd, F_GETFL) | O_NONBLOCK);
		rt_reader_init(&pc[i].r, pc[i].fd);
	}
	while (total < NCONN * PER_CONN && !broken && td_now_ms() < deadline) {
		struct pollfd p[NCONN];
		for (int i = 0; i < NCONN; i++) {
			p[i].fd = pc[i].fd;
			p[i].events = POLLIN | (pc[i].out_off < pc[i].out_len ? POLLOUT : 0);
		}
		if (poll(p, NCONN, 1000) <= 0)
			continue;
		for (int i = 0; i < NCONN; i++) {
			if (p[i].revents & POLLOUT) {
				ssize_t n = send(pc[i].fd, pc[i].out + pc[i].out_off,
				                 pc[i].out_len - pc[i].out_off, MSG_NOSIGNAL);
				if (n > 0)
					pc[i].out_off += (size_t)n;
			}
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (rt_reader_fill(&pc[i].r, 1) == 0) {
				diag("connection %d closed early", i);
				broken = 1;
			}
			struct pmq_msg m;
			int rc;
			while ((rc = rt_reader_next(&pc[i].r, &m)) == 1) {
				int64_t idx = (int64_t)m.opaque - INT32_MIN - (int64_t)i * PER_CONN;
				total++;
				if (m.cmd != PMQ_CMD_RESULT || idx < 0 || idx >= PER_CONN) {
					alien++;
					continue;
				}
				if (seen[i * PER_CONN + idx]++)
					dup++;
				if (m.code == 200)
					okays++;
				else if (m.code == 503 && rt_body_has(&m, "heartbeat pool busy"))
					busy++;
				else
					alien++;
			}
			if (rc < 0)
				broken = 1;
		}
	}
	unsigned missing = 0;
	for (size_t i = 0; i < sizeof(seen); i++)
		missing += seen[i] == 0;
	is(total, NCONN * PER_CONN, "8 x 5000 pipelined: as many answers as requests");
	is(missing, 0, "every opaque answered");
	is(dup, 0, "no opaque answered twice");
	is(alien, 0, "every answer is 200 or 503 'heartbeat pool busy' with a known opaque");
	diag("%u answered 200, %u answered 503 busy", okays, busy);
	for (int i = 0; i < NCONN; i++) {
		rt_reader_free(&pc[i].r);
		free(pc[i].out);
		close(pc[i].fd);
	}
}

/* The priority lane: with a backlog of answers queued on a session (its
 * reader is slow), a heartbeat-pool answer overtakes the ones not yet
 * started. */
#define BACKLOG 300000

static void priority_lane(void)
{
	struct td_daemon d;
	const char *settings[] = { "io_threads=1", "max_output_bytes=64M", NULL };
	int small = 4096;

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)d.port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		bail_out("connect: %s", strerror(errno));
	/* BACKLOG bad lines: each is answered 400 inline, in the normal lane. */
	char *req = malloc(BACKLOG * 3 + 32);
	size_t len = 0;
	for (int i = 0; i < BACKLOG; i++) {
		memcpy(req + len, "x\r\n", 3);
		len += 3;
	}
	len += (size_t)sprintf(req + len, "version 777\r\n");
	td_send(fd, req, len);
	free(req);
	/* When another connection's stats answer (same heartbeat worker,
	 * same IO thread, both FIFO) arrives, the version answer is queued. */
	ok(rt_stat_wait(d.port, "", "cmd_version", 1, RT_HANG_MS) == 1,
	   "the version request was read behind %d bad lines", BACKLOG);

	struct rt_reader r;
	struct pmq_msg m;
	long pos = -1, n = 0;
	rt_reader_init(&r, fd);
	while (n < BACKLOG + 1 && rt_reader_wait(&r, &m, RT_HANG_MS) == 1) {
		if (m.opaque == 777 && m.code == 200)
			pos = n;
		n++;
	}
	is(n, BACKLOG + 1, "every line answered");
	diag("the version answer came %ld-th of %ld", pos + 1, n);
	ok(pos >= 0 && pos < BACKLOG / 2,
	   "it overtook the 400s still queued (position %ld < %d)", pos, BACKLOG / 2);
	rt_reader_free(&r);
	close(fd);
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "io_threads=2", NULL };

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	round_trips(d.port);
	pipelined(d.port);
	ok(td_stat(d.port, "", "cmd_version") >= NCONN * PER_CONN, "stats counted the versions");
	ok(td_stat(d.port, "", "sessions_closed_quit") == 1, "one session closed by quit");
	is(td_stop(&d, RT_HANG_MS), 0, "pulsemqd exits 0 on SIGTERM");
	td_cleanup(&d);
	priority_lane();
	return done_testing();
}
