/*
 * test_runtime_port.c - the port is ours alone:
 *  - a second pulsemqd (its own data dir) on the port of a running one
 *    fails its start: exit 1, the bind error (EADDRINUSE) in its log;
 *  - the first one still serves every new connection (none went to the
 *    second, which before would have taken a share through SO_REUSEPORT);
 *  - with two IO threads sharing the one listening socket, new sessions are
 *    still spread over both threads.
 */
#include <config.h>

#include <sys/wait.h>

#include "tests/integration/rt_util.h"

#define NCONN 20

static int log_has(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int found = 0;

	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	if (f)
		fclose(f);
	return found;
}

int main(void)
{
	const char *settings_a[] = { "io_threads=2", NULL };
	struct td_daemon a, b;
	struct td_conn c[NCONN];
	char port_opt[32];
	int served = 0;

	if (td_start(&a, settings_a) != 0)
		bail_out("cannot start pulsemqd A");
	snprintf(port_opt, sizeof port_opt, "port=%d", a.port);
	const char *settings_b[] = { port_opt, "io_threads=2", NULL };

	diag("starting a second pulsemqd on port %d: it must fail", a.port);
	int started = td_start(&b, settings_b);
	ok(started != 0, "a second pulsemqd on the same port does not start");
	if (started == 0) {
		td_stop(&b, RT_HANG_MS);
	} else {
		ok(b.exit_status == 1, "it exits 1 (status %d)", b.exit_status);
		ok(log_has(b.log_path, "Address already in use"),
		   "its log names the bind error (EADDRINUSE)");
	}
	td_cleanup(&b);

	for (int i = 0; i < NCONN; i++) {
		td_conn_init(&c[i], td_connect(a.port));
		served += td_roundtrip(&c[i], "version 7\r\n", 11, RT_HANG_MS) == 1 &&
		          c[i].msg.code == 200 && c[i].msg.opaque == 7;
	}
	is(served, NCONN, "the first pulsemqd answers all %d new connections", NCONN);
	long long io0 = td_stat(a.port, "sessions", "io0_sessions");
	long long io1 = td_stat(a.port, "sessions", "io1_sessions");
	diag("sessions: io0 %lld, io1 %lld", io0, io1);
	ok(io0 >= NCONN / 2 - 2 && io1 >= NCONN / 2 - 2,
	   "new sessions are spread over both IO threads (io0 %lld, io1 %lld)", io0, io1);
	for (int i = 0; i < NCONN; i++)
		td_conn_free(&c[i]);
	is(td_stop(&a, RT_HANG_MS), 0, "the first pulsemqd exits 0 on SIGTERM");
	td_cleanup(&a);
	return done_testing();
}
