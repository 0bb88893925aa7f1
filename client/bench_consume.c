/*
 * bench_consume.c - --consumers N: N members of one consumer group on the
 * bench topic, each a thread over the library's consumer API, beside the
 * producers. A delivery of this run's put (its payload carries run,
 * producer, seq and the time it was sent) is counted once per
 * (producer, seq): the first delivery records its end-to-end latency, a
 * later one is a duplicate (at-least-once: rebalances may redeliver).
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/bench.h"

#define GROUP_POLL_MS 100
/* After the producers stop: give up when no first delivery arrived for
 * this long (the members report what they got; the run fails). */
#define GROUP_DRAIN_IDLE_MS 10000
#define SEEN_MIN 1024

struct seen_row {
	uint8_t *bits;               /* one byte per seq: delivered yet */
	uint64_t cap;
};

struct bench_member {
	pthread_t thread;
	struct bench_group *g;
	int index;
	struct pulsemq_consumer *k;
	uint64_t rebalances;
};

struct bench_group {
	struct bench_run *run;
	struct bench_member *members;
	int n;
	pthread_mutex_t lock;        /* seen, counts, e2e, error */
	struct seen_row *seen;       /* per producer (connection) */
	uint64_t delivered, duplicates, last_ns;
	struct bench_hist e2e;
	int error;
	char text[512];
	int stop;                    /* atomic */
};

/* 1 first delivery, 0 duplicate, -ENOMEM. Under g->lock. */
static int seen_mark(struct bench_group *g, uint32_t producer, uint64_t seq)
{
	struct seen_row *r = &g->seen[producer];
	if (seq >= r->cap) {
		uint64_t cap = r->cap ? r->cap : SEEN_MIN;
		while (cap <= seq)
			cap *= 2;
		uint8_t *bits = realloc(r->bits, (size_t)cap);
		if (!bits)
			return -ENOMEM;
		memset(bits + r->cap, 0, (size_t)(cap - r->cap));
		r->bits = bits;
		r->cap = cap;
	}
	if (r->bits[seq])
		return 0;
	r->bits[seq] = 1;
	return 1;
}

static int on_message(const struct pulsemq_message *m, int32_t partition, void *arg)
{
	(void)partition;
	struct bench_member *mb = arg;
	struct bench_group *g = mb->g;
	uint32_t producer;
	uint64_t seq;
	if (m->len < BENCH_STAMPED ||
	    bench_payload_check(m->payload, m->len, g->run->run_id, &producer, &seq) != 1 ||
	    producer >= (uint32_t)g->run->o->conns)
		return 0; /* another run's, or not a bench message */
	uint64_t now = bench_now_ns(), sent = bench_payload_sent(m->payload);
	pthread_mutex_lock(&g->lock);
	int first = seen_mark(g, producer, seq);
	if (first > 0) {
		g->delivered++;
		g->last_ns = now;
		bench_hist_record(&g->e2e, now > sent ? now - sent : 0);
	} else if (first == 0) {
		g->duplicates++;
	} else if (!g->error) {
		g->error = -ENOMEM;
		snprintf(g->text, sizeof g->text, "out of memory");
	}
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static void member_fail(struct bench_group *g, int index, const char *what, const char *why)
{
	pthread_mutex_lock(&g->lock);
	if (!g->error) {
		g->error = -EIO;
		snprintf(g->text, sizeof g->text, "consumer %d: %s: %s", index, what, why);
	}
	pthread_mutex_unlock(&g->lock);
}

static void *member_main(void *arg)
{
	struct bench_member *mb = arg;
	struct bench_group *g = mb->g;
	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		int n = pulsemq_consumer_poll(mb->k, GROUP_POLL_MS, on_message, mb);
		if (n < 0 && n != -ETIMEDOUT && n != -EAGAIN) {
			/* The library reconnects; a failing poll is reported, not fatal
			 * unless it keeps failing (then the drain gives up). */
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	__atomic_store_n(&mb->rebalances, pulsemq_consumer_rebalances(mb->k), __ATOMIC_RELAXED);
	pulsemq_consumer_close(mb->k);
	mb->k = NULL;
	return NULL;
}

int bench_group_start(struct bench_run *run)
{
	const struct bench_opts *o = run->o;
	struct bench_group *g = calloc(1, sizeof *g);
	if (!g)
		return -ENOMEM;
	g->run = run;
	g->n = o->consumers;
	g->members = calloc((size_t)g->n, sizeof *g->members);
	g->seen = calloc((size_t)o->conns, sizeof *g->seen);
	pthread_mutex_init(&g->lock, NULL);
	bench_hist_init(&g->e2e);
	run->group = g;
	if (!g->members || !g->seen) {
		g->n = 0;
		return -ENOMEM;
	}
	/* Open every member before any thread polls, so the first rebalances
	 * happen before the producers start, not in the middle of the run. */
	for (int i = 0; i < g->n; i++) {
		struct bench_member *mb = &g->members[i];
		mb->g = g;
		mb->index = i;
		struct pulsemq_consumer_options co;
		pulsemq_consumer_options_init(&co);
		co.group = o->group;
		co.topic = o->topic;
		co.conn.request_timeout_ms = o->timeout_ms;
		char id[64], err[256];
		snprintf(id, sizeof id, "bench-%08x-%d", run->run_id, i);
		co.client_id = id;
		if (pulsemq_consumer_open(&mb->k, o->host, o->port, &co, err, sizeof err) < 0) {
			member_fail(g, i, "cannot open", err);
			for (int j = 0; j < i; j++)
				pulsemq_consumer_close(g->members[j].k);
			g->n = 0;
			return -EIO;
		}
	}
	for (int i = 0; i < g->n; i++)
		if (pthread_create(&g->members[i].thread, NULL, member_main, &g->members[i]) != 0) {
			member_fail(g, i, "cannot start thread", strerror(errno));
			__atomic_store_n(&g->stop, 1, __ATOMIC_RELEASE);
			for (int j = 0; j < i; j++)
				pthread_join(g->members[j].thread, NULL);
			for (int j = i; j < g->n; j++)
				pulsemq_consumer_close(g->members[j].k);
			g->n = 0;
			return -EIO;
		}
	return 0;
}

static uint64_t delivered_now(struct bench_group *g)
{
	pthread_mutex_lock(&g->lock);
	uint64_t d = g->delivered;
	pthread_mutex_unlock(&g->lock);
	return d;
}

void bench_group_finish(struct bench_run *run, uint64_t produced, struct group_result *gr)
{
	struct bench_group *g = run->group;
	memset(gr, 0, sizeof *gr);
	bench_hist_init(&gr->e2e);
	gr->produced = produced;
	if (!g)
		return;
	uint64_t last = delivered_now(g), idle_since = bench_now_ns();
	while (!g->error && last < produced && !__atomic_load_n(&run->stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
		uint64_t d = delivered_now(g), now = bench_now_ns();
		if (d != last) {
			last = d;
			idle_since = now;
		} else if (now - idle_since > (uint64_t)GROUP_DRAIN_IDLE_MS * 1000000ull) {
			break;
		}
	}
	__atomic_store_n(&g->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < g->n; i++) {
		pthread_join(g->members[i].thread, NULL);
		gr->rebalances += g->members[i].rebalances;
	}
	gr->delivered = g->delivered;
	gr->duplicates = g->duplicates;
	gr->secs = g->last_ns > run->t0 ? (double)(g->last_ns - run->t0) / 1e9 : 0;
	bench_hist_merge(&gr->e2e, &g->e2e);
	gr->error = g->error;
	memcpy(gr->text, g->text, sizeof gr->text);
	for (int p = 0; p < run->o->conns; p++)
		free(g->seen[p].bits);
	free(g->seen);
	free(g->members);
	pthread_mutex_destroy(&g->lock);
	free(g);
	run->group = NULL;
}
