/*
 * config_priv.h - between config.c (the table, setting one key) and
 * config_load.c (command line and INI file). Not for other modules.
 */
#ifndef PMQ_CONFIG_PRIV_H
#define PMQ_CONFIG_PRIV_H

#include <stddef.h>
#include <stdio.h>

#include "server/daemon/config.h"

/* Every system key to its default. 0, or -1 with err (a bad table row). */
int config_defaults(struct settings *c, char *err, size_t errlen);

/* key (klen bytes, not terminated) = value for the [system] section or -o.
 * 0, or -1 with the message in err. */
int config_set(struct settings *c, const char *key, size_t klen,
               const char *value, char *err, size_t errlen);

/* The [topic=NAME] section, created with "use the system value" fields when
 * new. NULL with err when NAME is not a valid topic name or memory ran out. */
struct settings_topic *config_topic_get(struct settings *c, const char *name,
                                          size_t len, char *err, size_t errlen);

/* key = value inside a [topic=NAME] section. */
int config_topic_set(struct settings_topic *t, const char *key, size_t klen,
                     const char *value, char *err, size_t errlen);

/* The generated listing of every key, for -h. */
void config_print_keys(FILE *out);

/* The table itself, for tools that generate documentation from it
 * (dist/config-doc.awk): one key per line, tab-separated
 * SECTION NAME DEFAULT EXPECTED HELP; SECTION is "system" or "topic", and
 * topic keys have an empty DEFAULT (unset means the [system] value). */
void config_dump_table(FILE *out);

/* The settings in effect as a config file that config_load() reads back to
 * the same settings: every key with its help, then the topic sections. */
void config_print_ini(const struct settings *c, FILE *out);

#endif
