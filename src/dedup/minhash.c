/*
 * minhash.c - MinHash signatures and the LSH index (see minhash.h).
 *
 * Where the time goes: every shingle (one per word) goes through bands*rows
 * permutations, 112 multiply-mods by default, so the permutation loop is
 * the whole cost of a signature.  It runs over blocks of shingle hashes with
 * a block of permutations held in vector registers; the 61x61-bit products
 * are built from 32x32->64 multiplies (the only wide multiply AVX2 has) and
 * reduced mod 2^61-1 with shifts and adds, exactly, so every kernel gives
 * the portable code's values bit for bit.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define WN_MH_X86 1
#endif

#include "dedup/minhash.h"

#define P WN_MINHASH_PRIME

/* Shingle hashes per kernel call: enough to amortise loading a block of
 * permutations into registers, small enough to stay in L1. */
#define BLOCK 256
/* Word hashes kept for the words mode: the last ngram-1 and a block. */
#define WORDS_CAP(n) ((n) - 1 + BLOCK)

/* ----------------------------------------------------------------------- */
/* Parameters */

void wn_minhash_params_default(struct wn_minhash_params *p)
{
	p->shingle = WN_MINHASH_WORDS;
	p->ngram = 5;
	p->bands = 14;
	p->rows = 8;
	p->seed = 1;
}

int wn_minhash_params_preset(struct wn_minhash_params *p, const char *name,
                             struct wn_error *err)
{
	if (!strcmp(name, "default")) {
		p->shingle = WN_MINHASH_WORDS;
		p->ngram = 5;
		p->bands = 14;
		p->rows = 8;
	} else if (!strcmp(name, "nemo")) {
		p->shingle = WN_MINHASH_CHARS;
		p->ngram = 24;
		p->bands = 20;
		p->rows = 13;
	} else {
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "unknown preset '%s' (expected default or nemo)",
		                    name);
	}
	return WN_OK;
}

int wn_minhash_shingle_parse(const char *name, enum wn_minhash_shingle *out,
                             struct wn_error *err)
{
	if (!strcmp(name, "words"))
		*out = WN_MINHASH_WORDS;
	else if (!strcmp(name, "chars"))
		*out = WN_MINHASH_CHARS;
	else
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "unknown shingle kind '%s' (expected words or chars)",
		                    name);
	return WN_OK;
}

const char *wn_minhash_shingle_name(enum wn_minhash_shingle s)
{
	return s == WN_MINHASH_CHARS ? "chars" : "words";
}

int wn_minhash_params_check(const struct wn_minhash_params *p,
                            struct wn_error *err)
{
	if (p->shingle != WN_MINHASH_WORDS && p->shingle != WN_MINHASH_CHARS)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "bad shingle kind %d",
		                    (int)p->shingle);
	if (p->ngram < 1 || p->ngram > WN_MINHASH_MAX_NGRAM)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "ngram %u out of range (1 to %d)", p->ngram,
		                    WN_MINHASH_MAX_NGRAM);
	if (p->bands < 1 || p->rows < 1)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "bands and rows must be at least 1");
	if ((uint64_t)p->bands * p->rows > WN_MINHASH_MAX_HASHES)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "bands x rows = %llu exceeds %d hashes",
		                    (unsigned long long)p->bands * p->rows,
		                    WN_MINHASH_MAX_HASHES);
	return WN_OK;
}

static double ipow(double x, uint32_t n)
{
	double r = 1;
	while (n) {
		if (n & 1)
			r *= x;
		x *= x;
		n >>= 1;
	}
	return r;
}

double wn_minhash_probability(const struct wn_minhash_params *p, double j)
{
	return 1 - ipow(1 - ipow(j, p->rows), p->bands);
}

double wn_minhash_threshold(const struct wn_minhash_params *p)
{
	/* (1/b)^(1/r) without libm: bisection on the increasing x^r. */
	double lo = 0, hi = 1, target = 1.0 / p->bands;
	for (int i = 0; i < 60; i++) {
		double mid = (lo + hi) / 2;
		if (ipow(mid, p->rows) < target)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* Values in files and hash inputs are little-endian on every host. */
static inline uint64_t le64(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

static inline uint32_t le32(uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

/* ----------------------------------------------------------------------- */
/* Arithmetic mod 2^61 - 1 */

static inline uint64_t mod_p(uint64_t h)
{
	uint64_t r = (h & P) + (h >> 61);  /* < 2^61 + 8 */
	return r >= P ? r - P : r;
}

/* (h * a + b) mod P for h, a, b < P. */
static inline uint64_t permute_reduced(uint64_t h, uint64_t a, uint64_t b)
{
	unsigned __int128 x = (unsigned __int128)h * a;   /* < 2^122 */
	uint64_t lo = (uint64_t)x, hi = (uint64_t)(x >> 64);
	/* x = (x >> 61) * 2^61 + (x & P), and 2^61 = 1 mod P */
	uint64_t r = (lo & P) + ((lo >> 61) | (hi << 3)) + b;  /* < 3 * 2^61 */
	r = (r & P) + (r >> 61);  /* < 2^61 + 3 */
	return r >= P ? r - P : r;
}

uint64_t wn_minhash_permute(uint64_t h, uint64_t a, uint64_t b)
{
	return permute_reduced(mod_p(h), a, b);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A draw in [lo, P), by rejection so every value is equally likely. */
static uint64_t draw(uint64_t *s, uint64_t lo)
{
	for (;;) {
		uint64_t v = splitmix64(s) & P;
		if (v >= lo && v < P)
			return v;
	}
}

/* ----------------------------------------------------------------------- */
/* Kernels: sig[i] = min(sig[i], min over s of perm_i(h[s])), h[s] < P */

struct wn_minhash;
typedef void kernel_fn(const struct wn_minhash *mh, uint64_t *sig,
                       const uint64_t *h, size_t n);

struct wn_minhash {
	struct wn_minhash_params p;
	uint32_t nh;
	uint64_t *a, *b, *ah;   /* ah = a >> 32, for the vector kernels */
	kernel_fn *kernel;
	const char *kernel_name;
	uint64_t block[BLOCK];      /* shingle hashes for the kernel */
	uint64_t *words;            /* WORDS_CAP(ngram) word hashes */
	size_t *start;              /* ngram code point starts */
};

static void kernel_portable_range(const struct wn_minhash *mh, uint64_t *sig,
                                  const uint64_t *h, size_t n, uint32_t from)
{
	for (uint32_t i = from; i < mh->nh; i++) {
		uint64_t a = mh->a[i], b = mh->b[i], m = sig[i];
		for (size_t s = 0; s < n; s++) {
			uint64_t v = permute_reduced(h[s], a, b);
			m = v < m ? v : m;
		}
		sig[i] = m;
	}
}

static void kernel_portable(const struct wn_minhash *mh, uint64_t *sig,
                            const uint64_t *h, size_t n)
{
	kernel_portable_range(mh, sig, h, n, 0);
}

#ifdef WN_MH_X86
/*
 * With a = ah*2^32 + al and h = hh*2^32 + hl (ah, hh < 2^29):
 *   a*h = ah*hh*2^64 + (ah*hl + al*hh)*2^32 + al*hl
 * and mod P, 2^64 = 8, mid*2^32 = (mid >> 29) + (mid & (2^29-1))*2^32,
 * ll = (ll >> 61) + (ll & P).  The sum of the parts plus b is < 2^63 + 2^34;
 * one fold brings it below 2^61 + 5 and one conditional subtraction into
 * [0, P).  Values stay below 2^63, so signed compares order them.
 */
__attribute__((target("avx2")))
static inline __m256i step_avx2(__m256i a, __m256i ah, __m256i b, __m256i hv,
                                __m256i hh, __m256i m)
{
	const __m256i p = _mm256_set1_epi64x((long long)P);
	const __m256i m29 = _mm256_set1_epi64x((1LL << 29) - 1);
	__m256i ll = _mm256_mul_epu32(a, hv);
	__m256i mid = _mm256_add_epi64(_mm256_mul_epu32(ah, hv),
	                               _mm256_mul_epu32(a, hh));
	__m256i top = _mm256_mul_epu32(ah, hh);
	__m256i r = _mm256_add_epi64(_mm256_slli_epi64(top, 3),
	                             _mm256_srli_epi64(mid, 29));
	r = _mm256_add_epi64(r, _mm256_slli_epi64(_mm256_and_si256(mid, m29), 32));
	r = _mm256_add_epi64(r, _mm256_srli_epi64(ll, 61));
	r = _mm256_add_epi64(r, _mm256_and_si256(ll, p));
	r = _mm256_add_epi64(r, b);
	r = _mm256_add_epi64(_mm256_and_si256(r, p), _mm256_srli_epi64(r, 61));
	__m256i t = _mm256_sub_epi64(r, p);  /* negative when r < P */
	r = _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(t),
	                                         _mm256_castsi256_pd(r),
	                                         _mm256_castsi256_pd(t)));
	__m256i lt = _mm256_cmpgt_epi64(m, r);
	return _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(m),
	                                            _mm256_castsi256_pd(r),
	                                            _mm256_castsi256_pd(lt)));
}

__attribute__((target("avx2")))
static void kernel_avx2_range(const struct wn_minhash *mh, uint64_t *sig,
                              const uint64_t *h, size_t n, uint32_t i)
{
	for (; i + 8 <= mh->nh; i += 8) {
		__m256i a0 = _mm256_loadu_si256((const __m256i *)(mh->a + i));
		__m256i a1 = _mm256_loadu_si256((const __m256i *)(mh->a + i + 4));
		__m256i ah0 = _mm256_loadu_si256((const __m256i *)(mh->ah + i));
		__m256i ah1 = _mm256_loadu_si256((const __m256i *)(mh->ah + i + 4));
		__m256i b0 = _mm256_loadu_si256((const __m256i *)(mh->b + i));
		__m256i b1 = _mm256_loadu_si256((const __m256i *)(mh->b + i + 4));
		__m256i m0 = _mm256_loadu_si256((const __m256i *)(sig + i));
		__m256i m1 = _mm256_loadu_si256((const __m256i *)(sig + i + 4));
		for (size_t s = 0; s < n; s++) {
			__m256i hv = _mm256_set1_epi64x((long long)h[s]);
			__m256i hh = _mm256_set1_epi32((int)(h[s] >> 32));
			m0 = step_avx2(a0, ah0, b0, hv, hh, m0);
			m1 = step_avx2(a1, ah1, b1, hv, hh, m1);
		}
		_mm256_storeu_si256((__m256i *)(sig + i), m0);
		_mm256_storeu_si256((__m256i *)(sig + i + 4), m1);
	}
	kernel_portable_range(mh, sig, h, n, i);
}

__attribute__((target("avx2")))
static void kernel_avx2(const struct wn_minhash *mh, uint64_t *sig,
                        const uint64_t *h, size_t n)
{
	kernel_avx2_range(mh, sig, h, n, 0);
}

/* The same arithmetic on 8 lanes; unsigned min does the conditional
 * subtraction and the running minimum in one instruction each. */
__attribute__((target("avx512f")))
static inline __m512i step_avx512(__m512i a, __m512i ah, __m512i b, __m512i hv,
                                  __m512i hh, __m512i m)
{
	const __m512i p = _mm512_set1_epi64((long long)P);
	const __m512i m29 = _mm512_set1_epi64((1LL << 29) - 1);
	__m512i ll = _mm512_mul_epu32(a, hv);
	__m512i mid = _mm512_add_epi64(_mm512_mul_epu32(ah, hv),
	                               _mm512_mul_epu32(a, hh));
	__m512i top = _mm512_mul_epu32(ah, hh);
	__m512i r = _mm512_add_epi64(_mm512_slli_epi64(top, 3),
	                             _mm512_srli_epi64(mid, 29));
	r = _mm512_add_epi64(r, _mm512_slli_epi64(_mm512_and_si512(mid, m29), 32));
	r = _mm512_add_epi64(r, _mm512_srli_epi64(ll, 61));
	r = _mm512_add_epi64(r, _mm512_and_si512(ll, p));
	r = _mm512_add_epi64(r, b);
	r = _mm512_add_epi64(_mm512_and_si512(r, p), _mm512_srli_epi64(r, 61));
	r = _mm512_min_epu64(r, _mm512_sub_epi64(r, p));  /* r - P wraps when r < P */
	return _mm512_min_epu64(m, r);
}

__attribute__((target("avx512f")))
static void kernel_avx512(const struct wn_minhash *mh, uint64_t *sig,
                          const uint64_t *h, size_t n)
{
	uint32_t i = 0;
	for (; i + 16 <= mh->nh; i += 16) {
		__m512i a0 = _mm512_loadu_si512(mh->a + i);
		__m512i a1 = _mm512_loadu_si512(mh->a + i + 8);
		__m512i ah0 = _mm512_loadu_si512(mh->ah + i);
		__m512i ah1 = _mm512_loadu_si512(mh->ah + i + 8);
		__m512i b0 = _mm512_loadu_si512(mh->b + i);
		__m512i b1 = _mm512_loadu_si512(mh->b + i + 8);
		__m512i m0 = _mm512_loadu_si512(sig + i);
		__m512i m1 = _mm512_loadu_si512(sig + i + 8);
		for (size_t s = 0; s < n; s++) {
			__m512i hv = _mm512_set1_epi64((long long)h[s]);
			__m512i hh = _mm512_set1_epi32((int)(h[s] >> 32));
			m0 = step_avx512(a0, ah0, b0, hv, hh, m0);
			m1 = step_avx512(a1, ah1, b1, hv, hh, m1);
		}
		_mm512_storeu_si512(sig + i, m0);
		_mm512_storeu_si512(sig + i + 8, m1);
	}
	kernel_avx2_range(mh, sig, h, n, i);
}
#endif

/* ----------------------------------------------------------------------- */
/* Hasher */

const struct wn_minhash_params *wn_minhash_get_params(const struct wn_minhash *mh)
{
	return &mh->p;
}

uint64_t wn_minhash_perm_a(const struct wn_minhash *mh, uint32_t i)
{
	return mh->a[i];
}

uint64_t wn_minhash_perm_b(const struct wn_minhash *mh, uint32_t i)
{
	return mh->b[i];
}

const char *wn_minhash_kernel(const struct wn_minhash *mh)
{
	return mh->kernel_name;
}

int wn_minhash_set_kernel(struct wn_minhash *mh, const char *name,
                          struct wn_error *err)
{
	if (!strcmp(name, "portable")) {
		mh->kernel = kernel_portable;
		mh->kernel_name = "portable";
		return WN_OK;
	}
#ifdef WN_MH_X86
	__builtin_cpu_init();
	if (!strcmp(name, "avx2") && __builtin_cpu_supports("avx2")) {
		mh->kernel = kernel_avx2;
		mh->kernel_name = "avx2";
		return WN_OK;
	}
	if (!strcmp(name, "avx512") && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx2")) {
		mh->kernel = kernel_avx512;
		mh->kernel_name = "avx512";
		return WN_OK;
	}
#endif
	return wn_error_set(err, WN_EUSAGE, NULL, 0,
	                    "signature kernel '%s' is unknown or not supported here",
	                    name);
}

int wn_minhash_new(struct wn_minhash **out, const struct wn_minhash_params *p,
                   struct wn_error *err)
{
	*out = NULL;
	WN_TRY(wn_minhash_params_check(p, err));
	struct wn_minhash *mh = calloc(1, sizeof(*mh));
	if (!mh)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	mh->p = *p;
	mh->nh = wn_minhash_params_hashes(p);
	mh->a = malloc(3 * sizeof(uint64_t) * mh->nh);
	mh->words = malloc(sizeof(uint64_t) * WORDS_CAP(p->ngram));
	mh->start = malloc(sizeof(size_t) * p->ngram);
	if (!mh->a || !mh->words || !mh->start) {
		wn_minhash_free(mh);
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	}
	mh->b = mh->a + mh->nh;
	mh->ah = mh->b + mh->nh;
	uint64_t s = p->seed;
	for (uint32_t i = 0; i < mh->nh; i++) {
		mh->a[i] = draw(&s, 1);
		mh->b[i] = draw(&s, 0);
		mh->ah[i] = mh->a[i] >> 32;
	}
	mh->kernel = kernel_portable;
	mh->kernel_name = "portable";
	if (wn_minhash_set_kernel(mh, "avx512", NULL) < 0)
		(void)wn_minhash_set_kernel(mh, "avx2", NULL);
	*out = mh;
	return WN_OK;
}

void wn_minhash_free(struct wn_minhash *mh)
{
	if (!mh)
		return;
	free(mh->a);
	free(mh->words);
	free(mh->start);
	free(mh);
}

/* ----------------------------------------------------------------------- */
/* Shingles */

typedef void sink_fn(struct wn_minhash *mh, const uint64_t *h, size_t n,
                     void *arg);

/* Byte classes for splitting words: 0 inside a word, SPACE for ASCII
 * whitespace, LEAD for the first byte of a possible Unicode space. */
enum { SPACE = 1, LEAD = 2 };
static const unsigned char byte_class[256] = {
	['\t'] = SPACE, ['\n'] = SPACE, ['\v'] = SPACE, ['\f'] = SPACE,
	['\r'] = SPACE, [' '] = SPACE,
	[0xC2] = LEAD, [0xE1] = LEAD, [0xE2] = LEAD, [0xE3] = LEAD,
};

/* Byte length of the whitespace character at t[i], or 0.  Only the
 * multi-byte Unicode White_Space characters: ASCII is checked first. */
static size_t uspace(const unsigned char *t, size_t len, size_t i)
{
	size_t left = len - i;
	switch (t[i]) {
	case 0xC2:  /* U+0085, U+00A0 */
		return left >= 2 && (t[i + 1] == 0x85 || t[i + 1] == 0xA0) ? 2 : 0;
	case 0xE1:  /* U+1680 */
		return left >= 3 && t[i + 1] == 0x9A && t[i + 2] == 0x80 ? 3 : 0;
	case 0xE2:
		if (left < 3)
			return 0;
		if (t[i + 1] == 0x80)  /* U+2000..200A, 2028, 2029, 202F */
			return (t[i + 2] >= 0x80 && t[i + 2] <= 0x8A) ||
			       t[i + 2] == 0xA8 ||
			       t[i + 2] == 0xA9 || t[i + 2] == 0xAF ? 3 : 0;
		return t[i + 1] == 0x81 && t[i + 2] == 0x9F ? 3 : 0;  /* U+205F */
	case 0xE3:  /* U+3000 */
		return left >= 3 && t[i + 1] == 0x80 && t[i + 2] == 0x80 ? 3 : 0;
	default:
		return 0;
	}
}

static inline void emit(struct wn_minhash *mh, uint64_t h, size_t *k,
                        size_t *shingles, sink_fn *sink, void *arg)
{
	mh->block[(*k)++] = h;
	if (*k == BLOCK) {
		sink(mh, mh->block, BLOCK, arg);
		*shingles += BLOCK;
		*k = 0;
	}
}

/* Byte length of the word starting at t[i] (not whitespace). */
static inline size_t word_len(const unsigned char *t, size_t len, size_t i)
{
	size_t s = i;
	for (; i < len; i++) {
		unsigned c = byte_class[t[i]];
		if (c && (c == SPACE || uspace(t, len, i)))
			break;
	}
	return i - s;
}

/* Bytes of whitespace starting at t[i]. */
static inline size_t space_len(const unsigned char *t, size_t len, size_t i)
{
	size_t s = i, sl;
	while (i < len) {
		unsigned c = byte_class[t[i]];
		if (c == SPACE)
			i++;
		else if (c == LEAD && (sl = uspace(t, len, i)))
			i += sl;
		else
			break;
	}
	return i - s;
}

/*
 * Each word is hashed once; a shingle's hash is the hash of its words'
 * hashes, so a word costs one short hash whatever ngram is, and nothing is
 * copied.  The word hashes are kept in mh->words, whose last ngram-1 are
 * moved to the front when it fills.
 */
static size_t shingle_words(struct wn_minhash *mh, const char *text,
                            size_t len, sink_fn *sink, void *arg)
{
	const unsigned char *t = (const unsigned char *)text;
	const uint32_t n = mh->p.ngram;
	const uint64_t seed = mh->p.seed;
	uint64_t *w = mh->words;
	size_t nw = 0, total = 0, i = 0, k = 0, shingles = 0;

	for (;;) {
		i += space_len(t, len, i);
		if (i >= len)
			break;
		size_t wl = word_len(t, len, i);
		w[nw++] = le64(XXH3_64bits_withSeed(t + i, wl, seed));
		i += wl;
		total++;
		if (nw < n)
			continue;
		emit(mh, XXH3_64bits_withSeed(w + nw - n, 8 * (size_t)n, seed),
		     &k, &shingles, sink, arg);
		if (nw == WORDS_CAP(n)) {
			memmove(w, w + nw - (n - 1), (n - 1) * sizeof(*w));
			nw = n - 1;
		}
	}
	if (total > 0 && total < n)  /* a short text is one shingle */
		emit(mh, XXH3_64bits_withSeed(w, 8 * total, seed), &k,
		     &shingles, sink, arg);
	if (k)
		sink(mh, mh->block, k, arg);
	return shingles + k;
}

static size_t shingle_chars(struct wn_minhash *mh, const char *text,
                            size_t len, sink_fn *sink, void *arg)
{
	const unsigned char *t = (const unsigned char *)text;
	const uint32_t n = mh->p.ngram;
	const uint64_t seed = mh->p.seed;
	size_t *start = mh->start;  /* ring of the last n code point starts */
	uint32_t slot = 0;          /* where the next start goes */
	uint64_t ncp = 0;
	size_t i = 0, k = 0, shingles = 0;

	while (i < len) {
		start[slot] = i++;
		while (i < len && (t[i] & 0xC0) == 0x80)
			i++;
		if (++slot == n)
			slot = 0;
		if (++ncp >= n) {
			/* slot now holds the oldest of the last n starts */
			size_t first = start[slot];
			emit(mh, XXH3_64bits_withSeed(text + first, i - first, seed),
			     &k, &shingles, sink, arg);
		}
	}
	if (ncp > 0 && ncp < n)  /* a short text is one shingle */
		emit(mh, XXH3_64bits_withSeed(text, len, seed), &k, &shingles,
		     sink, arg);
	if (k)
		sink(mh, mh->block, k, arg);
	return shingles + k;
}

static size_t shingle(struct wn_minhash *mh, const char *text, size_t len,
                      sink_fn *sink, void *arg)
{
	if (mh->p.shingle == WN_MINHASH_CHARS)
		return shingle_chars(mh, text, len, sink, arg);
	return shingle_words(mh, text, len, sink, arg);
}

static void sig_sink(struct wn_minhash *mh, const uint64_t *h, size_t n,
                     void *arg)
{
	uint64_t *blk = mh->block;  /* reduced in place */
	assert(h == blk);
	for (size_t s = 0; s < n; s++)
		blk[s] = mod_p(blk[s]);
	mh->kernel(mh, arg, blk, n);
}

size_t wn_minhash_signature(struct wn_minhash *mh, const char *text,
                            size_t len, uint64_t *sig)
{
	/* P is above every value, and (unlike WN_MINHASH_EMPTY) still
	 * positive for the kernels' signed compares. */
	for (uint32_t i = 0; i < mh->nh; i++)
		sig[i] = P;
	size_t n = shingle(mh, text, len, sig_sink, sig);
	if (!n)
		for (uint32_t i = 0; i < mh->nh; i++)
			sig[i] = WN_MINHASH_EMPTY;
	return n;
}

struct each {
	void (*fn)(uint64_t hash, void *arg);
	void *arg;
};

static void each_sink(struct wn_minhash *mh, const uint64_t *h, size_t n,
                      void *arg)
{
	struct each *e = arg;
	for (size_t s = 0; s < n; s++)
		e->fn(h[s], e->arg);
}

size_t wn_minhash_shingles(struct wn_minhash *mh, const char *text, size_t len,
                           void (*fn)(uint64_t hash, void *arg), void *arg)
{
	struct each e = { fn, arg };
	return shingle(mh, text, len, each_sink, &e);
}

/* ----------------------------------------------------------------------- */
/* Band keys, Jaccard */

void wn_minhash_band_keys(const struct wn_minhash_params *p,
                          const uint64_t *sig, uint64_t *keys)
{
	uint64_t buf[WN_MINHASH_MAX_HASHES];
	for (uint32_t b = 0; b < p->bands; b++) {
		const uint64_t *row = sig + (size_t)b * p->rows;
		for (uint32_t r = 0; r < p->rows; r++)
			buf[r] = le64(row[r]);
		keys[b] = XXH3_64bits_withSeed(buf, 8 * (size_t)p->rows, b);
	}
}

double wn_minhash_jaccard(const uint64_t *a, const uint64_t *b, size_t n)
{
	if (!n)
		return 1;
	size_t eq = 0;
	for (size_t i = 0; i < n; i++)
		eq += a[i] == b[i];
	return (double)eq / (double)n;
}

/* ----------------------------------------------------------------------- */
/* The index */

/* Entries live in chunks of ECHUNK: growing never copies the whole index
 * and leaves at most one chunk of slack. */
#define ECHUNK_BITS 12
#define ECHUNK ((uint64_t)1 << ECHUNK_BITS)
/* Labels live in arena chunks; a label never spans two.  An entry's label
 * word is arena chunk << 34 | offset << 16 | length. */
#define ACHUNK_BITS 18
#define ACHUNK ((size_t)1 << ACHUNK_BITS)
#define LABEL_MAX 65535
#define MAX_ENTRIES ((uint64_t)UINT32_MAX - 1)  /* entry numbers fit in 32 bits */

/*
 * A band's table: linear probing from fastrange(key).  Slot i holds an entry
 * number, and fp[i] one byte of that entry's key (0: empty), so that probing
 * past other keys reads only the small fp array: the entry's full key (in
 * another cache line) is compared only when the byte matches, 1 in 255.
 * Each band grows on its own, so growing needs one band's worth of extra
 * memory, not the whole index's.
 */
struct table {
	uint8_t *fp;
	uint32_t *slot;
	uint64_t cap;
};

struct wn_minhash_index {
	struct wn_minhash_params p;
	uint32_t nh;
	int sigs;
	double verify;
	char context[256];
	uint64_t n;
	uint64_t **keys;   /* [chunk][(e % ECHUNK) * bands + b] */
	uint32_t **sig32;  /* [chunk][(e % ECHUNK) * nh + i], with sigs */
	uint64_t **label;  /* [chunk][e % ECHUNK] */
	size_t nchunks, chunks_cap;
	char **arena;
	size_t narena, arena_cap, arena_used;  /* used: of the last chunk */
	uint64_t label_bytes;
	struct table *table;  /* one per band */
};

static inline uint64_t *entry_keys(const struct wn_minhash_index *idx,
                                   uint64_t e)
{
	return idx->keys[e >> ECHUNK_BITS] + (e & (ECHUNK - 1)) * idx->p.bands;
}

static inline uint32_t *entry_sig(const struct wn_minhash_index *idx,
                                  uint64_t e)
{
	return idx->sig32[e >> ECHUNK_BITS] + (e & (ECHUNK - 1)) * idx->nh;
}

static inline uint64_t *entry_label(const struct wn_minhash_index *idx,
                                    uint64_t e)
{
	return idx->label[e >> ECHUNK_BITS] + (e & (ECHUNK - 1));
}

/* key -> [0, cap) without a division, using the key's high bits. */
static inline uint64_t fastrange(uint64_t key, uint64_t cap)
{
	return (uint64_t)(((unsigned __int128)key * cap) >> 64);
}

static int nomem(struct wn_error *err)
{
	return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
}

static int index_create(struct wn_minhash_index **out,
                        const struct wn_minhash_params *p, int sigs,
                        struct wn_error *err)
{
	*out = NULL;
	WN_TRY(wn_minhash_params_check(p, err));
	struct wn_minhash_index *idx = calloc(1, sizeof(*idx));
	if (!idx)
		return nomem(err);
	idx->p = *p;
	idx->nh = wn_minhash_params_hashes(p);
	idx->sigs = sigs;
	idx->table = calloc(p->bands, sizeof(*idx->table));
	if (!idx->table) {
		free(idx);
		return nomem(err);
	}
	*out = idx;
	return WN_OK;
}

static int check_verify(double verify, struct wn_error *err)
{
	if (!(verify >= 0 && verify <= 1))
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "verify threshold %g out of range (0 to 1)",
		                    verify);
	return WN_OK;
}

int wn_minhash_index_new(struct wn_minhash_index **out,
                         const struct wn_minhash_params *p, double verify,
                         struct wn_error *err)
{
	*out = NULL;
	WN_TRY(check_verify(verify, err));
	WN_TRY(index_create(out, p, verify > 0, err));
	(*out)->verify = verify;
	return WN_OK;
}

void wn_minhash_index_free(struct wn_minhash_index *idx)
{
	if (!idx)
		return;
	for (size_t c = 0; c < idx->nchunks; c++) {
		free(idx->keys[c]);
		if (idx->sig32)
			free(idx->sig32[c]);
		free(idx->label[c]);
	}
	free(idx->keys);
	free(idx->sig32);
	free(idx->label);
	for (size_t c = 0; c < idx->narena; c++)
		free(idx->arena[c]);
	free(idx->arena);
	if (idx->table)
		for (uint32_t b = 0; b < idx->p.bands; b++) {
			free(idx->table[b].fp);
			free(idx->table[b].slot);
		}
	free(idx->table);
	free(idx);
}

uint64_t wn_minhash_index_count(const struct wn_minhash_index *idx)
{
	return idx->n;
}

static size_t table_bytes(const struct wn_minhash_index *idx)
{
	size_t n = 0;
	for (uint32_t b = 0; b < idx->p.bands; b++)
		n += (size_t)idx->table[b].cap * (sizeof(uint8_t) + sizeof(uint32_t));
	return n;
}

size_t wn_minhash_index_memory(const struct wn_minhash_index *idx)
{
	size_t per_chunk = ECHUNK * (8 * (size_t)idx->p.bands + 8 +
	                             (idx->sigs ? 4 * (size_t)idx->nh : 0));
	return sizeof(*idx) + idx->nchunks * per_chunk +
	       idx->chunks_cap * 3 * sizeof(void *) +
	       idx->narena * ACHUNK + idx->arena_cap * sizeof(char *) +
	       idx->p.bands * sizeof(struct table) + table_bytes(idx);
}

const struct wn_minhash_params *
wn_minhash_index_params(const struct wn_minhash_index *idx)
{
	return &idx->p;
}

int wn_minhash_index_has_signatures(const struct wn_minhash_index *idx)
{
	return idx->sigs;
}

int wn_minhash_index_set_verify(struct wn_minhash_index *idx, double verify,
                                struct wn_error *err)
{
	WN_TRY(check_verify(verify, err));
	if (verify > 0 && !idx->sigs)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "the index has no signatures (it was built "
		                    "without verification)");
	idx->verify = verify;
	return WN_OK;
}

int wn_minhash_index_set_context(struct wn_minhash_index *idx,
                                 const char *context, struct wn_error *err)
{
	size_t n = strlen(context);
	if (n >= sizeof(idx->context))
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "index context longer than %zu bytes",
		                    sizeof(idx->context) - 1);
	memcpy(idx->context, context, n + 1);
	return WN_OK;
}

const char *wn_minhash_index_context(const struct wn_minhash_index *idx)
{
	return idx->context;
}

int wn_minhash_index_label(const struct wn_minhash_index *idx, uint64_t e,
                           const char **label, size_t *len,
                           struct wn_error *err)
{
	if (e >= idx->n)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "no index entry %llu", (unsigned long long)e);
	uint64_t w = *entry_label(idx, e);
	*len = (size_t)(w & 0xffff);
	*label = *len ? idx->arena[w >> 34] + ((w >> 16) & (ACHUNK - 1)) : "";
	return WN_OK;
}

static inline uint8_t key_fp(uint64_t key)
{
	uint8_t f = (uint8_t)key;  /* fastrange uses the high bits */
	return f ? f : 1;
}

/* Put key -> e into a table (room is there). */
static void table_put(struct table *t, uint64_t key, uint64_t e)
{
	assert(t->cap > 0 && e < MAX_ENTRIES);
	uint64_t pos = fastrange(key, t->cap);
	while (t->fp[pos])
		if (++pos == t->cap)
			pos = 0;
	t->fp[pos] = key_fp(key);
	t->slot[pos] = (uint32_t)e;
}

/* Put every entry's band-b key into an empty table.  The writes go to
 * random places: prefetch a batch ahead. */
static void table_fill(const struct wn_minhash_index *idx, struct table *t,
                       uint32_t b)
{
	enum { AHEAD = 16 };
	for (uint64_t e = 0; e < idx->n; e++) {
		if (e + AHEAD < idx->n) {
			uint64_t pos = fastrange(entry_keys(idx, e + AHEAD)[b], t->cap);
			__builtin_prefetch(t->fp + pos, 1);
			__builtin_prefetch(t->slot + pos, 1);
		}
		table_put(t, entry_keys(idx, e)[b], e);
	}
}

/* Make every band's table hold `need` entries at a load of at most 3/4,
 * growing by 1.5x, so that the load after a growth is 1/2.  A band that
 * cannot grow keeps its smaller table, still valid. */
static int table_reserve(struct wn_minhash_index *idx, uint64_t need,
                         struct wn_error *err)
{
	for (uint32_t b = 0; b < idx->p.bands; b++) {
		struct table *t = &idx->table[b];
		if (need * 4 <= t->cap * 3)
			continue;
		uint64_t cap = t->cap < 64 ? 64 : t->cap;
		while (need * 4 > cap * 3)
			cap += cap / 2;
		if (cap > SIZE_MAX / sizeof(uint32_t))
			return nomem(err);
		struct table nt = { calloc((size_t)cap, 1),
		                    malloc((size_t)cap * sizeof(uint32_t)), cap };
		if (!nt.fp || !nt.slot) {
			free(nt.fp);
			free(nt.slot);
			return nomem(err);
		}
		table_fill(idx, &nt, b);
		free(t->fp);
		free(t->slot);
		*t = nt;
	}
	return WN_OK;
}

/* Make entry e's chunk exist. */
static int chunk_reserve(struct wn_minhash_index *idx, uint64_t e,
                         struct wn_error *err)
{
	size_t c = (size_t)(e >> ECHUNK_BITS);
	if (c < idx->nchunks)
		return WN_OK;
	if (c == idx->chunks_cap) {
		size_t cap = idx->chunks_cap ? idx->chunks_cap * 2 : 16;
		uint64_t **k = realloc(idx->keys, cap * sizeof(*k));
		if (!k)
			return nomem(err);
		idx->keys = k;
		uint64_t **l = realloc(idx->label, cap * sizeof(*l));
		if (!l)
			return nomem(err);
		idx->label = l;
		if (idx->sigs) {
			uint32_t **s = realloc(idx->sig32, cap * sizeof(*s));
			if (!s)
				return nomem(err);
			idx->sig32 = s;
		}
		idx->chunks_cap = cap;
	}
	uint64_t *k = malloc(ECHUNK * idx->p.bands * sizeof(uint64_t));
	uint64_t *l = malloc(ECHUNK * sizeof(uint64_t));
	uint32_t *s = idx->sigs ? malloc(ECHUNK * idx->nh * sizeof(uint32_t)) : NULL;
	if (!k || !l || (idx->sigs && !s)) {
		free(k);
		free(l);
		free(s);
		return nomem(err);
	}
	idx->keys[c] = k;
	idx->label[c] = l;
	if (idx->sigs)
		idx->sig32[c] = s;
	idx->nchunks++;
	return WN_OK;
}

/* Room for a label of len bytes; *word is its label word, *dst where its
 * bytes go. */
static int label_reserve(struct wn_minhash_index *idx, size_t len,
                         uint64_t *word, char **dst, struct wn_error *err)
{
	if (len > LABEL_MAX)
		return wn_error_set(err, WN_ETOOBIG, NULL, 0,
		                    "label longer than %d bytes", LABEL_MAX);
	if (!len) {
		*word = 0;
		*dst = NULL;
		return WN_OK;
	}
	if (!idx->narena || idx->arena_used + len > ACHUNK) {
		if (idx->narena == idx->arena_cap) {
			size_t cap = idx->arena_cap ? idx->arena_cap * 2 : 16;
			char **a = realloc(idx->arena, cap * sizeof(*a));
			if (!a)
				return nomem(err);
			idx->arena = a;
			idx->arena_cap = cap;
		}
		char *chunk = malloc(ACHUNK);
		if (!chunk)
			return nomem(err);
		idx->arena[idx->narena++] = chunk;
		idx->arena_used = 0;
	}
	*word = (uint64_t)(idx->narena - 1) << 34 |
	        (uint64_t)idx->arena_used << 16 | len;
	*dst = idx->arena[idx->narena - 1] + idx->arena_used;
	return WN_OK;
}

/* Store a new entry.  sig32 may be NULL only without signatures. */
static int index_insert(struct wn_minhash_index *idx, const uint64_t *keys,
                        const uint32_t *sig32, const char *label, size_t len,
                        uint64_t *entry, struct wn_error *err)
{
	uint64_t e = idx->n;
	if (e >= MAX_ENTRIES)
		return wn_error_set(err, WN_ETOOBIG, NULL, 0,
		                    "the index is full (%llu entries)",
		                    (unsigned long long)MAX_ENTRIES);
	uint64_t word;
	char *dst;
	WN_TRY(table_reserve(idx, e + 1, err));
	WN_TRY(chunk_reserve(idx, e, err));
	WN_TRY(label_reserve(idx, len, &word, &dst, err));

	memcpy(entry_keys(idx, e), keys, idx->p.bands * sizeof(uint64_t));
	if (idx->sigs)
		memcpy(entry_sig(idx, e), sig32, idx->nh * sizeof(uint32_t));
	if (len)
		memcpy(dst, label, len);
	idx->arena_used += len;
	idx->label_bytes += len;
	*entry_label(idx, e) = word;
	for (uint32_t b = 0; b < idx->p.bands; b++)
		table_put(&idx->table[b], keys[b], e);
	idx->n = e + 1;
	*entry = e;
	return WN_OK;
}

static double jaccard32(const uint32_t *a, const uint32_t *b, uint32_t n)
{
	uint32_t eq = 0;
	for (uint32_t i = 0; i < n; i++)
		eq += a[i] == b[i];
	return (double)eq / n;
}

static void no_match(struct wn_minhash_match *m)
{
	m->duplicate = 0;
	m->entry = WN_MINHASH_NONE;
	m->band = -1;
	m->candidates = 0;
	m->jaccard = -1;
}

/* The decision for a document with these band keys (and, to verify, the
 * low 32 bits of its signature; NULL: do not verify). */
static void index_lookup(const struct wn_minhash_index *idx,
                         const uint64_t *keys, const uint32_t *sig32,
                         struct wn_minhash_match *m)
{
	uint64_t best = WN_MINHASH_NONE;
	double bestj = -1;
	uint32_t bands = idx->p.bands;

	no_match(m);
	if (!idx->n)
		return;
	/* the probes of all bands are independent cache misses: start them
	 * together */
	uint64_t pos[WN_MINHASH_MAX_HASHES];
	for (uint32_t b = 0; b < bands; b++) {
		pos[b] = fastrange(keys[b], idx->table[b].cap);
		__builtin_prefetch(idx->table[b].fp + pos[b]);
		/* where a new entry would go, or where a match is */
		__builtin_prefetch(idx->table[b].slot + pos[b]);
	}
	for (uint32_t b = 0; b < bands; b++) {
		const struct table *t = &idx->table[b];
		uint64_t i = pos[b];
		uint8_t f, want = key_fp(keys[b]);
		while ((f = t->fp[i]) != 0) {
			uint32_t e = f == want ? t->slot[i] : 0;
			if (f == want && entry_keys(idx, e)[b] == keys[b]) {
				m->candidates++;
				if (sig32) {
					double j = jaccard32(sig32, entry_sig(idx, e),
					                     idx->nh);
					if (j > bestj || (j == bestj && e < best)) {
						bestj = j;
						best = e;
						m->band = (int32_t)b;
					}
				} else if (e < best) {
					best = e;
					m->band = (int32_t)b;
				}
			}
			if (++i == t->cap)
				i = 0;
		}
	}
	if (best == WN_MINHASH_NONE)
		return;
	if (sig32) {
		m->jaccard = bestj;
		if (bestj < idx->verify) {
			m->band = -1;
			return;
		}
	}
	m->duplicate = 1;
	m->entry = best;
}

static void low32(const uint64_t *sig, uint32_t n, uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = (uint32_t)sig[i];
}

void wn_minhash_index_query(const struct wn_minhash_index *idx,
                            const uint64_t *sig, struct wn_minhash_match *m)
{
	uint64_t keys[WN_MINHASH_MAX_HASHES];
	uint32_t sig32[WN_MINHASH_MAX_HASHES];
	if (sig[0] == WN_MINHASH_EMPTY) {
		no_match(m);
		return;
	}
	wn_minhash_band_keys(&idx->p, sig, keys);
	if (idx->verify > 0)
		low32(sig, idx->nh, sig32);
	index_lookup(idx, keys, idx->verify > 0 ? sig32 : NULL, m);
}

int wn_minhash_index_add(struct wn_minhash_index *idx, const uint64_t *sig,
                         const char *label, size_t label_len,
                         struct wn_minhash_match *m, struct wn_error *err)
{
	uint64_t keys[WN_MINHASH_MAX_HASHES];
	uint32_t sig32[WN_MINHASH_MAX_HASHES];
	if (sig[0] == WN_MINHASH_EMPTY) {
		no_match(m);
		return WN_OK;
	}
	wn_minhash_band_keys(&idx->p, sig, keys);
	if (idx->sigs)
		low32(sig, idx->nh, sig32);
	index_lookup(idx, keys, idx->verify > 0 ? sig32 : NULL, m);
	if (m->duplicate)
		return WN_OK;
	return index_insert(idx, keys, sig32, label, label_len, &m->entry, err);
}

static int differs(const char *name, struct wn_error *err, const char *what,
                   unsigned long long have, unsigned long long want)
{
	return wn_error_set(err, WN_EUSAGE, name, 0,
	                    "index has %s %llu, this run uses %llu", what, have,
	                    want);
}

int wn_minhash_index_check(const struct wn_minhash_index *idx,
                           const struct wn_minhash_params *p,
                           const char *context, int need_signatures,
                           const char *name, struct wn_error *err)
{
	const struct wn_minhash_params *h = &idx->p;
	if (h->shingle != p->shingle)
		return wn_error_set(err, WN_EUSAGE, name, 0,
		                    "index has shingle %s, this run uses %s",
		                    wn_minhash_shingle_name(h->shingle),
		                    wn_minhash_shingle_name(p->shingle));
	if (h->ngram != p->ngram)
		return differs(name, err, "ngram", h->ngram, p->ngram);
	if (h->bands != p->bands)
		return differs(name, err, "bands", h->bands, p->bands);
	if (h->rows != p->rows)
		return differs(name, err, "rows", h->rows, p->rows);
	if (h->seed != p->seed)
		return differs(name, err, "seed", (unsigned long long)h->seed,
		               (unsigned long long)p->seed);
	if (strcmp(idx->context, context ? context : ""))
		return wn_error_set(err, WN_EUSAGE, name, 0,
		                    "index has context '%s', this run uses '%s'",
		                    idx->context, context ? context : "");
	if (need_signatures && !idx->sigs)
		return wn_error_set(err, WN_EUSAGE, name, 0,
		                    "index has no signatures (it was built "
		                    "without verification)");
	return WN_OK;
}

/* ---- saving and loading ---- */

#define MAGIC "WNMINHSH"
#define VERSION 1
#define HEADER 60
#define IO_CHUNK 4096  /* values converted per write or read */

struct io {
	FILE *f;
	const char *name;
	XXH3_state_t *st;
	struct wn_error *err;
};

static int io_start(struct io *io, FILE *f, const char *name,
                    struct wn_error *err)
{
	io->f = f;
	io->name = name;
	io->err = err;
	io->st = XXH3_createState();
	if (!io->st)
		return nomem(err);
	XXH3_128bits_reset(io->st);
	return WN_OK;
}

static int put(struct io *io, const void *p, size_t n)
{
	XXH3_128bits_update(io->st, p, n);
	if (n && fwrite(p, 1, n, io->f) != n)
		return wn_error_errno(io->err, errno, io->name, "write failed");
	return WN_OK;
}

static int get(struct io *io, void *p, size_t n)
{
	if (n && fread(p, 1, n, io->f) != n) {
		if (ferror(io->f))
			return wn_error_errno(io->err, errno, io->name,
			                      "read failed");
		return wn_error_set(io->err, WN_EDATA, io->name, 0,
		                    "truncated index file");
	}
	XXH3_128bits_update(io->st, p, n);
	return WN_OK;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* n 64-bit values, little-endian, through a bounce buffer. */
static int put_u64s(struct io *io, const uint64_t *v, size_t n)
{
	uint64_t buf[IO_CHUNK];
	while (n) {
		size_t k = n < IO_CHUNK ? n : IO_CHUNK;
		for (size_t i = 0; i < k; i++)
			buf[i] = le64(v[i]);
		WN_TRY(put(io, buf, k * 8));
		v += k;
		n -= k;
	}
	return WN_OK;
}

static int put_u32s(struct io *io, const uint32_t *v, size_t n)
{
	uint32_t buf[IO_CHUNK];
	while (n) {
		size_t k = n < IO_CHUNK ? n : IO_CHUNK;
		for (size_t i = 0; i < k; i++)
			buf[i] = le32(v[i]);
		WN_TRY(put(io, buf, k * 4));
		v += k;
		n -= k;
	}
	return WN_OK;
}

static uint64_t chunk_entries(const struct wn_minhash_index *idx, size_t c)
{
	uint64_t left = idx->n - ((uint64_t)c << ECHUNK_BITS);
	return left < ECHUNK ? left : ECHUNK;
}

static int save_body(const struct wn_minhash_index *idx, struct io *io)
{
	unsigned char h[HEADER];
	size_t clen = strlen(idx->context);
	memcpy(h, MAGIC, 8);
	put32(h + 8, VERSION);
	put32(h + 12, idx->sigs ? 1 : 0);
	put32(h + 16, (uint32_t)idx->p.shingle);
	put32(h + 20, idx->p.ngram);
	put32(h + 24, idx->p.bands);
	put32(h + 28, idx->p.rows);
	put64(h + 32, idx->p.seed);
	put64(h + 40, idx->n);
	put64(h + 48, idx->label_bytes);
	put32(h + 56, (uint32_t)clen);
	WN_TRY(put(io, h, HEADER));
	WN_TRY(put(io, idx->context, clen));

	size_t chunks = (size_t)((idx->n + ECHUNK - 1) >> ECHUNK_BITS);
	for (size_t c = 0; c < chunks; c++)
		WN_TRY(put_u64s(io, idx->keys[c],
		                (size_t)chunk_entries(idx, c) * idx->p.bands));
	uint32_t lens[IO_CHUNK];
	for (uint64_t e = 0; e < idx->n;) {
		size_t k = 0;
		for (; k < IO_CHUNK && e < idx->n; k++, e++)
			lens[k] = (uint32_t)(*entry_label(idx, e) & 0xffff);
		WN_TRY(put_u32s(io, lens, k));
	}
	const char *run = NULL;
	size_t run_len = 0;
	for (uint64_t e = 0; e < idx->n; e++) {
		const char *l;
		size_t len;
		WN_TRY(wn_minhash_index_label(idx, e, &l, &len, io->err));
		if (len && (!run || l != run + run_len)) {
			WN_TRY(put(io, run, run_len));
			run = l;
			run_len = 0;
		}
		run_len += len;
	}
	WN_TRY(put(io, run, run_len));
	if (idx->sigs)
		for (size_t c = 0; c < chunks; c++)
			WN_TRY(put_u32s(io, idx->sig32[c],
			                (size_t)chunk_entries(idx, c) * idx->nh));

	XXH128_hash_t sum = XXH3_128bits_digest(io->st);
	unsigned char t[16];
	put64(t, sum.high64);
	put64(t + 8, sum.low64);
	if (fwrite(t, 1, 16, io->f) != 16)
		return wn_error_errno(io->err, errno, io->name, "write failed");
	return WN_OK;
}

int wn_minhash_index_save(const struct wn_minhash_index *idx, FILE *f,
                          const char *name, struct wn_error *err)
{
	struct io io;
	WN_TRY(io_start(&io, f, name, err));
	int rc = save_body(idx, &io);
	XXH3_freeState(io.st);
	return rc;
}

static int corrupt(struct io *io, const char *what)
{
	return wn_error_set(io->err, WN_EDATA, io->name, 0, "corrupt index: %s",
	                    what);
}

static int load_header(struct io *io, struct wn_minhash_params *p, int *sigs,
                       uint64_t *n, uint64_t *lbytes, char *context)
{
	unsigned char h[HEADER];
	size_t got = fread(h, 1, HEADER, io->f);
	if (got < 8 || memcmp(h, MAGIC, 8)) {
		if (ferror(io->f))
			return wn_error_errno(io->err, errno, io->name,
			                      "read failed");
		return wn_error_set(io->err, WN_EDATA, io->name, 0,
		                    "not a winnow MinHash index (bad magic)");
	}
	if (got < HEADER)
		return corrupt(io, "truncated header");
	XXH3_128bits_update(io->st, h, HEADER);
	uint32_t version = get32(h + 8), flags = get32(h + 12);
	if (version != VERSION)
		return wn_error_set(io->err, WN_EDATA, io->name, 0,
		                    "index format version %u is not supported "
		                    "(this winnow reads version %d)", version,
		                    VERSION);
	if (flags & ~1u)
		return corrupt(io, "unknown flags");
	*sigs = flags & 1;
	uint32_t shingle = get32(h + 16);
	if (shingle > WN_MINHASH_CHARS)
		return corrupt(io, "bad shingle kind");
	p->shingle = (enum wn_minhash_shingle)shingle;
	p->ngram = get32(h + 20);
	p->bands = get32(h + 24);
	p->rows = get32(h + 28);
	p->seed = get64(h + 32);
	if (wn_minhash_params_check(p, NULL) < 0)
		return corrupt(io, "parameters out of range");
	*n = get64(h + 40);
	*lbytes = get64(h + 48);
	uint32_t clen = get32(h + 56);
	if (*n > MAX_ENTRIES)
		return corrupt(io, "too many entries");
	if (*lbytes > *n * LABEL_MAX)
		return corrupt(io, "label size");
	if (clen > 255)
		return corrupt(io, "context too long");
	WN_TRY(get(io, context, clen));
	context[clen] = '\0';
	if (memchr(context, '\0', clen))
		return corrupt(io, "NUL in context");
	return WN_OK;
}

static int get_u64s(struct io *io, uint64_t *v, size_t n)
{
	WN_TRY(get(io, v, n * 8));
	for (size_t i = 0; i < n; i++)
		v[i] = le64(v[i]);
	return WN_OK;
}

static int get_u32s(struct io *io, uint32_t *v, size_t n)
{
	WN_TRY(get(io, v, n * 4));
	for (size_t i = 0; i < n; i++)
		v[i] = le32(v[i]);
	return WN_OK;
}

static int load_body(struct wn_minhash_index *idx, struct io *io, uint64_t n,
                     uint64_t lbytes)
{
	/* Chunks are allocated as their bytes arrive, so a header that lies
	 * about the size fails as a truncated file, not as a huge malloc. */
	for (uint64_t e = 0; e < n; e += ECHUNK) {
		WN_TRY(chunk_reserve(idx, e, io->err));
		uint64_t k = n - e < ECHUNK ? n - e : ECHUNK;
		WN_TRY(get_u64s(io, idx->keys[e >> ECHUNK_BITS],
		                (size_t)k * idx->p.bands));
	}
	idx->n = n;
	uint64_t total = 0;
	uint32_t lens[IO_CHUNK];
	for (uint64_t e = 0; e < n;) {
		size_t k = n - e < IO_CHUNK ? (size_t)(n - e) : IO_CHUNK;
		WN_TRY(get_u32s(io, lens, k));
		for (size_t i = 0; i < k; i++, e++) {
			if (lens[i] > LABEL_MAX)
				return corrupt(io, "label too long");
			*entry_label(idx, e) = lens[i];  /* placed below */
			total += lens[i];
		}
	}
	if (total != lbytes)
		return corrupt(io, "label sizes do not add up");
	/* labels that land next to each other in the arena are read at once */
	char *run = NULL;
	size_t run_len = 0;
	for (uint64_t e = 0; e < n; e++) {
		uint64_t word;
		char *dst;
		size_t len = (size_t)*entry_label(idx, e);
		WN_TRY(label_reserve(idx, len, &word, &dst, io->err));
		if (len && (!run || dst != run + run_len)) {
			WN_TRY(get(io, run, run_len));
			run = dst;
			run_len = 0;
		}
		run_len += len;
		idx->arena_used += len;
		*entry_label(idx, e) = word;
	}
	WN_TRY(get(io, run, run_len));
	idx->label_bytes = lbytes;
	if (idx->sigs)
		for (uint64_t e = 0; e < n; e += ECHUNK) {
			uint64_t k = n - e < ECHUNK ? n - e : ECHUNK;
			WN_TRY(get_u32s(io, idx->sig32[e >> ECHUNK_BITS],
			                (size_t)k * idx->nh));
		}
	XXH128_hash_t sum = XXH3_128bits_digest(io->st);
	unsigned char t[16];
	size_t got = fread(t, 1, 16, io->f);
	if (got != 16) {
		if (ferror(io->f))
			return wn_error_errno(io->err, errno, io->name,
			                      "read failed");
		return wn_error_set(io->err, WN_EDATA, io->name, 0,
		                    "truncated index file");
	}
	if (get64(t) != sum.high64 || get64(t + 8) != sum.low64)
		return corrupt(io, "checksum mismatch");
	if (fgetc(io->f) != EOF)
		return corrupt(io, "trailing bytes after the checksum");
	if (ferror(io->f))
		return wn_error_errno(io->err, errno, io->name, "read failed");
	return table_reserve(idx, n, io->err);  /* builds the tables */
}

int wn_minhash_index_load(struct wn_minhash_index **out, FILE *f,
                          const char *name, struct wn_error *err)
{
	struct io io;
	struct wn_minhash_params p;
	struct wn_minhash_index *idx = NULL;
	char context[256];
	uint64_t n = 0, lbytes = 0;
	int sigs = 0;

	*out = NULL;
	WN_TRY(io_start(&io, f, name, err));
	int rc = load_header(&io, &p, &sigs, &n, &lbytes, context);
	if (rc >= 0)
		rc = index_create(&idx, &p, sigs, err);
	if (rc >= 0) {
		memcpy(idx->context, context, sizeof(context));
		rc = load_body(idx, &io, n, lbytes);
	}
	XXH3_freeState(io.st);
	if (rc < 0) {
		wn_minhash_index_free(idx);
		return rc;
	}
	*out = idx;
	return WN_OK;
}

int wn_minhash_index_merge(struct wn_minhash_index *dst,
                           const struct wn_minhash_index *src,
                           struct wn_error *err)
{
	if (dst == src)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "cannot merge an index into itself");
	WN_TRY(wn_minhash_index_check(src, &dst->p, dst->context, dst->sigs,
	                              NULL, err));
	for (uint64_t e = 0; e < src->n; e++) {
		const uint64_t *keys = entry_keys(src, e);
		const uint32_t *sig32 = src->sigs ? entry_sig(src, e) : NULL;
		struct wn_minhash_match m;
		const char *label;
		size_t len;
		index_lookup(dst, keys, dst->verify > 0 ? sig32 : NULL, &m);
		if (m.duplicate)
			continue;
		WN_TRY(wn_minhash_index_label(src, e, &label, &len, err));
		WN_TRY(index_insert(dst, keys, sig32, label, len, &m.entry, err));
	}
	return WN_OK;
}
