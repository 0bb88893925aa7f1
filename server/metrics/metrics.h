/*
 * metrics.h - the metrics wing: Prometheus text exposition of pulsemqd's
 * counters, and (stats.h) the `stats` listings. It reads what it reports
 * on (the runtime's views, the broker's figures) and changes nothing.
 *
 * Files of this wing:
 *   metrics.c         the libmicrohttpd endpoint (this header)
 *   metrics_source.c  what one scrape holds (metrics_source.h)
 *   metrics_text.c    the exposition format, pure (this header)
 *   metrics_hist.c    histograms in the exposition format (this header)
 *   stats.c           the `stats` listings (stats.h)
 *   proc_stats.c      the stats processor (stats.h)
 *
 * metrics_listen = ADDR:PORT (empty: off, the default) serves
 * GET /metrics on a libmicrohttpd thread of its own, never on an IO thread.
 * Each scrape reads the same counters as the `stats` command (through the
 * runtime's stats formatting) and renames them the Prometheus way:
 * pulsemq_..._total for counters, _seconds for times, labels for the
 * command, the close reason and the pool.
 *
 * Promises:
 *  - metrics_start() binds before it returns, so a bad address or a port in
 *    use stops start-up with a message naming metrics_listen; 0 when
 *    metrics_listen is empty. Built without libmicrohttpd, a non-empty
 *    metrics_listen is refused (-ENOTSUP) the same way.
 *  - metrics_stop() returns after the HTTP thread has exited; call it before
 *    runtime_stop() so no scrape reads a runtime being torn down.
 *  - metrics_render_stats() is pure (no I/O, no globals): the unit test
 *    feeds it `stats` text and reads the exposition back.
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

/*
 * Appends the Prometheus text for one `stats` listing to out: "key value"
 * lines, \r\n or \n separated, optionally framed by STATS / END. section is
 * the stats item the text came from: "" (system counters) or "pools"
 * (keys POOL.FIELD or POOL_FIELD). Non-numeric values are skipped; numeric
 * keys without a known name are kept as pulsemq_<key> (untyped), so a new
 * counter shows up before anyone names it here.
 */
void metrics_render_stats(struct metrics_out *out, const char *section,
                          const char *text, size_t len);

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
