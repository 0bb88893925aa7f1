/*
 * stats.c - the `stats` command's items (stats.h).
 *
 * Items: none or "" (system counters, then the store's), "pools",
 * "sessions" (each the table's rows of that item, stats_text.c), "topics"
 * (one line per topic, stats_topics.c) and
 * "config" (the daemon's settings table). An unknown item is a bad request
 * (400) whose body names the known ones: a typo should not look like an
 * empty listing.
 */
#include <config.h>

#include <string.h>

#include "server/metrics/stats.h"
#include "server/broker/broker.h"
#include "server/metrics/stats_topics.h"

static void (*config_source)(struct sbuf *out);

void stats_set_config_source(void (*fn)(struct sbuf *out))
{
	config_source = fn;
}

static bool item_is(struct pmq_view v, const char *s)
{
	size_t n = strlen(s);
	return v.len == n && memcmp(v.ptr, s, n) == 0;
}

/* The table's item named by v, or STAT_ITEM_COUNT for none of them. */
static enum stat_item table_item(struct pmq_view v)
{
	if (!v.ptr || v.len == 0)
		return STAT_ITEM_SYSTEM;
	for (int i = 0; i < STAT_ITEM_COUNT; i++)
		if (item_is(v, stat_item_name((enum stat_item)i)))
			return (enum stat_item)i;
	return STAT_ITEM_COUNT;
}

/* Names every item, the table's first: a typo must not look like an
 * empty listing. */
static void unknown_item(struct pmq_view item, struct sbuf *out)
{
	sbuf_printf(out, "unknown stats item '%.*s': known items are none, \"\"",
	            (int)(item.len > 64 ? 64 : item.len), item.ptr);
	for (int i = STAT_ITEM_SYSTEM + 1; i < STAT_ITEM_COUNT; i++)
		sbuf_printf(out, ", %s", stat_item_name((enum stat_item)i));
	sbuf_printf(out, ", topics, clients, groups, config");
}

int stats_render(struct pmq_view item, struct sbuf *out)
{
	enum stat_item ti = table_item(item);
	bool config = ti == STAT_ITEM_COUNT && item_is(item, "config");
	bool topics = ti == STAT_ITEM_COUNT && item_is(item, "topics");
	bool clients = ti == STAT_ITEM_COUNT && item_is(item, "clients");
	bool groups = ti == STAT_ITEM_COUNT && item_is(item, "groups");

	if (ti == STAT_ITEM_COUNT && !config && !topics && !clients && !groups) {
		unknown_item(item, out);
		return 400;
	}
	sbuf_append(out, "STATS\r\n", 7);
	if (config) {
		if (config_source)
			config_source(out);
	} else if (topics) {
		stats_topics_render(out);
	} else if (clients) {
		broker_clients_render(out);
	} else if (groups) {
		broker_groups_render(out);
	} else {
		struct stats_live live;
		stats_write_item(out, ti, stats_live_read(&live));
	}
	sbuf_append(out, "END\r\n", 5);
	return 200;
}
