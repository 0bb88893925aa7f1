/*
 * metrics.c - the /metrics HTTP endpoint (libmicrohttpd), see metrics.h.
 *
 * libmicrohttpd runs its own polling thread (MHD_USE_INTERNAL_POLLING_THREAD)
 * and calls answer() there: a scrape never runs on an IO thread or a pool
 * worker, and a slow scraper only ever holds that thread. The connection
 * limit and timeout keep a misbehaving scraper from piling up sockets.
 */
#include <config.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "server/common/log.h"
#include "server/metrics/metrics.h"
#include "server/metrics/metrics_source.h"

/* Scrapers are few: Prometheus, maybe a second one and a human with curl. */
#define METRICS_MAX_CONNECTIONS 8
/* A scraper that sends nothing for this long is dropped (seconds). */
#define METRICS_CONNECTION_TIMEOUT_S 10

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Started and stopped by the main thread only; MHD's thread never writes it. */
static struct MHD_Daemon *daemon_handle;

/* body is freed by MHD (MUST_FREE) or a string literal (PERSISTENT), which
 * MHD only reads despite its non-const parameter. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body,
                             size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **req_cls)
{
	struct metrics_out out = { 0 };
	(void)cls;
	(void)version;
	(void)upload_data;

	/* The first call only announces the request (headers read). */
	if (*req_cls == NULL) {
		*req_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* a body on a scrape: read and ignored */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", 18,
		             MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", 24,
		             MHD_RESPMEM_PERSISTENT);

	metrics_source_render(&out);
	if (out.failed) {
		metrics_out_free(&out);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", 14,
		             MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, out.buf, out.len, MHD_RESPMEM_MUST_FREE);
}

/* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (all addresses) -> a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { 0 }, *res = NULL;
	size_t hlen;
	int rc;

	if (!colon || !colon[1])
		return -EINVAL;
	hlen = (size_t)(colon - spec);
	if (hlen >= sizeof host)
		return -EINVAL;
	memcpy(host, spec, hlen);
	host[hlen] = '\0';
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0 || !res)
		return -EINVAL;
	memset(ss, 0, sizeof *ss);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	pmq_log(PMQ_LOG_WARN, "metrics: %s", msg);
}

int metrics_start(const struct settings *cfg)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!cfg->metrics_listen[0])
		return 0;
	if (parse_listen(cfg->metrics_listen, &ss) != 0) {
		pmq_log(PMQ_LOG_ERROR, "metrics_listen '%s': expected ADDR:PORT, [ADDR]:PORT or :PORT",
		        cfg->metrics_listen);
		return -EINVAL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The logger goes first, or MHD warns that earlier options may log
	 * through its default logger. */
	daemon_handle = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
	                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                                 MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
	                                 MHD_OPTION_CONNECTION_LIMIT,
	                                 (unsigned)METRICS_MAX_CONNECTIONS,
	                                 MHD_OPTION_CONNECTION_TIMEOUT,
	                                 (unsigned)METRICS_CONNECTION_TIMEOUT_S,
	                                 MHD_OPTION_END);
	if (!daemon_handle) {
		pmq_log(PMQ_LOG_ERROR, "metrics_listen '%s': cannot listen (address in use or "
		        "not local?)", cfg->metrics_listen);
		return -EADDRINUSE;
	}
	/* Port 0 binds any free port (the tests use it): log the real one. */
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_BIND_PORT);
	pmq_log(PMQ_LOG_INFO, "metrics on %s, port %u: GET /metrics", cfg->metrics_listen,
	        info ? (unsigned)info->port : 0u);
	return 0;
}

void metrics_stop(void)
{
	if (!daemon_handle)
		return;
	MHD_stop_daemon(daemon_handle);
	daemon_handle = NULL;
}
