/*
 * normalize.c - the text normalisations of `winnow dedup`.
 *
 * Every level ends with the whitespace collapse.  ASCII goes through tables;
 * other code points through utf8proc.  nfkc-casefold hands utf8proc only the
 * non-ASCII runs (with the ASCII character before each, which a combining
 * mark may compose with): no composition pairs an ASCII second character,
 * and ASCII is its own NFKC, so the result equals that of the whole text.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dedup/normalize.h"

static const char *const norm_names[] = { "none", "whitespace", "nfkc-casefold", "datatrove" };

const char *wn_dd_norm_name(enum wn_dd_norm n)
{
	return (unsigned)n < sizeof(norm_names) / sizeof(norm_names[0]) ? norm_names[n] : "?";
}

int wn_dd_norm_named(const char *name, enum wn_dd_norm *n)
{
	for (size_t i = 0; i < sizeof(norm_names) / sizeof(norm_names[0]); i++)
		if (strcmp(name, norm_names[i]) == 0) {
			*n = (enum wn_dd_norm)i;
			return 0;
		}
	return -1;
}

void wn_dd_normalizer_init(struct wn_dd_normalizer *z)
{
	wn_buf_init(&z->out, WN_BUF_UNLIMITED);
	wn_buf_init(&z->tmp, WN_BUF_UNLIMITED);
	z->cp = NULL;
	z->cpcap = 0;
}

void wn_dd_normalizer_release(struct wn_dd_normalizer *z)
{
	wn_buf_release(&z->out);
	wn_buf_release(&z->tmp);
	free(z->cp);
	z->cp = NULL;
	z->cpcap = 0;
}

/* ---- whitespace ------------------------------------------------------------ */

static const unsigned char ascii_space[128] = {
	['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1,
};

/* Bytes that may start a White_Space character. */
static const unsigned char space_start[256] = {
	['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1,
	[0xC2] = 1, [0xE1] = 1, [0xE2] = 1, [0xE3] = 1,
};

size_t wn_dd_space_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	if (c < 0x80)
		return ascii_space[c];
	switch (c) {
	case 0xC2: /* U+0085, U+00A0 */
		return n >= 2 && (s[1] == 0x85 || s[1] == 0xA0) ? 2 : 0;
	case 0xE1: /* U+1680 */
		return n >= 3 && s[1] == 0x9A && s[2] == 0x80 ? 3 : 0;
	case 0xE2:
		if (n < 3)
			return 0;
		if (s[1] == 0x80) /* U+2000..U+200A, U+2028, U+2029, U+202F */
			return (s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 ||
			       s[2] == 0xAF ? 3 : 0;
		return s[1] == 0x81 && s[2] == 0x9F ? 3 : 0; /* U+205F */
	case 0xE3: /* U+3000 */
		return n >= 3 && s[1] == 0x80 && s[2] == 0x80 ? 3 : 0;
	}
	return 0;
}

/*
 * Collapse whitespace runs of s[0..n) into out; the result is never longer.
 * Prose is mostly words between single spaces: a block of 16 bytes holding
 * no whitespace but single ASCII spaces (and no byte that may start a
 * non-ASCII space) is copied as it is, with its last space held back as
 * pending; anything else goes through the byte loop.
 */
static int collapse(struct wn_buf *out, const unsigned char *s, size_t n)
{
	wn_buf_reset(out);
	WN_TRY(wn_buf_grow(out, n));
	unsigned char *start = (unsigned char *)out->data, *d = start;
	int pending = 0;
	size_t i = 0;
	while (i < n) {
		size_t lim = n;
#ifdef __SSE2__
		if (n - i >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(s + i));
			__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v);
			__m128i lead = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xC2)),
				             _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xE1))),
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xE2)),
				             _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xE3))));
			unsigned care = (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, lead));
			unsigned sp = (unsigned)_mm_movemask_epi8(
				_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
			if (care == sp && !(sp & (sp >> 1)) &&
			    !((sp & 1) && (pending || d == start))) {
				if (pending)
					*d++ = ' ';
				_mm_storeu_si128((__m128i *)d, v);
				pending = (sp >> 15) & 1;
				d += 16 - (unsigned)pending;
				i += 16;
				continue;
			}
			lim = i + 16;
		}
#endif
		while (i < lim) {
			size_t j = i;
			while (j < lim && !space_start[s[j]])
				j++;
			if (j > i) {
				if (pending)
					*d++ = ' ';
				pending = 0;
				memcpy(d, s + i, j - i);
				d += j - i;
				i = j;
				continue;
			}
			size_t w = wn_dd_space_len(s + i, n - i);
			if (w) {
				/* leading whitespace is dropped, trailing never written */
				pending = d != start;
				i += w;
				continue;
			}
			if (pending)
				*d++ = ' ';
			pending = 0;
			*d++ = s[i++];
		}
	}
	out->len = (size_t)(d - start);
	out->data[out->len] = '\0';
	return WN_OK;
}

/* ---- nfkc-casefold --------------------------------------------------------- */

static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int cp_reserve(struct wn_dd_normalizer *z, size_t need)
{
	if (need <= z->cpcap)
		return WN_OK;
	size_t cap = z->cpcap ? z->cpcap : 256;
	while (cap < need)
		cap *= 2;
	int32_t *p = realloc(z->cp, cap * sizeof(*p));
	if (!p)
		return WN_ENOMEM;
	z->cp = p;
	z->cpcap = cap;
	return WN_OK;
}

/* Append the UTF-8 of cp[0..n) to b. */
static int add_utf32(struct wn_buf *b, const int32_t *cp, size_t n)
{
	WN_TRY(wn_buf_grow(b, 4 * n));
	unsigned char *d = (unsigned char *)b->data + b->len;
	for (size_t k = 0; k < n; k++)
		d += utf8proc_encode_char(cp[k], d);
	b->len = (size_t)((char *)d - b->data);
	b->data[b->len] = '\0';
	return WN_OK;
}

static int nfkc_segment(struct wn_dd_normalizer *z, const unsigned char *s, size_t n)
{
	const utf8proc_option_t opt = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
	                              UTF8PROC_IGNORE;
	utf8proc_ssize_t got;
	WN_TRY(cp_reserve(z, n + 16));
	for (;;) {
		/* COMPOSE here asks for the decomposition that composition undoes */
		got = utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, z->cp,
		                         (utf8proc_ssize_t)z->cpcap, opt | UTF8PROC_COMPOSE);
		if (got < 0 || (size_t)got <= z->cpcap)
			break;
		WN_TRY(cp_reserve(z, (size_t)got));
	}
	if (got == UTF8PROC_ERROR_NOMEM)
		return WN_ENOMEM;
	if (got >= 0)
		got = utf8proc_normalize_utf32(z->cp, got, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (got >= 0)
		return add_utf32(&z->tmp, z->cp, (size_t)got);
	/* invalid UTF-8: kept as it is, but for the case of ASCII letters */
	WN_TRY(wn_buf_grow(&z->tmp, n));
	for (size_t k = 0; k < n; k++)
		z->tmp.data[z->tmp.len++] = (char)ascii_lower(s[k]);
	z->tmp.data[z->tmp.len] = '\0';
	return WN_OK;
}

static int nfkc_casefold(struct wn_dd_normalizer *z, const unsigned char *s, size_t n)
{
	struct wn_buf *t = &z->tmp;
	wn_buf_reset(t);
	WN_TRY(wn_buf_grow(t, n));
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && s[j] < 0x80)
			j++;
		WN_TRY(wn_buf_grow(t, j - i));
		for (size_t k = i; k < j; k++)
			t->data[t->len++] = (char)ascii_lower(s[k]);
		t->data[t->len] = '\0';
		if (j == n)
			break;
		/* A combining mark composes with the character before it. */
		size_t start = j;
		if (j > i) {
			start = j - 1;
			t->len--;
		}
		size_t e = j;
		while (e < n && s[e] >= 0x80)
			e++;
		WN_TRY(nfkc_segment(z, s + start, e - start));
		i = e;
	}
	return collapse(&z->out, (const unsigned char *)t->data, t->len);
}

/* ---- datatrove --------------------------------------------------------------- */

enum dt_class { DT_COPY = 0, DT_UPPER, DT_DIGIT, DT_SPACE };

/* ASCII: letters and digits are kept (lowercased, digits as runs of "0"),
 * everything else (whitespace, controls, punctuation, symbols) is a space. */
static inline enum dt_class dt_ascii(unsigned c)
{
	if (c >= 'a' && c <= 'z')
		return DT_COPY;
	if (c >= 'A' && c <= 'Z')
		return DT_UPPER;
	if (c >= '0' && c <= '9')
		return DT_DIGIT;
	return DT_SPACE;
}

struct dt_out {
	struct wn_buf *b;
	int pending; /* a space is owed before the next character */
	int digit;   /* the last thing written is the "0" of a digit run */
};

static inline int dt_room(struct dt_out *o, size_t n)
{
	if (o->b->cap - o->b->len > n + 1)
		return WN_OK;
	return wn_buf_grow(o->b, n + 1);
}

static inline void dt_space(struct dt_out *o)
{
	o->pending = o->b->len > 0;
	o->digit = 0;
}

static inline void dt_char(struct dt_out *o, const char *p, size_t n)
{
	char *d = o->b->data + o->b->len;
	if (o->pending)
		*d++ = ' ';
	memcpy(d, p, n);
	o->b->len = (size_t)(d + n - o->b->data);
	o->pending = 0;
	o->digit = 0;
}

static inline void dt_digit(struct dt_out *o)
{
	if (o->digit && !o->pending)
		return;
	dt_char(o, "0", 1);
	o->digit = 1;
}

static void dt_codepoint(struct dt_out *o, int32_t cp)
{
	switch (utf8proc_category(cp)) {
	case UTF8PROC_CATEGORY_MN:
	case UTF8PROC_CATEGORY_CF:
		return;
	case UTF8PROC_CATEGORY_ND:
		dt_digit(o);
		return;
	case UTF8PROC_CATEGORY_ZS:
	case UTF8PROC_CATEGORY_ZL:
	case UTF8PROC_CATEGORY_ZP:
	case UTF8PROC_CATEGORY_CC:
	case UTF8PROC_CATEGORY_PC:
	case UTF8PROC_CATEGORY_PD:
	case UTF8PROC_CATEGORY_PS:
	case UTF8PROC_CATEGORY_PE:
	case UTF8PROC_CATEGORY_PI:
	case UTF8PROC_CATEGORY_PF:
	case UTF8PROC_CATEGORY_PO:
	case UTF8PROC_CATEGORY_SM:
	case UTF8PROC_CATEGORY_SC:
	case UTF8PROC_CATEGORY_SK:
		dt_space(o);
		return;
	default: {
		utf8proc_uint8_t u[4];
		utf8proc_ssize_t n = utf8proc_encode_char(cp, u);
		dt_char(o, (const char *)u, (size_t)n);
	}
	}
}

#ifdef __SSE2__
/* Take 16 bytes that are all ASCII letters or single spaces (not a space
 * first when one is owed or nothing was written): 1 when done, 0 when the
 * byte loop must handle them. */
static inline int dt_block(struct dt_out *o, const unsigned char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)s);
	__m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
	                              _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
	__m128i low = _mm_add_epi8(v, _mm_and_si128(upper, _mm_set1_epi8(32)));
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(low, _mm_set1_epi8('a' - 1)),
	                               _mm_cmplt_epi8(low, _mm_set1_epi8('z' + 1)));
	unsigned sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
	unsigned ok = (unsigned)_mm_movemask_epi8(letter) | sp;
	if (ok != 0xFFFF || (sp & (sp >> 1)) || ((sp & 1) && (o->pending || o->b->len == 0)))
		return 0;
	if (dt_room(o, 17) < 0)
		return 0; /* the byte loop reports it */
	char *d = o->b->data + o->b->len;
	if (o->pending)
		*d++ = ' ';
	_mm_storeu_si128((__m128i *)d, low);
	o->pending = (int)((sp >> 15) & 1);
	o->b->len = (size_t)(d + 16 - o->pending - o->b->data);
	o->digit = 0;
	return 1;
}
#endif

static int datatrove(struct wn_dd_normalizer *z, const unsigned char *s, size_t n)
{
	struct dt_out o = { &z->out, 0, 0 };
	wn_buf_reset(o.b);
	WN_TRY(wn_buf_grow(o.b, n + 8));
	size_t i = 0;
	while (i < n) {
#ifdef __SSE2__
		/* 16 bytes of ASCII letters and single spaces: lowercased at once */
		if (n - i >= 16 && dt_block(&o, s + i)) {
			i += 16;
			continue;
		}
#endif
		unsigned c = s[i];
		if (c < 0x80) {
			WN_TRY(dt_room(&o, 2));
			char ch = (char)c;
			switch (dt_ascii(c)) {
			case DT_COPY:
				dt_char(&o, &ch, 1);
				break;
			case DT_UPPER:
				ch = (char)(c + 32);
				dt_char(&o, &ch, 1);
				break;
			case DT_DIGIT:
				dt_digit(&o);
				break;
			default:
				dt_space(&o);
			}
			i++;
			continue;
		}
		utf8proc_int32_t cp;
		utf8proc_ssize_t len = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
		if (len <= 0) { /* invalid byte: kept as it is */
			WN_TRY(dt_room(&o, 2));
			dt_char(&o, (const char *)s + i, 1);
			i++;
			continue;
		}
		i += (size_t)len;
		utf8proc_int32_t d[16];
		utf8proc_ssize_t nd = utf8proc_decompose_char(utf8proc_tolower(cp), d, 16,
		                                              UTF8PROC_DECOMPOSE, NULL);
		if (nd <= 0 || nd > 16) {
			d[0] = utf8proc_tolower(cp);
			nd = 1;
		}
		WN_TRY(dt_room(&o, 5 * (size_t)nd));
		for (utf8proc_ssize_t k = 0; k < nd; k++)
			dt_codepoint(&o, d[k]);
	}
	o.b->data[o.b->len] = '\0';
	return WN_OK;
}

/* ---- entry point --------------------------------------------------------------- */

int wn_dd_normalize(struct wn_dd_normalizer *z, enum wn_dd_norm mode, const char *s,
                    size_t n, const char **out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	switch (mode) {
	case WN_DD_NORM_NONE:
		*out = s;
		*outlen = n;
		return WN_OK;
	case WN_DD_NORM_WHITESPACE:
		WN_TRY(collapse(&z->out, u, n));
		break;
	case WN_DD_NORM_NFKC_CASEFOLD:
		WN_TRY(nfkc_casefold(z, u, n));
		break;
	case WN_DD_NORM_DATATROVE:
		WN_TRY(datatrove(z, u, n));
		break;
	default:
		return WN_EINTERNAL;
	}
	*out = z->out.data;
	*outlen = z->out.len;
	return WN_OK;
}
