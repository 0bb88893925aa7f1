/*
 * rtt_bench.c - `version` round trips per second over C connections with D
 * requests in flight on each, against pulsemqd or memcached (the same load
 * generator for both, so the ratio compares the servers). -m hb sends
 * pulsemq `heartbeat` refreshes (LEN 0) instead, after one full
 * registration per connection (`producer rttbench`): issue 12 asks that a
 * refresh cost within 10% of a version.
 *
 *   rtt_bench [-m pmq|memcached|hb] [-c CONNS] [-d DEPTH] [-t SECONDS] PORT
 *
 * One thread, epoll, non-blocking sockets on 127.0.0.1. Each answer sends
 * the next request on its connection. Answers in the first 10% of the run
 * are not counted (warm-up). Prints one line:
 *   ops_per_sec N answered N busy N
 * where busy counts pulsemq answers other than 200 (503: queue full).
 */
#include <config.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "protocol/protocol.h"

#define RBUF 65536

struct conn {
	int fd;
	char rbuf[RBUF];
	size_t rlen;
	unsigned inflight;
	int32_t next_op;
	int registered;      /* -m hb: the full registration went out */
};

enum rtt_mode { MODE_PMQ, MODE_MEMCACHED, MODE_HB };
#define HB_BODY "producer rttbench\n"


static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int send_reqs(struct conn *c, unsigned n, int mode)
{
	char buf[32 * 1024];
	size_t len = 0;

	while (n-- > 0 && len + 64 < sizeof(buf)) {
		if (mode == MODE_MEMCACHED)
			len += (size_t)sprintf(buf + len, "version\r\n");
		else if (mode == MODE_HB && !c->registered) {
			len += (size_t)sprintf(buf + len, "heartbeat rtt-%d %zu %d\r\n%s", c->fd,
			                       strlen(HB_BODY), (int)c->next_op++, HB_BODY);
			c->registered = 1;
		} else if (mode == MODE_HB)
			len += (size_t)sprintf(buf + len, "heartbeat rtt-%d 0 %d\r\n", c->fd,
			                       (int)c->next_op++);
		else
			len += (size_t)sprintf(buf + len, "version %d\r\n", (int)c->next_op++);
		c->inflight++;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* Tiny requests, deep socket buffers: only under a stalled
			 * server. Spin politely. */
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Parses whole answers out of c->rbuf; returns how many, busy += non-200. */
static int parse(struct conn *c, int mode, unsigned long *busy)
{
	size_t off = 0;
	int n = 0;

	for (;;) {
		if (mode == MODE_MEMCACHED) {
			char *eol = memmem(c->rbuf + off, c->rlen - off, "\r\n", 2);
			if (!eol)
				break;
			off = (size_t)(eol - c->rbuf) + 2;
			n++;
			continue;
		}
		struct pmq_msg m;
		struct pmq_decode_error err;
		size_t used = 0;
		enum pmq_decode_status st = pmq_decode_response(NULL, c->rbuf + off,
		                                                c->rlen - off, &m, &used, &err);
		if (st == PMQ_DECODE_NEED_MORE)
			break;
		if (st == PMQ_DECODE_ERROR) {
			fprintf(stderr, "rtt_bench: bad answer: %s\n", err.text);
			return -1;
		}
		if (m.code != 200)
			(*busy)++;
		off += used;
		n++;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return n;
}

int main(int argc, char **argv)
{
	int conns = 1, depth = 1, mode = MODE_PMQ, opt, ep;
	double seconds = 2.0;
	unsigned long answered = 0, busy = 0, counted = 0;

	while ((opt = getopt(argc, argv, "m:c:d:t:")) != -1) {
		switch (opt) {
		case 'm':
			mode = !strcmp(optarg, "memcached") ? MODE_MEMCACHED
			       : !strcmp(optarg, "hb")      ? MODE_HB
			                                    : MODE_PMQ;
			break;
		case 'c': conns = atoi(optarg); break;
		case 'd': depth = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: rtt_bench [-m pmq|memcached|hb] [-c CONNS] [-d DEPTH] "
			        "[-t SECONDS] PORT\n");
			return 2;
		}
	}
	if (optind >= argc || conns < 1 || depth < 1) {
		fprintf(stderr, "rtt_bench: PORT required\n");
		return 2;
	}
	int port = atoi(argv[optind]);
	struct conn *cs = calloc((size_t)conns, sizeof(*cs));
	ep = epoll_create1(0);
	for (int i = 0; i < conns; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		int one = 1;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cs[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("rtt_bench: connect");
			return 1;
		}
		setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	for (int i = 0; i < conns; i++)
		if (send_reqs(&cs[i], (unsigned)depth, mode) != 0)
			return 1;

	uint64_t t0 = now_ns(), total_ns = (uint64_t)(seconds * 1e9);
	uint64_t warm = t0 + total_ns / 10, end = t0 + total_ns, counted_from = 0;
	unsigned long busy_at_warm = 0;
	struct epoll_event evs[256];
	for (;;) {
		uint64_t t = now_ns();
		if (t >= end)
			break;
		if (!counted_from && t >= warm) {
			counted_from = t;
			counted = answered;
			busy_at_warm = busy;
		}
		int n = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, MSG_DONTWAIT);
			if (r == 0) {
				fprintf(stderr, "rtt_bench: server closed a connection\n");
				return 1;
			}
			if (r < 0)
				continue;
			c->rlen += (size_t)r;
			int got = parse(c, mode, &busy);
			if (got < 0)
				return 1;
			answered += (unsigned long)got;
			c->inflight -= (unsigned)got;
			if (got > 0 && send_reqs(c, (unsigned)got, mode) != 0)
				return 1;
		}
	}
	uint64_t t1 = now_ns();
	double secs = (double)(t1 - (counted_from ? counted_from : t0)) / 1e9;
	printf("ops_per_sec %.0f answered %lu busy %lu\n",
	       (double)(answered - counted) / secs, answered - counted, busy - busy_at_warm);
	for (int i = 0; i < conns; i++)
		close(cs[i].fd);
	free(cs);
	close(ep);
	return 0;
}
