/*
 * scan.c - a segment file record by record (scan.h).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/scan.h"

int scan_read_at(int fd, unsigned char *buf, size_t len, int64_t pos)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(pos + (int64_t)got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

int scan_init(struct scan *sc, int fd, int64_t size)
{
	sc->fd = fd;
	sc->size = size;
	sc->win_pos = 0;
	sc->win_len = 0;
	sc->buf = malloc(SCAN_WINDOW);
	return sc->buf ? 0 : -ENOMEM;
}

void scan_free(struct scan *sc)
{
	free(sc->buf);
	sc->buf = NULL;
}

/* Makes the window hold [pos, pos + need): need <= SCAN_WINDOW and
 * pos + need <= sc->size. Returns where pos is in buf, or NULL with *rc. */
static const unsigned char *scan_window(struct scan *sc, int64_t pos, size_t need, int *rc)
{
	*rc = 0;
	if (pos >= sc->win_pos && pos + (int64_t)need <= sc->win_pos + (int64_t)sc->win_len)
		return sc->buf + (pos - sc->win_pos);
	int64_t left = sc->size - pos;
	size_t n = left < SCAN_WINDOW ? (size_t)left : SCAN_WINDOW;
	sc->win_len = 0;
	*rc = scan_read_at(sc->fd, sc->buf, n, pos);
	if (*rc != 0)
		return NULL;
	sc->win_pos = pos;
	sc->win_len = n;
	return sc->buf;
}

/* The masked checksum of [from, from + len), read in windows. */
static int scan_crc(struct scan *sc, int64_t from, int64_t len, int32_t *out)
{
	uint32_t crc = 0;
	int rc = 0;
	while (len > 0) {
		size_t n = len < SCAN_WINDOW ? (size_t)len : SCAN_WINDOW;
		const unsigned char *p = scan_window(sc, from, n, &rc);
		if (!p)
			return rc;
		crc = store_crc32(crc, p, n);
		from += (int64_t)n;
		len -= (int64_t)n;
	}
	*out = (int32_t)(crc & 0x7FFFFFFFu);
	return 0;
}

/* The header checks of store_record_check(), against the file's end. */
static enum store_record_check scan_header(const struct scan *sc, int64_t pos,
                                           const struct store_record *r)
{
	if (r->len < 0)
		return STORE_RECORD_BAD_LEN;
	if (r->len > sc->size - pos - STORE_RECORD_HEADER)
		return STORE_RECORD_SHORT;
	if (r->msgid == 0)
		return STORE_RECORD_BAD_ID;
	return STORE_RECORD_VALID;
}

int scan_check(struct scan *sc, int64_t pos, struct store_record *r,
               enum store_record_check *c)
{
	int rc;
	int32_t sum;
	if (pos > sc->size - STORE_RECORD_HEADER) {
		*c = STORE_RECORD_SHORT;
		return 0;
	}
	const unsigned char *p = scan_window(sc, pos, STORE_RECORD_HEADER, &rc);
	if (!p)
		return rc;
	store_record_parse(p, r);
	*c = scan_header(sc, pos, r);
	if (*c != STORE_RECORD_VALID)
		return 0;
	/* Whole records that fit a window stay in it, with their neighbours. */
	if (STORE_RECORD_HEADER + (int64_t)r->len <= SCAN_WINDOW &&
	    !scan_window(sc, pos, STORE_RECORD_HEADER + (size_t)r->len, &rc))
		return rc;
	rc = scan_crc(sc, pos + STORE_RECORD_HEADER, r->len, &sum);
	if (rc != 0)
		return rc;
	*c = sum == r->checksum ? STORE_RECORD_VALID : STORE_RECORD_BAD_CRC;
	return 0;
}

int scan_resync(struct scan *sc, int64_t from, int64_t to, int64_t *found,
                struct store_record *r)
{
	uint64_t budget = SCAN_RESYNC_CRC_BUDGET;
	int rc;
	*found = -1;
	for (int64_t y = from; y < to && y <= sc->size - STORE_RECORD_HEADER; y++) {
		const unsigned char *p = scan_window(sc, y, STORE_RECORD_HEADER, &rc);
		if (!p)
			return rc;
		store_record_parse(p, r);
		if (scan_header(sc, y, r) != STORE_RECORD_VALID)
			continue; /* most positions: no CRC needed to rule them out */
		if ((uint64_t)r->len > budget)
			return -EAGAIN;
		budget -= (uint64_t)r->len;
		int32_t sum;
		rc = scan_crc(sc, y + STORE_RECORD_HEADER, r->len, &sum);
		if (rc != 0)
			return rc;
		if (sum == r->checksum) {
			*found = y;
			return 0;
		}
	}
	return 0;
}

int scan_nonzero_end(struct scan *sc, int64_t from, int64_t to, int64_t *out)
{
	int rc;
	*out = from;
	for (int64_t pos = from; pos < to;) {
		size_t n = to - pos < SCAN_WINDOW ? (size_t)(to - pos) : SCAN_WINDOW;
		const unsigned char *p = scan_window(sc, pos, n, &rc);
		if (!p)
			return rc;
		for (size_t i = n; i-- > 0;)
			if (p[i]) {
				*out = pos + (int64_t)i + 1;
				break;
			}
		pos += (int64_t)n;
	}
	return 0;
}
