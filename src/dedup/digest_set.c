/*
 * digest_set.c - the ordered linear-probing set of 128-bit digests.
 *
 * Invariants (checked by the unit tests through wn_dd_set_next):
 *   - every digest sits at or after its home slot;
 *   - the non-empty slots, read in order, hold strictly increasing digests;
 *   - n digests are stored, n <= cap * 4 / 5 after every insert.
 * From these, a lookup of d that starts at home(d) meets every stored digest
 * smaller than d that sits at or after home(d) before reaching d's place.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "dedup/digest_set.h"

#define MIN_CAP ((size_t)1024)
/* Slots past the last home: runs that start near the end spill into them;
 * more are added when one reaches the end (no rehash is needed for that). */
#define SLACK ((size_t)64)

struct wn_dd_digest wn_dd_digest_of(const void *p, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	struct wn_dd_digest d = { h.high64, h.low64 };
	if ((d.hi | d.lo) == 0)
		d.lo = 1; /* the empty-slot marker; one digest in 2^128 moves */
	return d;
}

static inline size_t home_in(size_t cap, struct wn_dd_digest d)
{
	return (size_t)(((unsigned __int128)d.hi * cap) >> 64);
}

static inline int is_empty(struct wn_dd_digest d)
{
	return (d.hi | d.lo) == 0;
}

void wn_dd_set_init(struct wn_dd_set *s, int with_values)
{
	memset(s, 0, sizeof(*s));
	s->with_values = with_values;
}

void wn_dd_set_release(struct wn_dd_set *s)
{
	free(s->slot);
	free(s->value);
	wn_dd_set_init(s, s->with_values);
}

/* Give both arrays `total` slots, the new ones empty.  On failure the set is
 * unchanged (an array may have grown, unused). */
static int resize(struct wn_dd_set *s, size_t total)
{
	assert(total >= s->total);
	if (total > SIZE_MAX / sizeof(*s->slot))
		return WN_ENOMEM;
	struct wn_dd_digest *slot = realloc(s->slot, total * sizeof(*slot));
	if (!slot)
		return WN_ENOMEM;
	s->slot = slot;
	if (s->with_values) {
		uint64_t *value = realloc(s->value, total * sizeof(*value));
		if (!value)
			return WN_ENOMEM;
		s->value = value;
		memset(value + s->total, 0, (total - s->total) * sizeof(*value));
	}
	memset(slot + s->total, 0, (total - s->total) * sizeof(*slot));
	s->total = total;
	return WN_OK;
}

/* The slots the digests need when laid out for `cap` homes: the last
 * position plus one. */
static size_t layout_need(const struct wn_dd_set *s, size_t cap)
{
	size_t pos = 0;
	for (size_t i = 0; i < s->total; i++)
		if (!is_empty(s->slot[i])) {
			size_t h = home_in(cap, s->slot[i]);
			pos = (h > pos ? h : pos) + 1;
		}
	return pos;
}

/*
 * Re-lay the table for `cap` homes, in place.  The digests are slid to the
 * end of the grown arrays, then placed from the front, each at the larger of
 * its home and the slot after the previous one.  A digest never lands past
 * the slot it is read from, because the whole layout fits (need <= total):
 * for the k-th digest of n, its place is max over j <= k of home_j + (k - j)
 * and its source is total - n + k.
 */
static int relayout(struct wn_dd_set *s, size_t cap)
{
	size_t need = layout_need(s, cap);
	size_t total = (need > cap ? need : cap) + SLACK;
	if (total < s->total)
		total = s->total;
	WN_TRY(resize(s, total));
	size_t w = total;
	for (size_t r = total; r-- > 0;) {
		if (is_empty(s->slot[r]))
			continue;
		w--;
		if (w != r) {
			s->slot[w] = s->slot[r];
			if (s->with_values)
				s->value[w] = s->value[r];
		}
	}
	memset(s->slot, 0, w * sizeof(*s->slot));
	s->cap = cap;
	size_t pos = 0;
	for (size_t k = w; k < total; k++) {
		struct wn_dd_digest d = s->slot[k];
		size_t h = home_in(cap, d);
		size_t t = h > pos ? h : pos;
		assert(t <= k);
		if (t != k) {
			s->slot[t] = d;
			s->slot[k] = (struct wn_dd_digest){ 0, 0 };
			if (s->with_values)
				s->value[t] = s->value[k];
		}
		pos = t + 1;
	}
	s->tail = pos;
	return WN_OK;
}

static inline size_t limit_of(size_t cap)
{
	return cap / 5 * 4;
}

static int grow_for(struct wn_dd_set *s, size_t n)
{
	if (n <= limit_of(s->cap))
		return WN_OK;
	size_t cap = s->cap ? s->cap : MIN_CAP;
	while (n > limit_of(cap)) {
		if (cap > SIZE_MAX / 3)
			return WN_ENOMEM;
		cap = cap / 2 * 3;
	}
	return relayout(s, cap);
}

int wn_dd_set_reserve(struct wn_dd_set *s, size_t n)
{
	return grow_for(s, n);
}

/* 1 when d is stored (at *at), 0 when not (*at is where it would go). */
static int find(const struct wn_dd_set *s, struct wn_dd_digest d, size_t *at)
{
	size_t i = s->cap ? home_in(s->cap, d) : 0;
	for (; i < s->total; i++) {
		struct wn_dd_digest e = s->slot[i];
		if (is_empty(e))
			break;
		int c = wn_dd_digest_cmp(e, d);
		if (c == 0) {
			*at = i;
			return 1;
		}
		if (c > 0)
			break;
	}
	*at = i;
	return 0;
}

int wn_dd_set_contains(const struct wn_dd_set *s, struct wn_dd_digest d, uint64_t *value)
{
	size_t at;
	if (!find(s, d, &at))
		return 0;
	if (value)
		*value = s->with_values ? s->value[at] : 0;
	return 1;
}

/* Put d at slot i, shifting the run from i up to the next empty slot. */
static int place(struct wn_dd_set *s, size_t i, struct wn_dd_digest d, uint64_t v)
{
	size_t j = i;
	while (j < s->total && !is_empty(s->slot[j]))
		j++;
	if (j == s->total) {
		size_t more = s->total / 64 > SLACK ? s->total / 64 : SLACK;
		WN_TRY(resize(s, s->total + more));
	}
	memmove(s->slot + i + 1, s->slot + i, (j - i) * sizeof(*s->slot));
	s->slot[i] = d;
	if (s->with_values) {
		memmove(s->value + i + 1, s->value + i, (j - i) * sizeof(*s->value));
		s->value[i] = v;
	}
	s->n++;
	if (j + 1 > s->tail)
		s->tail = j + 1;
	return WN_OK;
}

int wn_dd_set_insert(struct wn_dd_set *s, struct wn_dd_digest d, uint64_t v, uint64_t *old)
{
	assert(!is_empty(d));
	size_t at;
	if (s->cap && find(s, d, &at)) {
		if (old)
			*old = s->with_values ? s->value[at] : 0;
		return 1;
	}
	if (s->n + 1 > limit_of(s->cap)) {
		WN_TRY(grow_for(s, s->n + 1));
		find(s, d, &at);
	}
	return place(s, at, d, v);
}

int wn_dd_set_append(struct wn_dd_set *s, struct wn_dd_digest d, uint64_t v)
{
	if (is_empty(d))
		return WN_EDATA;
	WN_TRY(grow_for(s, s->n + 1));
	/* the largest digest is the last non-empty slot */
	size_t last = s->tail;
	if (last > 0 && wn_dd_digest_cmp(s->slot[last - 1], d) >= 0)
		return WN_EDATA;
	size_t h = home_in(s->cap, d);
	return place(s, h > last ? h : last, d, v);
}

size_t wn_dd_set_memory(const struct wn_dd_set *s)
{
	return s->total * (sizeof(*s->slot) + (s->with_values ? sizeof(*s->value) : 0));
}

int wn_dd_set_next(const struct wn_dd_set *s, size_t *pos, struct wn_dd_digest *d,
                   uint64_t *v)
{
	for (size_t i = *pos; i < s->total; i++)
		if (!is_empty(s->slot[i])) {
			*d = s->slot[i];
			if (v)
				*v = s->with_values ? s->value[i] : 0;
			*pos = i + 1;
			return 1;
		}
	*pos = s->total;
	return 0;
}
