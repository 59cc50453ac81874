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

#ifdef __cplusplus
}
#endif
#endif
