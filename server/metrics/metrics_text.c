/*
 * metrics_text.c - the table of figures in the Prometheus text exposition
 * format 0.0.4 (metrics.h).
 *
 * Pure: every row of server/common/counters.h with a Prometheus name
 * becomes a sample per instance, valued from the source it is given (the
 * same live source `stats` lists, stats.h). Rows that share a Prometheus
 * name (sessions by state, the wait quantiles) are one family: the format
 * wants one HELP/TYPE header with all its samples under it, so a family is
 * printed whole where its first row stands. No text is parsed: the names
 * come from the table, the numbers from the source.
 */
#include <config.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics/metrics.h"
#include "server/metrics/stats.h"

/* Room for one sample's labels: a dimension's and a row's fixed one. */
#define LABELS_MAX 192

void metrics_printf(struct metrics_out *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (out->failed)
		return;
	for (;;) {
		size_t room = out->cap - out->len;
		va_start(ap, fmt);
		n = vsnprintf(out->buf ? out->buf + out->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			out->failed = true;
			return;
		}
		if ((size_t)n < room) {
			out->len += (size_t)n;
			return;
		}
		size_t cap = out->cap ? out->cap * 2 : 4096;
		while (cap - out->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(out->buf, cap);
		if (!p) {
			out->failed = true;
			return;
		}
		out->buf = p;
		out->cap = cap;
	}
}

void metrics_out_free(struct metrics_out *out)
{
	free(out->buf);
	memset(out, 0, sizeof *out);
}

/* A label value as the format wants it: \ " and newline escaped. */
static void escape_label(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	for (; *src && n + 2 < cap; src++) {
		char c = *src == '\n' ? 'n' : *src;
		if (*src == '\\' || *src == '"' || *src == '\n')
			dst[n++] = '\\';
		dst[n++] = c;
	}
	dst[n] = '\0';
}

static void render_sample(struct metrics_out *out, const struct stats_source *src,
                          enum stat_figure fig, unsigned i)
{
	const struct stat_figure_info *f = &stat_figures[fig];
	const char *label = stat_dim_label(f->dim);
	char labels[LABELS_MAX], name[64], esc[128];
	uint64_t v;
	size_t n = 0;

	if (src->value(src->ctx, fig, i, &v) != 0)
		return;
	labels[0] = '\0';
	if (label) {
		escape_label(esc, sizeof esc, stats_instance_name(src, f->dim, i, name, sizeof name));
		n = (size_t)snprintf(labels, sizeof labels, "%s=\"%s\"", label, esc);
	}
	if (f->plabel[0] && n < sizeof labels)
		snprintf(labels + n, sizeof labels - n, "%s%s", n ? "," : "", f->plabel);
	metrics_printf(out, "%s%s%s%s ", f->prom, labels[0] ? "{" : "", labels,
	               labels[0] ? "}" : "");
	/* Microseconds become seconds; integers pass through untouched, so a
	 * uint64 counter keeps all its digits, which a double would not. */
	if (strcmp(f->unit, "us") == 0)
		metrics_printf(out, "%.9g\n", (double)v * 1e-6);
	else
		metrics_printf(out, "%" PRIu64 "\n", v);
}

static bool printed_before(enum stat_figure fig)
{
	for (int g = 0; g < (int)fig; g++)
		if (strcmp(stat_figures[g].prom, stat_figures[fig].prom) == 0)
			return true;
	return false;
}

/* A family of several rows (sessions by state) is described by its first
 * row's help up to ": ", where the part about that row begins. */
static void print_help(struct metrics_out *out, enum stat_figure fig)
{
	const struct stat_figure_info *f = &stat_figures[fig];
	const char *cut = strstr(f->help, ": ");
	bool family = false;

	for (int g = fig + 1; g < FIG_COUNT && !family; g++)
		family = strcmp(stat_figures[g].prom, f->prom) == 0;
	if (family && cut)
		metrics_printf(out, "# HELP %s %.*s.\n", f->prom, (int)(cut - f->help), f->help);
	else
		metrics_printf(out, "# HELP %s %s\n", f->prom, f->help);
}

void metrics_render_figures(struct metrics_out *out, const struct stats_source *src)
{
	for (int fig = 0; fig < FIG_COUNT; fig++) {
		const struct stat_figure_info *f = &stat_figures[fig];
		if (!f->prom[0] || f->kind == STAT_TEXT || printed_before((enum stat_figure)fig))
			continue;
		print_help(out, (enum stat_figure)fig);
		metrics_printf(out, "# TYPE %s %s\n", f->prom,
		               f->kind == STAT_COUNTER ? "counter" : "gauge");
		for (int g = fig; g < FIG_COUNT; g++) {
			if (strcmp(stat_figures[g].prom, f->prom) != 0)
				continue;
			unsigned n = stats_instances(src, stat_figures[g].dim);
			for (unsigned i = 0; i < n; i++)
				render_sample(out, src, (enum stat_figure)g, i);
		}
	}
}
