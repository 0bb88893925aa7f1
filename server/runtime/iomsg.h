/*
 * iomsg.h - what other threads post to an IO thread's mailbox.
 *
 * Every message starts with struct io_msg: its type and the handle of the
 * session it is for (ignored by control messages). The owner of the mailbox
 * looks the handle up and drops the message when the generation is stale.
 */
#ifndef PMQ_IOMSG_H
#define PMQ_IOMSG_H

#include "actors/handle.h"

enum io_msg_type {
	IOM_REPLY = 1,   /* struct outbuf: a response for the session */
	IOM_IDLE_CHECK,  /* struct idle_timer: the timer says "look now" */
	IOM_CTRL,        /* struct io_ctrl: shutdown phases */
	IOM_PING,        /* struct probe: the watchdog asks "alive?" (probe.h) */
	IOM_STALL,       /* timer only: `debug sleep timer` (struct timer_stall) */
	IOM_PUSH,        /* struct outbuf: unsolicited output from the broker (push.h) */
	IOM_CLOSE,       /* the broker closes the session (push.h) */
	IOM_WAKE,        /* nothing but a wake: answers wait on the overflow list */
	IOM_ADOPT,       /* struct io_adopt: a connection another IO thread accepted */
};

struct io_msg {
	enum io_msg_type type;
	struct handle h;
};

#endif
