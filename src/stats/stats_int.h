/*
 * stats_int.h - what the files of src/stats share: walking the members of
 * a validated JSON object, bounded name tables, and the counters of one
 * scope.  Not installed; the functions are exported (wn_st_ prefix) only so
 * that the unit tests can reach them.
 */
#ifndef WN_STATS_STATS_INT_H
#define WN_STATS_STATS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "filter/filter.h"
#include "winnow/buf.h"
#include "winnow/json.h"
#include "winnow/stats.h"

/* ---- members of an object (scan.c) ---------------------------------------- */

/*
 * The members of a JSON object in order, for input that wn_json_validate
 * accepted (as every record from a reader is): keys as spans of the raw
 * bytes between the quotes, values as wn_json_get gives them.  Duplicate
 * keys come out each time; as in jansson, the last one is the one that
 * counts.
 */
struct wn_st_member {
	size_t key_off, key_len; /* between the quotes */
	int key_escaped;         /* the key has a backslash: unescape it */
	struct wn_json_value val;
};

struct wn_st_iter {
	const char *p;
	size_t n, pos;
};

/* 1 when p[0..n) is an object (iteration can start), 0 when not. */
int wn_st_iter_init(struct wn_st_iter *it, const char *p, size_t n);
/* 1 with the next member, 0 at the end. */
int wn_st_iter_next(struct wn_st_iter *it, struct wn_st_member *m);
/* The elements of the validated JSON array p[0..n). */
uint64_t wn_st_array_len(const char *p, size_t n);

/* ---- bounded name tables (acc.c) ------------------------------------------ */

struct wn_st_entry {
	char *name;
	size_t len;
	uint64_t hash;
	uint64_t records, chars;
	uint64_t stamp; /* the record that last counted it: duplicates count once */
};

/* Names in the order they were first seen, at most max of them. */
struct wn_st_map {
	struct wn_st_entry *v;
	size_t n, max;
	uint32_t *slot; /* open addressing: index + 1 into v, 0 = free */
	size_t mask;
	uint64_t untracked;
};

int wn_st_map_init(struct wn_st_map *m, size_t max);
void wn_st_map_release(struct wn_st_map *m);
void wn_st_map_reset(struct wn_st_map *m);
/* The entry of a name, added when new; *e = NULL when it is not tracked
 * (the table is full, or the name longer than WN_STATS_MAX_NAME).
 * WN_ENOMEM. */
int wn_st_map_get(struct wn_st_map *m, const char *name, size_t len, struct wn_st_entry **e);

/* ---- one scope's counters (acc.c) -------------------------------------------- */

struct wn_st_acc {
	uint64_t records, skipped, bytes, file_bytes, text_bytes, chars, words, lines, tokens;
	uint64_t no_text, with_tokens, shards;
	struct wn_hist chars_hist, words_hist, tokens_hist;
	struct wn_st_map fields, langs;
};

int wn_st_acc_init(struct wn_st_acc *a, size_t max_fields, size_t max_langs);
void wn_st_acc_release(struct wn_st_acc *a);
void wn_st_acc_reset(struct wn_st_acc *a);
/* Add src's counts to dst (names in src's order, so the result does not
 * depend on how records were spread over accumulators). */
int wn_st_acc_merge(struct wn_st_acc *dst, const struct wn_st_acc *src);

/* A thread's scratch space for analysing records. */
struct wn_st_scratch {
	struct wn_buf text, key, lang;
	struct wn_fl_words words;
};

void wn_st_scratch_init(struct wn_st_scratch *s);
void wn_st_scratch_release(struct wn_st_scratch *s);

/* What the analysis of a record looks for. */
struct wn_st_config {
	const char *text_field, *ids_field;
	size_t text_len, ids_len;
};

/* Count one validated JSON object into a.  WN_ENOMEM only. */
int wn_st_record(struct wn_st_acc *a, struct wn_st_scratch *s, const struct wn_st_config *c,
                 const char *p, size_t n);

/* ---- the collector's state, for report.c (collect.c) -------------------------- */

/* Each split has its own histograms (3 x 58 KiB): a manifest with more
 * splits than this is refused rather than allowed to take memory. */
#define WN_ST_MAX_SCOPES 256

struct wn_st_view {
	const char *name; /* the split; NULL for records in none */
	const struct wn_st_acc *acc;
};

/* The scopes in the order they were made (at most WN_ST_MAX_SCOPES). */
size_t wn_st_scopes(const struct wn_stats *s, struct wn_st_view *out);
void wn_st_datasets(const struct wn_stats *s, const struct wn_stats_dataset **d, size_t *n,
                    uint64_t *inputs);
/* The tables' sizes: distinct fields and languages tracked. */
void wn_st_limits(const struct wn_stats *s, size_t *fields, size_t *langs);

#endif
