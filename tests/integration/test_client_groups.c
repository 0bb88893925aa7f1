/*
 * test_client_groups.c - libpulsemq's consumer groups against the real
 * daemon: registration refreshes keep a client registered past
 * client_expire_ms; three consumers share a topic of 6 partitions
 * (disjoint, complete, 2 each); a member in another process joins and is
 * killed with SIGKILL, one leaves: the others rebalance and every message
 * is delivered at least once (duplicates counted); committed offsets
 * survive a broker kill -9.
 */
#include <config.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/pulsemq.h"
#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define NPART 6
#define NMSG 600          /* per round, over the 6 partitions */
#define T_MS 20000        /* only guards against hangs */

static const char *const settings[] = { "num_partitions=6", "client_expire_ms=1500",
	                                "notify_coalesce_ms=20", NULL };

static unsigned seen[3 * NMSG];
static unsigned dups;

static int on_msg(const struct pulsemq_message *m, int32_t partition, void *arg)
{
	(void)partition;
	(void)arg;
	char buf[32];
	size_t n = m->len < sizeof buf - 1 ? m->len : sizeof buf - 1;
	memcpy(buf, m->payload, n);
	buf[n] = '\0';
	int id = atoi(buf);
	if (id >= 0 && id < 3 * NMSG) {
		dups += seen[id] > 0;
		seen[id]++;
	}
	return 0;
}

static void produce(int port, int from, int to)
{
	struct pulsemq_conn *c;
	struct pulsemq_error err;
	char why[200], buf[32];
	int failed = 0;

	if (pulsemq_connect(&c, "127.0.0.1", port, NULL, why, sizeof why) != 0)
		bail_out("producer: %s", why);
	for (int i = from; i < to; i++) {
		int n = snprintf(buf, sizeof buf, "%d", i);
		failed += pulsemq_put(c, "gt", i % NPART, buf, (size_t)n, 0, NULL, &err) != 0;
	}
	pulsemq_close(c);
	is(failed, 0, "produced messages %d..%d", from, to - 1);
}

static struct pulsemq_consumer *open_consumer(int port, const char *id)
{
	struct pulsemq_consumer_options o;
	struct pulsemq_consumer *k = NULL;
	char why[200];

	pulsemq_consumer_options_init(&o);
	o.group = "cg";
	o.topic = "gt";
	o.client_id = id;
	o.auto_commit_ms = 100;
	o.conn.heartbeat_interval_ms = 300;
	if (pulsemq_consumer_open(&k, "127.0.0.1", port, &o, why, sizeof why) != 0)
		diag("consumer %s: %s", id, why);
	return k;
}

/* Polls every consumer in turn until the partitions they own are
 * disjoint, cover all NPART and number want_each each (0: don't care). */
static bool settle(struct pulsemq_consumer **k, int n, int want_total)
{
	uint64_t deadline = td_now_ms() + T_MS;

	while (td_now_ms() < deadline) {
		int owned[NPART] = { 0 }, total = 0;
		bool twice = false;
		for (int i = 0; i < n; i++) {
			int32_t p[NPART];
			pulsemq_consumer_poll(k[i], 10, on_msg, NULL);
			int m = pulsemq_consumer_partitions(k[i], p, NPART);
			for (int j = 0; j < m && j < NPART; j++) {
				twice = twice || owned[p[j]]++;
				total++;
			}
		}
		if (!twice && total == want_total)
			return true;
	}
	return false;
}

static bool all_seen(int upto)
{
	for (int i = 0; i < upto; i++)
		if (!seen[i])
			return false;
	return true;
}

static bool drain(struct pulsemq_consumer **k, int n, int upto)
{
	uint64_t deadline = td_now_ms() + T_MS;

	while (!all_seen(upto) && td_now_ms() < deadline)
		for (int i = 0; i < n; i++)
			pulsemq_consumer_poll(k[i], 10, on_msg, NULL);
	return all_seen(upto);
}

/* A member in another process: joins, then waits to be killed. */
static pid_t spawn_member(int port)
{
	int p[2];
	char c = 0;

	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct pulsemq_consumer *k = open_consumer(port, "zz-child");
		c = k != NULL;
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		/* owns a share but reads none of it (its registration lasts
		 * client_expire_ms): what it owned must reach the others */
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static long long committed(int port, int part)
{
	struct pulsemq_conn *c;
	struct pulsemq_reply r;
	struct pulsemq_error err;
	char why[200], line[64];
	long long v = -1;

	if (pulsemq_connect(&c, "127.0.0.1", port, NULL, why, sizeof why) != 0)
		return -1;
	snprintf(line, sizeof line, "committed gt cg %d", part);
	if (pulsemq_call(c, line, NULL, 0, &r, &err) == 0)
		v = atoll(r.body);
	pulsemq_reply_free(&r);
	pulsemq_close(c);
	return v;
}

int main(void)
{
	struct td_daemon d;
	struct pulsemq_consumer *k[3];

	if (td_start(&d, settings) != 0)
		bail_out("pulsemqd did not start");
	produce(d.port, 0, NMSG);
	k[0] = open_consumer(d.port, "c-a");
	k[1] = open_consumer(d.port, "c-b");
	k[2] = open_consumer(d.port, "c-c");
	ok(k[0] && k[1] && k[2], "three consumers open");
	ok(settle(k, 3, NPART), "6 partitions shared by 3: each owned once");
	int32_t p[NPART];
	ok(pulsemq_consumer_partitions(k[0], p, NPART) == 2 && p[0] == 0 && p[1] == 1,
	   "c-a (first by client id) owns partitions 0 and 1");
	ok(drain(k, 3, NMSG), "every message of round 1 delivered");

	pid_t child = spawn_member(d.port);
	ok(child > 0, "a fourth member joins from another process");
	ok(settle(k, 3, NPART - 1), "the three rebalance: the child owns one partition");
	produce(d.port, NMSG, 2 * NMSG);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ok(settle(k, 3, NPART), "after its kill -9 the three own all 6 again");
	ok(drain(k, 3, 2 * NMSG), "every message of round 2 delivered, the child's share too");

	pulsemq_consumer_close(k[2]);
	ok(settle(k, 2, NPART), "c-c leaves: the two own all 6");
	produce(d.port, 2 * NMSG, 3 * NMSG);
	ok(drain(k, 2, 3 * NMSG), "every message of round 3 delivered");
	diag("%u duplicates (redelivered around the rebalances)", dups);
	ok(dups <= 2 * NMSG, "duplicates bounded (%u)", dups);
	ok(pulsemq_consumer_rebalances(k[0]) >= 3, "c-a rebalanced %llu times",
	   (unsigned long long)pulsemq_consumer_rebalances(k[0]));
	pulsemq_consumer_close(k[0]);
	pulsemq_consumer_close(k[1]);

	long long before[NPART];
	for (int i = 0; i < NPART; i++)
		before[i] = committed(d.port, i);
	ok(before[0] > 0 && before[5] > 0, "closing committed every partition");
	td_kill9(&d);
	is(td_restart(&d, settings), 0, "broker restarted after kill -9");
	int same = 0;
	for (int i = 0; i < NPART; i++)
		same += committed(d.port, i) == before[i];
	is(same, NPART, "every committed offset survived the kill -9");
	is(td_stop(&d, T_MS), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
