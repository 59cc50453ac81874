/*
 * lang_cld2.cc - the C++ side of language identification: one call into
 * CLD2 (Compact Language Detector 2), built only when configure finds it.
 */
#include <climits>
#include <cstdio> /* the CLD2 header uses FILE without including it */

#include <cld2/public/compact_lang_det.h>

#include "filter/lang.h"

extern "C" int wn_fl_cld2_detect(const char *p, size_t n, const char *codes[3],
                                 double scores[3]);

int wn_fl_cld2_detect(const char *p, size_t n, const char *codes[3], double scores[3])
{
	CLD2::Language lang[3];
	int percent[3];
	int text_bytes;
	bool reliable;
	/* CLD2 takes an int length; the start of a longer text decides */
	int len = n > INT_MAX ? INT_MAX : (int)n;
	CLD2::ExtDetectLanguageSummary(p, len, true, lang, percent, &text_bytes, &reliable);
	int found = 0;
	for (int i = 0; i < 3; i++) {
		if (i > 0 && (lang[i] == CLD2::UNKNOWN_LANGUAGE || percent[i] <= 0))
			break;
		codes[found] = CLD2::LanguageCode(lang[i]);
		scores[found] = percent[i] / 100.0;
		found++;
	}
	return found;
}
