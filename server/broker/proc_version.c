/*
 * proc_version.c - `version`, the liveness probe of MetaQ clients, on the
 * heartbeat pool (never queued behind get or put work).
 */
#include <config.h>

#include "server/broker/store_service.h"
#include "server/runtime/request.h"

static void proc_version(struct request *req, void *ctx)
{
	static const char v[] = "pulsemq " PACKAGE_VERSION;

	(void)ctx;
	request_reply_result(req, 200, v, sizeof(v) - 1);
}

int proc_version_register(void)
{
	return processor_register(PMQ_CMD_VERSION, proc_version, NULL);
}
