/*
 * bloom.c - a Bloom filter over 128-bit digests.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/bloom.h"

#define MAX_BITS (UINT64_C(1) << 40) /* 128 GiB of filter */

int wn_dd_bloom_init_raw(struct wn_dd_bloom *b, uint64_t m, uint32_t k, uint64_t expected,
                         double p)
{
	memset(b, 0, sizeof(*b));
	if (m == 0 || m % 64 || m > MAX_BITS || k == 0 || k > 64)
		return WN_EDATA;
	b->bits = calloc((size_t)(m / 64), sizeof(uint64_t));
	if (!b->bits)
		return WN_ENOMEM;
	b->m = m;
	b->k = k;
	b->expected = expected;
	b->fp_rate = p;
	return WN_OK;
}

int wn_dd_bloom_init(struct wn_dd_bloom *b, uint64_t expected, double p, struct wn_error *err)
{
	memset(b, 0, sizeof(*b));
	if (expected == 0)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "--bloom needs the number of records to expect (--expected N)");
	if (!(p > 0 && p <= 0.5))
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "--fp-rate must be above 0 and at most 0.5, not %g", p);
	double ln2 = log(2.0);
	double bits = ceil(-(double)expected * log(p) / (ln2 * ln2));
	if (bits > (double)MAX_BITS)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "a Bloom filter for %llu records at --fp-rate %g needs %.0f GiB",
		                    (unsigned long long)expected, p, bits / 8 / 1073741824.0);
	uint64_t m = ((uint64_t)bits + 63) / 64 * 64;
	double k = round((double)m / (double)expected * ln2);
	if (k < 1)
		k = 1;
	if (k > 64)
		k = 64;
	int st = wn_dd_bloom_init_raw(b, m, (uint32_t)k, expected, p);
	if (st == WN_ENOMEM)
		return wn_error_set(err, WN_ENOMEM, NULL, 0,
		                    "out of memory for a Bloom filter of %llu MiB",
		                    (unsigned long long)(m / 8 >> 20));
	return st;
}

void wn_dd_bloom_release(struct wn_dd_bloom *b)
{
	free(b->bits);
	memset(b, 0, sizeof(*b));
}

static inline uint64_t bit_of(uint64_t x, uint64_t m)
{
	return (uint64_t)(((unsigned __int128)x * m) >> 64);
}

int wn_dd_bloom_add(struct wn_dd_bloom *b, struct wn_dd_digest d)
{
	uint64_t x = d.lo, y = d.hi;
	int present = 1;
	for (uint32_t i = 0; i < b->k; i++) {
		uint64_t bit = bit_of(x, b->m);
		uint64_t mask = UINT64_C(1) << (bit % 64);
		if (!(b->bits[bit / 64] & mask)) {
			b->bits[bit / 64] |= mask;
			present = 0;
		}
		x += y;
		y += i;
	}
	if (!present)
		b->added++;
	return present;
}

int wn_dd_bloom_contains(const struct wn_dd_bloom *b, struct wn_dd_digest d)
{
	uint64_t x = d.lo, y = d.hi;
	for (uint32_t i = 0; i < b->k; i++) {
		uint64_t bit = bit_of(x, b->m);
		if (!(b->bits[bit / 64] & (UINT64_C(1) << (bit % 64))))
			return 0;
		x += y;
		y += i;
	}
	return 1;
}
