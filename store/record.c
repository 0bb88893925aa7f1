/*
 * record.c - encode and check MetaQ records (record.h).
 */
#include <config.h>

#include <zlib.h>

#include "store/record.h"

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

int32_t store_checksum(const void *data, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const unsigned char *p = data;
	/* zlib takes uInt lengths: feed big payloads in pieces. */
	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (int32_t)(crc & 0x7FFFFFFFu);
}

void store_record_header(unsigned char out[STORE_RECORD_HEADER], int64_t msgid,
                         int32_t flag, const void *payload, size_t len)
{
	put32(out, (uint32_t)len);
	put32(out + 4, (uint32_t)store_checksum(payload, len));
	put32(out + 8, (uint32_t)((uint64_t)msgid >> 32));
	put32(out + 12, (uint32_t)msgid);
	put32(out + 16, (uint32_t)flag);
}

static void store_record_parse(const unsigned char in[STORE_RECORD_HEADER],
                               struct store_record *r)
{
	r->len = (int32_t)get32(in);
	r->checksum = (int32_t)get32(in + 4);
	r->msgid = (int64_t)((uint64_t)get32(in + 8) << 32 | get32(in + 12));
	r->flag = (int32_t)get32(in + 16);
}

enum store_record_check store_record_check(const unsigned char *buf, size_t avail,
                                           struct store_record *r)
{
	if (avail < STORE_RECORD_HEADER)
		return STORE_RECORD_SHORT;
	store_record_parse(buf, r);
	if (r->len < 0)
		return STORE_RECORD_BAD_LEN;
	if ((size_t)r->len > avail - STORE_RECORD_HEADER)
		return STORE_RECORD_SHORT;
	if (r->msgid == 0)
		return STORE_RECORD_BAD_ID;
	if (store_checksum(buf + STORE_RECORD_HEADER, (size_t)r->len) != r->checksum)
		return STORE_RECORD_BAD_CRC;
	return STORE_RECORD_VALID;
}

const char *store_record_check_str(enum store_record_check c)
{
	switch (c) {
	case STORE_RECORD_VALID: return "valid";
	case STORE_RECORD_SHORT: return "record runs past the end of the file";
	case STORE_RECORD_BAD_LEN: return "negative record length";
	case STORE_RECORD_BAD_ID: return "message id 0 (zero-filled space)";
	case STORE_RECORD_BAD_CRC: return "checksum mismatch";
	}
	return "?";
}
