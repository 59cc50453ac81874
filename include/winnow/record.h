/*
 * record.h - one record: a JSON object that keeps its raw input bytes.
 *
 * A record holds the bytes it was read as and parses them only when asked.
 * A stage that does not change a record passes those bytes through
 * untouched, so key order, number spelling and escapes survive.  A stage
 * that changes it edits the jansson object (wn_record_object) and calls
 * wn_record_touch; the record is then re-serialised once, when its bytes are
 * next needed.
 *
 * Ownership: a record belongs to whoever holds it.  wn_emit() consumes it;
 * a stage that drops a record frees it with wn_record_free().
 */
#ifndef WINNOW_RECORD_H
#define WINNOW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/ids.h"
#include "winnow/json.h"
#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

struct wn_record {
	struct wn_buf raw;     /* JSON object bytes, no newline; stale if dirty */
	struct json_t *obj;    /* parsed on demand; NULL until then */
	int dirty;             /* obj was changed after raw was made */
	const char *file;      /* origin, borrowed; lives as long as the run */
	uint64_t line;         /* 1-based line of the origin, 0 if none */
	struct wn_buf scratch; /* unescaped field values */
	struct wn_ids ids;     /* token ids carried in-process (see below) */
	const char *ids_field; /* the field ids belongs to, or NULL */
	int ids_pending;       /* ids not yet written into raw */
};

/* A new empty record; NULL when out of memory. */
struct wn_record *wn_record_new(void);
/* Free a record and everything it owns; NULL is fine. */
void wn_record_free(struct wn_record *r);

/* Replace the content with a copy of p[0..n), which must be a validated
 * JSON object; any parsed object is dropped. */
int wn_record_set_raw(struct wn_record *r, const char *p, size_t n);

/* The record's JSON bytes (re-serialising first if it was changed). */
int wn_record_bytes(struct wn_record *r, const char **p, size_t *n);

/*
 * Look up a top-level field.  Returns 1 and fills *v (a span of the raw
 * bytes) when present, 0 when absent, < 0 on error.
 */
int wn_record_get(struct wn_record *r, const char *field,
                  struct wn_json_value *v);

/*
 * A top-level string field, decoded: returns 1 with the bytes in *s and their length in *n (valid until the
 * next call on this record), 0 when the field is absent, WN_EDATA when it is
 * present but not a string.
 */
int wn_record_get_string(struct wn_record *r, const char *field,
                         const char **s, size_t *n);

/*
 * The parsed object (jansson), loaded on first use.  The record keeps
 * ownership.  After changing it, call wn_record_touch().
 */
struct json_t *wn_record_object(struct wn_record *r, struct wn_error *err);
void wn_record_touch(struct wn_record *r);

/*
 * Add "field": "value" to an unchanged record without re-serialising it: the
 * member is appended before the closing brace, every other byte kept.
 */
int wn_record_append_string(struct wn_record *r, const char *field,
                            const char *value, size_t n);

/*
 * Token ids travel with the record without JSON: wn_record_take_ids() moves
 * ids (which is left empty) into the record as the value of `field` (a
 * string that outlives the record).  The JSON array is written into the
 * record's bytes only when they are needed (JSONL output), and stages that
 * want the ids (binary token shards) read them back with wn_record_get_ids()
 * without parsing anything.
 */
int wn_record_take_ids(struct wn_record *r, const char *field, struct wn_ids *ids);

/*
 * The ids of `field`: from the in-process array when the record carries
 * them, else parsed from a JSON array of integers in [0, 2^32) in the raw
 * bytes.  Returns 1 with *ids and *n valid until the record changes, 0 when the
 * field is absent, WN_EDATA when it is not such an array.
 */
int wn_record_get_ids(struct wn_record *r, const char *field, const uint32_t **ids,
                      size_t *n);

#ifdef __cplusplus
}
#endif
#endif
