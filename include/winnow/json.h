/*
 * json.h - a fast validating scanner for one JSON value per line (JSONL),
 * and JSON string escaping that matches jansson's output byte for byte.
 *
 * The scanner accepts exactly the inputs that jansson's json_loadb() accepts
 * with flags JSON_DECODE_ANY | JSON_ALLOW_NUL (and rejects the rest), so a
 * record that passes here can always be loaded by jansson later:
 *   - RFC 8259 grammar, leading and trailing JSON whitespace allowed;
 *   - strings must be valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF);
 *     \u escapes must form valid code points (a high surrogate must be followed
 *     by a low one); \u0000 is accepted;
 *   - integers (no fraction, no exponent) must fit in int64 (jansson's
 *     json_int_t); reals must not overflow a double (underflow is fine);
 *   - nesting deeper than jansson's JSON_PARSER_MAX_DEPTH (2048) is refused.
 * Duplicate keys are accepted; as in jansson, the last one wins on lookup.
 *
 * Nothing here allocates except through the caller's wn_buf.
 */
#ifndef WINNOW_JSON_H
#define WINNOW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum wn_json_type {
	WN_JSON_NONE = 0, /* not found */
	WN_JSON_OBJECT,
	WN_JSON_ARRAY,
	WN_JSON_STRING,
	WN_JSON_INTEGER,
	WN_JSON_REAL,
	WN_JSON_TRUE,
	WN_JSON_FALSE,
	WN_JSON_NULL,
};

/* Where a scan failed: a byte offset into the input and a static reason
 * ("unterminated string", "invalid UTF-8", "integer out of range", ...). */
struct wn_json_error {
	size_t offset;
	const char *reason;
};

/* A value found in a JSON text: its type and the span of its raw bytes
 * (for strings, including the quotes).  `escaped` is set for strings that
 * contain a backslash, so callers know whether the raw content between the
 * quotes can be used as is. */
struct wn_json_value {
	enum wn_json_type type;
	size_t offset;
	size_t len;
	int escaped;
};

/*
 * Validate that p[0..n) is exactly one JSON value (surrounded by optional
 * whitespace).  Returns 0 when valid, -1 when not (and fills *err when given).
 * On success *type (when given) receives the top-level type.
 */
int wn_json_validate(const char *p, size_t n, enum wn_json_type *type,
                     struct wn_json_error *err);

/*
 * Look up a top-level key of the JSON object p[0..n), which must already
 * have been validated (behaviour on invalid input is safe but unspecified:
 * it returns -1 or some value span inside p).  Keys are compared after
 * unescaping, so "t\u0065xt" matches "text".  Returns 1 and fills *val when
 * found (the last occurrence of a duplicated key), 0 when absent, -1 when p
 * is not an object.
 */
int wn_json_get(const char *p, size_t n, const char *key, size_t keylen,
                struct wn_json_value *val);

/*
 * Decode the JSON string literal at s[0..n) (with its quotes, as returned in
 * a wn_json_value) and append the UTF-8 bytes to out.  The literal must have
 * been validated.  Returns WN_OK or the wn_buf error.
 */
int wn_json_unescape(const char *s, size_t n, struct wn_buf *out);

/*
 * Append s[0..n) (UTF-8, validated by the caller) as a JSON string literal
 * with quotes, escaped exactly as jansson's json_dumps() does without
 * JSON_ENSURE_ASCII / JSON_ESCAPE_SLASH: \" \\ \b \f \n \r \t, other bytes
 * below 0x20 as \u00XX (hex case as jansson writes it), everything else verbatim.
 */
int wn_json_escape(struct wn_buf *out, const char *s, size_t n);

/*
 * Validate UTF-8: returns the length of the longest valid prefix (== n when
 * all of it is valid).  Rejects overlong forms, surrogates, and code points
 * above U+10FFFF, as jansson does.
 */
size_t wn_utf8_valid_prefix(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
