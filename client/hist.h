/*
 * hist.h - a log-linear latency histogram (HdrHistogram's idea, our code).
 *
 * Values are nanoseconds (any unit works). Below 2^HIST_SUB_BITS every
 * value has its own bucket; above, each power of two [2^e, 2^(e+1)) is cut
 * into 2^HIST_SUB_BITS equal buckets, so a reported percentile is at most
 * 1/64 (1.6 %) above the true value. Values at or above 2^HIST_MAX_EXP
 * (~73 minutes in ns) land in the last bucket. min, max and sum are exact.
 *
 * One writer, many readers: hist_record() is meant for the owning thread;
 * its stores are relaxed atomics so another thread may read (merge) at any
 * time and see a slightly stale but never torn picture.
 */
#ifndef PMQ_CLIENT_HIST_H
#define PMQ_CLIENT_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_MAX_EXP 42
#define HIST_BUCKETS (HIST_SUB * (HIST_MAX_EXP - HIST_SUB_BITS + 1))

struct hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min;   /* UINT64_MAX when empty */
	uint64_t max;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
/* Adds src (read with atomic loads, so it may be live) into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at percentile p (0..100): the highest value of the bucket
 * that holds the rank ceil(p/100 * count), capped at max; 0 when empty. */
uint64_t hist_percentile(const struct hist *h, double p);

/* Bucket arithmetic, exposed for the unit test. */
unsigned hist_bucket(uint64_t v);
uint64_t hist_bucket_low(unsigned b);
uint64_t hist_bucket_high(unsigned b);

#endif
