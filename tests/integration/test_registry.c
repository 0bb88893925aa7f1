/*
 * test_registry.c - pulsemqd in a real ZooKeeper, in MetaQ's layout
 * (protocol.md "Registry in ZooKeeper"), checked node by node with the C
 * client:
 *  - every node of the table with its data and kind (ephemeral or
 *    persistent), for a configured topic and an auto-created one; the time
 *    from start to topics-pub visible is reported;
 *  - offline removes topics-pub only, online restores it;
 *  - a second broker with the same broker_id refuses to start, naming the
 *    first one's address;
 *  - the broker's session expired on purpose (SIGSTOP past the session
 *    timeout): every node is back within REGISTER_BOUND_MS of SIGCONT;
 *  - ZooKeeper stopped and started again: the broker serves meanwhile
 *    (`stats registry connecting`), a client's connection stays up, a
 *    broker started meanwhile starts, and both are registered again;
 *  - stopping the broker removes its ephemeral nodes at once.
 * ZooKeeper that cannot be started fails the test (bail out), never skips.
 */
#include <config.h>

#include <signal.h>
#include <sys/un.h>

#include "tests/integration/rt_util.h"
#include "tests/integration/zk_util.h"

#define SESSION_MS 2000          /* the brokers' zk_session_timeout_ms here */
#define REGISTER_BOUND_MS 15000  /* nodes back after a new session, generous under load */
#define EXPIRE_BOUND_MS 30000    /* SESSION_MS plus ZooKeeper's tick and the load */
#define BROKER_ID 3

static struct zk_server zks;
static zhandle_t *zh;

static const char config_text[] =
	"[system]\n"
	"[topic=cfgtopic]\n"
	"num_partitions = 2\n";

static void path_of(char *buf, size_t cap, const char *kind, const char *topic)
{
	snprintf(buf, cap, "/meta/brokers/%s/%s/%d-m", kind, topic, BROKER_ID);
}

/* The node holds want; ephemeral says which kind it must be. */
static bool node_is(const char *path, const char *want, bool ephemeral)
{
	char data[512];
	struct Stat st;
	int rc = zkc_get(zh, path, data, sizeof data, &st);

	if (rc != ZOK) {
		diag("%s: %s", path, zerror(rc));
		return false;
	}
	if (strcmp(data, want) || (st.ephemeralOwner != 0) != ephemeral) {
		diag("%s: '%s' (%s), expected '%s' (%s)", path, data,
		     st.ephemeralOwner ? "ephemeral" : "persistent", want,
		     ephemeral ? "ephemeral" : "persistent");
		return false;
	}
	return true;
}

static bool topic_nodes(const char *topic, int parts, bool pub)
{
	char path[256], json[128], n[16];
	bool ok = true;

	snprintf(json, sizeof json, "{\"numParts\":%d,\"broker\":\"%d-m\"}", parts, BROKER_ID);
	snprintf(n, sizeof n, "%d", parts);
	path_of(path, sizeof path, "topics-sub", topic);
	ok = node_is(path, json, true) && ok;
	path_of(path, sizeof path, "topics", topic);
	ok = node_is(path, n, true) && ok;
	path_of(path, sizeof path, "topics-pub", topic);
	if (pub) {
		ok = node_is(path, json, true) && ok;
	} else {
		struct Stat st;
		ok = zoo_exists(zh, path, 0, &st) == ZNONODE && ok;
	}
	return ok;
}

static bool stat_word(int port, const char *key, const char *want)
{
	struct td_conn c;
	char k[64];
	bool found = false;
	int fd = td_connect(port);

	if (fd < 0)
		return false;
	td_conn_init(&c, fd);
	snprintf(k, sizeof k, "\r\n%s %s\r\n", key, want);
	if (td_roundtrip(&c, "stats 1\r\n", 9, RT_HANG_MS) == 1 && c.msg.code == 200)
		found = memmem(c.msg.body.ptr, c.msg.body.len, k, strlen(k)) != NULL;
	td_conn_free(&c);
	return found;
}

/* Polls `stats` until key reads want. */
static bool wait_stat_word(int port, const char *key, const char *want, int timeout_ms)
{
	uint64_t end = td_now_ms() + (uint64_t)timeout_ms;
	while (td_now_ms() < end) {
		if (stat_word(port, key, want))
			return true;
		poll(NULL, 0, 50);
	}
	return false;
}

static int put_on(struct td_conn *c, const char *topic, int op)
{
	char line[128];
	snprintf(line, sizeof line, "put %s 0 5 0 %d\r\nhello", topic, op);
	return td_roundtrip(c, line, strlen(line), RT_HANG_MS) == 1 ? c->msg.code : -1;
}

static char sock_opt[600], addr[64];

static void ctl(const char *verb)
{
	struct td_conn a;
	char line[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", strchr(sock_opt, '=') + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		diag("admin socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	td_conn_init(&a, fd);
	snprintf(line, sizeof line, "admin %s 1\r\n", verb);
	if (td_roundtrip(&a, line, strlen(line), RT_HANG_MS) != 1 || a.msg.code != 200)
		diag("admin %s: no 200", verb);
	td_conn_free(&a);
}

int main(void)
{
	struct td_daemon d, d2, d3;
	char zk_opt[128], id_opt[32], path[256];
	struct td_opts o = { .config_text = config_text };

	signal(SIGPIPE, SIG_IGN);
	if (zks_start(&zks) != 0)
		bail_out("cannot start ZooKeeper (zookeeper and default-jre-headless installed?)");
	ok(1, "ZooKeeper serves on %s", zks.connect);
	zh = zkc_open(zks.connect);
	if (!zh) {
		zks_cleanup(&zks);
		bail_out("cannot connect to ZooKeeper at %s", zks.connect);
	}

	snprintf(zk_opt, sizeof zk_opt, "zk_connect=%s", zks.connect);
	snprintf(id_opt, sizeof id_opt, "broker_id=%d", BROKER_ID);
	char sock_dir[64] = "/tmp/pmq-reg-XXXXXX";
	if (!mkdtemp(sock_dir))
		bail_out("mkdtemp");
	snprintf(sock_opt, sizeof sock_opt, "admin_socket=%s/admin.sock", sock_dir);
	char timeout_opt[64];
	snprintf(timeout_opt, sizeof timeout_opt, "zk_session_timeout_ms=%d", SESSION_MS);
	const char *settings[] = { zk_opt, id_opt, sock_opt, timeout_opt, NULL };

	/* ---- registration ---- */
	uint64_t t0 = td_now_ms();
	if (!ok(td_start_opts(&d, &o, settings) == 0, "broker %d starts with zk_connect", BROKER_ID))
		goto out;
	path_of(path, sizeof path, "topics-pub", "cfgtopic");
	long took = zkc_wait(zh, path, true, REGISTER_BOUND_MS);
	ok(took >= 0, "topics-pub/cfgtopic/%d-m visible %llu ms after the broker's start",
	   BROKER_ID, (unsigned long long)(td_now_ms() - t0));
	snprintf(addr, sizeof addr, "meta://127.0.0.1:%d", d.port);
	ok(node_is("/meta/brokers/ids/3", addr, false), "ids/3 persistent, %s", addr);
	ok(node_is("/meta/brokers/ids/3/master", addr, true), "ids/3/master ephemeral, %s", addr);
	ok(topic_nodes("cfgtopic", 2, true),
	   "configured topic: topics-pub, topics-sub ({\"numParts\":2,...}), topics (2), ephemeral");
	ok(stat_word(d.port, "registry", "connected") && td_stat(d.port, "", "registry_connected") == 1,
	   "stats: registry connected, registry_connected 1");

	struct td_conn c;
	td_conn_init(&c, td_connect(d.port));
	ok(put_on(&c, "autot", 1) == 200, "a put creates topic autot");
	path_of(path, sizeof path, "topics-pub", "autot");
	ok(zkc_wait(zh, path, true, REGISTER_BOUND_MS) >= 0 && topic_nodes("autot", 1, true),
	   "auto-created topic registered: numParts 1, all three nodes");

	/* ---- offline / online ---- */
	ctl("offline");
	ok(zkc_wait(zh, path, false, REGISTER_BOUND_MS) >= 0 && topic_nodes("autot", 1, false) &&
	   topic_nodes("cfgtopic", 2, false), "offline: topics-pub gone, topics-sub and topics stay");
	ok(node_is("/meta/brokers/ids/3/master", addr, true), "offline: still registered as master");
	ctl("online");
	ok(zkc_wait(zh, path, true, REGISTER_BOUND_MS) >= 0 && topic_nodes("autot", 1, true) &&
	   topic_nodes("cfgtopic", 2, true), "online: topics-pub back");

	/* ---- the same broker_id twice ---- */
	char log2[700];
	const char *settings2[] = { zk_opt, id_opt, timeout_opt, NULL };
	/* Its port file may come first (the listener binds before the
	 * registry can name the port): the refusal is its exit. */
	int st2 = td_start(&d2, settings2) == 0 ? td_wait_exit(&d2, RT_HANG_MS) : d2.exit_status;
	ok(st2 == 1, "a second broker with broker_id %d refuses to start (exit %d)", BROKER_ID, st2);
	snprintf(log2, sizeof log2, "%s", d2.log_path);
	FILE *lf = fopen(log2, "r");
	char logbuf[8192] = "";
	if (lf) {
		size_t n = fread(logbuf, 1, sizeof logbuf - 1, lf);
		logbuf[n] = '\0';
		fclose(lf);
	}
	ok(strstr(logbuf, addr) != NULL, "... naming the other's address %s", addr);
	td_cleanup(&d2);
	ok(node_is("/meta/brokers/ids/3/master", addr, true), "... and the first stays master");

	/* ---- Motan's preview: registered, not yet taking puts ---- */
	struct td_daemon d7;
	const char *settings7[] = { zk_opt, "broker_id=7", timeout_opt, "start_available=no", NULL };
	struct Stat st7;
	if (ok(td_start_opts(&d7, &o, settings7) == 0, "broker 7 starts with start_available=no")) {
		ok(zkc_wait(zh, "/meta/brokers/topics-sub/cfgtopic/7-m", true, REGISTER_BOUND_MS) >= 0 &&
		   zoo_exists(zh, "/meta/brokers/ids/7/master", 0, &st7) == ZOK &&
		   zoo_exists(zh, "/meta/brokers/topics-pub/cfgtopic/7-m", 0, &st7) == ZNONODE,
		   "start_available=no: in ids and topics-sub, not in topics-pub");
		ok(td_stop(&d7, RT_HANG_MS) == 0, "broker 7 stops");
	}
	td_cleanup(&d7);

	/* ---- session expiry ---- */
	kill(d.pid, SIGSTOP);
	took = zkc_wait(zh, "/meta/brokers/ids/3/master", false, EXPIRE_BOUND_MS);
	ok(took >= 0, "broker paused: its session expires, master gone after %ld ms", took);
	path_of(path, sizeof path, "topics-pub", "cfgtopic");
	ok(zkc_wait(zh, path, false, 1000) >= 0, "... and its other ephemeral nodes");
	uint64_t cont = td_now_ms();
	kill(d.pid, SIGCONT);
	ok(zkc_wait(zh, path, true, REGISTER_BOUND_MS) >= 0 &&
	   zkc_wait(zh, "/meta/brokers/ids/3/master", true, REGISTER_BOUND_MS) >= 0,
	   "resumed: registered again in a new session %llu ms after SIGCONT (bound %d)",
	   (unsigned long long)(td_now_ms() - cont), REGISTER_BOUND_MS);
	path_of(path, sizeof path, "topics-pub", "autot");
	ok(zkc_wait(zh, path, true, REGISTER_BOUND_MS) >= 0 &&
	   node_is("/meta/brokers/ids/3/master", addr, true) && topic_nodes("cfgtopic", 2, true) &&
	   topic_nodes("autot", 1, true), "every node is back with its data");

	/* ---- ZooKeeper stopped and started again ---- */
	ok(td_roundtrip(&c, "version 5\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200,
	   "a client is connected before ZooKeeper stops");
	zks_stop(&zks);
	ok(wait_stat_word(d.port, "registry", "connecting", EXPIRE_BOUND_MS) &&
	   td_stat(d.port, "", "registry_connected") == 0,
	   "ZooKeeper down: stats registry connecting, registry_connected 0");
	ok(put_on(&c, "autot", 6) == 200, "ZooKeeper down: the broker serves its client");
	const char *settings3[] = { zk_opt, "broker_id=5", timeout_opt, NULL };
	ok(td_start(&d3, settings3) == 0, "ZooKeeper down: another broker (id 5) still starts");
	if (!ok(zks_restart(&zks) == 0, "ZooKeeper starts again on %s", zks.connect))
		goto out_c;
	uint64_t back = td_now_ms();
	path_of(path, sizeof path, "topics-pub", "cfgtopic");
	ok(wait_stat_word(d.port, "registry", "connected", REGISTER_BOUND_MS * 2) &&
	   zkc_wait(zh, path, true, REGISTER_BOUND_MS) >= 0 &&
	   zkc_wait(zh, "/meta/brokers/ids/3/master", true, REGISTER_BOUND_MS) >= 0 &&
	   topic_nodes("cfgtopic", 2, true), "ZooKeeper back: broker 3 registered (%llu ms)",
	   (unsigned long long)(td_now_ms() - back));
	if (d3.pid > 0) {
		snprintf(log2, sizeof log2, "meta://127.0.0.1:%d", d3.port);
		ok(zkc_wait(zh, "/meta/brokers/ids/5/master", true, REGISTER_BOUND_MS * 2) >= 0 &&
		   node_is("/meta/brokers/ids/5/master", log2, true),
		   "ZooKeeper back: broker 5, started while it was down, registered");
		ok(td_stop(&d3, RT_HANG_MS) == 0, "broker 5 stops");
		td_cleanup(&d3);
	}
	ok(td_roundtrip(&c, "version 7\r\n", 11, RT_HANG_MS) == 1 && c.msg.code == 200 &&
	   td_stat(d.port, "", "sessions_closed_heartbeat") == 0 &&
	   td_stat(d.port, "", "sessions_closed_idle") == 0,
	   "the client's connection stayed up throughout (no session closed)");

out_c:
	td_conn_free(&c);
	/* ---- stop ---- */
	ok(td_stop(&d, RT_HANG_MS) == 0, "broker stops");
	struct Stat st;
	path_of(path, sizeof path, "topics-sub", "cfgtopic");
	ok(zoo_exists(zh, "/meta/brokers/ids/3/master", 0, &st) == ZNONODE &&
	   zoo_exists(zh, path, 0, &st) == ZNONODE,
	   "stopped: its ephemeral nodes are gone at once");
	ok(node_is("/meta/brokers/ids/3", addr, false), "stopped: ids/3 (persistent) stays");
out:
	td_cleanup(&d);
	zookeeper_close(zh);
	zks_cleanup(&zks);
	char rm[128];
	snprintf(rm, sizeof rm, "%s/admin.sock", sock_dir);
	unlink(rm);
	rmdir(sock_dir);
	return done_testing();
}
