/*
 * test_crash.c - an acknowledged put survives kill -9 (flush_mode = sync).
 *
 * Several producer connections put numbered messages as fast as the broker
 * answers; after N acknowledged puts the daemon is killed with SIGKILL and
 * restarted on the same data directory. Then every partition is read from
 * offset 0 to the end and checked:
 *  - every put answered 200 is there, at the offset it was given, with the
 *    same msgid and identical bytes;
 *  - every record read is one that was sent (a put in flight at the kill
 *    may or may not be there), and none appears twice;
 *  - offsets strictly increase (a connection's acknowledged puts to one
 *    partition, and the records as read).
 * Three rounds kill at different moments; each round checks all earlier
 * rounds' messages too.
 */
#include <config.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/daemon.h"
#include "tests/tap.h"

#define T_MS 20000       /* guards against hangs only */
#define NCONN 12
#define NPART 2
#define ROUNDS 3
#define MAX_ACKED 20000
#define MAX_SEQ 100000

static const int kill_after[ROUNDS] = { 300, 1500, 3000 };

struct acked {
	int round, conn, seq, part;
	int64_t offset, msgid;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int port, round, target, acked_round;
	struct acked acked[MAX_ACKED];
	int nacked;
	int sent_max[ROUNDS][NCONN];  /* highest seq sent (maybe stored) */
	int bad_answers;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static size_t make_payload(char *buf, int round, int conn, int seq)
{
	int n = snprintf(buf, 64, "r%d c%d s%d|", round, conn, seq);
	size_t len = 40 + (size_t)(seq * 13 + conn * 7) % 120;
	for (size_t k = (size_t)n; k < len; k++)
		buf[k] = (char)('A' + (round * 7 + conn * 3 + seq + (int)k) % 58);
	return len;
}

static void *producer(void *arg)
{
	int conn = (int)(intptr_t)arg;
	int fd = td_connect(g.port);
	struct td_conn c;
	char buf[512], payload[256];
	if (fd < 0)
		return NULL;
	td_conn_init(&c, fd);
	for (int seq = 1; seq < MAX_SEQ; seq++) {
		int part = (seq + conn) % NPART;
		size_t len = make_payload(payload, g.round, conn, seq);
		int n = snprintf(buf, sizeof buf, "put crash %d %zu 0 %d\r\n", part, len, seq);
		memcpy(buf + n, payload, len);
		pthread_mutex_lock(&g.lock);
		g.sent_max[g.round][conn] = seq;
		bool done = g.acked_round >= g.target + 200; /* the kill is late: stop */
		pthread_mutex_unlock(&g.lock);
		if (done || td_send(fd, buf, (size_t)n + len) != 0)
			break;
		if (td_read_msg(&c, T_MS) != 1)
			break; /* killed */
		char ans[128];
		long long id, off;
		int p;
		if (c.msg.cmd != PMQ_CMD_RESULT || c.msg.code != 200 || c.msg.body.len >= sizeof ans) {
			pthread_mutex_lock(&g.lock);
			g.bad_answers++;
			pthread_mutex_unlock(&g.lock);
			break;
		}
		memcpy(ans, c.msg.body.ptr, c.msg.body.len);
		ans[c.msg.body.len] = '\0';
		if (sscanf(ans, "%lld %d %lld", &id, &p, &off) != 3 || p != part)
			break;
		pthread_mutex_lock(&g.lock);
		if (g.nacked < MAX_ACKED)
			g.acked[g.nacked++] = (struct acked){ g.round, conn, seq, part, off, id };
		if (++g.acked_round == g.target)
			pthread_cond_signal(&g.cond);
		pthread_mutex_unlock(&g.lock);
	}
	td_conn_free(&c);
	return NULL;
}

struct rec {
	int64_t offset, msgid;
	int round, conn, seq;
	bool matches; /* bytes equal what (round, conn, seq) sent */
};

static struct rec *recs[NPART];
static size_t nrecs[NPART];

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads a whole partition; false on a protocol surprise. */
static bool read_partition(struct td_conn *c, int part)
{
	int64_t off = 0;
	char req[128], payload[256];
	size_t cap = 1024;
	free(recs[part]);
	recs[part] = malloc(cap * sizeof *recs[part]);
	nrecs[part] = 0;
	for (;;) {
		int n = snprintf(req, sizeof req, "get crash g %d %" PRId64 " 65536 9\r\n", part, off);
		if (td_roundtrip(c, req, (size_t)n, T_MS) != 1)
			return false;
		if (c->msg.cmd == PMQ_CMD_RESULT)
			return c->msg.code == 404;
		const unsigned char *b = (const unsigned char *)c->msg.body.ptr;
		size_t avail = c->msg.body.len, used = 0;
		while (avail - used >= 20) {
			int32_t len = (int32_t)be32(b + used);
			if (len < 0 || (size_t)len > avail - used - 20)
				break;
			struct rec r = { .offset = off + (int64_t)used };
			r.msgid = (int64_t)((uint64_t)be32(b + used + 8) << 32 | be32(b + used + 12));
			char head[64];
			size_t hl = (size_t)len < sizeof head - 1 ? (size_t)len : sizeof head - 1;
			memcpy(head, b + used + 20, hl);
			head[hl] = '\0';
			if (sscanf(head, "r%d c%d s%d|", &r.round, &r.conn, &r.seq) == 3 &&
			    r.round >= 0 && r.round < ROUNDS && r.conn >= 0 && r.conn < NCONN) {
				size_t want = make_payload(payload, r.round, r.conn, r.seq);
				r.matches = want == (size_t)len &&
				            memcmp(payload, b + used + 20, want) == 0;
			}
			if (nrecs[part] == cap) {
				cap *= 2;
				recs[part] = realloc(recs[part], cap * sizeof *recs[part]);
			}
			recs[part][nrecs[part]++] = r;
			used += 20 + (size_t)len;
		}
		if (used == 0)
			return false;
		off += (int64_t)used;
	}
}

static const struct rec *find_rec(int part, int64_t offset)
{
	size_t lo = 0, hi = nrecs[part];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (recs[part][mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nrecs[part] && recs[part][lo].offset == offset ? &recs[part][lo] : NULL;
}

static void check(int rounds_done)
{
	int fd = td_connect(g.port);
	struct td_conn c;
	td_conn_init(&c, fd);
	bool read_ok = true;
	for (int p = 0; p < NPART; p++)
		read_ok = read_partition(&c, p) && read_ok;
	td_conn_free(&c);
	ok(read_ok, "round %d: both partitions read to the end (%zu + %zu records)", rounds_done,
	   nrecs[0], nrecs[1]);

	int missing = 0, wrong = 0;
	for (int i = 0; i < g.nacked; i++) {
		const struct acked *a = &g.acked[i];
		const struct rec *r = find_rec(a->part, a->offset);
		if (!r)
			missing++;
		else if (r->msgid != a->msgid || r->round != a->round || r->conn != a->conn ||
		         r->seq != a->seq || !r->matches)
			wrong++;
	}
	is(missing, 0, "round %d: every one of %d acknowledged puts is readable", rounds_done,
	   g.nacked);
	is(wrong, 0, "round %d: with its msgid and identical bytes", rounds_done);

	int unsent = 0, dups = 0, order = 0;
	static unsigned char seen[ROUNDS][NCONN][MAX_SEQ];
	memset(seen, 0, sizeof seen);
	for (int p = 0; p < NPART; p++)
		for (size_t i = 0; i < nrecs[p]; i++) {
			const struct rec *r = &recs[p][i];
			if (i > 0 && r->offset <= recs[p][i - 1].offset)
				order++;
			if (!r->matches || r->round >= rounds_done || r->seq < 1 ||
			    r->seq > g.sent_max[r->round][r->conn]) {
				unsent++;
				continue;
			}
			if (seen[r->round][r->conn][r->seq]++)
				dups++;
		}
	is(unsent, 0, "round %d: nothing readable that was never sent", rounds_done);
	is(dups, 0, "round %d: no message stored twice", rounds_done);

	/* a connection's acknowledged puts to one partition: increasing offsets */
	int64_t last[ROUNDS][NCONN][NPART];
	for (int a = 0; a < ROUNDS; a++)
		for (int b = 0; b < NCONN; b++)
			for (int p = 0; p < NPART; p++)
				last[a][b][p] = -1;
	for (int i = 0; i < g.nacked; i++) {
		const struct acked *a = &g.acked[i];
		if (a->offset <= last[a->round][a->conn][a->part])
			order++;
		last[a->round][a->conn][a->part] = a->offset;
	}
	is(order, 0, "round %d: offsets strictly increase", rounds_done);
}

int main(void)
{
	struct td_daemon d;
	const char *settings[] = { "flush_mode=sync", "num_partitions=2", "segment_bytes=64K",
	                           "put_threads=4", NULL };

	if (td_start(&d, settings) != 0)
		bail_out("cannot start pulsemqd");
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th[NCONN];
		g.port = d.port;
		g.round = round;
		g.target = kill_after[round];
		g.acked_round = 0;
		for (int i = 0; i < NCONN; i++)
			pthread_create(&th[i], NULL, producer, (void *)(intptr_t)i);

		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += T_MS / 1000;
		pthread_mutex_lock(&g.lock);
		while (g.acked_round < g.target)
			if (pthread_cond_timedwait(&g.cond, &g.lock, &dl) != 0)
				break;
		int acked = g.acked_round;
		pthread_mutex_unlock(&g.lock);
		td_kill9(&d);
		for (int i = 0; i < NCONN; i++)
			pthread_join(th[i], NULL);
		ok(acked >= kill_after[round], "round %d: killed -9 after %d acknowledged puts",
		   round + 1, acked);
		is(g.bad_answers, 0, "round %d: no put was refused", round + 1);

		if (td_restart(&d, settings) != 0)
			bail_out("cannot restart pulsemqd after kill -9");
		g.port = d.port;
		check(round + 1);
	}
	is(td_stop(&d, T_MS), 0, "clean stop at the end");
	td_cleanup(&d);
	for (int p = 0; p < NPART; p++)
		free(recs[p]);
	return done_testing();
}
