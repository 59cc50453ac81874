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
 *
 * The n-gram counts are exact, but most n-grams occur once, and those
 * never need a table: a pass over a filter of two-bit counters finds the
 * n-grams whose bucket no other shares.  The others go into a table keyed
 * by hashes of words (or by the group of the (n-1)-gram and a word), and
 * every hash that matches is checked against the bytes, so a collision
 * costs a comparison, never a wrong count.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "filter/filter.h"

/* 8 bytes as a little-endian number: the first byte is the lowest. */
static inline uint64_t load64(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

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

/*
 * The distinct stop words among the words (datatrove intersects the sets,
 * matching case and all), counted until there are `enough`.  Words of at
 * most 8 bytes are looked up by their bytes in a small table of the stop
 * words; longer ones are compared with the longer stop words, if there
 * are any.
 */
#define STOP_SLOTS 128
static uint64_t stop_words(const struct wn_fl_gopher_quality *p, const char *text, size_t n,
                           const struct wn_fl_words *w, uint64_t enough)
{
	uint64_t key[STOP_SLOTS];
	unsigned char len[STOP_SLOTS] = { 0 }, idx[STOP_SLOTS];
	const char *longer[WN_FL_MAX_STOP_WORDS];
	size_t longer_len[WN_FL_MAX_STOP_WORDS], nlonger = 0, distinct_words = 0;
	for (size_t k = 0; k < p->nstop; k++) {
		size_t l = p->stop_len[k];
		if (l > 8) {
			size_t j = 0;
			while (j < nlonger && !(longer_len[j] == l && memcmp(longer[j], p->stop[k], l) == 0))
				j++;
			if (j == nlonger) {
				longer[nlonger] = p->stop[k];
				longer_len[nlonger++] = l;
			}
			continue;
		}
		if (!l)
			continue; /* a word is never empty */
		char tmp[8] = { 0 };
		memcpy(tmp, p->stop[k], l);
		uint64_t x = load64(tmp);
		size_t h = (size_t)((x * 0x9E3779B97F4A7C15ull) >> 57);
		while (len[h] && !(len[h] == l && key[h] == x))
			h = (h + 1) % STOP_SLOTS;
		if (!len[h]) {
			len[h] = (unsigned char)l;
			key[h] = x;
			idx[h] = (unsigned char)distinct_words++;
		}
	}
	/* a bit per distinct stop word: those of the table, then the longer */
	uint64_t seen = 0, found = 0;
	if (enough > distinct_words + nlonger)
		enough = distinct_words + nlonger;
	for (size_t i = 0; i < w->n && found < enough; i++) {
		const struct wn_fl_word *t = &w->v[i];
		if (t->len > 8) {
			for (size_t j = 0; j < nlonger; j++)
				if (t->len == longer_len[j] && memcmp(text + t->off, longer[j], t->len) == 0 &&
				    !(seen >> (distinct_words + j) & 1)) {
					seen |= 1ull << (distinct_words + j);
					found++;
				}
			continue;
		}
		uint64_t x;
		if (t->off + 8 <= n) {
			/* the bytes past the word off */
			x = load64(text + t->off) & (t->len == 8 ? ~0ull : (1ull << (8 * t->len)) - 1);
		} else {
			char tmp[8] = { 0 };
			memcpy(tmp, text + t->off, t->len);
			x = load64(tmp);
		}
		size_t h = (size_t)((x * 0x9E3779B97F4A7C15ull) >> 57);
		while (len[h]) {
			if (len[h] == t->len && key[h] == x) {
				found += !(seen >> idx[h] & 1);
				seen |= 1ull << idx[h];
				break;
			}
			h = (h + 1) % STOP_SLOTS;
		}
	}
	return found;
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

	/* without --annotate only the verdict matters: enough stop words
	 * end the count */
	uint64_t enough = UINT64_MAX;
	if (!r->all && p->min_stop_words.on && p->min_stop_words.v <= WN_FL_MAX_STOP_WORDS) {
		double v = p->min_stop_words.v;
		enough = v > 0 ? (uint64_t)v : 0;
		enough += (double)enough < v; /* the least count that passes */
	}
	uint64_t distinct = stop_words(p, text, n, w, enough);
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
	uint64_t **wide[] = { &s->hw, &s->cps, &s->blen };
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		uint64_t *v = realloc(*wide[i], cap * sizeof(uint64_t));
		if (!v)
			return WN_ENOMEM;
		*wide[i] = v;
	}
	uint32_t **narrow[] = { &s->grp, &s->grp2, &s->at, &s->at2, &s->gcnt, &s->gfirst, &s->bk };
	for (size_t i = 0; i < sizeof(narrow) / sizeof(narrow[0]); i++) {
		uint32_t *v = realloc(*narrow[i], cap * sizeof(uint32_t));
		if (!v)
			return WN_ENOMEM;
		*narrow[i] = v;
	}
	s->ncap = cap;
	return WN_OK;
}

/* Room for the words' bytes end to end and 16 more; never uninitialised,
 * as bytes past a word are read (and masked off). */
static int reserve_flat(struct wn_fl_scratch *s, size_t n)
{
	if (n + 16 <= s->flatcap)
		return WN_OK;
	size_t cap = s->flatcap ? s->flatcap : 4096;
	while (cap < n + 16)
		cap *= 2;
	char *f = realloc(s->flat, cap);
	if (!f)
		return WN_ENOMEM;
	memset(f + s->flatcap, 0, cap - s->flatcap);
	s->flat = f;
	s->flatcap = cap;
	return WN_OK;
}

/* The first len bytes of the 16 at p (as two numbers, the rest cleared). */
static inline void first_bytes(const char *p, uint64_t len, uint64_t *a, uint64_t *b)
{
	uint64_t lo = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
	uint64_t hi = len >= 16 ? ~0ull : len <= 8 ? 0 : (1ull << (8 * (len - 8))) - 1;
	*a = load64(p) & lo;
	*b = load64(p + 8) & hi;
}

static inline uint64_t mix2(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ b;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ h >> 29;
}

/*
 * Lay the words' bytes end to end in s->flat (the text "joined with
 * nothing"), with prefix sums of bytes and code points: the concatenation
 * of words i..j-1 is flat[blen[i]..blen[j]).  s->hw gets a hash of each
 * word: equal words, equal hashes.
 */
static int flatten(struct wn_fl_scratch *s, const char *text, size_t tn)
{
	const struct wn_fl_words *w = &s->words;
	size_t n = w->n, total = 0;
	for (size_t i = 0; i < n; i++)
		total += w->v[i].len;
	WN_TRY(reserve_flat(s, total));
	char *flat = s->flat;
	uint64_t bytes = 0, cps = 0;
	for (size_t i = 0; i < n; i++) {
		const struct wn_fl_word *x = &w->v[i];
		uint32_t len = x->len;
		char *p = flat + bytes;
		s->blen[i] = bytes;
		s->cps[i] = cps;
		bytes += len;
		cps += x->cps;
		if (len < 16) {
			/* 16 bytes at once where the text has them */
			if (x->off + 16 <= tn)
				memcpy(p, text + x->off, 16);
			else
				memcpy(p, text + x->off, len);
			uint64_t a, b;
			first_bytes(p, len, &a, &b);
			s->hw[i] = mix2(a, b | (uint64_t)len << 56);
		} else {
			memcpy(p, text + x->off, len);
			s->hw[i] = XXH3_64bits(p, len);
		}
	}
	s->blen[n] = bytes;
	s->cps[n] = cps;
	memset(flat + bytes, 0, 16);
	return WN_OK;
}

/* Words i and j are the same. */
static inline int same_word(const struct wn_fl_scratch *s, size_t i, size_t j)
{
	uint64_t len = s->blen[i + 1] - s->blen[i];
	return len == s->blen[j + 1] - s->blen[j] &&
	       memcmp(s->flat + s->blen[i], s->flat + s->blen[j], len) == 0;
}

/*
 * A filter in front of the exact tables: a two-bit counter per bucket,
 * saturating at "seen twice".  Equal keys fall in the same bucket, so a
 * key alone in its bucket occurs once and need not be looked up; with 32
 * buckets per key few keys share one by chance.
 */
static int filter_reset(struct wn_fl_scratch *s, size_t keys, unsigned *shift)
{
	size_t want = 64;
	unsigned bits = 6;
	/* bucket numbers fit 32 bits (in s->bk) */
	while (want < 32 * keys && bits < 31) {
		want *= 2;
		bits++;
	}
	if (want > s->seencap) {
		unsigned char *v = realloc(s->seen, want);
		if (!v)
			return WN_ENOMEM;
		s->seen = v;
		s->seencap = want;
	}
	memset(s->seen, 0, want);
	*shift = 64 - bits;
	return WN_OK;
}

static inline size_t bucket(uint64_t a, uint64_t b, unsigned shift)
{
	return (size_t)(((a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull) >> shift);
}

static inline void filter_add(unsigned char *seen, size_t i)
{
	unsigned c = seen[i];
	seen[i] = (unsigned char)((c | c << 1 | 1) & 3);
}

static inline unsigned filter_many(const unsigned char *seen, size_t i)
{
	return seen[i] >> 1;
}

/*
 * One n (2, 3 or 4) of the most frequent n-gram: the n-grams that start
 * at the positions list[0..*m) (all positions below *m when n is 2) are
 * grouped, equal n-grams in equal groups numbered in the order of their
 * first occurrence (grp[position], s->gcnt, s->gfirst).  An n-gram is its
 * (n-1)-gram and a word: its key is the group of the (n-1)-gram from there
 * (in prev, or the first word's hash when n is 2) and the n-th word's
 * hash.  Those alone in their filter bucket occur once and are left out.
 * *value receives the length of the most frequent (the first of equals)
 * joined by spaces times its count; list[0..*m) the positions whose
 * (n+1)-gram may repeat.
 */
static int top_level(struct wn_fl_scratch *s, uint32_t n, uint32_t *list, size_t *m,
                     const uint32_t *prev, uint32_t *grp, uint64_t *value)
{
	size_t nw = s->words.n, count = *m, ns = 0;
	const uint64_t *hw = s->hw;
	uint32_t *surv = s->at2, *gcnt = s->gcnt, *gfirst = s->gfirst;
	unsigned shift;
	WN_TRY(filter_reset(s, count, &shift));
	unsigned char *seen = s->seen;
	uint32_t *bk = s->bk; /* the buckets, from the first pass to the second */
#define KEY_A(p) (n == 2 ? hw[p] : (uint64_t)prev[p])
	for (size_t k = 0; k < count; k++) {
		size_t p = n == 2 ? k : list[k];
		filter_add(seen, bk[k] = (uint32_t)bucket(KEY_A(p), hw[p + n - 1], shift));
	}
	for (size_t k = 0; k < count; k++) {
		size_t p = n == 2 ? k : list[k];
		surv[ns] = (uint32_t)p;
		ns += filter_many(seen, bk[k]);
	}
	WN_TRY(wn_fl_keys_reserve(&s->keys, ns));
	uint32_t ng = 0;
	for (size_t k = 0; k < ns; k++) {
		size_t p = surv[k];
		uint64_t a = KEY_A(p), b = hw[p + n - 1];
		struct wn_fl_kslot *sl = wn_fl_keys_find(&s->keys, a, b);
		/* equal keys: the groups of the (n-1)-grams are exact, the
		 * hashes of words are compared with the words */
		while (wn_fl_keys_used(&s->keys, sl)) {
			size_t f = gfirst[sl->val];
			if ((n > 2 || same_word(s, f, p)) && same_word(s, f + n - 1, p + n - 1))
				break;
			sl = wn_fl_keys_next(&s->keys, sl, a, b);
		}
		if (!wn_fl_keys_used(&s->keys, sl)) {
			wn_fl_keys_set(&s->keys, sl, a, b, ng);
			gfirst[ng] = (uint32_t)p;
			gcnt[ng++] = 0;
		}
		gcnt[sl->val]++;
		grp[p] = sl->val;
	}
#undef KEY_A
	/* the n-gram at 0 occurs once at least */
	uint32_t best = 1, best_first = 0;
	for (uint32_t g = 0; g < ng; g++)
		if (gcnt[g] > best) {
			best = gcnt[g];
			best_first = gfirst[g];
		}
	*value = (s->cps[best_first + n] - s->cps[best_first] + (n - 1)) * best;
	/* an (n+1)-gram can only repeat where its n-gram does */
	size_t next = 0;
	for (size_t k = 0; k < ns; k++) {
		uint32_t p = surv[k];
		list[next] = p;
		next += p + n < nw && gcnt[grp[p]] > 1;
	}
	*m = next;
	return WN_OK;
}

/*
 * The most frequent n-gram for n = 2, 3, 4.  As words hold no white space,
 * n-grams joined by spaces are equal when their words are.
 */
static int top_ngrams(struct wn_fl_scratch *s, uint64_t value[3])
{
	size_t nw = s->words.n;
	size_t m = nw >= 2 ? nw - 1 : 0;
	uint32_t *prev = NULL, *grp = s->grp, *other = s->grp2;
	for (uint32_t n = 2; n <= 4; n++) {
		value[n - 2] = 0;
		if (nw < n)
			continue;
		WN_TRY(top_level(s, n, s->at, &m, prev, grp, &value[n - 2]));
		prev = grp;
		grp = other;
		other = prev;
	}
	return WN_OK;
}

/* A candidate position whose 16 bytes are not alone in their bucket. */
#define SHARED (1u << 31)

/*
 * The positions where a repeated n-gram (words joined with nothing) may
 * start, for any n >= 5, into s->at: the 16 bytes of s->flat from there
 * are not alone in their filter bucket (marked SHARED), or the 5 words
 * from there are shorter than that.  Two equal n-grams of 16 bytes or more
 * start with the same 16 bytes however their words fall, and two shorter
 * ones both start n words shorter than 16 bytes; every other position can
 * be passed over.
 */
static int candidates(struct wn_fl_scratch *s, size_t *count)
{
	size_t nw = s->words.n;
	*count = 0;
	if (nw < 5)
		return WN_OK;
	size_t starts = nw - 4;
	unsigned shift;
	WN_TRY(filter_reset(s, starts, &shift));
	unsigned char *seen = s->seen;
	uint32_t *bk = s->bk; /* the buckets, from the first pass to the second */
	const uint64_t *blen = s->blen;
	const char *flat = s->flat;
	for (size_t p = 0; p < starts; p++)
		filter_add(seen, bk[p] = (uint32_t)bucket(load64(flat + blen[p]),
		                                          load64(flat + blen[p] + 8), shift));
	size_t c = 0;
	for (size_t p = 0; p < starts; p++) {
		unsigned shared = filter_many(seen, bk[p]);
		s->at[c] = (uint32_t)p | (shared ? SHARED : 0);
		c += shared | (blen[p + 5] - blen[p] < 16);
	}
	*count = c;
	return WN_OK;
}

/*
 * The characters of repeated n-grams (words joined with nothing): scan
 * the positions, and on an n-gram seen before count its characters and
 * skip the n words.  Only the candidates in s->at[0..*cands) can repeat:
 * those SHARED, and those whose n words are shorter than 16 bytes (fewer
 * for each n: the list shrinks as n grows).  Of those, only the n-grams
 * whose first 16 bytes and length are not alone in their filter bucket
 * are visited: passing the others by changes nothing, as they would only
 * be remembered.  The key of an n-gram is its hash and length; equal keys
 * are compared.
 */
static int dup_ngrams(struct wn_fl_scratch *s, uint32_t n, size_t *cands, uint64_t *value)
{
	size_t nw = s->words.n;
	*value = 0;
	if (nw < n)
		return WN_OK;
	const uint64_t *blen = s->blen, *cps = s->cps;
	uint32_t *at = s->at, *surv = s->at2;
	const char *flat = s->flat;
	size_t c = 0;
	for (size_t k = 0; k < *cands; k++) {
		uint32_t e = at[k];
		size_t p = e & ~SHARED;
		at[c] = e;
		c += p + n <= nw && ((e & SHARED) || blen[p + n] - blen[p] < 16);
	}
	*cands = c;
	if (!c)
		return WN_OK;
	unsigned shift;
	WN_TRY(filter_reset(s, c, &shift));
	unsigned char *seen = s->seen;
	uint32_t *bk = s->bk; /* the buckets, from the first pass to the second */
#define BUCKET(p, len)                                                                     \
	(first_bytes(flat + blen[p], len, &x, &y), bucket(x, y ^ (len) << 32, shift))
	for (size_t k = 0; k < c; k++) {
		size_t p = at[k] & ~SHARED;
		uint64_t len = blen[p + n] - blen[p], x, y;
		filter_add(seen, bk[k] = (uint32_t)BUCKET(p, len));
	}
	size_t ns = 0;
	for (size_t k = 0; k < c; k++) {
		surv[ns] = at[k] & ~SHARED;
		ns += filter_many(seen, bk[k]);
	}
#undef BUCKET
	WN_TRY(wn_fl_keys_reserve(&s->keys, ns));
	uint64_t chars = 0;
	size_t from = 0; /* the scan is past the words before this */
	for (size_t k = 0; k < ns; k++) {
		size_t p = surv[k];
		if (p < from)
			continue;
		uint64_t len = blen[p + n] - blen[p];
		const char *g = flat + blen[p];
		uint64_t h = XXH3_64bits(g, len);
		struct wn_fl_kslot *sl = wn_fl_keys_find(&s->keys, h, len);
		while (wn_fl_keys_used(&s->keys, sl) && memcmp(flat + blen[sl->val], g, len) != 0)
			sl = wn_fl_keys_next(&s->keys, sl, h, len);
		if (wn_fl_keys_used(&s->keys, sl)) {
			chars += cps[p + n] - cps[p];
			from = p + n;
		} else {
			wn_fl_keys_set(&s->keys, sl, h, len, (uint32_t)p);
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
	WN_TRY(flatten(s, text, n));
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
		WN_TRY(dup_ngrams(s, k + 5, &cands, &v));
		if (!note_ratio(r, dup_rule[k], &p->dup_ngram[k], (double)v, chars, 1))
			return 0;
	}
	return wn_fl_report_passed(r, from);
}
