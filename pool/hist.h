/*
 * hist.h - a lock-free log-linear histogram of microseconds.
 *
 * Values below 16 have a bucket each; above, every power of two is split
 * into 8 buckets, so a reported percentile is within 12.5% of the truth.
 * hist_record() is one atomic increment: any thread may record or read.
 * hist_record_owned() is for a histogram with one writer (a pool worker's
 * own): a plain load and store, no locked instruction; readers still see
 * whole counts. hist_add() sums one into another for reporting.
 * Each also keeps the sum of what it recorded (Prometheus's _sum).
 */
#ifndef PMQ_HIST_H
#define PMQ_HIST_H

#include <stdint.h>

#define HIST_LINEAR 16u         /* exact buckets 0..15 */
#define HIST_SUB_BITS 3u        /* 8 buckets per power of two above */
#define HIST_MAX_EXP 40u        /* 2^40 us is 12 days: beyond is clamped */
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 4u + 1u) * (1u << HIST_SUB_BITS))

struct hist {
	uint64_t bucket[HIST_BUCKETS];
	uint64_t sum_us;        /* of every recorded value */
};

void hist_record(struct hist *h, uint64_t us);
/* Only the histogram's single writer may call this. */
void hist_record_owned(struct hist *h, uint64_t us);
/* into += from, bucket by bucket (into is the caller's, unshared). */
void hist_add(struct hist *into, const struct hist *from);
/* The value below which permille/1000 of the recordings fall (the upper
 * edge of the bucket that holds that rank); 0 when nothing was recorded. */
uint64_t hist_percentile(const struct hist *h, unsigned permille);
uint64_t hist_total(const struct hist *h);
/* Recordings in the buckets whose every value is <= us: exactly those
 * <= us when us is a bucket's top, otherwise short by the bucket that
 * straddles us (at most 12.5% of the value range). For Prometheus's le. */
uint64_t hist_count_upto(const struct hist *h, uint64_t us);

#endif
