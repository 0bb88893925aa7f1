/*
 * stats.h - the `stats` listings, rendered from the table of figures
 * (server/common/counters.h).
 *
 * A listing is the table's rows of one item, each with its live value from
 * a struct stats_source. stats_write_item() (stats_text.c) only formats: it
 * takes any source, so the unit tests feed it a made-up one. The live
 * source (stats_source.c) reads the counters, the runtime's read-only views
 * (server/runtime/runtime.h), the pools and the broker's figures
 * (server/broker/broker.h); /metrics renders the same rows from the same
 * source (metrics_text.c), so the two views can never disagree.
 */
#ifndef PMQ_STATS_H
#define PMQ_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pool/pool.h"
#include "protocol/protocol.h"
#include "server/common/counters.h"
#include "server/common/sbuf.h"

/* Most pools a source may name (the runtime has three). */
#define STATS_POOLS_MAX 8

/*
 * The live values behind the table. value() gives figure fig of instance i
 * (i < stats_instances(src, dim) for the figure's dim: the command
 * pmq_cmd i + 1, the close reason i, the pool i, the IO thread i); it
 * returns 0, or -ENOENT when the figure is absent now (the store before it
 * has started), which leaves the row out of every rendering. text() gives
 * a TEXT figure's word.
 */
struct stats_source {
	unsigned pools;                  /* instances of STAT_DIM_POOL */
	const char *pool_names[STATS_POOLS_MAX];
	unsigned io_threads;             /* instances of STAT_DIM_IO */
	int (*value)(void *ctx, enum stat_figure fig, unsigned i, uint64_t *v);
	const char *(*text)(void *ctx, enum stat_figure fig);
	void *ctx;
};

/* Instances of dimension dim in src (1 for STAT_DIM_NONE). */
unsigned stats_instances(const struct stats_source *src, enum stat_dim dim);
/* The label value of instance i of dim ("put", "idle", "get", "3"), in buf. */
const char *stats_instance_name(const struct stats_source *src, enum stat_dim dim, unsigned i,
                                char *buf, size_t cap);
/* The `stats` key of figure f for instance i ("cmd_put", "get_queued",
 * "io0_sessions"), in buf. */
const char *stats_key(const struct stats_source *src, const struct stat_figure_info *f,
                      unsigned i, char *buf, size_t cap);

/* Appends the "key value\r\n" lines of item (no STATS/END frame). Pure. */
void stats_write_item(struct sbuf *out, enum stat_item item, const struct stats_source *src);

/* The live source (stats_source.c) and what it reads once per listing:
 * the store's figures and the pools' (the rest is read row by row).
 * stats_live_read() fills *live from the running broker and returns its
 * source. Any thread, once the runtime has started. */
struct stats_live {
	struct stats_source src;
	uint64_t store[SF_COUNT];
	int store_rc;                    /* 0, or -ENOENT: no store yet */
	struct pool_stats pools[STATS_POOLS_MAX];
};
const struct stats_source *stats_live_read(struct stats_live *live);

/*
 * The body of `stats ITEM`: "STATS\r\n" + "key value\r\n"... + "END\r\n".
 * item: ptr NULL (none) or "" = system counters; "pools"; "sessions";
 * "topics"; "config". Returns 200, or 400 for an unknown item (out then holds one
 * line of English naming the known items). Any thread, once the runtime
 * has started.
 */
int stats_render(struct pmq_view item, struct sbuf *out);

/* `stats config` renders the settings through fn (the daemon owns the
 * table that knows how they are written, and writes with stats_line());
 * set once before start. */
void stats_set_config_source(void (*fn)(struct sbuf *out));

/* Registers the stats processor (heartbeat pool). 0 or -errno. */
int proc_stats_register(void);

#endif
