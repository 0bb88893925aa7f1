/*
 * tsan.h - tell ThreadSanitizer about hand-offs through Concurrency Kit.
 *
 * ck's loads and stores are volatile accesses plus fences, which TSan cannot
 * see as synchronisation. Around every pointer passed through a ck ring we
 * say "release" before enqueue and "acquire" after dequeue; outside TSan
 * builds these are nothing.
 */
#ifndef PMQ_TSAN_H
#define PMQ_TSAN_H

#include <config.h>

#ifdef PMQ_TSAN
#include <sanitizer/tsan_interface.h>
#define PMQ_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define PMQ_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define PMQ_TSAN_RELEASE(addr) ((void)(addr))
#define PMQ_TSAN_ACQUIRE(addr) ((void)(addr))
#endif

#endif
