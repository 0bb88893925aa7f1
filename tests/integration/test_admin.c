/*
 * test_admin.c - the admin socket and the availability switch of the real
 * pulsemqd (protocol.md "Administration and availability"):
 *  - admin_socket is a 0600 Unix socket; admin commands on TCP get 403,
 *    malformed ones 400; a user other than the daemon's cannot connect;
 *  - offline: puts 403 with protocol.md's text, gets/version/stats served;
 *    online: puts again; start_available = no starts offline;
 *  - drain (admin drain MS, and SIGTERM with shutdown_drain_ms) with a
 *    producer and a consumer connected: puts 403 at once, the consumer
 *    reads every acknowledged message, the daemon exits 0 once the producer
 *    has left (or when the time is up);
 *  - the state in `stats` and `admin status`;
 *  - a second daemon on the same admin_socket refuses to start;
 *  - `pulsemq -S PATH ctl status|online|offline|drain SECONDS`.
 */
#include <config.h>

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tests/integration/rt_util.h"
#include "tests/integration/test_cli_run.h"

#define MSGS 100
#define BODY "hello"
#define RECORD_BYTES (20 + 5) /* header + BODY */
static const char unavailable_text[] =
	"broker unavailable: it is offline and takes no new messages";

static char sock_dir[64], sock_path[108], sock_opt[160];

static int admin_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool body_is(const struct td_conn *c, const char *want)
{
	return c->msg.body.len == strlen(want) &&
	       memcmp(c->msg.body.ptr, want, c->msg.body.len) == 0;
}

/* One request on c: 1 and c->msg, or 0. */
static int ask(struct td_conn *c, const char *line)
{
	return td_roundtrip(c, line, strlen(line), RT_HANG_MS) == 1;
}

static int put_one(struct td_conn *c, int op)
{
	char line[64];
	snprintf(line, sizeof line, "put adm 0 5 0 %d\r\n" BODY, op);
	return ask(c, line) ? c->msg.code : -1;
}

/* Bytes the topic holds from offset 0 (gets until 404), on c. */
static long long read_all(struct td_conn *c)
{
	long long off = 0;
	char line[96];

	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof line, "get adm g 0 %lld 1048576 %d\r\n", off, 7000 + i);
		if (!ask(c, line))
			return -1;
		if (c->msg.cmd != PMQ_CMD_VALUE)
			return c->msg.code == 404 ? off : -1;
		off += (long long)c->msg.body.len;
	}
	return -1;
}

static long long stat_text_is(int port, const char *key, const char *want)
{
	struct td_conn c;
	char k[64];
	int fd = td_connect(port);
	bool ok = false;

	if (fd < 0)
		return 0;
	td_conn_init(&c, fd);
	snprintf(k, sizeof k, "\r\n%s %s\r\n", key, want);
	if (ask(&c, "stats 1\r\n") && c.msg.code == 200)
		ok = memmem(c.msg.body.ptr, c.msg.body.len, k, strlen(k)) != NULL;
	td_conn_free(&c);
	return ok;
}

static void test_socket_and_switch(void)
{
	struct td_daemon d;
	const char *settings[] = { sock_opt, NULL };
	struct stat st;
	struct td_conn t, a;

	if (!ok(td_start(&d, settings) == 0, "daemon with admin_socket starts"))
		return;
	ok(stat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 07777) == 0600,
	   "admin_socket is a socket of mode 0600 (mode %o)", (unsigned)(st.st_mode & 07777));

	td_conn_init(&t, td_connect(d.port));
	ok(ask(&t, "admin status 11\r\n") && t.msg.code == 403 && t.msg.opaque == 11 &&
	   body_is(&t, "admin commands are accepted only on the admin socket (admin_socket)"),
	   "admin status on TCP: 403");
	ok(ask(&t, "admin offline 12\r\n") && t.msg.code == 403, "admin offline on TCP: 403");
	ok(put_one(&t, 13) == 200, "... and the broker still takes puts");

	int afd = admin_connect();
	if (!ok(afd >= 0, "the owner connects to admin_socket")) {
		td_conn_free(&t);
		td_stop(&d, RT_HANG_MS);
		td_cleanup(&d);
		return;
	}
	td_conn_init(&a, afd);
	static const char *const bad[] = {
		"admin 21\r\n", "admin status\r\n", "admin bogus 22\r\n", "admin drain 23\r\n",
		"admin drain -1 24\r\n", "admin drain x 25\r\n", "admin online 1 26\r\n",
		"admin drain 86400001 27\r\n",
	};
	int bad_ok = 0;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (ask(&a, bad[i]) && a.msg.code == 400 &&
		    a.msg.body.len > 13 && memcmp(a.msg.body.ptr, "bad request: ", 13) == 0)
			bad_ok++;
		else
			diag("'%.*s': code %d", (int)strlen(bad[i]) - 2, bad[i], (int)a.msg.code);
	}
	ok(bad_ok == (int)(sizeof bad / sizeof bad[0]), "malformed admin commands get 400 (%d of %zu)",
	   bad_ok, sizeof bad / sizeof bad[0]);
	ok(ask(&a, "admin status 30\r\n") && a.msg.code == 200 && a.msg.opaque == 30 &&
	   body_is(&a, "state available\nproducers 1\nconsumers 0\nregistry off\n"),
	   "admin status: state, producers, consumers, registry");

	ok(ask(&a, "admin offline 31\r\n") && a.msg.code == 200 &&
	   body_is(&a, "state unavailable\n"), "admin offline: the new state");
	ok(put_one(&t, 32) == 403 && body_is(&t, unavailable_text),
	   "offline: a put is answered 403 '%s'", unavailable_text);
	ok(read_all(&t) == RECORD_BYTES, "offline: gets are served (the one message)");
	ok(ask(&t, "version 33\r\n") && t.msg.code == 200, "offline: version is served");
	ok(stat_text_is(d.port, "availability", "unavailable") &&
	   td_stat(d.port, "", "available") == 0, "stats: availability unavailable, available 0");
	ok(ask(&a, "stats 34\r\n") && a.msg.code == 200,
	   "other commands are served on the admin socket too");

	ok(ask(&a, "admin online 35\r\n") && a.msg.code == 200 && body_is(&a, "state available\n"),
	   "admin online: the new state");
	ok(put_one(&t, 36) == 200, "online: puts are taken again");
	ok(stat_text_is(d.port, "availability", "available") &&
	   td_stat(d.port, "", "available") == 1, "stats: availability available, available 1");

	/* Not the owner: the socket's mode keeps everyone else out. The
	 * directory lets anyone through, so only the mode decides. */
	if (geteuid() == 0) {
		chmod(sock_dir, 0711);
		pid_t pid = fork();
		if (pid == 0) {
			if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			int fd = admin_connect();
			_exit(fd < 0 && errno == EACCES ? 0 : 1);
		}
		int wst = 0;
		waitpid(pid, &wst, 0);
		ok(WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
		   "user nobody cannot connect to admin_socket (EACCES; child status %d)",
		   WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
		chmod(sock_dir, 0700);
	} else {
		ok(1, "user nobody cannot connect # SKIP not root: cannot run a client as another user");
	}

	/* A second daemon on the same socket. */
	struct td_daemon d2;
	ok(td_start(&d2, settings) != 0 && d2.exit_status == 1,
	   "a second daemon on the same admin_socket refuses to start (exit 1)");
	td_cleanup(&d2);

	td_conn_free(&a);
	td_conn_free(&t);
	ok(td_stop(&d, RT_HANG_MS) == 0, "daemon stops");
	ok(access(sock_path, F_OK) != 0, "admin_socket is removed at stop");
	td_cleanup(&d);
}

static void test_start_unavailable(void)
{
	struct td_daemon d;
	const char *settings[] = { sock_opt, "start_available=no", NULL };
	struct td_conn t, a;

	if (!ok(td_start(&d, settings) == 0, "daemon with start_available=no starts"))
		return;
	td_conn_init(&t, td_connect(d.port));
	ok(put_one(&t, 1) == 403 && body_is(&t, unavailable_text),
	   "start_available=no: puts are answered 403 from the start");
	td_conn_init(&a, admin_connect());
	ok(ask(&a, "admin online 2\r\n") && body_is(&a, "state available\n"), "then online");
	ok(put_one(&t, 3) == 200, "... and puts are taken");
	td_conn_free(&a);
	td_conn_free(&t);
	ok(td_stop(&d, RT_HANG_MS) == 0, "daemon stops");
	td_cleanup(&d);
}

/*
 * A producer with MSGS acknowledged puts and a consumer that has read
 * nothing yet; then the drain (by admin or by SIGTERM). Puts get 403 at
 * once, the consumer reads everything, the daemon stays while the producer
 * is connected and exits 0 within DRAIN_EXIT_MS of it leaving (a second of
 * quiet plus polling), long before the drain's own bound.
 */
#define DRAIN_MS 20000
#define DRAIN_EXIT_MS 6000

static void test_drain(bool by_signal)
{
	const char *how = by_signal ? "SIGTERM" : "admin drain";
	struct td_daemon d;
	char drain_opt[64];
	const char *settings[] = { sock_opt, drain_opt, NULL };
	struct td_conn p, c, a;
	int acked = 0;

	snprintf(drain_opt, sizeof drain_opt, "shutdown_drain_ms=%d", by_signal ? DRAIN_MS : 0);
	if (!ok(td_start(&d, settings) == 0, "%s: daemon starts", how))
		return;
	td_conn_init(&p, td_connect(d.port));
	td_conn_init(&c, td_connect(d.port));
	ok(ask(&c, "get adm g 0 0 1024 1\r\n") && c.msg.code == 404, "%s: consumer connected", how);
	for (int i = 0; i < MSGS; i++)
		acked += put_one(&p, 100 + i) == 200;
	ok(acked == MSGS, "%s: %d puts acknowledged", how, acked);

	if (by_signal) {
		kill(d.pid, SIGTERM);
	} else {
		char line[64];
		td_conn_init(&a, admin_connect());
		snprintf(line, sizeof line, "admin drain %d 2\r\n", DRAIN_MS);
		ok(ask(&a, line) && a.msg.code == 200 && body_is(&a, "state draining\n"),
		   "admin drain: the new state");
		td_conn_free(&a);
	}
	/* After SIGTERM the switch is the main thread's: the first put may
	 * still find it available; the answer says when it happened. */
	int code = 200, tries = 0;
	uint64_t t0 = td_now_ms();
	while (code == 200 && td_now_ms() - t0 < RT_HANG_MS) {
		code = put_one(&p, 500 + tries++);
		acked += code == 200;
	}
	ok(code == 403 && body_is(&p, unavailable_text) && (by_signal || tries == 1),
	   "%s: puts answered 403 at once (%d tries)", how, tries);
	ok(stat_text_is(d.port, "availability", "draining"), "%s: stats says draining", how);
	ok(read_all(&c) == (long long)acked * RECORD_BYTES,
	   "%s: the consumer reads all %d acknowledged messages", how, acked);
	ok(td_wait_exit(&d, 1500) < 0, "%s: the daemon waits while a producer is connected", how);

	uint64_t left = td_now_ms();
	td_conn_free(&p);
	int st = td_wait_exit(&d, DRAIN_EXIT_MS * (rt_sanitized() ? 3 : 1));
	ok(st == 0, "%s: the daemon exits 0 once the producer left (after %llu ms)", how,
	   (unsigned long long)(td_now_ms() - left));
	if (st != 0)
		td_kill9(&d);
	td_conn_free(&c);
	td_cleanup(&d);
}

/* The producer never leaves: the drain's bound ends it. */
static void test_drain_bound(void)
{
	struct td_daemon d;
	const char *settings[] = { sock_opt, NULL };
	struct td_conn p, a;

	if (!ok(td_start(&d, settings) == 0, "drain bound: daemon starts"))
		return;
	td_conn_init(&p, td_connect(d.port));
	ok(put_one(&p, 1) == 200, "drain bound: a producer");
	td_conn_init(&a, admin_connect());
	uint64_t t0 = td_now_ms();
	ok(ask(&a, "admin drain 1500 2\r\n") && body_is(&a, "state draining\n"),
	   "drain bound: admin drain 1500");
	int st = td_wait_exit(&d, RT_HANG_MS);
	uint64_t took = td_now_ms() - t0;
	ok(st == 0 && took >= 1400, "drain bound: exits 0 after its 1500 ms, not before (%llu ms)",
	   (unsigned long long)took);
	if (st != 0)
		td_kill9(&d);
	td_conn_free(&a);
	td_conn_free(&p);
	td_cleanup(&d);
}

static int ctl(struct run_out *r, const char *a1, const char *a2, const char *a3)
{
	const char *cli = getenv("PULSEMQ_CLI");
	const char *argv[] = { cli ? cli : "./pulsemq", "-S", sock_path, a1, a2, a3, NULL };
	run_prog(r, NULL, RT_HANG_MS, argv);
	return r->status;
}

static void test_cli_ctl(void)
{
	struct td_daemon d;
	const char *settings[] = { sock_opt, NULL };
	struct run_out *r = malloc(sizeof *r);
	struct td_conn t;

	if (!ok(td_start(&d, settings) == 0, "ctl: daemon starts")) {
		free(r);
		return;
	}
	td_conn_init(&t, td_connect(d.port));
	ok(ctl(r, "ctl", "status", NULL) == 0 &&
	   !strcmp(r->out, "state available\nproducers 0\nconsumers 0\nregistry off\n"),
	   "pulsemq ctl status prints the state (%s)", r->out);
	ok(ctl(r, "ctl", "offline", NULL) == 0 && !strcmp(r->out, "state unavailable\n"),
	   "pulsemq ctl offline");
	ok(put_one(&t, 1) == 403, "... puts are refused");
	ok(ctl(r, "--json", "ctl", "status") == 0 &&
	   strstr(r->out, "\"state\": \"unavailable\"") && strstr(r->out, "\"producers\": 1"),
	   "pulsemq --json ctl status (%s)", r->out);
	ok(ctl(r, "ctl", "online", NULL) == 0 && !strcmp(r->out, "state available\n"),
	   "pulsemq ctl online");
	ok(put_one(&t, 2) == 200, "... puts are taken");
	ok(ctl(r, "ctl", "bogus", NULL) == 2 && ctl(r, "ctl", "drain", "x") == 2 &&
	   ctl(r, "ctl", "drain", NULL) == 2, "pulsemq ctl: bad commands exit 2");
	td_conn_free(&t);
	ok(ctl(r, "ctl", "drain", "5") == 0 && !strcmp(r->out, "state draining\n"),
	   "pulsemq ctl drain 5");
	ok(ctl(r, "ctl", "online", NULL) == 1 && strstr(r->err, "403"),
	   "pulsemq ctl online while draining: exit 1, 403 (%s)", r->err);
	ok(td_wait_exit(&d, RT_HANG_MS) == 0, "ctl drain: the daemon exits 0");
	ok(ctl(r, "ctl", "status", NULL) == 2, "pulsemq ctl with no daemon: exit 2");
	td_cleanup(&d);
	free(r);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock_dir, sizeof sock_dir, "/tmp/pmq-admin-XXXXXX");
	if (!mkdtemp(sock_dir))
		bail_out("mkdtemp: %s", strerror(errno));
	snprintf(sock_path, sizeof sock_path, "%s/admin.sock", sock_dir);
	snprintf(sock_opt, sizeof sock_opt, "admin_socket=%s", sock_path);

	test_socket_and_switch();
	test_start_unavailable();
	test_drain(false);
	test_drain(true);
	test_drain_bound();
	test_cli_ctl();

	unlink(sock_path);
	rmdir(sock_dir);
	return done_testing();
}
