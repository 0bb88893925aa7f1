/*
 * test_tx_crash.c - transactions across kill -9 and restarts.
 *
 *  - §8.2: an XA branch prepared, the broker killed with SIGKILL and
 *    restarted: RECOVER lists it (byte for byte), its messages are not
 *    visible, a commit from a new connection makes them visible exactly
 *    once, and a second restart neither lists nor appends it again.
 *  - prepared then rolled back: never visible, not listed after restart.
 *  - kill -9 at each step of a commit (the daemon's fault seam
 *    PULSEMQD_TX_CRASH_AT, tx_commit.c): after the restart either every
 *    message of the transaction is in its partition exactly once or none
 *    is (and a prepared branch is still prepared).
 */
#include <config.h>

#include <fcntl.h>

#include "tests/integration/tx_util.h"

static struct td_daemon d;
static const char *const settings[] = { "num_partitions=2", "enable_debug_commands=yes",
	                                NULL };

#define X82 "XID:19793:67747269642d78612d7265636f7665722d6d7838657265397a:0100ff:txcheck-vm"
#define S82 "192.0.2.2-1796353949576-1"

static bool ids_once(int port, const char *topic, const int64_t *want, int n)
{
	int64_t got[64];
	int total = 0;
	bool pass = true;
	for (int p = 0; p < 2; p++) {
		int k = tx_read_ids(port, topic, p, got, 64);
		if (k < 0)
			return false;
		total += k;
		for (int i = 0; i < k; i++) {
			int hits = 0;
			for (int j = 0; j < n; j++)
				hits += got[i] == want[j];
			pass = pass && hits == 1;
		}
	}
	if (total != n)
		diag("%d records in %s, want %d", total, topic, n);
	return pass && total == n;
}

static void restart(const char *why)
{
	if (td_restart(&d, settings) != 0)
		bail_out("cannot restart pulsemqd (%s)", why);
}

static void xa_recover(void)
{
	int fd = td_connect(d.port);
	int64_t ids[10];
	char body[64], err[256];

	tx_xchg_s(fd, "transaction " X82 " " S82 " BEGIN txcheck-vm -2147483648\r\n",
	          "result 200 0 -2147483648\r\n", "8.2 BEGIN");
	bool all = true;
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof body, "txcheck:xa-recover:mx8ere9z:%d", i);
		ids[i] = tx_put(fd, "txc12576-d", i % 2, body, X82, -2147483647 + i, NULL, err,
		                sizeof err);
		all = all && ids[i] > 0;
	}
	ok(all, "8.2 ten puts");
	tx_xchg_s(fd, "transaction " X82 " " S82 " END txcheck-vm -2147483637\r\ntransaction "
	          X82 " " S82 " PREPARE txcheck-vm -2147483636\r\n",
	          "result 200 1 -2147483636\r\n0", "8.2 END (no answer) + PREPARE in one segment");
	close(fd);
	td_kill9(&d);
	restart("after prepare");
	fd = td_connect(d.port);
	tx_xchg_s(fd, "transaction null 192.0.2.2-1796353950288-1 RECOVER txcheck-vm "
	          "-2147483648\r\n", "result 200 78 -2147483648\r\n" X82,
	          "8.2 RECOVER after kill -9 lists the branch");
	tx_xchg_s(fd, "transaction null 192.0.2.2-1796353950288-1 RECOVER other-host 1\r\n",
	          "result 200 0 1\r\n", "not for another unique qualifier");
	ok(ids_once(d.port, "txc12576-d", ids, 0), "its messages are still invisible");
	tx_xchg_s(fd, "transaction " X82 " 192.0.2.2-1796353950288-1 COMMIT_TWO_PHASE "
	          "txcheck-vm -2147483625\r\n", "result 200 0 -2147483625\r\n",
	          "8.2 COMMIT_TWO_PHASE from a new connection");
	tx_xchg_s(fd, "transaction null 192.0.2.2-1796353950288-1 RECOVER txcheck-vm "
	          "-2147483597\r\n", "result 200 0 -2147483597\r\n", "8.2 RECOVER: none left");
	ok(ids_once(d.port, "txc12576-d", ids, 10), "visible exactly once, with the put msgIds");
	close(fd);
	td_kill9(&d);
	restart("after commit");
	fd = td_connect(d.port);
	tx_xchg_s(fd, "transaction null s RECOVER txcheck-vm 2\r\n", "result 200 0 2\r\n",
	          "second restart: not listed");
	ok(ids_once(d.port, "txc12576-d", ids, 10), "and not appended twice");
	close(fd);
}

static void xa_rollback(void)
{
	int fd = td_connect(d.port);
	char err[256];
#define XR "XID:5:726f6c6c:01:rb-uq"
	tx_xchg_s(fd, "transaction " XR " s BEGIN rb-uq 1\r\n", "result 200 0 1\r\n", "BEGIN");
	ok(tx_put(fd, "txcrb", 0, "never", XR, 2, NULL, err, sizeof err) > 0, "put");
	tx_xchg_s(fd, "transaction " XR " s PREPARE rb-uq 3\r\n", "result 200 1 3\r\n0",
	          "PREPARE");
	td_kill9(&d);
	restart("rollback");
	close(fd);
	fd = td_connect(d.port);
	tx_xchg_s(fd, "transaction null s RECOVER rb-uq 4\r\n", "result 200 23 4\r\n" XR,
	          "listed after restart");
	tx_xchg_s(fd, "transaction " XR " s ROLLBACK rb-uq 5\r\n", "result 200 0 5\r\n",
	          "ROLLBACK");
	td_kill9(&d);
	restart("after rollback");
	close(fd);
	fd = td_connect(d.port);
	tx_xchg_s(fd, "transaction null s RECOVER rb-uq 6\r\n", "result 200 0 6\r\n",
	          "not listed after the next restart");
	ok(ids_once(d.port, "txcrb", NULL, 0), "never visible");
	close(fd);
}

/* One commit of 6 messages over 2 partitions killed at step; prepared
 * first when xa. */
static void crash_at(const char *step, bool xa, bool want_visible)
{
	char topic[64], key[128], err[256], body[64], req[512];
	int64_t ids[6];
	snprintf(topic, sizeof topic, "txk-%s-%s", step, xa ? "xa" : "local");
	if (xa)
		snprintf(key, sizeof key, "XID:9:%02x%02x:01:crash-uq", (unsigned)strlen(step),
		         (unsigned)step[0]);
	else
		snprintf(key, sizeof key, "TX:crash-%s:1", step);
	td_kill9(&d);
	setenv("PULSEMQD_TX_CRASH_AT", step, 1);
	restart(step);
	int fd = td_connect(d.port);
	snprintf(req, sizeof req, "transaction %s s BEGIN crash-uq 1\r\n", key);
	tx_xchg_s(fd, req, "result 200 0 1\r\n", "BEGIN");
	bool all = true;
	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof body, "%s message %d", step, i);
		ids[i] = tx_put(fd, topic, i % 2, body, key, 2 + i, NULL, err, sizeof err);
		all = all && ids[i] > 0;
	}
	ok(all, "%s: six puts", topic);
	if (xa) {
		snprintf(req, sizeof req, "transaction %s s PREPARE crash-uq 9\r\n", key);
		tx_xchg_s(fd, req, "result 200 1 9\r\n0", "PREPARE");
	}
	snprintf(req, sizeof req, "transaction %s s COMMIT_ONE_PHASE crash-uq 10\r\n", key);
	td_send(fd, req, strlen(req));
	ok(td_wait_closed(fd, TX_T_MS) == 1, "%s: the daemon died at the step", topic);
	close(fd);
	td_kill9(&d); /* reaps it */
	unsetenv("PULSEMQD_TX_CRASH_AT");
	restart("after crash");
	ok(ids_once(d.port, topic, ids, want_visible ? 6 : 0), "%s: %s", topic,
	   want_visible ? "all six, once each" : "none");
	fd = td_connect(d.port);
	snprintf(req, sizeof req, "transaction null s RECOVER crash-uq 11\r\n");
	char want[256];
	if (xa && !want_visible)
		snprintf(want, sizeof want, "result 200 %zu 11\r\n%s", strlen(key), key);
	else
		snprintf(want, sizeof want, "result 200 0 11\r\n");
	tx_xchg_s(fd, req, want, xa && !want_visible ? "still prepared" : "not listed");
	if (xa && !want_visible) {
		snprintf(req, sizeof req, "transaction %s s COMMIT_TWO_PHASE crash-uq 12\r\n", key);
		tx_xchg_s(fd, req, "result 200 0 12\r\n", "commit it now");
		ok(ids_once(d.port, topic, ids, 6), "%s: then all six, once each", topic);
	}
	close(fd);
	/* one more restart: nothing is redone twice */
	td_kill9(&d);
	restart("again");
	ok(ids_once(d.port, topic, ids, 6 * (want_visible || xa)), "%s: same after a restart",
	   topic);
}

/* The log does not grow without bound: 400 prepared-and-committed
 * branches of 12 KB each pass the 4 MiB compaction threshold; a branch
 * left prepared meanwhile survives the rewrites and a kill -9. */
static void compaction(void)
{
	int fd = td_connect(d.port);
	char err[256], req[256], key[128];
	char *big = malloc(12001);
	memset(big, 'c', 12000);
	big[12000] = '\0';
#define XK "XID:3:6b656570:01:cp-uq"
	tx_xchg_s(fd, "transaction " XK " s BEGIN cp-uq 1\r\n", "result 200 0 1\r\n", "BEGIN");
	ok(tx_put(fd, "txcomp", 0, "kept", XK, 2, NULL, err, sizeof err) > 0, "put");
	tx_xchg_s(fd, "transaction " XK " s PREPARE cp-uq 3\r\n", "result 200 1 3\r\n0",
	          "PREPARE the branch that stays");
	long long before = td_stat(d.port, "transactions", "tx_log_compactions");
	bool fine = true;
	for (int i = 0; i < 400 && fine; i++) {
		int code;
		int32_t op;
		snprintf(key, sizeof key, "XID:3:%04x:02:cp-uq", i);
		snprintf(req, sizeof req, "transaction %s s BEGIN cp-uq 4\r\n", key);
		fine = td_send(fd, req, strlen(req)) == 0 &&
		       tx_read_result(fd, &code, err, sizeof err, &op) == 0 && code == 200;
		fine = fine && tx_put(fd, "txcomp", 1, big, key, 5, NULL, err, sizeof err) > 0;
		snprintf(req, sizeof req, "transaction %s s PREPARE cp-uq 6\r\n", key);
		fine = fine && td_send(fd, req, strlen(req)) == 0 &&
		       tx_read_result(fd, &code, err, sizeof err, &op) == 0 && code == 200;
		snprintf(req, sizeof req, "transaction %s s COMMIT_TWO_PHASE cp-uq 7\r\n", key);
		fine = fine && td_send(fd, req, strlen(req)) == 0 &&
		       tx_read_result(fd, &code, err, sizeof err, &op) == 0 && code == 200;
	}
	ok(fine, "400 branches prepared and committed");
	uint64_t end = td_now_ms() + TX_T_MS;
	while (td_stat(d.port, "transactions", "tx_log_compactions") <= before &&
	       td_now_ms() < end)
		tx_quiet(fd, 20);
	ok(td_stat(d.port, "transactions", "tx_log_compactions") > before, "the log was compacted");
	long long bytes = td_stat(d.port, "transactions", "tx_log_bytes");
	ok(bytes > 0 && bytes < 2 * 4 * 1048576, "it holds %lld bytes, not the ~10 MB written",
	   bytes);
	close(fd);
	td_kill9(&d);
	restart("compaction");
	fd = td_connect(d.port);
	tx_xchg_s(fd, "transaction null s RECOVER cp-uq 8\r\n", "result 200 23 8\r\n" XK,
	          "the prepared branch survived the rewrites and a kill -9");
	tx_xchg_s(fd, "transaction " XK " s COMMIT_TWO_PHASE cp-uq 9\r\n", "result 200 0 9\r\n",
	          "commit it");
	int64_t ids[8];
	is(tx_read_ids(d.port, "txcomp", 0, ids, 8), 1, "its message is there once");
	close(fd);
	free(big);
}

/* A bad record in the transaction log with good ones after it is
 * corruption, not a torn write: the daemon refuses to start (exit 3) until
 * told to cut (recovery = truncate). */
static void corrupt_log(void)
{
	struct td_daemon c;
	char err[256], path[700];
	if (td_start(&c, settings) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(c.port);
	const char *keys[] = { "XID:2:61:01:co-uq", "XID:2:62:01:co-uq" };
	for (int i = 0; i < 2; i++) {
		char req[128];
		int code;
		int32_t op;
		snprintf(req, sizeof req, "transaction %s s BEGIN co-uq 1\r\n", keys[i]);
		td_send(fd, req, strlen(req));
		tx_read_result(fd, &code, err, sizeof err, &op);
		tx_put(fd, "txco", 0, "corrupt me", keys[i], 2, NULL, err, sizeof err);
		snprintf(req, sizeof req, "transaction %s s PREPARE co-uq 3\r\n", keys[i]);
		td_send(fd, req, strlen(req));
		tx_read_result(fd, &code, err, sizeof err, &op);
	}
	close(fd);
	td_kill9(&c);
	snprintf(path, sizeof path, "%s/txlog", c.data_dir);
	int lf = open(path, O_RDWR);
	char b = 0;
	off_t at = 8 + 9 + 20; /* inside the first record's payload */
	ok(lf >= 0 && pread(lf, &b, 1, at) == 1, "read a byte of the first record");
	b ^= 0x55;
	ok(pwrite(lf, &b, 1, at) == 1, "flipped it");
	close(lf);
	int started = td_restart(&c, settings);
	ok(started != 0 && c.exit_status == 3,
	   "the daemon refuses to start: exit status 3 (got %d)", c.exit_status);
	const char *const cut[] = { "num_partitions=2", "recovery=truncate", NULL };
	ok(td_restart(&c, cut) == 0, "with recovery = truncate it starts");
	fd = td_connect(c.port);
	tx_xchg_s(fd, "transaction null s RECOVER co-uq 4\r\n", "result 200 0 4\r\n",
	          "the cut branches are gone");
	close(fd);
	td_stop(&c, 10000);
	td_cleanup(&c);
}

int main(void)
{
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	xa_recover();
	xa_rollback();
	compaction();
	corrupt_log();
	crash_at("before_log", false, false);
	crash_at("before_log", true, false);
	crash_at("logged", false, true);
	crash_at("logged", true, true);
	crash_at("partial", false, true);
	crash_at("partial", true, true);
	crash_at("appended", false, true);
	crash_at("appended", true, true);
	is(td_stop(&d, 10000), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
