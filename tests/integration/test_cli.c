/*
 * test_cli.c - the `pulsemq` CLI against the real daemon: output, --json,
 * and exit codes (0 success, 1 broker error, 2 usage or connection error).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/test_cli_run.h"
#include "tests/tap.h"

#define RUN_MS 30000

static const char *cli;
static char port_s[16];
static struct run_out r;

#define CLI(input, ...)                                                           \
	do {                                                                      \
		const char *const argv_[] = { cli, "-p", port_s, __VA_ARGS__, NULL }; \
		run_prog(&r, (input), RUN_MS, argv_);                             \
	} while (0)

int main(void)
{
	cli = getenv("PULSEMQ_CLI");
	if (!cli)
		bail_out("PULSEMQ_CLI is not set (run under make check)");
	struct td_daemon d;
	if (td_start(&d, NULL) != 0)
		bail_out("cannot start pulsemqd");
	snprintf(port_s, sizeof(port_s), "%d", d.port);

	CLI(NULL, "version");
	is(r.status, 0, "version: exit 0");
	ok(strncmp(r.out, "pulsemq", 7) == 0, "prints the version: %.60s", r.out);

	CLI(NULL, "--json", "version");
	is(r.status, 0, "version --json: exit 0");
	ok(strstr(r.out, "\"status\": 200") && strstr(r.out, "\"version\": \"pulsemq"),
	   "JSON with status and version: %.80s", r.out);

	CLI(NULL, "stats");
	is(r.status, 0, "stats: exit 0");
	ok(strstr(r.out, "cmd_version ") && !strstr(r.out, "END"), "key value lines, no framing");

	CLI(NULL, "stats", "--json");
	is(r.status, 0, "stats --json (option after the command): exit 0");
	ok(r.out[0] == '{' && json_num(r.out, NULL, "cmd_version") >= 0 && strstr(r.out, "}\n"),
	   "one JSON object with numeric counters");

	CLI(NULL, "ping", "-c", "3");
	is(r.status, 0, "ping -c 3: exit 0");
	int lines = 0;
	for (const char *p = r.out; (p = strstr(p, "reply from")); p++)
		lines++;
	is(lines, 3, "three round trips printed");

	CLI(NULL, "--json", "ping");
	ok(r.status == 0 && json_num(r.out, NULL, "status") == 200 && strstr(r.out, "\"rtt_us\": "),
	   "ping --json carries rtt_us");

	/* Usage errors: exit 2. */
	CLI(NULL, "frobnicate");
	is(r.status, 2, "unknown command: exit 2");
	CLI(NULL, "get", "topic");
	is(r.status, 2, "missing arguments: exit 2");
	CLI(NULL, "--bogus", "version");
	is(r.status, 2, "unknown option: exit 2");
	{
		const char *const argv_[] = { cli, NULL };
		run_prog(&r, NULL, RUN_MS, argv_);
		is(r.status, 2, "no command: exit 2");
	}
	CLI(NULL, "get", "t", "zero", "0");
	is(r.status, 2, "non-numeric partition: exit 2");

	/* Connection errors: exit 2, and --json says so too. */
	{
		const char *const argv_[] = { cli, "-p", "1", "--json", "version", NULL };
		run_prog(&r, NULL, RUN_MS, argv_);
		is(r.status, 2, "connection refused: exit 2");
		ok(json_num(r.out, NULL, "status") < 0 && strstr(r.out, "\"error\""),
		   "--json reports the connection error: %.80s", r.out);
	}

	/* Broker errors: exit 1 with the code printed. */
	CLI(NULL, "get", "nosuchtopic", "0", "0");
	is(r.status, 1, "get on a missing topic: exit 1");
	ok(strstr(r.err, " 404 ") != NULL, "status code 404 on stderr");
	CLI(NULL, "--json", "get", "nosuchtopic", "0", "0");
	long long st = json_num(r.out, NULL, "status");
	ok(r.status == 1 && st == 404, "--json error object with status %lld", st);

	/* put / get / offset through the store. */
	CLI("hello from the cli", "--json", "put", "clitopic", "0");
	is(r.status, 0, "put from stdin: exit 0");
	is(json_num(r.out, NULL, "offset"), 0, "--json put: offset 0");
	char path[700];
	snprintf(path, sizeof(path), "%s/cli-body", d.dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("second", f);
		fclose(f);
	}
	CLI(NULL, "put", "clitopic", "0", "-f", path);
	is(r.status, 0, "put -f FILE: exit 0");
	ok(strstr(r.out, "offset 38") != NULL, "human output names offset 38: %.80s", r.out);
	CLI(NULL, "--json", "get", "clitopic", "0", "0");
	is(r.status, 0, "get: exit 0");
	ok(strstr(r.out, "\"payload\": \"hello from the cli\"") &&
	   strstr(r.out, "\"payload\": \"second\""), "both payloads as JSON lines");
	CLI(NULL, "get", "clitopic", "0", "38");
	ok(r.status == 0 && strstr(r.out, "offset 38 ") && strstr(r.out, "second\n"),
	   "get from 38, human-readable");
	CLI(NULL, "offset", "clitopic", "0", "10");
	ok(r.status == 0 && !strcmp(r.out, "0\n"), "offset: the segment start");
	CLI(NULL, "get", "clitopic", "0", "64");
	is(r.status, 1, "get at the end: exit 1 (404)");
	/* --follow keeps polling past the end until stopped: stop it
	 * after a second and look at what it printed. */
	{
		const char *const argv_[] = { cli, "-p", port_s, "get", "clitopic", "0", "0",
		                              "--follow", NULL };
		run_prog(&r, NULL, 1500, argv_);
		ok(r.status == -1 && strstr(r.out, "hello from the cli\n") &&
		   strstr(r.out, "second\n"), "--follow printed both and kept waiting");
	}
	ok(td_stop(&d, 10000) == 0, "daemon stopped");
	td_cleanup(&d);
	return done_testing();
}
