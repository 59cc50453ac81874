/*
 * ids.c - growable arrays of token ids.
 */
#include <stdlib.h>

#include "winnow/ids.h"
#include "winnow/status.h"

void wn_ids_init(struct wn_ids *ids)
{
	ids->v = NULL;
	ids->n = 0;
	ids->cap = 0;
}

void wn_ids_release(struct wn_ids *ids)
{
	free(ids->v);
	wn_ids_init(ids);
}

int wn_ids_reserve(struct wn_ids *ids, size_t extra)
{
	if (extra <= ids->cap - ids->n)
		return WN_OK;
	if (extra > SIZE_MAX / sizeof(uint32_t) - ids->n)
		return WN_ENOMEM;
	size_t cap = ids->cap ? ids->cap : 256;
	while (cap - ids->n < extra)
		cap = cap > SIZE_MAX / sizeof(uint32_t) / 2 ? ids->n + extra : cap * 2;
	uint32_t *v = realloc(ids->v, cap * sizeof(*v));
	if (!v)
		return WN_ENOMEM;
	ids->v = v;
	ids->cap = cap;
	return WN_OK;
}

int wn_ids_push(struct wn_ids *ids, uint32_t id)
{
	if (ids->n == ids->cap)
		WN_TRY(wn_ids_reserve(ids, 1));
	ids->v[ids->n++] = id;
	return WN_OK;
}
