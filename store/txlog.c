/* txlog.c - the transaction log's file: framing, replay, group commit,
 * rewrite (txlog.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/record.h"
#include "store/store_priv.h"
#include "store/txlog.h"

/* Replay reads the file in windows of this size. */
#define TXLOG_READ_BYTES (1u << 20)

struct txlog {
	pthread_mutex_t lock;
	pthread_cond_t synced_cond;
	struct store_io io;
	char *path;
	int fd;
	uint64_t end;          /* file bytes: the next record's offset */
	uint64_t seq_written;  /* bumped by every append */
	uint64_t seq_synced;   /* every record up to this one is durable */
	bool syncing, rewriting;
	int failed;            /* -errno of a failed fdatasync */
	bool cut_corrupt;      /* cut at a bad record even when good ones follow */
	struct txlog_stats st;
};

struct txlog_writer {
	struct txlog *l;
	int fd;
	uint64_t off;
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t record_crc(uint8_t type, const void *payload, size_t len)
{
	uint32_t c = store_crc32(0, &type, 1);
	return len ? store_crc32(c, payload, len) : c;
}

static int pwrite_all(const struct store_io *io, int fd, const void *buf, size_t len,
                      uint64_t off)
{
	const char *b = buf;
	while (len > 0) {
		ssize_t n = io->pwrite(fd, b, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* Header and payload in one write, so a crash tears at most this record. */
static int write_record(const struct store_io *io, int fd, uint64_t off, uint8_t type,
                        const void *payload, size_t len)
{
	unsigned char stackbuf[512], *buf = stackbuf;
	size_t total = TXLOG_RECORD_HEADER + len;
	if (len > TXLOG_RECORD_MAX)
		return -EMSGSIZE;
	if (total > sizeof stackbuf && !(buf = malloc(total)))
		return -ENOMEM;
	put32(buf, (uint32_t)len);
	put32(buf + 4, record_crc(type, payload, len));
	buf[8] = type;
	if (len)
		memcpy(buf + TXLOG_RECORD_HEADER, payload, len);
	int rc = pwrite_all(io, fd, buf, total, off);
	if (buf != stackbuf)
		free(buf);
	return rc;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)(got == len);
}

/* Whether a whole record with a good checksum starts at off. */
static bool valid_at(struct txlog *l, uint64_t off, uint64_t size)
{
	unsigned char head[TXLOG_RECORD_HEADER];
	if (off + TXLOG_RECORD_HEADER > size || read_at(l->fd, head, sizeof head, off) != 1)
		return false;
	size_t len = get32(head);
	if (len > TXLOG_RECORD_MAX || off + TXLOG_RECORD_HEADER + len > size)
		return false;
	void *buf = malloc(len ? len : 1);
	bool ok = buf && (len == 0 || read_at(l->fd, buf, len, off + TXLOG_RECORD_HEADER) == 1) &&
	          record_crc(head[8], buf, len) == get32(head + 4);
	free(buf);
	return ok;
}

/* Replays from the magic on; *valid = the end of the last good record. */
static int replay(struct txlog *l, uint64_t size, txlog_replay_fn *fn, void *ctx,
                  uint64_t *valid, char *err, size_t errlen)
{
	unsigned char head[TXLOG_RECORD_HEADER];
	uint64_t off = TXLOG_MAGIC_BYTES;
	void *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	while (off + TXLOG_RECORD_HEADER <= size) {
		if ((rc = read_at(l->fd, head, sizeof head, off)) <= 0)
			break;
		size_t len = get32(head);
		if (len > TXLOG_RECORD_MAX || off + TXLOG_RECORD_HEADER + len > size)
			break;
		if (len > cap) {
			void *nb = realloc(buf, len);
			if (!nb) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory replaying %s", l->path);
				break;
			}
			buf = nb;
			cap = len;
		}
		if (len && (rc = read_at(l->fd, buf, len, off + TXLOG_RECORD_HEADER)) <= 0)
			break;
		if (record_crc(head[8], buf, len) != get32(head + 4)) {
			uint64_t next = off + TXLOG_RECORD_HEADER + len;
			if (!l->cut_corrupt && valid_at(l, next, size)) {
				/* a whole bad record with a good one after it is no torn
				 * write: cutting would drop what follows */
				snprintf(err, errlen, "%s: the record at offset %llu is corrupt and "
				         "valid records follow it; refusing to cut them (move the "
				         "file away, or start once with recovery = truncate to cut "
				         "from there)", l->path, (unsigned long long)off);
				rc = -EUCLEAN;
			}
			break;
		}
		rc = fn(ctx, head[8], buf, len);
		if (rc != 0) {
			snprintf(err, errlen, "%s: record at offset %llu does not make sense (%s)",
			         l->path, (unsigned long long)off, strerror(-rc));
			break;
		}
		off += TXLOG_RECORD_HEADER + len;
	}
	if (rc < 0 && !err[0])
		store_errf(err, errlen, -rc, "cannot read %s", l->path);
	free(buf);
	*valid = off;
	return rc < 0 ? rc : 0;
}

static int open_file(struct txlog *l, char *err, size_t errlen, uint64_t *size)
{
	struct stat sb;
	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (l->fd < 0 || fstat(l->fd, &sb) != 0) {
		int e = errno;
		store_errf(err, errlen, e, "cannot open %s", l->path);
		return -e;
	}
	*size = (uint64_t)sb.st_size;
	if (*size < TXLOG_MAGIC_BYTES) {
		/* new, or torn before its magic was whole */
		int rc = pwrite_all(&l->io, l->fd, TXLOG_MAGIC, TXLOG_MAGIC_BYTES, 0);
		if (rc == 0 && ftruncate(l->fd, TXLOG_MAGIC_BYTES) != 0)
			rc = -errno;
		if (rc == 0 && l->io.fsync(l->fd) != 0)
			rc = -errno;
		if (rc != 0) {
			store_errf(err, errlen, -rc, "cannot write %s", l->path);
			return rc;
		}
		*size = TXLOG_MAGIC_BYTES;
		return 0;
	}
	char magic[TXLOG_MAGIC_BYTES];
	if (read_at(l->fd, magic, sizeof magic, 0) != 1 ||
	    memcmp(magic, TXLOG_MAGIC, TXLOG_MAGIC_BYTES) != 0) {
		snprintf(err, errlen, "%s is not a pulsemq transaction log (no %s magic): move it "
		         "away", l->path, TXLOG_MAGIC);
		return -EUCLEAN;
	}
	return 0;
}

int txlog_open(struct txlog **out, const char *path, const struct store_io *io,
               bool cut_corrupt, txlog_replay_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct txlog *l = calloc(1, sizeof *l);
	uint64_t size = 0, valid = 0;
	int rc;

	err[0] = '\0';
	if (!l || !(l->path = strdup(path))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->io = io ? *io : store_io_default;
	l->cut_corrupt = cut_corrupt;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->synced_cond, NULL);
	rc = open_file(l, err, errlen, &size);
	if (rc == 0)
		rc = replay(l, size, fn, ctx, &valid, err, errlen);
	if (rc == 0 && valid < size) {
		/* a torn tail: the record being written when the broker died */
		if (ftruncate(l->fd, (off_t)valid) != 0 || l->io.fsync(l->fd) != 0) {
			rc = -errno;
			store_errf(err, errlen, -rc, "cannot cut the torn tail of %s", path);
		}
		l->st.truncated = size - valid;
		size = valid;
	}
	if (rc != 0) {
		txlog_close(l);
		return rc;
	}
	l->end = size;
	l->st.bytes = size;
	*out = l;
	return 0;
}

void txlog_close(struct txlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->synced_cond);
	free(l->path);
	free(l);
}

static int refused(struct txlog *l, char *err, size_t errlen)
{
	store_errf(err, errlen, -l->failed, "the transaction log %s refuses writes since an "
	           "fdatasync failed; check the disk and restart the broker", l->path);
	return -EROFS;
}

int txlog_append(struct txlog *l, uint8_t type, const void *payload, size_t len,
                 uint64_t *seq, char *err, size_t errlen)
{
	int rc;
	pthread_mutex_lock(&l->lock);
	while (l->rewriting)
		pthread_cond_wait(&l->synced_cond, &l->lock);
	if (l->failed) {
		rc = refused(l, err, errlen);
	} else if ((rc = write_record(&l->io, l->fd, l->end, type, payload, len)) != 0) {
		store_errf(err, errlen, -rc, "write to %s failed", l->path);
		/* cut what may have reached the file: the next record goes there */
		if (ftruncate(l->fd, (off_t)l->end) != 0)
			l->failed = -EIO;
	} else {
		l->end += TXLOG_RECORD_HEADER + len;
		l->st.bytes = l->end;
		l->st.records++;
		*seq = ++l->seq_written;
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int txlog_sync(struct txlog *l, uint64_t seq, char *err, size_t errlen)
{
	int rc = 0;
	pthread_mutex_lock(&l->lock);
	while (l->seq_synced < seq && !l->failed) {
		if (l->syncing || l->rewriting) {
			pthread_cond_wait(&l->synced_cond, &l->lock);
			continue;
		}
		/* the leader: one fdatasync for everything written so far */
		uint64_t target = l->seq_written;
		int fd = l->fd;
		l->syncing = true;
		pthread_mutex_unlock(&l->lock);
		int r = l->io.fsync(fd);
		int e = errno;
		pthread_mutex_lock(&l->lock);
		l->syncing = false;
		l->st.fsyncs++;
		if (r != 0)
			l->failed = -e;
		else if (target > l->seq_synced)
			l->seq_synced = target;
		pthread_cond_broadcast(&l->synced_cond);
	}
	if (l->seq_synced < seq)
		rc = refused(l, err, errlen);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int txlog_emit(struct txlog_writer *w, uint8_t type, const void *payload, size_t len)
{
	int rc = write_record(&w->l->io, w->fd, w->off, type, payload, len);
	if (rc == 0)
		w->off += TXLOG_RECORD_HEADER + len;
	return rc;
}

static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

static int rewrite_file(struct txlog *l, const char *tmp,
                        int (*fn)(void *ctx, struct txlog_writer *w), void *ctx,
                        struct txlog_writer *w)
{
	w->l = l;
	w->off = TXLOG_MAGIC_BYTES;
	w->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w->fd < 0)
		return -errno;
	int rc = pwrite_all(&l->io, w->fd, TXLOG_MAGIC, TXLOG_MAGIC_BYTES, 0);
	if (rc == 0)
		rc = fn(ctx, w);
	if (rc == 0 && l->io.fsync(w->fd) != 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, l->path) != 0)
		rc = -errno;
	if (rc == 0)
		rc = sync_dir(l->path);
	if (rc != 0) {
		close(w->fd);
		unlink(tmp);
	}
	return rc;
}

int txlog_rewrite(struct txlog *l, int (*fn)(void *ctx, struct txlog_writer *w), void *ctx,
                  char *err, size_t errlen)
{
	size_t n = strlen(l->path) + 5;
	char *tmp = malloc(n);
	struct txlog_writer w;
	int rc;

	if (!tmp) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(tmp, n, "%s.new", l->path);
	pthread_mutex_lock(&l->lock);
	while (l->syncing || l->rewriting)
		pthread_cond_wait(&l->synced_cond, &l->lock);
	if (l->failed) {
		rc = refused(l, err, errlen);
		goto out;
	}
	l->rewriting = true;
	pthread_mutex_unlock(&l->lock);
	rc = rewrite_file(l, tmp, fn, ctx, &w);
	pthread_mutex_lock(&l->lock);
	l->rewriting = false;
	if (rc != 0) {
		store_errf(err, errlen, -rc, "cannot rewrite %s (via %s)", l->path, tmp);
	} else {
		close(l->fd);
		l->fd = w.fd;
		l->end = w.off;
		l->st.bytes = w.off;
		l->st.rewrites++;
		l->seq_synced = l->seq_written;
	}
	pthread_cond_broadcast(&l->synced_cond);
out:
	pthread_mutex_unlock(&l->lock);
	free(tmp);
	return rc;
}

void txlog_get_stats(struct txlog *l, struct txlog_stats *s)
{
	pthread_mutex_lock(&l->lock);
	*s = l->st;
	pthread_mutex_unlock(&l->lock);
}
