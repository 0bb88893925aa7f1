/*
 * test_bench.c - pulsemq-bench against the real daemon: a short run whose
 * reported counts agree with the daemon's own stats, JSON output, exit
 * codes, --verify when the store serves puts, and --consumers.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/integration/test_cli_run.h"
#include "tests/tap.h"

#define RUN_MS 60000
#define E2E_BOUND_US 5000000 /* generous; a missed topic costs 10 s */

static const char *bench;
static char port_s[16];
static struct run_out r;

#define BENCH(...)                                                                     \
	do {                                                                           \
		const char *const argv_[] = { bench, "-p", port_s, "-q", __VA_ARGS__, NULL }; \
		run_prog(&r, NULL, RUN_MS, argv_);                                     \
	} while (0)

/* A line-protocol peer in a child process: answers every "\r\n"-ended
 * line with "+PONG\r\n", like redis answers PING. Returns its pid. */
static pid_t line_peer(int lfd)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct pollfd p[17];
	int n = 1;
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			_exit(1);
		if ((p[0].revents & POLLIN) && n < 17) {
			int fd = accept(lfd, NULL, NULL);
			if (fd >= 0)
				p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		for (int i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			char buf[4096];
			ssize_t got = read(p[i].fd, buf, sizeof(buf));
			if (got <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
				continue;
			}
			/* Requests are whole 6-byte lines; count their ends. */
			for (ssize_t k = 0; k < got; k++)
				if (buf[k] == '\n' && write(p[i].fd, "+PONG\r\n", 7) != 7)
					_exit(1);
		}
	}
}

int main(void)
{
	bench = getenv("PULSEMQ_BENCH");
	if (!bench)
		bail_out("PULSEMQ_BENCH is not set (run under make check)");
	struct td_daemon d;
	const char *settings[] = { "num_partitions=2", NULL };
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	snprintf(port_s, sizeof(port_s), "%d", d.port);

	long long v0 = td_stat(d.port, NULL, "cmd_version");
	BENCH("-n", "1000", "-c", "3", "-T", "2", "-P", "8", "--json");
	is(r.status, 0, "1000 versions over 3 connections: exit 0");
	long long req = json_num(r.out, "\"version\"", "requests");
	long long ok200 = json_num(r.out, "\"version\"", "200");
	long long hb = json_num(r.out, NULL, "heartbeats_sent");
	is(req, 1000, "bench reports 1000 requests");
	is(ok200, 1000, "all 200");
	is(json_num(r.out, "\"total\"", "requests"), 1000, "total agrees");
	ok(json_num(r.out, "\"latency_us\"", "p99") >= 0, "latency percentiles present");
	long long v1 = td_stat(d.port, NULL, "cmd_version");
	ok(v0 >= 0 && hb >= 0 && v1 - v0 == req + hb,
	   "daemon counted the same versions: %lld - %lld = %lld + %lld heartbeats", v1, v0, req, hb);

	/* Open loop at a modest rate for a fixed time. */
	BENCH("-d", "1", "--rate", "400", "-c", "2", "-P", "4", "--json");
	is(r.status, 0, "open loop for 1 s: exit 0");
	long long n = json_num(r.out, "\"total\"", "requests");
	ok(n >= 300 && n <= 420, "about 400 requests in 1 s at --rate 400 (%lld)", n);

	/* Human output and the mix: every put and get is served by the store. */
	long long p0 = td_stat(d.port, NULL, "cmd_put");
	BENCH("-n", "300", "--mix", "1:1:1", "-P", "4", "--topic", "benchtest", "-s", "64",
	      "--json");
	is(r.status, 0, "a 1:1:1 mix: exit 0");
	long long puts = json_num(r.out, "\"put\"", "requests");
	is(puts, 100, "a third of the requests were puts");
	is(json_num(r.out, "\"get\"", "requests"), 100, "a third gets");
	long long p1 = td_stat(d.port, NULL, "cmd_put");
	ok(p0 >= 0 && p1 - p0 == puts, "daemon counted %lld puts, bench %lld", p1 - p0, puts);
	is(json_num(r.out, "\"put\"", "503"), 0, "no put answered 503");

	BENCH("-n", "50");
	ok(r.status == 0 && strstr(r.out, "command") && strstr(r.out, "version "),
	   "a table by default");

	BENCH("-n", "400", "-c", "2", "-P", "8", "--verify", "--partitions", "2",
	      "--topic", "verifytest", "-s", "48", "--json");
	is(r.status, 0, "--verify: exit 0");
	is(json_num(r.out, "\"verify\"", "acked"), 400, "400 puts acknowledged");
	is(json_num(r.out, "\"verify\"", "missing"), 0, "none missing");
	is(json_num(r.out, "\"verify\"", "duplicated"), 0, "none duplicated");
	is(json_num(r.out, "\"verify\"", "corrupted"), 0, "none corrupted");

	/* Consumer-group load: 3 members of a group beside 2 producers, on a
	 * topic that does not exist before the run (so the members must find
	 * it when the first put creates it, not at their next heartbeat 10 s
	 * later: e2e p99 below E2E_BOUND_US says they did). */
	BENCH("-n", "2000", "-c", "2", "-P", "8", "--consumers", "3", "--group", "bg",
	      "--topic", "grouptest", "--partitions", "2", "--json");
	is(r.status, 0, "--consumers 3: exit 0");
	long long produced = json_num(r.out, "\"consumers\"", "produced");
	is(produced, 2000, "2000 puts produced");
	is(json_num(r.out, "\"consumers\"", "delivered"), produced, "every one delivered");
	ok(json_num(r.out, "\"consumers\"", "duplicates") >= 0, "duplicates reported");
	ok(json_num(r.out, "\"consumers\"", "delivered_per_sec") > 0, "delivered/s reported");
	ok(json_num(r.out, "\"consumers\"", "rebalances") >= 3,
	   "each member assigned at least once (%lld rebalances)",
	   json_num(r.out, "\"consumers\"", "rebalances"));
	long long e2e = json_num(r.out, "\"e2e_latency_us\"", "p99");
	ok(e2e > 0 && e2e < E2E_BOUND_US, "e2e p99 %lld us, below %d us", e2e, E2E_BOUND_US);
	BENCH("-n", "200", "--consumers", "2", "--group", "bg2", "--topic", "grouptest",
	      "--partitions", "2");
	ok(r.status == 0 && strstr(r.out, "consumers: group bg2, 2 members: 200 produced, 200 delivered") &&
	   strstr(r.out, "e2e (put sent -> delivered) us: p50 "),
	   "the table names the group, produced, delivered and e2e percentiles");
	BENCH("-n", "10", "--consumers", "1", "-s", "20");
	is(r.status, 2, "--consumers with messages too small for the timestamp: exit 2");

	/* Exit codes. */
	BENCH("--mix", "1:x");
	is(r.status, 2, "bad option: exit 2");
	{
		const char *const argv_[] = { bench, "-p", "1", "-n", "10", "-q", NULL };
		run_prog(&r, NULL, RUN_MS, argv_);
		is(r.status, 2, "nobody listening: exit 2");
	}
	/* Raw line mode against a redis-like peer. */
	{
		int pfd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in pa = { .sin_family = AF_INET,
		                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t pl = sizeof(pa);
		if (pfd >= 0 && bind(pfd, (struct sockaddr *)&pa, sizeof(pa)) == 0 &&
		    listen(pfd, 16) == 0 && getsockname(pfd, (struct sockaddr *)&pa, &pl) == 0) {
			pid_t peer = line_peer(pfd);
			char pport[16];
			snprintf(pport, sizeof(pport), "%d", ntohs(pa.sin_port));
			const char *const argv_[] = { bench, "-p", pport, "-n", "3000", "-c", "3", "-T", "2",
			                              "-P", "16", "-q", "--json", "--raw", "PING\\r\\n",
			                              NULL };
			run_prog(&r, NULL, RUN_MS, argv_);
			is(r.status, 0, "--raw against a line peer: exit 0");
			is(json_num(r.out, "\"raw\"", "requests"), 3000, "3000 raw requests");
			is(json_num(r.out, "\"raw\"", "200"), 3000, "each answered by one line");
			is(json_num(r.out, NULL, "protocol_errors"), 0, "no framing errors");
			kill(peer, SIGKILL);
			waitpid(peer, NULL, 0);
		} else {
			ok(false, "line peer");
		}
		if (pfd >= 0)
			close(pfd);
	}

	/* Lost responses: a peer that accepts and never answers. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 8) == 0 &&
	    getsockname(lfd, (struct sockaddr *)&a, &al) == 0) {
		char silent[16];
		snprintf(silent, sizeof(silent), "%d", ntohs(a.sin_port));
		const char *const argv_[] = { bench, "-p", silent, "-n", "5", "-P", "5", "-q",
		                        "--timeout", "200", "--json", NULL };
		run_prog(&r, NULL, RUN_MS, argv_);
		is(r.status, 1, "unanswered requests: exit 1");
		is(json_num(r.out, "\"total\"", "timeouts"), 5, "five timeouts reported");
	} else {
		ok(false, "silent peer");
	}
	if (lfd >= 0)
		close(lfd);
	ok(td_stop(&d, 10000) == 0, "daemon stopped");
	td_cleanup(&d);
	return done_testing();
}
