/*
 * conn.c - one client connection's life: connect, loss, reconnect with
 * backoff, timers and liveness, and the public calls that drive them. See
 * pulsemq.h for the promises.
 *
 * States: CONNECTING (nonblocking connect in flight) -> CONNECTED ->
 * (lost) WAITING (backoff timer) -> CONNECTING ... or CLOSED for good when
 * reconnect is off. Only CONNECTED accepts requests.
 *
 * Pending requests and their deadlines: opaque.c. Bytes in and out: wire.c.
 *
 * Completion callbacks run inside process()/flush(); while one runs, a
 * failure found by a nested flush is deferred (deferred_err) until the
 * dispatch loop is back in control, because failing frees the input buffer
 * the callback's body points into.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/backoff.h"
#include "client/conn_priv.h"

uint64_t conn_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pulsemq_options_init(struct pulsemq_options *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = 3000;
	o->request_timeout_ms = 10000;
	o->heartbeat_interval_ms = 10000;
	o->max_read_timeouts = 2;
	o->reconnect = true;
	o->backoff_min_ms = 100;
	o->backoff_max_ms = 10000;
	o->max_body_bytes = 64u << 20;
}

void conn_emit(struct pulsemq_conn *c, enum pulsemq_event_type type,
                      int error, int delay_ms, int attempt)
{
	if (!c->opt.on_event)
		return;
	struct pulsemq_event ev = { .type = type, .error = error,
	                            .delay_ms = delay_ms, .attempt = attempt };
	c->opt.on_event(c, &ev, c->opt.event_arg);
}

/* ---- connection life ------------------------------------------------- */

static void conn_schedule_retry(struct pulsemq_conn *c, int error)
{
	if (!c->opt.reconnect || c->no_reconnect) {
		c->state = CS_CLOSED;
		return;
	}
	c->attempt++;
	int delay = backoff_delay_ms(c->attempt, c->opt.backoff_min_ms,
	                             c->opt.backoff_max_ms, &c->rng);
	c->st.last_backoff_ms = delay;
	c->retry_at = conn_now_ns() + (uint64_t)delay * NS_PER_MS;
	c->state = CS_WAITING;
	conn_emit(c, PULSEMQ_EV_RECONNECT_SCHEDULED, error, delay, c->attempt);
}

/*
 * The connection is lost (or closed by us): close the socket, drop the
 * buffers, complete everything pending with err, then either wait to
 * reconnect or stay closed. Deferred while a callback runs.
 */
void conn_fail(struct pulsemq_conn *c, int err)
{
	if (c->dispatching) {
		if (!c->deferred_err)
			c->deferred_err = err;
		return;
	}
	c->deferred_err = 0;
	bool was_connected = c->state == CS_CONNECTED;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = 0;
	c->out_off = c->out_len = 0;
	c->fifo_len = c->fifo_head = 0;
	c->state = CS_CLOSED; /* no submissions from the callbacks below */
	if (was_connected)
		c->st.disconnects++;
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].used)
			slot_complete(c, &c->slots[i], err, false, NULL, 0);
	if (was_connected)
		conn_emit(c, PULSEMQ_EV_DISCONNECTED, err, 0, c->attempt);
	if (err != -ECANCELED)
		conn_schedule_retry(c, err);
}

static void conn_established(struct pulsemq_conn *c)
{
	uint64_t now = conn_now_ns();
	int tries = c->attempt;
	c->state = CS_CONNECTED;
	c->attempt = 0;
	c->last_read = c->last_write = c->read_ref = now;
	c->read_timeouts = 0;
	c->st.connects++;
	conn_reg_reset(c);
	conn_emit(c, PULSEMQ_EV_CONNECTED, 0, 0, tries);
	if (conn_registered(c) && c->state == CS_CONNECTED)
		(void)conn_reg_send(c); /* the full set after every (re)connect */
}

/* A connect attempt failed: try again later (or give up). */
static void conn_attempt_failed(struct pulsemq_conn *c, int err)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	conn_schedule_retry(c, err);
}

/* Starts a nonblocking connect to c->addr. */
static int conn_start_connect(struct pulsemq_conn *c)
{
	int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->connect_deadline = conn_now_ns() + (uint64_t)c->opt.connect_timeout_ms * NS_PER_MS;
	if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) == 0) {
		conn_established(c);
		return 0;
	}
	if (errno == EINPROGRESS || errno == EINTR) {
		c->state = CS_CONNECTING;
		return 0;
	}
	int err = -errno;
	close(fd);
	c->fd = -1;
	return err;
}

static void conn_check_connecting(struct pulsemq_conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr == 0)
		conn_established(c);
	else if (soerr != EINPROGRESS)
		conn_attempt_failed(c, -soerr);
}

static void conn_retry_now(struct pulsemq_conn *c)
{
	c->st.reconnect_attempts++;
	int rc = conn_start_connect(c);
	if (rc < 0)
		conn_attempt_failed(c, rc);
}

/* ---- timers ---------------------------------------------------------- */

static void conn_liveness(struct pulsemq_conn *c, uint64_t now)
{
	if (c->opt.heartbeat_interval_ms <= 0 || c->state != CS_CONNECTED)
		return;
	uint64_t iv = (uint64_t)c->opt.heartbeat_interval_ms * NS_PER_MS;
	uint64_t ref = c->last_read > c->read_ref ? c->last_read : c->read_ref;
	if (now - ref >= iv) {
		c->read_ref = now;
		if (c->npending > 0) {
			c->read_timeouts++;
			c->st.read_timeouts++;
			conn_emit(c, PULSEMQ_EV_READ_TIMEOUT, 0, 0, c->read_timeouts);
			if (c->read_timeouts >= c->opt.max_read_timeouts) {
				conn_fail(c, -ETIMEDOUT);
				return;
			}
		}
	}
	/* A registration is refreshed every interval, busy or not: other
	 * traffic does not keep it from expiring on the broker. */
	if (conn_registered(c) && now - c->reg_last >= iv) {
		(void)conn_reg_send(c);
		return;
	}
	/* Unsent output means the socket is busy, not idle (Netty's lesson). */
	if (c->out_off == c->out_len && now - c->last_write >= iv)
		(void)conn_send_heartbeat(c);
}

static void conn_timers(struct pulsemq_conn *c)
{
	uint64_t now = conn_now_ns();
	switch (c->state) {
	case CS_WAITING:
		if (now >= c->retry_at)
			conn_retry_now(c);
		break;
	case CS_CONNECTING:
		if (now >= c->connect_deadline)
			conn_attempt_failed(c, -ETIMEDOUT);
		break;
	case CS_CONNECTED:
		conn_expire(c, now);
		conn_liveness(c, now);
		break;
	case CS_CLOSED:
		break;
	}
}

static int ms_until(uint64_t at, uint64_t now)
{
	if (at <= now)
		return 0;
	uint64_t ms = (at - now + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

int pulsemq_timeout(const struct pulsemq_conn *c)
{
	uint64_t now = conn_now_ns();
	switch (c->state) {
	case CS_WAITING:
		return ms_until(c->retry_at, now);
	case CS_CONNECTING:
		return ms_until(c->connect_deadline, now);
	case CS_CLOSED:
		return -1;
	case CS_CONNECTED:
		break;
	}
	uint64_t at = UINT64_MAX;
	if (c->fifo_len > 0) {
		int32_t op = c->fifo[c->fifo_head];
		const struct slot *s = &c->slots[(uint32_t)op & (c->nslots - 1)];
		/* A completed head is popped at once by the next process call. */
		at = s->used && s->opaque == op ? s->deadline : now;
	}
	if (c->opt.heartbeat_interval_ms > 0) {
		uint64_t iv = (uint64_t)c->opt.heartbeat_interval_ms * NS_PER_MS;
		uint64_t ref = c->last_read > c->read_ref ? c->last_read : c->read_ref;
		if (ref + iv < at)
			at = ref + iv;
		if (c->out_off == c->out_len && c->last_write + iv < at)
			at = c->last_write + iv;
		if (conn_registered(c) && c->reg_last + iv < at)
			at = c->reg_last + iv;
	}
	return at == UINT64_MAX ? -1 : ms_until(at, now);
}

/* ---- public ---------------------------------------------------------- */

int pulsemq_process(struct pulsemq_conn *c, unsigned revents)
{
	if (c->dispatching)
		return -EDEADLK; /* called from a completion callback */
	c->delivered = 0;
	if (c->state == CS_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP)))
		conn_check_connecting(c);
	else if (c->state == CS_CONNECTED && (revents & (POLLIN | POLLERR | POLLHUP)))
		conn_read(c);
	if (c->state == CS_CONNECTED && c->out_len > c->out_off)
		(void)pulsemq_flush(c);
	conn_timers(c);
	if (c->state == CS_CLOSED && c->delivered == 0)
		return -ENOTCONN;
	return c->delivered;
}

int pulsemq_poll(struct pulsemq_conn *c, int timeout_ms)
{
	if (c->state == CS_CLOSED)
		return -ENOTCONN;
	int t = pulsemq_timeout(c);
	if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
		t = timeout_ms;
	unsigned revents = 0;
	if (c->fd >= 0) {
		struct pollfd p = { .fd = c->fd, .events = (short)pulsemq_events(c) };
		int n = poll(&p, 1, t);
		if (n > 0)
			revents = (unsigned)p.revents;
	} else if (t != 0) {
		(void)poll(NULL, 0, t);
	}
	return pulsemq_process(c, revents);
}

int pulsemq_fd(const struct pulsemq_conn *c)
{
	return c->fd;
}

unsigned pulsemq_events(const struct pulsemq_conn *c)
{
	switch (c->state) {
	case CS_CONNECTING:
		return POLLOUT;
	case CS_CONNECTED:
		return POLLIN | (c->out_len > c->out_off ? POLLOUT : 0);
	default:
		return 0;
	}
}

size_t pulsemq_pending(const struct pulsemq_conn *c)
{
	return c->npending;
}

bool pulsemq_connected(const struct pulsemq_conn *c)
{
	return c->state == CS_CONNECTED;
}

int pulsemq_wait_connected(struct pulsemq_conn *c, int timeout_ms)
{
	uint64_t deadline = conn_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
	while (c->state != CS_CONNECTED) {
		if (c->state == CS_CLOSED)
			return -ENOTCONN;
		uint64_t now = conn_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		int rc = pulsemq_poll(c, ms_until(deadline, now));
		if (rc == -ENOTCONN || rc == -EDEADLK)
			return rc;
	}
	return 0;
}

void pulsemq_get_stats(const struct pulsemq_conn *c, struct pulsemq_conn_stats *st)
{
	*st = c->st;
}

int pulsemq_submit(struct pulsemq_conn *c, const char *line, const void *body,
                   size_t len, pulsemq_callback *cb, void *arg, int32_t *opaque)
{
	int32_t op;
	int rc = conn_reserve(c, cb, arg, &op);
	if (rc < 0)
		return rc;
	size_t ll = strlen(line);
	size_t need = ll + 16 + len;
	char *p = conn_out_space(c, need);
	if (!p) {
		conn_unreserve(c, op);
		return -ENOMEM;
	}
	memcpy(p, line, ll);
	int n = snprintf(p + ll, 16, " %" PRId32 "\r\n", op);
	if (len)
		memcpy(p + ll + (size_t)n, body, len);
	conn_out_commit(c, ll + (size_t)n + len);
	if (opaque)
		*opaque = op;
	return 0;
}

static void conn_free(struct pulsemq_conn *c)
{
	free(c->in);
	free(c->out);
	free(c->slots);
	free(c->fifo);
	conn_reg_free(c);
	free(c);
}

static void set_err(char *err, size_t errlen, const char *host, int port, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s:%d: %s", host, port, why);
}

/* Waits for the first connect to finish: 0, or -errno. */
static int conn_first_connect(struct pulsemq_conn *c)
{
	int rc = conn_start_connect(c);
	if (rc < 0)
		return rc;
	while (c->state == CS_CONNECTING) {
		uint64_t now = conn_now_ns();
		if (now >= c->connect_deadline)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		int n = poll(&p, 1, ms_until(c->connect_deadline, now));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			return -errno;
		if (soerr)
			return -soerr;
		conn_established(c);
	}
	return 0;
}

int pulsemq_connect(struct pulsemq_conn **out, const char *host, int port,
                    const struct pulsemq_options *opt, char *err, size_t errlen)
{
	*out = NULL;
	if (!host)
		host = PULSEMQ_DEFAULT_HOST;
	if (port <= 0 || port > 65535) {
		set_err(err, errlen, host, port, "bad port");
		return -EINVAL;
	}
	struct pulsemq_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (opt)
		c->opt = *opt;
	else
		pulsemq_options_init(&c->opt);
	if (c->opt.max_read_timeouts <= 0)
		c->opt.max_read_timeouts = 1;
	if (c->opt.connect_timeout_ms <= 0)
		c->opt.connect_timeout_ms = 3000;
	if (c->opt.backoff_max_ms < c->opt.backoff_min_ms)
		c->opt.backoff_max_ms = c->opt.backoff_min_ms;
	c->lim = pmq_limits_default;
	c->lim.max_body_bytes = c->opt.max_body_bytes ? c->opt.max_body_bytes
	                                              : pmq_limits_default.max_body_bytes;
	c->fd = -1;
	c->state = CS_CLOSED;
	c->next_opaque = (uint32_t)INT32_MIN;
	c->nslots = CONN_SLOTS_MIN;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->rng = (conn_now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c) | 1;
	if (!c->slots) {
		conn_free(c);
		return -ENOMEM;
	}

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	int gai = getaddrinfo(host, portstr, &hints, &res);
	if (gai != 0) {
		set_err(err, errlen, host, port, gai_strerror(gai));
		conn_free(c);
		return -EHOSTUNREACH;
	}
	int rc = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(c->addr))
			continue;
		memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
		c->addrlen = ai->ai_addrlen;
		rc = conn_first_connect(c);
		if (rc == 0)
			break;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		c->state = CS_CLOSED;
	}
	freeaddrinfo(res);
	if (rc < 0) {
		set_err(err, errlen, host, port, strerror(-rc));
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void pulsemq_close(struct pulsemq_conn *c)
{
	if (!c)
		return;
	c->no_reconnect = true;
	c->dispatching = 0;
	conn_fail(c, -ECANCELED);
	conn_free(c);
}

int32_t pulsemq_checksum(const void *data, size_t len)
{
	return pmq_checksum(data, len);
}
