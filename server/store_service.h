/*
 * store_service.h - starts and stops what serves put / get / offset.
 *
 * main() calls store_service_start() after the config is loaded and before
 * the listeners open (recovery happens here: a failure stops start-up), and
 * store_service_stop() after the pools have drained. It registers the
 * processors for put, get, offset (and transaction when supported) through
 * processor_register(), and owns the flush thread.
 */
#ifndef PMQ_STORE_SERVICE_H
#define PMQ_STORE_SERVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "server/config.h"

/* 0, or -errno with the reason already logged. */
int store_service_start(const struct pmq_config *cfg);
/* pulsemqd --scrub: verifies cfg->data_dir without opening the store (no
 * recovery runs), printing each finding and a summary on stdout, errors on
 * stderr. Returns the exit status: 0 every record valid, 1 bad records
 * found or the scrub could not run. */
int store_service_scrub(const struct pmq_config *cfg);
/* Flushes, answers what waits for a flush, and closes the store. */
void store_service_stop(void);
/* For `stats`: appends "key value\r\n" lines to buf (at most cap bytes) and
 * returns the bytes written. */
size_t store_service_stats(char *buf, size_t cap);
/* Timer-driven housekeeping (retention); called off the IO threads. */
void store_service_tick(void);

/* For the watchdog (liveness.h), any thread: whether puts wait for a group
 * commit now, and how many group commits have finished so far. */
void store_service_commit_progress(bool *waiting, uint64_t *finished);
/* `debug sleep flush MS`: the next group commit stops for ms before its
 * fsync, as a hung disk would. */
void store_service_debug_stall(int32_t ms);

#endif
