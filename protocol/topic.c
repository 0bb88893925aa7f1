/* topic.c - topic (and group) names: they become directory names on disk. */
#include <config.h>

#include "protocol/protocol.h"

static bool topic_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

bool pmq_topic_valid(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > PMQ_TOPIC_MAX_BYTES || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!topic_char((unsigned char)name[i]))
			return false;
	return true;
}
