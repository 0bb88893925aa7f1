/*
 * bench_hist.c - the log-linear histogram of bench_hist.h.
 */
#include <config.h>

#include <string.h>

#include "client/bench_hist.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

void bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

unsigned bench_hist_bucket(uint64_t v)
{
	if (v < BENCH_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* v in [2^e, 2^(e+1)) */
	if (e >= BENCH_HIST_MAX_EXP)
		return BENCH_HIST_BUCKETS - 1;
	unsigned shift = e - BENCH_HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) - BENCH_HIST_SUB; /* 0 .. BENCH_HIST_SUB-1 */
	return BENCH_HIST_SUB + shift * BENCH_HIST_SUB + sub;
}

uint64_t bench_hist_bucket_low(unsigned b)
{
	if (b < BENCH_HIST_SUB)
		return b;
	unsigned shift = (b - BENCH_HIST_SUB) / BENCH_HIST_SUB;
	unsigned sub = (b - BENCH_HIST_SUB) % BENCH_HIST_SUB;
	return (uint64_t)(BENCH_HIST_SUB + sub) << shift;
}

uint64_t bench_hist_bucket_high(unsigned b)
{
	if (b < BENCH_HIST_SUB)
		return b;
	if (b == BENCH_HIST_BUCKETS - 1)
		return UINT64_MAX;
	unsigned shift = (b - BENCH_HIST_SUB) / BENCH_HIST_SUB;
	return bench_hist_bucket_low(b) + ((uint64_t)1 << shift) - 1;
}

void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	unsigned b = bench_hist_bucket(v);
	STORE(&h->buckets[b], LOAD(&h->buckets[b]) + 1);
	STORE(&h->count, LOAD(&h->count) + 1);
	STORE(&h->sum, LOAD(&h->sum) + v);
	if (v < LOAD(&h->min))
		STORE(&h->min, v);
	if (v > LOAD(&h->max))
		STORE(&h->max, v);
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	uint64_t n = 0;
	for (unsigned b = 0; b < BENCH_HIST_BUCKETS; b++) {
		uint64_t c = LOAD(&src->buckets[b]);
		dst->buckets[b] += c;
		n += c;
	}
	/* The bucket sum, not src->count: a live source may be mid-record. */
	dst->count += n;
	dst->sum += LOAD(&src->sum);
	uint64_t mn = LOAD(&src->min), mx = LOAD(&src->max);
	if (mn < dst->min)
		dst->min = mn;
	if (mx > dst->max)
		dst->max = mx;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	double r = p / 100.0 * (double)h->count;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < BENCH_HIST_BUCKETS; b++) {
		seen += h->buckets[b];
		if (seen >= rank) {
			uint64_t v = bench_hist_bucket_high(b);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
