/*
 * listen.h - the listening socket, one for every IO thread.
 *
 * listen_open_all() binds ONE socket to host:port, without SO_REUSEPORT, so
 * a port held by any other process (another pulsemqd included) fails the
 * bind with EADDRINUSE instead of being shared: the kernel would otherwise
 * hand a second broker a share of our new connections. fds[0..n-1] are dups
 * of that socket, one per IO thread (each closes its own at shutdown; the
 * socket stops listening when the last is closed). The IO threads wait on
 * it with EPOLLEXCLUSIVE (io.c), so a connection wakes one thread, and the
 * one that accepts hands connections round the threads. On failure nothing
 * stays open and err says why (for the terminal).
 */
#ifndef PMQ_LISTEN_H
#define PMQ_LISTEN_H

#include <stddef.h>

int listen_open_all(const char *host, int port, unsigned n, int *fds,
                    int *bound_port, char *err, size_t errlen);

/*
 * The admin socket (protocol.md "Administration and availability"): a Unix
 * stream socket at path, mode 0600 before it is reachable (fchmod before
 * bind: the inode is created with the socket's mode, never wider for a
 * moment). A stale socket file (nobody accepts on it) is replaced; one a
 * live process serves, or any other kind of file, fails with EADDRINUSE /
 * EEXIST. *out is non-blocking and close-on-exec.
 */
int listen_open_unix(const char *path, int *out, char *err, size_t errlen);

#endif
