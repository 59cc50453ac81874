/*
 * bpe.c - the merge loop: repeatedly merge the adjacent pair with the
 * lowest rank, the leftmost one on ties (tiktoken's _byte_pair_merge and
 * Hugging Face's Word::merge_all both amount to this).
 *
 * Three implementations with identical results: a quadratic scan over a
 * small array, fastest for the short pieces of ordinary text; a heap of
 * (rank, position) over a linked list; and for long pieces (a document
 * without spaces can be one piece of megabytes) buckets of positions per
 * rank, which replace most heap operations by appends and sequential reads.
 * Long pieces mostly take backtrack.c instead, which gives the same ids
 * without merging; these serve the pieces and vocabularies it declines, and
 * as its reference in the tests.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "text/text.h"
#include "tok/tok.h"

#ifdef WN_TEXT_AVX2
#include <immintrin.h>
#endif

/*
 * The pair table does not fit in the cache.  Most pairs looked up do not
 * merge, and the filter says so from the cache; those that do are mostly
 * the same few thousand, kept in a small direct-mapped cache.
 */
static inline void pair_of(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s, uint32_t a,
                           uint32_t b, uint32_t *rank, uint32_t *id)
{
	if (!wn_tok_pair_maybe(t, a, b)) {
		*rank = *id = WN_TOK_NONE;
		return;
	}
	uint64_t k = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
	struct wn_tok_pair *c = &s->pcache[k >> (64 - WN_TOK_PCACHE_BITS)];
	if (c->a != a || c->b != b) {
		const struct wn_tok_pair *p = wn_tok_pair_get(t, a, b);
		c->a = a;
		c->b = b;
		c->rank = p ? p->rank : WN_TOK_NONE;
		c->id = p ? p->id : WN_TOK_NONE;
	}
	*rank = c->rank;
	*id = c->id;
}

/* Start loading the table slot of a pair that will be looked up soon. */
static inline void prefetch_pair(const struct wn_tokenizer *t, uint32_t a, uint32_t b)
{
	uint64_t k = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
	__builtin_prefetch(&t->pairs[(uint32_t)(k >> 32) & t->pair_mask]);
}

int wn_tok_bpe_scratch_init(struct wn_tok_bpe_scratch *s)
{
	memset(s, 0, sizeof(*s));
	s->pcache = malloc(sizeof(*s->pcache) << WN_TOK_PCACHE_BITS);
	if (!s->pcache)
		return WN_ENOMEM;
	memset(s->pcache, 0xff, sizeof(*s->pcache) << WN_TOK_PCACHE_BITS);
	return WN_OK;
}

/* The pairs of the initial symbols: from the byte table when the symbols
 * are those of the bytes (always for tiktoken; for Hugging Face unless a
 * byte is unknown). */
static inline void initial_pair(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                                const uint32_t *sym, const unsigned char *bytes, size_t i,
                                uint32_t *rank, uint32_t *id)
{
	if (bytes) {
		unsigned k = (unsigned)bytes[i] << 8 | bytes[i + 1];
		*rank = t->byte_pair_rank[k];
		*id = t->byte_pair_id[k];
	} else {
		pair_of(t, s, sym[i], sym[i + 1], rank, id);
	}
}

#define SMALL_MAX 256

/* The first position of the smallest of rank[0..n8), n8 a multiple of 8;
 * *best is set to that rank. */
static inline size_t min_scalar(const uint32_t *rank, size_t n8, uint32_t *best)
{
	uint32_t b = WN_TOK_NONE;
	for (size_t i = 0; i < n8; i++)
		b = rank[i] < b ? rank[i] : b;
	size_t i = 0;
	while (i < n8 && rank[i] != b)
		i++;
	*best = b;
	return i;
}

#ifdef WN_TEXT_AVX2
__attribute__((target("avx2"))) static size_t min_avx2(const uint32_t *rank, size_t n8,
                                                       uint32_t *best)
{
	__m256i m = _mm256_set1_epi32(-1);
	for (size_t i = 0; i < n8; i += 8)
		m = _mm256_min_epu32(m, _mm256_loadu_si256((const __m256i *)(rank + i)));
	__m128i x = _mm_min_epu32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
	x = _mm_min_epu32(x, _mm_shuffle_epi32(x, 0x4e));
	x = _mm_min_epu32(x, _mm_shuffle_epi32(x, 0xb1));
	uint32_t b = (uint32_t)_mm_cvtsi128_si32(x);
	*best = b;
	__m256i v = _mm256_set1_epi32((int)b);
	for (size_t i = 0; i < n8; i += 8) {
		__m256i eq = _mm256_cmpeq_epi32(v, _mm256_loadu_si256((const __m256i *)(rank + i)));
		unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(eq));
		if (mask)
			return i + (size_t)__builtin_ctz(mask);
	}
	return n8;
}
#endif

/*
 * Quadratic, but with no data movement: merged-away symbols stay in place
 * with no rank, links skip them, and each step takes the minimum over the
 * whole array (a branch-free scan) and then its first position.
 */
size_t wn_tok_merge_small(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s, uint32_t *sym,
                          size_t n, const unsigned char *bytes)
{
	uint32_t rank[SMALL_MAX], nid[SMALL_MAX];
	uint16_t next[SMALL_MAX], prev[SMALL_MAX];
	assert(n <= SMALL_MAX);
	if (n < 2)
		return n;
	for (size_t i = 0; i + 1 < n; i++)
		initial_pair(t, s, sym, bytes, i, &rank[i], &nid[i]);
	size_t n8 = (n + 7) & ~(size_t)7;
	for (size_t i = n - 1; i < n8; i++)
		rank[i] = WN_TOK_NONE;
#ifdef WN_TEXT_AVX2
	int avx2 = wn_text_have_avx2();
#endif
	for (size_t i = 0; i < n; i++) {
		next[i] = (uint16_t)(i + 1);
		prev[i] = (uint16_t)(i - 1);
	}
	size_t m = n;
	for (;;) {
		uint32_t best;
		size_t i;
#ifdef WN_TEXT_AVX2
		if (avx2)
			i = min_avx2(rank, n8, &best);
		else
#endif
			i = min_scalar(rank, n8, &best);
		if (best == WN_TOK_NONE)
			break;
		size_t j = next[i], k = j + 1 < n ? next[j] : n;
		sym[i] = nid[i];
		rank[j] = WN_TOK_NONE;
		m--;
		if (k < n) {
			next[i] = (uint16_t)k;
			prev[k] = (uint16_t)i;
			pair_of(t, s, sym[i], sym[k], &rank[i], &nid[i]);
		} else {
			next[i] = (uint16_t)n;
			rank[i] = WN_TOK_NONE;
		}
		if (i > 0) {
			size_t p = prev[i];
			pair_of(t, s, sym[p], sym[i], &rank[p], &nid[p]);
		}
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i = next[i])
		sym[o++] = sym[i];
	assert(o == m);
	return m;
}

void wn_tok_bpe_scratch_release(struct wn_tok_bpe_scratch *s)
{
	free(s->node);
	free(s->heap);
	for (uint32_t i = 0; i < s->bcap; i++)
		free(s->buckets[i].v);
	free(s->buckets);
	free(s->bucket_of);
	for (int i = 0; i < 3; i++)
		free(s->bits[i]);
	free(s->tmp);
	free(s->init);
	free(s->cur);
	free(s->ver);
	free(s->pcache);
	wn_tok_bt_scratch_free(s->bt);
	memset(s, 0, sizeof(*s));
}

static int reserve(struct wn_tok_bpe_scratch *s, size_t n)
{
	if (n <= s->cap)
		return WN_OK;
	size_t cap = s->cap ? s->cap : 1024;
	while (cap < n)
		cap *= 2;
	struct wn_tok_node *p = realloc(s->node, cap * sizeof(*p));
	if (!p)
		return WN_ENOMEM;
	s->node = p;
	s->cap = cap;
	return WN_OK;
}

/* A 4-ary min-heap of (rank << 32 | position): the order is rank, then
 * position, which is exactly the merge order. */
static inline void heap_up(uint64_t *h, size_t i)
{
	uint64_t x = h[i];
	while (i > 0) {
		size_t p = (i - 1) / 4;
		if (h[p] <= x)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = x;
}

static inline void heap_down(uint64_t *h, size_t n, size_t i)
{
	uint64_t x = h[i];
	for (;;) {
		size_t c = 4 * i + 1;
		if (c >= n)
			break;
		size_t m = c;
		size_t end = c + 4 < n ? c + 4 : n;
		for (size_t k = c + 1; k < end; k++)
			if (h[k] < h[m])
				m = k;
		if (h[m] >= x)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = x;
}

static int heap_push(struct wn_tok_bpe_scratch *s, size_t *n, uint64_t key)
{
	if (*n == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 1024;
		uint64_t *h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return WN_ENOMEM;
		s->heap = h;
		s->heap_cap = cap;
	}
	s->heap[*n] = key;
	heap_up(s->heap, (*n)++);
	return WN_OK;
}

/* The linked list over the symbols and the pair at each position. */
static int link_init(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                     const uint32_t *sym, size_t n, const unsigned char *bytes)
{
	WN_TRY(reserve(s, n));
	struct wn_tok_node *nd = s->node;
	uint32_t dummy;
	for (size_t i = 0; i < n; i++) {
		nd[i].sym = sym[i];
		nd[i].next = (uint32_t)(i + 1);
		nd[i].prev = i ? (uint32_t)(i - 1) : WN_TOK_NONE;
	}
	for (size_t i = 0; i + 1 < n; i++)
		initial_pair(t, s, sym, bytes, i, &nd[i].rank, &dummy);
	nd[n - 1].rank = WN_TOK_NONE;
	return WN_OK;
}

static size_t link_collect(const struct wn_tok_bpe_scratch *s, uint32_t *sym, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i = s->node[i].next)
		sym[o++] = s->node[i].sym;
	return o;
}

/*
 * Merge at position i.  The positions whose pairs are new come back in
 * *q1 (the pair at i) and *q2 (the pair before i), WN_TOK_NONE when there
 * is no such pair.
 *
 * A queued entry is stale when the pair at its position has changed since
 * it was queued.  Symbols only grow, so a changed pair covers more bytes
 * and, being another token or merge, has another rank: comparing the
 * entry's rank with the position's current one detects it.
 */
static inline void merge_at(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                            struct wn_tok_node *nd, size_t n, uint32_t i, uint32_t *q1,
                            uint32_t *q2, uint8_t *ver)
{
	struct wn_tok_node *a = &nd[i], *b = &nd[a->next];
	uint32_t k = b->next, dummy;
	if (ver) {
		ver[i]++;
		ver[a->next]++;
		if (a->prev != WN_TOK_NONE)
			ver[a->prev]++;
	}
	a->sym = wn_tok_rank_id(t, a->rank);
	b->rank = WN_TOK_NONE; /* b is gone */
	a->next = k;
	*q1 = *q2 = WN_TOK_NONE;
	if (k < n) {
		nd[k].prev = i;
		pair_of(t, s, a->sym, nd[k].sym, &a->rank, &dummy);
		if (a->rank != WN_TOK_NONE)
			*q1 = i;
	} else {
		a->rank = WN_TOK_NONE;
	}
	uint32_t p = a->prev;
	if (p != WN_TOK_NONE) {
		pair_of(t, s, nd[p].sym, a->sym, &nd[p].rank, &dummy);
		if (nd[p].rank != WN_TOK_NONE)
			*q2 = p;
	}
}

static int heap_reserve(struct wn_tok_bpe_scratch *s, size_t n)
{
	if (s->heap_cap >= n)
		return WN_OK;
	uint64_t *h = realloc(s->heap, n * sizeof(*h));
	if (!h)
		return WN_ENOMEM;
	s->heap = h;
	s->heap_cap = n;
	return WN_OK;
}

int wn_tok_merge_heap(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s, uint32_t *sym,
                      size_t *np, const unsigned char *bytes)
{
	size_t n = *np;
	if (n < 2)
		return WN_OK;
	if (n >= UINT32_MAX)
		return WN_ETOOBIG;
	WN_TRY(link_init(t, s, sym, n, bytes));
	WN_TRY(heap_reserve(s, n));
	struct wn_tok_node *nd = s->node;
	size_t hn = 0;
	for (size_t i = 0; i + 1 < n; i++)
		if (nd[i].rank != WN_TOK_NONE)
			s->heap[hn++] = (uint64_t)nd[i].rank << 32 | i;
	for (size_t i = hn / 4 + 1; i-- > 0;)
		if (i < hn)
			heap_down(s->heap, hn, i);
	while (hn) {
		uint64_t top = s->heap[0];
		s->heap[0] = s->heap[--hn];
		if (hn)
			heap_down(s->heap, hn, 0);
		uint32_t r = (uint32_t)(top >> 32), i = (uint32_t)top;
		if (nd[i].rank != r)
			continue;
		uint32_t q1, q2;
		merge_at(t, s, nd, n, i, &q1, &q2, NULL);
		if (q1 != WN_TOK_NONE)
			WN_TRY(heap_push(s, &hn, (uint64_t)nd[q1].rank << 32 | q1));
		if (q2 != WN_TOK_NONE)
			WN_TRY(heap_push(s, &hn, (uint64_t)nd[q2].rank << 32 | q2));
	}
	*np = link_collect(s, sym, n);
	return WN_OK;
}

/*
 * The bucket queue.  Ranks are taken in increasing order; the current
 * rank's positions are sorted and walked in order.  A merge can create a
 * pair whose rank is not above the current one (ranks are not monotone in
 * general, though nearly so in trained vocabularies): such entries go to a
 * small heap, and the next merge is the smaller of its top and the current
 * bucket's next position.  Entries of higher ranks wait in their buckets.
 */
static int buckets_init(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s)
{
	if (s->bucket_of && s->nranks == t->n_ranks)
		return WN_OK;
	uint32_t nr = t->n_ranks ? t->n_ranks : 1;
	size_t w0 = (nr + 63) / 64, w1 = (w0 + 63) / 64, w2 = (w1 + 63) / 64;
	free(s->bucket_of);
	s->bucket_of = malloc((size_t)nr * sizeof(uint32_t));
	size_t w[3] = { w0, w1, w2 };
	for (int i = 0; i < 3; i++) {
		free(s->bits[i]);
		s->bits[i] = calloc(w[i], sizeof(uint64_t));
	}
	if (!s->bucket_of || !s->bits[0] || !s->bits[1] || !s->bits[2]) {
		free(s->bucket_of);
		s->bucket_of = NULL;
		return WN_ENOMEM;
	}
	memset(s->bucket_of, 0xff, (size_t)nr * sizeof(uint32_t));
	s->nranks = nr;
	return WN_OK;
}

static inline void bits_set(struct wn_tok_bpe_scratch *s, uint32_t r)
{
	s->bits[0][r >> 6] |= 1ull << (r & 63);
	s->bits[1][r >> 12] |= 1ull << ((r >> 6) & 63);
	s->bits[2][r >> 18] |= 1ull << ((r >> 12) & 63);
}

static inline void bits_clear(struct wn_tok_bpe_scratch *s, uint32_t r)
{
	if ((s->bits[0][r >> 6] &= ~(1ull << (r & 63))) != 0)
		return;
	if ((s->bits[1][r >> 12] &= ~(1ull << ((r >> 6) & 63))) != 0)
		return;
	s->bits[2][r >> 18] &= ~(1ull << ((r >> 12) & 63));
}

static inline uint32_t bits_min(const struct wn_tok_bpe_scratch *s)
{
	size_t w2 = ((size_t)s->nranks + (1u << 18) - 1) >> 18;
	for (size_t i = 0; i < w2; i++) {
		if (!s->bits[2][i])
			continue;
		size_t i1 = i * 64 + (size_t)__builtin_ctzll(s->bits[2][i]);
		size_t i0 = i1 * 64 + (size_t)__builtin_ctzll(s->bits[1][i1]);
		return (uint32_t)(i0 * 64 + (size_t)__builtin_ctzll(s->bits[0][i0]));
	}
	return WN_TOK_NONE;
}

/*
 * Most queued entries go stale before their turn (a neighbour merged
 * first), and reading a far node to find out costs a cache miss.  So
 * every position has a one-byte version, bumped whenever its pair changes,
 * and an entry carries the version it was queued with: (position << 8 |
 * version).  The versions fit in the cache; a matching entry is still
 * checked against the node's rank (the version may have wrapped).
 */
#define ENTRY(pos, ver) ((uint32_t)(pos) << 8 | (ver))
#define ENTRY_POS(e) ((e) >> 8)
#define ENTRY_VER(e) ((uint8_t)(e))
#define BUCKETS_MAX_N (1u << 24)

static int grow_u32(uint32_t **p, size_t *cap, size_t n)
{
	if (n <= *cap)
		return WN_OK;
	size_t c = *cap ? *cap : 1024;
	while (c < n)
		c *= 2;
	uint32_t *q = realloc(*p, c * sizeof(*q));
	if (!q)
		return WN_ENOMEM;
	*p = q;
	*cap = c;
	return WN_OK;
}

static int new_bucket(struct wn_tok_bpe_scratch *s, uint32_t r, uint32_t *out)
{
	if (s->nb == s->bcap) {
		uint32_t cap = s->bcap ? s->bcap * 2 : 256;
		struct wn_tok_bucket *nbk = realloc(s->buckets, cap * sizeof(*nbk));
		if (!nbk)
			return WN_ENOMEM;
		memset(nbk + s->bcap, 0, (cap - s->bcap) * sizeof(*nbk));
		s->buckets = nbk;
		s->bcap = cap;
	}
	uint32_t b = s->nb++;
	s->bucket_of[r] = b;
	struct wn_tok_bucket *bk = &s->buckets[b];
	bk->init_off = bk->init_n = bk->n = 0;
	bk->rank = r;
	bits_set(s, r);
	*out = b;
	return WN_OK;
}

static inline int bucket_push(struct wn_tok_bpe_scratch *s, uint32_t r, uint32_t pos)
{
	uint32_t b = s->bucket_of[r];
	if (b == WN_TOK_NONE)
		WN_TRY(new_bucket(s, r, &b));
	struct wn_tok_bucket *bk = &s->buckets[b];
	if (bk->n == bk->cap) {
		uint32_t cap = bk->cap ? bk->cap * 2 : 64;
		uint32_t *v = realloc(bk->v, cap * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		bk->v = v;
		bk->cap = cap;
	}
	bk->v[bk->n++] = pos;
	return WN_OK;
}

/* The initial pairs, grouped by rank with a counting sort: one pass to
 * count, one to place (bucket_of[r] holds the count, then the write
 * offset, until the buckets are made).  Positions come out ascending
 * within each rank, and the ranks' slices in the order the ranks were
 * first seen. */
static int fill_initial(struct wn_tok_bpe_scratch *s, const struct wn_tok_node *nd, size_t n)
{
	WN_TRY(grow_u32(&s->init, &s->init_cap, n));
	WN_TRY(grow_u32(&s->tmp, &s->tmp_cap, n)); /* the ranks seen */
	uint32_t *seen = s->tmp, nseen = 0, *of = s->bucket_of;
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t r = nd[i].rank;
		if (r == WN_TOK_NONE)
			continue;
		if (of[r] == WN_TOK_NONE) {
			of[r] = 0;
			seen[nseen++] = r;
		}
		of[r]++;
	}
	uint32_t off = 0;
	for (uint32_t k = 0; k < nseen; k++) {
		uint32_t c = of[seen[k]];
		of[seen[k]] = off;
		off += c;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t r = nd[i].rank;
		if (r != WN_TOK_NONE)
			s->init[of[r]++] = ENTRY(i, 0);
	}
	uint32_t start = 0;
	for (uint32_t k = 0; k < nseen; k++) {
		uint32_t r = seen[k], end = of[r], b;
		of[r] = WN_TOK_NONE;
		if (new_bucket(s, r, &b) < 0) {
			while (++k < nseen)
				of[seen[k]] = WN_TOK_NONE;
			return WN_ENOMEM;
		}
		s->buckets[b].init_off = start;
		s->buckets[b].init_n = end - start;
		start = end;
	}
	return WN_OK;
}

/* Sort positions: they come as a few ascending runs, so a natural merge
 * sort does little work.  The result is in *out (v or tmp). */
static int sort_positions(struct wn_tok_bpe_scratch *s, uint32_t *v, size_t n, uint32_t **out)
{
	*out = v;
	size_t i = 1;
	while (i < n && v[i - 1] <= v[i])
		i++;
	if (i >= n)
		return WN_OK;
	WN_TRY(grow_u32(&s->tmp, &s->tmp_cap, n));
	uint32_t *a = v, *b = s->tmp;
	for (;;) {
		size_t runs = 0, o = 0;
		for (size_t lo = 0; lo < n;) {
			size_t mid = lo + 1;
			while (mid < n && a[mid - 1] <= a[mid])
				mid++;
			size_t hi = mid;
			if (hi < n) {
				hi++;
				while (hi < n && a[hi - 1] <= a[hi])
					hi++;
			}
			size_t x = lo, y = mid;
			while (x < mid && y < hi)
				b[o++] = a[x] <= a[y] ? a[x++] : a[y++];
			while (x < mid)
				b[o++] = a[x++];
			while (y < hi)
				b[o++] = a[y++];
			runs++;
			lo = hi;
		}
		uint32_t *sw = a;
		a = b;
		b = sw;
		if (runs == 1)
			break;
	}
	*out = a;
	return WN_OK;
}

/* The positions of bucket bk, ascending. */
static int bucket_positions(struct wn_tok_bpe_scratch *s, struct wn_tok_bucket *bk,
                            const uint32_t **pos, size_t *n)
{
	if (bk->n == 0) {
		*pos = s->init + bk->init_off;
		*n = bk->init_n;
		return WN_OK;
	}
	size_t total = (size_t)bk->init_n + bk->n;
	WN_TRY(grow_u32(&s->cur, &s->cur_cap, total));
	memcpy(s->cur, s->init + bk->init_off, bk->init_n * sizeof(uint32_t));
	memcpy(s->cur + bk->init_n, bk->v, bk->n * sizeof(uint32_t));
	uint32_t *sorted;
	WN_TRY(sort_positions(s, s->cur, total, &sorted));
	*pos = sorted;
	*n = total;
	return WN_OK;
}

/*
 * The positions are known ahead and far apart, so each merge would wait
 * for its nodes and its two pair lookups.  Two stages hide that: the nodes
 * of the live entry 2 * PREFETCH_AHEAD on are fetched, and for the entry
 * PREFETCH_AHEAD on, whose nodes have arrived, the pairs its merge will
 * look up (unless a merge in between changes its neighbours).
 */
#define PREFETCH_AHEAD 16

static inline void prefetch_ahead(const struct wn_tokenizer *t, const struct wn_tok_node *nd,
                                  const uint8_t *ver, size_t n, const uint32_t *v)
{
	uint32_t far = v[2 * PREFETCH_AHEAD];
	if (ver[ENTRY_POS(far)] == ENTRY_VER(far)) {
		/* the node and its neighbours' (prefetching never faults) */
		uintptr_t f = (uintptr_t)&nd[ENTRY_POS(far)];
		__builtin_prefetch((const void *)(f - 64));
		__builtin_prefetch((const void *)f);
		__builtin_prefetch((const void *)(f + 64));
	}
	uint32_t near = v[PREFETCH_AHEAD];
	if (ver[ENTRY_POS(near)] != ENTRY_VER(near))
		return;
	const struct wn_tok_node *a = &nd[ENTRY_POS(near)];
	if (a->rank == WN_TOK_NONE || a->next >= n)
		return;
	uint32_t k = nd[a->next].next;
	if (k < n)
		prefetch_pair(t, wn_tok_rank_id(t, a->rank), nd[k].sym);
	if (a->prev != WN_TOK_NONE)
		prefetch_pair(t, nd[a->prev].sym, wn_tok_rank_id(t, a->rank));
}

/* Merge at i and queue the new pairs: above the current rank in their
 * buckets, others (rare: ranks need not grow) in the heap. */
static inline __attribute__((always_inline)) int merge_queue(const struct wn_tokenizer *t,
                                                             struct wn_tok_bpe_scratch *s,
                                                             struct wn_tok_node *nd, size_t n,
                                                             uint32_t i, uint32_t cur_r, size_t *hn)
{
	uint32_t q[2];
	merge_at(t, s, nd, n, i, &q[0], &q[1], s->ver);
	for (int k = 0; k < 2; k++) {
		if (q[k] == WN_TOK_NONE)
			continue;
		uint32_t rq = nd[q[k]].rank, e = ENTRY(q[k], s->ver[q[k]]);
		if (rq <= cur_r)
			WN_TRY(heap_push(s, hn, (uint64_t)rq << 32 | e));
		else
			WN_TRY(bucket_push(s, rq, e));
	}
	return WN_OK;
}

static inline int heap_step(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                            struct wn_tok_node *nd, size_t n, uint32_t cur_r, size_t *hn)
{
	uint64_t top = s->heap[0];
	s->heap[0] = s->heap[--*hn];
	if (*hn)
		heap_down(s->heap, *hn, 0);
	uint32_t r = (uint32_t)(top >> 32), e = (uint32_t)top, i = ENTRY_POS(e);
	if (s->ver[i] != ENTRY_VER(e) || nd[i].rank != r)
		return WN_OK;
	return merge_queue(t, s, nd, n, i, cur_r, hn);
}

static int run_buckets(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                       struct wn_tok_node *nd, size_t n)
{
	size_t hn = 0;
	const uint8_t *ver = s->ver;
	for (;;) {
		uint32_t r = bits_min(s);
		if (r == WN_TOK_NONE)
			break;
		bits_clear(s, r);
		const uint32_t *pos;
		size_t np;
		WN_TRY(bucket_positions(s, &s->buckets[s->bucket_of[r]], &pos, &np));
		for (size_t c = 0; c < np; c++) {
			uint32_t e = pos[c], i = ENTRY_POS(e);
			while (hn && s->heap[0] < ((uint64_t)r << 32 | e))
				WN_TRY(heap_step(t, s, nd, n, r, &hn));
			if (c + 2 * PREFETCH_AHEAD < np)
				prefetch_ahead(t, nd, ver, n, pos + c);
			if (ver[i] == ENTRY_VER(e) && nd[i].rank == r)
				WN_TRY(merge_queue(t, s, nd, n, i, r, &hn));
		}
		while (hn)
			WN_TRY(heap_step(t, s, nd, n, r, &hn));
	}
	return WN_OK;
}

int wn_tok_merge_buckets(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s, uint32_t *sym,
                         size_t *np, const unsigned char *bytes)
{
	size_t n = *np;
	if (n < 2)
		return WN_OK;
	if (n >= UINT32_MAX)
		return WN_ETOOBIG;
	if (n >= BUCKETS_MAX_N)
		return wn_tok_merge_heap(t, s, sym, np, bytes);
	WN_TRY(link_init(t, s, sym, n, bytes));
	WN_TRY(buckets_init(t, s));
	if (s->ver_cap < n) {
		uint8_t *v = realloc(s->ver, n);
		if (!v)
			return WN_ENOMEM;
		s->ver = v;
		s->ver_cap = n;
	}
	memset(s->ver, 0, n);
	int st = fill_initial(s, s->node, n);
	if (st >= 0)
		st = run_buckets(t, s, s->node, n);
	/* leave the queue empty for the next piece */
	for (uint32_t b = 0; b < s->nb; b++) {
		s->bucket_of[s->buckets[b].rank] = WN_TOK_NONE;
		bits_clear(s, s->buckets[b].rank);
	}
	s->nb = 0;
	if (st < 0)
		return st;
	*np = link_collect(s, sym, n);
	return WN_OK;
}
