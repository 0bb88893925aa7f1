/*
 * bench_hist.h - a log-linear latency histogram (HdrHistogram's idea, our code).
 *
 * Values are nanoseconds (any unit works). Below 2^BENCH_HIST_SUB_BITS every
 * value has its own bucket; above, each power of two [2^e, 2^(e+1)) is cut
 * into 2^BENCH_HIST_SUB_BITS equal buckets, so a reported percentile is at most
 * 1/64 (1.6 %) above the true value. Values at or above 2^BENCH_HIST_MAX_EXP
 * (~73 minutes in ns) land in the last bucket. min, max and sum are exact.
 *
 * One writer, many readers: bench_hist_record() is meant for the owning thread;
 * its stores are relaxed atomics so another thread may read (merge) at any
 * time and see a slightly stale but never torn picture.
 */
#ifndef PMQ_CLIENT_BENCH_HIST_H
#define PMQ_CLIENT_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_EXP 42
#define BENCH_HIST_BUCKETS (BENCH_HIST_SUB * (BENCH_HIST_MAX_EXP - BENCH_HIST_SUB_BITS + 1))

struct bench_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;   /* UINT64_MAX when empty */
	uint64_t max;
	uint64_t buckets[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
void bench_hist_record(struct bench_hist *h, uint64_t v);
/* Adds src (read with atomic loads, so it may be live) into dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* The value at percentile p (0..100): the highest value of the bucket
 * that holds the rank ceil(p/100 * count), capped at max; 0 when empty. */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

/* Bucket arithmetic, exposed for the unit test. */
unsigned bench_hist_bucket(uint64_t v);
uint64_t bench_hist_bucket_low(unsigned b);
uint64_t bench_hist_bucket_high(unsigned b);

#endif
