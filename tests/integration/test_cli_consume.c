/*
 * test_cli_consume.c - issue 12's "done when" walk-through with the real
 * CLI and daemon: `pulsemq consume -g demo demo` started first (the topic
 * does not exist yet), `echo hi | pulsemq put demo`, the consumer prints
 * the message, `pulsemq groups` shows the group with lag 0, and a
 * consumer that stops (SIGSTOP: socket open, no heartbeats) is gone from
 * the group within client_expire_ms.
 */
#include <config.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/test_cli_run.h"
#include "tests/tap.h"

#define RUN_MS 30000
/* Above the CLI's heartbeat interval (10 s), so a running consumer stays. */
#define EXPIRE_MS 12000
#define EXPIRE_MARGIN_MS 5000  /* the wheel's tick and a loaded machine */
/* The consumer looks for a new topic every 200 ms; without that it waited
 * for its next heartbeat (10 s). Generous, yet below those 10 s. */
#define DELIVER_MS 5000

static const char *cli;
static char port_s[16];
static struct run_out r;

#define CLI(input, ...)                                                           \
	do {                                                                      \
		const char *const argv_[] = { cli, "-p", port_s, __VA_ARGS__, NULL }; \
		run_prog(&r, (input), RUN_MS, argv_);                             \
	} while (0)

static pid_t spawn_consumer(int *out_fd)
{
	int p[2];
	if (pipe(p) != 0)
		bail_out("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execl(cli, cli, "-p", port_s, "consume", "-g", "demo", "demo", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*out_fd = p[0];
	return pid;
}

/* Polls `pulsemq groups` until its output does (want) or does not
 * contain needle, or deadline_ms passes. */
static bool groups_until(const char *needle, bool want, uint64_t deadline_ms)
{
	for (;;) {
		CLI(NULL, "groups");
		bool has = r.status == 0 && strstr(r.out, needle);
		if (has == want)
			return true;
		if (td_now_ms() >= deadline_ms)
			return false;
		poll(NULL, 0, 20);
	}
}

int main(void)
{
	cli = getenv("PULSEMQ_CLI");
	if (!cli)
		bail_out("PULSEMQ_CLI is not set (run under make check)");
	struct td_daemon d;
	char expire[64];
	snprintf(expire, sizeof expire, "client_expire_ms=%d", EXPIRE_MS);
	const char *settings[] = { expire, NULL };
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	snprintf(port_s, sizeof(port_s), "%d", d.port);

	int fd;
	pid_t child = spawn_consumer(&fd);
	ok(groups_until("demo kind=consumer members=1", true, td_now_ms() + RUN_MS),
	   "pulsemq consume -g demo demo: the group has one member");

	CLI("hi\n", "put", "demo");
	is(r.status, 0, "echo hi | pulsemq put demo: exit 0");
	uint64_t put_ms = td_now_ms();
	char out[4096];
	size_t got = 0;
	out[0] = '\0';
	while (!strstr(out, "\nhi\n") && td_now_ms() < put_ms + RUN_MS && got < sizeof out - 1) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		poll(&pf, 1, 100);
		ssize_t n = read(fd, out + got, sizeof out - 1 - got);
		if (n > 0) {
			got += (size_t)n;
			out[got] = '\0';
		}
	}
	uint64_t took = td_now_ms() - put_ms;
	ok(strstr(out, "partition 0 offset 0 ") && strstr(out, "length 3\nhi\n"),
	   "the consumer printed the message: %.120s", out);
	ok(took < DELIVER_MS, "within %d ms of the put (%llu ms)", DELIVER_MS,
	   (unsigned long long)took);

	ok(groups_until("demo demo 0 committed=23 end=23 lag=0", true, td_now_ms() + RUN_MS),
	   "pulsemq groups: partition 0 committed up to its end, lag 0");

	kill(child, SIGSTOP);
	uint64_t stop_ms = td_now_ms();
	ok(groups_until("kind=consumer", false, stop_ms + RUN_MS + EXPIRE_MS),
	   "a stopped consumer leaves the group");
	uint64_t gone = td_now_ms() - stop_ms;
	ok(gone <= EXPIRE_MS + EXPIRE_MARGIN_MS, "within client_expire_ms %d + %d ms (%llu ms)",
	   EXPIRE_MS, EXPIRE_MARGIN_MS, (unsigned long long)gone);
	CLI(NULL, "groups");
	ok(strstr(r.out, "demo demo 0 committed=23 end=23 lag=0") != NULL,
	   "its committed offset stays: %.120s", r.out);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(fd);
	ok(td_stop(&d, 10000) == 0, "daemon stopped");
	td_cleanup(&d);
	return done_testing();
}
