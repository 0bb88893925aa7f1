/*
 * register.c - the connection's registration (protocol.md "Client
 * registration" [ext], doc/client.md): the full set on every (re)connect,
 * LEN 0 refreshes every heartbeat_interval_ms, the full set again when a
 * refresh is answered 404, notify pushes as events.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/conn_priv.h"

void pulsemq_client_id(char *buf, size_t cap)
{
	char host[64] = "host";
	struct timespec ts;

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "host");
	host[sizeof host - 1] = '\0';
	/* a host name may hold what a client id may not */
	for (char *p = host; *p; p++)
		if (!pmq_client_id_valid(p, 1))
			*p = '-';
	clock_gettime(CLOCK_REALTIME, &ts);
	unsigned r = (unsigned)ts.tv_nsec ^ (unsigned)getpid() * 2654435761u;
	snprintf(buf, cap, "%s@%ld@%08x", host, (long)getpid(), r);
}

bool conn_registered(const struct pulsemq_conn *c)
{
	return c->reg_id != NULL;
}

void conn_reg_reset(struct pulsemq_conn *c)
{
	c->reg_full_sent = false;
}

void conn_reg_free(struct pulsemq_conn *c)
{
	free(c->reg_id);
	free(c->reg_body);
	c->reg_id = c->reg_body = NULL;
}

static void reg_event(struct pulsemq_conn *c, int status)
{
	struct pulsemq_event ev = { .type = PULSEMQ_EV_REGISTERED, .error = status };

	if (c->opt.on_event)
		c->opt.on_event(c, &ev, c->opt.event_arg);
}

/* The answer to a registration heartbeat (full or refresh). */
static void reg_answer(struct pulsemq_conn *c, const struct pulsemq_response *r, void *arg)
{
	(void)arg;
	if (r->status == 404 && conn_registered(c)) {
		/* the broker lost it (expired, restarted): send it all */
		c->reg_full_sent = false;
		(void)conn_reg_send(c);
		return;
	}
	if (r->status > 0)
		reg_event(c, r->status);
}

int conn_reg_send(struct pulsemq_conn *c)
{
	char line[PULSEMQ_CLIENT_ID_MAX + 64];
	bool full = !c->reg_full_sent;
	size_t len = full ? c->reg_len : 0;
	int32_t op;

	if (!conn_registered(c) || c->state != CS_CONNECTED)
		return -ENOTCONN;
	int rc = slot_reserve(c, reg_answer, NULL, true, &op);
	if (rc < 0)
		return rc;
	int n = snprintf(line, sizeof line, "heartbeat %s %zu %d\r\n", c->reg_id, len, (int)op);
	char *p = conn_out_space(c, (size_t)n + len);
	if (!p) {
		conn_unreserve(c, op);
		return -ENOMEM;
	}
	memcpy(p, line, (size_t)n);
	memcpy(p + n, c->reg_body, len);
	conn_out_commit(c, (size_t)n + len);
	c->reg_full_sent = true;
	c->reg_last = conn_now_ns();
	c->st.heartbeats_sent++;
	return pulsemq_flush(c);
}

int pulsemq_register(struct pulsemq_conn *c, const char *client_id, const char *body)
{
	size_t len = body ? strlen(body) : 0;

	if (len == 0) {
		conn_reg_free(c);
		return 0;
	}
	if (!client_id || !pmq_client_id_valid(client_id, strlen(client_id)) ||
	    len > PMQ_REG_MAX_BODY_BYTES)
		return -EINVAL;
	char *id = strdup(client_id), *b = malloc(len);
	if (!id || !b) {
		free(id);
		free(b);
		return -ENOMEM;
	}
	memcpy(b, body, len);
	conn_reg_free(c);
	c->reg_id = id;
	c->reg_body = b;
	c->reg_len = len;
	c->reg_full_sent = false;
	if (c->state == CS_CONNECTED)
		return conn_reg_send(c);
	return 0;
}

void conn_reg_notify(struct pulsemq_conn *c, const struct pmq_msg *m)
{
	char group[PMQ_TOPIC_MAX_BYTES + 1];
	struct pulsemq_event ev = { .type = PULSEMQ_EV_NOTIFY, .group = group,
	                            .generation = m->generation };

	memcpy(group, m->group.ptr, m->group.len);
	group[m->group.len] = '\0';
	if (c->opt.on_event) {
		c->dispatching++;
		c->opt.on_event(c, &ev, c->opt.event_arg);
		c->dispatching--;
	}
}
