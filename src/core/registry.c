/*
 * registry.c - the stage types winnow knows, in the order help lists them.
 */
#include <string.h>

#include "core/registry.h"

static const struct wn_stage_type *const types[] = {
	&wn_stage_read,
	&wn_stage_filter,
	&wn_stage_dedup,
	&wn_stage_tokenize,
	&wn_stage_detokenize,
	&wn_stage_shard,
};

const struct wn_stage_type *const *wn_stage_types(size_t *n)
{
	*n = sizeof(types) / sizeof(types[0]);
	return types;
}

const struct wn_stage_type *wn_stage_find(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i]->name, name) == 0)
			return types[i];
	return NULL;
}
