/*
 * config_value.h - the pure parsing helpers behind config.c's table.
 *
 * No state, no I/O: each function reads a string and returns 0 or -EINVAL /
 * -ERANGE. Kept apart from the table so the table stays readable.
 */
#ifndef PMQ_CONFIG_VALUE_H
#define PMQ_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A decimal integer, optionally followed by K, M or G (binary multiples,
 * either case) when sizes is true. No sign unless min < 0, no spaces, no
 * trailing text. -EINVAL: ill-formed; -ERANGE: outside [min, max].
 */
int config_parse_int(const char *s, bool sizes, int64_t min, int64_t max, int64_t *out);

/* yes/no/true/false/on/off/1/0, any case. */
int config_parse_bool(const char *s, bool *out);

/* "1G", "8M", "64K" when v is such a multiple, else plain digits. */
void config_format_size(int64_t v, char *buf, size_t cap);

/* Levenshtein distance with adjacent transpositions, case-insensitive. */
size_t config_edit_distance(const char *a, size_t alen, const char *b);

#endif
