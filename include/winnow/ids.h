/*
 * ids.h - a growable array of token ids, as carried by tokenized records.
 * Embedded by value: wn_ids_init / wn_ids_release.
 */
#ifndef WINNOW_IDS_H
#define WINNOW_IDS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wn_ids {
	uint32_t *v;
	size_t n, cap;
};

void wn_ids_init(struct wn_ids *ids);
void wn_ids_release(struct wn_ids *ids);
/* Make room for `extra` more ids; WN_ENOMEM on failure. */
int wn_ids_reserve(struct wn_ids *ids, size_t extra);
int wn_ids_push(struct wn_ids *ids, uint32_t id);

#ifdef __cplusplus
}
#endif
#endif
