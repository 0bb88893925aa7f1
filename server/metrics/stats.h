/*
 * stats.h - the `stats` listings.
 *
 * stats_render() builds the text of one `stats ITEM` answer from the
 * counters (server/common/counters.h), the runtime's read-only views
 * (server/runtime/runtime.h), the broker's figures and the settings; the
 * stats processor (proc_stats.c) and metrics scrapes both use it, from any
 * thread.
 */
#ifndef PMQ_STATS_H
#define PMQ_STATS_H

#include <stddef.h>

#include "protocol/protocol.h"
#include "server/common/sbuf.h"

/*
 * The body of `stats ITEM`: "STATS\r\n" + "key value\r\n"... + "END\r\n".
 * item: ptr NULL (none) or "" = system counters; "pools"; "sessions";
 * "topics"; "config". Returns 200, or 400 for an unknown item (out then holds one
 * line of English naming the known items). Any thread, once the runtime
 * has started.
 */
int stats_render(struct pmq_view item, struct sbuf *out);

/* `stats config` renders the settings through fn (the daemon owns the
 * table that knows how they are written); set once before start. */
void stats_set_config_source(size_t (*fn)(char *buf, size_t cap));

/* Registers the stats processor (heartbeat pool). 0 or -errno. */
int proc_stats_register(void);

#endif
