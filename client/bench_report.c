/*
 * bench_report.c - summing the workers' statistics, the progress line's
 * numbers, and the final report (a table, or JSON with the same fields).
 */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "client/bench.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

static const char *const op_names[OP_COUNT] = { "put", "get", "version", "raw" };

static void op_add(struct op_stats *dst, const struct op_stats *src)
{
	dst->completed += LOAD(&src->completed);
	for (int c = 0; c < BENCH_CODES; c++)
		dst->codes[c] += LOAD(&src->codes[c]);
	dst->other_codes += LOAD(&src->other_codes);
	dst->timeouts += LOAD(&src->timeouts);
	dst->lost += LOAD(&src->lost);
	bench_hist_merge(&dst->lat, &src->lat);
}

void bench_stats_sum(const struct bench_run *run, struct bench_stats *sum, bool warm)
{
	memset(sum, 0, sizeof(*sum));
	for (int op = 0; op < OP_COUNT; op++)
		bench_hist_init(&sum->op[op].lat);
	for (int i = 0; i < run->o->threads; i++) {
		const struct bench_stats *s = warm ? &run->workers[i].warm : &run->workers[i].meas;
		for (int op = 0; op < OP_COUNT; op++)
			op_add(&sum->op[op], &s->op[op]);
		sum->protocol_errors += LOAD(&s->protocol_errors);
		uint64_t last = LOAD(&s->last_ns);
		if (last > sum->last_ns)
			sum->last_ns = last;
	}
}

struct row {
	uint64_t requests, ok, busy, expired, other, timeouts, lost;
	double ops;
	uint64_t p50, p90, p99, p999, max, mean;
};

static void row_make(const struct op_stats *s, double secs, struct row *r)
{
	memset(r, 0, sizeof(*r));
	r->requests = s->completed;
	r->ok = s->codes[200];
	r->busy = s->codes[503];
	r->expired = s->codes[504];
	r->timeouts = s->timeouts;
	r->lost = s->lost;
	r->other = s->completed - r->ok - r->busy - r->expired - r->timeouts - r->lost;
	r->ops = secs > 0 ? (double)s->completed / secs : 0;
	r->p50 = bench_hist_percentile(&s->lat, 50);
	r->p90 = bench_hist_percentile(&s->lat, 90);
	r->p99 = bench_hist_percentile(&s->lat, 99);
	r->p999 = bench_hist_percentile(&s->lat, 99.9);
	r->max = s->lat.count ? s->lat.max : 0;
	r->mean = s->lat.count ? s->lat.sum / s->lat.count : 0;
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void text_row(const char *name, const struct row *r)
{
	printf("%-8s %10llu %11.1f %9llu %7llu %7llu %7llu %8llu %6llu %9.1f %9.1f %9.1f %9.1f %9.1f\n",
	       name, (unsigned long long)r->requests, r->ops, (unsigned long long)r->ok,
	       (unsigned long long)r->busy, (unsigned long long)r->expired,
	       (unsigned long long)r->other, (unsigned long long)r->timeouts,
	       (unsigned long long)r->lost, us(r->p50), us(r->p90), us(r->p99), us(r->p999),
	       us(r->max));
}

static void json_row(const char *name, const struct row *r, const struct op_stats *s, bool comma)
{
	printf("    \"%s\": {\"requests\": %llu, \"ops_per_sec\": %.1f, "
	       "\"status\": {\"200\": %llu, \"503\": %llu, \"504\": %llu, \"other\": %llu, "
	       "\"timeouts\": %llu, \"lost\": %llu, \"codes\": {",
	       name, (unsigned long long)r->requests, r->ops, (unsigned long long)r->ok,
	       (unsigned long long)r->busy, (unsigned long long)r->expired,
	       (unsigned long long)r->other, (unsigned long long)r->timeouts,
	       (unsigned long long)r->lost);
	bool first = true;
	for (int c = 0; c < BENCH_CODES; c++)
		if (s->codes[c]) {
			printf("%s\"%d\": %llu", first ? "" : ", ", c, (unsigned long long)s->codes[c]);
			first = false;
		}
	printf("}}, \"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
	       "\"p99.9\": %.1f, \"max\": %.1f, \"mean\": %.1f}}%s\n",
	       us(r->p50), us(r->p90), us(r->p99), us(r->p999), us(r->max), us(r->mean),
	       comma ? "," : "");
}

int bench_report(const struct bench_run *run, const struct bench_stats *sum,
                 const struct verify_result *vr, const struct group_result *gr)
{
	const struct bench_opts *o = run->o;
	uint64_t end = sum->last_ns > run->warm_end ? sum->last_ns : run->warm_end;
	if (run->t_end && end < run->t_end)
		end = run->t_end;
	double secs = (double)(end - run->warm_end) / 1e9;

	static struct op_stats total; /* big: keep it off the stack */
	memset(&total, 0, sizeof(total));
	bench_hist_init(&total.lat);
	int used[OP_COUNT], nused = 0;
	for (int op = 0; op < OP_COUNT; op++) {
		bool in_mix = o->raw ? op == OP_RAW : op < 3 && o->mix[op] > 0;
		if (!in_mix && sum->op[op].completed == 0)
			continue;
		used[nused++] = op;
		op_add(&total, &sum->op[op]);
	}
	uint64_t heartbeats = 0, reconnects = 0, perr = sum->protocol_errors;
	bool stalled = false;
	for (int i = 0; i < o->threads; i++) {
		stalled |= run->workers[i].stalled;
		heartbeats += run->workers[i].heartbeats;
		reconnects += run->workers[i].reconnects;
		perr += run->workers[i].conn_protocol_errors;
	}
	struct row r;
	row_make(&total, secs, &r);
	uint64_t lost = r.timeouts + r.lost;
	bool verify_bad = vr && (vr->error || vr->missing || vr->duplicated || vr->corrupted);
	bool group_bad = gr && (gr->error || gr->delivered < gr->produced);
	double group_rate = gr && gr->secs > 0 ? (double)gr->delivered / gr->secs : 0;

	if (o->json) {
		printf("{\n  \"target\": \"%s:%d\",\n  \"mode\": \"%s\",\n"
		       "  \"connections\": %d,\n  \"threads\": %d,\n  \"pipeline\": %d,\n"
		       "  \"rate\": %.1f,\n  \"seconds\": %.3f,\n  \"warmup_seconds\": %.3f,\n"
		       "  \"message_size\": %zu,\n  \"commands\": {\n",
		       o->host, o->port, o->raw ? "raw" : "pulsemq", o->conns, o->threads,
		       o->pipeline, o->rate, secs, o->warmup_s, o->msg_size);
		for (int i = 0; i < nused; i++) {
			struct row or;
			row_make(&sum->op[used[i]], secs, &or);
			json_row(op_names[used[i]], &or, &sum->op[used[i]], i + 1 < nused);
		}
		printf("  },\n");
		json_row("total", &r, &total, true);
		printf("  \"protocol_errors\": %llu,\n  \"heartbeats_sent\": %llu,\n"
		       "  \"reconnects\": %llu",
		       (unsigned long long)perr, (unsigned long long)heartbeats,
		       (unsigned long long)reconnects);
		if (vr)
			printf(",\n  \"verify\": {\"acked\": %llu, \"found\": %llu, \"missing\": %llu, "
			       "\"duplicated\": %llu, \"corrupted\": %llu, \"unacked\": %llu, "
			       "\"foreign\": %llu, \"error\": \"%s\"}",
			       (unsigned long long)vr->acked, (unsigned long long)vr->found,
			       (unsigned long long)vr->missing, (unsigned long long)vr->duplicated,
			       (unsigned long long)vr->corrupted, (unsigned long long)vr->unacked,
			       (unsigned long long)vr->foreign, vr->error ? vr->text : "");
		if (gr)
			printf(",\n  \"consumers\": {\"group\": \"%s\", \"members\": %d, "
			       "\"produced\": %llu, \"delivered\": %llu, \"duplicates\": %llu, "
			       "\"delivered_per_sec\": %.1f, \"rebalances\": %llu, "
			       "\"e2e_latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, "
			       "\"p99.9\": %.1f, \"max\": %.1f}, \"error\": \"%s\"}",
			       o->group, o->consumers, (unsigned long long)gr->produced,
			       (unsigned long long)gr->delivered, (unsigned long long)gr->duplicates,
			       group_rate, (unsigned long long)gr->rebalances,
			       us(bench_hist_percentile(&gr->e2e, 50)),
			       us(bench_hist_percentile(&gr->e2e, 90)),
			       us(bench_hist_percentile(&gr->e2e, 99)),
			       us(bench_hist_percentile(&gr->e2e, 99.9)),
			       us(gr->e2e.count ? gr->e2e.max : 0), gr->error ? gr->text : "");
		printf("\n}\n");
	} else {
		printf("%s:%d %s, %d connection%s x %d in flight, %d thread%s, %s, %.2f s measured\n",
		       o->host, o->port, o->raw ? "raw" : "pulsemq", o->conns, o->conns == 1 ? "" : "s",
		       o->pipeline, o->threads, o->threads == 1 ? "" : "s",
		       o->rate > 0 ? "open loop" : "closed loop", secs);
		printf("%-8s %10s %11s %9s %7s %7s %7s %8s %6s %9s %9s %9s %9s %9s\n", "command",
		       "requests", "ops/s", "200", "503", "504", "other", "timeouts", "lost",
		       "p50 us", "p90 us", "p99 us", "p99.9 us", "max us");
		for (int i = 0; i < nused; i++) {
			struct row or;
			row_make(&sum->op[used[i]], secs, &or);
			text_row(op_names[used[i]], &or);
		}
		if (nused > 1)
			text_row("total", &r);
		printf("protocol errors %llu, heartbeats %llu, reconnects %llu\n",
		       (unsigned long long)perr, (unsigned long long)heartbeats,
		       (unsigned long long)reconnects);
		if (vr && vr->error)
			printf("verify: FAILED to read back: %s\n", vr->text);
		else if (vr)
			printf("verify: %s: %llu acked, %llu found, %llu missing, %llu duplicated, "
			       "%llu corrupted, %llu unacked, %llu of other runs\n",
			       verify_bad ? "FAILED" : "ok", (unsigned long long)vr->acked,
			       (unsigned long long)vr->found, (unsigned long long)vr->missing,
			       (unsigned long long)vr->duplicated, (unsigned long long)vr->corrupted,
			       (unsigned long long)vr->unacked, (unsigned long long)vr->foreign);
		if (gr) {
			printf("consumers: group %s, %d members: %llu produced, %llu delivered, "
			       "%llu duplicates, %.1f delivered/s, %llu rebalances%s%s\n",
			       o->group, o->consumers, (unsigned long long)gr->produced,
			       (unsigned long long)gr->delivered, (unsigned long long)gr->duplicates,
			       group_rate, (unsigned long long)gr->rebalances, gr->error ? ": " : "",
			       gr->error ? gr->text : "");
			printf("e2e (put sent -> delivered) us: p50 %.1f  p90 %.1f  p99 %.1f  "
			       "p99.9 %.1f  max %.1f\n",
			       us(bench_hist_percentile(&gr->e2e, 50)),
			       us(bench_hist_percentile(&gr->e2e, 90)),
			       us(bench_hist_percentile(&gr->e2e, 99)),
			       us(bench_hist_percentile(&gr->e2e, 99.9)),
			       us(gr->e2e.count ? gr->e2e.max : 0));
		}
	}
	fflush(stdout);
	if (stalled) {
		fputs("pulsemq-bench: gave up before all requests were sent\n", stderr);
		return 1;
	}
	if (perr || lost) {
		fprintf(stderr, "pulsemq-bench: %llu protocol errors, %llu lost responses\n",
		        (unsigned long long)perr, (unsigned long long)lost);
		return 1;
	}
	if (group_bad) {
		fprintf(stderr, "pulsemq-bench: consumers delivered %llu of %llu puts\n",
		        (unsigned long long)gr->delivered, (unsigned long long)gr->produced);
		return 1;
	}
	return verify_bad ? 1 : 0;
}
