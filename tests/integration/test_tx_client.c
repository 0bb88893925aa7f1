/*
 * test_tx_client.c - libpulsemq's local transactions and `pulsemq tx`
 * against the real pulsemqd: a commit makes every put visible at once, a
 * rollback none; the CLI lists a prepared XA branch, commits one and rolls
 * one back by key.
 */
#include <config.h>

#include "client/pulsemq.h"
#include "tests/integration/test_cli_run.h"
#include "tests/integration/tx_util.h"

#define RUN_MS 10000

static struct td_daemon d;

static void library(void)
{
	struct pulsemq_conn *c;
	struct pulsemq_error err;
	struct pulsemq_tx tx;
	struct pulsemq_put_result res;
	char why[256];
	int64_t ids[8];

	if (pulsemq_connect(&c, "127.0.0.1", d.port, NULL, why, sizeof why) != 0)
		bail_out("connect: %s", why);
	ok(pulsemq_tx_begin(c, &tx, 0, &err) == 0, "begin (%s)", tx.key);
	bool all = true;
	for (int i = 0; i < 4; i++) {
		char body[32];
		snprintf(body, sizeof body, "lib %d", i);
		all = all && pulsemq_tx_put(c, &tx, "txlib", i % 2, body, strlen(body), 0, &res,
		                            &err) == 0 && res.offset == -1 && res.partition == i % 2;
	}
	ok(all, "four puts, each answered with offset -1");
	is(tx_read_ids(d.port, "txlib", 0, ids, 8), 0, "nothing visible before commit");
	ok(pulsemq_tx_commit(c, &tx, &err) == 0, "commit");
	ok(tx_read_ids(d.port, "txlib", 0, ids, 8) == 2 && tx_read_ids(d.port, "txlib", 1, ids, 8)
	   == 2, "all four visible after it");
	ok(pulsemq_tx_commit(c, &tx, &err) == 500 && strstr(err.text, "has not been started"),
	   "a second commit: 500 (%s)", err.text);

	ok(pulsemq_tx_begin(c, &tx, 30, &err) == 0, "begin with a timeout");
	ok(pulsemq_tx_put(c, &tx, "txlib", 0, "gone", 4, 0, &res, &err) == 0, "put");
	ok(pulsemq_tx_rollback(c, &tx, &err) == 0, "rollback");
	is(tx_read_ids(d.port, "txlib", 0, ids, 8), 2, "nothing more visible");
	ok(pulsemq_tx_put(c, &tx, "txlib", -1, "x", 1, 0, &res, &err) == 500,
	   "a put after the rollback is refused (%s)", err.text);
	pulsemq_close(c);
}

static int prepare(int fd, const char *key, const char *body, int32_t op)
{
	char req[256], err[256];
	snprintf(req, sizeof req, "transaction %s s BEGIN cli-uq %d\r\n", key, op);
	int code;
	int32_t o;
	if (td_send(fd, req, strlen(req)) || tx_read_result(fd, &code, err, sizeof err, &o) ||
	    code != 200)
		return -1;
	if (tx_put(fd, "txcli", 0, body, key, op + 1, NULL, err, sizeof err) <= 0)
		return -1;
	snprintf(req, sizeof req, "transaction %s s PREPARE cli-uq %d\r\n", key, op + 2);
	if (td_send(fd, req, strlen(req)) || tx_read_result(fd, &code, err, sizeof err, &o) ||
	    code != 200 || strcmp(err, "0") != 0)
		return -1;
	return 0;
}

static void cli(void)
{
	const char *bin = getenv("PULSEMQ_CLI");
	char port[16];
	struct run_out r;
	int64_t ids[8];
	if (!bin)
		bail_out("PULSEMQ_CLI is not set (run under make check)");
	snprintf(port, sizeof port, "%d", d.port);
	int fd = td_connect(d.port);
#define KA "XID:1:61:01:cli-uq"
#define KB "XID:1:62:01:cli-uq"
	ok(prepare(fd, KA, "from a", 1) == 0 && prepare(fd, KB, "from b", 10) == 0,
	   "two branches prepared");
	close(fd);
	const char *list[] = { bin, "-p", port, "tx", "list", "cli-uq", NULL };
	run_prog(&r, NULL, RUN_MS, list);
	ok(r.status == 0 && (!strcmp(r.out, KA "\n" KB "\n") || !strcmp(r.out, KB "\n" KA "\n")),
	   "pulsemq tx list cli-uq prints both keys: '%s'", r.out);
	const char *other[] = { bin, "-p", port, "tx", "list", "other-uq", NULL };
	run_prog(&r, NULL, RUN_MS, other);
	ok(r.status == 0 && r.out_len == 0, "none for another qualifier");
	const char *commit[] = { bin, "-p", port, "tx", "commit", KA, NULL };
	run_prog(&r, NULL, RUN_MS, commit);
	is_str(r.out, "committed " KA "\n", "pulsemq tx commit KEY");
	const char *rollback[] = { bin, "-p", port, "tx", "rollback", KB, NULL };
	run_prog(&r, NULL, RUN_MS, rollback);
	is_str(r.out, "rolled back " KB "\n", "pulsemq tx rollback KEY");
	is(tx_read_ids(d.port, "txcli", 0, ids, 8), 1, "only the committed one is visible");
	const char *again[] = { bin, "-p", port, "--json", "tx", "commit", KA, NULL };
	run_prog(&r, NULL, RUN_MS, again);
	ok(r.status == 1 && strstr(r.out, "XAException:code=-4"),
	   "committing it again: exit 1, XAER_NOTA (%s)", r.out);
	run_prog(&r, NULL, RUN_MS, list);
	ok(r.status == 0 && r.out_len == 0, "nothing left to list");
}

int main(void)
{
	if (td_start(&d, (const char *const[]){ "num_partitions=2", NULL }) != 0)
		bail_out("cannot start pulsemqd");
	library();
	cli();
	is(td_stop(&d, 10000), 0, "clean stop");
	td_cleanup(&d);
	return done_testing();
}
