/*
 * test_runtime_pause.c - a paused broker convicts nobody on the silence of
 * its own pause (max_local_pause_ms, doc/runtime.md "Local pauses").
 *
 * idle_timeout_ms=200 heartbeat_timeout_ms=300 max_missed_heartbeats=3
 * session_timeout_ms=1500 tick_ms=10 max_local_pause_ms=1000. Five idle
 * clients answer every heartbeat of the broker; then the daemon is stopped
 * (SIGSTOP) for 3 s, twice session_timeout_ms, and continued:
 *  - the four that go on answering are heartbeated again and none is
 *    closed, for 2.5 s after the pause (past session_timeout_ms);
 *  - the fifth stops answering at the pause and is still closed by the
 *    normal rules, counted from the resume: a heartbeat at once, three
 *    misses, closed by heartbeat no earlier than 3 x 300 ms after SIGCONT;
 *  - the log says the timer thread woke late.
 * Without the guard every client is closed as idle the moment the daemon
 * runs again: nothing was read for 3 s.
 */
#include <config.h>

#include <signal.h>

#include "tests/integration/rt_util.h"

#define CLIENTS 5
#define MUTE (CLIENTS - 1)          /* stops answering at the pause */
#define PAUSE_MS 3000
#define AFTER_MS 2500               /* watched after the pause */
#define HB_TIMEOUT_MS 300
#define MISSES 3

struct client {
	struct rt_reader r;
	int beats;
	uint64_t closed_at;
};

/* The process state letter in /proc/PID/stat ('T': stopped), or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' ? paren[2] : 0;
}

static int wait_state(pid_t pid, char want, int timeout_ms)
{
	uint64_t end = td_now_ms() + (uint64_t)timeout_ms;
	while (proc_state(pid) != want) {
		if (td_now_ms() >= end)
			return -1;
		poll(NULL, 0, 1);
	}
	return 0;
}

/* Reads what arrived; answers heartbeats unless mute. 0 when c closed. */
static int serve(struct client *c, int mute, int *bad)
{
	struct pmq_msg m;
	int rc, open = rt_reader_fill(&c->r, 1) != 0;

	while ((rc = rt_reader_next(&c->r, &m)) == 1) {
		if (m.cmd != PMQ_CMD_VERSION) {
			(*bad)++;
			continue;
		}
		c->beats++;
		if (!mute)
			td_sendf(c->r.fd, "result 200 0 %d\r\n", (int)m.opaque);
	}
	if (rc < 0)
		(*bad)++;
	return open;
}

/* Serves every open client until until_ms, or (need > 0) until each has
 * had need heartbeats. */
static void run(struct client *c, int mute_from, uint64_t until_ms, int need, int *bad)
{
	for (;;) {
		struct pollfd p[CLIENTS];
		int done = need > 0;

		for (int i = 0; i < CLIENTS; i++) {
			p[i] = (struct pollfd){ c[i].r.fd, c[i].closed_at ? 0 : POLLIN, 0 };
			done = done && (c[i].closed_at || c[i].beats >= need);
		}
		uint64_t now = td_now_ms();
		if (done || now >= until_ms)
			return;
		if (poll(p, CLIENTS, (int)(until_ms - now)) <= 0)
			continue;
		for (int i = 0; i < CLIENTS; i++)
			if (p[i].revents && !c[i].closed_at &&
			    !serve(&c[i], i >= mute_from, bad))
				c[i].closed_at = td_now_ms();
	}
}

static int log_has(const char *path, const char *needle)
{
	char line[1024];
	int found = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

int main(void)
{
	struct td_daemon d;
	char hb[64];
	const char *settings[] = { "idle_timeout_ms=200", hb, "max_missed_heartbeats=3",
	                           "session_timeout_ms=1500", "tick_ms=10",
	                           "max_local_pause_ms=1000", NULL };
	struct client c[CLIENTS];
	int bad = 0;
	uint64_t margin = rt_sanitized() ? 1500 : 300;

	snprintf(hb, sizeof(hb), "heartbeat_timeout_ms=%d", HB_TIMEOUT_MS);
	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	memset(c, 0, sizeof(c));
	for (int i = 0; i < CLIENTS; i++) {
		int fd = td_connect(d.port);
		if (fd < 0)
			bail_out("cannot connect");
		rt_reader_init(&c[i].r, fd);
	}

	/* Idle clients, heartbeated and answering: two rounds each. */
	run(c, CLIENTS, td_now_ms() + RT_HANG_MS, 2, &bad);
	int before = 0;
	for (int i = 0; i < CLIENTS; i++)
		before += c[i].beats >= 2 && !c[i].closed_at;
	is(before, CLIENTS, "before the pause: %d clients answer heartbeats", CLIENTS);

	if (kill(d.pid, SIGSTOP) != 0 || wait_state(d.pid, 'T', RT_HANG_MS) != 0)
		bail_out("cannot stop the daemon");
	/* The pause itself is what is tested: a plain wait. */
	poll(NULL, 0, PAUSE_MS);
	uint64_t cont_at = td_now_ms();
	if (kill(d.pid, SIGCONT) != 0)
		bail_out("cannot continue the daemon");
	int beats_at_pause[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		beats_at_pause[i] = c[i].beats;

	run(c, MUTE, cont_at + AFTER_MS, 0, &bad);

	int alive = 0, heartbeated = 0;
	for (int i = 0; i < MUTE; i++) {
		alive += !c[i].closed_at;
		heartbeated += c[i].beats > beats_at_pause[i];
	}
	is(alive, MUTE, "after a %d ms pause (session_timeout_ms 1500) no answering client "
	   "is closed", PAUSE_MS);
	is(heartbeated, MUTE, "... each was heartbeated again and answered");
	ok(c[MUTE].closed_at != 0, "the client that stopped answering is closed");
	uint64_t after = c[MUTE].closed_at ? c[MUTE].closed_at - cont_at : 0;
	ok(after >= MISSES * HB_TIMEOUT_MS - 20 && after <= 1500 + 10 + margin,
	   "... by the normal rules from the resume: after %llu ms (window [%d, %llu])",
	   (unsigned long long)after, MISSES * HB_TIMEOUT_MS - 20,
	   (unsigned long long)(1500 + 10 + margin));
	ok(c[MUTE].beats - beats_at_pause[MUTE] >= MISSES,
	   "... after %d heartbeats it left unanswered (%d)", MISSES,
	   c[MUTE].beats - beats_at_pause[MUTE]);
	is(bad, 0, "nothing but heartbeats reached the clients");
	is(td_stat(d.port, "", "sessions_closed_idle"), 0, "stats: sessions_closed_idle 0");
	is(td_stat(d.port, "", "sessions_closed_heartbeat"), 1,
	   "stats: sessions_closed_heartbeat 1 (the mute one)");
	/* The mute client's three; an answer of another that a loaded machine
	 * delays past its deadline could add one. */
	ok(td_stat(d.port, "", "heartbeats_missed") >= MISSES, "stats: heartbeats_missed >= %d",
	   MISSES);
	ok(log_has(d.log_path, "ms late"), "the log says the timer thread woke late");
	ok(td_stat(d.port, "", "local_pauses") >= 1, "stats: local_pauses counts the pause");

	for (int i = 0; i < CLIENTS; i++) {
		close(c[i].r.fd);
		rt_reader_free(&c[i].r);
	}
	is(td_stop(&d, RT_HANG_MS), 0, "exit 0");
	td_cleanup(&d);
	return done_testing();
}
