/*
 * digest_set.h - a set of 128-bit digests for exact deduplication
 * (src/dedup); not installed.
 *
 * An ordered linear-probing table (Amble and Knuth): a digest's home slot is
 * hi * cap / 2^64, which grows with the digest, and every probe run is kept
 * sorted, so
 *   - a lookup stops at the first larger digest, not only at an empty slot,
 *     which keeps misses (the common case: most documents are unique) short
 *     even at a high load;
 *   - the slots hold the digests in increasing order: walking them gives the
 *     sorted list that an index file stores, with no sort and no copy, and a
 *     sorted list is loaded by appending;
 *   - the table grows in place: realloc (which moves no pages for a large
 *     block), slide the digests to the end, and lay them out again from the
 *     front.  No second table exists at any moment, so memory is the table
 *     itself: 16 bytes per slot, with the load kept between 0.53 and 0.8
 *     (grown by 1.5x at 0.8): 20 to 30 bytes per digest.
 *
 * An optional 64-bit value travels with each digest (the stage keeps the
 * offset of the kept record's id there, for --mark): 8 more bytes per slot.
 *
 * The all-zero digest marks an empty slot; wn_dd_digest_of never returns it.
 * No allocation happens per insert except when the table grows.
 */
#ifndef WN_DEDUP_DIGEST_SET_H
#define WN_DEDUP_DIGEST_SET_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/status.h"

struct wn_dd_digest {
	uint64_t hi, lo;
};

/* XXH3-128 of p[0..n), never the all-zero digest. */
struct wn_dd_digest wn_dd_digest_of(const void *p, size_t n);

static inline int wn_dd_digest_cmp(struct wn_dd_digest a, struct wn_dd_digest b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	return a.lo < b.lo ? -1 : a.lo > b.lo;
}

struct wn_dd_set {
	struct wn_dd_digest *slot; /* total slots; {0,0} is empty */
	uint64_t *value;           /* parallel to slot, when with_values */
	size_t cap;                /* home slots are [0, cap) */
	size_t total;              /* cap plus room for runs past the last home */
	size_t n;                  /* digests stored */
	size_t tail;               /* one past the last non-empty slot */
	int with_values;
};

void wn_dd_set_init(struct wn_dd_set *s, int with_values);
void wn_dd_set_release(struct wn_dd_set *s);

/*
 * Add d.  Returns 0 when it was added (with value v), 1 when it was already
 * there (then *old, when not NULL, receives the stored value and nothing
 * changes), WN_ENOMEM when the table could not grow (nothing changes).
 */
int wn_dd_set_insert(struct wn_dd_set *s, struct wn_dd_digest d, uint64_t v, uint64_t *old);

/* 1 when d is in the set (*value, when not NULL, gets its value), else 0. */
int wn_dd_set_contains(const struct wn_dd_set *s, struct wn_dd_digest d, uint64_t *value);

/* Ask the CPU for d's home slot ahead of the insert that will need it. */
static inline void wn_dd_set_prefetch(const struct wn_dd_set *s, struct wn_dd_digest d)
{
	if (s->cap)
		__builtin_prefetch(&s->slot[(size_t)(((unsigned __int128)d.hi * s->cap) >> 64)]);
}

/* Make room for n digests in all, so that that many inserts do not grow. */
int wn_dd_set_reserve(struct wn_dd_set *s, size_t n);

/*
 * Append d, which must be larger than every digest in the set (the way a
 * sorted list is loaded).  WN_EDATA when it is not, WN_ENOMEM.
 */
int wn_dd_set_append(struct wn_dd_set *s, struct wn_dd_digest d, uint64_t v);

/* Bytes allocated by the set. */
size_t wn_dd_set_memory(const struct wn_dd_set *s);

/*
 * Visit the digests in increasing order: start with *pos = 0; returns 1 and
 * fills *d (and *v when not NULL) while there is one.
 */
int wn_dd_set_next(const struct wn_dd_set *s, size_t *pos, struct wn_dd_digest *d,
                   uint64_t *v);

#endif
