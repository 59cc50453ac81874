/*
 * lines.h - cutting a text into lines or paragraphs and joining what is
 * kept, for `winnow dedup --lines / --paragraphs` (src/dedup); not installed.
 *
 * Lines end at "\n" (a "\r" before it belongs to the line).  Paragraphs are
 * separated by blank lines: a "\n" followed by one or more lines of only
 * spaces, tabs and "\r", each ending in "\n".  Every piece keeps the
 * separator that follows it, so joining all pieces gives the text back.
 */
#ifndef WN_DEDUP_LINES_H
#define WN_DEDUP_LINES_H

#include <stddef.h>

#include "dedup/digest_set.h"
#include "winnow/buf.h"

struct wn_dd_piece {
	size_t off, len;        /* the piece, without its separator */
	size_t sep;             /* bytes of separator after it */
	struct wn_dd_digest d;  /* of the normalised piece, when eligible */
	int eligible;           /* long enough to be deduplicated */
	int removed;
};

/* A growable array, reused from text to text; embedded by value. */
struct wn_dd_pieces {
	struct wn_dd_piece *v;
	size_t n, cap;
};

void wn_dd_pieces_release(struct wn_dd_pieces *p);

/* Cut s[0..n) into pieces (at least one, maybe empty).  WN_ENOMEM. */
int wn_dd_split(const char *s, size_t n, int paragraphs, struct wn_dd_pieces *out);

/*
 * The text without the removed pieces: each kept piece with the separator
 * that followed it, except the last kept one, which ends as the text did
 * (with the separator of the last piece).  Written to out (reset first).
 */
int wn_dd_join(const char *s, const struct wn_dd_pieces *p, struct wn_buf *out);

#endif
