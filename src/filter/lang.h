/*
 * lang.h - language identification for the filter stage, through CLD2 when
 * configure found it (HAVE_CLD2).  Not installed.
 */
#ifndef WN_FILTER_LANG_H
#define WN_FILTER_LANG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this build can identify languages. */
int wn_fl_lang_available(void);

/*
 * The most likely languages of the UTF-8 text p[0..n), best first: up to 3
 * ISO 639-1 codes (or CLD2's for languages without one, "un" for unknown)
 * in codes[] (static strings) and the fraction of the text in each, 0 to 1,
 * in scores[].  Returns how many were found (at least 1), or < 0 when
 * unavailable.
 */
int wn_fl_lang_detect(const char *p, size_t n, const char *codes[3], double scores[3]);

#ifdef __cplusplus
}
#endif
#endif
