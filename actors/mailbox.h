/*
 * mailbox.h - the inbox of an actor's thread (one per IO thread).
 *
 * Promises:
 *  - Many producers, one consumer: any thread may post, only the owning
 *    thread takes. Posting never blocks and never allocates; a full mailbox
 *    says so and the poster decides (retry later, or count and drop only
 *    what may be dropped).
 *  - Publish, then notify, and notify only a sleeper: the eventfd is written
 *    only when the owner has announced it is about to sleep in epoll_wait,
 *    so a busy owner is never woken by syscall.
 *  - Messages are pointers; what they point to belongs to the receiver
 *    once taken.
 */
#ifndef PMQ_MAILBOX_H
#define PMQ_MAILBOX_H

#include <stdbool.h>

struct mailbox;

/* capacity: how many messages may wait (rounded up internally; at least
 * capacity fit). Returns 0 or -errno. */
int mailbox_create(struct mailbox **out, unsigned capacity);
void mailbox_destroy(struct mailbox *mb);

/* The eventfd the owner adds to its epoll set (EPOLLIN). */
int mailbox_fd(const struct mailbox *mb);

/* Any thread. false: full, nothing was posted. */
bool mailbox_post(struct mailbox *mb, void *msg);

/* Owner only. NULL when empty. */
void *mailbox_take(struct mailbox *mb);

/*
 * Owner only, around epoll_wait:
 *   if (mailbox_prepare_sleep(mb)) { epoll_wait(..., timeout); }
 *   mailbox_woke(mb);              // clears the flag, drains the eventfd
 *   while ((m = mailbox_take(mb))) ...
 * prepare_sleep returns false when messages are already waiting (then do
 * not sleep: poll epoll with timeout 0).
 */
bool mailbox_prepare_sleep(struct mailbox *mb);
void mailbox_woke(struct mailbox *mb);

/*
 * mailbox_woke() in two halves, for an owner that registered the eventfd
 * EDGE-triggered (every eventfd write is a new edge): after epoll_wait call
 * mailbox_awake() (clears the flag), and mailbox_drain_fd() only when epoll
 * reported the eventfd. A wake-up caused by a socket then costs no read()
 * of an empty eventfd. With a level-triggered registration use
 * mailbox_woke(): an undrained eventfd would keep epoll_wait returning.
 */
void mailbox_awake(struct mailbox *mb);
void mailbox_drain_fd(struct mailbox *mb);

/* Messages waiting now (approximate, for stats). */
unsigned mailbox_depth(const struct mailbox *mb);

#endif
