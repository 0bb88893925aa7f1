/*
 * push.h - what the broker may do to a session beyond answering a request
 * (push.c; the calls are declared in runtime.h): push unsolicited bytes
 * (e.g. a group's notify), close it, and hear when it closes.
 *
 * Promises: pushes and closes travel through the session's IO thread's
 * mailbox like answers, so only that thread touches the session; a handle
 * whose session has gone is dropped there. The close hook runs on the IO
 * thread as the session is freed, once per session, whatever the reason.
 */
#ifndef PMQ_PUSH_H
#define PMQ_PUSH_H

#include "server/runtime/iomsg.h"

struct io_thread;
struct session;

/* The IO thread's side: an IOM_PUSH or IOM_CLOSE taken from its mailbox. */
void push_on_mail(struct io_thread *io, struct io_msg *m);
/* session.c, as a session is freed: tells the broker's close hook. */
void push_session_closed(const struct session *s);

#endif
