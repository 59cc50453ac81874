/*
 * gopher.c - the Gopher quality and repetition rules (Rae et al. 2021,
 * table A1), as datatrove's gopher_quality_filter.py and
 * gopher_repetition_filter.py apply them, quirks included:
 *
 *   - quality: the word-count and mean-length rules look at words that are
 *     not all symbols, but the '#' and ellipsis ratios divide by all words;
 *     lines are Python's splitlines(); stop words are matched case-sensitively;
 *   - repetition: paragraphs are the stripped text split at runs of two or
 *     more '\n', lines the unstripped text split at runs of '\n' (so a
 *     leading or final '\n' makes an empty line); a duplicate is every
 *     occurrence after the first; character fractions divide by the length
 *     of the whole text; the top n-gram joins its words with spaces and
 *     counts even when it occurs once, the first seen winning a tie; the
 *     duplicated n-grams join their words with nothing, so "ab c" repeats
 *     "a bc", and after a repeat the scan skips the n words.
 *
 * A ratio with a zero denominator cannot be measured: the rule passes and
 * its value is null.  (datatrove raises ZeroDivisionError there.)
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "filter/filter.h"

static int fails_min(const struct wn_fl_limit *l, double v)
{
	return l->on && v < l->v;
}

static int fails_max(const struct wn_fl_limit *l, double v)
{
	return l->on && v > l->v;
}

/* A ratio rule: NONE (passing) when the denominator is zero. */
static int note_ratio(struct wn_fl_report *r, const char *rule, const struct wn_fl_limit *l,
                      double num, double den, int is_max)
{
	if (den == 0)
		return wn_fl_note(r, rule, WN_FL_NONE, 0, 1);
	double v = num / den;
	return wn_fl_note(r, rule, WN_FL_REAL, v, !(is_max ? fails_max(l, v) : fails_min(l, v)));
}

/* Occurrences of the byte c. */
static uint64_t count_byte(const char *p, size_t n, char c)
{
	uint64_t k = 0;
	const char *e = p + n;
	while ((p = memchr(p, c, (size_t)(e - p)))) {
		k++;
		p++;
	}
	return k;
}

/* text.count("...") + text.count("…"): "..." without overlap, so a run of
 * dots holds a third of its length of them. */
static uint64_t count_ellipses(const char *p, size_t n)
{
	uint64_t k = 0;
	const char *e = p + n, *q = p;
	while ((q = memchr(q, '.', (size_t)(e - q)))) {
		const char *r = q;
		while (r < e && *r == '.')
			r++;
		k += (uint64_t)(r - q) / 3;
		q = r;
	}
	for (q = p; (q = memchr(q, 0xE2, (size_t)(e - q))); q++)
		k += e - q >= 3 && (unsigned char)q[1] == 0x80 && (unsigned char)q[2] == 0xA6;
	return k;
}

static int starts_with(const char *p, size_t s, size_t e, const char *t)
{
	size_t n = strlen(t);
	return e - s >= n && memcmp(p + s, t, n) == 0;
}

static int ends_with(const char *p, size_t s, size_t e, const char *t)
{
	size_t n = strlen(t);
	return e - s >= n && memcmp(p + e - n, t, n) == 0;
}

int wn_fl_gopher_quality(const struct wn_fl_gopher_quality *p, const char *text, size_t n,
                         struct wn_fl_scratch *s, struct wn_fl_report *r)
{
	const struct wn_fl_words *w = &s->words;
	size_t from = r->n;
	uint64_t nonsym = 0, nonsym_cps = 0, alpha = 0;
	for (size_t i = 0; i < w->n; i++) {
		if (w->v[i].flags & WN_FL_W_NONSYM) {
			nonsym++;
			nonsym_cps += w->v[i].cps;
		}
		alpha += (w->v[i].flags & WN_FL_W_ALPHA) != 0;
	}
	double nw = (double)w->n;

	if (!wn_fl_note(r, "gopher_short_doc", WN_FL_INT, (double)nonsym,
	                !fails_min(&p->min_words, (double)nonsym)))
		return 0;
	if (!wn_fl_note(r, "gopher_long_doc", WN_FL_INT, (double)nonsym,
	                !fails_max(&p->max_words, (double)nonsym)))
		return 0;
	/* the mean of no words is NaN in datatrove, which no comparison fails */
	if (nonsym) {
		double mean = (double)nonsym_cps / (double)nonsym;
		if (!wn_fl_note(r, "gopher_below_avg_threshold", WN_FL_REAL, mean,
		                !fails_min(&p->min_mean_len, mean)))
			return 0;
		if (!wn_fl_note(r, "gopher_above_avg_threshold", WN_FL_REAL, mean,
		                !fails_max(&p->max_mean_len, mean)))
			return 0;
	} else {
		wn_fl_note(r, "gopher_below_avg_threshold", WN_FL_NONE, 0, 1);
		wn_fl_note(r, "gopher_above_avg_threshold", WN_FL_NONE, 0, 1);
	}
	if (!note_ratio(r, "gopher_too_many_hashes", &p->max_symbol_ratio,
	                (double)count_byte(text, n, '#'), nw, 1))
		return 0;
	double ellipsis = (double)count_ellipses(text, n);
	if (!note_ratio(r, "gopher_too_many_ellipsis", &p->max_symbol_ratio, ellipsis, nw, 1))
		return 0;

	uint64_t lines = 0, bullets = 0, end_ellipsis = 0;
	size_t pos = 0, ls, le;
	while (wn_fl_splitlines(text, n, &pos, &ls, &le)) {
		lines++;
		size_t a = ls, b = le;
		wn_fl_lstrip(text, &a, le);
		bullets += starts_with(text, a, le, "\xE2\x80\xA2") || starts_with(text, a, le, "-");
		wn_fl_rstrip(text, ls, &b);
		end_ellipsis += ends_with(text, ls, b, "...") || ends_with(text, ls, b, "\xE2\x80\xA6");
	}
	if (!note_ratio(r, "gopher_too_many_bullets", &p->max_bullet_lines, (double)bullets,
	                (double)lines, 1))
		return 0;
	if (!note_ratio(r, "gopher_too_many_end_ellipsis", &p->max_ellipsis_lines,
	                (double)end_ellipsis, (double)lines, 1))
		return 0;
	if (!note_ratio(r, "gopher_below_alpha_threshold", &p->min_alpha_words, (double)alpha, nw,
	                0))
		return 0;

	/* the stop words' first bytes and lengths, to pass most words by */
	unsigned char first[256] = { 0 };
	uint64_t lens = 0, seen = 0, distinct = 0;
	for (size_t k = 0; k < p->nstop; k++) {
		if (p->stop_len[k])
			first[(unsigned char)p->stop[k][0]] = 1;
		lens |= 1ull << (p->stop_len[k] < 63 ? p->stop_len[k] : 63);
	}
	for (size_t i = 0; i < w->n && distinct < p->nstop; i++) {
		const struct wn_fl_word *t = &w->v[i];
		if (!first[(unsigned char)text[t->off]] || !(lens >> (t->len < 63 ? t->len : 63) & 1))
			continue;
		for (size_t k = 0; k < p->nstop; k++)
			if (!(seen >> k & 1) && t->len == p->stop_len[k] &&
			    memcmp(text + t->off, p->stop[k], t->len) == 0) {
				seen |= 1ull << k;
				distinct++;
				break;
			}
	}
	if (!wn_fl_note(r, "gopher_enough_stop_words", WN_FL_INT, (double)distinct,
	                !fails_min(&p->min_stop_words, (double)distinct)))
		return 0;
	return wn_fl_report_passed(r, from);
}

/* ---- repetition ---------------------------------------------------------------------------- */

static const char *const top_rule[3] = { "gopher_top_2_gram", "gopher_top_3_gram",
	                                 "gopher_top_4_gram" };
static const char *const dup_rule[6] = {
	"gopher_duplicated_5_n_grams", "gopher_duplicated_6_n_grams",
	"gopher_duplicated_7_n_grams", "gopher_duplicated_8_n_grams",
	"gopher_duplicated_9_n_grams", "gopher_duplicated_10_n_grams",
};

static int reserve_words(struct wn_fl_scratch *s, size_t n)
{
	if (n + 1 <= s->ncap)
		return WN_OK;
	size_t cap = s->ncap ? s->ncap : 256;
	while (cap < n + 1)
		cap *= 2;
	uint64_t **wide[] = { &s->cps, &s->blen };
	for (size_t i = 0; i < 2; i++) {
		uint64_t *v = realloc(*wide[i], cap * sizeof(uint64_t));
		if (!v)
			return WN_ENOMEM;
		*wide[i] = v;
	}
	uint32_t **narrow[] = { &s->id, &s->cnt, &s->cnt2, &s->grp, &s->grp2 };
	for (size_t i = 0; i < 5; i++) {
		uint32_t *v = realloc(*narrow[i], cap * sizeof(uint32_t));
		if (!v)
			return WN_ENOMEM;
		*narrow[i] = v;
	}
	unsigned char *c = realloc(s->cand, cap);
	if (!c)
		return WN_ENOMEM;
	s->cand = c;
	s->ncap = cap;
	return WN_OK;
}

/*
 * The n-gram tables: 8-byte slots holding the top half of a key's hash and
 * the position of the first item with it (all ones: empty).  Small slots
 * keep a table of a few thousand words in the first-level cache.
 */
#define EMPTY UINT64_MAX

static int ngram_table(struct wn_fl_scratch *s, size_t n, uint64_t **slots, size_t *mask)
{
	size_t want = 64;
	while (want < 2 * n)
		want *= 2;
	if (want > s->gcap) {
		uint64_t *v = realloc(s->gslot, want * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		s->gslot = v;
		s->gcap = want;
	}
	memset(s->gslot, 0xFF, want * sizeof(*s->gslot));
	*slots = s->gslot;
	*mask = want - 1;
	return WN_OK;
}

static inline uint64_t mix(uint64_t key)
{
	key *= 0x9E3779B97F4A7C15ull;
	return key ^ (key >> 29);
}

/* A word of at most 16 bytes, read from flat (padded with 16 zero bytes)
 * as two 64-bit halves with the bytes past its end cleared. */
static inline void short_word(const char *p, uint32_t len, uint64_t *a, uint64_t *b)
{
	uint64_t x, y;
	memcpy(&x, p, 8);
	memcpy(&y, p + 8, 8);
	if (len < 8) {
		x &= len ? ~0ull >> (64 - 8 * len) : 0;
		y = 0;
	} else if (len < 16) {
		y &= len > 8 ? ~0ull >> (128 - 8 * len) : 0;
	}
	*a = x;
	*b = y;
}

/*
 * Number the distinct words (s->id), and lay their bytes end to end in
 * s->flat (the text "joined with nothing"), with prefix sums of bytes and
 * code points: the concatenation of words i..j-1 is flat[blen[i]..blen[j]).
 */
static int prepare(struct wn_fl_scratch *s, const char *text)
{
	const struct wn_fl_words *w = &s->words;
	uint64_t *tab;
	size_t mask;
	WN_TRY(ngram_table(s, w->n, &tab, &mask));
	size_t total = 0;
	for (size_t i = 0; i < w->n; i++)
		total += w->v[i].len;
	if (total + 16 > s->flatcap) {
		char *f = realloc(s->flat, total + 16);
		if (!f)
			return WN_ENOMEM;
		s->flat = f;
		s->flatcap = total + 16;
	}
	s->cps[0] = 0;
	s->blen[0] = 0;
	/* flat has 16 bytes to spare past the last word; a short word is
	 * moved as 16 bytes when the text has them after it */
	size_t tn = w->n ? w->v[w->n - 1].off + w->v[w->n - 1].len : 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct wn_fl_word *x = &w->v[i];
		if (x->len <= 16 && x->off + 16 <= tn)
			memcpy(s->flat + s->blen[i], text + x->off, 16);
		else
			memcpy(s->flat + s->blen[i], text + x->off, x->len);
		s->cps[i + 1] = s->cps[i] + x->cps;
		s->blen[i + 1] = s->blen[i] + x->len;
	}
	memset(s->flat + total, 0, 16);
	uint32_t nid = 0;
	for (size_t i = 0; i < w->n; i++) {
		uint32_t len = w->v[i].len;
		const char *p = s->flat + s->blen[i];
		uint64_t a = 0, b = 0, h;
		if (len <= 16) {
			short_word(p, len, &a, &b);
			h = mix(a ^ mix(b ^ len));
		} else {
			h = XXH3_64bits(p, len);
		}
		uint32_t half = (uint32_t)(h >> 32), id;
		for (size_t k = mix(h) & mask;; k = (k + 1) & mask) {
			uint64_t sl = tab[k];
			if (sl == EMPTY) {
				tab[k] = (uint64_t)half << 32 | i;
				id = nid++;
				break;
			}
			uint32_t f = (uint32_t)sl;
			if ((uint32_t)(sl >> 32) != half || w->v[f].len != len)
				continue;
			const char *q = s->flat + s->blen[f];
			int same;
			if (len <= 16) {
				uint64_t c, d;
				short_word(q, len, &c, &d);
				same = a == c && b == d;
			} else {
				same = memcmp(p, q, len) == 0;
			}
			if (same) {
				id = s->id[f];
				break;
			}
		}
		s->id[i] = id;
	}
	s->nid = nid;
	return WN_OK;
}

/* The n words from a and from b are the same words. */
static inline int same_words(const uint32_t *id, size_t a, size_t b, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		if (id[a + k] != id[b + k])
			return 0;
	return 1;
}

/* The key of the n words from i: their numbers packed when they fit,
 * else mixed. */
static inline uint64_t words_key(const uint32_t *id, size_t i, uint32_t n, int exact)
{
	uint64_t key = 0;
	if (exact) {
		unsigned bits = n == 2 ? 32 : 64 / n;
		for (uint32_t k = 0; k < n; k++)
			key = key << bits | id[i + k];
	} else {
		for (uint32_t k = 0; k < n; k++)
			key = (key ^ id[i + k]) * 0xFF51AFD7ED558CCDull;
	}
	return key;
}

/*
 * The most frequent n-gram for n = 2, 3, 4 (the first seen of equals): the
 * length of its words joined by spaces, times its count.  An n-gram whose
 * leading (n-1)-gram occurs once occurs once itself, so only the others
 * go through the table: s->grp maps each position to the first occurrence
 * of its (n-1)-gram, s->cnt counts by that first occurrence.
 */
static int top_ngrams(struct wn_fl_scratch *s, uint64_t value[3])
{
	const uint32_t *id = s->id;
	const uint64_t *cps = s->cps;
	size_t nw = s->words.n, need = nw; /* the n-grams that go through the table */
	uint32_t *grp = s->grp, *cnt = s->cnt, *ngrp = s->grp2, *ncnt = s->cnt2;
	for (uint32_t n = 2; n <= 4; n++) {
		value[n - 2] = 0;
		if (nw < n)
			continue;
		size_t grams = nw - n + 1;
		int exact = n == 2 || s->nid <= (1ull << (64 / n));
		uint64_t *tab;
		size_t mask;
		WN_TRY(ngram_table(s, need, &tab, &mask));
		uint32_t best_count = 0, best_first = 0;
		for (size_t i = 0; i < grams; i++) {
			uint32_t first = (uint32_t)i;
			if (n > 2 && cnt[grp[i]] < 2) {
				ncnt[i] = 1; /* unique, as its leading (n-1)-gram is */
			} else {
				uint64_t key = words_key(id, i, n, exact), h = mix(key);
				uint32_t half = (uint32_t)(h >> 32);
				for (size_t k = h & mask;; k = (k + 1) & mask) {
					uint64_t sl = tab[k];
					if (sl == EMPTY) {
						tab[k] = (uint64_t)half << 32 | i;
						ncnt[i] = 1;
						break;
					}
					uint32_t f = (uint32_t)sl;
					if ((uint32_t)(sl >> 32) == half && same_words(id, f, i, n)) {
						first = f;
						ncnt[f]++;
						break;
					}
				}
			}
			ngrp[i] = first;
			uint32_t c = ncnt[first];
			if (c > best_count || (c == best_count && first < best_first)) {
				best_count = c;
				best_first = first;
			}
		}
		value[n - 2] = (cps[best_first + n] - cps[best_first] + (n - 1)) * best_count;
		/* the n-grams seen more than once lead the (n+1)-grams to count */
		need = 0;
		for (size_t i = 0; i < grams; i++)
			need += ncnt[ngrp[i]] > 1;
		uint32_t *t = grp;
		grp = ngrp;
		ngrp = t;
		t = cnt;
		cnt = ncnt;
		ncnt = t;
	}
	return WN_OK;
}

/*
 * Which positions may start a repeated n-gram (words joined with nothing)
 * for any n >= 5: the first 16 bytes of the words from there, joined,
 * occur at another position, or the 5 words from there are shorter than
 * that.  Two equal n-grams start with the same 16 bytes however their
 * words fall, so every other position can be passed over.  Returns how
 * many there are.
 */
static int candidates(struct wn_fl_scratch *s, size_t *count)
{
	size_t nw = s->words.n;
	*count = 0;
	if (nw < 5)
		return WN_OK;
	size_t starts = nw - 4;
	uint64_t *tab;
	size_t mask;
	WN_TRY(ngram_table(s, starts, &tab, &mask));
	uint32_t *cnt = s->cnt, *grp = s->grp;
	const uint64_t *blen = s->blen;
	const char *flat = s->flat;
	for (size_t i = 0; i < starts; i++) {
		if (blen[i + 5] - blen[i] < 16) {
			grp[i] = (uint32_t)i;
			cnt[i] = 2;
			continue;
		}
		uint64_t x, y;
		memcpy(&x, flat + blen[i], 8);
		memcpy(&y, flat + blen[i] + 8, 8);
		uint64_t h = mix(x ^ mix(y));
		uint32_t half = (uint32_t)(h >> 32), first = (uint32_t)i;
		for (size_t k = h & mask;; k = (k + 1) & mask) {
			uint64_t sl = tab[k];
			if (sl == EMPTY) {
				tab[k] = (uint64_t)half << 32 | i;
				cnt[i] = 1;
				break;
			}
			uint32_t f = (uint32_t)sl;
			uint64_t fx, fy;
			memcpy(&fx, flat + blen[f], 8);
			memcpy(&fy, flat + blen[f] + 8, 8);
			if ((uint32_t)(sl >> 32) == half && fx == x && fy == y) {
				first = f;
				cnt[f]++;
				break;
			}
		}
		grp[i] = first;
	}
	size_t c = 0;
	for (size_t i = 0; i < starts; i++)
		c += s->cand[i] = cnt[grp[i]] > 1;
	*count = c;
	return WN_OK;
}

/* The characters of repeated n-grams (words joined with nothing), skipping
 * the n words after each repeat; only candidate positions can repeat. */
static int dup_ngrams(struct wn_fl_scratch *s, uint32_t n, size_t cands, uint64_t *value)
{
	size_t nw = s->words.n;
	*value = 0;
	if (nw < n || !cands)
		return WN_OK;
	uint64_t *tab;
	size_t mask;
	WN_TRY(ngram_table(s, cands, &tab, &mask));
	const uint64_t *blen = s->blen, *cps = s->cps;
	const unsigned char *cand = s->cand;
	const char *flat = s->flat;
	uint64_t chars = 0;
	size_t i = 0;
	while (i + n <= nw) {
		if (!cand[i]) {
			i++;
			continue;
		}
		size_t len = blen[i + n] - blen[i];
		uint64_t h = XXH3_64bits(flat + blen[i], len);
		uint32_t half = (uint32_t)(h >> 32);
		int seen = 0;
		for (size_t k = mix(h) & mask;; k = (k + 1) & mask) {
			uint64_t sl = tab[k];
			if (sl == EMPTY) {
				tab[k] = (uint64_t)half << 32 | i;
				break;
			}
			uint32_t f = (uint32_t)sl;
			if ((uint32_t)(sl >> 32) == half && blen[f + n] - blen[f] == len &&
			    memcmp(flat + blen[f], flat + blen[i], len) == 0) {
				seen = 1;
				break;
			}
		}
		if (seen) {
			chars += cps[i + n] - cps[i];
			i += n;
		} else {
			i++;
		}
	}
	*value = chars;
	return WN_OK;
}

/* Split [a, b) of text at runs of at least `min` '\n' into s->spans. */
static int split_newlines(struct wn_fl_scratch *s, const char *text, size_t a, size_t b,
                          size_t min)
{
	s->nspans = 0;
	size_t start = a, i = a;
	while (i < b) {
		const char *q = memchr(text + i, '\n', b - i);
		if (!q)
			break;
		size_t run = (size_t)(q - text), end = run;
		while (end < b && text[end] == '\n')
			end++;
		if (end - run >= min) {
			WN_TRY(wn_fl_spans_add(s, start, run));
			start = end;
		}
		i = end;
	}
	return wn_fl_spans_add(s, start, b);
}

int wn_fl_gopher_repetition(const struct wn_fl_gopher_repetition *p, const char *text,
                            size_t n, struct wn_fl_scratch *s, struct wn_fl_report *r)
{
	double chars = (double)wn_fl_count_cps(text, n);
	uint64_t dups, dup_chars;
	size_t from = r->n;

	size_t a = 0, b = n;
	wn_fl_lstrip(text, &a, n);
	wn_fl_rstrip(text, a, &b);
	WN_TRY(split_newlines(s, text, a, b, 2));
	WN_TRY(wn_fl_find_duplicates(s, text, s->spans, s->nspans, &dups, &dup_chars));
	if (!note_ratio(r, "gopher_dup_para_frac", &p->dup_para_frac, (double)dups,
	                (double)s->nspans, 1))
		return 0;
	if (!note_ratio(r, "gopher_dup_para_char_frac", &p->dup_para_chars, (double)dup_chars,
	                chars, 1))
		return 0;

	WN_TRY(split_newlines(s, text, 0, n, 1));
	WN_TRY(wn_fl_find_duplicates(s, text, s->spans, s->nspans, &dups, &dup_chars));
	if (!note_ratio(r, "gopher_dup_line_frac", &p->dup_line_frac, (double)dups,
	                (double)s->nspans, 1))
		return 0;
	if (!note_ratio(r, "gopher_dup_line_char_frac", &p->dup_line_chars, (double)dup_chars,
	                chars, 1))
		return 0;

	const struct wn_fl_words *w = &s->words;
	WN_TRY(reserve_words(s, w->n));
	WN_TRY(prepare(s, text));
	uint64_t top[3];
	WN_TRY(top_ngrams(s, top));
	for (uint32_t k = 0; k < 3; k++) {
		if (w->n < k + 2) { /* no n-grams: datatrove skips the rule */
			wn_fl_note(r, top_rule[k], WN_FL_NONE, 0, 1);
			continue;
		}
		if (!note_ratio(r, top_rule[k], &p->top_ngram[k], (double)top[k], chars, 1))
			return 0;
	}
	size_t cands;
	WN_TRY(candidates(s, &cands));
	for (uint32_t k = 0; k < 6; k++) {
		uint64_t v;
		WN_TRY(dup_ngrams(s, k + 5, cands, &v));
		if (!note_ratio(r, dup_rule[k], &p->dup_ngram[k], (double)v, chars, 1))
			return 0;
	}
	return wn_fl_report_passed(r, from);
}
