/*
 * metrics_text.c - `stats` text to Prometheus text exposition format 0.0.4.
 *
 * The runtime already formats every counter for the `stats` command; this
 * file only renames. A table maps the stats keys we know to Prometheus
 * names, types and help; a key we do not know is still exported, as
 * pulsemq_<key> without a type, so nothing counted is ever invisible.
 * Samples are grouped by family before printing because the format wants
 * one HELP/TYPE header per family with all its samples under it (the pool
 * keys arrive pool by pool, not family by family).
 */
#include <config.h> /* autoconf's: "config.h" here would be server/config.h */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/metrics.h"

/* Longest stats key and value we keep; longer lines are skipped whole. */
#define KEY_MAX 96
#define VALUE_MAX 48
/* Metric names are pulsemq_ + a key and a suffix, labels a key fragment. */
#define NAME_MAX_LEN 160
/* More samples than this in one section are dropped (and counted). */
#define SAMPLES_MAX 512

enum mtype { M_UNTYPED, M_COUNTER, M_GAUGE };

static const char *const type_names[] = { "untyped", "counter", "gauge" };

/*
 * A stats key (or, with a trailing '*', a key prefix whose rest becomes the
 * label value) and what Prometheus calls it. scale converts units (us -> s).
 */
struct family {
	const char *key;
	const char *name;
	enum mtype type;
	const char *label;     /* label name, or NULL */
	const char *label_value; /* fixed label value, or NULL: the key's rest */
	double scale;
	const char *help;
};

static const struct family system_families[] = {
	{ "uptime", "pulsemq_uptime_seconds", M_GAUGE, NULL, NULL, 1,
	  "Seconds since pulsemqd started." },
	{ "curr_connections", "pulsemq_connections", M_GAUGE, NULL, NULL, 1,
	  "Client connections open now." },
	{ "total_connections", "pulsemq_connections_accepted_total", M_COUNTER, NULL, NULL, 1,
	  "Client connections accepted." },
	{ "rejected_connections", "pulsemq_connections_rejected_total", M_COUNTER, NULL, NULL, 1,
	  "Client connections refused (max_connections)." },
	{ "cmd_compat_spellings", "pulsemq_commands_compat_spelling_total", M_COUNTER, NULL, NULL, 1,
	  "Requests that used MetaQ's loose v.../q... spellings." },
	{ "cmd_*", "pulsemq_commands_total", M_COUNTER, "command", NULL, 1,
	  "Requests decoded, by command." },
	{ "bad_requests", "pulsemq_bad_requests_total", M_COUNTER, NULL, NULL, 1,
	  "Requests answered 400." },
	{ "sessions_closed_*", "pulsemq_sessions_closed_total", M_COUNTER, "reason", NULL, 1,
	  "Sessions closed, by reason." },
	{ "heartbeats_sent", "pulsemq_heartbeats_sent_total", M_COUNTER, NULL, NULL, 1,
	  "Heartbeats (version requests) sent to idle clients." },
	{ "heartbeats_missed", "pulsemq_heartbeats_missed_total", M_COUNTER, NULL, NULL, 1,
	  "Heartbeats not answered within heartbeat_timeout_ms." },
	{ "heartbeats_answered", "pulsemq_heartbeats_answered_total", M_COUNTER, NULL, NULL, 1,
	  "Heartbeats answered by the client in time." },
	{ "heartbeat_answers_unmatched", "pulsemq_heartbeats_unmatched_total", M_COUNTER, NULL, NULL, 1,
	  "Heartbeat answers that matched no outstanding heartbeat." },
	{ "replies_dropped", "pulsemq_replies_dropped_total", M_COUNTER, NULL, NULL, 1,
	  "Answers a worker could not hand to an IO thread in time." },
	{ "sessions_open", "pulsemq_sessions", M_GAUGE, "state", "open", 1,
	  "Sessions now, by state: open (reading requests) or draining (closing, "
	  "writing what is owed)." },
	{ "sessions_draining", "pulsemq_sessions", M_GAUGE, "state", "draining", 1,
	  "Sessions now, by state: open (reading requests) or draining (closing, "
	  "writing what is owed)." },
	{ "sessions_throttled", "pulsemq_sessions_throttled", M_GAUGE, NULL, NULL, 1,
	  "Sessions not read because their unwritten output is over max_output_bytes." },
	{ "sessions_heartbeat_outstanding", "pulsemq_sessions_heartbeat_outstanding", M_GAUGE,
	  NULL, NULL, 1, "Idle sessions whose broker heartbeat awaits an answer." },
	/* The store's figures (store_service_stats, part of `stats`). */
#define STORE_COUNTER(key, name, help) { key, name, M_COUNTER, NULL, NULL, 1, help }
#define STORE_GAUGE(key, name, help) { key, name, M_GAUGE, NULL, NULL, 1, help }
	STORE_GAUGE("store_bytes", "pulsemq_store_bytes", "Bytes held in segment files."),
	STORE_GAUGE("store_partitions", "pulsemq_store_partitions", "Partitions open."),
	STORE_GAUGE("store_segments", "pulsemq_store_segments", "Segment files in the store."),
	STORE_GAUGE("store_topics", "pulsemq_store_topics", "Topics in the store."),
	STORE_COUNTER("store_topics_refused", "pulsemq_store_topics_refused_total",
	              "Topic creations refused by max_topics (answered 403)."),
	STORE_GAUGE("store_open_files", "pulsemq_store_open_files",
	            "Segment file descriptors open now."),
	STORE_GAUGE("store_max_open_files", "pulsemq_store_max_open_files",
	            "Segment file descriptors kept open at most (max_open_files)."),
	STORE_COUNTER("store_file_opens", "pulsemq_store_file_opens_total",
	              "Segment files opened again after the cache closed them."),
	STORE_COUNTER("store_puts", "pulsemq_store_puts_total", "Messages appended."),
	STORE_COUNTER("store_puts_acked", "pulsemq_store_puts_acked_total",
	              "Puts acknowledged after the flush policy was met."),
	STORE_COUNTER("store_puts_failed", "pulsemq_store_puts_failed_total", "Puts that failed."),
	STORE_COUNTER("store_append_errors", "pulsemq_store_append_errors_total",
	              "Appends that failed (disk full, I/O error)."),
	STORE_COUNTER("store_fsyncs", "pulsemq_store_fsyncs_total", "fsync calls made by the store."),
	STORE_COUNTER("store_fsync_errors", "pulsemq_store_fsync_errors_total", "fsync calls that failed."),
	STORE_COUNTER("store_flush_batches", "pulsemq_store_flush_batches_total",
	              "Group commits (one fsync round for many puts)."),
	STORE_COUNTER("store_acks_batched", "pulsemq_store_acks_batched_total",
	              "Put acknowledgements released by group commits."),
	STORE_COUNTER("store_gets", "pulsemq_store_gets_total", "Gets served by the store."),
	STORE_COUNTER("store_get_misses", "pulsemq_store_get_misses_total",
	              "Gets that found no data (404, 301)."),
	STORE_COUNTER("store_get_bytes", "pulsemq_store_get_bytes_total", "Bytes returned by gets."),
	STORE_COUNTER("store_offsets", "pulsemq_store_offset_requests_total", "Offset requests served."),
	STORE_COUNTER("store_truncated_bytes", "pulsemq_store_recovery_truncated_bytes_total",
	              "Bytes of torn tails cut off by recovery."),
	STORE_COUNTER("store_segments_deleted", "pulsemq_store_segments_deleted_total",
	              "Segments deleted by retention."),
	STORE_GAUGE("store_fsyncs_per_1000_puts", "pulsemq_store_fsyncs_per_1000_puts",
	            "fsync calls per 1000 puts (group-commit efficiency)."),
#undef STORE_COUNTER
#undef STORE_GAUGE
	{ "bytes_read", "pulsemq_network_received_bytes_total", M_COUNTER, NULL, NULL, 1,
	  "Bytes read from client sockets." },
	{ "bytes_written", "pulsemq_network_sent_bytes_total", M_COUNTER, NULL, NULL, 1,
	  "Bytes written to client sockets." },
};

/* Per-pool fields: the key is POOL.FIELD or POOL_FIELD. */
static const struct family pool_families[] = {
	{ "threads", "pulsemq_pool_threads", M_GAUGE, NULL, NULL, 1,
	  "Worker threads of the pool." },
	{ "queue_size", "pulsemq_pool_queue_capacity", M_GAUGE, NULL, NULL, 1,
	  "Requests the pool's queue holds at most." },
	{ "queued", "pulsemq_pool_queue_depth", M_GAUGE, NULL, NULL, 1,
	  "Requests waiting in the pool's queue now." },
	{ "submitted", "pulsemq_pool_submitted_total", M_COUNTER, NULL, NULL, 1,
	  "Requests queued to the pool." },
	{ "rejected_busy", "pulsemq_pool_rejected_total", M_COUNTER, NULL, NULL, 1,
	  "Requests answered 503 because the pool's queue was full." },
	{ "expired", "pulsemq_pool_expired_total", M_COUNTER, NULL, NULL, 1,
	  "Requests answered 504 after waiting past request_timeout_ms." },
	{ "completed", "pulsemq_pool_completed_total", M_COUNTER, NULL, NULL, 1,
	  "Requests the pool's workers finished." },
	/* The histogram itself is pulsemq_pool_queue_wait_seconds
	 * (metrics_source.c); these are its quantiles as `stats pools` has them. */
	{ "wait_p50_us", "pulsemq_pool_queue_wait_quantile_seconds", M_GAUGE, "quantile", "0.5",
	  1e-6, "Time requests waited in the pool's queue, quantiles since start." },
	{ "wait_p99_us", "pulsemq_pool_queue_wait_quantile_seconds", M_GAUGE, "quantile", "0.99",
	  1e-6, "Time requests waited in the pool's queue, quantiles since start." },
};

static const char *const pool_names[] = { "get", "put", "heartbeat" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct sample {
	char name[NAME_MAX_LEN];
	const char *help;      /* NULL for keys we do not know */
	enum mtype type;
	char labels[2 * NAME_MAX_LEN]; /* rendered: pool="get",quantile="0.5" */
	char value[VALUE_MAX];
};

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

/* Prometheus names and label values: [a-zA-Z0-9_], anything else '_'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			*s = '_';
}

/* "12", "-3", "0.25", "1e6": a number Prometheus can parse; no inf/nan
 * words, which strtod would take but a stats line never means. */
static int parse_number(const char *v, double *out)
{
	char *end;

	if (!*v || !(isdigit((unsigned char)v[0]) || v[0] == '-' || v[0] == '.'))
		return -EINVAL;
	errno = 0;
	*out = strtod(v, &end);
	return (*end || errno) ? -EINVAL : 0;
}

static void set_value(struct sample *s, const char *token, double scale)
{
	double v;

	if (scale == 1) {
		/* Integers pass through untouched: a uint64 counter keeps all its
		 * digits, which a double would not. */
		snprintf(s->value, sizeof s->value, "%s", token);
		return;
	}
	parse_number(token, &v);
	snprintf(s->value, sizeof s->value, "%.9g", v * scale);
}

/* Fills s from family f for stats key rest-of-key `rest`; pool may be NULL. */
static void from_family(struct sample *s, const struct family *f, const char *rest,
                        const char *pool, const char *token)
{
	char lv[KEY_MAX];
	size_t n = 0;

	snprintf(s->name, sizeof s->name, "%s", f->name);
	s->help = f->help;
	s->type = f->type;
	s->labels[0] = '\0';
	if (pool)
		n = (size_t)snprintf(s->labels, sizeof s->labels, "pool=\"%s\"", pool);
	if (f->label) {
		/* A value from our table is used as written; one cut from a key
		 * is reduced to name characters, so no escaping is ever needed. */
		snprintf(lv, sizeof lv, "%s", f->label_value ? f->label_value : rest);
		if (!f->label_value)
			sanitize(lv);
		snprintf(s->labels + n, sizeof s->labels - n, "%s%s=\"%s\"", n ? "," : "",
		         f->label, lv);
	}
	set_value(s, token, f->scale);
}

static const struct family *find_family(const struct family *t, size_t n, const char *key,
                                        const char **rest)
{
	for (size_t i = 0; i < n; i++) {
		size_t klen = strlen(t[i].key);
		if (t[i].key[klen - 1] == '*') {
			if (strncmp(key, t[i].key, klen - 1) == 0 && key[klen - 1]) {
				*rest = key + klen - 1;
				return &t[i];
			}
		} else if (strcmp(key, t[i].key) == 0) {
			*rest = "";
			return &t[i];
		}
	}
	return NULL;
}

/* One "key value" pair of section into s. Returns 0, or -1 to skip it. */
static int make_sample(struct sample *s, const char *section, const char *key,
                       const char *token)
{
	const struct family *f;
	const char *rest;
	double v;

	if (parse_number(token, &v) != 0)
		return -1;
	if (strcmp(section, "pools") == 0) {
		for (size_t i = 0; i < N(pool_names); i++) {
			size_t plen = strlen(pool_names[i]);
			if (strncmp(key, pool_names[i], plen) != 0 ||
			    (key[plen] != '.' && key[plen] != '_') || !key[plen + 1])
				continue;
			const char *field = key + plen + 1;
			f = find_family(pool_families, N(pool_families), field, &rest);
			if (f) {
				from_family(s, f, rest, pool_names[i], token);
			} else {
				snprintf(s->name, sizeof s->name, "pulsemq_pool_%s", field);
				sanitize(s->name);
				s->help = NULL;
				s->type = M_UNTYPED;
				snprintf(s->labels, sizeof s->labels, "pool=\"%s\"", pool_names[i]);
				set_value(s, token, 1);
			}
			return 0;
		}
		/* A pools line naming no known pool: keep it, unlabelled. */
	} else {
		f = find_family(system_families, N(system_families), key, &rest);
		if (f) {
			from_family(s, f, rest, NULL, token);
			return 0;
		}
		if (strcmp(key, "pid") == 0)
			return -1; /* process_* metrics belong to the node exporter */
	}
	snprintf(s->name, sizeof s->name, "pulsemq_%s%s%s", section, *section ? "_" : "", key);
	sanitize(s->name);
	s->help = NULL;
	s->type = M_UNTYPED;
	s->labels[0] = '\0';
	set_value(s, token, 1);
	return 0;
}

static void print_samples(struct metrics_out *out, const struct sample *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(v[j].name, v[i].name) == 0;
		if (seen)
			continue; /* its family was printed with its first sample */
		if (v[i].help)
			metrics_printf(out, "# HELP %s %s\n", v[i].name, v[i].help);
		metrics_printf(out, "# TYPE %s %s\n", v[i].name, type_names[v[i].type]);
		for (size_t j = i; j < n; j++) {
			if (strcmp(v[j].name, v[i].name) != 0)
				continue;
			if (v[j].labels[0])
				metrics_printf(out, "%s{%s} %s\n", v[j].name, v[j].labels, v[j].value);
			else
				metrics_printf(out, "%s %s\n", v[j].name, v[j].value);
		}
	}
}

void metrics_render_stats(struct metrics_out *out, const char *section, const char *text,
                          size_t len)
{
	struct sample *v = calloc(SAMPLES_MAX, sizeof *v);
	const char *p = text, *end = text + len;
	size_t n = 0, dropped = 0;

	if (!v) {
		out->failed = true;
		return;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		const char *sp = memchr(p, ' ', (size_t)(line_end - p));
		size_t vlen;

		if (line_end > p && line_end[-1] == '\r')
			line_end--;
		if (sp && (size_t)(sp - p) < KEY_MAX && sp > p &&
		    (vlen = (size_t)(line_end - sp - 1)) > 0 && vlen < VALUE_MAX) {
			char key[KEY_MAX], token[VALUE_MAX];
			memcpy(key, p, (size_t)(sp - p));
			key[sp - p] = '\0';
			memcpy(token, sp + 1, vlen);
			token[vlen] = '\0';
			if (n == SAMPLES_MAX)
				dropped++;
			else if (make_sample(&v[n], section, key, token) == 0)
				n++;
		}
		p = eol ? eol + 1 : end;
	}
	print_samples(out, v, n);
	if (dropped)
		metrics_printf(out, "# %zu more stats lines in section '%s' were not exported\n",
		               dropped, section);
	free(v);
}
