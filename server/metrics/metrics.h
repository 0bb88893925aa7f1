/*
 * metrics.h - the metrics wing: Prometheus text exposition of pulsemqd's
 * counters, and (stats.h) the `stats` listings. It reads what it reports
 * on (the runtime's views, the broker's figures) and changes nothing.
 *
 * Files of this wing:
 *   metrics.c         the libmicrohttpd endpoint (this header)
 *   metrics_source.c  what one scrape holds (metrics_source.h)
 *   metrics_text.c    the table of figures in the exposition format, pure
 *                     (this header)
 *   metrics_hist.c    histograms in the exposition format (this header)
 *   stats.c           the `stats` items (stats.h)
 *   stats_text.c      the table's rows as `stats` lines, pure (stats.h)
 *   stats_source.c    the live values behind the table (stats.h)
 *   proc_stats.c      the stats processor (stats.h)
 *
 * metrics_listen = ADDR:PORT (empty: off, the default) serves
 * GET /metrics on a libmicrohttpd thread of its own, never on an IO thread.
 * Each scrape renders the table of figures (server/common/counters.h) with
 * the same live source as the `stats` command: the names, types and help
 * come from the table (pulsemq_..._total for counters, _seconds for times,
 * labels for the command, the close reason, the pool and the IO thread),
 * the values straight from the counters, never through `stats` text.
 *
 * Promises:
 *  - metrics_start() binds before it returns, so a bad address or a port in
 *    use stops start-up with a message naming metrics_listen; 0 when
 *    metrics_listen is empty. Built without libmicrohttpd, a non-empty
 *    metrics_listen is refused (-ENOTSUP) the same way.
 *  - metrics_stop() returns after the HTTP thread has exited; call it before
 *    runtime_stop() so no scrape reads a runtime being torn down.
 *  - metrics_render_figures() is pure (no I/O, no globals): the unit test
 *    feeds it a made-up source and reads the exposition back.
 */
#ifndef PMQ_METRICS_H
#define PMQ_METRICS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "pool/hist.h"
#include "server/common/settings.h"
#include "server/common/log.h"

#ifdef HAVE_MHD
int metrics_start(const struct settings *cfg);
void metrics_stop(void);
#else /* built without libmicrohttpd: metrics_listen cannot be honoured */
static inline int metrics_start(const struct settings *cfg)
{
	if (!cfg->metrics_listen[0])
		return 0;
	pmq_log(PMQ_LOG_ERROR, "metrics_listen '%s': pulsemqd was built without "
	        "libmicrohttpd (configure --with-libmicrohttpd)", cfg->metrics_listen);
	return -ENOTSUP;
}
static inline void metrics_stop(void) {}
#endif

/* A growing output buffer; failed is set (and the text cut) on ENOMEM. */
struct metrics_out {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* Appends every row of the table that has a Prometheus name: HELP and
 * TYPE once per family, one sample per instance, values from src. */
struct stats_source;
void metrics_render_figures(struct metrics_out *out, const struct stats_source *src);

/* A histogram family (metrics_hist.c): the HELP/TYPE lines once, then one
 * series per label set (labels: `pool="get"`, or "" for none), with
 * cumulative _bucket{le=...} counts in seconds, _sum and _count. h may be
 * recorded into meanwhile: the series is rendered from one snapshot. */
void metrics_histogram_head(struct metrics_out *out, const char *name, const char *help);
void metrics_histogram(struct metrics_out *out, const char *name, const char *labels,
                       const struct hist *h);

/* printf into out, growing it. */
void metrics_printf(struct metrics_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void metrics_out_free(struct metrics_out *out);

#endif
