/* The queue-wait histogram: exact small values, bounded error above. */
#include <config.h>

#include "pool/hist.h"
#include "tests/tap.h"

static bool within(uint64_t got, uint64_t want)
{
	/* a bucket is at most 1/8 of its power of two wide */
	return got >= want && got <= want + want / 8 + 1;
}

int main(void)
{
	static struct hist h;

	is(hist_percentile(&h, 500), 0, "empty: 0");
	is(hist_total(&h), 0, "empty total");
	for (unsigned v = 0; v < 10; v++)
		hist_record(&h, v);
	is(hist_total(&h), 10, "total counts records");
	is(hist_percentile(&h, 500), 4, "p50 of 0..9 is exact");
	is(hist_percentile(&h, 1000), 9, "p100 of 0..9 is exact");
	is(hist_percentile(&h, 0), 0, "p0 is the smallest");

	static struct hist g;
	for (unsigned v = 1; v <= 10000; v++)
		hist_record(&g, v);
	uint64_t p50 = hist_percentile(&g, 500), p99 = hist_percentile(&g, 990);
	ok(within(p50, 5000), "p50 of 1..10000 within 12.5%% (%llu)",
	   (unsigned long long)p50);
	ok(within(p99, 9900), "p99 of 1..10000 within 12.5%% (%llu)",
	   (unsigned long long)p99);
	ok(p50 <= p99, "p50 <= p99");

	static struct hist k;
	hist_record(&k, UINT64_MAX);
	hist_record(&k, 1ull << 45);
	ok(hist_percentile(&k, 1000) >= (1ull << 40), "huge values clamp to the top bucket");
	is(hist_total(&k), 2, "and are counted");

	/* Every bucket edge: a value reports a top >= itself, < 1.125x. */
	bool edges = true;
	for (uint64_t v = 1; v < (1ull << 40); v = v * 3 / 2 + 1) {
		struct hist one = { 0 };
		hist_record(&one, v);
		edges &= within(hist_percentile(&one, 500), v);
	}
	ok(edges, "single values report within their bucket");

	/* Prometheus's le counts and _sum. */
	is(h.sum_us, 45, "the sum of 0..9");
	is(hist_count_upto(&h, 4), 5, "0..9: five are <= 4 (exact buckets)");
	is(hist_count_upto(&h, 100), 10, "all ten are <= 100");
	is(g.sum_us, 10000ull * 10001 / 2, "the sum of 1..10000");
	is(hist_count_upto(&g, 1023), 1023, "1..10000: exactly 1023 are <= a bucket top (1023)");
	uint64_t below = hist_count_upto(&g, 1000);
	ok(below <= 1000 && below >= 1000 - 1000 / 8, "<= 1000 (inside a bucket): %llu, short "
	   "by at most the straddling bucket", (unsigned long long)below);
	uint64_t prev = 0;
	bool monotonic = true;
	for (uint64_t le = 1; le < 20000; le = le * 2 + 3) {
		uint64_t n = hist_count_upto(&g, le);
		monotonic &= n >= prev;
		prev = n;
	}
	ok(monotonic, "le counts never decrease");
	struct hist sum = { 0 };
	hist_add(&sum, &h);
	hist_add(&sum, &g);
	is(sum.sum_us, h.sum_us + g.sum_us, "hist_add adds the sums");
	struct hist owned = { 0 };
	hist_record_owned(&owned, 7);
	hist_record_owned(&owned, 9);
	is(owned.sum_us, 16, "hist_record_owned keeps the sum too");
	return done_testing();
}
