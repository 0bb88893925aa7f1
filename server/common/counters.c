/*
 * counters.c - the table of figures as data, the close reasons' names and
 * the one `stats` line writer (counters.h).
 */
#include <config.h>

#include "server/common/counters.h"

static const char *const reason_names[] = {
#define PMQ_X(id, name) name,
	PMQ_CLOSE_REASONS(PMQ_X)
#undef PMQ_X
};

const char *close_reason_name(enum close_reason r)
{
	return (unsigned)r < CLOSE_REASON_COUNT ? reason_names[r] : "?";
}

#define ROW(src_, slot_, id_, item_, dim_, kind_, unit_, key_, prom_, plabel_, help_) \
	{ .id = #id_, .item = STAT_ITEM_##item_, .dim = STAT_DIM_##dim_, .kind = STAT_##kind_, \
	  .src = src_, .slot = slot_, .unit = unit_, .key = key_, .prom = prom_, \
	  .plabel = plabel_, .help = help_ },
#define PROCESS_ROW(id, ...) ROW(STAT_SRC_PROCESS, 0, id, __VA_ARGS__)
#define RUNTIME_ROW(id, ...) ROW(STAT_SRC_RUNTIME, ST_##id, id, __VA_ARGS__)
#define STORE_ROW(id, ...) ROW(STAT_SRC_STORE, SF_##id, id, __VA_ARGS__)
#define POOL_ROW(id, ...) ROW(STAT_SRC_POOL, 0, id, __VA_ARGS__)
#define SESSIONS_ROW(id, ...) ROW(STAT_SRC_SESSIONS, 0, id, __VA_ARGS__)

/* In the order of enum stat_figure: the sub-tables in PMQ_STATS_TABLE's. */
const struct stat_figure_info stat_figures[FIG_COUNT] = {
	PMQ_STATS_PROCESS(PROCESS_ROW)
	PMQ_STATS_RUNTIME(RUNTIME_ROW)
	PMQ_STATS_STORE(STORE_ROW)
	PMQ_STATS_POOL(POOL_ROW)
	PMQ_STATS_SESSIONS(SESSIONS_ROW)
};

const char *stat_item_name(enum stat_item item)
{
	static const char *const names[STAT_ITEM_COUNT] = { "", "pools", "sessions",
	                                                        "transactions" };
	return (unsigned)item < STAT_ITEM_COUNT ? names[item] : "?";
}

const char *stat_dim_label(enum stat_dim dim)
{
	switch (dim) {
	case STAT_DIM_NONE:
		return NULL;
	case STAT_DIM_COMMAND:
		return "command";
	case STAT_DIM_REASON:
		return "reason";
	case STAT_DIM_POOL:
		return "pool";
	case STAT_DIM_IO:
		return "io";
	}
	return NULL;
}

void stats_line(struct sbuf *b, const char *prefix, const char *key, const char *value)
{
	sbuf_printf(b, "%s%s %s\r\n", prefix, key, value);
}
