/*
 * metrics_source.c - the contents of one scrape (metrics_source.h).
 *
 * The runtime renders `stats` (system counters, store figures) and
 * `stats pools` exactly as a client would receive them; metrics_text.c
 * renames the lines. Going through the same renderer as the stats command
 * means the two views can never disagree about a counter.
 */
#include <config.h> /* autoconf's: "config.h" here would be server/config.h */

#include <string.h>

#include "server/metrics_source.h"
#include "server/stats.h"

/* The stats items a scrape exports, as the stats command names them. */
static const char *const items[] = { "", "pools" };

void metrics_source_render(struct metrics_out *out)
{
	metrics_printf(out, "# HELP pulsemq_build_info pulsemqd's version.\n"
	               "# TYPE pulsemq_build_info gauge\n"
	               "pulsemq_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
		struct sbuf text = { 0 };
		struct pmq_view item = { items[i], strlen(items[i]) };

		if (stats_render(item, &text) == 200 && !text.failed)
			metrics_render_stats(out, items[i], text.p, text.len);
		else
			out->failed = out->failed || text.failed;
		sbuf_free(&text);
	}
}
