/*
 * fineweb.c - FineWeb's own quality rules (datatrove's
 * fineweb_quality_filter.py).  Lines are the text split at '\n' only, blank
 * ones (white space only) left out; a line "ends in terminal punctuation"
 * when its last character, unstripped, is a sentence terminal (so "end.\r"
 * does not); duplicate-line characters are divided by the length of the
 * text without its '\n's; the newline ratio divides by all words.
 */
#include <string.h>

#include "filter/filter.h"

static int blank(const char *p, size_t s, size_t e)
{
	size_t a = s;
	wn_fl_lstrip(p, &a, e);
	return a == e;
}

int wn_fl_fineweb(const struct wn_fl_fineweb *p, const char *text, size_t n, size_t nwords,
                  struct wn_fl_scratch *s, struct wn_fl_report *r)
{
	size_t from = r->n;
	const unsigned char *u = (const unsigned char *)text;
	uint64_t newlines = 0;
	s->nspans = 0;
	for (size_t i = 0; i <= n;) {
		const char *q = memchr(text + i, '\n', n - i);
		size_t e = q ? (size_t)(q - text) : n;
		if (!blank(text, i, e))
			WN_TRY(wn_fl_spans_add(s, i, e));
		if (!q)
			break;
		newlines++;
		i = e + 1;
	}
	size_t lines = s->nspans;
	if (!wn_fl_note(r, "fineweb_empty", WN_FL_INT, (double)lines, lines > 0))
		return 0;
	if (!lines) {
		static const char *const rest[] = { "fineweb_line_punct_ratio",
			                            "fineweb_short_line_ratio",
			                            "fineweb_char_dup_ratio", "fineweb_list_ratio" };
		for (size_t i = 0; i < 4; i++)
			wn_fl_note(r, rest[i], WN_FL_NONE, 0, 1);
		return 0;
	}

	uint64_t punct = 0, shorts = 0;
	for (size_t i = 0; i < lines; i++) {
		const struct wn_fl_span *sp = &s->spans[i];
		int len;
		uint32_t c = wn_fl_decode_back(u + sp->s, u + sp->e, &len);
		punct += (wn_fl_class(c) & WN_FL_STERM) != 0;
		/* a character is 1 to 4 bytes: most lines need no counting */
		size_t bytes = sp->e - sp->s;
		if ((double)bytes <= p->short_line_length)
			shorts++;
		else if ((double)bytes <= 4 * p->short_line_length)
			shorts += (double)wn_fl_count_cps(text + sp->s, bytes) <= p->short_line_length;
	}
	double ratio = (double)punct / (double)lines;
	int pass = !(p->min_punct_lines.on && ratio < p->min_punct_lines.v &&
	             !(ratio == 0 && p->punct_exclude_zero));
	if (!wn_fl_note(r, "fineweb_line_punct_ratio", WN_FL_REAL, ratio, pass))
		return 0;
	ratio = (double)shorts / (double)lines;
	pass = !(p->max_short_lines.on && ratio > p->max_short_lines.v);
	if (!wn_fl_note(r, "fineweb_short_line_ratio", WN_FL_REAL, ratio, pass))
		return 0;

	uint64_t dups, dup_chars;
	WN_TRY(wn_fl_find_duplicates(s, text, s->spans, lines, &dups, &dup_chars));
	/* not zero: a non-blank line has a character that is not '\n' */
	double rest = (double)(wn_fl_count_cps(text, n) - newlines);
	ratio = (double)dup_chars / rest;
	pass = !(p->max_dup_line_chars.on && ratio > p->max_dup_line_chars.v);
	if (!wn_fl_note(r, "fineweb_char_dup_ratio", WN_FL_REAL, ratio, pass))
		return 0;

	/* not zero either: a non-blank line holds a word */
	ratio = (double)newlines / (double)nwords;
	pass = !(p->max_newline_ratio.on && ratio > p->max_newline_ratio.v);
	if (!wn_fl_note(r, "fineweb_list_ratio", WN_FL_REAL, ratio, pass))
		return 0;
	return wn_fl_report_passed(r, from);
}
