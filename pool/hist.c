/* hist.c - log-linear buckets, see hist.h. */
#include <config.h>

#include <ck_pr.h>

#include "pool/hist.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < HIST_LINEAR)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return HIST_LINEAR + (e - 4u) * (1u << HIST_SUB_BITS) +
	       (unsigned)((v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1));
}

/* The largest value that falls into bucket b. */
static uint64_t bucket_top(unsigned b)
{
	unsigned e, sub;

	if (b < HIST_LINEAR)
		return b;
	e = (b - HIST_LINEAR) / (1u << HIST_SUB_BITS) + 4u;
	sub = (b - HIST_LINEAR) % (1u << HIST_SUB_BITS);
	return (((uint64_t)(8u + sub + 1u)) << (e - HIST_SUB_BITS)) - 1u;
}

void hist_record(struct hist *h, uint64_t us)
{
	ck_pr_inc_64(&h->bucket[bucket_of(us)]);
	ck_pr_add_64(&h->sum_us, us);
}

/* One writer: the increment need not be atomic, only the store must be
 * whole (an aligned 64-bit store on every target we build for). */
void hist_record_owned(struct hist *h, uint64_t us)
{
	uint64_t *b = &h->bucket[bucket_of(us)];

	ck_pr_store_64(b, ck_pr_load_64(b) + 1);
	ck_pr_store_64(&h->sum_us, ck_pr_load_64(&h->sum_us) + us);
}

void hist_add(struct hist *into, const struct hist *from)
{
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		into->bucket[b] += ck_pr_load_64(&from->bucket[b]);
	into->sum_us += ck_pr_load_64(&from->sum_us);
}

uint64_t hist_count_upto(const struct hist *h, uint64_t us)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < HIST_BUCKETS && bucket_top(b) <= us; b++)
		n += ck_pr_load_64(&h->bucket[b]);
	return n;
}

uint64_t hist_total(const struct hist *h)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		n += ck_pr_load_64(&h->bucket[b]);
	return n;
}

uint64_t hist_percentile(const struct hist *h, unsigned permille)
{
	uint64_t snap[HIST_BUCKETS], total = 0, rank, seen = 0;

	/* One snapshot, so the rank and the walk agree. */
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		snap[b] = ck_pr_load_64(&h->bucket[b]);
		total += snap[b];
	}
	if (total == 0)
		return 0;
	if (permille > 1000)
		permille = 1000;
	rank = (total * permille + 999) / 1000; /* ceil, at least 1 below */
	if (rank == 0)
		rank = 1;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += snap[b];
		if (seen >= rank)
			return bucket_top(b);
	}
	return bucket_top(HIST_BUCKETS - 1);
}
