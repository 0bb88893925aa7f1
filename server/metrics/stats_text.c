/*
 * stats_text.c - the table's rows of one item as `stats` lines (stats.h).
 *
 * Pure: the values come from the source it is given, the lines go through
 * stats_line(), the one writer every listing shares.
 */
#include <config.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "server/metrics/stats.h"

/* Instance i of the COMMAND dimension is the command i + 1. */
_Static_assert(PMQ_CMD_NONE == 0, "commands are numbered from PMQ_CMD_NONE = 0");

unsigned stats_instances(const struct stats_source *src, enum stat_dim dim)
{
	switch (dim) {
	case STAT_DIM_NONE:
		return 1;
	case STAT_DIM_COMMAND:
		return PMQ_CMD_COUNT - 1; /* every command but PMQ_CMD_NONE */
	case STAT_DIM_REASON:
		return CLOSE_REASON_COUNT;
	case STAT_DIM_POOL:
		return src->pools < STATS_POOLS_MAX ? src->pools : STATS_POOLS_MAX;
	case STAT_DIM_IO:
		return src->io_threads;
	}
	return 0;
}

const char *stats_instance_name(const struct stats_source *src, enum stat_dim dim, unsigned i,
                                char *buf, size_t cap)
{
	const char *name = "";

	switch (dim) {
	case STAT_DIM_NONE:
		break;
	case STAT_DIM_COMMAND:
		name = pmq_cmd_name((enum pmq_cmd)(i + 1));
		break;
	case STAT_DIM_REASON:
		name = close_reason_name((enum close_reason)i);
		break;
	case STAT_DIM_POOL:
		name = i < STATS_POOLS_MAX && src->pool_names[i] ? src->pool_names[i] : "?";
		break;
	case STAT_DIM_IO:
		snprintf(buf, cap, "%u", i);
		return buf;
	}
	snprintf(buf, cap, "%s", name);
	return buf;
}

const char *stats_key(const struct stats_source *src, const struct stat_figure_info *f,
                      unsigned i, char *buf, size_t cap)
{
	char name[64];

	stats_instance_name(src, f->dim, i, name, sizeof name);
	switch (f->dim) {
	case STAT_DIM_NONE:
		snprintf(buf, cap, "%s", f->key);
		break;
	case STAT_DIM_COMMAND:
	case STAT_DIM_REASON:
		snprintf(buf, cap, "%s%s", f->key, name); /* the key is a prefix */
		break;
	case STAT_DIM_POOL:
		snprintf(buf, cap, "%s_%s", name, f->key);
		break;
	case STAT_DIM_IO:
		snprintf(buf, cap, "io%s_%s", name, f->key);
		break;
	}
	return buf;
}

/* The line of figure fig for instance i, unless the figure is absent now. */
static void write_one(struct sbuf *out, const struct stats_source *src, enum stat_figure fig,
                      unsigned i)
{
	const struct stat_figure_info *f = &stat_figures[fig];
	char key[128], value[32];
	uint64_t v;

	if (f->kind == STAT_TEXT) {
		const char *t = src->text ? src->text(src->ctx, fig) : NULL;
		if (t)
			stats_line(out, "", f->key, t);
		return;
	}
	if (src->value(src->ctx, fig, i, &v) != 0)
		return;
	snprintf(value, sizeof value, "%" PRIu64, v);
	stats_line(out, "", stats_key(src, f, i, key, sizeof key), value);
}

static bool per_instance(const struct stat_figure_info *f)
{
	return f->dim == STAT_DIM_POOL || f->dim == STAT_DIM_IO;
}

/* Rows from first on that share its item and per-instance dimension. */
static int run_end(int first)
{
	int g = first;
	while (g < FIG_COUNT && stat_figures[g].item == stat_figures[first].item &&
	       stat_figures[g].dim == stat_figures[first].dim)
		g++;
	return g;
}

void stats_write_item(struct sbuf *out, enum stat_item item, const struct stats_source *src)
{
	for (int fig = 0; fig < FIG_COUNT;) {
		const struct stat_figure_info *f = &stat_figures[fig];
		if (f->item != item) {
			fig++;
			continue;
		}
		if (!per_instance(f)) {
			unsigned n = stats_instances(src, f->dim);
			for (unsigned i = 0; i < n; i++)
				write_one(out, src, (enum stat_figure)fig, i);
			fig++;
			continue;
		}
		/* A run of per-instance rows is listed instance by instance, as
		 * `stats pools` always was: get_threads ... get_wait_p99_us, put_... */
		int end = run_end(fig);
		unsigned n = stats_instances(src, f->dim);
		for (unsigned i = 0; i < n; i++)
			for (int g = fig; g < end; g++)
				write_one(out, src, (enum stat_figure)g, i);
		fig = end;
	}
}
