/*
 * test_cluster.c - two real brokers registered in a real ZooKeeper, used
 * through discovery (pulsemq_discover() via `pulsemq -z`):
 *  - puts spread over the brokers' partitions;
 *  - a broker taken offline leaves topics-pub: every put goes to the other;
 *  - a broker killed with SIGKILL is still listed until its session
 *    expires: a put that picks it fails over to the other broker, and the
 *    time until its nodes vanish is reported;
 *  - get -z TOPIC B-P OFFSET reads partition P of broker B;
 *  - an unreachable ZooKeeper is a clear error (exit 2).
 */
#include <config.h>

#include <signal.h>
#include <sys/un.h>

#include "tests/integration/rt_util.h"
#include "tests/integration/test_cli_run.h"
#include "tests/integration/zk_util.h"

#define SESSION_MS 2000
#define BOUND_MS 30000
#define SPREAD_PUTS 16

static struct zk_server zks;
static char sock_dir[64] = "/tmp/pmq-cl-XXXXXX";

static int cli(struct run_out *r, const char *input, const char *const *args)
{
	const char *argv[16];
	const char *bin = getenv("PULSEMQ_CLI");
	int n = 0;

	argv[n++] = bin ? bin : "./pulsemq";
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	run_prog(r, input, RT_HANG_MS, argv);
	return r->status;
}

static void admin(int b, const char *verb)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct td_conn a;
	char line[64];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/admin%d.sock", sock_dir, b);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		diag("admin socket of broker %d: %s", b, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	td_conn_init(&a, fd);
	snprintf(line, sizeof line, "admin %s 1\r\n", verb);
	if (td_roundtrip(&a, line, strlen(line), RT_HANG_MS) != 1 || a.msg.code != 200)
		diag("admin %s on broker %d failed", verb, b);
	td_conn_free(&a);
}

static int start_broker(struct td_daemon *d, int b, const char *zk_opt)
{
	char id[32], sock[128];
	snprintf(id, sizeof id, "broker_id=%d", b);
	snprintf(sock, sizeof sock, "admin_socket=%s/admin%d.sock", sock_dir, b);
	const char *settings[] = { zk_opt, id, sock, "num_partitions=2",
		                   "zk_session_timeout_ms=2000", NULL };
	return td_start(d, settings);
}

int main(void)
{
	struct td_daemon d[2];
	struct run_out *r = malloc(sizeof *r);
	char zk_opt[128], path[128];

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(sock_dir))
		bail_out("mkdtemp");
	if (zks_start(&zks) != 0)
		bail_out("cannot start ZooKeeper (zookeeper and default-jre-headless installed?)");
	zhandle_t *zh = zkc_open(zks.connect);
	if (!zh)
		bail_out("cannot connect to ZooKeeper at %s", zks.connect);
	snprintf(zk_opt, sizeof zk_opt, "zk_connect=%s", zks.connect);
	for (int b = 0; b < 2; b++)
		if (start_broker(&d[b], b, zk_opt) != 0)
			bail_out("broker %d did not start", b);

	/* The topic exists on both brokers (auto-created by a direct put). */
	for (int b = 0; b < 2; b++) {
		char port[16];
		snprintf(port, sizeof port, "%d", d[b].port);
		const char *a[] = { "-p", port, "put", "orders", "0", NULL };
		cli(r, "seed", a);
		snprintf(path, sizeof path, "/meta/brokers/topics-pub/orders/%d-m", b);
		ok(r->status == 0 && zkc_wait(zh, path, true, BOUND_MS) >= 0,
		   "broker %d registered topic orders", b);
	}

	/* Spread: both brokers take some. */
	int on[2] = { 0, 0 }, stored = 0;
	const char *put_z[] = { "-z", zks.connect, "put", "orders", NULL };
	for (int i = 0; i < SPREAD_PUTS; i++) {
		if (cli(r, "spread", put_z) != 0) {
			diag("put -z: %s", r->err);
			continue;
		}
		stored++;
		on[strstr(r->out, "broker 1 ") != NULL]++;
	}
	ok(stored == SPREAD_PUTS && on[0] > 0 && on[1] > 0,
	   "pulsemq -z put: %d stored, %d on broker 0, %d on broker 1", stored, on[0], on[1]);

	/* Offline: producers leave it. */
	admin(1, "offline");
	snprintf(path, sizeof path, "/meta/brokers/topics-pub/orders/1-m");
	ok(zkc_wait(zh, path, false, BOUND_MS) >= 0, "broker 1 offline: out of topics-pub");
	int off_ok = 0;
	for (int i = 0; i < 8; i++)
		off_ok += cli(r, "off", put_z) == 0 && strstr(r->out, "broker 0 ") != NULL;
	ok(off_ok == 8, "with broker 1 offline every put goes to broker 0 (%d of 8)", off_ok);
	admin(1, "online");
	ok(zkc_wait(zh, path, true, BOUND_MS) >= 0, "broker 1 online: back in topics-pub");

	/* get -z B-P */
	const char *get_z[] = { "-z", zks.connect, "get", "orders", "1-0", "0", NULL };
	ok(cli(r, NULL, get_z) == 0 && strstr(r->out, "seed") != NULL,
	   "pulsemq -z get orders 1-0 0 reads broker 1's partition 0");
	const char *get_bad[] = { "-z", zks.connect, "get", "orders", "7-0", "0", NULL };
	ok(cli(r, NULL, get_bad) == 1 && strstr(r->err, "no partition 7-0"),
	   "get -z of a partition no broker has: exit 1 (%s)", r->err);

	/* SIGKILL: listed until its session expires; puts fail over. */
	uint64_t killed = td_now_ms();
	td_kill9(&d[1]);
	int over = 0;
	for (int i = 0; i < 8; i++)
		over += cli(r, "over", put_z) == 0 && strstr(r->out, "broker 0 ") != NULL;
	ok(over == 8, "broker 1 killed: every put lands on broker 0, failing over (%d of 8)", over);
	long gone = zkc_wait(zh, "/meta/brokers/ids/1/master", false, BOUND_MS);
	ok(gone >= 0, "broker 1's nodes vanish %llu ms after SIGKILL (zk_session_timeout_ms %d)",
	   (unsigned long long)(td_now_ms() - killed), SESSION_MS);
	ok(cli(r, "after", put_z) == 0 && strstr(r->out, "broker 0 ") && !strstr(r->err, "broker 1"),
	   "after that, discovery no longer offers broker 1");

	/* ZooKeeper unreachable. */
	const char *put_dead[] = { "-z", "127.0.0.1:1/meta", "put", "orders", NULL };
	ok(cli(r, "x", put_dead) == 2 && strstr(r->err, "not reachable"),
	   "-z with no ZooKeeper: exit 2 (%s)", r->err);

	ok(td_stop(&d[0], RT_HANG_MS) == 0, "broker 0 stops");
	td_cleanup(&d[0]);
	td_cleanup(&d[1]);
	zookeeper_close(zh);
	zks_cleanup(&zks);
	for (int b = 0; b < 2; b++) {
		snprintf(path, sizeof path, "%s/admin%d.sock", sock_dir, b);
		unlink(path);
	}
	rmdir(sock_dir);
	free(r);
	return done_testing();
}
