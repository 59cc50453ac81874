/*
 * text.h - helpers shared by the files of src/text; not installed.
 */
#ifndef WN_TEXT_TEXT_H
#define WN_TEXT_TEXT_H

/* AVX2 code paths are compiled on x86-64 with GCC-compatible compilers and
 * chosen at run time, so the build itself needs only the SSE2 baseline. */
#if defined(__x86_64__) && defined(__GNUC__)
#define WN_TEXT_AVX2 1
/* Whether the CPU we run on has AVX2 (asked once, then cached). */
int wn_text_have_avx2(void);
#endif

#endif
