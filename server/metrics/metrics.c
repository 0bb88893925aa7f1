/*
 * metrics.c - the /metrics HTTP endpoint (libmicrohttpd), see metrics.h.
 *
 * libmicrohttpd runs its own polling thread (MHD_USE_INTERNAL_POLLING_THREAD)
 * and calls answer() there: a scrape never runs on an IO thread or a pool
 * worker, and a slow scraper only ever holds that thread.
 *
 * Slow clients must not lock scrapes out. MHD's connection timeout is
 * per inactivity: a client sending one header byte every 200 ms held its
 * slot for ever, and 8 of them (the old limit) failed every scrape. So each
 * connection is tracked here (MHD_OPTION_NOTIFY_CONNECTION) and bounded as
 * a whole: its request must arrive within METRICS_REQUEST_DEADLINE_MS of
 * the connection's start (or of its previous answer, on keep-alive), and at
 * most METRICS_PENDING_MAX connections may wait for their request: a new
 * one cuts the oldest waiting one. Cutting is shutdown() on our dup of the
 * socket: MHD then reads EOF and closes it in its own thread, and the dup
 * keeps the descriptor from being reused under us until MHD says "closed".
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "actors/clock.h"

#include "server/common/log.h"
#include "server/metrics/metrics.h"
#include "server/metrics/metrics_source.h"

/* Scrapers are few (Prometheus, maybe a second one and a human with curl);
 * the room is for cut connections MHD has not closed yet. */
#define METRICS_MAX_CONNECTIONS 64
/* Connections still waiting for their request at most: more than a scraper
 * needs, far fewer than METRICS_MAX_CONNECTIONS. */
#define METRICS_PENDING_MAX 16
/* A request's headers arrive within this of the connection's start (a
 * scraper sends them at once). */
#define METRICS_REQUEST_DEADLINE_MS 5000
/* How often the deadline is looked at. */
#define METRICS_SWEEP_MS 250
/* A scraper that sends or reads nothing for this long is dropped (seconds). */
#define METRICS_CONNECTION_TIMEOUT_S 10

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Started and stopped by the main thread only; MHD's thread never writes it. */
static struct MHD_Daemon *daemon_handle;

/* One connection MHD told us of; guarded by conns_lock. */
struct mconn {
	bool used;
	bool busy;         /* its request arrived whole: being answered */
	bool cut;          /* shut down; MHD closes it soon */
	int fd;            /* our dup of its socket */
	uint64_t since_ms; /* connection start, or its last answer */
};

static struct mconn conns[METRICS_MAX_CONNECTIONS];
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweep_cond = PTHREAD_COND_INITIALIZER;
static bool sweep_stop;
static pthread_t sweep_thread;
static bool sweep_started;

static void conn_cut(struct mconn *c)
{
	c->cut = true;
	shutdown(c->fd, SHUT_RDWR);
}

/* Cuts the oldest connection waiting for its request past the pending
 * bound, and every one past its deadline (conns_lock held). */
static void conns_sweep(uint64_t now)
{
	struct mconn *oldest = NULL;
	unsigned pending = 0;

	for (unsigned i = 0; i < METRICS_MAX_CONNECTIONS; i++) {
		struct mconn *c = &conns[i];
		if (!c->used || c->busy || c->cut)
			continue;
		if (now - c->since_ms >= METRICS_REQUEST_DEADLINE_MS) {
			conn_cut(c);
			continue;
		}
		pending++;
		if (!oldest || c->since_ms < oldest->since_ms)
			oldest = c;
	}
	if (pending > METRICS_PENDING_MAX)
		conn_cut(oldest);
}

static void *sweep_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&conns_lock);
	while (!sweep_stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += METRICS_SWEEP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&sweep_cond, &conns_lock, &ts);
		conns_sweep(clock_now_ms());
	}
	pthread_mutex_unlock(&conns_lock);
	return NULL;
}

static struct mconn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	pthread_mutex_lock(&conns_lock);
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct mconn *c = NULL;
		for (unsigned i = 0; i < METRICS_MAX_CONNECTIONS && !c; i++)
			if (!conns[i].used)
				c = &conns[i];
		int fd = c && ci ? fcntl(ci->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
		if (fd >= 0) { /* else untracked: MHD's limit and timeout still hold */
			*c = (struct mconn){ .used = true, .fd = fd, .since_ms = clock_now_ms() };
			*socket_context = c;
			conns_sweep(c->since_ms);
		}
	} else if (*socket_context) {
		struct mconn *c = *socket_context;
		close(c->fd);
		c->used = false;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&conns_lock);
}

/* An answer went out: a keep-alive connection's next request gets its own
 * deadline. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct mconn *c = conn_of(conn);

	(void)cls;
	(void)req_cls;
	(void)toe;
	if (!c)
		return;
	pthread_mutex_lock(&conns_lock);
	c->busy = false;
	c->since_ms = clock_now_ms();
	pthread_mutex_unlock(&conns_lock);
}

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
		/* A body on a scrape: read and ignored. Still under the
		 * request deadline: a trickled body is no better than
		 * trickled headers. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct mconn *c = conn_of(conn);
	if (c) {
		pthread_mutex_lock(&conns_lock);
		c->busy = true; /* the request is whole: being answered */
		pthread_mutex_unlock(&conns_lock);
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

static void sweep_join(void)
{
	if (!sweep_started)
		return;
	pthread_mutex_lock(&conns_lock);
	sweep_stop = true;
	pthread_cond_signal(&sweep_cond);
	pthread_mutex_unlock(&conns_lock);
	pthread_join(sweep_thread, NULL);
	sweep_started = false;
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
	sweep_stop = false;
	int rc = pthread_create(&sweep_thread, NULL, sweep_main, NULL);
	if (rc != 0) {
		pmq_log(PMQ_LOG_ERROR, "metrics: cannot start its sweep thread: %s", strerror(rc));
		return -rc;
	}
	sweep_started = true;
	pthread_setname_np(sweep_thread, "pmq-metrics");
	/* The logger goes first, or MHD warns that earlier options may log
	 * through its default logger. */
	daemon_handle = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL,
	                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	                                 MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
	                                 MHD_OPTION_CONNECTION_LIMIT,
	                                 (unsigned)METRICS_MAX_CONNECTIONS,
	                                 MHD_OPTION_CONNECTION_TIMEOUT,
	                                 (unsigned)METRICS_CONNECTION_TIMEOUT_S,
	                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	                                 MHD_OPTION_END);
	if (!daemon_handle) {
		sweep_join();
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
	MHD_stop_daemon(daemon_handle); /* closes every connection: notified */
	daemon_handle = NULL;
	sweep_join();
}
