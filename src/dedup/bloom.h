/*
 * bloom.h - a Bloom filter over 128-bit digests, the bounded-memory set of
 * `winnow dedup --bloom` (src/dedup); not installed.
 *
 * Sized for `expected` insertions at false-positive rate p:
 *     m = ceil(-expected * ln p / (ln 2)^2) bits, rounded up to 64,
 *     k = round(m / expected * ln 2) probes, at least 1;
 * probe i of digest (hi, lo) is bit  x_i * m / 2^64  (the high half of a
 * 128-bit product), with x_0 = lo, then x += y and y += i (enhanced double
 * hashing, Dillinger and Manolios), y starting at hi.  A false positive
 * drops a unique document, so p is the share of unique documents lost once
 * `expected` have been seen (more after that: the filter does not grow).
 */
#ifndef WN_DEDUP_BLOOM_H
#define WN_DEDUP_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/digest_set.h"
#include "winnow/status.h"

struct wn_dd_bloom {
	uint64_t *bits;
	uint64_t m;        /* bits */
	uint32_t k;        /* probes per digest */
	uint64_t expected; /* what it was sized for */
	double fp_rate;
	uint64_t added;    /* inserts that set at least one bit */
};

/* Size the filter (all bits clear).  WN_EUSAGE for expected == 0 or p
 * outside (0, 0.5], or a size over 2^40 bits; WN_ENOMEM. */
int wn_dd_bloom_init(struct wn_dd_bloom *b, uint64_t expected, double p, struct wn_error *err);

/* Make a filter of exactly m bits and k probes (loading a saved one). */
int wn_dd_bloom_init_raw(struct wn_dd_bloom *b, uint64_t m, uint32_t k, uint64_t expected,
                         double p);

void wn_dd_bloom_release(struct wn_dd_bloom *b);

/* Add d: 1 when every bit was already set (d was probably seen), else 0. */
int wn_dd_bloom_add(struct wn_dd_bloom *b, struct wn_dd_digest d);

/* 1 when every bit of d is set. */
int wn_dd_bloom_contains(const struct wn_dd_bloom *b, struct wn_dd_digest d);

/* Bytes of the bit array. */
static inline size_t wn_dd_bloom_memory(const struct wn_dd_bloom *b)
{
	return (size_t)(b->m / 8);
}

#endif
