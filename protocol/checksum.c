/* checksum.c - MetaQ's message checksum: zlib's CRC-32 masked to 31 bits. */
#include <config.h>

#include <zlib.h>

#include "protocol/protocol.h"

/* zlib takes uInt lengths: feed larger buffers in slices. */
#define CHECKSUM_SLICE (1u << 30)

int32_t pmq_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uLong crc = crc32(0L, Z_NULL, 0);

	while (len > 0) {
		uInt n = len > CHECKSUM_SLICE ? CHECKSUM_SLICE : (uInt)len;
		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (int32_t)(crc & 0x7FFFFFFFu);
}
