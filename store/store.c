/*
 * store.c - the store as a whole: the data directory and its lock, the map
 * of topics to partitions, recovery of every partition at open.
 */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_priv.h"

#define STORE_LOCK_FILE "pulsemq.lock"

void store_notice(struct store *st, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (!st->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->notice(st->notice_ctx, msg);
}

int store_sync_dir(struct store *st, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = st->io.fsync(fd) != 0 ? -errno : 0;
	close(fd);
	return rc;
}

/* Same rule as the codec's pmq_topic_valid(), which store/ does not link. */
static bool topic_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > 255 || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static unsigned topic_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h % STORE_TOPIC_BUCKETS;
}

/* map_lock held (either mode). */
static struct store_topic *topic_lookup(struct store *st, const char *name, size_t len)
{
	for (struct store_topic *t = st->buckets[topic_hash(name, len)]; t; t = t->next)
		if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

/* map_lock held for writing. */
static struct store_topic *topic_get(struct store *st, const char *name, size_t len)
{
	struct store_topic *t = topic_lookup(st, name, len);
	if (t)
		return t;
	t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->name = strndup(name, len);
	if (!t->name) {
		free(t);
		return NULL;
	}
	unsigned b = topic_hash(name, len);
	t->next = st->buckets[b];
	st->buckets[b] = t;
	return t;
}

/* map_lock held for writing. */
static int topic_set_partition(struct store_topic *t, struct store_partition *p)
{
	if (p->id >= t->nparts) {
		int32_t n = p->id + 1;
		void *np = realloc(t->parts, (size_t)n * sizeof *t->parts);
		if (!np)
			return -ENOMEM;
		t->parts = np;
		for (int32_t i = t->nparts; i < n; i++)
			t->parts[i] = NULL;
		t->nparts = n;
	}
	t->parts[p->id] = p;
	atomic_fetch_add(&p->st->npartitions, 1);
	return 0;
}

/* "<topic>-<digits>" -> topic, partition. */
static bool parse_partition_dir(const char *name, char *topic, size_t cap, int32_t *id)
{
	const char *dash = strrchr(name, '-');
	if (!dash || dash == name || dash[1] == '\0')
		return false;
	size_t tlen = (size_t)(dash - name);
	if (tlen >= cap || !topic_name_ok(name, tlen))
		return false;
	int64_t v = 0;
	for (const char *c = dash + 1; *c; c++) {
		if (*c < '0' || *c > '9' || v > INT32_MAX / 10)
			return false;
		v = v * 10 + (*c - '0');
	}
	if (v > INT32_MAX)
		return false;
	memcpy(topic, name, tlen);
	topic[tlen] = '\0';
	*id = (int32_t)v;
	return true;
}

static int load_partitions(struct store *st, char *err, size_t errlen)
{
	DIR *d = opendir(st->data_dir);
	struct dirent *de;
	int rc = 0;
	if (!d) {
		rc = -errno;
		snprintf(err, errlen, "cannot open data directory %s: %s", st->data_dir,
		         strerror(-rc));
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		char topic[256];
		int32_t id;
		struct stat sb;
		if (!parse_partition_dir(de->d_name, topic, sizeof topic, &id))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		struct store_partition *p = partition_new(st, topic, id);
		struct store_topic *t = p ? topic_get(st, topic, strlen(topic)) : NULL;
		if (!t) {
			partition_free(p);
			rc = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			break;
		}
		rc = partition_recover(p, err, errlen);
		if (rc == 0)
			rc = topic_set_partition(t, p);
		if (rc != 0) {
			partition_free(p);
			break;
		}
	}
	closedir(d);
	return rc;
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *c = buf + 1; ; c++) {
		if (*c == '/' || *c == '\0') {
			char save = *c;
			*c = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				return -errno;
			*c = save;
			if (save == '\0')
				break;
		}
	}
	return 0;
}

int store_open(struct store **out, const struct store_options *o, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof *st);
	char path[4096];
	int rc;

	*out = NULL;
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	st->lock_fd = -1;
	st->data_dir = strdup(o->data_dir);
	st->broker_id = o->broker_id;
	st->segment_bytes = o->segment_bytes > 0 ? o->segment_bytes : (1LL << 30);
	st->topic_segment_bytes = o->topic_segment_bytes;
	st->topic_ctx = o->topic_ctx;
	st->notice = o->notice;
	st->notice_ctx = o->notice_ctx;
	st->io = o->io ? *o->io : store_io_default;
	msgid_init(&st->ids, o->broker_id);
	pthread_rwlock_init(&st->map_lock, NULL);
	if (!st->data_dir) {
		store_close(st);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}

	rc = mkdir_p(st->data_dir);
	if (rc != 0) {
		snprintf(err, errlen, "cannot create data directory %s: %s", st->data_dir,
		         strerror(-rc));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/%s", st->data_dir, STORE_LOCK_FILE);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open lock file %s: %s", path, strerror(-rc));
		goto fail;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = -errno;
		if (rc == -EWOULDBLOCK) {
			rc = -EBUSY;
			snprintf(err, errlen, "data directory %s is in use by another process "
			         "(%s is locked)", st->data_dir, path);
		} else {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(-rc));
		}
		goto fail;
	}
	rc = load_partitions(st, err, errlen);
	if (rc != 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (size_t b = 0; b < STORE_TOPIC_BUCKETS; b++) {
		struct store_topic *t = st->buckets[b], *next;
		for (; t; t = next) {
			next = t->next;
			for (int32_t i = 0; i < t->nparts; i++)
				partition_free(t->parts[i]);
			free(t->parts);
			free(t->name);
			free(t);
		}
	}
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	msgid_destroy(&st->ids);
	pthread_rwlock_destroy(&st->map_lock);
	free(st->data_dir);
	free(st);
}

void store_get_stats(struct store *st, struct store_stats *s)
{
	s->appends = atomic_load(&st->appends);
	s->append_bytes = atomic_load(&st->append_bytes);
	s->append_errors = atomic_load(&st->append_errors);
	s->fsyncs = atomic_load(&st->fsyncs);
	s->fsync_errors = atomic_load(&st->fsync_errors);
	s->reads = atomic_load(&st->reads);
	s->read_bytes = atomic_load(&st->read_bytes);
	s->truncated_bytes = atomic_load(&st->truncated_bytes);
	s->segments_deleted = atomic_load(&st->segments_deleted);
	s->partitions = atomic_load(&st->npartitions);
	s->segments = 0;
	pthread_rwlock_rdlock(&st->map_lock);
	for (size_t b = 0; b < STORE_TOPIC_BUCKETS; b++)
		for (struct store_topic *t = st->buckets[b]; t; t = t->next)
			for (int32_t i = 0; i < t->nparts; i++) {
				struct store_partition *p = t->parts[i];
				if (!p)
					continue;
				pthread_mutex_lock(&p->lock);
				s->segments += p->nsegs;
				pthread_mutex_unlock(&p->lock);
			}
	pthread_rwlock_unlock(&st->map_lock);
}

struct store_partition *store_partition_find(struct store *st, const char *topic, size_t len,
                                             int32_t partition)
{
	struct store_partition *p = NULL;
	pthread_rwlock_rdlock(&st->map_lock);
	struct store_topic *t = topic_lookup(st, topic, len);
	if (t && partition >= 0 && partition < t->nparts)
		p = t->parts[partition];
	pthread_rwlock_unlock(&st->map_lock);
	return p;
}

int store_partition_open(struct store *st, const char *topic, size_t len, int32_t partition,
                         struct store_partition **out, char *err, size_t errlen)
{
	struct store_partition *p = store_partition_find(st, topic, len, partition);
	char name[256];
	int rc = 0;

	if (p) {
		*out = p;
		return 0;
	}
	if (!topic_name_ok(topic, len) || partition < 0) {
		snprintf(err, errlen, "invalid topic or partition");
		return -EINVAL;
	}
	memcpy(name, topic, len);
	name[len] = '\0';

	pthread_rwlock_wrlock(&st->map_lock);
	struct store_topic *t = topic_get(st, topic, len);
	if (!t) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (partition < t->nparts && t->parts[partition]) {
		*out = t->parts[partition]; /* created meanwhile */
		goto out;
	}
	p = partition_new(st, name, partition);
	if (!p) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "cannot create partition directory %s: %s", p->dir,
		         strerror(-rc));
		goto out;
	}
	rc = store_sync_dir(st, st->data_dir);
	if (rc != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", st->data_dir, strerror(-rc));
		goto out;
	}
	rc = partition_recover(p, err, errlen);
	if (rc == 0)
		rc = topic_set_partition(t, p);
	if (rc != 0)
		goto out;
	*out = p;
	p = NULL;
out:
	pthread_rwlock_unlock(&st->map_lock);
	partition_free(p);
	return rc;
}

int32_t store_pick_partition(struct store *st, const char *topic, size_t len, int32_t n)
{
	unsigned v = 0;
	if (n <= 1)
		return 0;
	pthread_rwlock_rdlock(&st->map_lock);
	struct store_topic *t = topic_lookup(st, topic, len);
	if (t)
		v = atomic_fetch_add(&t->rr, 1);
	pthread_rwlock_unlock(&st->map_lock);
	if (!t) {
		pthread_rwlock_wrlock(&st->map_lock);
		t = topic_get(st, topic, len);
		if (t)
			v = atomic_fetch_add(&t->rr, 1);
		pthread_rwlock_unlock(&st->map_lock);
	}
	return (int32_t)(v % (unsigned)n);
}

void store_foreach_partition(struct store *st, void (*fn)(struct store_partition *p, void *ctx),
                             void *ctx)
{
	pthread_rwlock_rdlock(&st->map_lock);
	for (size_t b = 0; b < STORE_TOPIC_BUCKETS; b++)
		for (struct store_topic *t = st->buckets[b]; t; t = t->next)
			for (int32_t i = 0; i < t->nparts; i++)
				if (t->parts[i])
					fn(t->parts[i], ctx);
	pthread_rwlock_unlock(&st->map_lock);
}

int64_t store_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_partition_info(struct store_partition *p, struct store_partition_info *out)
{
	pthread_mutex_lock(&p->lock);
	out->first = p->segs[0]->start;
	out->end = p->flushed_end;
	out->appended = p->appended;
	out->last_append_ms = p->last_append_ms;
	pthread_mutex_unlock(&p->lock);
}
