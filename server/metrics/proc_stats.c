/*
 * proc_stats.c - `stats [ITEM]` on the heartbeat pool (stats.h renders).
 */
#include <config.h>

#include "server/metrics/stats.h"
#include "server/runtime/request.h"

static void proc_stats(struct request *req, void *ctx)
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

int proc_stats_register(void)
{
	return processor_register(PMQ_CMD_STATS, proc_stats, NULL);
}
