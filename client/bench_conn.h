/*
 * bench_conn.h - a bench worker's connections, shared by bench_worker.c
 * (the loop, pulsemq connections) and bench_raw.c (--raw sockets). Not
 * installed; one worker thread owns each of these.
 */
#ifndef PMQ_CLIENT_BENCH_CONN_H
#define PMQ_CLIENT_BENCH_CONN_H

#include "client/bench.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define BUMP(p) STORE((p), LOAD(p) + 1)

#define RAW_READ_CHUNK 65536   /* a raw answer line must fit */

struct bconn;

struct breq {
	struct bconn *bc;
	uint64_t start;
	int op;
	int partition;
	bool measured;
	uint64_t seq;
	struct breq *next_free;
};

struct bconn {
	struct bench_worker *w;
	uint32_t gid;                /* global connection index: producer id */
	struct pulsemq_conn *pc;     /* pulsemq mode */
	struct pulsemq_options popt;
	int rfd;                     /* raw mode */
	char *rin;
	size_t rin_len;
	char *rout;
	size_t rout_off, rout_len, rout_cap;
	uint64_t *rstart;            /* raw FIFO of start times, cap = pipeline */
	bool *rmeasured;
	size_t rhead, rcount;
	bool rdead;

	int fd_reg;                  /* what epoll knows */
	unsigned ev_reg;
	bool rereg;
	unsigned revents;

	int inflight;
	uint64_t budget;             /* requests left to send (-n) */
	uint64_t next_due;           /* open loop schedule (ns) */
	uint64_t interval;           /* open loop ns between requests */
	uint64_t mixpos;
	uint32_t rr_part;
	int fixed_part;              /* -z: this connection's partition; -1: round robin */
	int64_t *cursor;             /* get offset per partition */
	char *payload;
	struct breq *reqs, *free_reqs;
};

struct wstate {
	struct bench_worker *w;
	const struct bench_opts *o;
	struct bench_run *run;
	struct bconn *conns;
	int nconns;
	int ep;
	uint64_t progress_ns;        /* last completion or submission */
	int32_t get_max;
	unsigned mix_total;
};

/* Counts one completion (status > 0: an answer; else a local failure). */
void bench_count(struct bench_worker *w, bool measured, int op, int status,
                 uint64_t start, uint64_t now);

/* bench_raw.c: 0 or -errno / -EAGAIN (pipeline full, connection dead). */
int raw_connect(struct wstate *ws, struct bconn *bc);
int raw_submit(struct wstate *ws, struct bconn *bc, uint64_t start);
void raw_flush(struct wstate *ws, struct bconn *bc);
void raw_read(struct wstate *ws, struct bconn *bc);
/* Completes everything in flight as lost and closes. */
void raw_fail(struct wstate *ws, struct bconn *bc);

#endif
