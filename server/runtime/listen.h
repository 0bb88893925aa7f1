/*
 * listen.h - the listening sockets, one per IO thread (SO_REUSEPORT).
 *
 * listen_open_all() binds n sockets to host:port with SO_REUSEPORT so the
 * kernel spreads new connections over the IO threads. With port 0 the first
 * socket picks a free port and the others bind to that one. On failure
 * nothing stays open and err says why (for the terminal).
 */
#ifndef PMQ_LISTEN_H
#define PMQ_LISTEN_H

#include <stddef.h>

int listen_open_all(const char *host, int port, unsigned n, int *fds,
                    int *bound_port, char *err, size_t errlen);

#endif
