/*
 * futex_ec.h - the futex calls under the pool's event count (pool.c).
 *
 * The pool keeps its own sleep/wake protocol (a sequence word, a count of
 * workers about to sleep and a "wake in flight" flag; see pool.c and
 * doc/runtime-primitives.md); these are only the two system calls, private
 * futexes on a 32-bit word.
 */
#ifndef PMQ_FUTEX_EC_H
#define PMQ_FUTEX_EC_H

#include <stdint.h>

/* Sleeps while *addr == expected, at most timeout_ms (or until woken, or a
 * signal: callers re-check their condition in any case). */
void futex_ec_wait(const uint32_t *addr, uint32_t expected, unsigned timeout_ms);

/* Wakes at most n threads sleeping on addr. */
void futex_ec_wake(const uint32_t *addr, int n);

#endif
