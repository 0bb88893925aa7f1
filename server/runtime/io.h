/*
 * io.h - IO threads (io.c): each owns an epoll set, its dup of the one
 * listening socket, a mailbox and its sessions (accepted by any of them).
 *
 * Promises: only the thread itself touches its sessions; other threads
 * post to its mailbox (io_post*), which wakes it only while it sleeps.
 */
#ifndef PMQ_IO_H
#define PMQ_IO_H

#include <stdbool.h>

#include "server/runtime/rt.h"

struct probe;

int io_create(struct io_thread **out, unsigned idx, int listen_fd);
/* Before io_start: io also accepts admin connections on fd (it owns fd). */
int io_add_admin(struct io_thread *io, int fd);
int io_start(struct io_thread *io);
/* Any thread but io's own: posts m, retrying with a short backoff while
 * the mailbox is full; false after budget_ms (the caller frees m). */
bool io_post_wait(struct io_thread *io, struct io_msg *m, unsigned budget_ms);
/* Any thread: post without waiting; false when the mailbox is full. */
bool io_post(struct io_thread *io, struct io_msg *m);
void io_post_ctrl(struct io_thread *io, enum io_ctrl_op op);
/* Any thread but io's own: delivers an answer. It is posted, retried while
 * the mailbox is full, and after budget_ms (at once while jammed) put on
 * the thread's overflow list instead, which the thread takes every turn:
 * an answer is never lost to a full mailbox, so its session's in-flight
 * count and reserved output always come back. */
struct outbuf;
void io_post_reply(struct io_thread *io, struct outbuf *b, unsigned budget_ms);
/* `debug sleep mailbox MS` (io's own thread): for ms, answers to io find
 * its mailbox full, as if the thread were wedged. */
void io_jam_replies(struct io_thread *io, int32_t ms);
void io_join(struct io_thread *io);
void io_destroy(struct io_thread *io);
struct stats_block *io_stats(struct io_thread *io);
unsigned io_sessions(const struct io_thread *io);
unsigned io_mailbox_depth(const struct io_thread *io);
/* Its liveness probe (probe.h), for liveness.c. */
struct probe *io_probe(struct io_thread *io);
/* Adds the latencies of cmd's answers this IO thread received (queued to
 * answer back on the IO thread) into *into (any thread). */
void io_cmd_latency(const struct io_thread *io, enum pmq_cmd cmd, struct hist *into);

#endif
