/*
 * test_store_create.c - creating topics and partitions: a creation in
 * progress (held in a directory fsync through the io.h seam) blocks no get
 * or put on other partitions, and concurrent creators of one partition
 * agree; a failed creation leaves nothing in memory; topic names leave
 * room for "-<partition>"; max_topics is exact under concurrency and spares
 * configured topics; stray directories in the data directory are skipped.
 */
#include <config.h>

#include <malloc.h>
#include <pthread.h>
#include <time.h>

#include "tests/unit/test_store_util.h"

#define WAIT_MS 5000 /* only guards against hangs */

static char dir[PATH_MAX];

/* ---- an fsync seam that can hold or fail directory fsyncs ------------ */

static pthread_mutex_t hk = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cond = PTHREAD_COND_INITIALIZER;
static bool hold_next_dir;     /* the next directory fsync waits for release */
static bool held, released;
static int fail_dirs;          /* errno for every directory fsync (0: none) */
static int data_dir_syncs;     /* fsyncs of dir itself */

static bool is_data_dir(int fd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strcmp(path, dir) == 0;
}

static int h_fsync(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		pthread_mutex_lock(&hk);
		if (is_data_dir(fd))
			data_dir_syncs++;
		if (fail_dirs) {
			int e = fail_dirs;
			pthread_mutex_unlock(&hk);
			errno = e;
			return -1;
		}
		if (hold_next_dir) {
			hold_next_dir = false;
			held = true;
			pthread_cond_broadcast(&hk_cond);
			while (!released)
				pthread_cond_wait(&hk_cond, &hk);
		}
		pthread_mutex_unlock(&hk);
	}
	return store_io_default.fsync(fd);
}

/* The real calls, with fsync through h_fsync. */
static struct store_io hooked_io(void)
{
	struct store_io io = store_io_default;
	io.fsync = h_fsync;
	return io;
}

/* Waits (hk held) until *flag or the deadline; returns *flag. */
static bool wait_flag(bool *flag)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WAIT_MS / 1000;
	while (!*flag)
		if (pthread_cond_timedwait(&hk_cond, &hk, &dl) != 0)
			break;
	return *flag;
}

static struct store *open_with(const struct store_io *io, int64_t max_topics,
                               bool (*configured)(void *, const char *, size_t))
{
	char err[STORE_ERR_BYTES];
	struct store_options o = { .data_dir = dir, .broker_id = 7, .segment_bytes = 1 << 20,
	                           .notice = tsu_notice, .io = io, .max_topics = max_topics,
	                           .topic_configured = configured };
	struct store *st = NULL;
	if (store_open(&st, &o, err, sizeof err) != 0)
		bail_out("store_open: %s", err);
	return st;
}

static void fresh_dir(const char *tag)
{
	if (dir[0])
		tsu_rmrf(dir);
	tsu_mkdtemp(dir, sizeof dir, tag);
}

/* ---- a creation in progress blocks nobody else ------------------------ */

struct opener {
	struct store *st;
	const char *topic;
	struct store_partition *p;
	int rc;
	bool done;
	char err[STORE_ERR_BYTES];
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;
	o->rc = store_partition_open(o->st, o->topic, strlen(o->topic), 0, &o->p, o->err,
	                             sizeof o->err);
	pthread_mutex_lock(&hk);
	o->done = true;
	pthread_cond_broadcast(&hk_cond);
	pthread_mutex_unlock(&hk);
	return NULL;
}

struct other_work {
	struct store *st;
	bool read_ok, put_ok, created_ok, done;
};

/* What must go on while "b" is being created: a get and a put on "a",
 * and the creation of another topic. */
static void *other_thread(void *arg)
{
	struct other_work *w = arg;
	char err[STORE_ERR_BYTES], buf[64];
	struct store_read r;
	struct store_append a;
	struct store_partition *p = store_partition_find(w->st, "a", 1, 0), *q;
	w->read_ok = p && store_partition_read(p, 0, buf, sizeof buf, &r, err, sizeof err) == 0 &&
	             r.status == STORE_READ_OK && r.len == 23;
	w->put_ok = store_partition_open(w->st, "a", 1, 0, &q, err, sizeof err) == 0 && q == p &&
	            store_partition_append(p, 0, "two", 3, &a, err, sizeof err) == 0;
	w->created_ok = store_partition_open(w->st, "c", 1, 0, &q, err, sizeof err) == 0;
	pthread_mutex_lock(&hk);
	w->done = true;
	pthread_cond_broadcast(&hk_cond);
	pthread_mutex_unlock(&hk);
	return NULL;
}

static void test_creation_blocks_nobody(void)
{
	char err[STORE_ERR_BYTES];
	struct store_io io = hooked_io();
	struct store_partition *a;
	struct store_append ap;
	int64_t f;

	fresh_dir("create");
	struct store *st = open_with(&io, 0, NULL);
	if (store_partition_open(st, "a", 1, 0, &a, err, sizeof err) != 0 ||
	    store_partition_append(a, 0, "one", 3, &ap, err, sizeof err) != 0 ||
	    store_partition_flush(a, &f, err, sizeof err) != 0)
		bail_out("topic a: %s", err);

	struct opener b1 = { .st = st, .topic = "b" }, b2 = { .st = st, .topic = "b" };
	struct other_work w = { .st = st };
	pthread_t t1, t2, tw;
	pthread_mutex_lock(&hk);
	hold_next_dir = true;
	data_dir_syncs = 0;
	pthread_mutex_unlock(&hk);
	pthread_create(&t1, NULL, open_thread, &b1);
	pthread_mutex_lock(&hk);
	bool in_fsync = wait_flag(&held);
	pthread_mutex_unlock(&hk);
	ok(in_fsync, "the creation of b is held in its directory fsync");

	pthread_create(&t2, NULL, open_thread, &b2);
	pthread_create(&tw, NULL, other_thread, &w);
	pthread_mutex_lock(&hk);
	bool others = wait_flag(&w.done);
	bool b2_waits = !b2.done;
	pthread_mutex_unlock(&hk);
	ok(others, "meanwhile other threads get on, put to and create other topics");
	ok(w.read_ok, "a get of an existing partition");
	ok(w.put_ok, "a put to it");
	ok(w.created_ok, "the creation of another topic");
	ok(b2_waits, "a second creator of b waits for the first");

	pthread_mutex_lock(&hk);
	released = true;
	pthread_cond_broadcast(&hk_cond);
	pthread_mutex_unlock(&hk);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	pthread_join(tw, NULL);
	ok(b1.rc == 0 && b2.rc == 0 && b1.p && b1.p == b2.p,
	   "both creators of b get the same partition");
	is(data_dir_syncs, 2, "and it was created once (one data_dir fsync for b, one for c)");
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.topics, 3, "three topics");
	is(s.partitions, 3, "three partitions");
	store_close(st);
	released = false;
	held = false;
}

/* ---- a failed creation leaves nothing --------------------------------- */

#define LEAK_ROUNDS 2000
#define LEAK_BOUND (100 * 1024)

static void test_failed_creation_frees(void)
{
	char err[STORE_ERR_BYTES], name[256];
	struct store_io io = hooked_io();
	struct store_partition *p;

	fresh_dir("failcreate");
	struct store *st = open_with(&io, 3, NULL);
	fail_dirs = EIO;
	int rc = store_partition_open(st, "broken", 6, 0, &p, err, sizeof err);
	is(rc, -EIO, "a creation whose directory fsync fails fails");
	ok(strstr(err, "Input/output error") != NULL, "with the errno text: %s", err);

	/* Many failing names: nothing may stay behind (each leaked a topic). */
	size_t before = mallinfo2().uordblks;
	memset(name, 'l', 200);
	for (int i = 0; i < LEAK_ROUNDS; i++) {
		int n = snprintf(name + 200, sizeof name - 200, "%d", i);
		store_partition_open(st, name, 200 + (size_t)n, 0, &p, err, sizeof err);
	}
	size_t after = mallinfo2().uordblks;
	/* A sanitizer's allocator leaves mallinfo2 at zero: nothing to see. */
	ok(after < before + LEAK_BOUND, "%d failed creations keep no memory (%zu bytes more)",
	   LEAK_ROUNDS, after > before ? after - before : 0);
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.topics, 0, "and no topic");
	is(s.partitions, 0, "and no partition");

	fail_dirs = 0;
	is(store_partition_open(st, "broken", 6, 0, &p, err, sizeof err), 0,
	   "the same creation works once the disk does");
	/* Failed creations took no place under max_topics = 3. */
	ok(store_partition_open(st, "x1", 2, 0, &p, err, sizeof err) == 0 &&
	   store_partition_open(st, "x2", 2, 0, &p, err, sizeof err) == 0,
	   "failed creations did not use up max_topics");
	store_close(st);
}

/* ---- names and partitions --------------------------------------------- */

static void test_names(void)
{
	char err[STORE_ERR_BYTES], name[300];
	struct store_partition *p;

	fresh_dir("names");
	struct store *st = tsu_open(dir, 1 << 20, NULL, err);
	memset(name, 'n', sizeof name);
	is(store_partition_open(st, name, STORE_TOPIC_MAX_BYTES, STORE_PARTITIONS_MAX - 1, &p, err,
	                        sizeof err), 0, "a 250-byte topic, partition 1023 (a 255-byte name)");
	int rc = store_partition_open(st, name, STORE_TOPIC_MAX_BYTES + 1, 0, &p, err, sizeof err);
	is(rc, -EINVAL, "a 251-byte topic is refused");
	ok(strstr(err, "at most 250") != NULL, "saying the limit: %s", err);
	ok(strlen(err) < 300, "without repeating the whole name");
	is(store_partition_open(st, "ok", 2, STORE_PARTITIONS_MAX, &p, err, sizeof err), -EINVAL,
	   "partition 1024 is refused");
	ok(strstr(err, "0 to 1023") != NULL, "saying the range: %s", err);
	is(store_partition_open(st, "a/b", 3, 0, &p, err, sizeof err), -EINVAL,
	   "a name with a slash is refused");
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.topics, 1, "refused names leave no topic");
	store_close(st);
}

/* ---- max_topics ------------------------------------------------------- */

#define CAP 5
#define CAP_THREADS 8

static bool cfg_topic(void *ctx, const char *topic, size_t len)
{
	(void)ctx;
	return len >= 3 && memcmp(topic, "cfg", 3) == 0;
}

static pthread_barrier_t cap_barrier;

struct capper {
	struct store *st;
	char topic[16];
	int rc;
	char err[STORE_ERR_BYTES];
};

static void *cap_thread(void *arg)
{
	struct capper *c = arg;
	struct store_partition *p;
	pthread_barrier_wait(&cap_barrier);
	c->rc = store_partition_open(c->st, c->topic, strlen(c->topic), 0, &p, c->err,
	                             sizeof c->err);
	return NULL;
}

static void test_max_topics(void)
{
	char err[STORE_ERR_BYTES];
	struct store_partition *p;
	struct capper cs[CAP_THREADS];
	pthread_t th[CAP_THREADS];

	fresh_dir("cap");
	struct store *st = open_with(NULL, CAP, cfg_topic);
	pthread_barrier_init(&cap_barrier, NULL, CAP_THREADS);
	for (int i = 0; i < CAP_THREADS; i++) {
		cs[i].st = st;
		snprintf(cs[i].topic, sizeof cs[i].topic, "cap%d", i);
		pthread_create(&th[i], NULL, cap_thread, &cs[i]);
	}
	int created = 0, refused = 0;
	const char *why = "";
	for (int i = 0; i < CAP_THREADS; i++) {
		pthread_join(th[i], NULL);
		created += cs[i].rc == 0;
		if (cs[i].rc == -EDQUOT) {
			refused++;
			why = cs[i].err;
		}
	}
	pthread_barrier_destroy(&cap_barrier);
	is(created, CAP, "%d racing creators, max_topics = %d: exactly %d topics", CAP_THREADS,
	   CAP, CAP);
	is(refused, CAP_THREADS - CAP, "the others get -EDQUOT");
	ok(strstr(why, "max_topics = 5") != NULL, "naming the setting: %s", why);
	is(store_partition_open(st, "cfg-orders", 10, 0, &p, err, sizeof err), 0,
	   "a configured topic is created past the limit");
	int i = 0;
	while (cs[i].rc != 0)
		i++;
	is(store_partition_open(st, cs[i].topic, strlen(cs[i].topic), 1, &p, err, sizeof err), 0,
	   "another partition of an existing topic is no new topic");
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.topics, CAP + 1, "stats: topics");
	is(s.topics_refused, CAP_THREADS - CAP, "stats: topics_refused");
	store_close(st);

	/* More on disk than the limit: served, with a notice, none created. */
	tsu_notices = 0;
	st = open_with(NULL, 2, cfg_topic);
	ok(tsu_notices == 1 && strstr(tsu_last_notice, "more than max_topics = 2"),
	   "reopened with max_topics = 2: a notice: %s", tsu_last_notice);
	ok(store_partition_find(st, cs[i].topic, strlen(cs[i].topic), 1) != NULL,
	   "every topic is loaded");
	is(store_partition_open(st, "new", 3, 0, &p, err, sizeof err), -EDQUOT,
	   "and no new one is created");
	store_close(st);
}

/* ---- stray directories ------------------------------------------------ */

static void mkdir_in(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (mkdir(path, 0755) != 0)
		bail_out("mkdir %s: %s", path, strerror(errno));
}

static void test_stray_dirs(void)
{
	char err[STORE_ERR_BYTES], name[300];
	fresh_dir("stray");
	mkdir_in("ok-0");
	mkdir_in("ok-00");
	mkdir_in("ok-01");
	mkdir_in("big-50000000");
	mkdir_in("huge-2147483646");
	mkdir_in("past-99999999999999999999");
	mkdir_in("edge-1024");
	mkdir_in("edge-1023");
	mkdir_in("lost+found");
	mkdir_in("nodash");
	memset(name, 'l', 251);
	snprintf(name + 251, sizeof name - 251, "-0");
	mkdir_in(name);
	tsu_notices = 0;
	struct store *st = tsu_open(dir, 1 << 20, NULL, err);
	ok(st != NULL, "stray directories do not fail the open: %s", st ? "" : err);
	if (!st)
		return;
	struct store_stats s;
	store_get_stats(st, &s);
	is(s.partitions, 2, "ok-0 and edge-1023 are partitions");
	is(s.topics, 2, "of two topics");
	is(tsu_notices, 7, "one notice per skipped directory (lost+found and nodash are not ours)");
	ok(strstr(tsu_last_notice, "ignoring") && strstr(tsu_last_notice, "not a partition"),
	   "saying what: %s", tsu_last_notice);
	char seg[PATH_MAX + 64];
	snprintf(seg, sizeof seg, "%s/big-50000000/00000000000000000000.meta", dir);
	ok(tsu_file_size(seg) < 0, "nothing is created in a skipped directory");
	store_close(st);
}

int main(void)
{
	test_creation_blocks_nobody();
	test_failed_creation_frees();
	test_names();
	test_max_topics();
	test_stray_dirs();
	tsu_rmrf(dir);
	return done_testing();
}
