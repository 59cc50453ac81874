/*
 * c4.c - the C4 rules (Raffel et al. 2020), as datatrove's c4_filters.py
 * applies them with split_paragraph on: line by line, over Python's
 * splitlines() of the text, each line stripped:
 *
 *   1. a line with a word (split at white space) longer than 1000
 *      characters goes;
 *   2. citations [1], [], [edit], [citation needed] are removed;
 *   3. a line that does not end in . ? ! " ' , or ends in "...", goes;
 *   4. a line of fewer than 3 words goes - words counted before step 2;
 *   5. "lorem ipsum" (any case) drops the document;
 *   6. a line containing "javascript" (any case) goes;
 *   7. "{" drops the document;
 *   8. a line with a cookie or terms-of-use phrase goes;
 *   9. the kept lines are counted in sentences (spaCy's sentencizer over
 *      their words); fewer than 5 drops the document.
 *
 * The text becomes the kept lines joined by "\n", stripped.  Steps 5 and 7
 * only see lines that survived 1-4; "any case" is Python's str.lower(),
 * under which the only non-ASCII characters that give ASCII letters are
 * the Kelvin sign (k) and U+0130 (i followed by a combining dot, which
 * cannot complete a phrase).
 */
#include <string.h>

#include <stdlib.h>
#include <utf8proc.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "filter/filter.h"
#include "text/text.h"

static const char *const policy[] = {
	"terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
	"use cookies",
};

enum { PH_LOREM = 1, PH_JAVASCRIPT = 2, PH_POLICY = 4 };

/*
 * Each phrase is looked for by a pair of its letters that English text
 * seldom has (at `anchor` in the phrase), then checked whole: the more
 * obvious first letters ("co", "us", "te") would be found every few dozen
 * bytes.
 */
static const struct phrase {
	const char *s;
	size_t n;
	unsigned kind;
	size_t anchor;
} phrases[] = {
	{ "lorem ipsum", 11, PH_LOREM, 7 },      /* ps */
	{ "javascript", 10, PH_JAVASCRIPT, 0 },  /* ja */
	{ "terms of use", 12, PH_POLICY, 3 },    /* ms */
	{ "privacy policy", 14, PH_POLICY, 5 },  /* cy */
	{ "cookie policy", 13, PH_POLICY, 3 },   /* ki */
	{ "uses cookies", 12, PH_POLICY, 8 },    /* ki */
	{ "use of cookies", 14, PH_POLICY, 10 }, /* ki */
	{ "use cookies", 11, PH_POLICY, 7 },     /* ki */
};

/* The pairs looked for, ASCII letters with the case bit set; the last
 * (the first two bytes of the Kelvin sign, U+212A, likewise) finds the
 * one character that lowercases to an ASCII letter of a phrase. */
static const unsigned char pairs[][2] = { { 'p', 's' }, { 'j', 'a' }, { 'm', 's' },
	                                  { 'c', 'y' }, { 'k', 'i' }, { 0xE2, 0x84 | 0x20 } };

/* p[0..n) is the phrase, ASCII letters in any case. */
static int phrase_at(const unsigned char *p, const struct phrase *ph)
{
	for (size_t k = 0; k < ph->n; k++) {
		unsigned char c = p[k], want = (unsigned char)ph->s[k];
		if (c != want && !(want >= 'a' && want <= 'z' && c == want - 32))
			return 0;
	}
	return 1;
}

static int add_hit(struct wn_fl_scratch *s, size_t pos, unsigned kinds)
{
	if (s->nhits == s->hitcap) {
		size_t cap = s->hitcap ? 2 * s->hitcap : 16;
		struct wn_fl_hit *v = realloc(s->hits, cap * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		s->hits = v;
		s->hitcap = cap;
	}
	s->hits[s->nhits].pos = pos;
	s->hits[s->nhits].kinds = kinds;
	s->nhits++;
	return WN_OK;
}

/* A pair found at i: the phrases anchored there, and the Kelvin sign. */
static int found_pair(struct wn_fl_scratch *s, const unsigned char *u, size_t i, size_t n,
                      int *kelvin)
{
	unsigned char a = u[i] | 0x20, b = u[i + 1] | 0x20;
	if (u[i] == 0xE2 && u[i + 1] == 0x84 && i + 2 < n && u[i + 2] == 0xAA)
		*kelvin = 1;
	for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++) {
		const struct phrase *ph = &phrases[k];
		if ((unsigned char)ph->s[ph->anchor] != a || (unsigned char)ph->s[ph->anchor + 1] != b ||
		    i < ph->anchor)
			continue;
		size_t start = i - ph->anchor;
		if (n - start >= ph->n && phrase_at(u + start, ph))
			WN_TRY(add_hit(s, start, ph->kind));
	}
	return WN_OK;
}

#if defined(WN_TEXT_AVX2)
#include <immintrin.h>

/* The positions of the pairs in the 32 bytes at u (33 readable), as bits. */
__attribute__((target("avx2")))
static uint32_t pairs_avx2(const unsigned char *u)
{
	const __m256i case_bit = _mm256_set1_epi8(0x20);
	__m256i a = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(const void *)u), case_bit);
	__m256i b = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(const void *)(u + 1)),
	                            case_bit);
	__m256i m = _mm256_setzero_si256();
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
		m = _mm256_or_si256(m, _mm256_and_si256(
			_mm256_cmpeq_epi8(a, _mm256_set1_epi8((char)pairs[k][0])),
			_mm256_cmpeq_epi8(b, _mm256_set1_epi8((char)pairs[k][1]))));
	return (uint32_t)_mm256_movemask_epi8(m);
}

/* The pairs in u[0..n), 32 bytes at a time while 33 are left; returns
 * where it stopped. */
__attribute__((target("avx2")))
static int scan_avx2(struct wn_fl_scratch *s, const unsigned char *u, size_t n, size_t *i,
                     int *kelvin)
{
	for (; *i + 33 <= n; *i += 32) {
		uint32_t bits = pairs_avx2(u + *i);
		while (bits) {
			size_t at = *i + (size_t)__builtin_ctz(bits);
			bits &= bits - 1;
			WN_TRY(found_pair(s, u, at, n, kelvin));
		}
	}
	return WN_OK;
}
#endif

/*
 * Where the phrases occur in the whole text, in order, into s->hits, and
 * whether it holds a Kelvin sign: one pass looking for the pairs in either
 * case, each found pair checked.  Lines are then matched against these
 * positions instead of being searched one by one.
 */
static int find_phrases(struct wn_fl_scratch *s, const char *text, size_t n, int *kelvin)
{
	const unsigned char *u = (const unsigned char *)text;
	s->nhits = 0;
	*kelvin = 0;
	size_t i = 0;
#if defined(WN_TEXT_AVX2)
	if (wn_text_have_avx2())
		WN_TRY(scan_avx2(s, u, n, &i, kelvin));
#endif
#if defined(__SSE2__)
	const __m128i case_bit = _mm_set1_epi8(0x20);
	__m128i first[sizeof(pairs) / sizeof(pairs[0])], second[sizeof(pairs) / sizeof(pairs[0])];
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		first[k] = _mm_set1_epi8((char)pairs[k][0]);
		second[k] = _mm_set1_epi8((char)pairs[k][1]);
	}
	for (; i + 17 <= n; i += 16) {
		__m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(u + i)),
		                         case_bit);
		__m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(const void *)(u + i + 1)),
		                         case_bit);
		__m128i m = _mm_setzero_si128();
		for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
			m = _mm_or_si128(m, _mm_and_si128(_mm_cmpeq_epi8(a, first[k]),
			                                  _mm_cmpeq_epi8(b, second[k])));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		while (bits) {
			size_t at = i + (size_t)__builtin_ctz(bits);
			bits &= bits - 1;
			WN_TRY(found_pair(s, u, at, n, kelvin));
		}
	}
#endif
	for (; i + 1 < n; i++)
		for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
			if ((u[i] | 0x20) == pairs[k][0] && (u[i + 1] | 0x20) == pairs[k][1]) {
				WN_TRY(found_pair(s, u, i, n, kelvin));
				break;
			}
	/* in order of position: a phrase found by a later anchor may start
	 * before one found earlier */
	for (size_t k = 1; k < s->nhits; k++) {
		struct wn_fl_hit h = s->hits[k];
		size_t j = k;
		for (; j > 0 && s->hits[j - 1].pos > h.pos; j--)
			s->hits[j] = s->hits[j - 1];
		s->hits[j] = h;
	}
	return WN_OK;
}

/* The length of a citation at p[i..e): [digits], [edit], [citation needed];
 * digits are Unicode decimal digits, as \d in Python's re. */
static size_t citation(const char *p, size_t i, size_t e)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t j = i + 1;
	while (j < e) {
		int len;
		uint32_t c = wn_fl_decode(u + j, u + e, &len);
		if (c < 0x80 ? !(c >= '0' && c <= '9')
		             : utf8proc_category((utf8proc_int32_t)c) != UTF8PROC_CATEGORY_ND)
			break;
		j += (size_t)len;
	}
	if (j < e && p[j] == ']')
		return j + 1 - i;
	static const char *const words[] = { "[edit]", "[citation needed]" };
	for (size_t k = 0; k < 2; k++) {
		size_t n = strlen(words[k]);
		if (e - i >= n && memcmp(p + i, words[k], n) == 0)
			return n;
	}
	return 0;
}

static int copy_without_citations(struct wn_buf *out, const char *p, size_t s, size_t e)
{
	wn_buf_reset(out);
	size_t start = s;
	for (size_t i = s; i < e;) {
		const char *q = memchr(p + i, '[', e - i);
		if (!q)
			break;
		i = (size_t)(q - p);
		size_t m = citation(p, i, e);
		if (!m) {
			i++;
			continue;
		}
		WN_TRY(wn_buf_add(out, p + start, i - start));
		i += m;
		start = i;
	}
	return wn_buf_add(out, p + start, e - start);
}

/* The ASCII lowercase of a line, with the Kelvin sign as 'k'; other bytes
 * as they are. */
static int lower(struct wn_buf *out, const char *p, size_t n)
{
	wn_buf_reset(out);
	WN_TRY(wn_buf_grow(out, n));
	char *d = out->data;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 'A' && c <= 'Z') {
			d[k++] = (char)(c + 32);
		} else if (c == 0xE2 && i + 2 < n && (unsigned char)p[i + 1] == 0x84 &&
		           (unsigned char)p[i + 2] == 0xAA) {
			d[k++] = 'k';
			i += 2;
		} else {
			d[k++] = (char)c;
		}
	}
	out->len = k;
	d[k] = '\0';
	return WN_OK;
}

static int contains(const struct wn_buf *b, const char *t)
{
	return b->len && memmem(b->data, b->len, t, strlen(t)) != NULL;
}

static int terminal(const char *p, size_t n)
{
	if (!n)
		return 0;
	if (n >= 3 && memcmp(p + n - 3, "...", 3) == 0)
		return 0;
	return strchr(".?!\"'", p[n - 1]) != NULL;
}

int wn_fl_c4(const struct wn_fl_c4 *p, const char *text, size_t n, struct wn_fl_scratch *s,
             struct wn_fl_report *r)
{
	size_t from = r->n;
	wn_buf_reset(&s->text);
	s->c4_words = 0;
	uint64_t sentences = 0;
	/* the document-level failures, in line order */
	const char *first = NULL;
	int lorem = 0, curly = 0;
	size_t pos = 0, ls, le, next = 0, hit = 0;
	int kept = 0;
	int kelvin;
	WN_TRY(find_phrases(s, text, n, &kelvin));
	while (wn_fl_splitlines(text, n, &pos, &ls, &le)) {
		wn_fl_lstrip(text, &ls, le);
		wn_fl_rstrip(text, ls, &le);
		/* the text's words in the line; runs of them with no space
		 * between are the line's words split at white space */
		const struct wn_fl_words *w = &s->words;
		while (next < w->n && w->v[next].off < ls)
			next++;
		size_t from_word = next;
		uint64_t words = 0, longest = 0, cur = 0;
		for (; next < w->n && w->v[next].off < le; next++) {
			const struct wn_fl_word *t = &w->v[next];
			if (next == from_word || t->off != t[-1].off + t[-1].len) {
				words++;
				cur = 0;
			}
			cur += t->cps;
			if (cur > longest)
				longest = cur;
		}
		if (p->max_word_length.on && (double)longest > p->max_word_length.v)
			continue;
		const char *line = text + ls;
		size_t len = le - ls;
		if (p->citations && memchr(line, '[', len)) {
			WN_TRY(copy_without_citations(&s->line, text, ls, le));
			line = s->line.data ? s->line.data : "";
			len = s->line.len;
		}
		if (p->terminal_punct && !terminal(line, len))
			continue;
		if (p->min_words_per_line.on && (double)words < p->min_words_per_line.v)
			continue;
		/* the phrases in this line: from the positions found in the
		 * whole text, unless citations went from the line or the text
		 * has a Kelvin sign (a 'k' only once lowercased) */
		unsigned kinds = 0;
		if (!kelvin && len == le - ls) {
			while (hit < s->nhits && s->hits[hit].pos < ls)
				hit++;
			for (size_t h = hit; h < s->nhits && s->hits[h].pos < le; h++)
				kinds |= s->hits[h].kinds;
		} else {
			WN_TRY(lower(&s->tmp, line, len));
			kinds |= contains(&s->tmp, "lorem ipsum") ? PH_LOREM : 0;
			kinds |= contains(&s->tmp, "javascript") ? PH_JAVASCRIPT : 0;
			for (size_t k = 0; k < sizeof(policy) / sizeof(policy[0]); k++)
				kinds |= contains(&s->tmp, policy[k]) ? PH_POLICY : 0;
		}
		if (p->lorem_ipsum && (kinds & PH_LOREM)) {
			lorem = 1;
			if (!first)
				first = "c4_lorem_ipsum";
			if (!r->all)
				break;
		}
		if (p->javascript && (kinds & PH_JAVASCRIPT))
			continue;
		if (p->curly_bracket && memchr(line, '{', len)) {
			curly = 1;
			if (!first)
				first = "c4_curly_bracket";
			if (!r->all)
				break;
		}
		if (p->policy && (kinds & PH_POLICY))
			continue;
		/* the line's words are the text's, unless citations went */
		if (len == le - ls) {
			s->c4_words += next - from_word;
			if (p->min_sentences.on)
				sentences += wn_fl_count_sentences(w->v + from_word, next - from_word);
		} else {
			s->line_words.n = 0;
			WN_TRY(wn_fl_split_words(line, len, &s->line_words));
			s->c4_words += s->line_words.n;
			if (p->min_sentences.on)
				sentences += wn_fl_count_sentences(s->line_words.v, s->line_words.n);
		}
		if (kept)
			WN_TRY(wn_buf_addc(&s->text, '\n'));
		WN_TRY(wn_buf_add(&s->text, line, len));
		kept = 1;
	}
	/* the first of the two document rules met is the reason */
	if (first && strcmp(first, "c4_curly_bracket") == 0) {
		wn_fl_note(r, "c4_curly_bracket", WN_FL_BOOL, curly, !curly);
		wn_fl_note(r, "c4_lorem_ipsum", WN_FL_BOOL, lorem, !lorem);
	} else {
		wn_fl_note(r, "c4_lorem_ipsum", WN_FL_BOOL, lorem, !lorem);
		wn_fl_note(r, "c4_curly_bracket", WN_FL_BOOL, curly, !curly);
	}
	if (first && !r->all)
		return 0;
	if (p->min_sentences.on)
		wn_fl_note(r, "c4_too_few_sentences", WN_FL_INT, (double)sentences,
		           !((double)sentences < p->min_sentences.v));
	else
		wn_fl_note(r, "c4_too_few_sentences", WN_FL_NONE, 0, 1);
	/* "\n".join(kept).strip() */
	size_t a = 0, b = s->text.len;
	const char *t = s->text.data ? s->text.data : "";
	wn_fl_lstrip(t, &a, b);
	wn_fl_rstrip(t, a, &b);
	if (a || b != s->text.len) {
		memmove(s->text.data, t + a, b - a);
		wn_buf_truncate(&s->text, b - a);
	}
	return wn_fl_report_passed(r, from);
}
