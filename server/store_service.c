/*
 * store_service.c - placeholder until the store lands: registers nothing, so
 * put / get / offset are answered 503 "no processor for <cmd>".
 */
#include "config.h"

#include "server/store_service.h"

int store_service_start(const struct pmq_config *cfg)
{
	(void)cfg;
	return 0;
}

void store_service_stop(void)
{
}

size_t store_service_stats(char *buf, size_t cap)
{
	(void)buf;
	(void)cap;
	return 0;
}

void store_service_tick(void)
{
}
