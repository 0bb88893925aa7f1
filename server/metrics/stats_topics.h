/*
 * stats_topics.h - `stats topics`: one line per topic the store holds, in
 * byte order of the names:
 *
 *   TOPIC partitions=N bytes=N messages=N last_append_ms_ago=N\r\n
 *
 * bytes: log bytes readable now over all partitions (retention lowers it);
 * messages: appended since the daemon started; last_append_ms_ago: since
 * the latest of those, -1 when there was none. Any thread.
 */
#ifndef PMQ_STATS_TOPICS_H
#define PMQ_STATS_TOPICS_H

#include "server/common/sbuf.h"

void stats_topics_render(struct sbuf *b);

#endif
