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

/* Writes the 20-byte header for payload into out. */
void store_record_header(unsigned char out[STORE_RECORD_HEADER], int64_t msgid,
                         int32_t flag, const void *payload, size_t len);

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

#endif
