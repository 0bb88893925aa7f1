/*
 * msgset.c - decoding the message sets `get` returns: records
 * int32 len | int32 checksum | int64 msgid | int32 flag | payload,
 * big-endian, as MetaQ stores them. A set may end with a partial record
 * (the broker cuts at MAXSIZE); that is where iteration stops.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "client/pulsemq.h"
#include "protocol/protocol.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int pulsemq_msgset_next(const struct pulsemq_msgset *set, size_t *pos,
                        struct pulsemq_message *m)
{
	if (*pos > set->len || set->len - *pos < PULSEMQ_MSG_HEADER)
		return 0;
	const unsigned char *p = (const unsigned char *)set->data + *pos;
	int32_t len = (int32_t)be32(p);
	if (len < 0)
		return -EPROTO;
	size_t size = PULSEMQ_MSG_HEADER + (size_t)len;
	if (set->len - *pos < size)
		return 0;
	m->offset = set->offset + (int64_t)*pos;
	m->checksum = (int32_t)be32(p + 4);
	m->msgid = (int64_t)be64(p + 8);
	m->flag = (int32_t)be32(p + 16);
	m->payload = (const char *)p + PULSEMQ_MSG_HEADER;
	m->len = (size_t)len;
	m->size = size;
	*pos += size;
	return pmq_checksum(m->payload, m->len) == m->checksum ? 1 : -EBADMSG;
}

size_t pulsemq_msgset_needed(const struct pulsemq_msgset *set, size_t pos)
{
	if (pos > set->len || set->len - pos < 4)
		return 0;
	int32_t len = (int32_t)be32((const unsigned char *)set->data + pos);
	return len < 0 ? 0 : PULSEMQ_MSG_HEADER + (size_t)len;
}

void pulsemq_msgset_free(struct pulsemq_msgset *set)
{
	if (!set)
		return;
	free(set->data);
	set->data = NULL;
	set->len = 0;
}
