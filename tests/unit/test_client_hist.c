/*
 * test_client_hist.c - the bench's log-linear histogram and the client's
 * reconnect backoff (both pure).
 */
#include <config.h>

#include <stdlib.h>

#include "client/backoff.h"
#include "client/bench_hist.h"
#include "tests/tap.h"

static struct bench_hist h, m;

static void test_buckets(void)
{
	bool exact = true, contiguous = true, contains = true;
	for (uint64_t v = 0; v < 64; v++)
		if (bench_hist_bucket(v) != v)
			exact = false;
	for (unsigned b = 1; b < BENCH_HIST_BUCKETS; b++)
		if (bench_hist_bucket_low(b) != bench_hist_bucket_high(b - 1) + 1)
			contiguous = false;
	uint64_t vals[] = { 64, 65, 127, 128, 129, 1000, 4095, 4096, 123456789,
	                    (1ull << 41) + 5, (1ull << 42) - 1 };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		unsigned b = bench_hist_bucket(vals[i]);
		if (vals[i] < bench_hist_bucket_low(b) || vals[i] > bench_hist_bucket_high(b))
			contains = false;
	}
	ok(exact, "values below 64 have their own bucket");
	ok(contiguous, "buckets tile the range without gaps");
	ok(contains, "every value falls inside its bucket's bounds");
	is(bench_hist_bucket(1ull << 50), BENCH_HIST_BUCKETS - 1, "huge values clamp to the last bucket");
	bool width = true;
	for (unsigned b = 64; b < BENCH_HIST_BUCKETS - 1; b++) {
		uint64_t lo = bench_hist_bucket_low(b), hi = bench_hist_bucket_high(b);
		if ((double)(hi - lo + 1) > (double)lo / 64.0 + 1e-9)
			width = false;
	}
	ok(width, "a bucket is at most 1/64 of its low bound wide");
}

static void test_percentiles(void)
{
	bench_hist_init(&h);
	is(bench_hist_percentile(&h, 99), 0, "empty histogram reports 0");
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_record(&h, v * 1000); /* 1 us .. 1 ms */
	is(h.count, 1000, "count");
	is(h.min, 1000, "min exact");
	is(h.max, 1000000, "max exact");
	is(h.sum, 500500000ull, "sum exact");
	uint64_t p50 = bench_hist_percentile(&h, 50), p99 = bench_hist_percentile(&h, 99);
	uint64_t p999 = bench_hist_percentile(&h, 99.9), p100 = bench_hist_percentile(&h, 100);
	ok(p50 >= 500000 && p50 <= 500000 + 500000 / 64, "p50 %llu within 1/64 above 500 us",
	   (unsigned long long)p50);
	ok(p99 >= 990000 && p99 <= 990000 + 990000 / 64, "p99 %llu within 1/64 above 990 us",
	   (unsigned long long)p99);
	ok(p999 >= 999000 && p999 <= 1000000, "p99.9 %llu capped at max", (unsigned long long)p999);
	is(p100, 1000000, "p100 is max");
	is(bench_hist_percentile(&h, 0), bench_hist_bucket_high(bench_hist_bucket(1000)), "p0 is the lowest bucket");

	bench_hist_init(&m);
	bench_hist_record(&m, 5);
	bench_hist_record(&m, 3ull << 40);
	bench_hist_merge(&m, &h);
	is(m.count, 1002, "merge adds counts");
	is(m.min, 5, "merge keeps the smaller min");
	is(m.max, 3ull << 40, "merge keeps the larger max");
	is(bench_hist_percentile(&m, 0.05), 5, "small exact value survives the merge");
	is(bench_hist_percentile(&m, 100), 3ull << 40, "p100 after merge is the max");

	bench_hist_init(&h);
	for (int i = 0; i < 99; i++)
		bench_hist_record(&h, 100);
	bench_hist_record(&h, 1000000);
	ok(bench_hist_percentile(&h, 99) < 102, "p99 of 99x100 + 1 outlier is 100");
	is(bench_hist_percentile(&h, 99.9), 1000000, "p99.9 sees the outlier");
}

static void test_backoff(void)
{
	is(backoff_base_ms(1, 100, 10000), 100, "attempt 1 base = min");
	is(backoff_base_ms(2, 100, 10000), 200, "attempt 2 doubles");
	is(backoff_base_ms(5, 100, 10000), 1600, "attempt 5 = min * 16");
	is(backoff_base_ms(30, 100, 10000), 10000, "capped at max");
	is(backoff_base_ms(1000, 100, 10000), 10000, "large attempt stays capped");
	uint64_t rng = 12345;
	bool in_range = true, varies = false;
	int first = -1;
	for (int a = 1; a <= 12; a++)
		for (int i = 0; i < 200; i++) {
			int base = backoff_base_ms(a, 100, 10000);
			int d = backoff_delay_ms(a, 100, 10000, &rng);
			if (d < base / 2 || d > base)
				in_range = false;
			if (a == 3 && first < 0)
				first = d;
			else if (a == 3 && d != first)
				varies = true;
		}
	ok(in_range, "delay within [base/2, base]");
	ok(varies, "jitter: delays for one attempt differ");
}

int main(void)
{
	test_buckets();
	test_percentiles();
	test_backoff();
	return done_testing();
}
