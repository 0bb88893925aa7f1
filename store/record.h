/*
 * record.h - one MetaQ message record:
 *   int32 len | int32 checksum | int64 msgid | int32 flag | payload[len]
 * big-endian, checksum = CRC-32 (IEEE) of the payload masked with
 * 0x7FFFFFFF (protocol.md's CHECKSUM). Pure functions, no I/O.
 */
#ifndef PMQ_STORE_RECORD_H
#define PMQ_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_RECORD_HEADER 20
/* A payload longer than this cannot be described by the int32 len. */
#define STORE_RECORD_MAX_PAYLOAD ((size_t)INT32_MAX - STORE_RECORD_HEADER)

struct store_record {
	int32_t len;
	int32_t checksum;
	int64_t msgid;
	int32_t flag;
};

int32_t store_checksum(const void *data, size_t len);
/* The same CRC in pieces, for records read in windows: start from 0, feed
 * every piece, and the checksum is the result & 0x7FFFFFFF. */
uint32_t store_crc32(uint32_t crc, const void *data, size_t len);

/* Writes the 20-byte header for payload into out. */
void store_record_header(unsigned char out[STORE_RECORD_HEADER], int64_t msgid,
                         int32_t flag, const void *payload, size_t len);

/* The header fields of in (no checks: store_record_check() judges them).
 * The scanner and the broker's get-size check read headers this way. */
void store_record_parse(const unsigned char in[STORE_RECORD_HEADER], struct store_record *r);

enum store_record_check {
	STORE_RECORD_VALID,
	STORE_RECORD_SHORT,     /* header or payload runs past the available bytes */
	STORE_RECORD_BAD_LEN,   /* negative length */
	STORE_RECORD_BAD_ID,    /* message id 0: zero-filled space, never a real id */
	STORE_RECORD_BAD_CRC,
};

/* Checks the record at buf (avail bytes available). */
enum store_record_check store_record_check(const unsigned char *buf, size_t avail,
                                           struct store_record *r);
const char *store_record_check_str(enum store_record_check c);

/*
 * Checks the record a read starts with: got bytes of it at buf, room =
 * bytes from its start to the end of its segment (got <= room). Records
 * never cross segments, so one that runs past room is corrupt (SHORT means
 * that here), and so is a header cut by the segment's end. The checksum is
 * checked only when the whole record is in buf; a read too short to tell
 * (got < 20 within the segment, or a record longer than got) is VALID.
 */
enum store_record_check store_record_check_head(const unsigned char *buf, size_t got,
                                                uint64_t room, struct store_record *r);

#endif
