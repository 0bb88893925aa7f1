/* The registration body of a heartbeat [ext]: pmq_reg_next() line by line,
 * its limits, and the notify encoder. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "protocol/protocol.h"
#include "tests/tap.h"
#include "tests/unit/test_protocol_util.h"

/* Runs the iterator over body to its end; the last status, lines seen. */
static int run(const char *body, size_t len, unsigned *lines, char *err, size_t cap)
{
	struct pmq_reg_iter it;
	struct pmq_reg_line l;
	int rc;

	*lines = 0;
	err[0] = 0;
	pmq_reg_begin(&it, (struct pmq_view){ body, len });
	while ((rc = pmq_reg_next(&it, &l, err, cap)) == 1)
		++*lines;
	return rc;
}

static void test_good(void)
{
	static const char body[] = "producer pg\nconsumer cg t1,t2,t-3\nconsumer c2 x\n";
	struct pmq_reg_iter it;
	struct pmq_reg_line l;
	char err[PMQ_ERROR_TEXT_BYTES];

	pmq_reg_begin(&it, (struct pmq_view){ body, sizeof(body) - 1 });
	ok(pmq_reg_next(&it, &l, err, sizeof err) == 1 && l.kind == PMQ_REG_PRODUCER &&
	   view_is(l.group, "pg") && l.ntopics == 0 && l.lineno == 1, "producer line");
	ok(pmq_reg_next(&it, &l, err, sizeof err) == 1 && l.kind == PMQ_REG_CONSUMER &&
	   view_is(l.group, "cg") && view_is(l.topics, "t1,t2,t-3") && l.ntopics == 3,
	   "consumer line with three topics");
	ok(view_is(pmq_reg_topic(l.topics, 0), "t1") && view_is(pmq_reg_topic(l.topics, 2), "t-3") &&
	   pmq_reg_topic(l.topics, 3).ptr == NULL, "topics by index");
	ok(pmq_reg_next(&it, &l, err, sizeof err) == 1 && l.ntopics == 1 && l.lineno == 3,
	   "one topic");
	ok(pmq_reg_next(&it, &l, err, sizeof err) == 0, "end");
	unsigned n;
	ok(run("", 0, &n, err, sizeof err) == 0 && n == 0, "empty body: no groups");
}

struct badbody {
	const char *in;
	const char *text;
};

static void test_bad(void)
{
	static const struct badbody rows[] = {
		{ "producer pg", "line 1: not ended by \\n" },
		{ "producer pg\n\n", "line 2: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "producer\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "producer a b\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "consumer a\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "consumer a t x\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "producer  a\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "producer a \n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "listener a\n", "line 1: expected 'producer GROUP' or 'consumer GROUP TOPIC[,TOPIC...]'" },
		{ "producer a/b\n", "line 1: invalid group name" },
		{ "producer .a\n", "line 1: invalid group name" },
		{ "producer a\r\n", "line 1: control character 0x0d" },
		{ "producer a\nconsumer c t1,,t2\n", "line 2: invalid topic name in the topic list" },
		{ "consumer c t1,\n", "line 1: invalid topic name in the topic list" },
		{ "consumer c ,t\n", "line 1: invalid topic name in the topic list" },
		{ "consumer c t/1\n", "line 1: invalid topic name in the topic list" },
	};
	char err[PMQ_ERROR_TEXT_BYTES];
	unsigned n;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ok(run(rows[i].in, strlen(rows[i].in), &n, err, sizeof err) == -1, "refused: %s",
		   rows[i].text);
		is_str(err, rows[i].text, "  text");
	}
}

static void test_limits(void)
{
	char err[PMQ_ERROR_TEXT_BYTES];
	char *b = malloc(PMQ_REG_MAX_BODY_BYTES);
	size_t len = 0;
	unsigned n;

	for (int i = 0; i < PMQ_REG_MAX_GROUPS; i++)
		len += (size_t)sprintf(b + len, "producer g%d\n", i);
	ok(run(b, len, &n, err, sizeof err) == 0 && n == PMQ_REG_MAX_GROUPS, "64 groups pass");
	len += (size_t)sprintf(b + len, "producer g64\n");
	ok(run(b, len, &n, err, sizeof err) == -1, "65 groups refused");
	is_str(err, "more than 64 groups in one registration", "  names the limit");

	len = (size_t)sprintf(b, "consumer c t0");
	for (int i = 1; i < PMQ_REG_MAX_TOPICS; i++)
		len += (size_t)sprintf(b + len, ",t%d", i);
	b[len++] = '\n';
	ok(run(b, len, &n, err, sizeof err) == 0 && n == 1, "1024 topics pass");
	len--;
	len += (size_t)sprintf(b + len, ",t1024\n");
	ok(run(b, len, &n, err, sizeof err) == -1, "1025 topics refused");
	is_str(err, "line 1: more than 1024 topics in one consumer group", "  names the limit");
	free(b);
}

static void test_ids_and_notify(void)
{
	char id[PMQ_CLIENT_ID_MAX_BYTES + 1];
	char buf[64];

	memset(id, 'a', sizeof id);
	ok(pmq_client_id_valid(id, PMQ_CLIENT_ID_MAX_BYTES), "128-byte client id");
	ok(!pmq_client_id_valid(id, PMQ_CLIENT_ID_MAX_BYTES + 1), "129 bytes refused");
	ok(!pmq_client_id_valid(id, 0), "empty refused");
	ok(pmq_client_id_valid(S("h.x@1:2_3-4")), "every allowed punctuation");
	ok(!pmq_client_id_valid(S("a b")) && !pmq_client_id_valid(S("a/b")) &&
	   !pmq_client_id_valid(S("a,b")), "space, slash, comma refused");

	size_t n = pmq_encode_notify(buf, sizeof buf, (struct pmq_view){ "grp", 3 }, 42, 7);
	ok(n == sizeof("notify grp 42 7\r\n") - 1 && memcmp(buf, "notify grp 42 7\r\n", n) == 0,
	   "notify encodes as protocol.md says");
	ok(pmq_encode_notify(buf, 4, (struct pmq_view){ "grp", 3 }, 42, 7) == n,
	   "too small a buffer: the length needed");
}

int main(void)
{
	test_good();
	test_bad();
	test_limits();
	test_ids_and_notify();
	return done_testing();
}
