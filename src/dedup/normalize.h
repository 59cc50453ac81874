/*
 * normalize.h - the text normalisations of `winnow dedup` (src/dedup); not
 * installed.
 *
 * Texts equal under one level are equal under every later one, except that
 * datatrove (like datatrove) decomposes canonically, not by compatibility,
 * and lowercases rather than case-folds:
 *
 *   none           the bytes as they are.
 *   whitespace     runs of Unicode White_Space (ASCII space, \t \n \v \f \r,
 *                  U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
 *                  U+202F, U+205F, U+3000) become one ASCII space; leading and
 *                  trailing whitespace is removed.
 *   nfkc-casefold  Unicode NFKC_Casefold (compatibility composition, full
 *                  case folding, default-ignorable code points such as the
 *                  soft hyphen and zero-width space removed), then
 *                  whitespace as above.
 *   datatrove      datatrove's MinHash text normalisation (REFERENCE.md):
 *                  lowercase; canonical decomposition (NFD) with combining
 *                  marks (Mn) removed; every run of decimal digits (Nd) ->
 *                  "0"; punctuation (P*), math, currency and modifier symbols
 *                  (Sm, Sc, Sk) and control characters -> space; format
 *                  characters (Cf) removed; then whitespace as above.
 *
 * Input is UTF-8 (the JSON reader guarantees it); an invalid byte is kept as
 * it is, so any input has a defined result.  The work is done by utf8proc,
 * with ASCII handled by table lookups.
 */
#ifndef WN_DEDUP_NORMALIZE_H
#define WN_DEDUP_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/status.h"

enum wn_dd_norm {
	WN_DD_NORM_NONE = 0,
	WN_DD_NORM_WHITESPACE,
	WN_DD_NORM_NFKC_CASEFOLD,
	WN_DD_NORM_DATATROVE,
};

/* "none", "whitespace", "nfkc-casefold", "datatrove". */
const char *wn_dd_norm_name(enum wn_dd_norm n);
/* The level of that name; -1 when there is none. */
int wn_dd_norm_named(const char *name, enum wn_dd_norm *n);

/* Scratch space of one thread; embedded by value. */
struct wn_dd_normalizer {
	struct wn_buf out;  /* the result */
	struct wn_buf tmp;  /* nfkc-casefold before whitespace */
	int32_t *cp;        /* code points of one non-ASCII segment */
	size_t cpcap;
};

void wn_dd_normalizer_init(struct wn_dd_normalizer *z);
void wn_dd_normalizer_release(struct wn_dd_normalizer *z);

/*
 * Normalise s[0..n).  On success *out and *outlen give the result: s itself
 * for WN_DD_NORM_NONE, else bytes in z (valid until the next call on z).
 * Errors: WN_ENOMEM.
 */
int wn_dd_normalize(struct wn_dd_normalizer *z, enum wn_dd_norm mode, const char *s,
                    size_t n, const char **out, size_t *outlen);

/* The length of the White_Space character at s[0..n), or 0 when s does not
 * start with one. */
size_t wn_dd_space_len(const unsigned char *s, size_t n);

#endif
