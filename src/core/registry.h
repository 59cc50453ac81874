/*
 * registry.h - the stage descriptors, defined in src/stages/.
 *
 * The registry lives in core but the stages depend on core, not the other
 * way round: core only sees these declarations.
 */
#ifndef WINNOW_CORE_REGISTRY_H
#define WINNOW_CORE_REGISTRY_H

#include "winnow/stage.h"

extern const struct wn_stage_type wn_stage_read;
extern const struct wn_stage_type wn_stage_filter;
extern const struct wn_stage_type wn_stage_tokenize;
extern const struct wn_stage_type wn_stage_detokenize;
extern const struct wn_stage_type wn_stage_dedup;
extern const struct wn_stage_type wn_stage_shard;
/* The implicit sink: JSONL to standard output. */
extern const struct wn_stage_type wn_stage_write;

#endif
