/*
 * words.c - word splitting after spaCy's rule-based English tokenizer,
 * which is what datatrove's split_into_words uses, and its sentencizer.
 *
 * The text is cut at white space into chunks.  In each chunk, as spaCy's
 * Tokenizer._split_affixes does, one prefix and one suffix are taken off
 * per round until neither matches, stopping early at a special case; what
 * is left is kept whole when it looks like a URL, else cut at its infixes.
 * The prefix, suffix and infix rules are spaCy's English ones (spacy/lang/
 * punctuation.py, en/punctuation.py) with its character lists generalised
 * to Unicode categories; the special cases are English contractions,
 * abbreviations and times.  tools/filter_reference.py implements the same
 * rules in Python; docs/winnow-filter.md lists where they differ from spaCy.
 */
#include <stdlib.h>
#include <string.h>

#include "filter/filter.h"

#define U(p) ((const unsigned char *)(p))

void wn_fl_words_init(struct wn_fl_words *w)
{
	memset(w, 0, sizeof(*w));
}

void wn_fl_words_release(struct wn_fl_words *w)
{
	free(w->v);
	free(w->stack);
	free(w->cache);
	memset(w, 0, sizeof(*w));
}

static int grow_words(struct wn_fl_words *w)
{
	size_t cap = w->cap ? w->cap * 2 : 256;
	struct wn_fl_word *v = realloc(w->v, cap * sizeof(*v));
	if (!v)
		return WN_ENOMEM;
	w->v = v;
	w->cap = cap;
	return WN_OK;
}

/* What a byte says about a chunk: one table lookup per byte. */
enum { B_WS = 1, B_LETTER = 2, B_DIGIT = 4, B_OTHER = 8, B_HIGH = 16 };
static const unsigned char byte_class[256] = {
	[0x00 ... 0x08] = B_OTHER, [0x09 ... 0x0D] = B_WS, [0x0E ... 0x1B] = B_OTHER,
	[0x1C ... 0x20] = B_WS, [0x21 ... 0x2F] = B_OTHER, ['0' ... '9'] = B_DIGIT,
	[0x3A ... 0x40] = B_OTHER, ['A' ... 'Z'] = B_LETTER, [0x5B ... 0x60] = B_OTHER,
	['a' ... 'z'] = B_LETTER, [0x7B ... 0x7F] = B_OTHER, [0x80 ... 0xFF] = B_HIGH,
};

struct splitter {
	const unsigned char *b; /* the text */
	struct wn_fl_words *w;
	uint32_t gap;           /* WN_FL_W_GAP for the next word, if any */
};

/* Add the word b[s..s+len). */
static int emit(struct splitter *sp, size_t s, size_t len)
{
	struct wn_fl_words *w = sp->w;
	if (w->n == w->cap)
		WN_TRY(grow_words(w));
	const unsigned char *p = sp->b + s, *e = p + len;
	/* the classes some character has, and those some character lacks */
	unsigned has = 0, lacks = 0, last = 0;
	uint32_t cps = 0;
	for (; p < e && *p < 0x80; p++, cps++) {
		last = wn_fl_ascii_class[*p];
		has |= last;
		lacks |= ~last;
	}
	while (p < e) {
		int l;
		last = wn_fl_class(wn_fl_decode(p, e, &l));
		has |= last;
		lacks |= ~last;
		p += l;
		cps++;
	}
	uint32_t flags = sp->gap;
	sp->gap = 0;
	if (lacks & WN_FL_SYMBOL)
		flags |= WN_FL_W_NONSYM;
	if (has & WN_FL_ISALPHA)
		flags |= WN_FL_W_ALPHA;
	if (!(lacks & WN_FL_PUNCT))
		flags |= WN_FL_W_PUNCT;
	if (cps == 1 && (last & WN_FL_STERM))
		flags |= WN_FL_W_STERM;
	struct wn_fl_word *t = &w->v[w->n++];
	t->off = (uint32_t)s;
	t->len = (uint32_t)len;
	t->cps = cps;
	t->flags = flags;
	return WN_OK;
}

static int push_suffix(struct splitter *sp, size_t s, size_t len)
{
	struct wn_fl_words *w = sp->w;
	if (w->nstack + 2 > w->stackcap) {
		size_t cap = w->stackcap ? w->stackcap * 2 : 64;
		uint32_t *v = realloc(w->stack, cap * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		w->stack = v;
		w->stackcap = cap;
	}
	w->stack[w->nstack++] = (uint32_t)s;
	w->stack[w->nstack++] = (uint32_t)len;
	return WN_OK;
}

static inline unsigned cls_at(const unsigned char *b, size_t i, size_t e)
{
	int l;
	return i < e ? wn_fl_class(wn_fl_decode(b + i, b + e, &l)) : 0;
}

static inline unsigned cls_before(const unsigned char *b, size_t s, size_t i)
{
	int l;
	return i > s ? wn_fl_class(wn_fl_decode_back(b + s, b + i, &l)) : 0;
}

static int all_alpha(const unsigned char *b, size_t s, size_t e)
{
	if (s >= e)
		return 0;
	while (s < e) {
		int l;
		if (!(wn_fl_class(wn_fl_decode(b + s, b + e, &l)) & WN_FL_ALPHA))
			return 0;
		s += (size_t)l;
	}
	return 1;
}

/* ---- special cases ---------------------------------------------------- */

struct lit {
	const char *s;
	size_t n;
};
#define LIT(s) { s, sizeof(s) - 1 }

/* spaCy's English abbreviations that keep their period (lang/en/
 * tokenizer_exceptions.py and the single letters of lang/tokenizer_exceptions.py). */
static const struct lit abbreviations[] = { /* sorted by bytes */
	LIT("Adm."), LIT("Ak."), LIT("Ala."), LIT("Apr."), LIT("Ariz."), LIT("Ark."), LIT("Aug."),
	LIT("Bros."), LIT("Calif."), LIT("Co."), LIT("Colo."), LIT("Conn."), LIT("Corp."),
	LIT("D.C."), LIT("Dec."), LIT("Del."), LIT("Dr."), LIT("E.G."), LIT("E.g."), LIT("Feb."),
	LIT("Fla."), LIT("Ga."), LIT("Gen."), LIT("Gov."), LIT("I.E."), LIT("I.e."), LIT("Ia."),
	LIT("Id."), LIT("Ill."), LIT("Inc."), LIT("Ind."), LIT("Jan."), LIT("Jr."), LIT("Jul."),
	LIT("Jun."), LIT("Kan."), LIT("Kans."), LIT("Ky."), LIT("La."), LIT("Ltd."), LIT("Mar."),
	LIT("Mass."), LIT("Md."), LIT("Messrs."), LIT("Mich."), LIT("Minn."), LIT("Miss."),
	LIT("Mo."), LIT("Mont."), LIT("Mr."), LIT("Mrs."), LIT("Ms."), LIT("Mt."), LIT("N.C."),
	LIT("N.D."), LIT("N.H."), LIT("N.J."), LIT("N.M."), LIT("N.Y."), LIT("Neb."),
	LIT("Nebr."), LIT("Nev."), LIT("Nov."), LIT("Oct."), LIT("Okla."), LIT("Ore."),
	LIT("Pa."), LIT("Ph.D."), LIT("Prof."), LIT("Rep."), LIT("Rev."), LIT("S.C."),
	LIT("Sen."), LIT("Sep."), LIT("Sept."), LIT("St."), LIT("Tenn."), LIT("Va."),
	LIT("Wash."), LIT("Wis."), LIT("a.m."), LIT("co."), LIT("e.g."), LIT("i.e."), LIT("p.m."),
	LIT("v.s."), LIT("vs."),
};

static int is_abbreviation(const unsigned char *b, size_t s, size_t e)
{
	size_t n = e - s;
	if (n < 2 || n > 7 || b[e - 1] != '.')
		return 0;
	/* a single lowercase letter and a period: "a." .. "z.", "ä." "ö." "ü." */
	if (n == 2 && b[s] >= 'a' && b[s] <= 'z')
		return 1;
	if (n == 3 && b[s] == 0xC3 && (b[s + 1] == 0xA4 || b[s + 1] == 0xB6 || b[s + 1] == 0xBC))
		return 1;
	/* the first entry that starts with b[s], then those after it */
	size_t lo = 0, hi = sizeof(abbreviations) / sizeof(abbreviations[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((unsigned char)abbreviations[mid].s[0] < b[s])
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < sizeof(abbreviations) / sizeof(abbreviations[0]); i++) {
		const struct lit *a = &abbreviations[i];
		if ((unsigned char)a->s[0] != b[s])
			break;
		if (a->n == n && memcmp(a->s, b + s, n) == 0)
			return 1;
	}
	return 0;
}

static int ends_lit(const unsigned char *b, size_t s, size_t e, const struct lit *l)
{
	return e - s > l->n && memcmp(b + e - l->n, l->s, l->n) == 0 && all_alpha(b, s, e - l->n);
}

/* "don't" -> do n't, "I'm" -> I 'm, "10am" -> 10 am: 0 when b[s..e) is not
 * a special case, 1 when it is one word, 2 when it is two words cut at *cut. */
static int special(const unsigned char *b, size_t s, size_t e, size_t *cut)
{
	static const struct lit clitics[] = {
		LIT("n't"), LIT("n\xE2\x80\x99t"),
		LIT("'ll"), LIT("'re"), LIT("'ve"), LIT("'d"), LIT("'m"),
		LIT("\xE2\x80\x99ll"), LIT("\xE2\x80\x99re"), LIT("\xE2\x80\x99ve"),
		LIT("\xE2\x80\x99" "d"), LIT("\xE2\x80\x99m"),
	};
	static const struct lit periods[] = { LIT("a.m."), LIT("am"), LIT("p.m."), LIT("pm") };
	size_t n = e - s;
	if (n < 2)
		return 0;
	unsigned char last = b[e - 1];
	if (last == '.' && is_abbreviation(b, s, e))
		return 1;
	/* contractions: an apostrophe (' or U+2019) among the last 5 bytes */
	size_t tail = n < 6 ? n : 6;
	int apostrophe = 0;
	for (size_t i = e - tail; i < e; i++)
		apostrophe |= b[i] == '\'' || b[i] == 0x99;
	if (apostrophe) {
		for (size_t i = 0; i < sizeof(clitics) / sizeof(clitics[0]); i++)
			if (ends_lit(b, s, e, &clitics[i])) {
				*cut = e - clitics[i].n;
				return 2;
			}
	}
	/* hours: 1..12 then a.m., am, p.m. or pm */
	if (b[s] >= '1' && b[s] <= '9') {
		size_t d = s + 1;
		if (d < e && b[s] == '1' && b[d] >= '0' && b[d] <= '2')
			d++;
		for (size_t i = 0; i < 4; i++)
			if (e - d == periods[i].n && memcmp(b + d, periods[i].s, e - d) == 0) {
				*cut = d;
				return 2;
			}
	}
	return 0;
}

static int emit_special(struct splitter *sp, int kind, size_t s, size_t e, size_t cut)
{
	if (kind == 1)
		return emit(sp, s, e - s);
	WN_TRY(emit(sp, s, cut - s));
	return emit(sp, cut, e - cut);
}

/* ---- prefixes and suffixes ---------------------------------------------------- */

static size_t dots(const unsigned char *b, size_t i, size_t e)
{
	size_t n = 0;
	while (i + n < e && b[i + n] == '.')
		n++;
	return n;
}

static int is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

/* The length of the prefix at b[s..e), 0 if none. */
static size_t prefix_len(const unsigned char *b, size_t s, size_t e)
{
	unsigned char c = b[s];
	if (c == '.') {
		size_t n = dots(b, s, e);
		return n >= 2 ? n : 0;
	}
	if (c == '+')
		return s + 1 < e && is_digit(b[s + 1]) ? 0 : 1;
	if (c == 'U' && e - s >= 3 && b[s + 1] == 'S' && b[s + 2] == '$')
		return 3;
	if ((c == 'C' || c == 'A') && e - s >= 2 && b[s + 1] == '$')
		return 2;
	int l;
	unsigned k = wn_fl_class(wn_fl_decode(b + s, b + e, &l));
	return (k & WN_FL_PREFIX) ? (size_t)l : 0;
}

/* spaCy's units after a number ("5km", "20%"), longest first where one
 * ends another. */
static const struct lit units[] = {
	LIT("km\xC2\xB2"), LIT("km\xC2\xB3"), LIT("m\xC2\xB2"), LIT("m\xC2\xB3"), LIT("dm\xC2\xB2"),
	LIT("dm\xC2\xB3"), LIT("cm\xC2\xB2"), LIT("cm\xC2\xB3"), LIT("mm\xC2\xB2"), LIT("mm\xC2\xB3"),
	LIT("\xC2\xB5m"), LIT("\xC2\xB5g"), LIT("m/s"), LIT("km/h"), LIT("kmh"), LIT("mph"),
	LIT("hPa"), LIT("mbar"), LIT("km"), LIT("dm"), LIT("cm"), LIT("mm"), LIT("ha"), LIT("nm"),
	LIT("yd"), LIT("in"), LIT("ft"), LIT("kg"), LIT("mg"), LIT("lb"), LIT("oz"), LIT("Pa"),
	LIT("mb"), LIT("MB"), LIT("kb"), LIT("KB"), LIT("gb"), LIT("GB"), LIT("tb"), LIT("TB"),
	LIT("m"), LIT("g"), LIT("t"), LIT("T"), LIT("G"), LIT("M"), LIT("K"), LIT("%"),
};

/* The length of the suffix that ends b[s..e): the alternative that starts
 * leftmost, as a regular-expression search for the first match does. */
static size_t suffix_len(const unsigned char *b, size_t s, size_t e)
{
	if (s >= e)
		return 0;
	size_t best = e; /* the start of the longest suffix found */
	size_t nd = 0;
	while (nd < e - s && b[e - 1 - nd] == '.')
		nd++;
	if (nd >= 2)
		best = e - nd;
	if (e - s >= 3 && b[e - 3] == 0xE2 && b[e - 2] == 0x80 && b[e - 1] == 0xA6 && e - 3 < best)
		best = e - 3;
	int l;
	uint32_t c = wn_fl_decode_back(b + s, b + e, &l);
	unsigned k = wn_fl_class(c);
	size_t cs = e - (size_t)l; /* where the last character starts */
	if ((k & WN_FL_SUFFIX) && cs < best)
		best = cs;
	if (e - s >= 2 && b[e - 2] == '\'' && (b[e - 1] == 's' || b[e - 1] == 'S') && e - 2 < best)
		best = e - 2;
	if (e - s >= 4 && b[e - 4] == 0xE2 && b[e - 3] == 0x80 && b[e - 2] == 0x99 &&
	    (b[e - 1] == 's' || b[e - 1] == 'S') && e - 4 < best)
		best = e - 4;
	unsigned before = cls_before(b, s, cs);
	if (c == '+' && (before & WN_FL_DIGIT) && cs < best)
		best = cs;
	if (c == '.' && cs < best) {
		int l2;
		size_t p2 = cs;
		int upper2 = 0, degree = 0;
		if (p2 > s && (before & WN_FL_UPPER)) {
			wn_fl_decode_back(b + s, b + p2, &l2);
			upper2 = cls_before(b, s, p2 - (size_t)l2) & WN_FL_UPPER;
		}
		/* "°C." */
		if (cs - s >= 3 && strchr("FfCcKk", b[cs - 1]) && b[cs - 3] == 0xC2 && b[cs - 2] == 0xB0)
			degree = 1;
		if ((before & WN_FL_DOTAFTER) || upper2 || degree)
			best = cs;
	}
	if ((k & WN_FL_CURRENCY) && (before & WN_FL_DIGIT) && cs < best)
		best = cs;
	/* a unit (at most 6 bytes) follows a digit */
	size_t d = e - s < 7 ? e - s : 7;
	while (d > 1 && !is_digit(b[e - d]))
		d--;
	if (d > 1 && is_digit(b[e - d])) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = units[i].n;
			if (e - s > n && memcmp(b + e - n, units[i].s, n) == 0 &&
			    is_digit(b[e - n - 1])) {
				if (e - n < best)
					best = e - n;
				break;
			}
		}
	}
	return e - best;
}

/* ---- URLs and infixes ------------------------------------------------------------ */

/* One host label: host characters, '-' and '_' inside, at most 64. */
static size_t host_label(const unsigned char *b, size_t i, size_t e, int *ok)
{
	size_t start = i, count = 0;
	unsigned first = 0, last = 0;
	while (i < e) {
		int l;
		uint32_t c = wn_fl_decode(b + i, b + e, &l);
		unsigned k = wn_fl_class(c);
		int inner = c == '-' || c == '_';
		if (!(k & WN_FL_HOST) && !inner)
			break;
		if (count == 0)
			first = inner ? 0 : 1;
		last = inner ? 0 : 1;
		count++;
		i += (size_t)l;
	}
	*ok = count > 0 && count <= 64 && first && last;
	return i - start;
}

/* A simplified spaCy URL_MATCH: [scheme://][user@]host.tld[:port][/path]. */
static int is_url(const unsigned char *b, size_t s, size_t e)
{
	if (!memchr(b + s, '.', e - s))
		return 0;
	size_t p = s;
	for (size_t i = s; i + 3 <= e; i++) {
		if (b[i] != ':' || b[i + 1] != '/' || b[i + 2] != '/')
			continue;
		int ok = i - s >= 2;
		for (size_t j = s; j < i && ok;) {
			int l;
			uint32_t c = wn_fl_decode(b + j, b + i, &l);
			ok = c < 0x80 ? (wn_fl_ascii_class[c] & (WN_FL_ALPHA | WN_FL_DIGIT)) ||
			                        strchr("_+-.", (int)c)
			              : (wn_fl_class(c) & WN_FL_ISALPHA) != 0;
			j += (size_t)l;
		}
		if (ok)
			p = i + 3;
		break;
	}
	/* user info ends at the last '@' before the path */
	const unsigned char *at = NULL;
	for (size_t i = p; i < e && b[i] != '/' && b[i] != '?' && b[i] != '#'; i++)
		if (b[i] == '@')
			at = b + i;
	if (at && at > b + p)
		p = (size_t)(at - b) + 1;
	/* labels followed by '.', then the top-level domain */
	size_t labels = 0;
	for (;;) {
		int ok;
		size_t n = host_label(b, p, e, &ok);
		if (p + n < e && b[p + n] == '.') {
			if (!ok)
				return 0;
			labels++;
			p += n + 1;
			continue;
		}
		/* the last label: 2 to 63 lowercase letters */
		size_t count = 0, i = p;
		while (i < p + n) {
			int l;
			if (!(wn_fl_class(wn_fl_decode(b + i, b + e, &l)) & WN_FL_LOWER))
				return 0;
			i += (size_t)l;
			count++;
		}
		if (!labels || count < 2 || count > 63)
			return 0;
		p += n;
		break;
	}
	if (p < e && b[p] == ':') {
		size_t d = 0;
		while (p + 1 + d < e && is_digit(b[p + 1 + d]))
			d++;
		if (d < 2 || d > 5)
			return 0;
		p += 1 + d;
	}
	return p == e || b[p] == '/' || b[p] == '?' || b[p] == '#';
}

/* The length of the infix at p in the core b[s..e), 0 if none. */
static size_t infix_at(const unsigned char *b, size_t s, size_t p, size_t e)
{
	unsigned char c = b[p];
	if (c == '.' && p + 1 < e && b[p + 1] == '.')
		return dots(b, p, e);
	int l;
	uint32_t cp = wn_fl_decode(b + p, b + e, &l);
	if (cp == 0x2026)
		return 3;
	if (wn_fl_class(cp) & WN_FL_ICON)
		return (size_t)l;
	unsigned before = cls_before(b, s, p);
	unsigned after = cls_at(b, p + (size_t)l, e);
	switch (cp) {
	case '+': case '-': case '*': case '^':
		if ((before & WN_FL_DIGIT) && p + 1 < e && (is_digit(b[p + 1]) || b[p + 1] == '-'))
			return 1;
		break;
	case '.':
		if ((before & (WN_FL_LOWER | WN_FL_QUOTE)) && (after & (WN_FL_UPPER | WN_FL_QUOTE)))
			return 1;
		break;
	case ',':
		if ((before & WN_FL_ALPHA) && (after & WN_FL_ALPHA))
			return 1;
		break;
	}
	if (before & (WN_FL_ALPHA | WN_FL_DIGIT)) {
		/* hyphens: - – — -- --- —— ~, tried in that order */
		if (cp == '-') {
			for (size_t n = 1; n <= 3 && p + n <= e && b[p + n - 1] == '-'; n++)
				if (cls_at(b, p + n, e) & WN_FL_ALPHA)
					return n;
		} else if (cp == 0x2013 || cp == '~') {
			if (after & WN_FL_ALPHA)
				return (size_t)l;
		} else if (cp == 0x2014) {
			if (after & WN_FL_ALPHA)
				return 3;
			if (e - p >= 6 && memcmp(b + p + 3, "\xE2\x80\x94", 3) == 0 &&
			    (cls_at(b, p + 6, e) & WN_FL_ALPHA))
				return 6;
		}
		if ((cp == ':' || cp == '<' || cp == '>' || cp == '=' || cp == '/') &&
		    (after & WN_FL_ALPHA))
			return 1;
	}
	return 0;
}

/* What is left of a chunk: whole if a URL, else cut at its infixes (an
 * infix at the very start stays with the text after it, as in spaCy). */
static int split_core(struct splitter *sp, size_t s, size_t e)
{
	const unsigned char *b = sp->b;
	size_t p = s;
	while (p < e && (byte_class[b[p]] & (B_LETTER | B_DIGIT)))
		p++;
	if (p == e || is_url(b, s, e))
		return emit(sp, s, e - s);
	/* infixes are never letters or digits */
	size_t start = s;
	while (p < e) {
		if (byte_class[b[p]] & (B_LETTER | B_DIGIT)) {
			p++;
			continue;
		}
		size_t m = infix_at(b, s, p, e);
		if (!m) {
			int l;
			wn_fl_decode(b + p, b + e, &l);
			p += (size_t)l;
			continue;
		}
		if (p != s) {
			if (p != start)
				WN_TRY(emit(sp, start, p - start));
			WN_TRY(emit(sp, p, m));
			start = p + m;
		}
		p += m;
	}
	if (start < e)
		WN_TRY(emit(sp, start, e - start));
	return WN_OK;
}

/* One chunk between white space: spaCy's _split_affixes and _attach_tokens. */
static int split_chunk(struct splitter *sp, size_t s, size_t e)
{
	const unsigned char *b = sp->b;
	struct wn_fl_words *w = sp->w;
	size_t base = w->nstack, cut = 0, last = 0;
	int kind = 0, st = WN_OK;
	while (s < e && e - s != last) {
		if ((kind = special(b, s, e, &cut)))
			goto specials;
		last = e - s;
		size_t pre = prefix_len(b, s, e);
		if (pre && s + pre < e && (kind = special(b, s + pre, e, &cut))) {
			WN_TRY(emit(sp, s, pre));
			s += pre;
			goto specials;
		}
		size_t suf = suffix_len(b, s + pre, e);
		if (suf && e - suf > s && (kind = special(b, s, e - suf, &cut))) {
			WN_TRY(push_suffix(sp, e - suf, suf));
			e -= suf;
			goto specials;
		}
		if (pre && suf && pre + suf <= e - s) {
			WN_TRY(emit(sp, s, pre));
			WN_TRY(push_suffix(sp, e - suf, suf));
			s += pre;
			e -= suf;
		} else if (pre) {
			WN_TRY(emit(sp, s, pre));
			s += pre;
		} else if (suf) {
			WN_TRY(push_suffix(sp, e - suf, suf));
			e -= suf;
		}
		if (s < e && (kind = special(b, s, e, &cut)))
			goto specials;
	}
	if (s < e)
		st = split_core(sp, s, e);
	goto suffixes;
specials:
	st = emit_special(sp, kind, s, e, cut);
suffixes:
	while (st >= 0 && w->nstack > base) {
		w->nstack -= 2;
		st = emit(sp, w->stack[w->nstack], w->stack[w->nstack + 1]);
	}
	w->nstack = base;
	return st;
}

/* Skip white space from i; returns where the next chunk starts (n at the end). */
static size_t skip_space(const unsigned char *b, size_t i, size_t n)
{
	while (i < n) {
		unsigned k = byte_class[b[i]];
		if (k & B_WS) {
			i++;
			continue;
		}
		if (!(k & B_HIGH))
			break;
		int l;
		if (!(wn_fl_class(wn_fl_decode(b + i, b + n, &l)) & WN_FL_WS))
			break;
		i += (size_t)l;
	}
	return i;
}

/* The chunk from s: returns its end; *acc gets the B_* of its bytes and
 * *runs the number of runs of ASCII letters and digits in it. */
static size_t scan_chunk(const unsigned char *b, size_t s, size_t n, unsigned *acc,
                         unsigned *runs)
{
	unsigned all = 0, r = 0, prev = 0;
	size_t i = s;
	while (i < n) {
		unsigned k = byte_class[b[i]];
		if (k & (B_WS | B_HIGH)) {
			if (k & B_WS)
				break;
			int l;
			if (wn_fl_class(wn_fl_decode(b + i, b + n, &l)) & WN_FL_WS)
				break;
			all |= B_HIGH;
			prev = 0;
			i += (size_t)l;
			continue;
		}
		unsigned alnum = (k & (B_LETTER | B_DIGIT)) != 0;
		r += alnum & !prev;
		prev = alnum;
		all |= k;
		i++;
	}
	*acc = all;
	*runs = r;
	return i;
}

static uint32_t gap_before(const unsigned char *b, size_t ws, size_t s)
{
	/* white space other than one ' ' between words would be a token of
	 * its own in spaCy, which its sentencizer sees */
	return ws > 0 && s > ws && !(s - ws == 1 && b[ws] == ' ') ? WN_FL_W_GAP : 0;
}

/* The chunk from s, for splitting: returns its end; *acc gets the B_* of its bytes. */
static inline size_t scan_chunk_acc(const unsigned char *b, size_t s, size_t n, unsigned *acc)
{
	unsigned all = 0;
	size_t i = s;
	while (i < n) {
		unsigned k = byte_class[b[i]];
		if (k & (B_WS | B_HIGH)) {
			if (k & B_WS)
				break;
			int l;
			if (wn_fl_class(wn_fl_decode(b + i, b + n, &l)) & WN_FL_WS)
				break;
			all |= B_HIGH;
			i += (size_t)l;
			continue;
		}
		all |= k;
		i++;
	}
	*acc = all;
	return i;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* Masks of 64 bytes: ASCII white space, non-ASCII bytes, letters, digits. */
struct masks {
	uint64_t w, h, l, d;
};

static inline __m128i le_u8(__m128i x, int k)
{
	return _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8((char)k)), x);
}

static void block_masks(const unsigned char *p, struct masks *m)
{
	m->w = m->h = m->l = m->d = 0;
	for (int k = 0; k < 4; k++) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
		__m128i ws = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
		                          _mm_or_si128(le_u8(_mm_sub_epi8(v, _mm_set1_epi8(0x09)), 4),
		                                       le_u8(_mm_sub_epi8(v, _mm_set1_epi8(0x1C)), 3)));
		__m128i lt = le_u8(_mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)),
		                                _mm_set1_epi8('a')), 25);
		__m128i dg = le_u8(_mm_sub_epi8(v, _mm_set1_epi8('0')), 9);
		int sh = 16 * k;
		m->w |= (uint64_t)(uint16_t)_mm_movemask_epi8(ws) << sh;
		m->h |= (uint64_t)(uint16_t)_mm_movemask_epi8(v) << sh;
		m->l |= (uint64_t)(uint16_t)_mm_movemask_epi8(lt) << sh;
		m->d |= (uint64_t)(uint16_t)_mm_movemask_epi8(dg) << sh;
	}
}

static int is_ascii_space(unsigned char c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
}

#endif

/*
 * Splitting a chunk depends on its bytes alone, and text repeats the same
 * punctuated words ("it," "said." "(see"): the words of ASCII chunks of up
 * to 16 bytes are kept in a direct-mapped cache, by their bytes.  8192
 * slots (320 KiB a thread, in the second-level cache) keep the punctuated
 * forms of a large vocabulary: a miss costs a split, several times more
 * than a slot that is not in the first-level cache.
 */
#define CACHE_SLOTS 8192
#define CACHE_WORDS 6

struct wn_fl_chunk {
	uint64_t a, b;   /* the chunk's bytes, zero-padded */
	uint8_t len;     /* 0: empty slot */
	uint8_t n;       /* its words */
	uint8_t start[CACHE_WORDS], wlen[CACHE_WORDS], flags[CACHE_WORDS];
};

static inline void chunk_key(const unsigned char *b, size_t s, size_t len, size_t n,
                             uint64_t *x, uint64_t *y)
{
	unsigned char tmp[16];
	const unsigned char *p = b + s;
	if (s + 16 > n) {
		memset(tmp, 0, sizeof(tmp));
		memcpy(tmp, p, len);
		p = tmp;
	}
	memcpy(x, p, 8);
	memcpy(y, p + 8, 8);
	if (len < 8) {
		*x &= ~0ull >> (64 - 8 * len);
		*y = 0;
	} else if (len < 16) {
		*y &= len > 8 ? ~0ull >> (128 - 8 * len) : 0;
	}
}

static int split_cached(struct splitter *sp, size_t s, size_t e, size_t n)
{
	struct wn_fl_words *w = sp->w;
	size_t len = e - s;
	if (!w->cache && !(w->cache = calloc(CACHE_SLOTS, sizeof(*w->cache))))
		return WN_ENOMEM;
	uint64_t x, y;
	chunk_key(sp->b, s, len, n, &x, &y);
	uint64_t h = (x ^ (y * 0x9E3779B97F4A7C15ull) ^ len) * 0xFF51AFD7ED558CCDull;
	struct wn_fl_chunk *c = &w->cache[(h >> 40) & (CACHE_SLOTS - 1)];
	if (c->len == len && c->a == x && c->b == y) {
		if (w->n + c->n > w->cap)
			WN_TRY(grow_words(w));
		for (unsigned k = 0; k < c->n; k++) {
			struct wn_fl_word *t = &w->v[w->n++];
			t->off = (uint32_t)(s + c->start[k]);
			t->len = t->cps = c->wlen[k];
			t->flags = c->flags[k] | (k ? 0 : sp->gap);
		}
		sp->gap = 0;
		return WN_OK;
	}
	size_t first = w->n;
	uint32_t gap = sp->gap;
	WN_TRY(split_chunk(sp, s, e));
	size_t made = w->n - first;
	if (made > CACHE_WORDS)
		return WN_OK;
	c->len = (uint8_t)len;
	c->a = x;
	c->b = y;
	c->n = (uint8_t)made;
	for (size_t k = 0; k < made; k++) {
		const struct wn_fl_word *t = &w->v[first + k];
		c->start[k] = (uint8_t)(t->off - s);
		c->wlen[k] = (uint8_t)t->len;
		c->flags[k] = (uint8_t)(t->flags & ~(k ? 0 : gap));
	}
	return WN_OK;
}

/* The words of the chunk b[s..e), whose bytes have the B_* in acc. */
static int add_chunk(struct splitter *sp, size_t s, size_t e, unsigned acc, size_t n)
{
	struct wn_fl_words *w = sp->w;
	/* plain ASCII letters or digits are one word; with both, a number and
	 * a unit ("5km") or an hour ("10am") may be two */
	if (!(acc & (B_OTHER | B_HIGH)) && (acc & (B_LETTER | B_DIGIT)) != (B_LETTER | B_DIGIT)) {
		if (w->n == w->cap)
			WN_TRY(grow_words(w));
		struct wn_fl_word *t = &w->v[w->n++];
		t->off = (uint32_t)s;
		t->len = (uint32_t)(e - s);
		t->cps = (uint32_t)(e - s);
		t->flags = WN_FL_W_NONSYM | ((acc & B_LETTER) ? WN_FL_W_ALPHA : 0) | sp->gap;
		sp->gap = 0;
		return WN_OK;
	}
	if (!(acc & B_HIGH) && e - s <= 16)
		return split_cached(sp, s, e, n);
	return split_chunk(sp, s, e);
}

/* Split from i on, a byte at a time; returns where it stopped: the end,
 * or (with stop set) the end of the first chunk. */
static int split_scalar(struct splitter *sp, size_t n, size_t *pos, size_t *ws_start, int stop)
{
	const unsigned char *b = sp->b;
	size_t i = *pos;
	while (i < n) {
		size_t ws = *ws_start;
		i = skip_space(b, i, n);
		if (i >= n)
			break;
		sp->gap = gap_before(b, ws, i);
		size_t s = i;
		unsigned acc;
		i = scan_chunk_acc(b, s, n, &acc);
		*ws_start = i;
		WN_TRY(add_chunk(sp, s, i, acc, n));
		if (stop)
			break;
	}
	*pos = i;
	return WN_OK;
}

#if defined(__SSE2__)
/* The B_* of the bytes [from, to) of a block. */
static inline unsigned block_acc(const struct masks *m, unsigned from, unsigned to)
{
	uint64_t range = (to >= 64 ? ~0ull : (1ull << to) - 1) & ~((1ull << from) - 1);
	uint64_t other = ~(m->w | m->h | m->l | m->d);
	return ((m->l & range) ? B_LETTER : 0) | ((m->d & range) ? B_DIGIT : 0) |
	       ((other & range) ? B_OTHER : 0);
}

/*
 * 64 bytes at a time: masks of white space and non-ASCII bytes find the
 * chunks; a chunk or a gap with a non-ASCII byte (which may be white
 * space) is left to split_scalar, from where the masks start again.
 */
int wn_fl_split_words(const char *text, size_t n, struct wn_fl_words *w)
{
	struct splitter sp = { U(text), w, 0 };
	const unsigned char *b = U(text);
	unsigned char pad[64];
	size_t base = 0, ws_start = 0, start = 0;
	int in_chunk = 0;
	unsigned acc = 0;
	while (base < n) {
		struct masks m;
		if (n - base >= 64) {
			block_masks(b + base, &m);
		} else {
			memset(pad, ' ', sizeof(pad));
			memcpy(pad, b + base, n - base);
			block_masks(pad, &m);
		}
		unsigned pos = 0;
		int restart = 0;
		while (pos < 64 && !restart) {
			if (!in_chunk) {
				uint64_t rest = ~m.w >> pos;
				if (!rest)
					break;
				pos += (unsigned)__builtin_ctzll(rest);
				start = base + pos;
				if (m.h >> pos & 1) {
					restart = 1;
					break;
				}
				in_chunk = 1;
				acc = 0;
				continue;
			}
			uint64_t stop = (m.w | m.h) >> pos;
			if (!stop) {
				acc |= block_acc(&m, pos, 64);
				break;
			}
			unsigned k = pos + (unsigned)__builtin_ctzll(stop);
			acc |= block_acc(&m, pos, k);
			if (m.h >> k & 1) {
				restart = 1;
				break;
			}
			size_t e = base + k;
			sp.gap = gap_before(b, ws_start, start);
			WN_TRY(add_chunk(&sp, start, e, acc, n));
			ws_start = e;
			in_chunk = 0;
			pos = k;
		}
		if (!restart) {
			base += 64;
			continue;
		}
		/* a non-ASCII byte: the chunk that holds it (or the white space
		 * before it) a byte at a time, then masks again after it */
		size_t i = in_chunk ? start : base + pos;
		if (in_chunk) {
			sp.gap = gap_before(b, ws_start, start);
			unsigned a2;
			i = scan_chunk_acc(b, start, n, &a2);
			WN_TRY(add_chunk(&sp, start, i, a2, n));
			ws_start = i;
		} else {
			WN_TRY(split_scalar(&sp, n, &i, &ws_start, 1));
		}
		in_chunk = 0;
		base = i;
	}
	if (in_chunk) {
		sp.gap = gap_before(b, ws_start, start);
		WN_TRY(add_chunk(&sp, start, n, acc, n));
	}
	return WN_OK;
}
#else
int wn_fl_split_words(const char *text, size_t n, struct wn_fl_words *w)
{
	struct splitter sp = { U(text), w, 0 };
	size_t i = 0, ws_start = 0;
	return split_scalar(&sp, n, &i, &ws_start, 0);
}
#endif

/*
 * Only the words that are not all symbols count, so the affixes a chunk
 * loses do not matter: an ASCII chunk whose letters or digits form one run
 * of letters only or digits only is one such word whatever punctuation
 * surrounds it, and one without letters or digits is none.  A small
 * automaton checks that byte by byte; any other chunk ("don't", "5km",
 * "1,000", non-ASCII text) is split for real.
 */
enum { C_WS, C_LETTER, C_DIGIT, C_OTHER, C_HIGH };
enum { S_SPACE, S_LEAD, S_LETTERS, S_DIGITS, S_TRAIL, S_SPLIT };

static const unsigned char count_class[256] = {
	[0x00 ... 0x08] = C_OTHER, [0x09 ... 0x0D] = C_WS, [0x0E ... 0x1B] = C_OTHER,
	[0x1C ... 0x20] = C_WS, [0x21 ... 0x2F] = C_OTHER, ['0' ... '9'] = C_DIGIT,
	[0x3A ... 0x40] = C_OTHER, ['A' ... 'Z'] = C_LETTER, [0x5B ... 0x60] = C_OTHER,
	['a' ... 'z'] = C_LETTER, [0x7B ... 0x7F] = C_OTHER, [0x80 ... 0xFF] = C_HIGH,
};

/* next[state][class]; a run starts (and counts) when LEAD or SPACE meets
 * a letter or digit */
static const unsigned char count_next[5][5] = {
	[S_SPACE] = { S_SPACE, S_LETTERS, S_DIGITS, S_LEAD, S_SPLIT },
	[S_LEAD] = { S_SPACE, S_LETTERS, S_DIGITS, S_LEAD, S_SPLIT },
	[S_LETTERS] = { S_SPACE, S_LETTERS, S_SPLIT, S_TRAIL, S_SPLIT },
	[S_DIGITS] = { S_SPACE, S_SPLIT, S_DIGITS, S_TRAIL, S_SPLIT },
	[S_TRAIL] = { S_SPACE, S_SPLIT, S_SPLIT, S_TRAIL, S_SPLIT },
};

/* whether going from one state to another starts a run */
static const unsigned char count_start[5][6] = {
	[S_SPACE] = { [S_LETTERS] = 1, [S_DIGITS] = 1 },
	[S_LEAD] = { [S_LETTERS] = 1, [S_DIGITS] = 1 },
};

static int count_scalar(const char *text, size_t n, uint64_t *count, struct wn_fl_words *scratch)
{
	struct splitter sp = { U(text), scratch, 0 };
	const unsigned char *b = U(text);
	uint64_t c = 0;
	size_t i = 0, start = 0;
	unsigned st = S_SPACE;
	scratch->n = 0;
	while (i < n) {
		unsigned next = count_next[st][count_class[b[i]]];
		if (next != S_SPLIT) {
			c += count_start[st][next];
			start = st == S_SPACE ? i : start;
			st = next;
			i++;
			continue;
		}
		/* split this chunk for real; a non-ASCII byte may also be white
		 * space that ends the chunk before it */
		if (st == S_SPACE) {
			size_t j = skip_space(b, i, n);
			if (j != i) {
				i = j;
				continue;
			}
			start = i;
		} else if (st == S_LETTERS || st == S_DIGITS || st == S_TRAIL) {
			c--; /* the run counted above */
		}
		unsigned acc, runs;
		i = scan_chunk(b, start, n, &acc, &runs);
		scratch->n = 0;
		WN_TRY(split_chunk(&sp, start, i));
		for (size_t k2 = 0; k2 < scratch->n; k2++)
			c += (scratch->v[k2].flags & WN_FL_W_NONSYM) != 0;
		st = S_SPACE;
	}
	scratch->n = 0;
	*count = c;
	return WN_OK;
}

#if defined(__SSE2__)
/*
 * The same count 64 bytes at a time: with masks of white space (ASCII),
 * letters, digits, other ASCII and non-ASCII bytes, every start of a run of
 * letters or digits counts; only the chunks the automaton above would split
 * need a closer look: those with a non-ASCII byte, with a letter next to a
 * digit, or with a second run after punctuation ("1,000", "don't").  Each
 * such span between ASCII white space is counted by count_scalar instead.
 */
int wn_fl_count_words(const char *text, size_t n, uint64_t *count, struct wn_fl_words *scratch)
{
	const unsigned char *b = U(text);
	uint64_t c = 0, acarry = 0, lcarry = 0, dcarry = 0, ocarry = 0;
	size_t done = 0; /* the spans counted by count_scalar end here */
	unsigned char pad[64];
	for (size_t base = 0; base < n; base += 64) {
		struct masks m;
		if (n - base >= 64) {
			block_masks(b + base, &m);
		} else {
			memset(pad, ' ', sizeof(pad));
			memcpy(pad, b + base, n - base);
			block_masks(pad, &m);
		}
		uint64_t a = m.l | m.d, o = ~(m.w | m.h | a);
		uint64_t prev_a = a << 1 | acarry;
		uint64_t starts = a & ~prev_a;
		uint64_t mixed = (m.l & (m.d << 1 | dcarry)) | (m.d & (m.l << 1 | lcarry));
		/* the byte after a run of punctuation that follows a letter or digit */
		unsigned __int128 sum = (unsigned __int128)o + (o & prev_a) + ocarry;
		uint64_t after = (uint64_t)sum & ~o;
		uint64_t closer = m.h | mixed | (after & a);
		acarry = a >> 63;
		lcarry = m.l >> 63;
		dcarry = m.d >> 63;
		ocarry = (uint64_t)(sum >> 64);
		c += wn_fl_popcount(starts);
		while (closer) {
			size_t p = base + (size_t)__builtin_ctzll(closer);
			closer &= closer - 1;
			if (p < done)
				continue;
			size_t s = p, e = p;
			while (s > 0 && !is_ascii_space(b[s - 1]))
				s--;
			while (e < n && !is_ascii_space(b[e]))
				e++;
			/* the runs counted (or still to count) in [s, e) make way
			 * for the exact count */
			uint64_t runs = 0, exact;
			int prev = 0;
			for (size_t i = s; i < e; i++) {
				int al = (byte_class[b[i]] & (B_LETTER | B_DIGIT)) != 0;
				runs += al && !prev;
				prev = al;
			}
			WN_TRY(count_scalar(text + s, e - s, &exact, scratch));
			c = c - runs + exact;
			done = e;
		}
	}
	*count = c;
	return WN_OK;
}
#else
int wn_fl_count_words(const char *text, size_t n, uint64_t *count, struct wn_fl_words *scratch)
{
	return count_scalar(text, n, count, scratch);
}
#endif

size_t wn_fl_count_sentences(const struct wn_fl_word *v, size_t n)
{
	if (!n)
		return 0;
	size_t count = 1;
	int seen = 0;
	for (size_t i = 0; i < n; i++) {
		/* white space (other than one ' ') was a token of its own, not
		 * punctuation: after a sentence end it starts the next one */
		if (seen && (v[i].flags & WN_FL_W_GAP)) {
			count++;
			seen = 0;
		}
		if (seen && !(v[i].flags & (WN_FL_W_PUNCT | WN_FL_W_STERM))) {
			count++;
			seen = 0;
		} else if (v[i].flags & WN_FL_W_STERM) {
			seen = 1;
		}
	}
	return count;
}
