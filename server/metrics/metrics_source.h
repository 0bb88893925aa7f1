/*
 * metrics_source.h - what one scrape of /metrics contains.
 *
 * The table of figures from the live source (stats.h), the build info, and
 * the histograms it reads from the runtime and the pools.
 * Callable from any thread (the stats formatters are), in practice from
 * libmicrohttpd's thread.
 */
#ifndef PMQ_METRICS_SOURCE_H
#define PMQ_METRICS_SOURCE_H

#include "server/metrics/metrics.h"

void metrics_source_render(struct metrics_out *out);

#endif
