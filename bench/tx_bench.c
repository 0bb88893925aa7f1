/*
 * tx_bench.c - committed transactions per second (10 puts each: BEGIN, 10
 * puts over 2 partitions, COMMIT_ONE_PHASE) beside plain durable puts, in
 * the same run, flush_mode = sync, 50 connections in closed loops; and
 * fsyncs per committed transaction (transaction log + partitions).
 *
 * Not a test: `make bench/tx_bench && PULSEMQD=./pulsemqd bench/tx_bench
 * [-t SECONDS] [-c CONNS]`.
 */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>

#include "tests/integration/tx_util.h"

#define PUTS_PER_TX 10
#define MAX_CONNS 256

static int port, run_seconds = 3, conns = 50;
static atomic_bool stop_flag;
static atomic_long ops, errors;
static bool tx_mode;

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg, fd = td_connect(port);
	char req[512], body[256], key[64];
	int code;
	int32_t op;
	if (fd < 0)
		return NULL;
	for (long n = 1; !atomic_load(&stop_flag); n++) {
		if (!tx_mode) {
			int len;
			/* a plain put: no key, so drop the empty token */
			len = snprintf(req, sizeof req, "put benchplain %ld 100 0 1\r\n%0100d",
			               n % 2, 0);
			if (td_send(fd, req, (size_t)len) ||
			    tx_read_result(fd, &code, body, sizeof body, &op) || code != 200) {
				atomic_fetch_add(&errors, 1);
				break;
			}
			atomic_fetch_add(&ops, 1);
			continue;
		}
		snprintf(key, sizeof key, "TX:bench-%d:%ld", id, n);
		int len = snprintf(req, sizeof req, "transaction %s bench-%d BEGIN 1\r\n", key, id);
		bool good = td_send(fd, req, (size_t)len) == 0 &&
		            tx_read_result(fd, &code, body, sizeof body, &op) == 0 && code == 200;
		for (int i = 0; good && i < PUTS_PER_TX; i++)
			good = tx_put(fd, "benchtx", i % 2, "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
			              key, 2 + i, NULL, NULL, 0) > 0;
		len = snprintf(req, sizeof req, "transaction %s bench-%d COMMIT_ONE_PHASE 3\r\n",
		               key, id);
		good = good && td_send(fd, req, (size_t)len) == 0 &&
		       tx_read_result(fd, &code, body, sizeof body, &op) == 0 && code == 200;
		if (!good) {
			atomic_fetch_add(&errors, 1);
			break;
		}
		atomic_fetch_add(&ops, 1);
	}
	close(fd);
	return NULL;
}

static double run(bool txs)
{
	pthread_t th[MAX_CONNS];
	tx_mode = txs;
	atomic_store(&stop_flag, false);
	atomic_store(&ops, 0);
	for (int i = 0; i < conns; i++)
		pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
	uint64_t t0 = td_now_ms();
	while (td_now_ms() - t0 < (uint64_t)run_seconds * 1000)
		poll(NULL, 0, 50);
	long n = atomic_load(&ops);
	uint64_t t1 = td_now_ms();
	atomic_store(&stop_flag, true);
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	return (double)n * 1000.0 / (double)(t1 - t0);
}

int main(int argc, char **argv)
{
	struct td_daemon d;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-t"))
			run_seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "-c"))
			conns = atoi(argv[i + 1]);
	}
	if (conns < 1 || conns > MAX_CONNS)
		conns = 50;
	const char *const set[] = { "num_partitions=2", "flush_mode=sync", "log_level=warn",
		                    NULL };
	if (td_start(&d, set) != 0)
		return 1;
	port = d.port;
	double plain = run(false);
	long long sf0 = td_stat(port, "", "store_fsyncs");
	long long lf0 = td_stat(port, "transactions", "tx_log_fsyncs");
	long long c0 = td_stat(port, "transactions", "tx_committed");
	double txs = run(true);
	long long sf1 = td_stat(port, "", "store_fsyncs");
	long long lf1 = td_stat(port, "transactions", "tx_log_fsyncs");
	long long c1 = td_stat(port, "transactions", "tx_committed");
	printf("%d connections, flush_mode=sync, 100-byte messages, %d s each\n", conns,
	       run_seconds);
	printf("plain durable puts:     %10.0f puts/s\n", plain);
	printf("transactions (10 puts): %10.0f committed tx/s = %.0f messages/s\n", txs,
	       txs * PUTS_PER_TX);
	if (c1 > c0)
		printf("fsyncs per committed tx: %.2f (transaction log %.2f + partitions %.2f)\n",
		       (double)(sf1 - sf0 + lf1 - lf0) / (double)(c1 - c0),
		       (double)(lf1 - lf0) / (double)(c1 - c0),
		       (double)(sf1 - sf0) / (double)(c1 - c0));
	if (atomic_load(&errors))
		printf("errors: %ld\n", atomic_load(&errors));
	td_stop(&d, 10000);
	td_cleanup(&d);
	return 0;
}
