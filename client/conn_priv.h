/*
 * conn_priv.h - the inside of struct pulsemq_conn, shared by the files that
 * make up one connection: conn.c (life: connect, loss, reconnect, timers,
 * liveness), opaque.c (pending requests by opaque, deadlines) and wire.c
 * (buffers, writing, reading and decoding). Not installed.
 */
#ifndef PMQ_CLIENT_CONN_PRIV_H
#define PMQ_CLIENT_CONN_PRIV_H

#include <sys/socket.h>

#include "client/conn.h"
#include "protocol/protocol.h"

#define CONN_READ_CHUNK 65536   /* bytes offered to one recv() */
#define CONN_READ_ROUNDS 16     /* recv()s per process call before yielding */
#define CONN_SLOTS_MIN 64       /* first opaque table size */
#define CONN_FIFO_MIN 64
#define CONN_OUT_MIN 16384
#define NS_PER_MS 1000000ull

enum conn_state { CS_CONNECTING, CS_CONNECTED, CS_WAITING, CS_CLOSED };

struct slot {
	pulsemq_callback *cb;
	void *arg;
	uint64_t deadline;   /* ns, 0 = none */
	int32_t opaque;
	bool used;
	bool heartbeat;      /* ours: its answer only proves liveness */
};

struct pulsemq_conn {
	struct pulsemq_options opt;
	struct pmq_limits lim;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	enum conn_state state;
	bool no_reconnect;

	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap;

	struct slot *slots;
	uint32_t nslots;     /* power of two */
	size_t npending;
	uint32_t next_opaque; /* as unsigned so that wrapping is defined */

	int32_t *fifo;       /* opaques in submission (= deadline) order */
	size_t fifo_head, fifo_len, fifo_cap;

	uint64_t last_read, last_write, read_ref; /* ns; read_ref: last miss */
	int read_timeouts;
	uint64_t retry_at, connect_deadline;
	int attempt;
	uint64_t rng;

	/* registration (register.c) */
	char *reg_id, *reg_body;
	size_t reg_len;
	bool reg_full_sent;      /* on this connection */
	uint64_t reg_last;       /* ns: the last registration heartbeat sent */

	int dispatching;
	int deferred_err;
	int delivered;
	struct pulsemq_conn_stats st;
};

uint64_t conn_now_ns(void);
void conn_emit(struct pulsemq_conn *c, enum pulsemq_event_type type, int error,
               int delay_ms, int attempt);
/* Closes, drops the buffers, completes everything pending with err, then
 * waits to reconnect (or stays closed). Deferred while a callback runs. */
void conn_fail(struct pulsemq_conn *c, int err);

/* opaque.c */
struct slot *slot_find(struct pulsemq_conn *c, int32_t opaque);
int slot_reserve(struct pulsemq_conn *c, pulsemq_callback *cb, void *arg,
                 bool heartbeat, int32_t *opaque);
void slot_complete(struct pulsemq_conn *c, struct slot *s, int status,
                   bool value, const char *body, size_t len);
/* Completes requests whose deadline passed (submission order). */
void conn_expire(struct pulsemq_conn *c, uint64_t now);

/* register.c */
bool conn_registered(const struct pulsemq_conn *c);
/* Sends the registration: in full when not yet sent on this connection,
 * else a LEN 0 refresh. 0 or -errno. */
int conn_reg_send(struct pulsemq_conn *c);
/* The connection was (re)established or lost: the next send is full. */
void conn_reg_reset(struct pulsemq_conn *c);
void conn_reg_free(struct pulsemq_conn *c);
/* A notify from the broker: an event. */
void conn_reg_notify(struct pulsemq_conn *c, const struct pmq_msg *m);

/* wire.c */
int conn_send_heartbeat(struct pulsemq_conn *c);
void conn_read(struct pulsemq_conn *c);

#endif
