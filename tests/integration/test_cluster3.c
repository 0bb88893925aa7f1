/*
 * test_cluster3.c - three brokers (ids 0, 1, 2; two partitions each) in a
 * real ZooKeeper, driven through libpulsemq's discovery:
 *  - a cluster producer (pulsemq_cluster_put) writes MSGS messages; broker
 *    1 is killed with SIGKILL a third of the way: the producer carries on
 *    with 0 and 2, failures show only as retried sends, no put fails;
 *  - broker 1 restarted registers again and takes puts;
 *  - a consumer through discovery (topics-sub routes) reads every
 *    acknowledged message at least once; duplicates are counted;
 *  - puts/s through discovery on the cluster beside one broker alone.
 */
#include <config.h>

#include <signal.h>

#include "client/pulsemq.h"
#include "tests/integration/rt_util.h"
#include "tests/integration/test_cli_run.h"
#include "tests/integration/zk_util.h"

#define MSGS 30000
#define KILL_AT (MSGS / 3)
#define BROKERS 3
#define BOUND_MS 30000
#define ALONE_PUTS 5000

static const char config_text[] = "[system]\n[topic=load]\nnum_partitions = 2\n";

static int start(struct td_daemon *d, int b, const char *zk_opt, bool restart)
{
	char id[32];
	snprintf(id, sizeof id, "broker_id=%d", b);
	const char *settings[] = { zk_opt, id, "zk_session_timeout_ms=2000", "flush_mode=async",
		                   "flush_interval_ms=100", NULL };
	struct td_opts o = { .config_text = config_text };
	return restart ? td_restart(d, settings) : td_start_opts(d, &o, settings);
}

/* Reads one partition from *offp to its readable end; seen[i] counts
 * message "m<i>". */
static long read_partition(const struct pulsemq_route *r, int64_t *offp, unsigned char *seen,
                           long *junk)
{
	struct pulsemq_conn *c;
	char why[256];
	int64_t off = *offp;
	int32_t max = 1 << 20;
	long n = 0;

	if (pulsemq_connect(&c, r->host, r->port, NULL, why, sizeof why) != 0) {
		diag("consumer: broker %d: %s", (int)r->broker_id, why);
		return -1;
	}
	for (;;) {
		struct pulsemq_msgset set = { 0 };
		struct pulsemq_error err;
		int rc = pulsemq_get(c, "load", "g", r->partition, off, &max, &set, &err);
		if (rc == 404)
			break;
		if (rc != 0) {
			diag("consumer: broker %d partition %d at %lld: %d %s", (int)r->broker_id,
			     (int)r->partition, (long long)off, rc, err.text);
			n = -1;
			break;
		}
		size_t pos = 0;
		struct pulsemq_message m;
		while (pulsemq_msgset_next(&set, &pos, &m) == 1) {
			int i = -1;
			if (m.len > 1 && m.payload[0] == 'm')
				i = atoi(m.payload + 1);
			if (i >= 0 && i < MSGS)
				seen[i] = seen[i] < 255 ? seen[i] + 1 : 255;
			else
				(*junk)++;
			off = m.offset + (int64_t)m.size;
			n++;
		}
		pulsemq_msgset_free(&set);
	}
	pulsemq_close(c);
	*offp = off;
	return n;
}

int main(void)
{
	struct zk_server zks;
	struct td_daemon d[BROKERS];
	char zk_opt[128], path[128];
	static unsigned char acked[MSGS], seen[MSGS];

	signal(SIGPIPE, SIG_IGN);
	if (zks_start(&zks) != 0)
		bail_out("cannot start ZooKeeper (zookeeper and default-jre-headless installed?)");
	zhandle_t *zh = zkc_open(zks.connect);
	if (!zh)
		bail_out("cannot connect to ZooKeeper at %s", zks.connect);
	snprintf(zk_opt, sizeof zk_opt, "zk_connect=%s", zks.connect);
	for (int b = 0; b < BROKERS; b++) {
		if (start(&d[b], b, zk_opt, false) != 0)
			bail_out("broker %d did not start", b);
		snprintf(path, sizeof path, "/meta/brokers/topics-pub/load/%d-m", b);
		if (zkc_wait(zh, path, true, BOUND_MS) < 0)
			bail_out("broker %d did not register", b);
	}
	ok(1, "three brokers registered topic load (2 partitions each)");

	struct pulsemq_cluster *cl;
	if (pulsemq_cluster_open(&cl, zks.connect, NULL) != 0)
		bail_out("pulsemq_cluster_open");
	unsigned long retried = 0, failed = 0, on[BROKERS] = { 0 }, after_kill[BROKERS] = { 0 };
	uint64_t t0 = td_now_ms();
	for (int i = 0; i < MSGS; i++) {
		char body[16];
		struct pulsemq_cluster_result res;
		struct pulsemq_error err;
		int len = snprintf(body, sizeof body, "m%d", i);
		if (i == KILL_AT)
			td_kill9(&d[1]);
		int rc = pulsemq_cluster_put(cl, "load", NULL, body, (size_t)len, 0, &res, &err);
		retried += res.retries;
		if (rc != 0) {
			if (failed++ < 5)
				diag("put %d: %d %s", i, rc, err.text);
			continue;
		}
		acked[i] = 1;
		if (res.broker_id >= 0 && res.broker_id < BROKERS) {
			on[res.broker_id]++;
			if (i >= KILL_AT)
				after_kill[res.broker_id]++;
		}
	}
	uint64_t took = td_now_ms() - t0;
	ok(failed == 0, "%d puts through discovery, broker 1 killed at %d: %lu failed, %lu "
	   "retried sends", MSGS, KILL_AT, failed, retried);
	/* Round robin over the partitions that take puts: after the kill 0 and 2
	 * share the load (within a fifth of each other). */
	unsigned long lo = after_kill[0] < after_kill[2] ? after_kill[0] : after_kill[2];
	unsigned long hi = after_kill[0] < after_kill[2] ? after_kill[2] : after_kill[0];
	ok(on[0] > 0 && on[1] > 0 && on[2] > 0 && after_kill[1] == 0 && lo > 0 && hi - lo <= hi / 5, "spread: %lu / %lu / %lu on brokers 0 / 1 / 2; after the kill "
	   "%lu / %lu / %lu", on[0], on[1], on[2], after_kill[0], after_kill[1], after_kill[2]);
	diag("cluster: %d puts in %llu ms (%.0f puts/s, the kill and its failovers included)",
	     MSGS, (unsigned long long)took, MSGS * 1000.0 / (double)(took ? took : 1));

	/* Broker 1 again: once ZooKeeper has expired the old session (a new
	 * port is a new address: the old node would be another broker's). */
	ok(zkc_wait(zh, "/meta/brokers/ids/1/master", false, BOUND_MS) >= 0,
	   "the killed broker's session expired");
	ok(start(&d[1], 1, zk_opt, true) == 0, "broker 1 restarted on its data");
	ok(zkc_wait(zh, "/meta/brokers/topics-pub/load/1-m", true, BOUND_MS) >= 0,
	   "broker 1 registered again");
	int on1 = 0;
	uint64_t end = td_now_ms() + BOUND_MS;
	for (int i = 0; on1 == 0 && td_now_ms() < end; i++) {
		struct pulsemq_cluster_result res;
		struct pulsemq_error err;
		char body[24];
		int len = snprintf(body, sizeof body, "again%d", i);
		if (pulsemq_cluster_put(cl, "load", NULL, body, (size_t)len, 0, &res, &err) == 0 &&
		    res.broker_id == 1)
			on1 = 1;
		else
			poll(NULL, 0, 20);
	}
	ok(on1, "broker 1 takes puts again through discovery");

	/* Consumer through discovery: every partition of topics-sub. */
	struct pulsemq_route *r;
	size_t n;
	char why[256];
	long total = 0, junk = 0, lost = 0, dups = 0;
	int drc = pulsemq_discover(zks.connect, "load", false, 10000, &r, &n, why, sizeof why);
	ok(drc == 0 && n == 2 * BROKERS, "consumer: %zu partitions in topics-sub", n);
	/* A get sees up to the last fdatasync (async: within flush_interval_ms
	 * of the put): read on from where each partition ended until every
	 * acknowledged message is there, or the bound. */
	int64_t offs[2 * BROKERS] = { 0 };
	uint64_t read_end = td_now_ms() + BOUND_MS;
	do {
		for (size_t i = 0; i < n && i < 2 * BROKERS; i++) {
			long got = read_partition(&r[i], &offs[i], seen, &junk);
			total += got > 0 ? got : 0;
		}
		lost = 0;
		for (int i = 0; i < MSGS; i++)
			lost += acked[i] && !seen[i];
		if (lost)
			poll(NULL, 0, 100);
	} while (lost && td_now_ms() < read_end);
	free(r);
	for (int i = 0; i < MSGS; i++)
		if (seen[i] > 1)
			dups += seen[i] - 1;
	ok(lost == 0, "every acknowledged message read (%ld lost); %ld records read, %ld "
	   "duplicates, %ld others", lost, total, dups, junk);

	/* puts/s: through discovery on the cluster, and one broker alone. */
	uint64_t tc = td_now_ms();
	int cl_ok = 0;
	for (int i = 0; i < ALONE_PUTS; i++) {
		struct pulsemq_cluster_result res;
		struct pulsemq_error err;
		cl_ok += pulsemq_cluster_put(cl, "load", NULL, "x", 1, 0, &res, &err) == 0;
	}
	tc = td_now_ms() - tc;
	struct pulsemq_conn *one;
	uint64_t ta = td_now_ms();
	int alone_ok = 0;
	if (pulsemq_connect(&one, "127.0.0.1", d[0].port, NULL, why, sizeof why) == 0) {
		for (int i = 0; i < ALONE_PUTS; i++) {
			struct pulsemq_put_result pr;
			struct pulsemq_error err;
			alone_ok += pulsemq_put(one, "load", i % 2, "x", 1, 0, &pr, &err) == 0;
		}
		pulsemq_close(one);
	}
	ta = td_now_ms() - ta;
	ok(cl_ok == ALONE_PUTS && alone_ok == ALONE_PUTS,
	   "puts/s, one blocking producer: cluster through discovery %.0f, one broker alone %.0f",
	   ALONE_PUTS * 1000.0 / (double)(tc ? tc : 1), ALONE_PUTS * 1000.0 / (double)(ta ? ta : 1));

	/* pulsemq-bench -z: connections spread over the cluster's partitions. */
	long before[BROKERS], after[BROKERS];
	for (int b = 0; b < BROKERS; b++)
		before[b] = td_stat(d[b].port, "", "store_puts");
	const char *bench = getenv("PULSEMQ_BENCH");
	const char *bargv[] = { bench ? bench : "./pulsemq-bench", "-z", zks.connect, "--topic",
		                "load", "--mix", "1:0:0", "-c", "6", "-n", "3000", "-q", NULL };
	struct run_out *ro = malloc(sizeof *ro);
	run_prog(ro, NULL, RT_HANG_MS * 4, bargv);
	bool spread = true;
	for (int b = 0; b < BROKERS; b++) {
		after[b] = td_stat(d[b].port, "", "store_puts");
		spread = spread && after[b] - before[b] >= 500;
	}
	ok(ro->status == 0 && spread, "pulsemq-bench -z -c 6 -n 3000: exit %d, puts on brokers "
	   "0 / 1 / 2: %ld / %ld / %ld", ro->status, after[0] - before[0], after[1] - before[1],
	   after[2] - before[2]);
	if (ro->status != 0)
		diag("bench stderr: %s", ro->err);
	free(ro);

	pulsemq_cluster_close(cl);
	for (int b = 0; b < BROKERS; b++) {
		ok(td_stop(&d[b], RT_HANG_MS) == 0, "broker %d stops", b);
		td_cleanup(&d[b]);
	}
	zookeeper_close(zh);
	zks_cleanup(&zks);
	return done_testing();
}
