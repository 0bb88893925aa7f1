/*
 * config_value.c - number, size and bool parsing, and the edit distance used
 * for "did you mean" (config_value.h).
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/daemon/config_value.h"

int config_parse_int(const char *s, bool sizes, int64_t min, int64_t max, int64_t *out)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, mult = 1;

	if (*p == '-' && min < 0) {
		neg = true;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (sizes && *p) {
		switch (*p) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return -EINVAL;
		}
		p++;
	}
	if (*p)
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX / mult)
		return -ERANGE;
	int64_t r = (int64_t)(v * mult);
	if (neg)
		r = -r;
	if (r < min || r > max)
		return -ERANGE;
	*out = r;
	return 0;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

void config_format_size(int64_t v, char *buf, size_t cap)
{
	static const struct { int64_t mult; char suffix; } units[] = {
		{ 1ll << 30, 'G' }, { 1ll << 20, 'M' }, { 1ll << 10, 'K' },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (v != 0 && v % units[i].mult == 0) {
			snprintf(buf, cap, "%" PRId64 "%c", v / units[i].mult, units[i].suffix);
			return;
		}
	}
	snprintf(buf, cap, "%" PRId64, v);
}

/* Keys are short (< 64 bytes); longer input is compared on its prefix, which
 * only makes a suggestion less likely. */
#define DIST_MAX_LEN 64

size_t config_edit_distance(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	size_t d[DIST_MAX_LEN + 1][DIST_MAX_LEN + 1];

	if (alen > DIST_MAX_LEN)
		alen = DIST_MAX_LEN;
	if (blen > DIST_MAX_LEN)
		blen = DIST_MAX_LEN;
	for (size_t i = 0; i <= alen; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= blen; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= alen; i++) {
		for (size_t j = 1; j <= blen; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[alen][blen];
}
