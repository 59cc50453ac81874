/*
 * unicode.c - character classes for word splitting and the rules, and
 * Python's notions of white space and line boundaries.
 *
 * ASCII follows spaCy's English punctuation lists character by character;
 * other code points are classed by their Unicode general category (from
 * utf8proc), which generalises those lists (docs/winnow-filter.md).
 */
#include <pthread.h>
#include <stdatomic.h>

#include <utf8proc.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "filter/filter.h"

#define WS WN_FL_WS
#define SYM WN_FL_SYMBOL
#define P (WN_FL_PUNCT | WN_FL_SYMBOL)
#define PRE WN_FL_PREFIX
#define SUF WN_FL_SUFFIX
#define AFF (WN_FL_PREFIX | WN_FL_SUFFIX)
#define DA WN_FL_DOTAFTER
#define Q WN_FL_QUOTE
#define UP (WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_UPPER | WN_FL_HOST)
#define LO (WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_LOWER | WN_FL_HOST | WN_FL_DOTAFTER)
#define DIG (WN_FL_DIGIT | WN_FL_HOST | WN_FL_DOTAFTER)

/* Python's isspace() counts \x1c-\x1f as white space; so do we, so that
 * line and word boundaries agree with the reference. */
const uint32_t wn_fl_ascii_class[128] = {
	[0x00 ... 0x08] = SYM,
	[0x09 ... 0x0D] = WS,
	[0x0E ... 0x1B] = SYM,
	[0x1C ... 0x20] = WS,
	['!'] = P | AFF | WN_FL_STERM | DA,
	['"'] = P | AFF | Q | DA,
	['#'] = P | AFF | DA,
	['$'] = SYM | PRE | WN_FL_CURRENCY,
	['%'] = P | PRE | DA,
	['&'] = P | AFF | DA,
	['\''] = P | AFF | Q | DA,
	['('] = P | AFF | DA,
	[')'] = P | AFF | DA,
	['*'] = P | AFF | DA,
	['+'] = SYM | DA,
	[','] = P | AFF | Q | DA,
	['-'] = P | DA,
	['.'] = P | WN_FL_STERM,
	['/'] = P,
	['0' ... '9'] = DIG,
	[':'] = P | AFF | DA,
	[';'] = P | AFF | DA,
	['<'] = SYM | AFF | DA,
	['='] = SYM | PRE,
	['>'] = SYM | AFF | DA,
	['?'] = P | AFF | WN_FL_STERM | DA,
	['@'] = P,
	['A' ... 'Z'] = UP,
	['['] = P | AFF | DA,
	['\\'] = P,
	[']'] = P | AFF | DA,
	['^'] = SYM,
	['_'] = P | AFF | DA,
	['`'] = SYM | AFF | Q | DA,
	['a' ... 'z'] = LO,
	['{'] = P | AFF | DA,
	['|'] = SYM | DA,
	['}'] = P | AFF | DA,
	['~'] = SYM,
	[0x7F] = SYM,
};

/* Unicode 15 Sentence_Terminal, plus the Khmer signs datatrove also counts
 * (U+17D4..17D6, U+17D9..17DA). */
static const uint32_t sterm[][2] = {
	{ 0x0021, 0x0021 }, { 0x002E, 0x002E }, { 0x003F, 0x003F }, { 0x0589, 0x0589 },
	{ 0x061D, 0x061F }, { 0x06D4, 0x06D4 }, { 0x0700, 0x0702 }, { 0x07F9, 0x07F9 },
	{ 0x0837, 0x0837 }, { 0x0839, 0x0839 }, { 0x083D, 0x083E }, { 0x0964, 0x0965 },
	{ 0x104A, 0x104B }, { 0x1362, 0x1362 }, { 0x1367, 0x1368 }, { 0x166E, 0x166E },
	{ 0x1735, 0x1736 }, { 0x17D4, 0x17D6 }, { 0x17D9, 0x17DA }, { 0x1803, 0x1803 },
	{ 0x1809, 0x1809 }, { 0x1944, 0x1945 }, { 0x1AA8, 0x1AAB }, { 0x1B5A, 0x1B5B },
	{ 0x1B5E, 0x1B5F }, { 0x1B7D, 0x1B7E }, { 0x1C3B, 0x1C3C }, { 0x1C7E, 0x1C7F },
	{ 0x203C, 0x203D }, { 0x2047, 0x2049 }, { 0x2E2E, 0x2E2E }, { 0x2E3C, 0x2E3C },
	{ 0x2E53, 0x2E54 }, { 0x3002, 0x3002 }, { 0xA4FF, 0xA4FF }, { 0xA60E, 0xA60F },
	{ 0xA6F3, 0xA6F3 }, { 0xA6F7, 0xA6F7 }, { 0xA876, 0xA877 }, { 0xA8CE, 0xA8CF },
	{ 0xA92F, 0xA92F }, { 0xA9C8, 0xA9C9 }, { 0xAA5D, 0xAA5F }, { 0xAAF0, 0xAAF1 },
	{ 0xABEB, 0xABEB }, { 0xFE52, 0xFE52 }, { 0xFE56, 0xFE57 }, { 0xFF01, 0xFF01 },
	{ 0xFF0E, 0xFF0E }, { 0xFF1F, 0xFF1F }, { 0xFF61, 0xFF61 }, { 0x10A56, 0x10A57 },
	{ 0x10F55, 0x10F59 }, { 0x10F86, 0x10F89 }, { 0x11047, 0x11048 }, { 0x110BE, 0x110C1 },
	{ 0x11141, 0x11143 }, { 0x111C5, 0x111C6 }, { 0x111CD, 0x111CD }, { 0x111DE, 0x111DF },
	{ 0x11238, 0x11239 }, { 0x1123B, 0x1123C }, { 0x112A9, 0x112A9 }, { 0x1144B, 0x1144C },
	{ 0x115C2, 0x115C3 }, { 0x115C9, 0x115D7 }, { 0x11641, 0x11642 }, { 0x1173C, 0x1173E },
	{ 0x11944, 0x11944 }, { 0x11946, 0x11946 }, { 0x11A42, 0x11A43 }, { 0x11A9B, 0x11A9C },
	{ 0x11C41, 0x11C42 }, { 0x11EF7, 0x11EF8 }, { 0x11F43, 0x11F44 }, { 0x16A6E, 0x16A6F },
	{ 0x16AF5, 0x16AF5 }, { 0x16B37, 0x16B38 }, { 0x16B44, 0x16B44 }, { 0x16E98, 0x16E98 },
	{ 0x1BC9F, 0x1BC9F }, { 0x1DA88, 0x1DA88 },
};

static int is_sterm(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(sterm) / sizeof(sterm[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cp < sterm[mid][0])
			hi = mid;
		else if (cp > sterm[mid][1])
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* Outside ASCII, the characters datatrove's PUNCTUATION_SET names (besides
 * the sentence terminals): what a "symbol word" of the Gopher rules may be
 * made of.  Other punctuation and symbols (' ¿ · © emoji) make a word. */
static const uint32_t dt_punct[] = {
	0x00AB, 0x00B4, 0x00BB, 0x2013, 0x2014, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026,
	0x2236, 0x2501, 0x25BA, 0x3001, 0x3008, 0x3009, 0x300A, 0x300B, 0x300C, 0x300D,
	0x3010, 0x3011, 0xFF05, 0xFF08, 0xFF09, 0xFF0C, 0xFF11, 0xFF1A, 0xFF1B, 0xFF5E,
};

static unsigned symbol(uint32_t cp, int terminal)
{
	if (terminal || (cp >= 0x80 && cp <= 0x9F))
		return WN_FL_SYMBOL;
	size_t lo = 0, hi = sizeof(dt_punct) / sizeof(dt_punct[0]);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (dt_punct[mid] == cp)
			return WN_FL_SYMBOL;
		if (dt_punct[mid] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static unsigned class_of(uint32_t cp);

/*
 * Most text outside ASCII is in the first 12288 code points (Latin, Greek,
 * Cyrillic, Hebrew, Arabic, Indic scripts, general and CJK punctuation):
 * their classes are looked up once, into a table made on first use.
 */
#define TABLE_END 0x3040
_Static_assert(WN_FL_HOST <= 0xFFFF, "the classes fit the table's 16 bits");

static uint16_t table[TABLE_END];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static atomic_int table_ready;

static void make_table(void)
{
	for (uint32_t cp = 0; cp < TABLE_END; cp++)
		table[cp] = (uint16_t)class_of(cp);
	atomic_store_explicit(&table_ready, 1, memory_order_release);
}

unsigned wn_fl_class_slow(uint32_t cp)
{
	if (cp < TABLE_END) {
		if (!atomic_load_explicit(&table_ready, memory_order_acquire))
			pthread_once(&table_once, make_table);
		return table[cp];
	}
	/* CJK unified ideographs: letters without case */
	if (cp >= 0x4E00 && cp <= 0x9FFF)
		return WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_LOWER | WN_FL_UPPER | WN_FL_DOTAFTER |
		       WN_FL_HOST;
	return class_of(cp);
}

static unsigned class_of(uint32_t cp)
{
	if (cp < 128)
		return wn_fl_ascii_class[cp];
	/* A host name of a URL may hold any BMP character from U+00A1 on, as
	 * in spaCy's URL pattern. */
	unsigned host = cp >= 0xA1 && cp <= 0xFFFF ? WN_FL_HOST : 0;
	int st = 0;
	unsigned k;
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_LU:
	case UTF8PROC_CATEGORY_LT:
		return WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_UPPER | host;
	case UTF8PROC_CATEGORY_LL:
		return WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_LOWER | WN_FL_DOTAFTER | host;
	case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_LO:
		/* letters without case count as both, as spaCy's classes have them */
		return WN_FL_ALPHA | WN_FL_ISALPHA | WN_FL_LOWER | WN_FL_UPPER | WN_FL_DOTAFTER |
		       host;
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_MC:
	case UTF8PROC_CATEGORY_ME:
		return WN_FL_ALPHA | host;
	case UTF8PROC_CATEGORY_ND:
		return symbol(cp, 0) | host; /* datatrove lists the fullwidth 1 */
	case UTF8PROC_CATEGORY_NO:
		return cp == 0xB2 ? WN_FL_DOTAFTER | host : host; /* ² as in "5m²." */
	case UTF8PROC_CATEGORY_PD:
		k = WN_FL_PUNCT | WN_FL_PREFIX | WN_FL_SUFFIX | WN_FL_DOTAFTER;
		break;
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
		k = WN_FL_PUNCT | WN_FL_PREFIX | WN_FL_SUFFIX | WN_FL_QUOTE | WN_FL_DOTAFTER;
		break;
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PO:
		st = is_sterm(cp);
		k = WN_FL_PUNCT | WN_FL_PREFIX | WN_FL_SUFFIX | WN_FL_DOTAFTER |
		    (st ? WN_FL_STERM : 0);
		break;
	case UTF8PROC_CATEGORY_SC:
		k = WN_FL_PREFIX | WN_FL_CURRENCY;
		break;
	case UTF8PROC_CATEGORY_SO:
		k = WN_FL_PREFIX | WN_FL_SUFFIX | WN_FL_ICON;
		break;
	case UTF8PROC_CATEGORY_SK:
		/* ´, one of spaCy's quotes */
		k = cp == 0xB4 ? WN_FL_PREFIX | WN_FL_SUFFIX | WN_FL_QUOTE | WN_FL_DOTAFTER : 0;
		break;
	case UTF8PROC_CATEGORY_SM:
		k = 0;
		break;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
		return WN_FL_WS;
	case UTF8PROC_CATEGORY_CC:
		return cp == 0x85 ? WN_FL_WS : WN_FL_SYMBOL;
	default:
		return host;
	}
	return k | symbol(cp, st) | host;
}

size_t wn_fl_count_cps(const char *p, size_t n)
{
	/* every byte that does not continue a character starts one */
	size_t c = 0, i = 0;
#if defined(__SSE2__)
	/* continuation bytes, 0x80..0xBF, are -128..-65 as signed bytes */
	const __m128i limit = _mm_set1_epi8(-65);
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		c += wn_fl_popcount((unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(v, limit)));
	}
#endif
	for (; i < n; i++)
		c += ((unsigned char)p[i] & 0xC0) != 0x80;
	return c;
}

void wn_fl_lstrip(const char *p, size_t *s, size_t e)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = *s;
	while (i < e) {
		int len;
		uint32_t c = wn_fl_decode(u + i, u + e, &len);
		if (!(wn_fl_class(c) & WN_FL_WS))
			break;
		i += (size_t)len;
	}
	*s = i;
}

void wn_fl_rstrip(const char *p, size_t s, size_t *e)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = *e;
	while (i > s) {
		int len;
		uint32_t c = wn_fl_decode_back(u + s, u + i, &len);
		if (!(wn_fl_class(c) & WN_FL_WS))
			break;
		i -= (size_t)len;
	}
	*e = i;
}

/* The bytes that may start a line boundary: \n \v \f \r \x1c-\x1e, and the
 * lead bytes of U+0085 (C2) and U+2028/9 (E2). */
static const unsigned char boundary_lead[256] = {
	['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [0x1C] = 1, [0x1D] = 1, [0x1E] = 1,
	[0xC2] = 1, [0xE2] = 1,
};

/* The first byte at or after i that may start a line boundary, or n. */
static size_t next_boundary_lead(const unsigned char *u, size_t i, size_t n)
{
#if defined(__SSE2__)
	/* a byte <= 0x1E (as unsigned), or C2, or E2 */
	const __m128i low = _mm_set1_epi8(0x1E), c2 = _mm_set1_epi8((char)0xC2),
		      e2 = _mm_set1_epi8((char)0xE2);
	for (; i + 16 <= n; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(u + i));
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, low), v),
		                         _mm_or_si128(_mm_cmpeq_epi8(v, c2), _mm_cmpeq_epi8(v, e2)));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		while (bits) {
			size_t k = i + (size_t)__builtin_ctz(bits);
			if (boundary_lead[u[k]])
				return k;
			bits &= bits - 1;
		}
	}
#endif
	while (i < n && !boundary_lead[u[i]])
		i++;
	return i;
}

int wn_fl_splitlines(const char *p, size_t n, size_t *pos, size_t *ls, size_t *le)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = *pos;
	if (i >= n)
		return 0;
	*ls = i;
	for (; i < n; i++) {
		i = next_boundary_lead(u, i, n);
		if (i >= n)
			break;
		unsigned char c = u[i];
		size_t blen = 0;
		if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E))
			blen = 1;
		else if (c == '\r')
			blen = i + 1 < n && u[i + 1] == '\n' ? 2 : 1;
		else if (c == 0xC2 && i + 1 < n && u[i + 1] == 0x85)
			blen = 2;
		else if (c == 0xE2 && i + 2 < n && u[i + 1] == 0x80 &&
		         (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
			blen = 3;
		if (blen) {
			*le = i;
			*pos = i + blen;
			return 1;
		}
	}
	*le = n;
	*pos = n;
	return 1;
}
