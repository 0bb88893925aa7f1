/* stats_topics.c - the `stats topics` listing (stats_topics.h), from the
 * broker's read-only view of the store. */
#include <config.h>

#include <stdint.h>
#include <time.h>

#include "server/broker/broker.h"
#include "server/metrics/stats_topics.h"

struct topics_ctx {
	struct sbuf *b;
	int64_t now_ms; /* wall clock, as the store stamps appends */
};

static void topic_line(const struct broker_topic_stats *t, void *arg)
{
	struct topics_ctx *c = arg;
	long long ago = -1;

	if (t->last_append_ms > 0)
		ago = c->now_ms > t->last_append_ms ? (long long)(c->now_ms - t->last_append_ms) : 0;
	sbuf_printf(c->b, "%s partitions=%d bytes=%llu messages=%llu last_append_ms_ago=%lld\r\n",
	            t->name, (int)t->partitions, (unsigned long long)t->bytes,
	            (unsigned long long)t->messages, ago);
}

void stats_topics_render(struct sbuf *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	struct topics_ctx c = { b, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 };
	if (store_service_topics(topic_line, &c) != 0)
		b->failed = true; /* answered as an error, not as a cut listing */
}
