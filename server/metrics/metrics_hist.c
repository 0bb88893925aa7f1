/*
 * metrics_hist.c - a hist as a Prometheus histogram (metrics.h).
 *
 * The broker's histograms are log-linear in microseconds (pool/hist.h);
 * Prometheus wants cumulative counts at fixed `le` edges in seconds, a _sum
 * and a _count. The edges are the usual round ones from 50 us to 10 s. A
 * recording counts under an edge when its whole bucket lies below it, so a
 * count may miss the few recordings of the one bucket that straddles the
 * edge (at most 12.5% of the edge's value range); _count is exact.
 */
#include <config.h>

#include "server/metrics/metrics.h"

static const struct {
	uint64_t us;
	const char *le;
} edges[] = {
	{ 50, "5e-05" }, { 100, "0.0001" }, { 250, "0.00025" }, { 500, "0.0005" },
	{ 1000, "0.001" }, { 2500, "0.0025" }, { 5000, "0.005" }, { 10000, "0.01" },
	{ 25000, "0.025" }, { 50000, "0.05" }, { 100000, "0.1" }, { 250000, "0.25" },
	{ 500000, "0.5" }, { 1000000, "1" }, { 2500000, "2.5" }, { 5000000, "5" },
	{ 10000000, "10" },
};

void metrics_histogram_head(struct metrics_out *out, const char *name, const char *help)
{
	metrics_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
}

void metrics_histogram(struct metrics_out *out, const char *name, const char *labels,
                       const struct hist *h)
{
	/* One snapshot, so the counts rise with le and +Inf equals _count. */
	struct hist snap = { 0 };
	const char *sep = labels[0] ? "," : "";

	hist_add(&snap, h);
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		metrics_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep,
		               edges[i].le,
		               (unsigned long long)hist_count_upto(&snap, edges[i].us));
	uint64_t total = hist_total(&snap);
	metrics_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	               (unsigned long long)total);
	if (labels[0]) {
		metrics_printf(out, "%s_sum{%s} %.9g\n", name, labels, (double)snap.sum_us * 1e-6);
		metrics_printf(out, "%s_count{%s} %llu\n", name, labels, (unsigned long long)total);
	} else {
		metrics_printf(out, "%s_sum %.9g\n", name, (double)snap.sum_us * 1e-6);
		metrics_printf(out, "%s_count %llu\n", name, (unsigned long long)total);
	}
}
