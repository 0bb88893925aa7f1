/*
 * partition.c - one partition's log: append under the append lock, flush
 * (fsync without it), read and offset lookups over its segments, retention.
 * Locks and their order: store_priv.h.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store/record.h"
#include "store/store_priv.h"

/* Appends of up to this many bytes are built in a stack buffer so that the
 * record goes out in one pwrite; bigger ones are allocated. */
#define APPEND_STACK_BYTES 4096

void segment_name(char out[STORE_SEGMENT_NAME_LEN + 1], int64_t start)
{
	snprintf(out, STORE_SEGMENT_NAME_LEN + 1, "%020" PRId64 ".meta", start);
}

struct store_segment *segment_new(struct store_partition *p, int64_t start)
{
	struct store_segment *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->part = p;
	s->start = start;
	s->fd = -1;
	s->refs = 1;
	segment_name(s->name, start);
	return s;
}

/* Called with the partition lock held (or by the only owner). */
void segment_unref(struct store_segment *s)
{
	if (--s->refs > 0)
		return;
	segment_close_fd(s);
	free(s);
}

static void path_join(char *out, size_t cap, const char *dir, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

void segment_path(const struct store_segment *s, char *out, size_t cap)
{
	path_join(out, cap, s->part->dir, s->name);
}

int segment_create(struct store_partition *p, int64_t start, struct store_segment **out,
                   char *err, size_t errlen)
{
	char name[STORE_SEGMENT_NAME_LEN + 1], path[4096];
	segment_name(name, start);
	path_join(path, sizeof path, p->dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		store_errf(err, errlen, e, "cannot create segment %s", path);
		return -e;
	}
	int rc = store_sync_dir(p->st, p->dir);
	if (rc != 0) {
		store_errf(err, errlen, -rc, "cannot sync directory %s", p->dir);
		unlink(path);
		close(fd);
		return rc;
	}
	*out = segment_new(p, start);
	if (!*out) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	segment_adopt_fd(*out, fd);
	return 0;
}

int partition_push_segment(struct store_partition *p, struct store_segment *s)
{
	if (p->nsegs == p->capsegs) {
		size_t cap = p->capsegs ? p->capsegs * 2 : 8;
		void *n = realloc(p->segs, cap * sizeof *p->segs);
		if (!n)
			return -ENOMEM;
		p->segs = n;
		p->capsegs = cap;
	}
	p->segs[p->nsegs++] = s;
	return 0;
}

struct store_partition *partition_new(struct store *st, const char *topic, int32_t id)
{
	struct store_partition *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	size_t dlen = strlen(st->data_dir) + strlen(topic) + 16;
	p->st = st;
	p->id = id;
	p->topic = strdup(topic);
	p->dir = malloc(dlen);
	if (!p->topic || !p->dir) {
		free(p->topic);
		free(p->dir);
		free(p);
		return NULL;
	}
	snprintf(p->dir, dlen, "%s/%s-%" PRId32, st->data_dir, topic, id);
	p->segment_bytes = st->topic_segment_bytes
		? st->topic_segment_bytes(st->topic_ctx, topic) : st->segment_bytes;
	if (p->segment_bytes <= 0)
		p->segment_bytes = st->segment_bytes;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->flush_lock, NULL);
	return p;
}

void partition_free(struct store_partition *p)
{
	if (!p)
		return;
	/* A clean close leaves the last file ending at its last record, as
	 * MetaQ expects; a crash leaves zeros that recovery cuts silently. */
	if (p->nsegs > 0) {
		struct store_segment *last = p->segs[p->nsegs - 1];
		char err[STORE_ERR_BYTES];
		int fd = last->reserved > last->size ? segment_pin(last, err, sizeof err) : -1;
		if (fd >= 0) {
			if (ftruncate(fd, (off_t)last->size) != 0) {
				/* nothing to do: the next start cuts the zeros */
			}
			segment_unpin(last);
		}
	}
	for (size_t i = 0; i < p->nsegs; i++)
		segment_unref(p->segs[i]);
	free(p->segs);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->flush_lock);
	free(p->topic);
	free(p->dir);
	free(p);
}

const char *store_partition_topic(const struct store_partition *p)
{
	return p->topic;
}

int32_t store_partition_id(const struct store_partition *p)
{
	return p->id;
}

/* Writes all of buf at off through the seam. 0 or -errno. */
static int write_all(struct store *st, int fd, const void *buf, size_t len, off_t off)
{
	const char *b = buf;
	while (len > 0) {
		ssize_t n = st->io.pwrite(fd, b, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* a regular file never takes zero bytes */
		b += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The file system cannot reserve: fall back to asking how much is free. */
static int reserve_by_statvfs(int fd, off_t len)
{
	struct statvfs sv;
	if (fstatvfs(fd, &sv) != 0)
		return -errno;
	if ((uint64_t)sv.f_bavail * sv.f_frsize < (uint64_t)len)
		return -ENOSPC;
	return 0;
}

/* How far ahead of s->size to reserve: as much as the segment holds, so
 * the steps double from STORE_RESERVE_MIN up to STORE_RESERVE_CHUNK, and
 * an idle topic's one message costs a page instead of a chunk. */
static int64_t reserve_step(const struct store_segment *s, int64_t need)
{
	int64_t step = s->size < STORE_RESERVE_MIN ? STORE_RESERVE_MIN : s->size;
	if (step > STORE_RESERVE_CHUNK)
		step = STORE_RESERVE_CHUNK;
	return need > step ? need : step;
}

/* Makes sure need more bytes fit after s->size: the file (fd, pinned) is
 * reserved (zero filled) up to s->reserved. Partition lock held. */
static int do_reserve(struct store_partition *p, struct store_segment *s, int fd,
                      int64_t need)
{
	if (s->size + need <= s->reserved)
		return 0;
	int64_t want = reserve_step(s, need);
	int64_t room = p->segment_bytes - s->size;
	if (want > room)
		want = room > need ? room : need; /* do not reserve past the roll point */
	int64_t from = s->reserved > s->size ? s->reserved : s->size;
	int64_t len = s->size + want - from;
	if (p->st->io.reserve(fd, (off_t)from, (off_t)len) != 0) {
		int e = errno;
		if (e != EOPNOTSUPP && e != ENOSYS)
			return -e;
		/* A reserve that cannot: check the free space instead; the
		 * record's own write then extends the file. */
		return reserve_by_statvfs(fd, (off_t)need);
	}
	s->reserved = from + len;
	return 0;
}

/* Starts a new segment at the end. The full one is made durable first so
 * that a crash can never leave it shorter than the next one's start says
 * (recovery would refuse the misaligned files). Partition lock held. */
/* Truncates the full segment to its records and syncs it. */
static int roll_seal(struct store_partition *p, struct store_segment *last, char *err,
                     size_t errlen)
{
	int fd = segment_pin(last, err, errlen);
	if (fd < 0)
		return fd;
	int rc = 0;
	/* Drop the unused reservation first: a full segment's file size is the
	 * end of its records, so the next one lines up after a crash too. */
	if (last->reserved > last->size) {
		if (ftruncate(fd, (off_t)last->size) != 0) {
			rc = -errno;
			store_errf(err, errlen, -rc, "cannot truncate %s/%s before rolling over",
			           p->dir, last->name);
			goto out;
		}
		last->reserved = last->size;
	}
	if (p->st->io.fsync(fd) != 0) {
		rc = -errno;
		atomic_fetch_add(&p->st->fsync_errors, 1);
		store_errf(err, errlen, -rc, "fsync of %s/%s before rolling over failed", p->dir,
		           last->name);
		p->failed = rc;
		goto out;
	}
	atomic_fetch_add(&p->st->fsyncs, 1);
out:
	segment_unpin(last);
	return rc;
}

static int do_roll(struct store_partition *p, char *err, size_t errlen)
{
	struct store_segment *last = p->segs[p->nsegs - 1], *s;
	int rc = roll_seal(p, last, err, errlen);
	if (rc != 0)
		return rc;
	rc = segment_create(p, p->written_end, &s, err, errlen);
	if (rc != 0)
		return rc;
	rc = partition_push_segment(p, s);
	if (rc != 0) {
		char path[4096];
		path_join(path, sizeof path, p->dir, s->name);
		unlink(path);
		segment_unref(s);
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return 0;
}

/* The last segment, ready to take total bytes: refused after a failed
 * flush, rolled over when full, its descriptor pinned and the space
 * reserved. Returns the descriptor (*out pinned; segment_unpin() after the
 * write) or -errno with err set. what names the bytes in the message.
 * Partition lock held. */
static int tail_open(struct store_partition *p, size_t total, const char *what,
                     struct store_segment **out, char *err, size_t errlen)
{
	if (p->failed) {
		snprintf(err, errlen, "partition %s-%d refuses writes since a flush failed (%s); "
		         "check the disk and restart the broker", p->topic, p->id,
		         strerror(-p->failed));
		return -EROFS;
	}
	struct store_segment *s = p->segs[p->nsegs - 1];
	if (s->size > 0 && s->size + (int64_t)total > p->segment_bytes) {
		int rc = do_roll(p, err, errlen);
		if (rc != 0)
			return rc;
		s = p->segs[p->nsegs - 1];
	}
	int fd = segment_pin(s, err, errlen);
	if (fd < 0)
		return fd;
	int rc = do_reserve(p, s, fd, (int64_t)total);
	if (rc != 0) {
		store_errf(err, errlen, -rc, "no space for a %zu-byte %s in %s/%s", total, what,
		           p->dir, s->name);
		segment_unpin(s);
		return rc;
	}
	*out = s;
	return fd;
}

/* Writes nrec records (total bytes) at the end of s and counts them.
 * Partition lock held. */
static int tail_write(struct store_partition *p, struct store_segment *s, int fd,
                      const unsigned char *rec, size_t total, size_t nrec, char *err,
                      size_t errlen)
{
	int rc = write_all(p->st, fd, rec, total, (off_t)s->size);
	if (rc != 0) {
		store_errf(err, errlen, -rc, "write to %s/%s failed", p->dir, s->name);
		/* Cut what may have reached the file; the next append writes at
		 * the same place anyway, and recovery would cut it by checksum. */
		if (ftruncate(fd, (off_t)s->size) == 0)
			s->reserved = s->size;
		return rc;
	}
	s->size += (int64_t)total;
	if (s->reserved < s->size)
		s->reserved = s->size; /* written past a statvfs-checked end */
	p->written_end += (int64_t)total;
	p->unflushed += nrec;
	p->appended += nrec;
	p->last_append_ms = store_wall_ms();
	atomic_fetch_add(&p->st->appends, nrec);
	atomic_fetch_add(&p->st->append_bytes, total);
	return 0;
}

int store_partition_append(struct store_partition *p, int32_t flag, const void *payload,
                           size_t len, struct store_append *out, char *err, size_t errlen)
{
	unsigned char stackbuf[APPEND_STACK_BYTES], *rec = stackbuf;
	size_t total = STORE_RECORD_HEADER + len;
	int rc;

	if (len > STORE_RECORD_MAX_PAYLOAD) {
		snprintf(err, errlen, "message of %zu bytes is too big for a record", len);
		atomic_fetch_add(&p->st->append_errors, 1);
		return -EMSGSIZE;
	}
	if (total > sizeof stackbuf) {
		rec = malloc(total);
		if (!rec) {
			snprintf(err, errlen, "out of memory for a %zu-byte record", total);
			atomic_fetch_add(&p->st->append_errors, 1);
			return -ENOMEM;
		}
	}
	memcpy(rec + STORE_RECORD_HEADER, payload, len);

	pthread_mutex_lock(&p->lock);
	struct store_segment *s;
	int fd = tail_open(p, total, "record", &s, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out_unlock;
	}
	out->msgid = msgid_next(&p->st->ids, msgid_now_ms());
	out->offset = p->written_end;
	out->end = p->written_end + (int64_t)total;
	store_record_header(rec, out->msgid, flag, payload, len);
	rc = tail_write(p, s, fd, rec, total, 1, err, errlen);
	segment_unpin(s);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		atomic_fetch_add(&p->st->append_errors, 1);
	if (rec != stackbuf)
		free(rec);
	return rc;
}

static int batch_build(const struct store_batch_msg *msgs, size_t n, unsigned char **out,
                       size_t *total, char *err, size_t errlen)
{
	size_t t = 0;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].len > STORE_RECORD_MAX_PAYLOAD ||
		    t + STORE_RECORD_HEADER + msgs[i].len > (size_t)INT32_MAX) {
			snprintf(err, errlen, "a batch of %zu messages is too big to append", n);
			return -EMSGSIZE;
		}
		t += STORE_RECORD_HEADER + msgs[i].len;
	}
	unsigned char *buf = malloc(t ? t : 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory for a %zu-byte batch", t);
		return -ENOMEM;
	}
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		store_record_header(buf + off, msgs[i].msgid, msgs[i].flag, msgs[i].payload,
		                    msgs[i].len);
		if (msgs[i].len)
			memcpy(buf + off + STORE_RECORD_HEADER, msgs[i].payload, msgs[i].len);
		off += STORE_RECORD_HEADER + msgs[i].len;
	}
	*out = buf;
	*total = t;
	return 0;
}

int store_partition_append_batch(struct store_partition *p,
                                 const struct store_batch_msg *msgs, size_t n,
                                 struct store_append *out, char *err, size_t errlen)
{
	unsigned char *rec;
	size_t total;
	int rc = batch_build(msgs, n, &rec, &total, err, errlen);
	if (rc != 0) {
		atomic_fetch_add(&p->st->append_errors, 1);
		return rc;
	}
	pthread_mutex_lock(&p->lock);
	struct store_segment *s;
	int fd = tail_open(p, total, "batch", &s, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out_unlock;
	}
	out->msgid = n ? msgs[0].msgid : 0;
	out->offset = p->written_end;
	out->end = p->written_end + (int64_t)total;
	rc = tail_write(p, s, fd, rec, total, n, err, errlen);
	segment_unpin(s);
out_unlock:
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		atomic_fetch_add(&p->st->append_errors, 1);
	free(rec);
	return rc;
}

int64_t store_next_msgid(struct store *st)
{
	return msgid_next(&st->ids, msgid_now_ms());
}

void store_seed_msgid(struct store *st, int64_t id)
{
	msgid_seed(&st->ids, id);
}

/* Segments a flush has to sync are those written since the last one; rolls
 * sync the full segment, so this is one or two. */
#define FLUSH_MAX_SEGS 8

int store_partition_flush(struct store_partition *p, int64_t *flushed, char *err,
                          size_t errlen)
{
	struct store_segment *segs[FLUSH_MAX_SEGS];
	size_t n = 0;
	int64_t target;
	int rc = 0;

	pthread_mutex_lock(&p->flush_lock);
	pthread_mutex_lock(&p->lock);
	target = p->written_end;
	if (p->failed) {
		rc = p->failed;
		snprintf(err, errlen, "partition %s-%d failed an earlier flush: %s", p->topic,
		         p->id, strerror(-rc));
		goto out_locked;
	}
	if (target == p->flushed_end)
		goto out_locked;
	/* From the newest segment back to the last one holding bytes past
	 * flushed_end. Only those: a segment that ends at flushed_end may be
	 * deleted by retention meanwhile, and its file is not there to open. */
	for (size_t i = p->nsegs; i-- > 0;) {
		struct store_segment *s = p->segs[i];
		if (n == FLUSH_MAX_SEGS || s->start + s->size <= p->flushed_end)
			break; /* older ones were synced when they rolled over */
		s->refs++;
		segs[n++] = s;
	}
	uint64_t msgs = p->unflushed;
	p->unflushed = 0;
	pthread_mutex_unlock(&p->lock);

	for (size_t i = 0; i < n && rc == 0; i++) {
		/* A segment that cannot be opened cannot be synced: that fails
		 * the flush like a failed fsync (below), so that no put answered
		 * 500 shows up later. The cache sheds idle descriptors before
		 * an open fails for want of them (files.c). */
		int fd = segment_pin(segs[i], err, errlen);
		if (fd < 0) {
			rc = fd;
			break;
		}
		if (p->st->io.fsync(fd) != 0) {
			rc = -errno;
			atomic_fetch_add(&p->st->fsync_errors, 1);
			store_errf(err, errlen, -rc, "fsync of %s/%s failed", p->dir, segs[i]->name);
		} else {
			atomic_fetch_add(&p->st->fsyncs, 1);
		}
		segment_unpin(segs[i]);
	}

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < n; i++)
		segment_unref(segs[i]);
	if (rc == 0) {
		p->flushed_end = target;
	} else {
		/* What the kernel kept after a failed fsync is unknown: refuse
		 * further writes, and try to cut the unflushed bytes so they do
		 * not reappear at the next start as if they had been stored. */
		p->failed = rc;
		p->unflushed += msgs;
		for (size_t i = p->nsegs; i-- > 0;) {
			struct store_segment *s = p->segs[i];
			if (s->start + s->size <= p->flushed_end)
				break;
			int64_t keep = p->flushed_end > s->start ? p->flushed_end - s->start : 0;
			char why[STORE_ERR_BYTES];
			int fd = segment_pin(s, why, sizeof why);
			if (fd < 0)
				continue; /* recovery cuts them by checksum, or keeps them */
			if (ftruncate(fd, (off_t)keep) == 0) {
				s->size = keep;
				s->reserved = keep;
			}
			segment_unpin(s);
		}
	}
out_locked:
	*flushed = p->flushed_end;
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&p->flush_lock);
	return rc;
}

uint64_t store_partition_unflushed(struct store_partition *p)
{
	pthread_mutex_lock(&p->lock);
	uint64_t n = p->unflushed;
	pthread_mutex_unlock(&p->lock);
	return n;
}

bool store_partition_dirty(struct store_partition *p)
{
	pthread_mutex_lock(&p->lock);
	bool d = p->written_end != p->flushed_end && !p->failed;
	pthread_mutex_unlock(&p->lock);
	return d;
}

void store_partition_bounds(struct store_partition *p, int64_t *first, int64_t *end)
{
	pthread_mutex_lock(&p->lock);
	*first = p->segs[0]->start;
	*end = p->flushed_end;
	pthread_mutex_unlock(&p->lock);
}

/* Index of the last segment whose start <= offset (offset >= first start).
 * Partition lock held. */
static size_t find_segment(const struct store_partition *p, int64_t offset)
{
	size_t lo = 0, hi = p->nsegs; /* answer in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->segs[mid]->start <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The record a read starts with must be one a client can decode: a
 * consumer handed a bad length waits at that offset forever, and one
 * handed a bad checksum cannot tell the broker's fault from the network's.
 * room: bytes from offset to the end of its segment. */
static int check_first_record(struct store_partition *p, int64_t offset, const void *buf,
                              size_t got, int64_t room, char *err, size_t errlen)
{
	struct store_record rec;
	enum store_record_check c = store_record_check_head(buf, got, (uint64_t)room, &rec);
	if (c == STORE_RECORD_VALID)
		return 0;
	snprintf(err, errlen, "corrupt record at offset %" PRId64 " in %s-%d: %s (or %" PRId64
	         " is not where a record starts); pulsemqd --scrub lists every bad record",
	         offset, p->topic, p->id, store_record_check_str(c), offset);
	atomic_fetch_add(&p->st->corrupt_reads, 1);
	if (atomic_exchange(&p->corrupt_noticed, offset + 1) != offset + 1)
		store_notice(p->st, "%s", err);
	return -EBADMSG;
}

/* The segment a read wanted was deleted by retention between finding it
 * and opening its file: the answer is what the read would get now, "before
 * the first segment". Anything else stays the open's error. */
static int read_expired(struct store_partition *p, struct store_segment *s, int64_t offset,
                        struct store_read *r, int rc)
{
	pthread_mutex_lock(&p->lock);
	segment_unref(s);
	if (offset < p->segs[0]->start) {
		r->status = STORE_READ_BEFORE;
		r->moved = p->segs[0]->start;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int store_partition_read(struct store_partition *p, int64_t offset, void *buf, size_t max,
                         struct store_read *r, char *err, size_t errlen)
{
	struct store_segment *s;
	int64_t avail;

	r->len = 0;
	r->moved = 0;
	pthread_mutex_lock(&p->lock);
	if (offset < p->segs[0]->start) {
		r->status = STORE_READ_BEFORE;
		r->moved = p->segs[0]->start;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	if (offset >= p->flushed_end) {
		r->status = STORE_READ_END;
		r->moved = p->flushed_end;
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	s = p->segs[find_segment(p, offset)];
	avail = s->start + s->size;
	if (avail > p->flushed_end)
		avail = p->flushed_end;
	avail -= offset;
	int64_t room = avail;
	if ((uint64_t)avail < max)
		max = (size_t)avail;
	s->refs++;
	pthread_mutex_unlock(&p->lock);

	int rc = 0;
	size_t got = 0;
	off_t pos = (off_t)(offset - s->start);
	int fd = segment_pin(s, err, errlen);
	if (fd < 0)
		rc = fd;
	if (rc == -ENOENT)
		return read_expired(p, s, offset, r, rc);
	while (rc == 0 && got < max) {
		ssize_t n = pread(fd, (char *)buf + got, max - got, pos + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			store_errf(err, errlen, -rc, "read of %s/%s failed", p->dir, s->name);
			break;
		}
		if (n == 0) {
			rc = -EIO;
			snprintf(err, errlen, "%s/%s is shorter than its records", p->dir, s->name);
			break;
		}
		got += (size_t)n;
	}
	if (fd >= 0)
		segment_unpin(s);

	pthread_mutex_lock(&p->lock);
	segment_unref(s);
	pthread_mutex_unlock(&p->lock);
	if (rc == 0)
		rc = check_first_record(p, offset, buf, got, room, err, errlen);
	if (rc == 0) {
		r->status = STORE_READ_OK;
		r->len = got;
		atomic_fetch_add(&p->st->reads, 1);
		atomic_fetch_add(&p->st->read_bytes, got);
	}
	return rc;
}

int store_partition_nearest(struct store_partition *p, int64_t offset, int64_t *out)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	int64_t first = p->segs[0]->start;
	if (p->flushed_end == first)
		rc = -ENOENT;
	else if (offset < first)
		*out = first;
	else if (offset >= p->flushed_end)
		*out = p->flushed_end;
	else
		*out = p->segs[find_segment(p, offset)]->start;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int store_partition_expire(struct store_partition *p, time_t cutoff, char *err, size_t errlen)
{
	int deleted = 0, rc = 0;
	char path[4096];

	pthread_mutex_lock(&p->lock);
	while (p->nsegs > 1) {
		struct store_segment *s = p->segs[0];
		struct stat sb;
		/* Only whole, durable segments: the last one is never a candidate. */
		if (s->start + s->size > p->flushed_end)
			break;
		/* By name: asking the cache for a descriptor would open every
		 * old segment once a minute. */
		path_join(path, sizeof path, p->dir, s->name);
		if (stat(path, &sb) != 0) {
			rc = -errno;
			store_errf(err, errlen, -rc, "cannot stat %s", path);
			break;
		}
		if (sb.st_mtime >= cutoff)
			break;
		if (unlink(path) != 0) {
			rc = -errno;
			store_errf(err, errlen, -rc, "cannot delete %s", path);
			break;
		}
		memmove(p->segs, p->segs + 1, (p->nsegs - 1) * sizeof *p->segs);
		p->nsegs--;
		segment_unref(s); /* readers still holding it keep the fd open */
		deleted++;
	}
	pthread_mutex_unlock(&p->lock);
	if (deleted > 0) {
		atomic_fetch_add(&p->st->segments_deleted, (uint64_t)deleted);
		store_sync_dir(p->st, p->dir);
	}
	return rc != 0 ? rc : deleted;
}
