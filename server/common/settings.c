/*
 * settings.c - the one lookup over struct settings (settings.h).
 */
#include <config.h>

#include <string.h>

#include "server/common/settings.h"

const struct settings_topic *settings_find_topic(const struct settings *c, const char *name,
                                            size_t len)
{
	for (size_t i = 0; i < c->ntopics; i++)
		if (strlen(c->topics[i].name) == len && memcmp(c->topics[i].name, name, len) == 0)
			return &c->topics[i];
	return NULL;
}
