/*
 * proc_store.c - the put, get, offset and transaction processors. They run
 * on pool workers: the put pool appends, the get pool preads. A put with a
 * transaction key is checked here like any other (CRC included) and then
 * staged by tx.c; the transaction processor is tx.c's. A put in
 * flush_mode = sync is answered by the flush thread once its bytes are
 * durable (flush.c); everything else is answered here.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/protocol.h"
#include "server/common/log.h"
#include "server/broker/availability.h"
#include "server/broker/store_service.h"
#include "server/broker/tx.h"
#include "store/record.h"

/* Longest reply body of a put: "<int64> <int32> <int64>". */
#define PUT_REPLY_BYTES 64

static int32_t topic_partitions(const struct settings *cfg, const struct settings_topic *tc)
{
	return tc && tc->num_partitions > 0 ? tc->num_partitions : cfg->num_partitions;
}

static int32_t topic_flush_threshold(const struct settings *cfg,
                                     const struct settings_topic *tc)
{
	return tc && tc->flush_threshold >= 0 ? tc->flush_threshold : cfg->flush_threshold;
}

/* A full disk fails every put: log the first failure of each second and
 * how many were not logged, not one line per put. */
static void log_put_failure(const char *topic, int tl, int32_t part, const char *err)
{
	static atomic_llong last_s;
	static atomic_ullong quiet;
	long long now = (long long)time(NULL), prev = atomic_load(&last_s);
	if (now == prev || !atomic_compare_exchange_strong(&last_s, &prev, now)) {
		atomic_fetch_add(&quiet, 1);
		return;
	}
	unsigned long long q = atomic_exchange(&quiet, 0);
	pmq_log(PMQ_LOG_ERROR, "put to %.*s-%" PRId32 " not stored: %s (%llu more failed puts "
	        "not logged)", tl, topic, part, err, q);
}

/* An answer line holds this much of a store error; the store keeps its
 * start and its end, where the errno text is (store_err_shorten). */
#define REPLY_ERR_BYTES 900

static void reply_not_stored(struct request *req, int code, char *err)
{
	store_err_shorten(err, REPLY_ERR_BYTES);
	request_reply_resultf(req, code, "the message was not stored: %s", err);
}

/* The partition could not be opened or created: a name the store cannot
 * hold is the client's mistake (400), max_topics the operator's bound
 * (403, the text names the setting), anything else the disk's (500). */
static void reply_not_created(struct request *req, const char *tn, int tl, int32_t part,
                              int rc, char *err)
{
	if (rc == -EINVAL) {
		reply_not_stored(req, 400, err);
		return;
	}
	log_put_failure(tn, tl, part, err);
	reply_not_stored(req, rc == -EDQUOT ? 403 : 500, err);
}

static void proc_put(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	const struct settings *cfg = store_svc.cfg;
	int tl = (int)m->topic.len;
	const char *tn = m->topic.ptr;
	char err[STORE_ERR_BYTES];
	struct store_partition *p;
	struct store_append a;
	int rc;
	(void)ctx;

	if (availability_put_refused(req))
		return; /* offline: answered 403, not a failed put */
	if (m->txkey.ptr && !tx_put_admit(req))
		goto failed;
	const struct settings_topic *tc = settings_find_topic(cfg, tn, m->topic.len);
	if (!tc && !cfg->auto_create_topics) {
		request_reply_resultf(req, 500, "The topic `%.*s` is not accepted by this broker: "
		                      "it has no [topic=%.*s] section and auto_create_topics is off",
		                      tl, tn, tl, tn);
		goto failed;
	}
	if (tc && !tc->accept_put) {
		request_reply_resultf(req, 403, "The topic `%.*s` does not accept puts "
		                      "(accept_put = no)", tl, tn);
		goto failed;
	}
	int32_t n = topic_partitions(cfg, tc), part = m->partition;
	if (part == -1) {
		part = store_pick_partition(store_svc.st, tn, m->topic.len, n);
	} else if (part < 0 || part >= n) {
		request_reply_resultf(req, 500, "The partition %" PRId32 " is not valid for topic "
		                      "%.*s: it has partitions 0 to %" PRId32, part, tl, tn, n - 1);
		goto failed;
	}
	if (m->checksum != -1) {
		int32_t sum = pmq_checksum(m->body.ptr, m->body.len);
		if (sum != m->checksum) {
			request_reply_resultf(req, 500, "checksum mismatch: the body's checksum is "
			                      "%" PRId32 " but the request says %" PRId32 "; the "
			                      "message was not stored", sum, m->checksum);
			goto failed;
		}
	}
	rc = store_partition_open(store_svc.st, tn, m->topic.len, part, &p, err, sizeof err);
	if (rc != 0) {
		reply_not_created(req, tn, tl, part, rc, err);
		goto failed;
	}
	if (m->txkey.ptr) {
		tx_put(req, p); /* staged until its transaction commits */
		return;
	}
	rc = store_partition_append(p, m->flag, m->body.ptr, m->body.len, &a, err, sizeof err);
	if (rc != 0) {
		log_put_failure(tn, tl, part, err);
		reply_not_stored(req, 500, err);
		goto failed;
	}

	char body[PUT_REPLY_BYTES];
	int blen = snprintf(body, sizeof body, "%" PRId64 " %" PRId32 " %" PRId64, a.msgid, part,
	                    a.offset);
	if (cfg->flush_mode == PMQ_FLUSH_SYNC) {
		flush_wait_ack(req, p, a.end, body, (size_t)blen);
		return;
	}
	request_reply_result(req, 200, body, (size_t)blen);
	atomic_fetch_add(&store_svc.puts_acked, 1);
	flush_note_async(p, topic_flush_threshold(cfg, tc));
	return;
failed:
	atomic_fetch_add(&store_svc.puts_failed, 1);
}

static void reply_no_data(struct request *req, const struct pmq_msg *m)
{
	request_reply_resultf(req, 404, "The topic `%.*s` in partition %" PRId32 " has no data",
	                      (int)m->topic.len, m->topic.ptr, m->partition);
}

/* A record no get can return whole (one written with a bigger limit, or a
 * corrupt length inside its segment) would leave its consumers asking for
 * it forever: say so instead. */
static bool reply_too_big(struct request *req, const struct pmq_msg *m, const void *buf,
                          size_t len, int64_t limit)
{
	struct store_record rec;
	if (len < STORE_RECORD_HEADER)
		return false;
	store_record_parse(buf, &rec);
	if (STORE_RECORD_HEADER + (int64_t)rec.len <= limit)
		return false;
	request_reply_resultf(req, 500, "record at offset %" PRId64 " in %.*s-%" PRId32 " is %"
	                      PRId64 " bytes, more than max_transfer_bytes (%" PRId64 ") lets "
	                      "a get return: raise max_transfer_bytes to read it, or run "
	                      "pulsemqd --scrub if it is corrupt", m->offset, (int)m->topic.len,
	                      m->topic.ptr, m->partition, STORE_RECORD_HEADER + (int64_t)rec.len,
	                      limit);
	return true;
}

static void proc_get(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	const struct settings *cfg = store_svc.cfg;
	char err[STORE_ERR_BYTES];
	struct store_read r;
	(void)ctx;

	atomic_fetch_add(&store_svc.gets, 1);
	if (m->max_size <= 0) {
		request_reply_resultf(req, 400, "Bad request, invalid max size: %" PRId32,
		                      m->max_size);
		return;
	}
	struct store_partition *p = store_partition_find(store_svc.st, m->topic.ptr,
	                                                 m->topic.len, m->partition);
	if (!p) {
		atomic_fetch_add(&store_svc.get_misses, 1);
		reply_no_data(req, m);
		return;
	}
	size_t max = (size_t)m->max_size;
	if ((int64_t)max > cfg->max_transfer_bytes)
		max = (size_t)cfg->max_transfer_bytes;
	/* Allocate for what can be there, not for what was asked. */
	int64_t first, end;
	store_partition_bounds(p, &first, &end);
	if (m->offset >= first && m->offset < end && (uint64_t)(end - m->offset) < max)
		max = (size_t)(end - m->offset);
	void *buf = malloc(max ? max : 1);
	if (!buf) {
		request_reply_resultf(req, 500, "out of memory for a %zu-byte read", max);
		return;
	}
	int rc = store_partition_read(p, m->offset, buf, max, &r, err, sizeof err);
	if (rc != 0) {
		/* A corrupt record went to the store's notice once: its consumers
		 * retry it, and a line per get would flood the log. */
		if (rc != -EBADMSG)
			pmq_log(PMQ_LOG_ERROR, "get from %.*s-%" PRId32 ": %s", (int)m->topic.len,
			        m->topic.ptr, m->partition, err);
		store_err_shorten(err, REPLY_ERR_BYTES);
		request_reply_resultf(req, 500, "%s", err);
	} else if (r.status == STORE_READ_OK &&
	           reply_too_big(req, m, buf, r.len, cfg->max_transfer_bytes)) {
		/* answered */
	} else if (r.status == STORE_READ_OK) {
		atomic_fetch_add(&store_svc.get_bytes, r.len);
		request_reply_value(req, buf, r.len);
	} else if (r.status == STORE_READ_BEFORE) {
		request_reply_resultf(req, 301, "%" PRId64, r.moved);
	} else if (m->offset > r.moved &&
	           (cfg->update_consumer_offsets || m->offset == INT64_MAX)) {
		request_reply_resultf(req, 301, "%" PRId64, r.moved);
	} else {
		atomic_fetch_add(&store_svc.get_misses, 1);
		request_reply_resultf(req, 404, "The broker offset[%" PRId64 "] is not above the "
		                      "requested offset[%" PRId64 "]: no more messages yet",
		                      r.moved, m->offset);
	}
	free(buf);
}

static void proc_offset(struct request *req, void *ctx)
{
	const struct pmq_msg *m = request_msg(req);
	int64_t v;
	(void)ctx;

	atomic_fetch_add(&store_svc.offsets, 1);
	struct store_partition *p = store_partition_find(store_svc.st, m->topic.ptr,
	                                                 m->topic.len, m->partition);
	if (!p || store_partition_nearest(p, m->offset, &v) != 0) {
		reply_no_data(req, m);
		return;
	}
	request_reply_resultf(req, 200, "%" PRId64, v);
}

int proc_store_register(void)
{
	int rc = processor_register(PMQ_CMD_PUT, proc_put, NULL);
	if (rc == 0)
		rc = processor_register(PMQ_CMD_GET, proc_get, NULL);
	if (rc == 0)
		rc = processor_register(PMQ_CMD_OFFSET, proc_offset, NULL);
	return rc;
}
