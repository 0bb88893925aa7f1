/*
 * bench_verify.c - --verify: every put carries (run, producer, seq) and a
 * pattern derived from seq; afterwards every partition is read back from
 * offset 0 and each acknowledged put must be found exactly once, intact.
 * Messages of other runs are counted and ignored; puts found but never
 * acknowledged (timed out) are counted as unacked, not as errors.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/bench.h"

static void put32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static uint32_t get32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static char pattern(uint64_t seq, size_t i)
{
	return (char)('a' + (seq * 7 + i) % 26);
}

static size_t pattern_start(size_t len)
{
	return len >= BENCH_STAMPED ? BENCH_STAMPED : BENCH_HEADER;
}

uint64_t bench_payload_sent(const char *buf)
{
	return (uint64_t)get32(buf + BENCH_HEADER) << 32 | get32(buf + BENCH_HEADER + 4);
}

void bench_payload_fill(char *buf, size_t len, uint32_t run, uint32_t producer, uint64_t seq,
                        uint64_t sent_ns)
{
	if (len < BENCH_HEADER) {
		memset(buf, 'x', len);
		return;
	}
	put32(buf, BENCH_MAGIC);
	put32(buf + 4, run);
	put32(buf + 8, producer);
	put32(buf + 12, (uint32_t)(seq >> 32));
	put32(buf + 16, (uint32_t)seq);
	if (len >= BENCH_STAMPED) {
		put32(buf + BENCH_HEADER, (uint32_t)(sent_ns >> 32));
		put32(buf + BENCH_HEADER + 4, (uint32_t)sent_ns);
	}
	for (size_t i = pattern_start(len); i < len; i++)
		buf[i] = pattern(seq, i);
}

int bench_payload_check(const char *buf, size_t len, uint32_t run,
                        uint32_t *producer, uint64_t *seq)
{
	if (len < BENCH_HEADER || get32(buf) != BENCH_MAGIC || get32(buf + 4) != run)
		return 0;
	*producer = get32(buf + 8);
	*seq = (uint64_t)get32(buf + 12) << 32 | get32(buf + 16);
	for (size_t i = pattern_start(len); i < len; i++)
		if (buf[i] != pattern(*seq, i))
			return -1;
	return 1;
}

/* seen[producer][seq]: saturating counts; acked likewise (0/1). */
struct tally {
	uint32_t producers;
	uint64_t *limit;     /* seqs issued per producer */
	uint8_t **seen, **acked;
};

static void tally_free(struct tally *t)
{
	for (uint32_t p = 0; t->seen && p < t->producers; p++) {
		free(t->seen[p]);
		free(t->acked[p]);
	}
	free(t->seen);
	free(t->acked);
}

static int tally_init(struct tally *t, const struct bench_run *run)
{
	t->producers = (uint32_t)run->o->conns;
	t->limit = run->producer_seq;
	t->seen = calloc(t->producers, sizeof(*t->seen));
	t->acked = calloc(t->producers, sizeof(*t->acked));
	if (!t->seen || !t->acked)
		return -ENOMEM;
	for (uint32_t p = 0; p < t->producers; p++) {
		t->seen[p] = calloc(t->limit[p] + 1, 1);
		t->acked[p] = calloc(t->limit[p] + 1, 1);
		if (!t->seen[p] || !t->acked[p])
			return -ENOMEM;
	}
	return 0;
}

static int read_partition(struct pulsemq_conn *c, const struct bench_opts *o, int part,
                          uint32_t run_id, struct tally *t, struct verify_result *vr)
{
	int64_t offset = 0;
	int32_t max_size = 1 << 20;
	for (;;) {
		struct pulsemq_msgset set;
		struct pulsemq_error err;
		int rc = pulsemq_get(c, o->topic, "pulsemq-bench-verify", part, offset, &max_size,
		                     &set, &err);
		if (rc == 404)
			return 0; /* the end */
		if (rc == 301) {
			/* Before the first segment (retention): skip to it. */
			offset = strtoll(err.text, NULL, 10);
			continue;
		}
		if (rc != 0) {
			vr->error = rc < 0 ? rc : -EIO;
			snprintf(vr->text, sizeof(vr->text), "get %.60s-%d at %lld: %d %.150s", o->topic,
			         part, (long long)offset, err.status, err.text);
			return -1;
		}
		size_t pos = 0;
		struct pulsemq_message m;
		int r;
		while ((r = pulsemq_msgset_next(&set, &pos, &m)) != 0) {
			if (r == -EPROTO) {
				vr->corrupted++;
				break;
			}
			uint32_t producer;
			uint64_t seq;
			int ck = bench_payload_check(m.payload, m.len, run_id, &producer, &seq);
			if (r == -EBADMSG || ck < 0) {
				vr->corrupted++;
				continue;
			}
			if (ck == 0 || producer >= t->producers || seq >= t->limit[producer]) {
				vr->foreign++;
				continue;
			}
			vr->found++;
			if (t->seen[producer][seq] < 255)
				t->seen[producer][seq]++;
		}
		bool stuck = pos == 0;
		offset += (int64_t)pos;
		pulsemq_msgset_free(&set);
		if (stuck)
			return 0; /* only a bad header left: nothing after it can be read */
	}
}

void bench_verify(const struct bench_run *run, struct verify_result *vr)
{
	const struct bench_opts *o = run->o;
	memset(vr, 0, sizeof(*vr));
	struct tally t = { 0 };
	struct pulsemq_conn *c = NULL;
	struct pulsemq_options po;
	pulsemq_options_init(&po);
	po.request_timeout_ms = o->timeout_ms;
	if (tally_init(&t, run) < 0) {
		vr->error = -ENOMEM;
		snprintf(vr->text, sizeof(vr->text), "out of memory");
		goto out;
	}
	for (int i = 0; i < o->threads; i++) {
		const struct bench_worker *w = &run->workers[i];
		for (size_t k = 0; k < w->nacks; k++) {
			const struct bench_ack *a = &w->acks[k];
			if (a->producer < t.producers && a->seq < t.limit[a->producer])
				t.acked[a->producer][a->seq] = 1;
		}
	}
	int rc = pulsemq_connect(&c, o->host, o->port, &po, vr->text, sizeof(vr->text));
	if (rc < 0) {
		vr->error = rc;
		goto out;
	}
	for (int p = 0; p < o->partitions; p++)
		if (read_partition(c, o, p, run->run_id, &t, vr) < 0)
			goto out;
	for (uint32_t p = 0; p < t.producers; p++)
		for (uint64_t s = 0; s < t.limit[p]; s++) {
			if (t.acked[p][s]) {
				vr->acked++;
				if (t.seen[p][s] == 0)
					vr->missing++;
			} else if (t.seen[p][s]) {
				vr->unacked++;
			}
			if (t.seen[p][s] > 1)
				vr->duplicated += t.seen[p][s] - 1u;
		}
out:
	pulsemq_close(c);
	tally_free(&t);
}
