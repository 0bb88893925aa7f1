/* futex_ec.c - futex wait/wake and the monotonic clock for ck_ec. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "pool/futex_ec.h"

static int ec_gettime(const struct ck_ec_ops *ops, struct timespec *out)
{
	(void)ops;
	return clock_gettime(CLOCK_MONOTONIC, out);
}

/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, which is
 * what ck_ec hands us; plain FUTEX_WAIT would want a relative one. */
static void futex_wait_abs(const uint32_t *addr, uint32_t expected,
                           const struct timespec *deadline)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
	        expected, deadline, NULL, FUTEX_BITSET_MATCH_ANY);
}

static void futex_wake_all(const uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
	        NULL, NULL, 0);
}

static void ec_wait32(const struct ck_ec_wait_state *st, const uint32_t *addr,
                      uint32_t expected, const struct timespec *deadline)
{
	(void)st;
	futex_wait_abs(addr, expected, deadline);
}

/* x86-64 is little endian: the futex word is the counter's low half, which
 * holds the waiter flag (bit 0) and the low bits of the value. */
static void ec_wait64(const struct ck_ec_wait_state *st, const uint64_t *addr,
                      uint64_t expected, const struct timespec *deadline)
{
	(void)st;
	futex_wait_abs((const uint32_t *)(const void *)addr, (uint32_t)expected,
	               deadline);
}

static void ec_wake32(const struct ck_ec_ops *ops, const uint32_t *addr)
{
	(void)ops;
	futex_wake_all(addr);
}

static void ec_wake64(const struct ck_ec_ops *ops, const uint64_t *addr)
{
	(void)ops;
	futex_wake_all((const uint32_t *)(const void *)addr);
}

const struct ck_ec_ops pmq_ec_ops = {
	.gettime = ec_gettime,
	.wait32 = ec_wait32,
	.wait64 = ec_wait64,
	.wake32 = ec_wake32,
	.wake64 = ec_wake64,
	.busy_loop_iter = 100,
	.initial_wait_ns = 1000000, /* 1 ms, then x8 up to 1 s */
	.wait_scale_factor = 8,
	.wait_shift_count = 0,
};

const struct ck_ec_mode pmq_ec_mp = {
	.ops = &pmq_ec_ops,
	.single_producer = false,
};
