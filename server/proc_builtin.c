/*
 * proc_builtin.c - the runtime's own processors, on the heartbeat pool:
 * version (the liveness probe of MetaQ clients) and stats.
 */
#include <config.h> /* autoconf's: "config.h" here would be server/config.h */

#include <string.h>

#include "server/request.h"
#include "server/runtime.h"
#include "server/stats.h"

static void proc_version(struct pmq_request *req, void *ctx)
{
	static const char v[] = "pulsemq " PACKAGE_VERSION;

	(void)ctx;
	request_reply_result(req, 200, v, sizeof(v) - 1);
}

static void proc_stats(struct pmq_request *req, void *ctx)
{
	struct sbuf b = { 0 };
	int code;

	(void)ctx;
	code = stats_render(request_msg(req)->item, &b);
	if (b.failed)
		request_reply_resultf(req, 500, "stats: out of memory");
	else
		request_reply_result(req, code, b.p, b.len);
	sbuf_free(&b);
}

void proc_builtin_register(void)
{
	void *ctx;

	if (!processor_lookup(PMQ_CMD_VERSION, &ctx))
		processor_register(PMQ_CMD_VERSION, proc_version, NULL);
	if (!processor_lookup(PMQ_CMD_STATS, &ctx))
		processor_register(PMQ_CMD_STATS, proc_stats, NULL);
}
