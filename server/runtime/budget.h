/*
 * budget.h - bounds on what unfinished input may hold (budget.c).
 *
 * Memory: each session's input may grow to max_line_bytes + max_body_bytes,
 * so 10,000 sessions could ask for ~10 GB (300 sessions with half a 1 MB put
 * each took 340 MB). All sessions' input buffers together are bounded by
 * max_buffer_bytes: each session's first BUDGET_FREE_BYTES are not counted
 * (max_connections bounds those), the rest is. A session whose buffer may
 * not grow is answered 503 naming the setting and closed (buffer_budget).
 *
 * Time: a request begun (a partial line or body in the buffer) must be
 * complete within frame_timeout_ms, or the session is answered 400 and
 * closed (frame_timeout): a client trickling one byte a second cannot hold
 * a connection slot for ever. Checked on every read and at the session's
 * idle checks (the timer's), so a silent one is caught too.
 *
 * All on the session's IO thread, but the byte total is shared (atomic).
 */
#ifndef PMQ_BUDGET_H
#define PMQ_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/runtime/rt.h"

struct session;

/* Not counted per session: session.c's first input buffer (IN_BUF_MIN). */
#define BUDGET_FREE_BYTES 16384

/* The buffer goes from old_cap to new_cap bytes (new_cap 0: freed). false
 * when growing would pass max_buffer_bytes: nothing is counted then, and
 * the buffer must stay as it is. Shrinking always succeeds. */
bool budget_input_resize(size_t old_cap, size_t new_cap);
/* The buffer is full and may not grow: answer 503 and close. */
void budget_input_refuse(struct io_thread *io, struct session *s);
/* After decoding: start, restart (progressed: a request completed) or stop
 * the frame clock, and close the session once it ran past the deadline. */
void budget_frame_note(struct io_thread *io, struct session *s, bool progressed);
/* The timer's look at s: closes it when its frame is overdue; returns the
 * next check, next or earlier. */
uint64_t budget_frame_check(struct io_thread *io, struct session *s, uint64_t now,
                            uint64_t next);

#endif
