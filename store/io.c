/*
 * io.c - the real syscalls behind the store's fault-injection seam (io.h).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "store/io.h"

static ssize_t io_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

static int io_fsync(int fd)
{
	return fdatasync(fd);
}

/* Zeros are written in pieces of this size. */
#define ZERO_CHUNK 65536

static int io_reserve(int fd, off_t off, off_t len)
{
	static const char zeros[ZERO_CHUNK];
	off_t done = 0;
	int e = 0;
	while (done < len) {
		size_t n = len - done > ZERO_CHUNK ? ZERO_CHUNK : (size_t)(len - done);
		ssize_t w = pwrite(fd, zeros, n, off + done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			break;
		}
		done += w;
	}
	if (e == 0 && fdatasync(fd) != 0)
		e = errno;
	if (e != 0) {
		if (ftruncate(fd, off) != 0) {
			/* keep e: the space error is what the caller must see */
		}
		errno = e;
		return -1;
	}
	return 0;
}

const struct store_io store_io_default = {
	.pwrite = io_pwrite,
	.fsync = io_fsync,
	.reserve = io_reserve,
};
