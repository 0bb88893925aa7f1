/*
 * test_registration.c - client registration through heartbeats against the
 * real daemon: register, refresh, change, leave; `stats clients`, `stats
 * groups` and `members` agree; expiry on the wheel (a silent client is
 * closed within client_expire_ms plus a margin, one that refreshes stays);
 * bad input (every malformed line its 400, a 10 MB registration refused
 * before its body is sent, nothing of a refused registration applied).
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/reg_util.h"

/* Expiry in these tests: short so the test is quick, long enough that the
 * live client's paced refreshes keep it on a loaded, sanitized host. */
#define EXPIRE_MS 1500
/* Slack for a loaded machine or a sanitizer build, on "must happen by". */
#define LATE_MARGIN_MS 2000
/* The registration lapses EXPIRE_MS after the broker saw the heartbeat,
 * which is before the client saw its answer: a close seen sooner than this
 * after the answer would be early. */
#define EARLY_MARGIN_MS 100

static const char *const settings[] = { "client_expire_ms=1500", "notify_coalesce_ms=1",
	                                "stats_max_lines=1000", NULL };

static bool has_line(const char *text, const char *line)
{
	const char *p = strstr(text, line);
	return p && (p == text || p[-1] == '\n') && (p[strlen(line)] == '\r' || p[strlen(line)] == '\n');
}

/* `stats ITEM` on r into buf. */
static const char *stats_item(struct reg_conn *r, const char *item, char *buf, size_t cap)
{
	char line[64];

	snprintf(line, sizeof line, "stats %s 5\r\n", item);
	if (reg_request(r, line) != 200)
		return "";
	return reg_body(r, buf, cap);
}

static void test_lifecycle(int port)
{
	struct reg_conn a, b, a2, q;
	char buf[4096], m[512];

	reg_open(&a, port);
	reg_open(&b, port);
	reg_open(&a2, port);
	reg_open(&q, port);

	is(reg_heartbeat(&a, "cli-a", "producer pg\nconsumer cg t1,t2\n", 1), 200, "register a");
	ok(reg_body_is(&a, "cg 1 cli-a\n"), "answer: the consumer group, generation 1, members");
	is(reg_heartbeat(&a, "cli-a", NULL, 2), 200, "refresh (LEN 0)");
	ok(reg_body_is(&a, "cg 1 cli-a\n"), "refresh answers the same");
	is(reg_heartbeat(&a, "cli-a", "consumer cg t1,t2\nproducer pg\n", 3), 200,
	   "the same registration in another order");
	ok(reg_body_is(&a, "cg 1 cli-a\n"), "unchanged: no generation bump");

	is(reg_heartbeat(&b, "cli-b", "consumer cg t2,t3\n", 1), 200, "register b");
	ok(reg_body_is(&b, "cg 2 cli-a,cli-b\n"), "b joined: generation 2, members in byte order");
	is(reg_members(&q, "cg", m, sizeof m), 2, "members: generation 2");
	is_str(m, "cli-a,cli-b", "members: both");

	/* a second session of cli-a counts once */
	is(reg_heartbeat(&a2, "cli-a", "consumer cg t1,t2\n", 1), 200, "a second session of cli-a");
	ok(reg_body_is(&a2, "cg 2 cli-a,cli-b\n"), "same client id: no new member, no bump");

	stats_item(&q, "groups", buf, sizeof buf);
	ok(has_line(buf, "cg kind=consumer members=2 generation=2 topics=t1,t2,t3"),
	   "stats groups: the consumer group, its topic union");
	ok(has_line(buf, "pg kind=producer members=1 generation=1 topics=-"),
	   "stats groups: the producer group");
	stats_item(&q, "clients", buf, sizeof buf);
	ok(strstr(buf, "cli-a session=") && strstr(buf, "producer=pg consumer=cg ") &&
	   strstr(buf, "cli-b session=") && strstr(buf, "producer=- consumer=cg "),
	   "stats clients: one line per session, its groups");
	is(td_stat(port, "", "registered_clients"), 2, "registered_clients 2");
	is(td_stat(port, "", "registered_sessions"), 3, "registered_sessions 3");

	/* change: b takes t1 too (no new topic in the union: no bump), then
	 * a topic nobody had (bump) */
	is(reg_heartbeat(&b, "cli-b", "consumer cg t1,t2,t3\n", 2), 200, "b changes, same union");
	ok(reg_body_is(&b, "cg 2 cli-a,cli-b\n"), "union unchanged: generation stays");
	is(reg_heartbeat(&b, "cli-b", "consumer cg t4\n", 3), 200, "b subscribes a new topic");
	ok(reg_body_is(&b, "cg 3 cli-a,cli-b\n"), "subscriptions changed: generation 3");

	/* leave: a group absent from the registration is left */
	is(reg_heartbeat(&b, "cli-b", "producer pg\n", 4), 200, "b leaves cg for pg");
	ok(reg_body_is(&b, ""), "no consumer group: empty body");
	is(reg_members(&q, "cg", m, sizeof m), 4, "cg generation 4 after b left");
	is_str(m, "cli-a", "members: cli-a only");

	/* one of cli-a's two sessions closes: cli-a stays a member */
	reg_close(&a);
	uint64_t deadline = td_now_ms() + REG_T_MS;
	while (td_stat(port, "", "registered_sessions") != 2 && td_now_ms() < deadline)
		;
	is(td_stat(port, "", "registered_sessions"), 2, "a closed session is unregistered");
	is(reg_members(&q, "cg", m, sizeof m), 4, "cli-a still a member: no bump");
	is_str(m, "cli-a", "members unchanged");
	reg_close(&a2);
	deadline = td_now_ms() + REG_T_MS;
	while (reg_members(&q, "cg", m, sizeof m) != 0 && td_now_ms() < deadline)
		;
	is(reg_members(&q, "cg", m, sizeof m), 0, "last session of the last member left: cg gone (404)");
	is(reg_members(&q, "pg", m, sizeof m), 3, "pg: cli-b alone, generation 3");
	is_str(m, "cli-b", "pg members");
	reg_close(&b);
	reg_close(&q);
}

static void test_refusals(int port)
{
	struct reg_conn r, q;
	char buf[512], m[256];

	reg_open(&r, port);
	reg_open(&q, port);
	is(reg_heartbeat(&r, "cli-r", NULL, 1), 404, "refresh before any registration: 404");
	ok(strstr(reg_body(&r, buf, sizeof buf), "send a full"), "  says to send a full one");
	is(reg_heartbeat(&r, "cli-r", "consumer rg t1\n", 2), 200, "registered");

	static const struct {
		const char *body, *text;
	} bad[] = {
		{ "consumer rg t1\nbogus x\n", "line 2: expected 'producer GROUP' or" },
		{ "consumer rg t1", "line 1: not ended by \\n" },
		{ "consumer rg t1,,t2\n", "line 1: invalid topic name in the topic list" },
		{ "producer a/b\n", "line 1: invalid group name" },
		{ "consumer rg t1\nconsumer rg t2\n", "line 2: consumer group rg repeated (line 1)" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		is(reg_heartbeat(&r, "cli-r", bad[i].body, 10), 400, "400: %s", bad[i].text);
		ok(strstr(reg_body(&r, buf, sizeof buf), bad[i].text) != NULL, "  names it: %s", buf);
	}
	char big[PMQ_REG_MAX_GROUPS * 16 + 32];
	size_t n = 0;
	for (int i = 0; i <= PMQ_REG_MAX_GROUPS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "producer g%d\n", i);
	is(reg_heartbeat(&r, "cli-r", big, 11), 400, "65 groups: 400");
	ok(strstr(reg_body(&r, buf, sizeof buf), "more than 64 groups"), "  names the limit");
	is(reg_heartbeat(&r, "other", NULL, 12), 400, "another client id on this session: 400");
	ok(strstr(reg_body(&r, buf, sizeof buf), "differs from this session's"), "  says so");
	is(reg_members(&q, "rg", m, sizeof m), 1, "nothing of the refusals applied: rg generation 1");
	is_str(m, "cli-r", "  members unchanged");

	is(reg_request(&r, "members rg/x 3\r\n"), 400, "members with a bad group: 400");
	is(reg_request(&r, "commit t g 0 5\r\n"), 400, "commit with 5 tokens: 400");
	is(reg_request(&r, "commit t g -1 0 4\r\n"), 400, "commit to a negative partition: 400");
	is(reg_request(&r, "committed t g 0\r\n"), 400, "committed with 4 tokens: 400");
	is(reg_request(&r, "version 9\r\n"), 200, "the session goes on after line errors");

	/* 10 MB registration: refused when its line arrives, before any body
	 * byte is sent, and the body then skipped unread */
	is(td_sendf(r.c.fd, "heartbeat cli-r 10485760 13\r\n"), 0, "10 MB registration line sent");
	ok(reg_read(&r, false, REG_T_MS) == 1 && r.c.msg.code == 400 && r.c.msg.opaque == 13,
	   "refused with 400 before its body is sent");
	ok(strstr(reg_body(&r, buf, sizeof buf), "exceeds the limit of 65536 bytes"),
	   "  names the limit");
	char *body = calloc(1, 1 << 20);
	memset(body, 'x', 1 << 20);
	int sent = 0;
	for (int i = 0; i < 10; i++)
		sent += td_send(r.c.fd, body, 1 << 20) == 0;
	free(body);
	is(sent, 10, "its 10 MB body sent anyway");
	is(reg_request(&r, "version 14\r\n"), 200, "then the next request is served");
	ok(td_stat(port, "", "input_buffer_bytes") < (1 << 20), "the body was never buffered");

	/* a heartbeat line that does not parse: framing is lost, 400 and close */
	is(td_sendf(r.c.fd, "heartbeat cli-r 5\r\nhello"), 0, "heartbeat with 3 tokens");
	ok(reg_read(&r, false, REG_T_MS) == 1 && r.c.msg.code == 400, "answered 400");
	ok(td_wait_closed(r.c.fd, REG_T_MS), "and the session closed");
	reg_close(&r);
	reg_close(&q);
}

/* A client that stops heartbeating but keeps its socket is closed within
 * client_expire_ms + a tick (+ LATE_MARGIN_MS for a loaded host), never
 * sooner than client_expire_ms (- EARLY_MARGIN_MS); one that refreshes
 * with LEN 0 stays for 5x the expiry. */
static void test_expiry(int port)
{
	struct reg_conn silent, live, q;
	char m[256];

	reg_open(&silent, port);
	reg_open(&live, port);
	reg_open(&q, port);
	long long before = td_stat(port, "", "sessions_closed_registration_expired");
	is(reg_heartbeat(&live, "cli-live", "consumer eg t\n", 1), 200, "live registers");
	is(reg_heartbeat(&silent, "cli-silent", "consumer eg t\n", 1), 200, "silent registers");
	uint64_t t0 = td_now_ms();

	uint64_t closed_at = 0;
	unsigned refresh_failed = 0;
	while (td_now_ms() - t0 < 5 * EXPIRE_MS) {
		refresh_failed += reg_heartbeat(&live, "cli-live", NULL, 2) != 200;
		if (!closed_at && td_wait_closed(silent.c.fd, EXPIRE_MS / 6))
			closed_at = td_now_ms();
		else if (closed_at)
			td_wait_closed(q.c.fd, EXPIRE_MS / 6); /* a paced wait: nothing comes */
	}
	/* in case the loop ended first on a slow host */
	if (!closed_at && td_wait_closed(silent.c.fd, EXPIRE_MS + LATE_MARGIN_MS))
		closed_at = td_now_ms();
	ok(closed_at != 0, "the silent client was closed");
	diag("closed %llu ms after its last heartbeat answer (expire %d ms)",
	     (unsigned long long)(closed_at - t0), EXPIRE_MS);
	ok(closed_at - t0 + EARLY_MARGIN_MS >= EXPIRE_MS, "not before client_expire_ms");
	ok(closed_at - t0 <= EXPIRE_MS + 10 + LATE_MARGIN_MS,
	   "within client_expire_ms + one tick (+%d ms margin)", LATE_MARGIN_MS);
	ok(td_now_ms() - t0 >= 5 * EXPIRE_MS && refresh_failed == 0,
	   "the live client refreshed for 5x the expiry, every refresh answered 200");
	is(reg_heartbeat(&live, "cli-live", NULL, 3), 200, "and is still registered");
	is(reg_members(&q, "eg", m, sizeof m) > 0, 1, "eg exists");
	is_str(m, "cli-live", "only the live client is a member");
	is(td_stat(port, "", "sessions_closed_registration_expired"), before + 1,
	   "counted: sessions_closed_registration_expired");
	ok(td_stat(port, "", "registrations_expired") >= 1, "counted: registrations_expired");
	reg_close(&silent);
	reg_close(&live);
	reg_close(&q);
}

/* Both listings stop after stats_max_lines with `more N`. */
static void test_capped(void)
{
	static const char *const capped[] = { "stats_max_lines=2", NULL };
	struct td_daemon d;
	struct reg_conn r[4], q;
	char id[16], buf[2048];
	int registered = 0;

	if (td_start(&d, capped) != 0)
		bail_out("pulsemqd did not start");
	for (int i = 0; i < 4; i++) {
		reg_open(&r[i], d.port);
		snprintf(id, sizeof id, "cap-%d", i);
		registered += reg_heartbeat(&r[i], id, i % 2 ? "consumer g1 t\n" : "consumer g2 t\n",
		                            1) == 200;
	}
	is(registered, 4, "4 sessions registered");
	reg_open(&q, d.port);
	stats_item(&q, "clients", buf, sizeof buf);
	ok(strstr(buf, "cap-0 ") && strstr(buf, "cap-1 ") && !strstr(buf, "cap-2 ") &&
	   has_line(buf, "more 2"), "stats clients: 2 lines, then more 2");
	is(reg_request(&q, "commit t g1 0 0 3\r\n"), 404, "(no partition t-0 yet)");
	is(reg_request(&q, "put t 0 1 0 4\r\nx"), 200, "a put creates t-0");
	is(reg_request(&q, "commit t g1 0 0 5\r\n"), 200, "a commit of g1");
	stats_item(&q, "groups", buf, sizeof buf);
	ok(strstr(buf, "g1 kind=consumer members=2") && strstr(buf, "g2 kind=consumer members=2") &&
	   !strstr(buf, "committed=") && has_line(buf, "more 1"),
	   "stats groups: 2 lines, then more 1 (the committed line)");
	for (int i = 0; i < 4; i++)
		reg_close(&r[i]);
	reg_close(&q);
	is(td_stop(&d, REG_T_MS), 0, "capped daemon stops cleanly");
	td_cleanup(&d);
}

int main(void)
{
	struct td_daemon d;

	if (td_start(&d, settings) != 0)
		bail_out("pulsemqd did not start");
	test_lifecycle(d.port);
	test_refusals(d.port);
	test_expiry(d.port);
	is(td_stop(&d, REG_T_MS), 0, "clean stop");
	td_cleanup(&d);
	test_capped();
	return done_testing();
}
