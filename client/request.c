/*
 * request.c - typed requests, encoded by the protocol library straight into
 * the connection's output buffer with the opaque the connection allocates.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "client/conn.h"
#include "protocol/protocol.h"

static struct pmq_view view(const char *s)
{
	return (struct pmq_view){ .ptr = s, .len = s ? strlen(s) : 0 };
}

/* Reserves an opaque, encodes m with it, commits. */
static int submit_msg(struct pulsemq_conn *c, struct pmq_msg *m,
                      pulsemq_callback *cb, void *arg)
{
	int rc = conn_reserve(c, cb, arg, &m->opaque);
	if (rc < 0)
		return rc;
	size_t room = conn_out_room(c);
	char *p = conn_out_space(c, room > 256 ? room : 256);
	size_t n = p ? pmq_encode(p, conn_out_room(c), m) : 0;
	if (p && n > conn_out_room(c)) {
		p = conn_out_space(c, n);
		n = p ? pmq_encode(p, n, m) : 0;
	}
	if (!p || n == 0) {
		conn_unreserve(c, m->opaque);
		return p ? -EINVAL : -ENOMEM;
	}
	conn_out_commit(c, n);
	return 0;
}

static int check_topic(const char *topic)
{
	return topic && pmq_topic_valid(topic, strlen(topic)) ? 0 : -EINVAL;
}

int pulsemq_submit_put(struct pulsemq_conn *c, const char *topic, int32_t partition,
                       const void *data, size_t len, int32_t flag,
                       pulsemq_callback *cb, void *arg)
{
	if (check_topic(topic) < 0 || (len && !data))
		return -EINVAL;
	struct pmq_msg m = {
		.cmd = PMQ_CMD_PUT, .topic = view(topic), .partition = partition,
		.flag = flag, .checksum = pmq_checksum(data ? data : "", len),
		.body = { .ptr = data ? data : "", .len = len },
	};
	return submit_msg(c, &m, cb, arg);
}

int pulsemq_submit_get(struct pulsemq_conn *c, const char *topic, const char *group,
                       int32_t partition, int64_t offset, int32_t max_size,
                       pulsemq_callback *cb, void *arg)
{
	if (check_topic(topic) < 0 || !group || !*group)
		return -EINVAL;
	struct pmq_msg m = {
		.cmd = PMQ_CMD_GET, .topic = view(topic), .group = view(group),
		.partition = partition, .offset = offset, .max_size = max_size,
	};
	return submit_msg(c, &m, cb, arg);
}

int pulsemq_submit_offset(struct pulsemq_conn *c, const char *topic, const char *group,
                          int32_t partition, int64_t offset,
                          pulsemq_callback *cb, void *arg)
{
	if (check_topic(topic) < 0 || !group || !*group)
		return -EINVAL;
	struct pmq_msg m = {
		.cmd = PMQ_CMD_OFFSET, .topic = view(topic), .group = view(group),
		.partition = partition, .offset = offset,
	};
	return submit_msg(c, &m, cb, arg);
}

int pulsemq_submit_version(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg)
{
	struct pmq_msg m = { .cmd = PMQ_CMD_VERSION };
	return submit_msg(c, &m, cb, arg);
}

int pulsemq_submit_stats(struct pulsemq_conn *c, const char *item,
                         pulsemq_callback *cb, void *arg)
{
	/* item NULL: `stats OPAQUE` would read the opaque as an item, so the
	 * system stats are asked for as item "" (`stats  OPAQUE`). */
	struct pmq_msg m = { .cmd = PMQ_CMD_STATS,
	                     .item = { .ptr = item ? item : "", .len = item ? strlen(item) : 0 } };
	return submit_msg(c, &m, cb, arg);
}
