/*
 * test_metrics.c - GET /metrics from the real pulsemqd (metrics_listen).
 *
 * The daemon binds metrics_listen = 127.0.0.1:0 (any free port) and logs the
 * port it got; the test reads it from the log, scrapes, and checks that
 * the exposition follows the broker's counters, and that every row of the
 * table of figures (server/common/counters.h) is both a `stats` line and a
 * /metrics sample of the running daemon. A bad or busy metrics_listen must
 * stop start-up with exit status 1.
 */
#include <config.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server/metrics/stats.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

/* Generous: sanitizer builds start and answer slowly. */
#define WAIT_MS 10000
/* An HTTP response larger than this is a bug here. */
#define RESPONSE_MAX (256 * 1024)

/* The port from the daemon's "metrics on ADDR, port N" log line, or -1. */
static int metrics_port(const struct td_daemon *d)
{
	uint64_t deadline = td_now_ms() + WAIT_MS;
	char line[1024];

	do {
		FILE *f = fopen(d->log_path, "r");
		if (f) {
			while (fgets(line, sizeof line, f)) {
				const char *p = strstr(line, "metrics on ");
				if (p && (p = strstr(p, ", port ")) != NULL) {
					int port = atoi(p + 7);
					if (port > 0) {
						fclose(f);
						return port;
					}
				}
			}
			fclose(f);
		}
		poll(NULL, 0, 20); /* the log line follows the port file closely */
	} while (td_now_ms() < deadline);
	return -1;
}

/* One HTTP/1.0 request; the whole response (the server closes), NUL
 * terminated, in a malloc'd buffer, or NULL. */
static char *http(int port, const char *method, const char *path)
{
	int fd = td_connect(port);
	char *buf = NULL;
	size_t len = 0;
	uint64_t deadline = td_now_ms() + WAIT_MS;

	if (fd < 0)
		return NULL;
	if (td_sendf(fd, "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path) != 0)
		goto fail;
	buf = malloc(RESPONSE_MAX + 1);
	if (!buf)
		goto fail;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - td_now_ms());
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			goto fail;
		ssize_t n = read(fd, buf + len, RESPONSE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == RESPONSE_MAX)
			goto fail;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

#define SLOW_CONNS 40      /* slowloris connections from one address */
#define SLOW_BYTE_MS 200   /* one header byte each this often */
#define SLOW_ROUNDS 100    /* bytes each at most: 20 s, past every deadline */
#define SCRAPE_MS 3000     /* must happen: a scrape under attack answers within this */

/* Opens SLOW_CONNS connections that trickle a request's headers; each turn,
 * scrapes once (must answer 200 within SCRAPE_MS, every time). Returns the
 * number of slow connections the server cut before SLOW_ROUNDS bytes. */
static int slowloris(int port, int *scrapes_ok, int *scrapes)
{
	static const char hdr[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
	int fd[SLOW_CONNS], cut = 0;

	/* Odd ones send whole POST headers at once and trickle the body. */
	for (int i = 0; i < SLOW_CONNS; i++) {
		fd[i] = td_connect(port);
		if (i % 2 && fd[i] >= 0)
			td_sendf(fd[i], "POST /metrics HTTP/1.1\r\nHost: localhost\r\n"
			         "Content-Length: 100000\r\n\r\n");
	}
	for (int round = 0; round < SLOW_ROUNDS && cut < SLOW_CONNS; round++) {
		for (int i = 0; i < SLOW_CONNS; i++) {
			char sink[256];
			char b = i % 2 == 0 && round < (int)sizeof hdr - 1 ? hdr[round] : 'x';
			if (fd[i] < 0)
				continue;
			ssize_t got = recv(fd[i], sink, sizeof sink, MSG_DONTWAIT);
			if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
			    send(fd[i], &b, 1, MSG_NOSIGNAL) != 1) {
				close(fd[i]);
				fd[i] = -1;
				cut++;
			}
		}
		if (round % 5 == 2) { /* about once a second */
			uint64_t t0 = td_now_ms();
			char *r = http(port, "GET", "/metrics");
			uint64_t dt = td_now_ms() - t0;
			int good = r && strncmp(r + 8, " 200", 4) == 0 && dt <= SCRAPE_MS;
			if (!good)
				diag("scrape in round %d failed after %llu ms", round,
				     (unsigned long long)dt);
			*scrapes_ok += good;
			(*scrapes)++;
			free(r);
		}
		poll(NULL, 0, SLOW_BYTE_MS); /* the attacker's pace, not a synchronisation */
	}
	for (int i = 0; i < SLOW_CONNS; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return cut;
}

/* The value of the first sample line starting with prefix, or -1. */
static long long sample(const char *text, const char *prefix)
{
	size_t plen = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, plen) == 0 && p[plen] == ' ')
			return atoll(p + plen + 1);
	return -1;
}

/* The body of `stats ITEM` from the daemon on port, NUL terminated, after a
 * '\n' so that every line starts after one; malloc'd, or NULL. */
static char *stats_body(int port, const char *item)
{
	struct td_conn c;
	char req[64], *body = NULL;
	int fd = td_connect(port);
	int n = snprintf(req, sizeof req, "stats %s 9\r\n", item);

	if (fd < 0)
		return NULL;
	td_conn_init(&c, fd);
	if (td_roundtrip(&c, req, (size_t)n, WAIT_MS) == 1 && c.msg.cmd == PMQ_CMD_RESULT &&
	    c.msg.code == 200 && (body = malloc(c.msg.body.len + 2)) != NULL) {
		body[0] = '\n';
		memcpy(body + 1, c.msg.body.ptr, c.msg.body.len);
		body[c.msg.body.len + 1] = '\0';
	}
	td_conn_free(&c);
	return body;
}

/* Every instance of every row of the table: a `stats` line of its item,
 * and (unless the row stays out of /metrics) a sample in scrape. */
static void check_table(int port, const char *scrape)
{
	struct stats_source names = { .pools = 3, .pool_names = { "get", "put", "heartbeat" } };
	char *body[STAT_ITEM_COUNT];
	int no_line = 0, no_sample = 0, rows = 0;

	for (int it = 0; it < STAT_ITEM_COUNT; it++) {
		const char *item = stat_item_name((enum stat_item)it);
		body[it] = stats_body(port, item); /* "": `stats  9`, the empty item */
	}
	long long io = td_stat(port, "sessions", "io_threads");
	ok(io > 0 && body[0] && body[1] && body[2], "stats, stats pools, stats sessions (%lld IO "
	   "threads)", io);
	names.io_threads = io > 0 ? (unsigned)io : 0;
	for (int fig = 0; fig < FIG_COUNT; fig++) {
		const struct stat_figure_info *f = &stat_figures[fig];
		const char *label = stat_dim_label(f->dim);
		unsigned n = stats_instances(&names, f->dim);
		for (unsigned i = 0; i < n; i++) {
			char key[128], want[400], inst[64];
			rows++;
			snprintf(want, sizeof want, "\n%s ",
			         stats_key(&names, f, i, key, sizeof key));
			if (!body[f->item] || !strstr(body[f->item], want)) {
				diag("no stats line %s", key);
				no_line++;
			}
			if (!f->prom[0])
				continue;
			stats_instance_name(&names, f->dim, i, inst, sizeof inst);
			if (label)
				snprintf(want, sizeof want, "\n%s{%s=\"%s\"%s%s} ", f->prom, label, inst,
				         f->plabel[0] ? "," : "", f->plabel);
			else if (f->plabel[0])
				snprintf(want, sizeof want, "\n%s{%s} ", f->prom, f->plabel);
			else
				snprintf(want, sizeof want, "\n%s ", f->prom);
			if (!scrape || !strstr(scrape, want)) {
				diag("no sample %.*s", (int)strlen(want) - 2, want + 1);
				no_sample++;
			}
		}
	}
	is(no_line, 0, "every row of the table (%d) is a line of the daemon's stats", rows);
	is(no_sample, 0, "and every exported one a sample of its /metrics");
	for (int it = 0; it < STAT_ITEM_COUNT; it++)
		free(body[it]);
}

/* Runs pulsemqd with extra -o settings and returns its exit status (or -1
 * when it had to be killed: it should have refused to start). */
static int run_expect_exit(const char *data_dir, const char *setting)
{
	const char *bin = getenv("PULSEMQD");
	char dd[700];
	pid_t pid;
	int status;
	uint64_t deadline = td_now_ms() + WAIT_MS;

	snprintf(dd, sizeof dd, "data_dir=%s", data_dir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(bin ? bin : "./pulsemqd", "pulsemqd", "-l", "127.0.0.1", "-p", "0", "-o", dd,
		      "-o", setting, (char *)NULL);
		_exit(127);
	}
	while (td_now_ms() < deadline) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		poll(NULL, 0, 20); /* waiting for a child: no fd to wait on */
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int main(void)
{
	static const char *const settings[] = { "metrics_listen=127.0.0.1:0", NULL };
	struct td_daemon d;
	char *r;
	char busy[64], other_dir[700];

	if (td_start(&d, settings) != 0)
		bail_out("pulsemqd did not start with metrics_listen");
	int mport = metrics_port(&d);
	ok(mport > 0, "the daemon logs the metrics port it bound (%d)", mport);
	if (mport <= 0)
		bail_out("no metrics port");

	r = http(mport, "GET", "/metrics");
	ok(r && strncmp(r, "HTTP/1.", 7) == 0 && strncmp(r + 8, " 200", 4) == 0,
	   "GET /metrics answers 200");
	ok(r && strstr(r, "text/plain; version=0.0.4") != NULL,
	   "in the Prometheus text format");
	ok(r && strstr(r, "pulsemq_build_info{version=\"" PACKAGE_VERSION "\"} 1\n") != NULL,
	   "with the build info");
	long long before = r ? sample(r, "pulsemq_connections_accepted_total") : -1;
	ok(before >= 0, "and the accepted-connections counter (%lld)", before);
	ok(r && sample(r, "pulsemq_pool_queue_depth{pool=\"get\"}") >= 0,
	   "and the get pool's queue depth");
	free(r);

	/* Traffic on the broker port shows up in the next scrape. */
	int fd = td_connect(d.port);
	struct td_conn c;
	td_conn_init(&c, fd);
	ok(fd >= 0 && td_roundtrip(&c, "version 7\r\n", 11, WAIT_MS) == 1, "a version request");
	r = http(mport, "GET", "/metrics");
	ok(r && sample(r, "pulsemq_sessions{state=\"open\"}") == 1 &&
	   sample(r, "pulsemq_sessions{state=\"draining\"}") == 0,
	   "sessions by state: the open connection");
	ok(r && sample(r, "pulsemq_sessions_throttled") == 0 &&
	   sample(r, "pulsemq_sessions_heartbeat_outstanding") == 0,
	   "none throttled, no heartbeat outstanding");
	long long n = r ? sample(r, "pulsemq_command_duration_seconds_count{command=\"version\"}") : -1;
	ok(n == 1 && sample(r, "pulsemq_command_duration_seconds_bucket{command=\"version\","
	                       "le=\"+Inf\"}") == 1,
	   "the version request's latency is in its histogram (count %lld)", n);
	ok(r && strstr(r, "# TYPE pulsemq_command_duration_seconds histogram\n") != NULL &&
	   sample(r, "pulsemq_command_duration_seconds_count{command=\"put\"}") == 0,
	   "a histogram per pool-served command");
	ok(r && strstr(r, "# TYPE pulsemq_pool_queue_wait_seconds histogram\n") != NULL &&
	   sample(r, "pulsemq_pool_queue_wait_seconds_count{pool=\"heartbeat\"}") == 1,
	   "the heartbeat pool's queue-wait histogram counts it");
	free(r);
	td_conn_free(&c);
	r = http(mport, "GET", "/metrics");
	long long after = r ? sample(r, "pulsemq_connections_accepted_total") : -1;
	ok(after >= before + 1, "the next scrape counts the connection (%lld -> %lld)", before,
	   after);
	ok(r && sample(r, "pulsemq_commands_total{command=\"version\"}") >= 1,
	   "and the version command");
	check_table(d.port, r);
	free(r);

	/* Consumer groups (doc/registration.md): members and lag per partition. */
	fd = td_connect(d.port);
	td_conn_init(&c, fd);
	static const char reg[] = "heartbeat mc-1 15 1\r\nconsumer mg mt\n";
	static const char put[] = "put mt 0 5 0 1\r\nhello";
	static const char commit[] = "commit mt mg 0 5 2\r\n";
	ok(td_roundtrip(&c, reg, sizeof reg - 1, WAIT_MS) == 1 && c.msg.code == 200 &&
	   td_roundtrip(&c, put, sizeof put - 1, WAIT_MS) == 1 && c.msg.code == 200 &&
	   td_roundtrip(&c, commit, sizeof commit - 1, WAIT_MS) == 1 && c.msg.code == 200,
	   "a consumer registers, a put, a commit of 5 of its 25 bytes");
	r = http(mport, "GET", "/metrics");
	ok(r && sample(r, "pulsemq_consumer_group_members{group=\"mg\"}") == 1 &&
	   sample(r, "pulsemq_registered_clients") == 1,
	   "pulsemq_consumer_group_members and pulsemq_registered_clients");
	ok(r && sample(r, "pulsemq_consumer_group_lag_bytes{group=\"mg\",topic=\"mt\","
	                  "partition=\"0\"}") == 20, "pulsemq_consumer_group_lag_bytes 20");
	free(r);
	td_conn_free(&c);

	r = http(mport, "GET", "/other");
	ok(r && strstr(r, " 404 ") != NULL, "another path answers 404");
	free(r);
	r = http(mport, "DELETE", "/metrics");
	ok(r && strstr(r, " 405 ") != NULL, "another method answers 405");
	free(r);

	int scrapes_ok = 0, scrapes = 0;
	int cut = slowloris(mport, &scrapes_ok, &scrapes);
	ok(scrapes > 0 && scrapes_ok == scrapes,
	   "%d slow-header connections: every scrape still answers within %d ms (%d of %d)",
	   SLOW_CONNS, SCRAPE_MS, scrapes_ok, scrapes);
	is(cut, SLOW_CONNS, "and every slow connection is cut though it kept sending");

	/* Start-up refuses what it cannot honour, with status 1. (Its own data
	 * directory: two daemons must never share one.) */
	snprintf(other_dir, sizeof other_dir, "%s/other", d.dir);
	snprintf(busy, sizeof busy, "metrics_listen=127.0.0.1:%d", mport);
	is(run_expect_exit(other_dir, busy), 1, "a metrics port in use stops start-up (1)");
	is(run_expect_exit(other_dir, "metrics_listen=no-port-here"), 1,
	   "a metrics_listen without a port stops start-up (1)");

	is(td_stop(&d, WAIT_MS), 0, "SIGTERM stops the daemon with its metrics thread (0)");
	td_cleanup(&d);
	return done_testing();
}
