/*
 * test_metrics.c - the table of figures in the Prometheus exposition format
 * (server/metrics/metrics_text.c, metrics_hist.c), from a made-up source:
 * no HTTP, no daemon.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "server/metrics/metrics.h"
#include "server/metrics/stats.h"
#include "tests/tap.h"

/* What the made-up source answers: a few set values, 0 for the rest. */
struct fake {
	uint64_t v[FIG_COUNT][4];
	bool no_store;
};

static int fake_value(void *ctx, enum stat_figure fig, unsigned i, uint64_t *v)
{
	const struct fake *f = ctx;
	if (f->no_store && stat_figures[fig].src == STAT_SRC_STORE)
		return -ENOENT;
	*v = i < 4 ? f->v[fig][i] : 0;
	return 0;
}

static const char *fake_text(void *ctx, enum stat_figure fig)
{
	(void)ctx;
	return fig == FIG_VERSION ? "0.1.0" : NULL;
}

static char *render(struct fake *fk, struct metrics_out *o)
{
	struct stats_source src = { .pools = 3, .pool_names = { "get", "put", "heartbeat\"x" },
	                            .io_threads = 2, .value = fake_value, .text = fake_text,
	                            .ctx = fk };
	memset(o, 0, sizeof *o);
	metrics_render_figures(o, &src);
	metrics_printf(o, "%s", ""); /* NUL-terminates even an empty output */
	return o->buf;
}

/* Lines of text that start with prefix. */
static int count_prefix(const char *text, const char *prefix)
{
	int n = 0;
	size_t plen = strlen(prefix);
	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, plen) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static void test_system(void)
{
	static struct fake fk;
	struct metrics_out o;

	fk.v[FIG_PID][0] = 1234;
	fk.v[FIG_UPTIME][0] = 17;
	fk.v[FIG_CURR_CONNECTIONS][0] = 3;
	fk.v[FIG_TOTAL_CONNECTIONS][0] = UINT64_MAX;
	fk.v[FIG_CMD_FIRST][PMQ_CMD_PUT - 1] = 10;
	fk.v[FIG_CMD_FIRST][PMQ_CMD_GET - 1] = 7;
	fk.v[FIG_CMD_COMPAT][0] = 4;
	fk.v[FIG_CLOSED_FIRST][CLOSE_IDLE] = 2;
	fk.v[FIG_HB_SENT][0] = 5;
	fk.v[FIG_HB_MISSED][0] = 1;
	fk.v[FIG_STORE_FSYNCS][0] = 12;
	fk.v[FIG_STORE_PUTS_ACKED][0] = 8;
	char *t = render(&fk, &o);

	ok(!o.failed, "rendered without running out of memory");
	ok(strstr(t, "# TYPE pulsemq_uptime_seconds gauge\npulsemq_uptime_seconds 17\n") != NULL,
	   "uptime becomes a _seconds gauge");
	ok(strstr(t, "pulsemq_connections 3\n") != NULL, "curr_connections is a gauge value");
	ok(strstr(t, "pulsemq_connections_accepted_total 18446744073709551615\n") != NULL,
	   "a uint64 counter keeps all its digits");
	ok(strstr(t, "pulsemq_commands_total{command=\"put\"} 10\n") != NULL &&
	   strstr(t, "pulsemq_commands_total{command=\"get\"} 7\n") != NULL,
	   "commands are one family labelled by command");
	ok(strstr(t, "pulsemq_commands_compat_spelling_total 4\n") != NULL &&
	   strstr(t, "command=\"compat\"") == NULL && strstr(t, "command=\"none\"") == NULL,
	   "the compat spellings are their own counter; no command \"none\"");
	is(count_prefix(t, "# TYPE pulsemq_commands_total counter"), 1,
	   "one TYPE line for the commands family");
	ok(strstr(t, "pulsemq_sessions_closed_total{reason=\"idle\"} 2\n") != NULL,
	   "close reasons become a label");
	ok(strstr(t, "pulsemq_heartbeats_sent_total 5\n") != NULL &&
	   strstr(t, "pulsemq_heartbeats_missed_total 1\n") != NULL, "heartbeats sent/missed");
	ok(strstr(t, "# HELP pulsemq_store_fsyncs_total fsync calls made by the store.\n"
	             "# TYPE pulsemq_store_fsyncs_total counter\npulsemq_store_fsyncs_total 12\n")
	   != NULL, "the store's fsyncs: HELP, TYPE counter, sample");
	ok(strstr(t, "pulsemq_store_puts_acked_total 8\n") != NULL, "and its acknowledged puts");
	ok(strstr(t, "0.1.0") == NULL && strstr(t, "1234") == NULL && strstr(t, "pid") == NULL,
	   "the version word and the pid are not exported");
	metrics_out_free(&o);

	fk.no_store = true;
	t = render(&fk, &o);
	ok(strstr(t, "pulsemq_store_fsyncs_total 12") == NULL &&
	   strstr(t, "pulsemq_connections 3\n") != NULL,
	   "figures the source says are absent (no store yet) have no sample");
	metrics_out_free(&o);
}

static void test_pools(void)
{
	static struct fake fk;
	struct metrics_out o;

	fk.v[FIG_POOL_QUEUED][0] = 2;
	fk.v[FIG_POOL_QUEUED][2] = 1;
	fk.v[FIG_POOL_REJECTED_BUSY][0] = 11;
	fk.v[FIG_POOL_EXPIRED][1] = 3;
	fk.v[FIG_POOL_WAIT_P99][0] = 2500;
	char *t = render(&fk, &o);

	ok(strstr(t, "pulsemq_pool_queue_depth{pool=\"get\"} 2\n") != NULL &&
	   strstr(t, "pulsemq_pool_queue_depth{pool=\"put\"} 0\n") != NULL,
	   "queue depth per pool");
	ok(strstr(t, "pulsemq_pool_queue_depth{pool=\"heartbeat\\\"x\"} 1\n") != NULL,
	   "a quote in a label value is escaped");
	is(count_prefix(t, "# TYPE pulsemq_pool_queue_depth gauge"), 1,
	   "the pools' samples are grouped under one TYPE line");
	ok(strstr(t, "pulsemq_pool_rejected_total{pool=\"get\"} 11\n") != NULL, "rejected per pool");
	ok(strstr(t, "pulsemq_pool_expired_total{pool=\"put\"} 3\n") != NULL, "expired per pool");
	ok(strstr(t, "pulsemq_pool_queue_wait_quantile_seconds{pool=\"get\",quantile=\"0.99\"} 0.0025\n") != NULL,
	   "microseconds become seconds with a quantile label");
	is(count_prefix(t, "# TYPE pulsemq_pool_queue_wait_quantile_seconds gauge"), 1,
	   "both quantiles under one TYPE line");
	ok(strstr(t, "# HELP pulsemq_pool_queue_wait_quantile_seconds Time requests waited in "
	             "the pool's queue, quantiles since start.\n") != NULL,
	   "a family's HELP is its first row's help up to \": \"");
	metrics_out_free(&o);
}

static void test_sessions(void)
{
	static struct fake fk;
	struct metrics_out o;

	fk.v[FIG_SESS_OPEN][0] = 5;
	fk.v[FIG_SESS_DRAINING][0] = 2;
	fk.v[FIG_SESS_THROTTLED][0] = 1;
	fk.v[FIG_SESS_HB_OUT][0] = 3;
	fk.v[FIG_IO_SESSIONS][1] = 4;
	fk.v[FIG_IO_MAILBOX_DEPTH][0] = 6;
	fk.v[FIG_IO_THREADS][0] = 2;
	char *t = render(&fk, &o);

	ok(strstr(t, "# HELP pulsemq_sessions Sessions now, by state.\n"
	             "# TYPE pulsemq_sessions gauge\npulsemq_sessions{state=\"open\"} 5\n"
	             "pulsemq_sessions{state=\"draining\"} 2\n") != NULL,
	   "sessions by state: one gauge family, a state label");
	ok(strstr(t, "pulsemq_sessions_throttled 1\n") != NULL &&
	   strstr(t, "pulsemq_sessions_heartbeat_outstanding 3\n") != NULL,
	   "throttled and heartbeat-outstanding sessions");
	ok(strstr(t, "pulsemq_io_threads 2\n") != NULL &&
	   strstr(t, "pulsemq_io_sessions{io=\"0\"} 0\npulsemq_io_sessions{io=\"1\"} 4\n") != NULL &&
	   strstr(t, "pulsemq_io_mailbox_depth{io=\"0\"} 6\n") != NULL,
	   "per IO thread: sessions and mailbox depth, labelled io=");
	metrics_out_free(&o);
}

static void test_histogram(void)
{
	struct metrics_out o = { 0 };
	static struct hist h;

	hist_record(&h, 30);      /* under 50 us */
	hist_record(&h, 700);     /* under 1 ms */
	hist_record(&h, 2000000); /* 2 s */
	metrics_histogram_head(&o, "pulsemq_x_seconds", "X.");
	metrics_histogram(&o, "pulsemq_x_seconds", "pool=\"get\"", &h);
	metrics_histogram(&o, "pulsemq_x_seconds", "", &h);
	metrics_printf(&o, "%s", "");
	const char *t = o.buf;

	ok(strstr(t, "# HELP pulsemq_x_seconds X.\n# TYPE pulsemq_x_seconds histogram\n") == t,
	   "HELP and TYPE histogram first");
	ok(strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"5e-05\"} 1\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"0.0005\"} 1\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"0.001\"} 2\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"1\"} 2\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"2.5\"} 3\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_bucket{pool=\"get\",le=\"+Inf\"} 3\n") != NULL,
	   "cumulative counts at the le edges, +Inf = all");
	ok(strstr(t, "pulsemq_x_seconds_sum{pool=\"get\"} 2.00073\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_count{pool=\"get\"} 3\n") != NULL,
	   "_sum in seconds and _count");
	ok(strstr(t, "pulsemq_x_seconds_bucket{le=\"0.001\"} 2\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_sum 2.00073\n") != NULL &&
	   strstr(t, "pulsemq_x_seconds_count 3\n") != NULL, "and without labels");
	is(count_prefix(t, "pulsemq_x_seconds_bucket{pool=\"get\""), 18, "17 edges and +Inf");
	metrics_out_free(&o);
}

int main(void)
{
	test_system();
	test_pools();
	test_sessions();
	test_histogram();
	return done_testing();
}
