/*
 * config.h - THE table of pulsemqd's settings and what reads it.
 *
 * Promises:
 *  - One table in config.c declares each key once: name, type, default,
 *    range, one line of help. --help, -o KEY=VALUE, the config file (INI via
 *    libinih), `stats config`, the generated config file and pulsemq.conf(5)
 *    all read that table.
 *  - An unknown key or a value out of range stops start-up with a message
 *    naming the key, the allowed range and the nearest known key; the caller
 *    exits with status 2.
 *  - The values land in struct settings (server/common/settings.h), which
 *    is read-only once config_load() has returned.
 */
#ifndef PMQ_DAEMON_CONFIG_H
#define PMQ_DAEMON_CONFIG_H

#include <stddef.h>

#include "server/common/sbuf.h"
#include "server/common/settings.h"

/*
 * Parses the command line (-c FILE, -l, -p, -D, -t, -d, -P, -o KEY=VALUE, -v,
 * -h, -V, --scrub) and the config file into c, defaults first. Returns 0 to run,
 * 1 when the caller should exit 0 (--help, -V or --print-config printed), or -1 with a
 * one-line message in err (unknown key with a "did you mean", value out of
 * range with the range, unreadable file): the caller prints it and exits 2.
 */
int config_load(struct settings *c, int argc, char **argv,
                char *err, size_t errlen);
void config_free(struct settings *c);

/* "key value\r\n" for every key, for `stats config`, appended to out
 * through stats_line() (server/common/counters.h). */
void config_format_stats(const struct settings *c, struct sbuf *out);

#endif
