/*
 * utf8.c - strict UTF-8 validation with the rules jansson applies to its
 * input: no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF.
 *
 * Runs of ASCII are skipped 16 bytes at a time; multi-byte sequences are
 * checked one at a time, using the well-formed byte ranges of Unicode
 * Table 3-7 so that each sequence costs a few compares and no decoding.
 */
#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "text/text.h"
#include "winnow/json.h"

/* Length of the run of ASCII bytes at the start of s[0..n). */
static inline size_t ascii_run(const unsigned char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	while (n - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(s + i));
		unsigned m = (unsigned)_mm_movemask_epi8(v);
		if (m)
			return i + (size_t)__builtin_ctz(m);
		i += 16;
	}
#else
	while (n - i >= 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		w &= UINT64_C(0x8080808080808080);
		if (w) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)__builtin_ctzll(w) / 8;
#else
			return i + (size_t)__builtin_clzll(w) / 8;
#endif
		}
		i += 8;
	}
#endif
	while (i < n && s[i] < 0x80)
		i++;
	return i;
}

/* Length of the well-formed sequence at s[0..n), 0 when it is not one. */
static inline size_t seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0; /* continuation byte, or overlong C0/C1 lead */
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (n < 3)
			return 0;
		unsigned lo = 0x80, hi = 0xBF;
		if (c == 0xE0)
			lo = 0xA0; /* below is overlong */
		else if (c == 0xED)
			hi = 0x9F; /* above encodes a surrogate */
		if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4)
			return 0;
		unsigned lo = 0x80, hi = 0xBF;
		if (c == 0xF0)
			lo = 0x90; /* below is overlong */
		else if (c == 0xF4)
			hi = 0x8F; /* above is past U+10FFFF */
		if (s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* The portable validator: ASCII runs by vector (or word), multi-byte
 * sequences one by one. */
static size_t valid_prefix_scalar(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		i += ascii_run(s + i, n - i);
		/* Text in non-Latin scripts is mostly multi-byte with sparse
		 * ASCII (spaces), so stay here until an ASCII byte shows up
		 * rather than paying for a vector load per character. */
		while (i < n && s[i] >= 0x80) {
			size_t k = seq_len(s + i, n - i);
			if (!k)
				return i;
			i += k;
		}
	}
	return n;
}

#ifdef WN_TEXT_AVX2
#include <immintrin.h>

/*
 * AVX2 validation of 32 bytes at a time, after Keiser and Lemire,
 * "Validating UTF-8 in less than one instruction per byte" (2021): three
 * 16-entry table lookups on the nibbles of each byte and of the byte before
 * it classify every two-byte window, and the bytes two and three places
 * back tell where continuation bytes are required.  Any error sets bits in
 * an accumulator; the exact position is then found by the scalar code.
 */

/* Error classes of a two-byte window (the names say what is wrong). */
#define TOO_SHORT (1 << 0)  /* lead, then a non-continuation */
#define TOO_LONG (1 << 1)   /* ASCII, then a continuation */
#define OVERLONG_3 (1 << 2) /* E0 80..9F */
#define TOO_LARGE (1 << 3)  /* F4 90..BF, F5..FF */
#define SURROGATE (1 << 4)  /* ED A0..BF */
#define OVERLONG_2 (1 << 5) /* C0, C1 */
#define TOO_LARGE_1000 (1 << 6)
#define OVERLONG_4 (1 << 6) /* F0 80..8F */
#define TWO_CONTS (1 << 7)  /* two continuations (allowed only after a lead) */
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS)

#define TABLE16(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)               \
	_mm256_setr_epi8(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p,       \
			 a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p)

__attribute__((target("avx2")))
static inline __m256i prev_bytes(__m256i in, __m256i prev, int k)
{
	/* in shifted right by k bytes across the lane boundary, with the last
	 * k bytes of prev coming in at the front */
	__m256i mid = _mm256_permute2x128_si256(prev, in, 0x21);
	switch (k) {
	case 1: return _mm256_alignr_epi8(in, mid, 15);
	case 2: return _mm256_alignr_epi8(in, mid, 14);
	default: return _mm256_alignr_epi8(in, mid, 13);
	}
}

__attribute__((target("avx2")))
static inline __m256i block_errors(__m256i in, __m256i prev)
{
	const __m256i nib = _mm256_set1_epi8(0x0F);
	__m256i prev1 = prev_bytes(in, prev, 1);

	__m256i byte_1_high = _mm256_shuffle_epi8(
		TABLE16(TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
			TOO_LONG, TOO_LONG, TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
			TOO_SHORT | OVERLONG_2, TOO_SHORT,
			TOO_SHORT | OVERLONG_3 | SURROGATE,
			TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4),
		_mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib));
	__m256i byte_1_low = _mm256_shuffle_epi8(
		TABLE16(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4, CARRY | OVERLONG_2,
			CARRY, CARRY, CARRY | TOO_LARGE, CARRY | TOO_LARGE | TOO_LARGE_1000,
			CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
			CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
			CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000,
			CARRY | TOO_LARGE | TOO_LARGE_1000,
			CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE,
			CARRY | TOO_LARGE | TOO_LARGE_1000, CARRY | TOO_LARGE | TOO_LARGE_1000),
		_mm256_and_si256(prev1, nib));
	__m256i byte_2_high = _mm256_shuffle_epi8(
		TABLE16(TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
			TOO_SHORT, TOO_SHORT,
			TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 |
				OVERLONG_4,
			TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE,
			TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
			TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE,
			TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT),
		_mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
	__m256i special = _mm256_and_si256(_mm256_and_si256(byte_1_high, byte_1_low),
					   byte_2_high);

	/* Third and fourth bytes of 3- and 4-byte sequences must be
	 * continuations: that is where TWO_CONTS (bit 7) is expected. */
	__m256i third = _mm256_subs_epu8(prev_bytes(in, prev, 2),
					 _mm256_set1_epi8((char)(0xE0 - 0x80)));
	__m256i fourth = _mm256_subs_epu8(prev_bytes(in, prev, 3),
					  _mm256_set1_epi8((char)(0xF0 - 0x80)));
	__m256i must23 = _mm256_and_si256(_mm256_or_si256(third, fourth),
					  _mm256_set1_epi8((char)0x80));
	return _mm256_xor_si256(must23, special);
}

__attribute__((target("avx2")))
static size_t valid_prefix_avx2(const unsigned char *s, size_t n)
{
	__m256i prev = _mm256_setzero_si256();
	__m256i err = _mm256_setzero_si256();
	/* Non-zero where the block ends inside a sequence: the last byte is a
	 * lead of 2+, the one before of 3+, the one before that of 4. */
	__m256i incomplete = _mm256_setzero_si256();
	const __m256i max_tail = _mm256_setr_epi8(
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
		(char)(0xF0 - 1), (char)(0xE0 - 1), (char)(0xC0 - 1));
	size_t i = 0;

	for (; n - i >= 32; i += 32) {
		__m256i in = _mm256_loadu_si256((const __m256i *)(s + i));
		if (!_mm256_movemask_epi8(in)) {
			err = _mm256_or_si256(err, incomplete);
			incomplete = _mm256_setzero_si256();
		} else {
			err = _mm256_or_si256(err, block_errors(in, prev));
			incomplete = _mm256_subs_epu8(in, max_tail);
		}
		prev = in;
		if (!_mm256_testz_si256(err, err))
			break;
	}
	/* Blocks before i are valid except maybe for a sequence running into
	 * block i; restart the exact check from its lead byte. */
	size_t back = 0;
	while (back < 3 && back < i && (s[i - back - 1] & 0xC0) == 0x80)
		back++;
	if (back < i && s[i - back - 1] >= 0xC0)
		back++;
	return i - back + valid_prefix_scalar(s + i - back, n - i + back);
}

int wn_text_have_avx2(void)
{
	static int cached = -1;
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (v < 0) {
		__builtin_cpu_init();
		v = __builtin_cpu_supports("avx2") ? 1 : 0;
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}
#endif

size_t wn_utf8_valid_prefix(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

#ifdef WN_TEXT_AVX2
	if (n >= 64 && wn_text_have_avx2())
		return valid_prefix_avx2(s, n);
#endif
	return valid_prefix_scalar(s, n);
}
