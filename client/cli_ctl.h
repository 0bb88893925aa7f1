/*
 * cli_ctl.h - `pulsemq ctl status|online|offline|drain SECONDS`: the admin
 * commands of protocol.md ("Administration and availability") over the
 * daemon's admin socket (cli_ctl.c).
 */
#ifndef PMQ_CLI_CTL_H
#define PMQ_CLI_CTL_H

#include <stdbool.h>

/* Where the package's daemon listens (its unit's RuntimeDirectory). */
#define CLI_CTL_DEFAULT_SOCKET "/run/pulsemq/admin.sock"

/* argv[0] is "ctl". Returns the exit status: 0, 1 the broker refused (its
 * code and text on stderr), 2 usage or connection error. */
int cli_ctl(int argc, const char *const *argv, const char *socket_path, bool json,
            int timeout_ms);

#endif
