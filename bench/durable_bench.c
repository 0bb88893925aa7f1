/*
 * durable_bench.c - durable puts per second, pulsemqd beside redis and
 * beanstalkd in the same run, each told to sync every write:
 *   pulsemqd    flush_mode = sync (group commit)
 *   redis       appendonly yes, appendfsync always, RPUSH of the payload
 *   beanstalkd  -b DIR -f 0 (fsync after every write), put
 * at 1 and 50 connections (each a closed loop: one request in flight),
 * 100-byte messages, median of 3 runs; then pulsemqd's get throughput for
 * 1 MiB reads from a warm partition, and its fsyncs per put.
 *
 * Not a test: run it by hand (`make bench/durable_bench && bench/durable_bench`)
 * with PULSEMQD pointing at the daemon; REDIS_SERVER and BEANSTALKD override
 * /usr/bin/redis-server and /usr/bin/beanstalkd. A peer that is missing is
 * skipped. Options: -t SECONDS per run (default 3), -r RUNS (default 3).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tests/lib/daemon.h"

#define PAYLOAD 100
#define MAX_CONNS 50
#define GET_BYTES (1 << 20)
#define WARM_BYTES (64 << 20)

enum peer { P_PULSEMQ, P_REDIS, P_BEANSTALK };
static const char *peer_name[] = { "pulsemqd", "redis", "beanstalkd" };

static atomic_bool stop_flag;
static pthread_barrier_t connected; /* timing starts once all are connected */
static atomic_long ops;
static atomic_ullong max_lat_ms; /* slowest single request of a run */
static int run_seconds = 3, runs = 3;
static char payload[PAYLOAD];

struct client {
	enum peer peer;
	int port;
};

/* Reads until buf holds a line ending "\r\n"; the line's length or -1. */
static int read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		if (n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')
			return (int)n;
	}
	return -1;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	char req[512], line[256];
	int fd = td_connect(c->port), n = 0;
	struct td_conn tc;
	pthread_barrier_wait(&connected);
	if (fd < 0)
		return NULL;
	td_conn_init(&tc, fd);
	switch (c->peer) {
	case P_PULSEMQ:
		n = snprintf(req, sizeof req, "put bench 0 %d 0 1\r\n", PAYLOAD);
		break;
	case P_REDIS:
		n = snprintf(req, sizeof req, "*3\r\n$5\r\nRPUSH\r\n$5\r\nbench\r\n$%d\r\n", PAYLOAD);
		break;
	case P_BEANSTALK:
		n = snprintf(req, sizeof req, "put 0 0 60 %d\r\n", PAYLOAD);
		break;
	}
	memcpy(req + n, payload, PAYLOAD);
	n += PAYLOAD;
	if (c->peer != P_PULSEMQ) {
		memcpy(req + n, "\r\n", 2);
		n += 2;
	}
	while (!atomic_load(&stop_flag)) {
		uint64_t t0 = td_now_ms();
		if (td_send(fd, req, (size_t)n) != 0)
			break;
		if (c->peer == P_PULSEMQ) {
			int rc = td_read_msg(&tc, 30000);
			if (rc != 1 || tc.msg.code != 200) {
				fprintf(stderr, "client: read %d, code %d: %.*s\n", rc,
				        rc == 1 ? tc.msg.code : 0,
				        rc == 1 ? (int)tc.msg.body.len : 0, rc == 1 ? tc.msg.body.ptr : "");
				break;
			}
		} else {
			int l = read_line(fd, line, sizeof line);
			if (l < 0 || (c->peer == P_REDIS && line[0] != ':') ||
			    (c->peer == P_BEANSTALK && strncmp(line, "INSERTED", 8) != 0))
				break;
		}
		atomic_fetch_add(&ops, 1);
		unsigned long long lat = td_now_ms() - t0, prev = atomic_load(&max_lat_ms);
		while (lat > prev && !atomic_compare_exchange_weak(&max_lat_ms, &prev, lat))
			;
	}
	td_conn_free(&tc);
	return NULL;
}

/* Puts per second over one run with conns closed-loop connections. */
static double measure(enum peer peer, int port, int conns)
{
	pthread_t th[MAX_CONNS];
	struct client cl[MAX_CONNS];
	atomic_store(&stop_flag, false);
	atomic_store(&ops, 0);
	atomic_store(&max_lat_ms, 0);
	pthread_barrier_init(&connected, NULL, (unsigned)conns + 1);
	for (int i = 0; i < conns; i++) {
		cl[i] = (struct client){ peer, port };
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	pthread_barrier_wait(&connected);
	uint64_t t0 = td_now_ms();
	poll(NULL, 0, run_seconds * 1000); /* the measurement interval itself */
	long n = atomic_load(&ops);
	uint64_t t1 = td_now_ms();
	atomic_store(&stop_flag, true);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&connected);
	return (double)n * 1000.0 / (double)(t1 - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* td_connect() reports each failure; polling a starting peer should not. */
static bool port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool up = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (fd >= 0)
		close(fd);
	return up;
}

/* Starts argv; waits until port accepts. The pid, or -1. */
static pid_t spawn_peer(const char *const *argv, int port)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	uint64_t deadline = td_now_ms() + 10000;
	while (td_now_ms() < deadline) {
		if (port_open(port))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop_peer(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void bench_puts(enum peer peer, int port, struct td_daemon *d)
{
	static const int conns[] = { 1, 50 };
	for (size_t k = 0; k < 2; k++) {
		double v[16];
		long long p0 = 0, f0 = 0;
		if (d) {
			p0 = td_stat(d->port, "", "store_puts");
			f0 = td_stat(d->port, "", "store_fsyncs");
		}
		unsigned long long worst = 0;
		for (int r = 0; r < runs; r++) {
			v[r] = measure(peer, port, conns[k]);
			if (atomic_load(&max_lat_ms) > worst)
				worst = atomic_load(&max_lat_ms);
		}
		printf("%-10s %2d conn: %9.0f puts/s (median of %d:", peer_name[peer], conns[k],
		       median(v, runs), runs);
		for (int r = 0; r < runs; r++)
			printf(" %.0f", v[r]);
		printf(") max latency %llu ms", worst);
		if (d) {
			long long p1 = td_stat(d->port, "", "store_puts");
			long long f1 = td_stat(d->port, "", "store_fsyncs");
			if (p1 > p0)
				printf("  fsyncs/put %.3f", (double)(f1 - f0) / (double)(p1 - p0));
		}
		printf("\n");
		fflush(stdout);
	}
}

/* 1 MiB gets from a warm partition: MB/s, median of runs. */
static void bench_gets(int port)
{
	int fd = td_connect(port);
	struct td_conn c;
	static char big[32768 + 64];
	char line[128];
	td_conn_init(&c, fd);
	int hl = snprintf(big, sizeof big, "put warm 0 32768 0 1\r\n");
	memset(big + hl, 'w', 32768);
	for (long done = 0; done < WARM_BYTES; done += 32768 + 20)
		if (td_roundtrip(&c, big, (size_t)hl + 32768, 30000) != 1 || c.msg.code != 200) {
			printf("get bench: prefill failed\n");
			td_conn_free(&c);
			return;
		}
	double v[16];
	for (int r = -1; r < runs; r++) { /* run -1 warms the page cache */
		uint64_t t0 = td_now_ms(), bytes = 0;
		int64_t off = 0;
		while (td_now_ms() - t0 < (uint64_t)run_seconds * 1000) {
			int n = snprintf(line, sizeof line, "get warm g 0 %" PRId64 " %d 2\r\n", off,
			                 GET_BYTES);
			if (td_roundtrip(&c, line, (size_t)n, 30000) != 1)
				break;
			if (c.msg.cmd != PMQ_CMD_VALUE) {
				off = 0; /* at the end: start over */
				continue;
			}
			bytes += c.msg.body.len;
			off += (int64_t)c.msg.body.len;
		}
		if (r >= 0)
			v[r] = (double)bytes / 1048576.0 / ((double)(td_now_ms() - t0) / 1000.0);
	}
	printf("%-10s get 1 MiB reads, 1 conn: %7.0f MB/s (median of %d:", "pulsemqd",
	       median(v, runs), runs);
	for (int r = 0; r < runs; r++)
		printf(" %.0f", v[r]);
	printf(")\n");
	td_conn_free(&c);
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "t:r:")) != -1) {
		if (opt == 't')
			run_seconds = atoi(optarg);
		else if (opt == 'r')
			runs = atoi(optarg);
	}
	if (run_seconds < 1 || runs < 1 || runs > 16) {
		fprintf(stderr, "usage: durable_bench [-t SECONDS] [-r RUNS (1..16)]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(payload, 'p', sizeof payload);
	if (!getenv("PMQ_TEST_TMPDIR"))
		setenv("PMQ_TEST_TMPDIR", "/tmp", 0);
	printf("durable puts: %d-byte messages, closed loop, %d s per run, median of %d\n",
	       PAYLOAD, run_seconds, runs);

	struct td_daemon d;
	const char *settings[] = { "flush_mode=sync", "log_level=warn", "put_threads=2", NULL };
	if (td_start(&d, settings) != 0) {
		fprintf(stderr, "cannot start pulsemqd (set PULSEMQD)\n");
		return 1;
	}
	bench_puts(P_PULSEMQ, d.port, &d);
	bench_gets(d.port);
	td_stop(&d, 30000);

	char tmpl[600];
	snprintf(tmpl, sizeof tmpl, "%s/peers.XXXXXX", getenv("PMQ_TEST_TMPDIR"));
	char *dir = mkdtemp(tmpl);
	char ports[16], cmd[1200];
	const char *redis = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER") : "/usr/bin/redis-server";
	const char *bean = getenv("BEANSTALKD") ? getenv("BEANSTALKD") : "/usr/bin/beanstalkd";

	int port = free_port();
	snprintf(ports, sizeof ports, "%d", port);
	const char *rargv[] = { redis, "--port", ports, "--bind", "127.0.0.1", "--dir", dir,
	                  "--appendonly", "yes", "--appendfsync", "always", "--save", "",
	                  NULL };
	pid_t pid = dir && access(redis, X_OK) == 0 ? spawn_peer(rargv, port) : -1;
	if (pid > 0) {
		bench_puts(P_REDIS, port, NULL);
		stop_peer(pid);
	} else {
		printf("redis      skipped (%s not runnable)\n", redis);
	}

	port = free_port();
	snprintf(ports, sizeof ports, "%d", port);
	const char *bargv[] = { bean, "-l", "127.0.0.1", "-p", ports, "-b", dir, "-f", "0", NULL };
	pid = dir && access(bean, X_OK) == 0 ? spawn_peer(bargv, port) : -1;
	if (pid > 0) {
		bench_puts(P_BEANSTALK, port, NULL);
		stop_peer(pid);
	} else {
		printf("beanstalkd skipped (%s not runnable)\n", bean);
	}
	if (dir) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	if (!getenv("PMQ_BENCH_KEEP"))
		td_cleanup(&d);
	else
		printf("pulsemqd's directory kept: %s\n", d.dir);
	return 0;
}
