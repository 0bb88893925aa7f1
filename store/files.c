/*
 * files.c - the store's cache of segment file descriptors.
 *
 * A segment's file is opened when an append, a flush or a read needs it
 * (segment_pin) and stays open after (segment_unpin) until the cache holds
 * more than max idle-or-busy descriptors; then the least recently used idle
 * one is closed. So the number of segments and partitions is bounded by the
 * disk, not by RLIMIT_NOFILE: a broker with 4 KiB segments under steady
 * load, or thousands of topics, keeps at most max descriptors open.
 *
 * A pinned descriptor is never closed: its user may be in pwrite, fsync or
 * pread without any lock. Pins are short (one append, one fsync, one read),
 * so the count passes max only by the number of those running at once.
 *
 * Closing a segment that holds unsynced bytes is safe: the flush opens it
 * again and fsyncs the inode, and since Linux 4.16 a writeback error not
 * yet reported to anyone is reported to the next fsync through any
 * descriptor, also one opened after the error (errseq_sample; PostgreSQL's
 * checkpointer relies on the same).
 *
 * Opening and closing happen outside files.lock, which guards only the
 * fields (fd, pins, LRU links) and counts: the lock is the innermost of the
 * store's (store_priv.h) and is never held across a syscall.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store/store_priv.h"

/* Descriptors closed per pass outside the lock. */
#define EVICT_BATCH 8
/* The derived bound: a quarter of RLIMIT_NOFILE leaves three quarters for
 * connections, listeners, IO threads and the directory fds of creation
 * and recovery; at least a few so that a tiny limit still works. */
#define FILES_SHARE_DIVISOR 4
#define FILES_MIN 8
/* RLIM_INFINITY has no quarter: use this instead. */
#define FILES_UNLIMITED_MAX 65536

size_t files_default_max(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return FILES_UNLIMITED_MAX;
	size_t n = (size_t)(rl.rlim_cur / FILES_SHARE_DIVISOR);
	return n < FILES_MIN ? FILES_MIN : n;
}

void files_init(struct store_files *f, size_t max)
{
	pthread_mutex_init(&f->lock, NULL);
	f->head = f->tail = NULL;
	f->open = 0;
	f->max = max > 0 ? max : files_default_max();
}

void files_destroy(struct store_files *f)
{
	pthread_mutex_destroy(&f->lock);
}

/* files.lock held. */
static void lru_remove(struct store_files *f, struct store_segment *s)
{
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		f->head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		f->tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

/* files.lock held. */
static void lru_push(struct store_files *f, struct store_segment *s)
{
	s->lru_prev = NULL;
	s->lru_next = f->head;
	if (f->head)
		f->head->lru_prev = s;
	else
		f->tail = s;
	f->head = s;
}

/* files.lock held: takes the least recently used idle descriptor out of
 * the cache for the caller to close, or -1 when every open one is pinned. */
static int lru_take(struct store_files *f)
{
	struct store_segment *v = f->tail;
	if (!v)
		return -1;
	lru_remove(f, v);
	int fd = v->fd;
	v->fd = -1;
	f->open--;
	return fd;
}

/* Closes idle descriptors while more than max are open. Takes the lock. */
static void files_trim(struct store_files *f)
{
	for (;;) {
		int fds[EVICT_BATCH], n = 0;
		pthread_mutex_lock(&f->lock);
		while (n < EVICT_BATCH && f->open > f->max) {
			int fd = lru_take(f);
			if (fd < 0)
				break;
			fds[n++] = fd;
		}
		pthread_mutex_unlock(&f->lock);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		if (n < EVICT_BATCH)
			return;
	}
}

/* Closes one idle descriptor to make room after EMFILE; false if none. */
static bool files_shed_one(struct store_files *f)
{
	pthread_mutex_lock(&f->lock);
	int fd = lru_take(f);
	pthread_mutex_unlock(&f->lock);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Opens s's file. When the process is out of descriptors (a limit below
 * what max assumed, or other fds in use), idle ones are closed and the
 * open retried, so a cache sized too big degrades instead of failing. */
static int segment_open(struct store_files *f, struct store_segment *s, char *err,
                        size_t errlen)
{
	char path[4096];
	segment_path(s, path, sizeof path);
	for (;;) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		int e = errno;
		if ((e == EMFILE || e == ENFILE) && files_shed_one(f))
			continue;
		if (e == EMFILE || e == ENFILE) {
			pthread_mutex_lock(&f->lock);
			size_t open = f->open, max = f->max;
			pthread_mutex_unlock(&f->lock);
			store_errf(err, errlen, e, "cannot open segment %s (%zu segment files "
			           "open, all in use; max_open_files is %zu)", path, open, max);
		} else {
			store_errf(err, errlen, e, "cannot open segment %s", path);
		}
		return -e;
	}
}

int segment_pin(struct store_segment *s, char *err, size_t errlen)
{
	struct store_files *f = &s->part->st->files;
	pthread_mutex_lock(&f->lock);
	if (s->fd >= 0) {
		if (s->pins++ == 0)
			lru_remove(f, s);
		int fd = s->fd;
		pthread_mutex_unlock(&f->lock);
		return fd;
	}
	/* Pinned while it opens: the fd it gets is never in the LRU. */
	s->pins++;
	pthread_mutex_unlock(&f->lock);

	int fd = segment_open(f, s, err, errlen), dup = -1;
	pthread_mutex_lock(&f->lock);
	if (fd < 0) {
		if (--s->pins == 0 && s->fd >= 0)
			lru_push(f, s); /* another pinner opened it meanwhile */
		pthread_mutex_unlock(&f->lock);
		return fd;
	}
	if (s->fd >= 0) {
		dup = fd; /* two pinners opened it at once: keep the first */
	} else {
		s->fd = fd;
		f->open++;
		atomic_fetch_add(&f->opens, 1);
	}
	fd = s->fd;
	pthread_mutex_unlock(&f->lock);
	if (dup >= 0)
		close(dup);
	files_trim(f);
	return fd;
}

void segment_unpin(struct store_segment *s)
{
	struct store_files *f = &s->part->st->files;
	pthread_mutex_lock(&f->lock);
	bool over = false;
	if (--s->pins == 0 && s->fd >= 0) {
		lru_push(f, s);
		over = f->open > f->max;
	}
	pthread_mutex_unlock(&f->lock);
	if (over)
		files_trim(f);
}

void segment_adopt_fd(struct store_segment *s, int fd)
{
	struct store_files *f = &s->part->st->files;
	pthread_mutex_lock(&f->lock);
	s->fd = fd;
	f->open++;
	lru_push(f, s);
	bool over = f->open > f->max;
	pthread_mutex_unlock(&f->lock);
	if (over)
		files_trim(f);
}

void segment_close_fd(struct store_segment *s)
{
	struct store_files *f = &s->part->st->files;
	pthread_mutex_lock(&f->lock);
	int fd = s->fd;
	if (fd >= 0) {
		if (s->pins == 0)
			lru_remove(f, s);
		s->fd = -1;
		f->open--;
	}
	pthread_mutex_unlock(&f->lock);
	if (fd >= 0)
		close(fd);
}
