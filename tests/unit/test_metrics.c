/*
 * test_metrics.c - `stats` text in, Prometheus exposition out
 * (server/metrics_text.c, no HTTP, no daemon).
 */
#include <config.h>

#include <string.h>

#include "server/metrics/metrics.h"
#include "tests/tap.h"

static char *render(const char *section, const char *text, struct metrics_out *o)
{
	memset(o, 0, sizeof *o);
	metrics_render_stats(o, section, text, strlen(text));
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
	struct metrics_out o;
	const char *stats =
		"STATS\r\n"
		"pid 1234\r\n"
		"uptime 17\r\n"
		"version 0.1.0\r\n"
		"curr_connections 3\r\n"
		"total_connections 18446744073709551615\r\n"
		"cmd_put 10\r\n"
		"cmd_get 7\r\n"
		"cmd_compat_spellings 4\r\n"
		"sessions_closed_idle 2\r\n"
		"heartbeats_sent 5\r\n"
		"heartbeats_missed 1\r\n"
		"store_fsyncs 12\r\n"
		"brand_new_counter 9\r\n"
		"END\r\n";
	char *t = render("", stats, &o);

	ok(!o.failed, "rendered without running out of memory");
	ok(strstr(t, "pulsemq_uptime_seconds 17\n") != NULL, "uptime becomes _seconds");
	ok(strstr(t, "pulsemq_connections 3\n") != NULL, "curr_connections is a gauge value");
	ok(strstr(t, "pulsemq_connections_accepted_total 18446744073709551615\n") != NULL,
	   "a uint64 counter keeps all its digits");
	ok(strstr(t, "pulsemq_commands_total{command=\"put\"} 10\n") != NULL &&
	   strstr(t, "pulsemq_commands_total{command=\"get\"} 7\n") != NULL,
	   "cmd_* become one family labelled by command");
	ok(strstr(t, "pulsemq_commands_compat_spelling_total 4\n") != NULL &&
	   strstr(t, "command=\"compat\"") == NULL, "an exact key wins over a prefix family");
	is(count_prefix(t, "# TYPE pulsemq_commands_total counter"), 1,
	   "one TYPE line for the commands family");
	ok(strstr(t, "pulsemq_sessions_closed_total{reason=\"idle\"} 2\n") != NULL,
	   "close reasons become a label");
	ok(strstr(t, "pulsemq_heartbeats_sent_total 5\n") != NULL &&
	   strstr(t, "pulsemq_heartbeats_missed_total 1\n") != NULL, "heartbeats sent/missed");
	ok(strstr(t, "# TYPE pulsemq_store_fsyncs_total counter\npulsemq_store_fsyncs_total 12\n") != NULL,
	   "the store's fsyncs are a counter");
	ok(strstr(t, "# TYPE pulsemq_brand_new_counter untyped\npulsemq_brand_new_counter 9\n") != NULL,
	   "an unknown numeric key is still exported");
	ok(strstr(t, "0.1.0") == NULL && strstr(t, "1234") == NULL,
	   "non-numeric values and the pid are skipped");
	ok(strstr(t, "STATS") == NULL && strstr(t, "END") == NULL, "the frame is not exported");
	metrics_out_free(&o);
}

static void test_pools(void)
{
	struct metrics_out o;
	const char *stats =
		"get.threads 4\n"
		"get.queued 2\n"
		"get.rejected_busy 11\n"
		"get.wait_p99_us 2500\n"
		"put_threads 4\n"
		"put_queued 0\n"
		"put_expired 3\n"
		"heartbeat.queued 1\n"
		"heartbeat.odd_field 6\n";
	char *t = render("pools", stats, &o);

	ok(strstr(t, "pulsemq_pool_queue_depth{pool=\"get\"} 2\n") != NULL &&
	   strstr(t, "pulsemq_pool_queue_depth{pool=\"put\"} 0\n") != NULL &&
	   strstr(t, "pulsemq_pool_queue_depth{pool=\"heartbeat\"} 1\n") != NULL,
	   "queue depth per pool, POOL.FIELD and POOL_FIELD alike");
	is(count_prefix(t, "# TYPE pulsemq_pool_queue_depth gauge"), 1,
	   "the pools' samples are grouped under one TYPE line");
	ok(strstr(t, "pulsemq_pool_rejected_total{pool=\"get\"} 11\n") != NULL, "rejected per pool");
	ok(strstr(t, "pulsemq_pool_expired_total{pool=\"put\"} 3\n") != NULL, "expired per pool");
	ok(strstr(t, "pulsemq_pool_queue_wait_quantile_seconds{pool=\"get\",quantile=\"0.99\"} 0.0025\n") != NULL,
	   "microseconds become seconds with a quantile label");
	ok(strstr(t, "pulsemq_pool_odd_field{pool=\"heartbeat\"} 6\n") != NULL,
	   "an unknown pool field keeps its pool label");
	metrics_out_free(&o);
}

static void test_sessions(void)
{
	struct metrics_out o;
	char *t = render("", "sessions_open 5\r\nsessions_draining 2\r\n"
	                 "sessions_throttled 1\r\nsessions_heartbeat_outstanding 3\r\n", &o);

	ok(strstr(t, "# TYPE pulsemq_sessions gauge\npulsemq_sessions{state=\"open\"} 5\n"
	             "pulsemq_sessions{state=\"draining\"} 2\n") != NULL,
	   "sessions by state: one gauge family, a state label");
	ok(strstr(t, "pulsemq_sessions_throttled 1\n") != NULL &&
	   strstr(t, "pulsemq_sessions_heartbeat_outstanding 3\n") != NULL,
	   "throttled and heartbeat-outstanding sessions");
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

static void test_hostile(void)
{
	struct metrics_out o;
	char big[8192];
	memset(big, 'k', sizeof big - 3);
	memcpy(big + sizeof big - 3, " 1", 3);
	char *t = render("", big, &o);
	ok(t && strstr(t, "kkk") == NULL, "an over-long key is skipped");
	metrics_out_free(&o);

	t = render("", "we{ird\"key 5\n 7\nnovalue\nx \n", &o);
	ok(strstr(t, "pulsemq_we_ird_key 5\n") != NULL, "characters outside [a-zA-Z0-9_] are replaced");
	is(count_prefix(t, "pulsemq_"), 1, "lines without a key or value are skipped");
	metrics_out_free(&o);
}

int main(void)
{
	test_system();
	test_pools();
	test_sessions();
	test_histogram();
	test_hostile();
	return done_testing();
}
