/*
 * test_idle.c - idle states from read/write stamps, as Netty's
 * IdleStateHandler: which states hold, the first event of a spell, and
 * when to look again.
 */
#include <config.h>

#include <stdint.h>

#include "server/runtime/idle.h"
#include "tests/tap.h"

int main(void)
{
	struct idle_spec sp = { { [IDLE_READER] = 1000, [IDLE_WRITER] = 300, [IDLE_ALL] = 200 } };
	struct idle_marks mk;
	struct idle_result r;

	idle_marks_init(&mk);
	idle_evaluate(&sp, &mk, 0, 0, 100, &r);
	ok(!r.idle[IDLE_READER] && !r.idle[IDLE_WRITER] && !r.idle[IDLE_ALL], "nothing idle yet");
	is(r.next_ms, 200, "next look when all-idle would begin");

	idle_evaluate(&sp, &mk, 0, 0, 200, &r);
	ok(r.idle[IDLE_ALL] && r.first[IDLE_ALL], "all idle at 200, first of its spell");
	ok(!r.idle[IDLE_WRITER] && !r.idle[IDLE_READER], "writer and reader not yet");
	is(r.next_ms, 300, "next look: writer idle at 300 (all idle again at 400)");

	idle_evaluate(&sp, &mk, 0, 0, 400, &r);
	ok(r.idle[IDLE_ALL] && !r.first[IDLE_ALL], "still all idle at 400: not first");
	ok(r.idle[IDLE_WRITER] && r.first[IDLE_WRITER], "writer idle, first");

	/* A write ends the writer and all spells, not the reader's. */
	idle_evaluate(&sp, &mk, 0, 450, 500, &r);
	ok(!r.idle[IDLE_ALL] && !r.idle[IDLE_WRITER], "a write ends writer and all idle");
	is(r.next_ms, 650, "next: all idle at 450 + 200");
	idle_evaluate(&sp, &mk, 0, 450, 650, &r);
	ok(r.idle[IDLE_ALL] && r.first[IDLE_ALL], "a new spell: first again");

	idle_evaluate(&sp, &mk, 0, 450, 1000, &r);
	ok(r.idle[IDLE_READER] && r.first[IDLE_READER], "reader idle after 1000 ms without reads");
	idle_evaluate(&sp, &mk, 0, 450, 2000, &r);
	ok(r.idle[IDLE_READER] && !r.first[IDLE_READER], "raised again, not first");
	idle_evaluate(&sp, &mk, 1990, 450, 2000, &r);
	ok(!r.idle[IDLE_READER], "a read ends it");
	idle_evaluate(&sp, &mk, 1990, 450, 2990, &r);
	ok(r.idle[IDLE_READER] && r.first[IDLE_READER], "next reader spell: first");

	struct idle_spec off = { { 0, 0, 0 } };
	idle_evaluate(&off, &mk, 0, 0, 1u << 30, &r);
	ok(!r.idle[IDLE_READER] && !r.idle[IDLE_WRITER] && !r.idle[IDLE_ALL] &&
	   r.next_ms == UINT64_MAX, "periods of 0 turn states off");
	return done_testing();
}
