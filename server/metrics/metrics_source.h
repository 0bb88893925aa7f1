/*
 * metrics_source.h - what one scrape of /metrics contains.
 *
 * The only part of the metrics module that knows the runtime: it asks the
 * runtime for its `stats` listings (system counters, pools) and the store
 * for its figures, and passes the text through metrics_render_stats().
 * Callable from any thread (the stats formatters are), in practice from
 * libmicrohttpd's thread.
 */
#ifndef PMQ_METRICS_SOURCE_H
#define PMQ_METRICS_SOURCE_H

#include "server/metrics/metrics.h"

void metrics_source_render(struct metrics_out *out);

#endif
