/*
 * offsets.c - committed offsets: `commit` (put pool), `committed` (get
 * pool), their lag for `stats groups`, and their log,
 * DATA_DIR/committed-offsets.log (format: doc/store-format.md).
 *
 * The log is append-only: every commit appends one record with a CRC, so a
 * torn write can only cut the newest record, never the value before it.
 * Start-up replays it, cuts a torn or corrupt tail, and rewrites it
 * compacted (one record per live offset) when it holds many dead ones; so
 * does a commit when the log grows past OFF_COMPACT_FACTOR times the live
 * count. flush_mode = sync: a commit is answered after an fdatasync that
 * covers its record; concurrent commits share one (a leader syncs for all
 * who appended before it started). async: answered once written; the tick
 * syncs at least every flush_interval_ms.
 *
 * Retention: once a second the tick removes offsets whose group has no
 * member and whose last commit is offset_retention_ms old (a tombstone
 * record makes the removal survive a restart).
 *
 * Lock order: off.lock, then the clients' lock (clients_group_has_members);
 * clients.c never calls in here holding its own.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actors/clock.h"
#include "server/broker/broker.h"
#include "server/broker/clients.h"
#include "server/broker/store_service.h"
#include "server/common/log.h"
#include "server/runtime/request.h"
#include "server/runtime/runtime.h"

#define OFF_LOG_NAME "committed-offsets.log"
#define OFF_TMP_NAME "committed-offsets.log.tmp"
#define OFF_TICK_MS 1000
#define OFF_HEAD_BYTES 8                                      /* len u32, crc u32 */
#define OFF_FIXED_BYTES 22                                    /* offset, ms, partition, two lengths */
#define OFF_MAX_RECORD (OFF_FIXED_BYTES + 2 * PMQ_TOPIC_MAX_BYTES)
#define OFF_COMPACT_FACTOR 4
#define OFF_COMPACT_MIN 4096                                  /* records before compaction pays */
#define OFF_TOMBSTONE (-1)
#define OFF_HASH_MIN 64

struct off_entry {
	struct off_entry *next;
	uint64_t hash;
	int64_t offset;
	int64_t commit_ms; /* wall clock, for retention across restarts */
	int32_t partition;
	uint8_t glen, tlen;
	char group[PMQ_TOPIC_MAX_BYTES + 1];
	char topic[PMQ_TOPIC_MAX_BYTES + 1];
};

static struct {
	const struct settings *cfg;
	pthread_mutex_t lock;
	pthread_cond_t synced_cv;
	struct off_entry **b;
	size_t nb, n;
	int fd, dirfd;
	uint64_t records;       /* in the log file now */
	uint64_t written_seq;   /* records appended since start */
	uint64_t synced_seq;    /* covered by an fdatasync */
	bool syncing, dirty, sync_failed;
	int64_t last_sync_ms;
	atomic_uint_fast64_t commits, expired, fsyncs;
	bool started;
} off = { .lock = PTHREAD_MUTEX_INITIALIZER, .synced_cv = PTHREAD_COND_INITIALIZER,
	  .fd = -1, .dirfd = -1 };

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t key_hash(const char *g, size_t gl, const char *t, size_t tl, int32_t p)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < gl; i++)
		h = (h ^ (unsigned char)g[i]) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (size_t i = 0; i < tl; i++)
		h = (h ^ (unsigned char)t[i]) * 1099511628211ULL;
	return (h ^ (uint32_t)p) * 1099511628211ULL;
}

static struct off_entry *entry_find(const char *g, size_t gl, const char *t, size_t tl,
                                    int32_t p, uint64_t *hash)
{
	*hash = key_hash(g, gl, t, tl, p);
	if (!off.nb)
		return NULL;
	for (struct off_entry *e = off.b[*hash & (off.nb - 1)]; e; e = e->next)
		if (e->hash == *hash && e->partition == p && e->glen == gl && e->tlen == tl &&
		    memcmp(e->group, g, gl) == 0 && memcmp(e->topic, t, tl) == 0)
			return e;
	return NULL;
}

static int table_grow(void)
{
	size_t nb = off.nb ? off.nb * 2 : OFF_HASH_MIN;
	struct off_entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < off.nb; i++)
		for (struct off_entry *e = off.b[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(off.b);
	off.b = b;
	off.nb = nb;
	return 0;
}

/* Sets (or, offset OFF_TOMBSTONE, removes) one offset in the table. */
static int table_set(const char *g, size_t gl, const char *t, size_t tl, int32_t p,
                     int64_t offset, int64_t ms)
{
	uint64_t hash;
	struct off_entry *e = entry_find(g, gl, t, tl, p, &hash);

	if (offset == OFF_TOMBSTONE) {
		if (!e)
			return 0;
		for (struct off_entry **pp = &off.b[hash & (off.nb - 1)]; *pp; pp = &(*pp)->next)
			if (*pp == e) {
				*pp = e->next;
				break;
			}
		off.n--;
		free(e);
		return 0;
	}
	if (!e) {
		if (off.n + 1 > off.nb && table_grow())
			return -ENOMEM;
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->hash = hash;
		e->partition = p;
		memcpy(e->group, g, gl);
		e->glen = (uint8_t)gl;
		memcpy(e->topic, t, tl);
		e->tlen = (uint8_t)tl;
		e->next = off.b[hash & (off.nb - 1)];
		off.b[hash & (off.nb - 1)] = e;
		off.n++;
	}
	e->offset = offset;
	e->commit_ms = ms;
	return 0;
}

/* ---- the log ---------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* One record into buf (OFF_HEAD_BYTES + OFF_MAX_RECORD); its length. */
static size_t record_encode(unsigned char *buf, const char *g, size_t gl, const char *t,
                            size_t tl, int32_t p, int64_t offset, int64_t ms)
{
	unsigned char *r = buf + OFF_HEAD_BYTES;
	size_t len = OFF_FIXED_BYTES + gl + tl;

	put_u64(r, (uint64_t)offset);
	put_u64(r + 8, (uint64_t)ms);
	put_u32(r + 16, (uint32_t)p);
	r[20] = (unsigned char)gl;
	r[21] = (unsigned char)tl;
	memcpy(r + OFF_FIXED_BYTES, g, gl);
	memcpy(r + OFF_FIXED_BYTES + gl, t, tl);
	put_u32(buf, (uint32_t)len);
	put_u32(buf + 4, (uint32_t)pmq_checksum(r, len));
	return OFF_HEAD_BYTES + len;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Replays the log into the table: the bytes of whole valid records, or
 * -errno. A record that is cut short, too long or fails its CRC ends it. */
static int64_t offlog_replay(int fd, uint64_t *records, int64_t *size)
{
	unsigned char head[OFF_HEAD_BYTES], r[OFF_MAX_RECORD];
	int64_t good = 0;
	struct stat sb;

	if (fstat(fd, &sb) != 0)
		return -errno;
	*size = sb.st_size;
	*records = 0;
	for (;;) {
		ssize_t n = pread(fd, head, sizeof head, good);
		if (n != (ssize_t)sizeof head)
			break;
		uint32_t len = get_u32(head);
		if (len < OFF_FIXED_BYTES || len > OFF_MAX_RECORD)
			break;
		if (pread(fd, r, len, good + OFF_HEAD_BYTES) != (ssize_t)len ||
		    (uint32_t)pmq_checksum(r, len) != get_u32(head + 4))
			break;
		size_t gl = r[20], tl = r[21];
		if (OFF_FIXED_BYTES + gl + tl != len)
			break;
		if (table_set((const char *)r + OFF_FIXED_BYTES, gl,
		              (const char *)r + OFF_FIXED_BYTES + gl, tl, (int32_t)get_u32(r + 16),
		              (int64_t)get_u64(r), (int64_t)get_u64(r + 8)))
			return -ENOMEM;
		good += OFF_HEAD_BYTES + len;
		++*records;
	}
	return good;
}

/* Rewrites the log with one record per live offset: tmp, fsync, rename,
 * fsync the directory. Under off.lock (or before start). */
static int offlog_compact(void)
{
	unsigned char buf[OFF_HEAD_BYTES + OFF_MAX_RECORD];
	int fd = openat(off.dirfd, OFF_TMP_NAME, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < off.nb && rc == 0; i++)
		for (struct off_entry *e = off.b[i]; e && rc == 0; e = e->next) {
			size_t n = record_encode(buf, e->group, e->glen, e->topic, e->tlen,
			                         e->partition, e->offset, e->commit_ms);
			rc = write_all(fd, buf, n);
		}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (rc == 0 && renameat(off.dirfd, OFF_TMP_NAME, off.dirfd, OFF_LOG_NAME) != 0)
		rc = -errno;
	if (rc == 0 && fsync(off.dirfd) != 0)
		rc = -errno;
	if (rc != 0) {
		close(fd);
		unlinkat(off.dirfd, OFF_TMP_NAME, 0);
		return rc;
	}
	if (off.fd >= 0)
		close(off.fd);
	off.fd = fd;
	off.records = off.n;
	off.synced_seq = off.written_seq; /* the new file is all synced */
	off.dirty = false;
	atomic_fetch_add(&off.fsyncs, 1);
	return 0;
}

static int offlog_open(const struct settings *cfg)
{
	uint64_t records;
	int64_t size;

	off.dirfd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (off.dirfd < 0)
		return -errno;
	off.fd = openat(off.dirfd, OFF_LOG_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (off.fd < 0)
		return -errno;
	int64_t good = offlog_replay(off.fd, &records, &size);
	if (good < 0)
		return (int)good;
	if (good < size) {
		pmq_log(PMQ_LOG_WARN, "offsets: %s/%s: cut a torn or corrupt tail of %" PRId64
		        " bytes after %" PRIu64 " valid records", cfg->data_dir, OFF_LOG_NAME,
		        size - good, records);
		if (ftruncate(off.fd, good) != 0 || fsync(off.fd) != 0)
			return -errno;
	}
	off.records = records;
	if (records > OFF_COMPACT_MIN && records > OFF_COMPACT_FACTOR * off.n) {
		int rc = offlog_compact();
		if (rc != 0)
			return rc;
	}
	if (lseek(off.fd, 0, SEEK_END) < 0)
		return -errno;
	pmq_log(PMQ_LOG_INFO, "offsets: %zu committed offsets from %s/%s", off.n, cfg->data_dir,
	        OFF_LOG_NAME);
	return 0;
}

/* Under off.lock: appends one record; its sequence number in *seq. */
static int offlog_append(const char *g, size_t gl, const char *t, size_t tl, int32_t p,
                      int64_t offset, int64_t ms, uint64_t *seq)
{
	unsigned char buf[OFF_HEAD_BYTES + OFF_MAX_RECORD];
	size_t n = record_encode(buf, g, gl, t, tl, p, offset, ms);
	off_t at = lseek(off.fd, 0, SEEK_CUR);
	int rc = write_all(off.fd, buf, n);

	if (rc != 0) {
		/* a partial record would hide every later one: cut it */
		if (at >= 0 && ftruncate(off.fd, at) == 0)
			lseek(off.fd, at, SEEK_SET);
		return rc;
	}
	off.records++;
	off.dirty = true;
	*seq = ++off.written_seq;
	return 0;
}

/* Under off.lock, which it drops while it syncs: returns once an fdatasync
 * covers seq; 0 or -EIO. Whoever finds no sync running leads one for
 * everything written so far; the others wait for it. */
static int offlog_sync_to(uint64_t seq)
{
	while (off.synced_seq < seq) {
		if (off.syncing) {
			pthread_cond_wait(&off.synced_cv, &off.lock);
			continue;
		}
		uint64_t upto = off.written_seq;
		int fd = off.fd;
		off.syncing = true;
		pthread_mutex_unlock(&off.lock);
		int rc = fdatasync(fd);
		pthread_mutex_lock(&off.lock);
		off.syncing = false;
		atomic_fetch_add(&off.fsyncs, 1);
		pthread_cond_broadcast(&off.synced_cv);
		if (rc != 0) {
			off.sync_failed = true;
			return -EIO;
		}
		if (upto > off.synced_seq)
			off.synced_seq = upto;
		off.dirty = off.synced_seq < off.written_seq;
		off.last_sync_ms = (int64_t)clock_now_ms();
	}
	return off.sync_failed ? -EIO : 0;
}

/* ---- processors ---------------------------------------------------------------- */

static int partition_end(const struct pmq_msg *m, int64_t *end)
{
	struct store_partition *p = store_partition_find(store_svc.st, m->topic.ptr, m->topic.len,
	                                                 m->partition);
	struct store_partition_info in;

	if (!p)
		return -ENOENT;
	store_partition_info(p, &in);
	*end = in.end;
	return 0;
}

static void proc_commit(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	int64_t end;
	uint64_t seq = 0;
	int rc;

	(void)ctx;
	if (partition_end(m, &end) != 0) {
		request_reply_resultf(req, 404, "no partition %.*s-%d", (int)m->topic.len,
		                      m->topic.ptr, (int)m->partition);
		return;
	}
	if (m->offset > end) {
		request_reply_resultf(req, 400, "offset %" PRId64 " is past the end %" PRId64
		                      " of %.*s-%d", m->offset, end, (int)m->topic.len, m->topic.ptr,
		                      (int)m->partition);
		return;
	}
	int64_t ms = wall_ms();
	pthread_mutex_lock(&off.lock);
	rc = off.sync_failed ? -EIO : 0;
	if (rc == 0)
		rc = offlog_append(m->group.ptr, m->group.len, m->topic.ptr, m->topic.len, m->partition,
		                m->offset, ms, &seq);
	if (rc == 0)
		rc = table_set(m->group.ptr, m->group.len, m->topic.ptr, m->topic.len, m->partition,
		               m->offset, ms);
	if (rc == 0 && off.cfg->flush_mode == PMQ_FLUSH_SYNC)
		rc = offlog_sync_to(seq);
	if (rc == 0 && off.records > OFF_COMPACT_MIN && off.records > OFF_COMPACT_FACTOR * off.n &&
	    !off.syncing && offlog_compact() != 0)
		pmq_log(PMQ_LOG_WARN, "offsets: compaction failed; the log keeps growing");
	pthread_mutex_unlock(&off.lock);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "offsets: commit of %.*s %.*s-%d not stored: %s",
		        (int)m->group.len, m->group.ptr, (int)m->topic.len, m->topic.ptr,
		        (int)m->partition, strerror(-rc));
		request_reply_resultf(req, 500, "commit not stored: %s", strerror(-rc));
		return;
	}
	atomic_fetch_add(&off.commits, 1);
	request_reply_result(req, 200, NULL, 0);
}

static void proc_committed(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	char body[24];
	uint64_t hash;
	int n = -1;

	(void)ctx;
	pthread_mutex_lock(&off.lock);
	struct off_entry *e = entry_find(m->group.ptr, m->group.len, m->topic.ptr, m->topic.len,
	                                 m->partition, &hash);
	if (e)
		n = snprintf(body, sizeof body, "%" PRId64, e->offset);
	pthread_mutex_unlock(&off.lock);
	if (n < 0)
		request_reply_resultf(req, 404, "no committed offset of group %.*s for %.*s-%d",
		                      (int)m->group.len, m->group.ptr, (int)m->topic.len,
		                      m->topic.ptr, (int)m->partition);
	else
		request_reply_result(req, 200, body, (size_t)n);
}

/* ---- the tick: async sync, retention ------------------------------------------------ */

static void retention(int64_t now_wall)
{
	int64_t keep = off.cfg->offset_retention_ms;
	uint64_t seq;

	for (size_t i = 0; i < off.nb; i++)
		for (struct off_entry *e = off.b[i], *next; e; e = next) {
			next = e->next;
			if (now_wall - e->commit_ms < keep ||
			    clients_group_has_members(e->group, e->glen))
				continue;
			pmq_log(PMQ_LOG_INFO, "offsets: group %s has had no member and no commit "
			        "for %" PRId64 " ms: its offset of %s-%d removed", e->group, keep,
			        e->topic, (int)e->partition);
			if (offlog_append(e->group, e->glen, e->topic, e->tlen, e->partition,
			               OFF_TOMBSTONE, now_wall, &seq) != 0)
				return; /* kept: retried next tick */
			atomic_fetch_add(&off.expired, 1);
			table_set(e->group, e->glen, e->topic, e->tlen, e->partition, OFF_TOMBSTONE, 0);
		}
}

static void tick(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&off.lock);
	retention(wall_ms());
	if (off.dirty && !off.syncing &&
	    (int64_t)clock_now_ms() - off.last_sync_ms >= off.cfg->flush_interval_ms)
		offlog_sync_to(off.written_seq);
	pthread_mutex_unlock(&off.lock);
}

/* ---- listings, figures, life ------------------------------------------------------------ */

static int entry_cmp(const void *a, const void *b)
{
	const struct off_entry *x = *(struct off_entry *const *)a;
	const struct off_entry *y = *(struct off_entry *const *)b;
	int c = strcmp(x->group, y->group);
	if (!c)
		c = strcmp(x->topic, y->topic);
	return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void offsets_render(struct sbuf *b, unsigned *room, uint64_t *more)
{
	pthread_mutex_lock(&off.lock);
	struct off_entry **v = malloc((off.n ? off.n : 1) * sizeof(*v));
	size_t k = 0;
	if (!v) {
		pthread_mutex_unlock(&off.lock);
		b->failed = true;
		return;
	}
	for (size_t i = 0; i < off.nb; i++)
		for (struct off_entry *e = off.b[i]; e; e = e->next)
			v[k++] = e;
	qsort(v, k, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < k; i++) {
		const struct off_entry *e = v[i];
		struct pmq_msg m = { .topic = { e->topic, e->tlen }, .partition = e->partition };
		int64_t end = -1;
		if (*room == 0) {
			++*more;
			continue;
		}
		--*room;
		partition_end(&m, &end);
		sbuf_printf(b, "%s %s %d committed=%" PRId64 " end=%" PRId64 " lag=%" PRId64 "\r\n",
		            e->group, e->topic, (int)e->partition, e->offset, end,
		            end > e->offset ? end - e->offset : 0);
	}
	pthread_mutex_unlock(&off.lock);
	free(v);
}

void broker_lag_each(void (*fn)(const char *group, const char *topic, int32_t partition,
                                int64_t committed, int64_t end, int64_t lag, void *ctx),
                     void *ctx)
{
	unsigned room = (unsigned)off.cfg->stats_max_lines;

	pthread_mutex_lock(&off.lock);
	for (size_t i = 0; i < off.nb; i++)
		for (struct off_entry *e = off.b[i]; e && room; e = e->next, room--) {
			struct pmq_msg m = { .topic = { e->topic, e->tlen }, .partition = e->partition };
			int64_t end = -1;
			partition_end(&m, &end);
			fn(e->group, e->topic, e->partition, e->offset, end,
			   end > e->offset ? end - e->offset : 0, ctx);
		}
	pthread_mutex_unlock(&off.lock);
}

void offsets_figures(uint64_t v[SF_COUNT])
{
	v[SF_OFFSETS_COMMITS] = atomic_load(&off.commits);
	pthread_mutex_lock(&off.lock);
	v[SF_OFFSETS_STORED] = off.n;
	pthread_mutex_unlock(&off.lock);
	v[SF_OFFSETS_EXPIRED] = atomic_load(&off.expired);
	v[SF_OFFSETS_FSYNCS] = atomic_load(&off.fsyncs);
}

int offsets_start(const struct settings *cfg)
{
	int rc;

	off.cfg = cfg;
	rc = offlog_open(cfg);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "offsets: cannot open %s/%s: %s", cfg->data_dir, OFF_LOG_NAME,
		        strerror(-rc));
		offsets_stop();
		return rc;
	}
	rc = processor_register(PMQ_CMD_COMMIT, proc_commit, NULL);
	if (rc == 0)
		rc = processor_register(PMQ_CMD_COMMITTED, proc_committed, NULL);
	if (rc == 0)
		rc = runtime_every(OFF_TICK_MS, RT_POOL_PUT, tick, NULL);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "offsets: cannot register: %s", strerror(-rc));
		offsets_stop();
		return rc;
	}
	off.last_sync_ms = (int64_t)clock_now_ms();
	off.started = true;
	return 0;
}

void offsets_stop(void)
{
	if (off.fd >= 0) {
		if (off.dirty && fdatasync(off.fd) != 0)
			pmq_log(PMQ_LOG_ERROR, "offsets: last fsync failed: %s", strerror(errno));
		close(off.fd);
	}
	if (off.dirfd >= 0)
		close(off.dirfd);
	off.fd = off.dirfd = -1;
	for (size_t i = 0; i < off.nb; i++)
		for (struct off_entry *e = off.b[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(off.b);
	off.b = NULL;
	off.nb = off.n = 0;
	off.records = off.written_seq = off.synced_seq = 0;
	off.dirty = off.sync_failed = false;
	off.started = false;
}
