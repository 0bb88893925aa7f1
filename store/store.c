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
/* A notice names a partition directory and a file: room for both under
 * the longest data_dir. */
#define STORE_NOTICE_BYTES 4096
/* Characters of a refused topic name repeated in its error. */
#define TOPIC_ECHO_MAX 40

void store_notice(struct store *st, const char *fmt, ...)
{
	char msg[STORE_NOTICE_BYTES];
	va_list ap;
	if (!st->notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->notice(st->notice_ctx, msg);
}

void store_errf(char *err, size_t errlen, int e, const char *fmt, ...)
{
	char tail[160] = "";
	va_list ap;
	if (errlen == 0)
		return;
	int t = snprintf(tail, sizeof tail, ": %s", strerror(e));
	size_t tlen = t < 0 ? 0 : (size_t)t >= sizeof tail ? sizeof tail - 1 : (size_t)t;
	if (tlen + 4 >= errlen) {
		/* room for the errno text only */
		snprintf(err, errlen, "%s", tlen >= 2 ? tail + 2 : "");
		return;
	}
	size_t room = errlen - tlen; /* for the formatted part and its NUL */
	va_start(ap, fmt);
	int n = vsnprintf(err, room, fmt, ap);
	va_end(ap);
	size_t used = n < 0 ? 0 : (size_t)n;
	if (used >= room) {
		used = room - 1;
		memcpy(err + used - 3, "...", 3);
	}
	memcpy(err + used, tail, tlen + 1);
}

void store_err_shorten(char *err, size_t max)
{
	size_t len = strlen(err);
	if (max < 8 || len < max)
		return;
	/* A third for the start (what failed), the rest for the end (the
	 * file and the errno text). */
	size_t head = (max - 1) / 3, tail = max - 1 - head - 3;
	memcpy(err + head, "...", 3);
	memmove(err + head + 3, err + len - tail, tail + 1);
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

/* The codec's pmq_topic_valid() characters (store/ does not link it). */
static bool topic_chars_ok(const char *name, size_t len)
{
	if (len == 0 || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* A topic and partition the store can hold, or -EINVAL saying why. */
static int topic_check(const char *topic, size_t len, int32_t partition, char *err,
                       size_t errlen)
{
	int shown = len > TOPIC_ECHO_MAX ? TOPIC_ECHO_MAX : (int)len;
	const char *more = len > TOPIC_ECHO_MAX ? "..." : "";
	if (!topic_chars_ok(topic, len)) {
		snprintf(err, errlen, "invalid topic name `%.*s%s`: expected 1 to %d of "
		         "A-Z a-z 0-9 _ - . (not starting with '.')", shown, topic, more,
		         STORE_TOPIC_MAX_BYTES);
		return -EINVAL;
	}
	if (len > STORE_TOPIC_MAX_BYTES) {
		snprintf(err, errlen, "topic name `%.*s%s` of %zu bytes is too long: at most %d, "
		         "so that its directory <topic>-<partition> fits in a file name",
		         shown, topic, more, len, STORE_TOPIC_MAX_BYTES);
		return -EINVAL;
	}
	if (partition < 0 || partition >= STORE_PARTITIONS_MAX) {
		snprintf(err, errlen, "partition %" PRId32 " is out of range: partitions are "
		         "0 to %d", partition, STORE_PARTITIONS_MAX - 1);
		return -EINVAL;
	}
	return 0;
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

static bool topic_configured(struct store *st, const char *name, size_t len)
{
	return st->topic_configured && st->topic_configured(st->topic_ctx, name, len);
}

/* map_lock held for writing. */
static void topic_unlink(struct store *st, struct store_topic *t)
{
	struct store_topic **pp = &st->buckets[topic_hash(t->name, strlen(t->name))];
	while (*pp != t)
		pp = &(*pp)->next;
	*pp = t->next;
}

/* map_lock held for writing: t's slot for id, grown to hold it. */
static int topic_make_room(struct store_topic *t, int32_t id)
{
	if (id < t->nparts)
		return 0;
	int32_t n = id + 1; /* below STORE_PARTITIONS_MAX: a few KiB at most */
	void *np = realloc(t->parts, (size_t)n * sizeof *t->parts);
	if (!np)
		return -ENOMEM;
	t->parts = np;
	for (int32_t i = t->nparts; i < n; i++)
		t->parts[i] = NULL;
	t->nparts = n;
	return 0;
}

/*
 * Puts a recovered partition into the map, with its topic when that is
 * new (counted against max_topics unless configured). At run time the
 * caller holds create_lock, so the count and the list of creations agree.
 * 0, -ENOMEM, or -EEXIST when the slot is taken; err says which.
 */
static int map_insert(struct store *st, struct store_partition *p, char *err, size_t errlen)
{
	size_t len = strlen(p->topic);
	int rc = 0;
	pthread_rwlock_wrlock(&st->map_lock);
	struct store_topic *t = topic_lookup(st, p->topic, len);
	bool fresh = t == NULL;
	if (fresh) {
		t = calloc(1, sizeof *t);
		if (t && !(t->name = strdup(p->topic))) {
			free(t);
			t = NULL;
		}
		if (!t) {
			rc = -ENOMEM;
			goto out;
		}
		unsigned b = topic_hash(p->topic, len);
		t->next = st->buckets[b];
		st->buckets[b] = t;
		atomic_store(&t->rr, atomic_load(&st->rr_unknown[b]));
	}
	rc = topic_make_room(t, p->id);
	if (rc == 0 && t->parts[p->id])
		rc = -EEXIST;
	if (rc != 0) {
		if (fresh) {
			topic_unlink(st, t);
			free(t->parts);
			free(t->name);
			free(t);
		}
		goto out;
	}
	t->parts[p->id] = p;
	atomic_fetch_add(&st->npartitions, 1);
	if (fresh) {
		atomic_fetch_add(&st->ntopics, 1);
		if (!topic_configured(st, p->topic, len))
			st->ntopics_counted++;
	}
out:
	pthread_rwlock_unlock(&st->map_lock);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else if (rc == -EEXIST)
		snprintf(err, errlen, "partition %s-%" PRId32 " is already loaded", p->topic, p->id);
	return rc;
}

enum dir_kind {
	DIR_NOT_OURS,   /* not "<topic>-<digits>": someone else's, ignored silently */
	DIR_STRAY,      /* looks like a partition but is none we would create */
	DIR_PARTITION,
};

/*
 * "<topic>-<digits>" -> topic, partition. Only canonical names are
 * partitions: the partition number as we write it (no leading zeros, below
 * STORE_PARTITIONS_MAX) and a topic we could create. Anything else would
 * load the same partition twice ("dup-0", "dup-00"), size the topic's
 * array by a stray number ("big-50000000"), or fail the start.
 */
static enum dir_kind parse_partition_dir(const char *name, char *topic, size_t cap,
                                         int32_t *id, const char **why)
{
	const char *dash = strrchr(name, '-'), *digits = dash ? dash + 1 : NULL;
	if (!dash || dash == name || *digits == '\0')
		return DIR_NOT_OURS;
	size_t ndigits = strlen(digits), tlen = (size_t)(dash - name);
	for (size_t i = 0; i < ndigits; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return DIR_NOT_OURS;
	if (!topic_chars_ok(name, tlen))
		return DIR_NOT_OURS;
	if (tlen > STORE_TOPIC_MAX_BYTES || tlen >= cap) {
		*why = "its topic name is longer than the store allows";
		return DIR_STRAY;
	}
	if (ndigits > 1 && digits[0] == '0') {
		*why = "partition numbers are written without leading zeros";
		return DIR_STRAY;
	}
	int64_t v = 0;
	for (size_t i = 0; i < ndigits && v < STORE_PARTITIONS_MAX; i++)
		v = v * 10 + (digits[i] - '0');
	if (v >= STORE_PARTITIONS_MAX) {
		*why = "partition numbers are 0 to 1023";
		return DIR_STRAY;
	}
	memcpy(topic, name, tlen);
	topic[tlen] = '\0';
	*id = (int32_t)v;
	return DIR_PARTITION;
}

/* Recovers one partition directory found at start-up into the map. */
static int load_partition(struct store *st, const char *topic, int32_t id, char *err,
                          size_t errlen)
{
	struct store_partition *p = partition_new(st, topic, id);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = partition_recover(p, err, errlen);
	if (rc == 0)
		rc = map_insert(st, p, err, errlen);
	if (rc != 0)
		partition_free(p);
	return rc;
}

static int load_partitions(struct store *st, char *err, size_t errlen)
{
	DIR *d = opendir(st->data_dir);
	struct dirent *de;
	int rc = 0;
	if (!d) {
		rc = -errno;
		store_errf(err, errlen, -rc, "cannot open data directory %s", st->data_dir);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		char topic[STORE_TOPIC_MAX_BYTES + 1];
		const char *why = NULL;
		int32_t id;
		struct stat sb;
		enum dir_kind k = parse_partition_dir(de->d_name, topic, sizeof topic, &id, &why);
		if (k == DIR_NOT_OURS)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, 0) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		if (k == DIR_STRAY) {
			store_notice(st, "ignoring %s/%s: not a partition directory (%s); its files "
			             "are not served: move it away or rename it", st->data_dir,
			             de->d_name, why);
			continue;
		}
		rc = load_partition(st, topic, id, err, errlen);
		if (rc != 0)
			break;
	}
	closedir(d);
	if (rc == 0 && st->max_topics > 0 && st->ntopics_counted > (uint64_t)st->max_topics)
		store_notice(st, "%" PRIu64 " topics in %s are more than max_topics = %" PRId64
		             ": they are all served, but no new topic is created until there "
		             "are fewer", st->ntopics_counted, st->data_dir, st->max_topics);
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
	st->recovery = o->recovery;
	st->max_topics = o->max_topics;
	st->topic_configured = o->topic_configured;
	msgid_init(&st->ids, o->broker_id);
	pthread_rwlock_init(&st->map_lock, NULL);
	pthread_mutex_init(&st->create_lock, NULL);
	pthread_cond_init(&st->created, NULL);
	files_init(&st->files, o->max_open_files > 0 ? (size_t)o->max_open_files : 0);
	if (!st->data_dir) {
		store_close(st);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (strlen(st->data_dir) > STORE_DATA_DIR_MAX) {
		snprintf(err, errlen, "data directory path of %zu bytes is too long: at most %d",
		         strlen(st->data_dir), STORE_DATA_DIR_MAX);
		store_close(st);
		return -ENAMETOOLONG;
	}

	rc = mkdir_p(st->data_dir);
	if (rc != 0) {
		store_errf(err, errlen, -rc, "cannot create data directory %s", st->data_dir);
		goto fail;
	}
	snprintf(path, sizeof path, "%s/%s", st->data_dir, STORE_LOCK_FILE);
	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0) {
		rc = -errno;
		store_errf(err, errlen, -rc, "cannot open lock file %s", path);
		goto fail;
	}
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		rc = -errno;
		if (rc == -EWOULDBLOCK) {
			rc = -EBUSY;
			snprintf(err, errlen, "data directory %s is in use by another process "
			         "(%s is locked)", st->data_dir, path);
		} else {
			store_errf(err, errlen, -rc, "cannot lock %s", path);
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
	files_destroy(&st->files);
	msgid_destroy(&st->ids);
	pthread_cond_destroy(&st->created);
	pthread_mutex_destroy(&st->create_lock);
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
	s->corrupt_reads = atomic_load(&st->corrupt_reads);
	s->segments_deleted = atomic_load(&st->segments_deleted);
	s->partitions = atomic_load(&st->npartitions);
	s->topics = atomic_load(&st->ntopics);
	s->topics_refused = atomic_load(&st->topics_refused);
	s->file_opens = atomic_load(&st->files.opens);
	pthread_mutex_lock(&st->files.lock);
	s->open_files = st->files.open;
	s->max_open_files = st->files.max;
	pthread_mutex_unlock(&st->files.lock);
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

/* create_lock held. */
static struct store_creation *creation_find(struct store *st, const char *topic, size_t len,
                                            int32_t id)
{
	for (struct store_creation *c = st->creating; c; c = c->next)
		if (c->id == id && c->len == len && memcmp(c->topic, topic, len) == 0)
			return c;
	return NULL;
}

/* create_lock held: waits for another thread's creation of the partition
 * and shares its outcome (0: it is in the map now). */
static int creation_wait(struct store *st, struct store_creation *c, char *err, size_t errlen)
{
	c->waiters++;
	while (!c->done)
		pthread_cond_wait(&st->created, &st->create_lock);
	int rc = c->rc;
	if (rc != 0)
		snprintf(err, errlen, "%s", c->err);
	if (--c->waiters == 0) {
		free(c->topic);
		free(c);
	}
	return rc;
}

/*
 * create_lock held: may a creation of topic start? An existing topic, one
 * already being created, or a configured one, always; a new one only while
 * the counted topics plus the new ones being created are below max_topics.
 * *counted says whether this creation is one of those new ones.
 */
static int topic_admit(struct store *st, const char *topic, size_t len, bool *counted,
                       char *err, size_t errlen)
{
	*counted = false;
	if (st->max_topics <= 0)
		return 0;
	pthread_rwlock_rdlock(&st->map_lock);
	bool known = topic_lookup(st, topic, len) != NULL;
	pthread_rwlock_unlock(&st->map_lock);
	if (known || topic_configured(st, topic, len))
		return 0;
	uint64_t pending = 0;
	for (struct store_creation *c = st->creating; c; c = c->next) {
		if (c->len == len && memcmp(c->topic, topic, len) == 0)
			return 0;
		pending += c->new_topic;
	}
	if (st->ntopics_counted + pending >= (uint64_t)st->max_topics) {
		atomic_fetch_add(&st->topics_refused, 1);
		snprintf(err, errlen, "cannot create topic `%.*s`: this broker already holds %"
		         PRIu64 " topics, its limit (max_topics = %" PRId64 ")",
		         len > TOPIC_ECHO_MAX ? TOPIC_ECHO_MAX : (int)len, topic,
		         st->ntopics_counted + pending, st->max_topics);
		return -EDQUOT;
	}
	*counted = true;
	return 0;
}

/* create_lock held: registers a creation, so that later creators of the
 * same partition wait for it. NULL when out of memory. */
static struct store_creation *creation_start(struct store *st, const char *topic, size_t len,
                                             int32_t id, bool counted)
{
	struct store_creation *c = calloc(1, sizeof *c);
	if (!c || !(c->topic = strndup(topic, len))) {
		free(c);
		return NULL;
	}
	c->len = len;
	c->id = id;
	c->new_topic = counted;
	c->next = st->creating;
	st->creating = c;
	return c;
}

/* create_lock held: publishes the outcome, wakes the waiters. */
static void creation_finish(struct store *st, struct store_creation *c, int rc,
                            const char *err)
{
	struct store_creation **pp = &st->creating;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	/* Another creation of the same new topic still running now counts it. */
	if (rc != 0 && c->new_topic)
		for (struct store_creation *o = st->creating; o; o = o->next)
			if (o->len == c->len && memcmp(o->topic, c->topic, c->len) == 0) {
				o->new_topic = true;
				break;
			}
	c->done = true;
	c->rc = rc;
	if (rc != 0)
		snprintf(c->err, sizeof c->err, "%s", err);
	pthread_cond_broadcast(&st->created);
	if (c->waiters == 0) {
		free(c->topic);
		free(c);
	}
}

/* The slow part, with no lock held: directory, its name made durable, the
 * first segment (or what an earlier failed attempt left there). */
static int partition_create(struct store *st, const char *name, int32_t id,
                            struct store_partition **out, char *err, size_t errlen)
{
	struct store_partition *p = partition_new(st, name, id);
	int rc;
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (mkdir(p->dir, 0755) != 0 && errno != EEXIST) {
		rc = -errno;
		store_errf(err, errlen, -rc, "cannot create partition directory %s", p->dir);
		goto fail;
	}
	rc = store_sync_dir(st, st->data_dir);
	if (rc != 0) {
		store_errf(err, errlen, -rc, "cannot sync %s", st->data_dir);
		goto fail;
	}
	rc = partition_recover(p, err, errlen);
	if (rc != 0)
		goto fail;
	*out = p;
	return 0;
fail:
	partition_free(p);
	return rc;
}

int store_partition_open(struct store *st, const char *topic, size_t len, int32_t partition,
                         struct store_partition **out, char *err, size_t errlen)
{
	struct store_partition *p = store_partition_find(st, topic, len, partition);
	struct store_creation *c;
	char name[STORE_TOPIC_MAX_BYTES + 1];
	bool counted;
	int rc;

	if (p) {
		*out = p;
		return 0;
	}
	rc = topic_check(topic, len, partition, err, errlen);
	if (rc != 0)
		return rc;
	memcpy(name, topic, len);
	name[len] = '\0';

	pthread_mutex_lock(&st->create_lock);
	for (;;) {
		p = store_partition_find(st, topic, len, partition);
		if (p) {
			pthread_mutex_unlock(&st->create_lock);
			*out = p; /* created meanwhile */
			return 0;
		}
		c = creation_find(st, topic, len, partition);
		if (!c)
			break;
		rc = creation_wait(st, c, err, errlen);
		if (rc != 0) {
			pthread_mutex_unlock(&st->create_lock);
			return rc; /* the same answer as the creator's */
		}
	}
	rc = topic_admit(st, topic, len, &counted, err, errlen);
	c = rc == 0 ? creation_start(st, topic, len, partition, counted) : NULL;
	pthread_mutex_unlock(&st->create_lock);
	if (rc != 0)
		return rc;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}

	rc = partition_create(st, name, partition, &p, err, errlen);

	pthread_mutex_lock(&st->create_lock);
	if (rc == 0) {
		rc = map_insert(st, p, err, errlen);
		if (rc != 0)
			partition_free(p);
	}
	creation_finish(st, c, rc, err);
	pthread_mutex_unlock(&st->create_lock);
	if (rc == 0)
		*out = p;
	return rc;
}

int32_t store_pick_partition(struct store *st, const char *topic, size_t len, int32_t n)
{
	unsigned v;
	if (n <= 1)
		return 0;
	pthread_rwlock_rdlock(&st->map_lock);
	struct store_topic *t = topic_lookup(st, topic, len);
	/* A topic not created yet counts in its hash bucket's counter, which
	 * the topic takes over when created (map_insert): making an entry for
	 * it here would keep one for every name ever put to. */
	v = atomic_fetch_add(t ? &t->rr : &st->rr_unknown[topic_hash(topic, len)], 1);
	pthread_rwlock_unlock(&st->map_lock);
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
