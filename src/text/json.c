/*
 * json.c - a validating JSON scanner that agrees with jansson 2.14's
 * json_loadb(JSON_DECODE_ANY | JSON_ALLOW_NUL), top-level field lookup, and
 * string escaping identical to json_dumps().
 *
 * jansson's rules, beyond RFC 8259, that the scanner reproduces (from its
 * load.c, utf.c and strconv.c):
 *   - every byte of the input is read through a strict UTF-8 decoder, so
 *     the whole text must be valid UTF-8; outside strings any non-ASCII
 *     byte is an invalid token anyway, so it is enough to validate string
 *     bodies;
 *   - each value, scalars included, increments a depth counter that may
 *     not pass 2048: 2048 nested empty arrays load, 2048 arrays around a
 *     scalar do not;
 *   - integers go through strtoll (ERANGE is an error), reals through
 *     strtod (overflow to HUGE_VAL is an error, underflow is not);
 *   - a key containing U+0000 (written \u0000) is refused even with
 *     JSON_ALLOW_NUL;
 *   - after a number or a true/false/null literal the lexer pushes back the
 *     byte that ended the token; pushing back a NUL byte loses it, so one
 *     NUL byte right after such a token is skipped ("1\0" loads as 1).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "text/text.h"
#include "winnow/json.h"
#include "winnow/status.h"

#ifdef WN_TEXT_AVX2
#include <immintrin.h>
#endif

/* jansson's JSON_PARSER_MAX_DEPTH. */
#define JSON_MAX_DEPTH 2048

#define WS_MASK ((UINT64_C(1) << ' ') | (UINT64_C(1) << '\t') | \
		 (UINT64_C(1) << '\n') | (UINT64_C(1) << '\r'))

static inline bool is_ws(unsigned c)
{
	return c <= ' ' && ((UINT64_C(1) << c) & WS_MASK);
}

static inline bool is_digit(unsigned c)
{
	return c - '0' < 10;
}

static inline const unsigned char *skip_ws(const unsigned char *s,
                                           const unsigned char *end)
{
	while (s < end && is_ws(*s))
		s++;
	return s;
}

/* Value of four hex digits at s, or -1 when one of them is not hex. */
static inline int32_t hex4(const unsigned char *s)
{
	int32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned c = s[i];
		unsigned d;
		if (c - '0' < 10)
			d = c - '0';
		else if ((c | 0x20) - 'a' < 6)
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | (int32_t)d;
	}
	return v;
}

static inline bool is_high_surrogate(int32_t c)
{
	return c >= 0xD800 && c <= 0xDBFF;
}

static inline bool is_low_surrogate(int32_t c)
{
	return c >= 0xDC00 && c <= 0xDFFF;
}

/*
 * Decode the escape sequence at *sp (at the backslash), not reading at or
 * past end.  Returns the code point (0..0x10FFFF) and moves *sp past the
 * sequence (both halves of a surrogate pair), or returns -1 when the
 * sequence is invalid, leaving *sp alone.
 */
static int32_t decode_escape(const unsigned char **sp, const unsigned char *end)
{
	const unsigned char *s = *sp;

	if (end - s < 2)
		return -1;
	switch (s[1]) {
	case '"': *sp = s + 2; return '"';
	case '\\': *sp = s + 2; return '\\';
	case '/': *sp = s + 2; return '/';
	case 'b': *sp = s + 2; return '\b';
	case 'f': *sp = s + 2; return '\f';
	case 'n': *sp = s + 2; return '\n';
	case 'r': *sp = s + 2; return '\r';
	case 't': *sp = s + 2; return '\t';
	case 'u': break;
	default: return -1;
	}
	if (end - s < 6)
		return -1;
	int32_t c = hex4(s + 2);
	if (c < 0 || is_low_surrogate(c))
		return -1;
	if (!is_high_surrogate(c)) {
		*sp = s + 6;
		return c;
	}
	if (end - s < 12 || s[6] != '\\' || s[7] != 'u')
		return -1;
	int32_t lo = hex4(s + 8);
	if (!is_low_surrogate(lo))
		return -1;
	*sp = s + 12;
	return 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
}

/* UTF-8 encoding of c (<= 0x10FFFF, not a surrogate) into out; returns its
 * length. */
static inline size_t utf8_put(unsigned char *out, int32_t c)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xC0 | c >> 6);
		out[1] = (unsigned char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xE0 | c >> 12);
		out[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
		out[2] = (unsigned char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | c >> 18);
	out[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
	out[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
	out[3] = (unsigned char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * Finding the end of a run of plain string content is where the time goes
 * on typical records (long "text" values).  The first 64 bytes are searched
 * inline, which settles keys and short values without a call; longer runs
 * go to a bulk loop, 32 bytes at a time with AVX2 when the CPU has it.  A
 * run ending less than 16 bytes before the end of the input is finished
 * with one load of the input's last 16 bytes (when the input is that long)
 * instead of a byte loop.
 */

static inline bool is_special(unsigned c)
{
	return c == '"' || c == '\\' || c < 0x20;
}

#ifdef __SSE2__
/* Bit mask of the bytes of v that end a run of plain string content:
 * '"', '\\' and control characters (< 0x20). */
static inline unsigned special_mask(__m128i v)
{
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1F);
	__m128i m = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v));
	return (unsigned)_mm_movemask_epi8(m);
}

static inline unsigned quote_bslash_mask(__m128i v)
{
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	return (unsigned)_mm_movemask_epi8(
		_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)));
}

/* The movemask bits of the first k bytes of a 16-byte chunk (k < 16). */
static inline unsigned below_bits(unsigned k)
{
	return (1u << k) - 1;
}
#endif

/*
 * The first byte in s[0..end) that is '"', '\\' or a control character, or
 * end; lo <= s is where the readable input starts.  *high becomes non-zero
 * if a byte >= 0x80 was passed over.  Up to `inline_chunks` 16-byte chunks
 * are searched here, the rest by `bulk` (NULL with SIZE_MAX chunks).
 */
static inline const unsigned char *
special_search(const unsigned char *s, const unsigned char *end, const unsigned char *lo,
               unsigned *high, size_t inline_chunks,
               const unsigned char *(*bulk)(const unsigned char *, const unsigned char *,
                                            unsigned *))
{
#ifdef __SSE2__
	for (size_t i = 0; i < inline_chunks && end - s >= 16; i++) {
		__m128i v = _mm_loadu_si128((const __m128i *)s);
		unsigned m = special_mask(v);
		if (m) {
			unsigned k = (unsigned)__builtin_ctz(m);
			*high |= (unsigned)_mm_movemask_epi8(v) & below_bits(k);
			return s + k;
		}
		*high |= (unsigned)_mm_movemask_epi8(v);
		s += 16;
	}
	if (end - s >= 16)
		return bulk(s, end, high);
	if (s < end && end - lo >= 16) {
		unsigned sh = 16 - (unsigned)(end - s);
		__m128i v = _mm_loadu_si128((const __m128i *)(end - 16));
		unsigned m = special_mask(v) >> sh;
		unsigned h = (unsigned)_mm_movemask_epi8(v) >> sh;
		if (m) {
			unsigned k = (unsigned)__builtin_ctz(m);
			*high |= h & below_bits(k);
			return s + k;
		}
		*high |= h;
		return end;
	}
#else
	(void)lo;
	(void)inline_chunks;
	(void)bulk;
#endif
	while (s < end && !is_special(*s))
		*high |= *s++ & 0x80;
	return s;
}

/* The same for '"' and '\\' only. */
static inline const unsigned char *
quote_bslash_search(const unsigned char *s, const unsigned char *end,
                    const unsigned char *lo, size_t inline_chunks,
                    const unsigned char *(*bulk)(const unsigned char *,
                                                 const unsigned char *))
{
#ifdef __SSE2__
	for (size_t i = 0; i < inline_chunks && end - s >= 16; i++) {
		unsigned m = quote_bslash_mask(_mm_loadu_si128((const __m128i *)s));
		if (m)
			return s + __builtin_ctz(m);
		s += 16;
	}
	if (end - s >= 16)
		return bulk(s, end);
	if (s < end && end - lo >= 16) {
		unsigned sh = 16 - (unsigned)(end - s);
		unsigned m = quote_bslash_mask(
			_mm_loadu_si128((const __m128i *)(end - 16))) >> sh;
		return m ? s + __builtin_ctz(m) : end;
	}
#else
	(void)lo;
	(void)inline_chunks;
	(void)bulk;
#endif
	while (s < end && *s != '"' && *s != '\\')
		s++;
	return s;
}

/* Bulk searches: called with at least 16 bytes readable before s. */

static const unsigned char *special_sse2(const unsigned char *s,
                                         const unsigned char *end, unsigned *high)
{
	return special_search(s, end, s - 16, high, SIZE_MAX, NULL);
}

static const unsigned char *quote_bslash_sse2(const unsigned char *s,
                                              const unsigned char *end)
{
	return quote_bslash_search(s, end, s - 16, SIZE_MAX, NULL);
}

#ifdef WN_TEXT_AVX2
__attribute__((target("avx2")))
static const unsigned char *special_avx2(const unsigned char *s,
                                         const unsigned char *end, unsigned *high)
{
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i bslash = _mm256_set1_epi8('\\');
	const __m256i ctl = _mm256_set1_epi8(0x1F);
	const unsigned char *lo = s - 16;
	__m256i acc = _mm256_setzero_si256();

	while (end - s >= 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)s);
		__m256i m = _mm256_or_si256(_mm256_cmpeq_epi8(v, quote),
					    _mm256_cmpeq_epi8(v, bslash));
		m = _mm256_or_si256(m, _mm256_cmpeq_epi8(_mm256_min_epu8(v, ctl), v));
		unsigned mask = (unsigned)_mm256_movemask_epi8(m);
		if (mask) {
			unsigned k = (unsigned)__builtin_ctz(mask);
			unsigned before = k == 31 ? 0x7FFFFFFFu : (1u << k) - 1;
			*high |= (unsigned)_mm256_movemask_epi8(v) & before;
			*high |= (unsigned)_mm256_movemask_epi8(acc);
			return s + k;
		}
		acc = _mm256_or_si256(acc, v);
		s += 32;
	}
	*high |= (unsigned)_mm256_movemask_epi8(acc);
	return special_search(s, end, lo, high, SIZE_MAX, NULL);
}

__attribute__((target("avx2")))
static const unsigned char *quote_bslash_avx2(const unsigned char *s,
                                              const unsigned char *end)
{
	const __m256i quote = _mm256_set1_epi8('"');
	const __m256i bslash = _mm256_set1_epi8('\\');
	const unsigned char *lo = s - 16;

	while (end - s >= 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)s);
		unsigned mask = (unsigned)_mm256_movemask_epi8(_mm256_or_si256(
			_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, bslash)));
		if (mask)
			return s + __builtin_ctz(mask);
		s += 32;
	}
	return quote_bslash_search(s, end, lo, SIZE_MAX, NULL);
}
#endif

static const unsigned char *special_bulk(const unsigned char *s,
                                         const unsigned char *end, unsigned *high)
{
#ifdef WN_TEXT_AVX2
	if (wn_text_have_avx2())
		return special_avx2(s, end, high);
#endif
	return special_sse2(s, end, high);
}

static const unsigned char *quote_bslash_bulk(const unsigned char *s,
                                              const unsigned char *end)
{
#ifdef WN_TEXT_AVX2
	if (wn_text_have_avx2())
		return quote_bslash_avx2(s, end);
#endif
	return quote_bslash_sse2(s, end);
}

static inline const unsigned char *find_special(const unsigned char *s,
                                                const unsigned char *end,
                                                const unsigned char *lo,
                                                unsigned *high)
{
	return special_search(s, end, lo, high, 4, special_bulk);
}

static inline const unsigned char *find_quote_or_bslash(const unsigned char *s,
                                                        const unsigned char *end,
                                                        const unsigned char *lo)
{
	return quote_bslash_search(s, end, lo, 4, quote_bslash_bulk);
}

/*** validation ***/

struct scan_fail {
	const unsigned char *at;
	const char *reason;
};

static inline const unsigned char *fail(struct scan_fail *f,
                                        const unsigned char *at,
                                        const char *reason)
{
	f->at = at;
	f->reason = reason;
	return NULL;
}

/*
 * Validate a string whose opening quote is at s[-1].  Returns the position
 * after the closing quote, or NULL with *f filled.  Keys may not contain
 * \u0000 (jansson cannot store them).
 */
static const unsigned char *scan_string(const unsigned char *s,
                                        const unsigned char *end,
                                        const unsigned char *lo, bool key,
                                        struct scan_fail *f)
{
	const unsigned char *body = s;
	unsigned high = 0; /* non-zero once a byte >= 0x80 was passed over */

	for (;;) {
		s = find_special(s, end, lo, &high);
		if (s >= end)
			return fail(f, s, "unterminated string");
		if (*s == '"')
			break;
		if (*s != '\\')
			return fail(f, s, "control character in string");
		const unsigned char *esc = s;
		int32_t c = decode_escape(&s, end);
		if (c < 0) {
			if (end - esc < 2)
				return fail(f, esc, "unterminated string");
			return fail(f, esc, esc[1] == 'u' ? "invalid \\u escape" :
				    "invalid escape");
		}
		if (c == 0 && key)
			return fail(f, esc, "NUL byte in object key");
	}
	if (high) {
		size_t ok = wn_utf8_valid_prefix((const char *)body, (size_t)(s - body));
		if (ok != (size_t)(s - body))
			return fail(f, body + ok, "invalid UTF-8");
	}
	return s + 1;
}

static inline bool int_overflows(const unsigned char *d, size_t nd, bool neg)
{
	if (nd != 19)
		return nd > 19;
	return memcmp(d, neg ? "9223372036854775808" : "9223372036854775807", 19) > 0;
}

/*
 * The smallest magnitude strtod() rounds to infinity: halfway between
 * DBL_MAX and 2^1024, that is 2^1024 - 2^970 (round-half-even goes up since
 * DBL_MAX has an odd mantissa), all 309 digits of it; the last is not 0.
 */
static const char real_limit[] =
	"17976931348623158079372897140530341507993413271003782693617377898044"
	"49682927647509466490179775872070963302864166928879109465555478519404"
	"02630657488671505820681908902000708383676273854845817711531764475730"
	"27006985557136695962284291481986083493647529271907416844436551070434"
	"2711559699508093042880177904174497792";

/*
 * Whether the real with integer digits [i0, i1), fraction digits [f0, f1)
 * (f0 == NULL when there is no fraction) and decimal exponent exp (clamped
 * far beyond any double) overflows a double.  Decided exactly on the
 * digits, so no locale-dependent strtod() and no copy of the text is needed.
 */
static bool real_overflows(const unsigned char *i0, const unsigned char *i1,
                           const unsigned char *f0, const unsigned char *f1,
                           int64_t exp)
{
	const unsigned char *d;
	int64_t e; /* the value is 0.DDDD... * 10^e, first D non-zero */

	if (*i0 != '0') {
		d = i0;
		e = (int64_t)(i1 - i0) + exp;
	} else {
		if (!f0)
			return false;
		d = f0;
		while (d < f1 && *d == '0')
			d++;
		if (d == f1)
			return false; /* zero */
		e = exp - (int64_t)(d - f0);
		i1 = NULL; /* no jump from the integer part to the fraction */
	}
	if (e != 309)
		return e > 309;
	for (size_t k = 0; k < sizeof(real_limit) - 1; k++) {
		if (d == i1) {
			if (!f0)
				return false;
			d = f0;
		}
		if (d == f1)
			return false; /* the rest is zeros; the limit's is not */
		if (*d != (unsigned char)real_limit[k])
			return *d > (unsigned char)real_limit[k];
		d++;
	}
	return true; /* at or above the limit */
}

/*
 * Scan the number at s.  Returns the position after it and sets *type, or
 * NULL with *f filled.
 */
static const unsigned char *scan_number(const unsigned char *s,
                                        const unsigned char *end,
                                        enum wn_json_type *type,
                                        struct scan_fail *f)
{
	const unsigned char *start = s;
	bool neg = *s == '-';

	if (neg)
		s++;
	const unsigned char *i0 = s;
	if (s < end && *s == '0') {
		s++;
		if (s < end && is_digit(*s))
			return fail(f, start, "leading zero in number");
	} else if (s < end && is_digit(*s)) {
		do
			s++;
		while (s < end && is_digit(*s));
	} else {
		return fail(f, start, "invalid number");
	}
	const unsigned char *i1 = s;

	if (s == end || (*s != '.' && (*s | 0x20) != 'e')) {
		if (int_overflows(i0, (size_t)(i1 - i0), neg))
			return fail(f, start, "integer out of range");
		*type = WN_JSON_INTEGER;
		return s;
	}

	const unsigned char *f0 = NULL, *f1 = NULL;
	if (*s == '.') {
		s++;
		if (s == end || !is_digit(*s))
			return fail(f, start, "invalid number");
		f0 = s;
		do
			s++;
		while (s < end && is_digit(*s));
		f1 = s;
	}
	int64_t exp = 0;
	if (s < end && (*s | 0x20) == 'e') {
		s++;
		bool eneg = false;
		if (s < end && (*s == '+' || *s == '-'))
			eneg = *s++ == '-';
		if (s == end || !is_digit(*s))
			return fail(f, start, "invalid number");
		do {
			/* Clamped: 10^(10^9) is beyond any double either way. */
			if (exp < 1000000000)
				exp = exp * 10 + (*s - '0');
			s++;
		} while (s < end && is_digit(*s));
		if (eneg)
			exp = -exp;
	}
	if (real_overflows(i0, i1, f0, f1, exp))
		return fail(f, start, "real number overflow");
	*type = WN_JSON_REAL;
	return s;
}

/* Scan true, false or null at s (which holds 't', 'f' or 'n'). */
static const unsigned char *scan_literal(const unsigned char *s,
                                         const unsigned char *end,
                                         enum wn_json_type *type,
                                         struct scan_fail *f)
{
	static const struct {
		const char *word;
		size_t len;
		enum wn_json_type type;
	} lit[] = {
		{ "true", 4, WN_JSON_TRUE },
		{ "false", 5, WN_JSON_FALSE },
		{ "null", 4, WN_JSON_NULL },
	};
	int i = *s == 't' ? 0 : *s == 'f' ? 1 : 2;

	if ((size_t)(end - s) < lit[i].len || memcmp(s, lit[i].word, lit[i].len) != 0)
		return fail(f, s, "invalid literal");
	*type = lit[i].type;
	return s + lit[i].len;
}

int wn_json_validate(const char *p, size_t n, enum wn_json_type *type,
                     struct wn_json_error *err)
{
	const unsigned char *const begin = (const unsigned char *)p;
	const unsigned char *const end = begin + n;
	const unsigned char *s;
	/* One bit per open container: set for objects. */
	uint64_t is_obj[JSON_MAX_DEPTH / 64];
	size_t depth = 0;
	enum wn_json_type top = WN_JSON_NONE, t;
	struct scan_fail f = { NULL, NULL };

	s = skip_ws(begin, end);
	if (s == end) {
		fail(&f, s, "empty input");
		goto bad;
	}

value:
	if (s == end) {
		fail(&f, s, "unexpected end of input");
		goto bad;
	}
	if (depth >= JSON_MAX_DEPTH) {
		fail(&f, s, "nesting too deep");
		goto bad;
	}
	switch (*s) {
	case '{':
		if (depth == 0)
			top = WN_JSON_OBJECT;
		is_obj[depth / 64] |= UINT64_C(1) << (depth % 64);
		depth++;
		s = skip_ws(s + 1, end);
		if (s < end && *s == '}') {
			s++;
			depth--;
			goto after;
		}
		goto key;
	case '[':
		if (depth == 0)
			top = WN_JSON_ARRAY;
		is_obj[depth / 64] &= ~(UINT64_C(1) << (depth % 64));
		depth++;
		s = skip_ws(s + 1, end);
		if (s < end && *s == ']') {
			s++;
			depth--;
			goto after;
		}
		goto value;
	case '"':
		t = WN_JSON_STRING;
		s = scan_string(s + 1, end, begin, false, &f);
		if (!s)
			goto bad;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		s = scan_number(s, end, &t, &f);
		if (!s)
			goto bad;
		if (s < end && *s == '\0')
			s++; /* lost by jansson's push-back, see the top */
		break;
	case 't':
	case 'f':
	case 'n':
		s = scan_literal(s, end, &t, &f);
		if (!s)
			goto bad;
		if (s < end && *s == '\0')
			s++;
		break;
	default:
		if (end - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			fail(&f, s, "UTF-8 byte order mark"); /* jansson refuses it too */
		else if (*s >= 0x80 && wn_utf8_valid_prefix((const char *)s,
							     (size_t)(end - s)) == 0)
			fail(&f, s, "invalid UTF-8");
		else
			fail(&f, s, "invalid value");
		goto bad;
	}
	if (depth == 0)
		top = t;

after:
	s = skip_ws(s, end);
	if (depth == 0) {
		if (s != end) {
			fail(&f, s, "trailing characters after value");
			goto bad;
		}
		if (type)
			*type = top;
		return 0;
	}
	if (s == end) {
		fail(&f, s, "unexpected end of input");
		goto bad;
	}
	if (is_obj[(depth - 1) / 64] >> ((depth - 1) % 64) & 1) {
		if (*s == ',') {
			s = skip_ws(s + 1, end);
			goto key;
		}
		if (*s == '}') {
			s++;
			depth--;
			goto after;
		}
		fail(&f, s, "expected ',' or '}'");
		goto bad;
	}
	if (*s == ',') {
		s = skip_ws(s + 1, end);
		goto value;
	}
	if (*s == ']') {
		s++;
		depth--;
		goto after;
	}
	fail(&f, s, "expected ',' or ']'");
	goto bad;

key:
	if (s == end) {
		fail(&f, s, "unexpected end of input");
		goto bad;
	}
	if (*s != '"') {
		fail(&f, s, "expected string key");
		goto bad;
	}
	s = scan_string(s + 1, end, begin, true, &f);
	if (!s)
		goto bad;
	s = skip_ws(s, end);
	if (s == end || *s != ':') {
		fail(&f, s, "expected ':'");
		goto bad;
	}
	s = skip_ws(s + 1, end);
	goto value;

bad:
	if (err) {
		err->offset = (size_t)(f.at - begin);
		err->reason = f.reason;
	}
	return -1;
}

/*** lookup ***/

/* Skip a string whose opening quote is at s[-1]; returns the position after
 * the closing quote (or end when unterminated) and sets *escaped. */
static const unsigned char *skip_string(const unsigned char *s,
                                        const unsigned char *end,
                                        const unsigned char *lo, int *escaped)
{
	*escaped = 0;
	for (;;) {
		s = find_quote_or_bslash(s, end, lo);
		if (s >= end)
			return end;
		if (*s == '"')
			return s + 1;
		*escaped = 1;
		if (end - s < 2)
			return end;
		s += 2;
	}
}

/* Skip the value at s (not at end); returns the position after it and sets
 * val->type and val->escaped. */
static const unsigned char *skip_value(const unsigned char *s,
                                       const unsigned char *end,
                                       const unsigned char *lo,
                                       struct wn_json_value *val)
{
	int escaped;

	val->escaped = 0;
	switch (*s) {
	case '"':
		val->type = WN_JSON_STRING;
		s = skip_string(s + 1, end, lo, &escaped);
		val->escaped = escaped;
		return s;
	case '{':
	case '[': {
		val->type = *s == '{' ? WN_JSON_OBJECT : WN_JSON_ARRAY;
		size_t open = 1;
		s++;
		while (s < end) {
			unsigned c = *s++;
			if (c == '"')
				s = skip_string(s, end, lo, &escaped);
			else if (c == '{' || c == '[')
				open++;
			else if ((c == '}' || c == ']') && --open == 0)
				return s;
		}
		return end;
	}
	case 't':
	case 'n':
		val->type = *s == 't' ? WN_JSON_TRUE : WN_JSON_NULL;
		return end - s < 4 ? end : s + 4;
	case 'f':
		val->type = WN_JSON_FALSE;
		return end - s < 5 ? end : s + 5;
	default:
		val->type = WN_JSON_INTEGER;
		while (s < end && (is_digit(*s) || *s == '-' || *s == '+' || *s == '.' ||
				   (*s | 0x20) == 'e')) {
			if (*s == '.' || (*s | 0x20) == 'e')
				val->type = WN_JSON_REAL;
			s++;
		}
		return s;
	}
}

/* Whether the escaped key body raw[0..n) decodes to key[0..keylen). */
static bool escaped_key_equals(const unsigned char *raw, size_t n,
                               const unsigned char *key, size_t keylen)
{
	const unsigned char *end = raw + n;
	const unsigned char *k = key, *kend = key + keylen;

	while (raw < end) {
		if (*raw != '\\') {
			if (k == kend || *k != *raw)
				return false;
			k++;
			raw++;
			continue;
		}
		unsigned char u[4];
		int32_t c = decode_escape(&raw, end);
		if (c < 0)
			return false;
		size_t len = utf8_put(u, c);
		if ((size_t)(kend - k) < len || memcmp(k, u, len) != 0)
			return false;
		k += len;
	}
	return k == kend;
}

int wn_json_get(const char *p, size_t n, const char *key, size_t keylen,
                struct wn_json_value *val)
{
	const unsigned char *const begin = (const unsigned char *)p;
	const unsigned char *const end = begin + n;
	const unsigned char *s = skip_ws(begin, end);
	int found = 0;

	if (s == end || *s != '{')
		return -1;
	s = skip_ws(s + 1, end);
	while (s < end && *s == '"') {
		const unsigned char *k0 = s + 1;
		int escaped;
		s = skip_string(k0, end, begin, &escaped);
		if (s == end)
			break;
		size_t klen = (size_t)(s - 1 - k0);
		bool match = escaped ?
			escaped_key_equals(k0, klen, (const unsigned char *)key, keylen) :
			klen == keylen && memcmp(k0, key, keylen) == 0;
		s = skip_ws(s, end);
		if (s == end || *s != ':')
			break;
		s = skip_ws(s + 1, end);
		if (s == end)
			break;
		struct wn_json_value v;
		const unsigned char *v0 = s;
		s = skip_value(s, end, begin, &v);
		if (match) {
			v.offset = (size_t)(v0 - begin);
			v.len = (size_t)(s - v0);
			*val = v;
			found = 1;
		}
		if (s < end && *s == '\0')
			s++; /* jansson skips one NUL after a number or literal */
		s = skip_ws(s, end);
		if (s == end || *s != ',')
			break;
		s = skip_ws(s + 1, end);
	}
	return found;
}

/*** unescaping and escaping ***/

int wn_json_unescape(const char *str, size_t n, struct wn_buf *out)
{
	const unsigned char *s = (const unsigned char *)str;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return WN_EDATA;
	const unsigned char *body = s + 1, *end = s + n - 1;
	/* Every escape decodes to fewer bytes than it takes. */
	WN_TRY(wn_buf_grow(out, (size_t)(end - body)));
	unsigned char *w = (unsigned char *)out->data + out->len;

	while (body < end) {
		const unsigned char *b = memchr(body, '\\', (size_t)(end - body));
		if (!b)
			b = end;
		memcpy(w, body, (size_t)(b - body));
		w += b - body;
		body = b;
		if (body == end)
			break;
		int32_t c = decode_escape(&body, end);
		if (c < 0) {
			/* Not reachable on validated input: keep the byte. */
			*w++ = *body++;
			continue;
		}
		w += utf8_put(w, c);
	}
	out->len = (size_t)(w - (unsigned char *)out->data);
	out->data[out->len] = '\0';
	return WN_OK;
}

static const char hex_upper[] = "0123456789ABCDEF";

int wn_json_escape(struct wn_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	const unsigned char *const start = s, *const end = s + n;
	const size_t len0 = out->len;
	int st;

	/* Room for the common case: quotes and nothing to escape.  `room`
	 * always covers what is left of the input plus the closing quote. */
	if (n > SIZE_MAX - 2)
		return WN_ETOOBIG;
	WN_TRY(wn_buf_grow(out, n + 2));
	size_t room = n + 2;
	unsigned char *w = (unsigned char *)out->data + out->len;
	*w++ = '"';
	room--;

	unsigned high = 0; /* unused: the caller vouches for the UTF-8 */
	for (;;) {
		const unsigned char *q = find_special(s, end, start, &high);
		memcpy(w, s, (size_t)(q - s));
		w += q - s;
		room -= (size_t)(q - s);
		s = q;
		if (s == end)
			break;

		unsigned char e[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t elen = 2;
		switch (*s) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			e[1] = 'u';
			e[2] = '0';
			e[3] = '0';
			e[4] = (unsigned char)hex_upper[*s >> 4];
			e[5] = (unsigned char)hex_upper[*s & 15];
			elen = 6;
		}
		size_t left = (size_t)(end - s); /* this byte included */
		if (room < left + elen) {
			/* Grow by a margin so text full of escapes does not
			 * grow once per escape; fall back to the exact need
			 * when the margin would pass the buffer's maximum. */
			out->len = (size_t)(w - (unsigned char *)out->data);
			size_t need = left + elen;
			room = need + left / 4 + 64;
			st = wn_buf_grow(out, room);
			if (st == WN_ETOOBIG) {
				room = need;
				st = wn_buf_grow(out, room);
			}
			if (st < 0) {
				out->len = len0;
				out->data[len0] = '\0';
				return st;
			}
			w = (unsigned char *)out->data + out->len;
		}
		memcpy(w, e, elen);
		w += elen;
		room -= elen;
		s++;
	}
	*w++ = '"';
	out->len = (size_t)(w - (unsigned char *)out->data);
	out->data[out->len] = '\0';
	return WN_OK;
}
