/*
 * test_store.c - the store's append, flush, read, offset lookups, segment
 * roll, reopen, directory lock, retention and concurrent appends.
 */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <sys/time.h>

#include "store/record.h"
#include "tests/unit/test_store_util.h"

#define REC 256               /* record bytes in the offset tests */
#define PAYLOAD (REC - STORE_RECORD_HEADER)

static char dir[PATH_MAX];

static void fill(char *buf, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (seed + i) % 26);
}

static void test_append_read_roll(void)
{
	char err[STORE_ERR_BYTES], payload[PAYLOAD], buf[4096];
	struct store *st = tsu_open(dir, 1024, NULL, err);
	struct store_partition *p = NULL;
	struct store_append a[16];
	struct store_read r;
	int64_t flushed;

	ok(st != NULL, "store opens on an empty directory");
	if (!st)
		bail_out("%s", err);
	ok(store_partition_find(st, "t", 1, 0) == NULL, "no partition before the first put");
	is(store_partition_open(st, "t", 1, 0, &p, err, sizeof err), 0, "partition t-0 created");

	bool offsets_ok = true, ids_ok = true;
	for (int i = 0; i < 16; i++) {
		fill(payload, sizeof payload, i);
		if (store_partition_append(p, i, payload, sizeof payload, &a[i], err, sizeof err) != 0)
			bail_out("append %d: %s", i, err);
		if (a[i].offset != (int64_t)i * REC || a[i].end != (int64_t)(i + 1) * REC)
			offsets_ok = false;
		if (i > 0 && a[i].msgid <= a[i - 1].msgid)
			ids_ok = false;
	}
	ok(offsets_ok, "16 appends at offsets 0, 256, ..., 3840");
	ok(ids_ok, "message ids strictly increase");
	is((a[0].msgid >> 12) & 1023, 7, "ids carry the broker id");

	is(store_partition_read(p, 0, buf, sizeof buf, &r, err, sizeof err), 0, "read before flush");
	is(r.status, STORE_READ_END, "nothing readable before a flush");
	is(r.moved, 0, "readable end is 0");
	ok(store_partition_dirty(p), "partition is dirty");
	is(store_partition_unflushed(p), 16, "16 messages wait for a flush");

	is(store_partition_flush(p, &flushed, err, sizeof err), 0, "flush");
	is(flushed, 4096, "flushed to 4096");
	ok(!store_partition_dirty(p), "clean after the flush");

	char path[PATH_MAX + 64];
	static const char *names[] = { "00000000000000000000.meta", "00000000000000001024.meta",
	                               "00000000000000002048.meta", "00000000000000003072.meta" };
	bool sizes = true;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/t-0/%s", dir, names[i]);
		if (tsu_file_size(path) != 1024)
			sizes = false;
	}
	ok(sizes, "four segment files of 1024 bytes with 20-digit names");

	is(store_partition_read(p, 0, buf, sizeof buf, &r, err, sizeof err), 0, "read at 0");
	ok(r.status == STORE_READ_OK && r.len == 1024, "a read stops at the segment's end (got %zu)", r.len);
	struct store_record rec;
	fill(payload, sizeof payload, 0);
	ok(store_record_check((unsigned char *)buf, r.len, &rec) == STORE_RECORD_VALID &&
	   rec.msgid == a[0].msgid && rec.len == PAYLOAD &&
	   memcmp(buf + STORE_RECORD_HEADER, payload, PAYLOAD) == 0, "first record intact");

	is(store_partition_read(p, 768, buf, sizeof buf, &r, err, sizeof err), 0, "read at 768");
	is(r.len, 256, "read inside a segment ends at its end");
	/* Not where a record starts: payload bytes read as a header. */
	is(store_partition_read(p, 1000, buf, sizeof buf, &r, err, sizeof err), -EBADMSG,
	   "read at 1000, inside a record: -EBADMSG");
	ok(strstr(err, "corrupt record at offset 1000 in t-0") != NULL, "naming it: %s", err);
	is(store_partition_read(p, 1024, buf, 300, &r, err, sizeof err), 0, "read at 1024, max 300");
	is(r.len, 300, "max bounds a read");
	ok(store_record_check((unsigned char *)buf, r.len, &rec) == STORE_RECORD_VALID &&
	   rec.msgid == a[4].msgid && rec.flag == 4, "fifth record starts the second segment");
	is(store_partition_read(p, 4096, buf, sizeof buf, &r, err, sizeof err), 0, "read at end");
	ok(r.status == STORE_READ_END && r.moved == 4096, "at the end: END with 4096");
	is(store_partition_read(p, -5, buf, sizeof buf, &r, err, sizeof err), 0, "read before");
	ok(r.status == STORE_READ_BEFORE && r.moved == 0, "before the first: BEFORE with 0");

	/* offset lookups */
	static const int64_t q[][2] = {
		{ -100, 0 }, { 0, 0 }, { 100, 0 }, { 1023, 0 }, { 1024, 1024 }, { 2000, 1024 },
		{ 2048, 2048 }, { 2049, 2048 }, { 2536, 2048 }, { 3072, 3072 }, { 3073, 3072 },
		{ 4096, 4096 }, { 16384, 4096 },
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		int64_t got = -1;
		int rc = store_partition_nearest(p, q[i][0], &got);
		ok(rc == 0 && got == q[i][1], "offset %lld -> %lld (got %lld)", (long long)q[i][0],
		   (long long)q[i][1], (long long)got);
	}

	/* a partially flushed partition reads only up to the flushed end */
	struct store_append x;
	fill(payload, sizeof payload, 99);
	is(store_partition_append(p, 0, payload, 100, &x, err, sizeof err), 0, "append after flush");
	is(x.offset, 4096, "it rolls to a new segment at 4096");
	is(store_partition_read(p, 4096, buf, sizeof buf, &r, err, sizeof err), 0, "read unflushed");
	is(r.status, STORE_READ_END, "unflushed bytes are not readable");
	store_partition_flush(p, &flushed, err, sizeof err);
	is(flushed, 4096 + 120, "flushed end covers it");
	is(store_partition_read(p, 4096, buf, sizeof buf, &r, err, sizeof err), 0, "read flushed");
	is(r.len, 120, "now it is");

	/* empty partition */
	struct store_partition *e;
	int64_t v;
	store_partition_open(st, "t", 1, 3, &e, err, sizeof err);
	is(store_partition_nearest(e, 0, &v), -ENOENT, "offset on an empty partition: ENOENT");
	is(store_partition_read(e, 0, buf, sizeof buf, &r, err, sizeof err), 0, "read empty");
	is(r.status, STORE_READ_END, "empty partition: END");

	/* the lock */
	char err2[STORE_ERR_BYTES];
	struct store *st2 = tsu_open(dir, 1024, NULL, err2);
	ok(st2 == NULL && strstr(err2, "in use"), "a second open of the directory is refused: %s", err2);
	store_close(st2);

	snprintf(path, sizeof path, "%s/t-0/00000000000000004096.meta", dir);
	ok(tsu_file_size(path) > 120, "while open, the last segment has space reserved");
	store_close(st);
	is(tsu_file_size(path), 120, "a clean close cuts the last segment at its last record");

	/* reopen: everything back, readable at once, ids continue above */
	st = tsu_open(dir, 1024, NULL, err);
	ok(st != NULL, "reopens");
	if (!st)
		bail_out("%s", err);
	p = store_partition_find(st, "t", 1, 0);
	ok(p != NULL && store_partition_find(st, "t", 1, 3) != NULL, "partitions found on disk");
	int64_t first, end;
	store_partition_bounds(p, &first, &end);
	ok(first == 0 && end == 4216, "bounds after reopen 0..4216");
	struct store_append y;
	store_partition_append(p, 0, "z", 1, &y, err, sizeof err);
	ok(y.msgid > x.msgid, "ids after a restart stay above the recovered ones");
	store_partition_flush(p, &flushed, err, sizeof err);

	/* retention: everything but the last segment is older than a cutoff
	 * in the future; nothing is older than one in the past */
	is(store_partition_expire(p, time(NULL) - 3600, err, sizeof err), 0, "nothing expires early");
	is(store_partition_expire(p, time(NULL) + 3600, err, sizeof err), 4, "four old segments deleted");
	store_partition_bounds(p, &first, &end);
	ok(first == 4096 && end == 4237, "bounds after retention 4096..4237");
	is(store_partition_read(p, 0, buf, sizeof buf, &r, err, sizeof err), 0, "read an expired offset");
	ok(r.status == STORE_READ_BEFORE && r.moved == 4096, "BEFORE with the new first start");
	snprintf(path, sizeof path, "%s/t-0/%s", dir, names[0]);
	ok(tsu_file_size(path) < 0, "the file is gone");
	struct store_stats s;
	store_get_stats(st, &s);
	ok(s.segments_deleted == 4 && s.partitions == 2, "stats count deletions and partitions");
	store_close(st);
}

/* Many threads append to two partitions; offsets must be unique and dense. */
#define THREADS 4
#define PER_THREAD 500

struct worker {
	struct store_partition *p[2];
	int64_t offs[PER_THREAD];
	int fails;
};

static void *append_worker(void *arg)
{
	struct worker *w = arg;
	char err[STORE_ERR_BYTES];
	for (int i = 0; i < PER_THREAD; i++) {
		struct store_append a;
		if (store_partition_append(w->p[i & 1], i, "0123456789", 10, &a, err, sizeof err) != 0)
			w->fails++;
		w->offs[i] = a.offset;
		if (i % 50 == 0) {
			int64_t f;
			store_partition_flush(w->p[i & 1], &f, err, sizeof err);
		}
	}
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_concurrent(void)
{
	char err[STORE_ERR_BYTES];
	struct store *st = tsu_open(dir, 4096, NULL, err);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct store_partition *p0, *p1;

	store_partition_open(st, "c", 1, 0, &p0, err, sizeof err);
	store_partition_open(st, "c", 1, 1, &p1, err, sizeof err);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].p[0] = p0;
		w[i].p[1] = p1;
		pthread_create(&th[i], NULL, append_worker, &w[i]);
	}
	int fails = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].fails;
	}
	is(fails, 0, "concurrent appends all succeed");
	static int64_t all[THREADS * PER_THREAD / 2];
	size_t n = 0;
	for (int i = 0; i < THREADS; i++)
		for (int j = 0; j < PER_THREAD; j += 2)
			all[n++] = w[i].offs[j];
	qsort(all, n, sizeof all[0], cmp64);
	bool dense = true;
	for (size_t i = 0; i < n; i++)
		if (all[i] != (int64_t)i * 30)
			dense = false;
	ok(dense, "offsets in one partition are unique and dense");
	int64_t f;
	store_partition_flush(p0, &f, err, sizeof err);
	is(f, (int64_t)n * 30, "flushed end is every record");
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.appends, THREADS * PER_THREAD, "stats count the appends");
	store_close(st);
}

static void test_round_robin(void)
{
	char err[STORE_ERR_BYTES];
	struct store *st = tsu_open(dir, 4096, NULL, err);
	int seen[3] = { 0 };
	for (int i = 0; i < 9; i++)
		seen[store_pick_partition(st, "rr", 2, 3)]++;
	ok(seen[0] == 3 && seen[1] == 3 && seen[2] == 3, "partition -1 goes round robin");
	is(store_pick_partition(st, "rr", 2, 1), 0, "one partition: always 0");
	store_close(st);
}

int main(void)
{
	tsu_mkdtemp(dir, sizeof dir, "store");
	test_append_read_roll();
	test_concurrent();
	test_round_robin();
	tsu_rmrf(dir);
	return done_testing();
}
