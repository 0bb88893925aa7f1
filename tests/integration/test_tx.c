/*
 * test_tx.c - MetaQ transactions against the real pulsemqd: the
 * transcripts of shared/metaq-transactions.md §8 replayed byte for byte,
 * local commit / rollback / close, puts into someone else's transaction,
 * timeouts on the wheel, the caps and bad input.
 * (Restarts and kill -9: test_tx_crash.c.)
 */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>

#include "tests/integration/tx_util.h"

static struct td_daemon d;

#define LSID "192.0.2.2-1796353940542-1"
#define LKEY "TX:" LSID ":1"

/* §8.1: BEGIN, 10 puts alternating partitions, COMMIT_ONE_PHASE, gets. */
static void transcript_local_commit(void)
{
	int fd = td_connect(d.port);
	int64_t ids[10], got[16];
	char body[64], err[256];

	tx_xchg_s(fd, "transaction " LKEY " " LSID " BEGIN -2147483648\r\n",
	          "result 200 0 -2147483648\r\n", "8.1 BEGIN");
	bool all = true;
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof body, "txcheck:local-commit:mx8er7aa:%d", i);
		ids[i] = tx_put(fd, "txc12576-a", i % 2, body, LKEY, -2147483647 + i, NULL, err,
		                sizeof err);
		if (ids[i] <= 0) {
			all = false;
			diag("put %d: %s", i, err);
		}
	}
	ok(all, "8.1 ten puts answered `result 200 LEN OP\\r\\n<msgId> <partition> -1`");
	ok(ids[1] > ids[0] && ids[9] > ids[8], "msgIds rise in put order");
	is(tx_read_ids(d.port, "txc12576-a", 0, got, 16), 0, "nothing visible before COMMIT");
	tx_xchg_s(fd, "transaction " LKEY " " LSID " COMMIT_ONE_PHASE -2147483637\r\n",
	          "result 200 0 -2147483637\r\n", "8.1 COMMIT_ONE_PHASE");
	for (int p = 0; p < 2; p++) {
		int n = tx_read_ids(d.port, "txc12576-a", p, got, 16);
		bool same = n == 5;
		for (int k = 0; same && k < 5; k++)
			same = got[k] == ids[p + 2 * k];
		ok(same, "partition %d: the 5 messages, in put order, with the msgIds of the puts",
		   p);
	}
	close(fd);
}

/* §8.3 and §8.4 error answers, byte for byte. */
static void transcript_errors(void)
{
	int fd = td_connect(d.port);
	char err[256];

	/* XA branch with no puts: PREPARE answers 3 and forgets it */
#define XE "XID:1:656467652d656d707479:62:txcheck-vm"
	tx_xchg_s(fd, "transaction " XE " S BEGIN 7 txcheck-vm -2147483638\r\n",
	          "result 200 0 -2147483638\r\n", "8.3 XA BEGIN with TIMEOUT and UQ");
	tx_xchg_s(fd, "transaction " XE " S END txcheck-vm -2147483637\r\ntransaction " XE
	          " S PREPARE txcheck-vm -2147483636\r\n",
	          "result 200 1 -2147483636\r\n3", "8.3 END unanswered, PREPARE of no puts: 3");
	tx_xchg_s(fd, "transaction " XE " S COMMIT_TWO_PHASE txcheck-vm -2147483635\r\n",
	          "result 500 103 -2147483635\r\nXAException:code=-4,msg=XA transaction '" XE
	          "' has not been started.", "8.3 COMMIT of a forgotten branch: XAER_NOTA");
	/* empty bqual, not prepared: two-phase refused, one-phase commits */
#define XN "XID:1:656467652d6e6f70726570::txcheck-vm"
	tx_xchg_s(fd, "transaction " XN " S BEGIN txcheck-vm 1\r\n", "result 200 0 1\r\n",
	          "BEGIN, empty bqual");
	ok(tx_put(fd, "txc12576-b", 0, "np", XN, 2, NULL, err, sizeof err) > 0, "put: %s", err);
	tx_xchg_s(fd, "transaction " XN " S COMMIT_TWO_PHASE txcheck-vm -2147483631\r\n",
	          "result 500 90 -2147483631\r\nXAException:code=-6,msg=Cannot do 2 phase commit "
	          "if the transaction has not been prepared.", "8.3 COMMIT_TWO_PHASE unprepared");
	tx_xchg_s(fd, "transaction " XN " S COMMIT_ONE_PHASE txcheck-vm -2147483630\r\n",
	          "result 200 0 -2147483630\r\n", "8.3 COMMIT_ONE_PHASE of it");
	tx_xchg_s(fd, "transaction XID:1:656467652d756e6b6e6f776e:62:txcheck-vm S FORGET "
	          "txcheck-vm -2147483628\r\n", "result 200 0 -2147483628\r\n", "8.3 FORGET");
#define XT "XID:1:656467652d7477696365:62:txcheck-vm"
	tx_xchg_s(fd, "transaction " XT " S BEGIN txcheck-vm 3\r\n", "result 200 0 3\r\n",
	          "BEGIN");
	ok(tx_put(fd, "txc12576-b", 0, "tw", XT, 4, NULL, err, sizeof err) > 0, "put: %s", err);
	tx_xchg_s(fd, "transaction " XT " S PREPARE txcheck-vm 5\r\n", "result 200 1 5\r\n0",
	          "PREPARE with puts: 0");
	tx_xchg_s(fd, "transaction " XT " S PREPARE txcheck-vm -2147483623\r\n",
	          "result 500 48 -2147483623\r\nXAException:code=-6,msg=Cannot call prepare now.",
	          "8.3 second PREPARE");
	/* a put into a prepared branch is refused (MetaQ would lose it) */
	int code = 0;
	ok(tx_put(fd, "txc12576-b", 0, "late", XT, 6, &code, err, sizeof err) < 0 &&
	   code == 500 && strstr(err, "XAException:code=-6,") == err,
	   "put into a prepared branch: 500 XAER_PROTO (%s)", err);
	tx_xchg_s(fd, "transaction " XT " S ROLLBACK txcheck-vm 7\r\n", "result 200 0 7\r\n",
	          "ROLLBACK of the prepared branch");
	/* §8.4: what pulsemqd answered before; now the MetaQ answers */
	tx_xchg_s(fd, "transaction TX:192.0.2.2-1796352928760-1:1 192.0.2.2-1796352928760-1 "
	          "BEGIN -2147483647\r\n", "result 200 0 -2147483647\r\n", "8.4 BEGIN now 200");
	tx_xchg_s(fd, "transaction null 192.0.2.2-1796352928879-1 RECOVER XAMessageProducer-vm "
	          "-2147483636\r\n", "result 200 0 -2147483636\r\n",
	          "8.4 RECOVER with the null key: empty list");
	/* local errors: bare messages; PREPARE of a local one */
	tx_xchg_s(fd, "transaction TX:192.0.2.2-1796352928760-1:1 192.0.2.2-1796352928760-1 "
	          "PREPARE 8\r\n", "result 500 70 8\r\nXAException:code=-3,msg=Prepare not "
	          "implemented on Local Transactions.", "PREPARE of a local transaction");
	tx_xchg_s(fd, "transaction TX:s:9 s COMMIT_ONE_PHASE 9\r\n",
	          "result 500 48 9\r\nLocal transaction 'TX:s:9' has not been started.",
	          "COMMIT of an unknown local transaction");
	tx_xchg_s(fd, "transaction TX:s:9 s FORGET 12\r\n",
	          "result 500 49 12\r\nXAException:code=-4,msg=TX:s:9 is not a valid xid",
	          "FORGET of a local key: XAER_NOTA");
	tx_xchg_s(fd, "transaction null s FORGET 10\r\n",
	          "result 500 47 10\r\nXAException:code=-4,msg=null is not a valid xid",
	          "FORGET null");
	tx_xchg_s(fd, "transaction null s COMMIT_ONE_PHASE 11\r\n",
	          "result 500 46 11\r\nLocal transaction 'null' has not been started.",
	          "COMMIT null");
	close(fd);
}

/* The timeout transcript of §8.3: BEGIN 1, a put, then COMMIT after the
 * wheel rolled it back. */
static void transcript_timeout(void)
{
	int fd = td_connect(d.port);
	char err[256];
#define TSID "192.0.2.2-1796353953403-1"
	long long before = td_stat(d.port, "transactions", "tx_timed_out");
	tx_xchg_s(fd, "transaction TX:" TSID ":2 " TSID " BEGIN 1 -2147483645\r\n",
	          "result 200 0 -2147483645\r\n", "8.3 BEGIN with TIMEOUT 1");
	ok(tx_put(fd, "txc12576-c", 0, "t", "TX:" TSID ":2", -2147483644, NULL, err,
	          sizeof err) > 0, "put: %s", err);
	ok(tx_wait_stat(d.port, "tx_timed_out", before + 1, TX_T_MS), "the wheel rolls it back");
	tx_xchg_s(fd, "transaction TX:" TSID ":2 " TSID " COMMIT_ONE_PHASE -2147483643\r\n",
	          "result 500 72 -2147483643\r\nLocal transaction 'TX:" TSID
	          ":2' has not been started.", "8.3 COMMIT after the timeout");
	close(fd);
}

/* TIMEOUT 2: rolled back within 2 s + a tick (+ slack for a loaded
 * machine), not before 2 s; a prepared branch with TIMEOUT 2 stays. */
static void timeouts(void)
{
	int fd = td_connect(d.port);
	char err[256];
	long long before = td_stat(d.port, "transactions", "tx_timed_out");
	uint64_t t0 = td_now_ms();
	tx_xchg_s(fd, "transaction TX:to:1 to BEGIN 2 1\r\n", "result 200 0 1\r\n", "BEGIN 2");
	ok(tx_put(fd, "txto", 0, "x", "TX:to:1", 2, NULL, err, sizeof err) > 0, "put: %s", err);
#define XP "XID:7:7072657061726564:01:to-uq"
	tx_xchg_s(fd, "transaction " XP " to BEGIN 2 to-uq 3\r\n", "result 200 0 3\r\n",
	          "XA BEGIN 2");
	ok(tx_put(fd, "txto", 0, "y", XP, 4, NULL, err, sizeof err) > 0, "put: %s", err);
	tx_xchg_s(fd, "transaction " XP " to PREPARE to-uq 5\r\n", "result 200 1 5\r\n0",
	          "PREPARE");
	ok(tx_wait_stat(d.port, "tx_timed_out", before + 1, TX_T_MS), "timed out");
	uint64_t took = td_now_ms() - t0;
	ok(took >= 1900 && took <= 2000 + 100 + 1500, "after %llu ms (2 s + a 100 ms tick)",
	   (unsigned long long)took);
	/* well past its TIMEOUT, the prepared branch is still listed */
	while (td_now_ms() - t0 < 3000)
		tx_quiet(fd, 100);
	is(td_stat(d.port, "transactions", "tx_timed_out"), before + 1,
	   "the prepared one did not time out");
	tx_xchg_s(fd, "transaction null to RECOVER to-uq 6\r\n",
	          "result 200 31 6\r\n" XP, "RECOVER lists it, filtered by its qualifier");
	/* FORGET drops heuristic decisions only (§4.2): none are kept, the
	 * prepared branch is untouched */
	tx_xchg_s(fd, "transaction " XP " to FORGET to-uq 60\r\n", "result 200 0 60\r\n",
	          "FORGET of a prepared branch: 200");
	tx_xchg_s(fd, "transaction null to RECOVER to-uq 61\r\n",
	          "result 200 31 61\r\n" XP, "and RECOVER still lists it");
	tx_xchg_s(fd, "transaction " XP " to ROLLBACK to-uq 7\r\n", "result 200 0 7\r\n",
	          "ROLLBACK");
	int64_t ids[4];
	is(tx_read_ids(d.port, "txto", 0, ids, 4), 0, "neither is ever visible");
	close(fd);
}

/* A reader polling during a commit of 400 messages over 2 partitions
 * sees 0 or all of each partition, never a part. */
static atomic_int reader_stop, reader_parts, reader_polls;

static void *reader(void *arg)
{
	int64_t *ids = malloc(1000 * sizeof *ids);
	(void)arg;
	while (!atomic_load(&reader_stop)) {
		for (int p = 0; p < 2; p++) {
			int n = tx_read_ids(d.port, "txvis", p, ids, 1000);
			if (n != 0 && n != 200)
				atomic_fetch_add(&reader_parts, 1);
			atomic_fetch_add(&reader_polls, 1);
		}
	}
	free(ids);
	return NULL;
}

static void local_visibility(void)
{
	int fd = td_connect(d.port);
	char err[256], body[128];
	pthread_t th;

	tx_xchg_s(fd, "transaction TX:vis:1 vis BEGIN 1\r\n", "result 200 0 1\r\n", "BEGIN");
	bool all = true;
	for (int i = 0; i < 400 && all; i++) {
		snprintf(body, sizeof body, "visibility message %d padded to be a bit longer", i);
		all = tx_put(fd, "txvis", i % 2, body, "TX:vis:1", 2 + i, NULL, err, sizeof err) > 0;
	}
	ok(all, "400 puts staged");
	pthread_create(&th, NULL, reader, NULL);
	while (atomic_load(&reader_polls) < 4)
		tx_quiet(fd, 5);
	tx_xchg_s(fd, "transaction TX:vis:1 vis COMMIT_ONE_PHASE 999\r\n", "result 200 0 999\r\n",
	          "COMMIT");
	int polls = atomic_load(&reader_polls);
	while (atomic_load(&reader_polls) < polls + 4)
		tx_quiet(fd, 5);
	atomic_store(&reader_stop, 1);
	pthread_join(th, NULL);
	is(atomic_load(&reader_parts), 0, "no poll saw a part of a partition's messages (%d polls)",
	   atomic_load(&reader_polls));
	int64_t ids[300];
	is(tx_read_ids(d.port, "txvis", 0, ids, 300), 200, "partition 0 has its 200");
	is(tx_read_ids(d.port, "txvis", 1, ids, 300), 200, "partition 1 has its 200");
	close(fd);
}

static void local_rollback_close_foreign(void)
{
	int fd = td_connect(d.port), other = td_connect(d.port);
	char err[256];
	int64_t ids[4];
	int code = 0;

	tx_xchg_s(fd, "transaction TX:rb:1 rb BEGIN 1\r\n", "result 200 0 1\r\n", "BEGIN");
	ok(tx_put(fd, "txrb", 0, "gone", "TX:rb:1", 2, NULL, err, sizeof err) > 0, "put");
	tx_xchg_s(fd, "transaction TX:rb:1 rb ROLLBACK 3\r\n", "result 200 0 3\r\n", "ROLLBACK");
	is(tx_read_ids(d.port, "txrb", 0, ids, 4), 0, "rolled back: nothing visible");

	/* another connection cannot put into, commit or roll back fd's */
	tx_xchg_s(fd, "transaction TX:rb:2 rb BEGIN 4\r\n", "result 200 0 4\r\n", "BEGIN");
	ok(tx_put(other, "txrb", 0, "foreign", "TX:rb:2", 5, &code, err, sizeof err) < 0 &&
	   code == 500 && strcmp(err, "Local transaction 'TX:rb:2' has not been started.") == 0,
	   "a put into another connection's transaction is refused (%s)", err);
	tx_xchg_s(other, "transaction TX:rb:2 rb COMMIT_ONE_PHASE 6\r\n",
	          "result 500 49 6\r\nLocal transaction 'TX:rb:2' has not been started.",
	          "so is its COMMIT");
	ok(tx_put(fd, "txrb", 0, "mine", "TX:rb:2", 7, NULL, err, sizeof err) > 0, "owner puts");
	long long open = td_stat(d.port, "transactions", "tx_open");
	long long closed = td_stat(d.port, "transactions", "tx_closed_rollbacks");
	close(fd);
	ok(tx_wait_stat(d.port, "tx_closed_rollbacks", closed + 1, TX_T_MS),
	   "closing the connection mid-transaction rolls it back");
	is(td_stat(d.port, "transactions", "tx_open"), open - 1, "and it is no longer open");
	is(tx_read_ids(d.port, "txrb", 0, ids, 4), 0, "none of its messages is visible");
	close(other);
}

static void bad_input(void)
{
	int fd = td_connect(d.port);
	static const char *const lines[] = {
		"transaction TX:a:1 a BEGIN\r\n",
		"transaction TX:a:1 a BEGIN 1 q r 6\r\n",
		"transaction TX:a:1 a START 1\r\n",
		"transaction TX:a:1 a begin 1\r\n",
		"transaction TX:a 1 a BEGIN 1\r\n",
		"transaction TX:a a BEGIN 1\r\n",
		"transaction TX::1 a BEGIN 1\r\n",
		"transaction TX:a:b:1 a BEGIN 1\r\n",
		"transaction TX:a:2147483648 a BEGIN 1\r\n",
		"transaction TX:a:x a BEGIN 1\r\n",
		"transaction XYZ:1 a BEGIN 1\r\n",
		"transaction XID:x:61:62:q a BEGIN 1\r\n",
		"transaction XID:1:zz:62:q a BEGIN 1\r\n",
		"transaction XID:1:61:62 a BEGIN 1\r\n",
		"transaction XID:1::62:q a BEGIN 1\r\n",
		"transaction Null a RECOVER 1\r\n",
		"transaction TX:a:1 a BEGIN -5 q 1\r\n",
	};
	char body[512];
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		int code = 0;
		int32_t op;
		td_send(fd, lines[i], strlen(lines[i]));
		bool got = tx_read_result(fd, &code, body, sizeof body, &op) == 0;
		ok(got && code == 400, "400 for %.*s (%s)", (int)strlen(lines[i]) - 2, lines[i],
		   got ? body : "no answer");
	}
	tx_xchg_s(fd, "transaction TX:a:2147483647 a BEGIN 9\r\n", "result 200 0 9\r\n",
	          "INT32_MAX counter is fine, and the connection still serves");
	char put[256];
	int n = tx_put_line(put, sizeof put, "txbad", -1, "r", "TX:a:2147483647", 10);
	tx_xchg(fd, put, (size_t)n, "result 500 44 10\r\nInvalid partition for transaction "
	        "command:-1", "transactional put to partition -1: 500 as MetaQ");
	n = snprintf(put, sizeof put, "put txbad 0 3 0 12345 TX:a:2147483647 11\r\nabc");
	int code = 0;
	int32_t op;
	td_send(fd, put, (size_t)n);
	ok(tx_read_result(fd, &code, body, sizeof body, &op) == 0 && code == 500 &&
	   strstr(body, "checksum mismatch"), "a transactional put's CRC is checked (%s)", body);
	tx_xchg_s(fd, "put txbad 0 1 0 -1 TX:a:77 12\r\nz",
	          "result 500 49 12\r\nLocal transaction 'TX:a:77' has not been started.",
	          "a put into an unknown transaction: the bare message");
	close(fd);
}

static void limits(void)
{
	struct td_daemon l;
	const char *const set[] = { "max_open_transactions=3", "max_tx_staged_bytes=100", NULL };
	if (td_start(&l, set) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(l.port);
	char err[256], req[128];
	for (int i = 1; i <= 3; i++) {
		snprintf(req, sizeof req, "transaction TX:lim:%d lim BEGIN %d\r\n", i, i);
		td_send(fd, req, strlen(req));
		int code;
		int32_t op;
		tx_read_result(fd, &code, err, sizeof err, &op);
	}
	tx_xchg_s(fd, "transaction TX:lim:4 lim BEGIN 4\r\n",
	          "result 503 84 4\r\ntoo many open transactions: 3 are open, "
	          "max_open_transactions = 3; finish some first", "the 4th BEGIN: 503, the reason");
	char big[101];
	memset(big, 'b', 100);
	big[100] = '\0';
	big[90] = '\0';
	ok(tx_put(fd, "txlim", 0, big, "TX:lim:1", 5, NULL, err, sizeof err) > 0, "90 bytes fit");
	int code = 0;
	ok(tx_put(fd, "txlim", 0, "0123456789AB", "TX:lim:2", 6, &code, err, sizeof err) < 0 &&
	   code == 503 && strstr(err, "max_tx_staged_bytes = 100"),
	   "staged bytes past the cap: 503 (%s)", err);
	close(fd);
	ok(tx_wait_stat(l.port, "tx_open", 0, TX_T_MS), "closing rolls back all three");

	td_stop(&l, 10000);
	td_cleanup(&l);
}

/* 10,000 transactions opened and abandoned by closing connections leave
 * nothing behind: no open transaction, no staged byte, no log record. */
static void abandoned(void)
{
	char err[256], req[128];
	long long log_bytes = td_stat(d.port, "transactions", "tx_log_bytes");
	/* 10,000 transactions opened and abandoned by closing connections */
	uint64_t t0 = td_now_ms();
	bool fine = true;
	for (int i = 0; i < 10000 && fine; i++) {
		int c = td_connect(d.port);
		char put[64];
		snprintf(put, sizeof put, "TX:ab:%d", i);
		int n = snprintf(req, sizeof req, "transaction %s ab BEGIN 1\r\n", put);
		fine = c >= 0 && td_send(c, req, (size_t)n) == 0;
		int rc;
		int32_t op;
		fine = fine && tx_read_result(c, &rc, err, sizeof err, &op) == 0 && rc == 200;
		fine = fine && tx_put(c, "txab", 0, "abandoned", put, 3, NULL, err, sizeof err) > 0;
		if (!fine)
			diag("connection %d: %s", i, err);
		close(c);
	}
	ok(fine, "10000 connections began a transaction, put, and closed (%llu ms)",
	   (unsigned long long)(td_now_ms() - t0));
	ok(tx_wait_stat(d.port, "tx_open", 0, 30000), "all rolled back");
	is(td_stat(d.port, "transactions", "tx_staged_bytes"), 0, "no staged bytes left");
	ok(td_stat(d.port, "transactions", "tx_log_bytes") == log_bytes,
	   "nothing in the transaction log (unprepared ones are never written)");
	int64_t ids[4];
	is(tx_read_ids(d.port, "txab", 0, ids, 4), 0, "and nothing visible");
}

/* transaction runs on the put pool: a full one answers 503 as for a put. */
static void busy_pool(void)
{
	struct td_daemon b;
	const char *const set[] = { "put_threads=1", "put_queue_size=2",
		                    "enable_debug_commands=yes", NULL };
	if (td_start(&b, set) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(b.port);
	const char *req = "debug sleep put 1500 1\r\ndebug sleep put 1500 2\r\n"
	                  "debug sleep put 1500 3\r\ntransaction TX:busy:1 busy BEGIN 4\r\n";
	td_send(fd, req, strlen(req));
	int code = 0, got = 0;
	int32_t op = 0;
	char body[512];
	while (got < 4 && tx_read_result(fd, &code, body, sizeof body, &op) == 0) {
		got++;
		if (op == 4)
			break;
	}
	ok(op == 4 && code == 503, "BEGIN on a full put pool: 503 (%d %s)", code, body);
	close(fd);
	td_stop(&b, 10000);
	td_cleanup(&b);
}

/* A commit's partition flushes join the puts' group commit: with the next
 * group commit held (debug sleep flush), COMMIT is not answered until it
 * runs, and it is released by it (one more acknowledgement batched). */
#define GC_STALL_MS 1500
static bool gc_wait_stat(int port, const char *key, long long want)
{
	uint64_t end = td_now_ms() + TX_T_MS;
	long long v;
	while ((v = td_stat(port, "", key)) < want && td_now_ms() < end) {
		struct pollfd none;
		poll(&none, 0, 20);
	}
	return v == want;
}
static void commit_group_commit(void)
{
	struct td_daemon g;
	const char *const set[] = { "num_partitions=2", "flush_mode=sync",
		                    "enable_debug_commands=yes", NULL };
	if (td_start(&g, set) != 0)
		bail_out("cannot start pulsemqd");
	int fd = td_connect(g.port);
	char err[256], body[256];
	tx_xchg_s(fd, "transaction TX:gc:1 gc BEGIN 1\r\n", "result 200 0 1\r\n",
	          "group commit: BEGIN");
	bool all = true;
	for (int i = 0; i < 4; i++)
		all &= tx_put(fd, "gc", i % 2, "group-commit", "TX:gc:1", 2 + i, NULL, err,
		              sizeof err) > 0;
	ok(all, "group commit: 4 puts over 2 partitions");
	long long acks0 = td_stat(g.port, "", "store_acks_batched");
	long long batches0 = td_stat(g.port, "", "store_flush_batches");
	tx_xchg_s(fd, "debug sleep flush 1500 9\r\n", "result 200 0 9\r\n",
	          "group commit: the next one sleeps 1500 ms first");
	uint64_t t0 = td_now_ms();
	td_sendf(fd, "transaction TX:gc:1 gc COMMIT_ONE_PHASE 10\r\n");
	ok(tx_quiet(fd, 400), "COMMIT is not answered while the group commit is held");
	int code = 0;
	int32_t op = 0;
	int rc = tx_read_result(fd, &code, body, sizeof body, &op);
	uint64_t took = td_now_ms() - t0;
	ok(rc == 0 && code == 200 && op == 10, "then answered 200 (%d %d %s)", rc, code, body);
	ok(took >= GC_STALL_MS - 100, "after the held group commit ran (%llu ms)",
	   (unsigned long long)took);
	/* the batch is counted after its answers went out: poll for it */
	ok(gc_wait_stat(g.port, "store_acks_batched", acks0 + 1),
	   "the commit was released by a group commit");
	ok(gc_wait_stat(g.port, "store_flush_batches", batches0 + 1), "by one");
	is(td_stat(g.port, "", "store_flush_batches") - batches0, 1, "by exactly one");
	int64_t got[8];
	is(tx_read_ids(g.port, "gc", 0, got, 8) + tx_read_ids(g.port, "gc", 1, got, 8), 4,
	   "its 4 messages are readable once it is answered");
	close(fd);
	td_stop(&g, 10000);
	td_cleanup(&g);
}

int main(void)
{
	const char *const set[] = { "num_partitions=2", NULL };
	if (td_start(&d, set) != 0)
		bail_out("cannot start pulsemqd");
	transcript_local_commit();
	transcript_errors();
	transcript_timeout();
	timeouts();
	local_visibility();
	local_rollback_close_foreign();
	bad_input();
	limits();
	busy_pool();
	commit_group_commit();
	abandoned();
	is(td_stop(&d, 10000), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
