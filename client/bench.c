/*
 * bench.c - pulsemq-bench: a load generator for pulsemq (and, with --raw,
 * for line-protocol peers such as memcached and redis). main() starts the
 * workers, draws the progress line once a second on stderr, and reports.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/bench.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* One line a second: redrawn in place on a tty, appended otherwise. */
static void progress(const struct bench_run *run, uint64_t now, uint64_t *prev_done,
                     uint64_t *prev_ns, bool tty)
{
	static struct bench_stats warm, meas; /* big: keep them off the stack */
	bench_stats_sum(run, &warm, true);
	bench_stats_sum(run, &meas, false);
	bool warming = now < run->warm_end;
	const struct bench_stats *cur = warming ? &warm : &meas;
	uint64_t done = 0, errors = 0;
	struct bench_hist h;
	bench_hist_init(&h);
	for (int op = 0; op < OP_COUNT; op++) {
		const struct op_stats *a = &warm.op[op], *b = &meas.op[op];
		done += a->completed + b->completed;
		errors += b->completed - b->codes[200];
		bench_hist_merge(&h, &cur->op[op].lat);
	}
	double dt = (double)(now - *prev_ns) / 1e9;
	double rate = dt > 0 ? (double)(done - *prev_done) / dt : 0;
	*prev_done = done;
	*prev_ns = now;
	fprintf(stderr, "%s[%5.0fs]%s %10.0f ops/s  errors %llu  p99 %.1f us%s",
	        tty ? "\r" : "", (double)(now - run->t0) / 1e9, warming ? " warmup" : "",
	        rate, (unsigned long long)errors, (double)bench_hist_percentile(&h, 99) / 1000.0,
	        tty ? "\033[K" : "\n");
	fflush(stderr);
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	int rc = bench_parse(&o, argc, argv);
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct bench_run run = { .o = &o };
	run.workers = calloc((size_t)o.threads, sizeof(*run.workers));
	run.producer_seq = calloc((size_t)o.conns, sizeof(*run.producer_seq));
	if (!run.workers || !run.producer_seq) {
		fputs("pulsemq-bench: out of memory\n", stderr);
		return 2;
	}
	run.run_id = (uint32_t)(bench_now_ns() ^ (uint64_t)getpid() << 16);
	if (o.consumers && bench_group_start(&run) < 0) {
		static struct group_result gr; /* big: keep it off the stack */
		bench_group_finish(&run, 0, &gr);
		fprintf(stderr, "pulsemq-bench: %s\n", gr.text[0] ? gr.text : strerror(ENOMEM));
		return 2;
	}
	pthread_barrier_init(&run.connected, NULL, (unsigned)o.threads + 1);
	pthread_barrier_init(&run.go, NULL, (unsigned)o.threads + 1);
	int started = 0;
	for (int i = 0; i < o.threads; i++) {
		struct bench_worker *w = &run.workers[i];
		w->id = i;
		w->o = &o;
		w->run = &run;
		if (pthread_create(&w->thread, NULL, bench_worker_main, w) != 0) {
			fprintf(stderr, "pulsemq-bench: cannot start thread %d\n", i);
			return 2;
		}
		started++;
	}
	pthread_barrier_wait(&run.connected);
	for (int i = 0; i < o.threads; i++)
		if (run.workers[i].connect_error && !run.abort) {
			fprintf(stderr, "pulsemq-bench: cannot connect: %s\n",
			        run.workers[i].connect_text[0] ? run.workers[i].connect_text
			                                       : strerror(-run.workers[i].connect_error));
			run.abort = 1;
		}
	run.t0 = bench_now_ns();
	run.warm_end = run.t0 + (uint64_t)(o.warmup_s * 1e9);
	run.t_end = o.total ? 0 : run.warm_end + (uint64_t)(o.duration_s * 1e9);
	pthread_barrier_wait(&run.go);

	bool tty = isatty(STDERR_FILENO) == 1;
	uint64_t prev_done = 0, prev_ns = run.t0, next = run.t0 + 1000000000ull;
	while (!run.abort && __atomic_load_n(&run.finished, __ATOMIC_ACQUIRE) < started) {
		sleep_ms(50);
		if (interrupted)
			__atomic_store_n(&run.stop, 1, __ATOMIC_RELEASE);
		uint64_t now = bench_now_ns();
		if (!o.quiet && now >= next) {
			progress(&run, now, &prev_done, &prev_ns, tty);
			next += 1000000000ull;
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(run.workers[i].thread, NULL);
	if (!o.quiet && tty && !run.abort)
		fputc('\n', stderr);
	pthread_barrier_destroy(&run.connected);
	pthread_barrier_destroy(&run.go);
	if (run.abort) {
		if (o.consumers) {
			static struct group_result gr0;
			bench_group_finish(&run, 0, &gr0);
		}
		rc = 2;
		goto out;
	}

	static struct group_result gr; /* big: keep it off the stack */
	if (o.consumers) {
		static struct bench_stats warm, meas;
		bench_stats_sum(&run, &warm, true);
		bench_stats_sum(&run, &meas, false);
		bench_group_finish(&run, warm.op[OP_PUT].codes[200] + meas.op[OP_PUT].codes[200], &gr);
	}
	struct verify_result vr;
	if (o.verify)
		bench_verify(&run, &vr);
	static struct bench_stats sum;
	bench_stats_sum(&run, &sum, false);
	rc = bench_report(&run, &sum, o.verify ? &vr : NULL, o.consumers ? &gr : NULL);
out:
	for (int i = 0; i < o.threads; i++)
		free(run.workers[i].acks);
	free(run.workers);
	free(run.producer_seq);
	free(o.raw);
	free(o.routes);
	return rc;
}
