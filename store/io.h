/*
 * io.h - the store's syscalls that can fail on a healthy program: writing,
 * syncing and reserving space. A seam, as beanstalkd's falloc: tests hand
 * store_open() their own table to make a write fail with ENOSPC or an fsync
 * with EIO, and check that nothing was acknowledged.
 *
 * Each function behaves as the syscall it replaces: -1 with errno set on
 * failure.
 */
#ifndef PMQ_STORE_IO_H
#define PMQ_STORE_IO_H

#include <sys/types.h>

struct store_io {
	ssize_t (*pwrite)(int fd, const void *buf, size_t len, off_t off);
	/* Makes a file's data (and its size) durable: fdatasync by default. */
	int (*fsync)(int fd);
	/* Reserves [off, off + len) of a file that ends at off, so that later
	 * writes there cannot fail for space. By default it writes zeros and
	 * syncs them, as beanstalkd does: an append then overwrites allocated,
	 * written blocks, and its fdatasync has no metadata to commit (about
	 * three times faster on ext4 than appending past the end, or into
	 * fallocate's unwritten extents). On failure the file is cut back to
	 * off. */
	int (*reserve)(int fd, off_t off, off_t len);
};

/* The real syscalls. */
extern const struct store_io store_io_default;

#endif
