/*
 * futex_ec.h - the ck_ec_ops that make a Concurrency Kit event count sleep
 * on a Linux futex and read CLOCK_MONOTONIC.
 *
 * Use pmq_ec_mp as the mode for event counts with several incrementers.
 * The slow path (ck_ec*_wait_slow in libck) spins briefly, then sleeps in
 * futex waits with growing timeouts (we start at 1 ms), so a lost futex
 * wake costs latency, never a hang.
 */
#ifndef PMQ_FUTEX_EC_H
#define PMQ_FUTEX_EC_H

#include <ck_ec.h>

extern const struct ck_ec_ops pmq_ec_ops;
extern const struct ck_ec_mode pmq_ec_mp;

#endif
