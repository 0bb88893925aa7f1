/*
 * idle.h - reader / writer / all idle states, as Netty's IdleStateHandler.
 *
 * Pure: the IO thread passes its session's stamps (monotonic ms of the last
 * read and of the last byte written) and the time; idle_evaluate() says
 * which idle states hold now, whether each is the first event of its idle
 * spell (the spell ends with the next read, write or either), and when to
 * look again. A period of 0 turns that state off.
 *
 * Like Netty: while a state holds, it is raised again every period (first =
 * false after the first time), and the next look is a whole period later;
 * while it does not, the next look is when it would begin.
 */
#ifndef PMQ_IDLE_H
#define PMQ_IDLE_H

#include <stdbool.h>
#include <stdint.h>

enum idle_kind { IDLE_READER, IDLE_WRITER, IDLE_ALL, IDLE_KINDS };

struct idle_spec {
	uint64_t period_ms[IDLE_KINDS]; /* 0 = off */
};

/* Per session: for each kind, the activity stamp of the spell in which an
 * event was last raised (so "first" needs no work on every read). */
struct idle_marks {
	uint64_t spell[IDLE_KINDS];
	bool fired[IDLE_KINDS];
};

struct idle_result {
	bool idle[IDLE_KINDS];
	bool first[IDLE_KINDS];
	uint64_t next_ms;       /* when to evaluate again; UINT64_MAX: never */
};

void idle_marks_init(struct idle_marks *m);
void idle_evaluate(const struct idle_spec *spec, struct idle_marks *m,
                   uint64_t last_read_ms, uint64_t last_write_ms,
                   uint64_t now_ms, struct idle_result *out);

#endif
