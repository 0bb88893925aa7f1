/*
 * server.h - the runtime: IO threads, sessions, pools, timer thread.
 *
 * main() (server/main.c) loads the config, daemonises, starts the store
 * service, then:
 *   server_start(cfg)   binds the listeners (errors reach the terminal),
 *                       starts pools, IO threads and the timer thread, and
 *                       writes port_file once connections are accepted;
 *   server_bound_port() the port actually bound (port 0 = any free port);
 *   server_stop()       graceful: stop accepting, answer or finish what is
 *                       queued, close sessions, join every thread; bounded
 *                       in time;
 *   server_stats_line() for STATUS= / logs.
 * Signals are not handled here: main.c owns them and calls server_stop().
 */
#ifndef PMQ_SERVER_H
#define PMQ_SERVER_H

#include <stddef.h>

#include "server/config.h"

int server_start(const struct pmq_config *cfg);
int server_bound_port(void);
void server_stop(void);
size_t server_stats_line(char *buf, size_t cap);

#endif
