/*
 * test_notify.c - the sd_notify conversation of the real pulsemqd, without
 * systemd: the test plays the service manager. It binds a datagram socket,
 * passes it as $NOTIFY_SOCKET (and a short $WATCHDOG_USEC), and reads what
 * the daemon says: READY=1 once serving, WATCHDOG=1 while it makes
 * progress, STATUS= with its connections and rate, RELOADING=1 + READY=1
 * around SIGHUP, STOPPING=1 on SIGTERM.
 *
 * The watchdog part wedges one thing at a time with `debug sleep` (the
 * connection's IO thread, the timer thread, the heartbeat pool, the group
 * commit of a put) and checks
 * that WATCHDOG=1 stops for at least two checks in a row (that is the whole
 * WatchdogSec: systemd would restart the daemon), that STATUS= names what is
 * stuck, and that the pings come back once it moves again.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

/* Generous: only a hang reaches it (sanitizer builds are slow). */
#define WAIT_MS 10000
/* WatchdogSec= as the daemon sees it: it pings every half of this. */
#define WATCHDOG_USEC "400000"
/* How long each wedge lasts: about ten checks of 200 ms. */
#define STALL_MS 2000

static int notify_fd = -1;

/* The next datagram, within WAIT_MS, NUL-terminated in buf; 0 on timeout. */
static int next_msg(char *buf, size_t cap, uint64_t deadline)
{
	for (;;) {
		int64_t left = (int64_t)(deadline - td_now_ms());
		struct pollfd pfd = { .fd = notify_fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return 0;
		ssize_t n = recv(notify_fd, buf, cap - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;
		buf[n] = '\0';
		return 1;
	}
}

/* Waits for a datagram containing want (a line such as "READY=1");
 * returns 1 when seen, 0 on timeout. Other messages are skipped. Saves
 * the last datagram seen in last (for diagnostics and STATUS checks). */
static int wait_msg(const char *want, char *last, size_t lastcap)
{
	uint64_t deadline = td_now_ms() + WAIT_MS;
	char buf[1024];

	for (;;) {
		if (!next_msg(buf, sizeof buf, deadline))
			return 0;
		if (last)
			snprintf(last, lastcap, "%s", buf);
		/* Match whole lines: "READY=1" must not match inside another. */
		for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
			if (strncmp(line, want, strlen(want)) == 0)
				return 1;
	}
}

/* The answer with this opaque, skipping the broker's own heartbeats. */
static int read_answer(struct td_conn *c, int32_t opaque)
{
	uint64_t deadline = td_now_ms() + WAIT_MS + STALL_MS;

	while (td_now_ms() < deadline) {
		if (td_read_msg(c, (int)(deadline - td_now_ms())) != 1)
			return -1;
		if (c->msg.cmd == PMQ_CMD_RESULT && c->msg.opaque == opaque)
			return c->msg.code;
	}
	return -1;
}

/*
 * Sends `debug sleep TARGET STALL_MS` copies times (opaques 100...), and
 * then, if given, one more request whose answer waits for the wedge
 * (opaque 150); then reads the notify socket: from the first STATUS=
 * naming stuck (a part of the reason), counts the checks that withheld
 * WATCHDOG=1 until it comes back.
 */
static void watch_stall(struct td_conn *c, const char *target, int copies, const char *then,
                        const char *stuck)
{
	uint64_t deadline = td_now_ms() + WAIT_MS + STALL_MS;
	char buf[1024], why[1024] = "";
	int withheld = 0, back = 0, answered = 0;

	ok(wait_msg("WATCHDOG=1", NULL, 0), "%s: WATCHDOG=1 before the wedge", target);
	for (int i = 0; i < copies; i++)
		td_sendf(c->fd, "debug sleep %s %d %d\r\n", target, STALL_MS, 100 + i);
	if (then)
		td_sendf(c->fd, "%s", then);
	while (!back && next_msg(buf, sizeof buf, deadline)) {
		if (strstr(buf, "WATCHDOG=1"))
			back = withheld > 0;
		else if (strncmp(buf, "STATUS=", 7) == 0 && strstr(buf, stuck)) {
			if (withheld++ == 0)
				snprintf(why, sizeof why, "%s", buf + 7);
		}
	}
	ok(withheld >= 2, "%s: WATCHDOG=1 withheld for %d checks in a row (2 = WatchdogSec)",
	   target, withheld);
	ok(why[0] != '\0', "%s: STATUS= says what is stuck: %s", target, why);
	ok(back, "%s: WATCHDOG=1 again once it moves", target);
	for (int i = 0; i < copies; i++)
		answered += read_answer(c, 100 + i) == 200;
	if (then)
		answered += read_answer(c, 150) == 200;
	is(answered, copies + (then != NULL), "%s: the debug sleeps%s were answered 200", target,
	   then ? " and the request behind them" : "");
}

/* 1 when the daemon's log holds text. */
static int log_has(const struct td_daemon *d, const char *text)
{
	FILE *f = fopen(d->log_path, "r");
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
	/* Two IO threads: one stalls while the other answers pings. One
	 * heartbeat worker: two sleeps are one running and one queued. */
	static const char *const settings[] = {
		"enable_debug_commands=yes", "io_threads=2", "heartbeat_threads=1",
		"request_timeout_ms=60000", NULL
	};
	const char *tmp = getenv("PMQ_TEST_TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct td_daemon d;
	char status[1024];

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify.%d.sock", tmp ? tmp : "/tmp",
	         (int)getpid());
	unlink(sa.sun_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		bail_out("cannot bind the notify socket %s: %s", sa.sun_path, strerror(errno));

	/* The daemon inherits these; sd_notify() and sd_watchdog_enabled()
	 * read them. No WATCHDOG_PID: any pid is accepted. */
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_USEC", WATCHDOG_USEC, 1);
	int started = td_start(&d, settings);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	if (started != 0)
		bail_out("pulsemqd did not start");

	ok(wait_msg("READY=1", NULL, 0), "READY=1 once serving");
	int fd = td_connect(d.port);
	struct td_conn c;
	td_conn_init(&c, fd);
	ok(fd >= 0 && td_roundtrip(&c, "version 1\r\n", 11, WAIT_MS) == 1,
	   "the broker answers after READY=1");

	ok(wait_msg("WATCHDOG=1", NULL, 0), "WATCHDOG=1 while the runtime makes progress");
	ok(wait_msg("STATUS=", status, sizeof status), "a STATUS= line");
	ok(strstr(status, "connections") != NULL && strstr(status, "ops/s") != NULL,
	   "STATUS= names connections and ops/s (%s)", status);

	watch_stall(&c, "io", 1, NULL, "IO thread");
	watch_stall(&c, "timer", 1, NULL, "the timer thread has not taken its mail");
	watch_stall(&c, "heartbeat", 2, NULL, "heartbeat pool stuck");
	/* A hung fsync: the put waits in the group commit, every thread and
	 * pool looks healthy. */
	watch_stall(&c, "flush", 1, "put wd 0 5 0 150\r\nhello", "group commit stuck");
	ok(log_has(&d, "watchdog: not pinging systemd: IO thread"),
	   "the log says why the watchdog was withheld");
	ok(log_has(&d, "watchdog: progress again"), "and when it resumed");
	td_conn_free(&c);

	kill(d.pid, SIGHUP);
	ok(wait_msg("RELOADING=1", NULL, 0), "RELOADING=1 on SIGHUP");
	ok(wait_msg("READY=1", NULL, 0), "READY=1 after the reload");

	is(td_stop(&d, WAIT_MS), 0, "SIGTERM stops the daemon (0)");
	ok(wait_msg("STOPPING=1", NULL, 0), "STOPPING=1 was sent on the way");

	td_cleanup(&d);
	close(notify_fd);
	unlink(sa.sun_path);
	return done_testing();
}
