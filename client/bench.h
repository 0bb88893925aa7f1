/*
 * bench.h - pulsemq-bench's parts: options (bench_opts.c), the per-thread
 * event loop (bench_worker.c), read-back verification (bench_verify.c),
 * the report (bench_report.c) and main (bench.c).
 *
 * Threads: main starts T workers, each owning its connections, one epoll
 * set and its own statistics. Workers write their statistics with relaxed
 * atomic stores (one writer); main reads them with atomic loads once a
 * second for the progress line and, after joining, for the report.
 */
#ifndef PMQ_CLIENT_BENCH_H
#define PMQ_CLIENT_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/bench_hist.h"
#include "client/pulsemq.h"

enum bench_op { OP_PUT, OP_GET, OP_VERSION, OP_RAW, OP_COUNT };

struct bench_opts {
	const char *host;
	int port;
	int conns, threads, pipeline;
	double duration_s;   /* 0 = until -n is reached */
	uint64_t total;      /* -n: requests over all connections; 0 = -d */
	double rate;         /* --rate: requests/s over all connections; 0 = closed loop */
	unsigned mix[3];     /* put:get:version weights */
	size_t msg_size;
	const char *topic;
	const char *group;
	int partitions;
	int consumers;       /* --consumers: group members beside the producers */
	double warmup_s;
	bool json;
	char *raw;           /* --raw bytes (escapes decoded), or NULL */
	size_t raw_len;
	bool verify;
	int timeout_ms;      /* request timeout */
	int heartbeat_ms;
	bool quiet;          /* no progress line */
	/* -z ZK[/ROOT]: connections spread over the topic's partitions found in
	 * the registry, connection i on routes[i % nroutes]. */
	const char *zk;
	struct pulsemq_route *routes;
	size_t nroutes;
};

/* Statistics of one command (put, get, ...). Status codes are counted
 * each; local outcomes separately. */
#define BENCH_MAX_CONSUMERS 1024 /* --consumers: one thread and connection each */
#define BENCH_CODES 600
struct op_stats {
	uint64_t completed;          /* every completion, local failures included */
	uint64_t codes[BENCH_CODES]; /* broker status codes (index = code) */
	uint64_t other_codes;        /* codes outside 0..599 */
	uint64_t timeouts;           /* -ETIMEDOUT */
	uint64_t lost;               /* the connection went away first */
	struct bench_hist lat;             /* ns, answered requests only */
};

struct bench_stats {
	struct op_stats op[OP_COUNT];
	uint64_t protocol_errors;
	uint64_t first_ns, last_ns;  /* first start and last completion measured */
};

/* What a put returned, kept for --verify. */
struct bench_ack {
	uint32_t producer;
	int32_t partition;
	uint64_t seq;
};

struct bench_worker {
	int id;
	pthread_t thread;
	const struct bench_opts *o;
	struct bench_run *run;
	struct bench_stats warm;     /* during warmup, thrown away */
	struct bench_stats meas;     /* measured */
	uint64_t heartbeats, reconnects, conn_protocol_errors;
	bool stalled;                /* gave up: nothing moved for too long */
	int connect_error;           /* -errno when a connection failed at start */
	char connect_text[256];
	struct bench_ack *acks;      /* --verify */
	size_t nacks, acks_cap;
	uint64_t puts_sent;          /* --verify: highest seq per producer + 1 */
};

struct bench_run {
	const struct bench_opts *o;
	struct bench_worker *workers;
	pthread_barrier_t connected, go;
	int abort;                   /* set by main between the barriers */
	uint64_t t0, warm_end, t_end; /* ns, monotonic; t_end 0 = -n mode */
	int stop;                    /* atomic: stop issuing (signal) */
	uint32_t run_id;             /* marks this run's messages (--verify) */
	uint64_t *producer_seq;      /* per connection: puts issued (verify) */
	int finished;                /* atomic: workers done */
	struct bench_group *group;   /* --consumers, or NULL */
};

uint64_t bench_now_ns(void);
/* 0, or 2 after printing a usage error. */
int bench_parse(struct bench_opts *o, int argc, char **argv);
void *bench_worker_main(void *arg);

/* Payload layout of a put, so that --verify can recognise it. */
#define BENCH_MAGIC 0x504d5142u /* "PMQB" */
#define BENCH_HEADER 20          /* magic, run, producer, seq (u64) */
/* From this size on, a put also carries when it was sent (u64 ns,
 * monotonic) after the header, for --consumers' end-to-end latency. */
#define BENCH_STAMPED (BENCH_HEADER + 8)
void bench_payload_fill(char *buf, size_t len, uint32_t run, uint32_t producer, uint64_t seq,
                        uint64_t sent_ns);
/* 1 ours and intact, 0 not ours (another run), -1 ours but corrupted. */
int bench_payload_check(const char *buf, size_t len, uint32_t run,
                        uint32_t *producer, uint64_t *seq);
/* The send time of a payload of BENCH_STAMPED bytes or more. */
uint64_t bench_payload_sent(const char *buf);

/* --consumers (bench_consume.c): N members of --group on --topic, each a
 * thread over the library's consumer API, counting first deliveries of
 * this run's puts and their end-to-end latency (put sent -> delivered). */
struct group_result {
	uint64_t produced;           /* puts acknowledged 200 */
	uint64_t delivered;          /* of those and this run's others: distinct */
	uint64_t duplicates;         /* deliveries of a message already delivered */
	uint64_t rebalances;         /* over all members, first assignments included */
	double secs;                 /* first put sent -> last first delivery */
	struct bench_hist e2e;       /* ns, first deliveries */
	int error;                   /* a member could not open / poll */
	char text[512];
};
int bench_group_start(struct bench_run *run);
/* After the producers are joined: waits until every acknowledged put was
 * delivered (or nothing arrived for a while), stops the members. */
void bench_group_finish(struct bench_run *run, uint64_t produced, struct group_result *gr);

struct verify_result {
	uint64_t acked, found, missing, duplicated, corrupted, unacked, foreign;
	int error;                   /* -errno when reading back failed */
	char text[256];
};
void bench_verify(const struct bench_run *run, struct verify_result *vr);

/* Prints the report (text or JSON); returns the process exit status. */
int bench_report(const struct bench_run *run, const struct bench_stats *total_by_op,
                 const struct verify_result *vr, const struct group_result *gr);
/* Sums workers' measured stats (atomic loads: workers may be running). */
void bench_stats_sum(const struct bench_run *run, struct bench_stats *sum, bool warm);

#endif
