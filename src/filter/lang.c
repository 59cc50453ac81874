/*
 * lang.c - language identification: CLD2 through its C++ shim
 * (lang_cld2.cc), or a clear "not available" in builds without it.
 */
#include "config.h"
#include "filter/lang.h"
#include "winnow/status.h"

#ifdef HAVE_CLD2
int wn_fl_cld2_detect(const char *p, size_t n, const char *codes[3], double scores[3]);
#endif

int wn_fl_lang_available(void)
{
#ifdef HAVE_CLD2
	return 1;
#else
	return 0;
#endif
}

int wn_fl_lang_detect(const char *p, size_t n, const char *codes[3], double scores[3])
{
#ifdef HAVE_CLD2
	return wn_fl_cld2_detect(p, n, codes, scores);
#else
	(void)p;
	(void)n;
	(void)codes;
	(void)scores;
	return WN_EUSAGE;
#endif
}
