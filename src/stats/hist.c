/*
 * hist.c - log-linear histograms of lengths, their quantiles and the bins
 * that show them.
 *
 * A corpus can hold hundreds of millions of records, so lengths are not
 * kept: each goes into one of WN_HIST_BUCKETS counters.  Values below
 * WN_HIST_EXACT have a counter each; above, the bucket of v is found from
 * its leading bit e and the WN_HIST_SUB_BITS bits after it, so buckets in
 * [2^e, 2^(e+1)) are 2^(e - WN_HIST_SUB_BITS) wide.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "winnow/stats.h"

int wn_hist_init(struct wn_hist *h)
{
	memset(h, 0, sizeof(*h));
	return WN_OK;
}

void wn_hist_release(struct wn_hist *h)
{
	free(h->bucket);
	memset(h, 0, sizeof(*h));
}

void wn_hist_reset(struct wn_hist *h)
{
	/* only the buckets up to max's were ever touched */
	if (h->count)
		memset(h->bucket, 0, (wn_hist_bucket(h->max) + 1) * sizeof(*h->bucket));
	h->count = h->sum = h->min = h->max = 0;
}

/* Make room for bucket i: whole powers of two at a time. */
static int reserve(struct wn_hist *h, size_t i)
{
	if (i < h->nbuckets)
		return WN_OK;
	size_t n = i < WN_HIST_EXACT ? WN_HIST_EXACT :
	           WN_HIST_EXACT + ((i - WN_HIST_EXACT) / WN_HIST_SUB + 1) * WN_HIST_SUB;
	uint64_t *b = realloc(h->bucket, n * sizeof(*b));
	if (!b)
		return WN_ENOMEM;
	memset(b + h->nbuckets, 0, (n - h->nbuckets) * sizeof(*b));
	h->bucket = b;
	h->nbuckets = n;
	return WN_OK;
}

size_t wn_hist_bucket(uint64_t v)
{
	if (v < WN_HIST_EXACT)
		return (size_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* > WN_HIST_SUB_BITS */
	unsigned shift = e - WN_HIST_SUB_BITS;
	return WN_HIST_EXACT + (size_t)(e - WN_HIST_SUB_BITS - 1) * WN_HIST_SUB +
	       (size_t)((v >> shift) - WN_HIST_SUB);
}

/* The exponent above which bucket i's values are cut (0 for exact ones). */
static unsigned bucket_shift(size_t i)
{
	if (i < WN_HIST_EXACT)
		return 0;
	return (unsigned)((i - WN_HIST_EXACT) / WN_HIST_SUB) + 1;
}

uint64_t wn_hist_bucket_low(size_t i)
{
	if (i < WN_HIST_EXACT)
		return i;
	size_t sub = (i - WN_HIST_EXACT) % WN_HIST_SUB;
	return (uint64_t)(WN_HIST_SUB + sub) << bucket_shift(i);
}

uint64_t wn_hist_bucket_high(size_t i)
{
	return wn_hist_bucket_low(i) + ((uint64_t)1 << bucket_shift(i)) - 1;
}

int wn_hist_add(struct wn_hist *h, uint64_t v)
{
	size_t i = wn_hist_bucket(v);
	WN_TRY(reserve(h, i));
	if (!h->count || v < h->min)
		h->min = v;
	if (!h->count || v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
	h->bucket[i]++;
	return WN_OK;
}

int wn_hist_merge(struct wn_hist *dst, const struct wn_hist *src)
{
	if (!src->count)
		return WN_OK;
	size_t lo = wn_hist_bucket(src->min), hi = wn_hist_bucket(src->max);
	WN_TRY(reserve(dst, hi));
	for (size_t i = lo; i <= hi; i++)
		dst->bucket[i] += src->bucket[i];
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (!dst->count || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	return WN_OK;
}

double wn_hist_mean(const struct wn_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0;
}

/* x[k], the k-th smallest value (0-based, k < count): exact at the ends
 * and in exact buckets, else the middle of its bucket within [min, max]. */
static double order_stat(const struct wn_hist *h, uint64_t k)
{
	if (k == 0)
		return (double)h->min;
	if (k + 1 >= h->count)
		return (double)h->max;
	uint64_t seen = 0;
	size_t i = wn_hist_bucket(h->min), end = wn_hist_bucket(h->max);
	for (; i < end; i++) {
		seen += h->bucket[i];
		if (seen > k)
			break;
	}
	uint64_t lo = wn_hist_bucket_low(i), hi = wn_hist_bucket_high(i);
	if (lo < h->min)
		lo = h->min;
	if (hi > h->max)
		hi = h->max;
	/* halves first: lo + hi may not fit in 64 bits */
	return (double)lo + ((double)hi - (double)lo) / 2;
}

double wn_hist_quantile(const struct wn_hist *h, double q)
{
	if (!h->count)
		return 0;
	if (!(q > 0))
		return (double)h->min;
	if (q >= 1)
		return (double)h->max;
	double pos = (double)(h->count - 1) * q;
	uint64_t k = (uint64_t)pos;
	double f = pos - (double)k;
	double a = order_stat(h, k);
	if (f == 0 || k + 1 >= h->count)
		return a;
	double b = order_stat(h, k + 1);
	return a + f * (b - a);
}

/* ---- bins -------------------------------------------------------------------- */

/* The scales of wn_hist_bins, finest first: edges per power of two (4, 2,
 * 1), then powers of two apart (2, 4, 8, 16, 32 for 4, 16, 256, 2^16,
 * 2^32). */
#define NSCALES 8

/* The smallest edge of this scale above x, or 0 when it would pass
 * UINT64_MAX.  0 and 1 are edges of every scale. */
static uint64_t next_edge(uint64_t x, int scale)
{
	if (x == 0)
		return 1;
	unsigned e = 63u - (unsigned)__builtin_clzll(x);
	if (scale <= 2) {
		unsigned per_bits = 2u - (unsigned)scale; /* log2 of the edges per octave */
		if (e < per_bits)
			return x + 1;
		uint64_t step = (uint64_t)1 << (e - per_bits);
		uint64_t next = (x / step + 1) * step;
		return next > x ? next : 0;
	}
	unsigned stride = 1u << (scale - 2); /* octaves between edges */
	unsigned ne = (e / stride + 1) * stride;
	return ne < 64 ? (uint64_t)1 << ne : 0;
}

/* The largest edge of this scale at or below x. */
static uint64_t edge_below(uint64_t x, int scale)
{
	uint64_t e = 0;
	for (;;) {
		uint64_t n = next_edge(e, scale);
		if (n == 0 || n > x)
			return e;
		e = n;
	}
}

size_t wn_hist_bins(const struct wn_hist *h, size_t maxbins, struct wn_hist_bin *out)
{
	if (!h->count)
		return 0;
	if (maxbins < 4)
		maxbins = 4;
	if (maxbins > WN_HIST_MAX_BINS)
		maxbins = WN_HIST_MAX_BINS;
	int scale = 0;
	size_t n = 0;
	for (; scale < NSCALES; scale++) {
		/* bins from the one holding min to the one holding max */
		n = 1;
		uint64_t e = edge_below(h->min, scale);
		for (;;) {
			e = next_edge(e, scale);
			if (e == 0 || e > h->max)
				break;
			n++;
		}
		if (n <= maxbins)
			break;
	}
	assert(scale < NSCALES && n <= maxbins);
	uint64_t e = edge_below(h->min, scale);
	for (size_t b = 0; b < n; b++) {
		out[b].lo = e;
		out[b].hi = e = next_edge(e, scale);
		out[b].count = 0;
	}
	/* every bucket lies inside one bin: edges are bucket boundaries */
	size_t b = 0;
	size_t end = wn_hist_bucket(h->max);
	for (size_t i = wn_hist_bucket(h->min); i <= end; i++) {
		if (!h->bucket[i])
			continue;
		uint64_t lo = wn_hist_bucket_low(i);
		while (out[b].hi && lo >= out[b].hi)
			b++;
		out[b].count += h->bucket[i];
	}
	return n;
}
