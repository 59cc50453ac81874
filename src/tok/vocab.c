/*
 * vocab.c - the tables of a tokenizer: id -> bytes (one arena), bytes -> id
 * (open addressing), the pair table, and tries over special tokens.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"

int wn_tok_alloc_ids(struct wn_tokenizer *t, uint32_t n_ids)
{
	assert(!t->tok_off);
	t->n_ids = n_ids;
	t->tok_off = calloc(n_ids ? n_ids : 1, sizeof(*t->tok_off));
	t->tok_len = calloc(n_ids ? n_ids : 1, sizeof(*t->tok_len));
	if (!t->tok_off || !t->tok_len)
		return WN_ENOMEM;
	return WN_OK;
}

int wn_tok_set_bytes(struct wn_tokenizer *t, uint32_t id, const void *p, size_t n)
{
	assert(id < t->n_ids);
	if (n > UINT32_MAX || t->arena_len + n > UINT32_MAX)
		return WN_ETOOBIG;
	if (t->arena_len + n > t->arena_cap) {
		size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
		while (cap < t->arena_len + n)
			cap *= 2;
		char *a = realloc(t->arena, cap);
		if (!a)
			return WN_ENOMEM;
		t->arena = a;
		t->arena_cap = cap;
	}
	memcpy(t->arena + t->arena_len, p, n);
	t->tok_off[id] = (uint32_t)t->arena_len;
	t->tok_len[id] = (uint32_t)n;
	t->arena_len += n;
	return WN_OK;
}

uint32_t wn_tok_lookup(const struct wn_tokenizer *t, const void *p, size_t n)
{
	if (n == 0 || n > t->max_len)
		return WN_TOK_NONE;
	uint64_t head = wn_tok_head(p, n);
	return wn_tok_lookup_h(t, p, n, head, wn_tok_hash(p, n, head));
}

/* Insert every id whose in_hash[id] is set (all ids with bytes when in_hash
 * is NULL).  Two ids with the same bytes stop it: WN_EDATA with *dup_a (the
 * id inserted first) and *dup_b set. */
int wn_tok_build_hash(struct wn_tokenizer *t, const uint8_t *in_hash, uint32_t *dup_a,
                      uint32_t *dup_b)
{
	size_t n = 0;
	for (uint32_t id = 0; id < t->n_ids; id++)
		if (t->tok_len[id] && (!in_hash || in_hash[id]))
			n++;
	size_t cap = 16;
	while (cap < n * 2)
		cap *= 2;
	if (cap > UINT32_MAX)
		return WN_ETOOBIG;
	free(t->slots);
	t->slots = malloc(cap * sizeof(*t->slots));
	if (!t->slots)
		return WN_ENOMEM;
	memset(t->slots, 0, cap * sizeof(*t->slots));
	t->slot_mask = (uint32_t)cap - 1;
	t->max_len = 0;
	for (uint32_t id = 0; id < t->n_ids; id++) {
		uint32_t len = t->tok_len[id];
		if (!len || (in_hash && !in_hash[id]))
			continue;
		const unsigned char *p = (const unsigned char *)t->arena + t->tok_off[id];
		uint64_t head = wn_tok_head(p, len);
		uint32_t i = (uint32_t)wn_tok_hash(p, len, head) & t->slot_mask;
		while (t->slots[i].len) {
			uint32_t o = t->slots[i].id;
			if (t->tok_len[o] == len &&
			    memcmp(t->arena + t->tok_off[o], t->arena + t->tok_off[id], len) == 0) {
				*dup_a = o;
				*dup_b = id;
				return WN_EDATA;
			}
			i = (i + 1) & t->slot_mask;
		}
		t->slots[i].head = head;
		t->slots[i].id = id;
		t->slots[i].len = len;
		if (len > t->max_len)
			t->max_len = len;
	}
	return WN_OK;
}

int wn_tok_pairs_init(struct wn_tokenizer *t, size_t expected)
{
	size_t cap = 16;
	while (cap < expected + expected / 2 + 1)
		cap *= 2;
	if (cap > UINT32_MAX)
		return WN_ETOOBIG;
	free(t->pairs);
	t->pairs = malloc(cap * sizeof(*t->pairs));
	if (!t->pairs)
		return WN_ENOMEM;
	memset(t->pairs, 0xff, cap * sizeof(*t->pairs));
	t->pair_mask = (uint32_t)cap - 1;
	t->n_pairs = 0;
	return WN_OK;
}

static int pairs_grow(struct wn_tokenizer *t)
{
	struct wn_tok_pair *old = t->pairs;
	size_t oldcap = (size_t)t->pair_mask + 1;
	t->pairs = NULL;
	if (wn_tok_pairs_init(t, oldcap * 2) < 0) {
		t->pairs = old;
		return WN_ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].a != WN_TOK_NONE)
			WN_TRY(wn_tok_pair_put(t, old[i].a, old[i].b, old[i].rank, old[i].id));
	free(old);
	return WN_OK;
}

int wn_tok_pair_put(struct wn_tokenizer *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id)
{
	assert(a != WN_TOK_NONE);
	if ((size_t)(t->n_pairs + 1) * 3 > ((size_t)t->pair_mask + 1) * 2)
		WN_TRY(pairs_grow(t));
	uint64_t k = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
	uint32_t i = (uint32_t)(k >> 32) & t->pair_mask;
	for (;;) {
		struct wn_tok_pair *p = &t->pairs[i];
		if (p->a == WN_TOK_NONE) {
			p->a = a;
			p->b = b;
			t->n_pairs++;
			break;
		}
		if (p->a == a && p->b == b)
			break;
		i = (i + 1) & t->pair_mask;
	}
	t->pairs[i].rank = rank;
	t->pairs[i].id = id;
	return WN_OK;
}

/* About 16 bits per pair: a few percent of the pairs that are not in the
 * table pass. */
int wn_tok_build_pair_filter(struct wn_tokenizer *t)
{
	size_t words = 64;
	while (words * 64 < (size_t)t->n_pairs * 16)
		words *= 2;
	free(t->pair_filter);
	t->pair_filter = calloc(words, sizeof(uint64_t));
	if (!t->pair_filter)
		return WN_ENOMEM;
	t->filter_mask = (uint32_t)words - 1;
	for (size_t i = 0; i <= t->pair_mask; i++) {
		const struct wn_tok_pair *p = &t->pairs[i];
		if (p->a == WN_TOK_NONE)
			continue;
		uint64_t x = wn_tok_filter_hash(p->a, p->b);
		t->pair_filter[(uint32_t)x & t->filter_mask] |= wn_tok_filter_bits(x);
	}
	return WN_OK;
}

/* Most merges start from two single bytes: a direct table saves the hash
 * probe for them. */
int wn_tok_build_byte_pairs(struct wn_tokenizer *t)
{
	t->byte_pair_rank = malloc(65536 * sizeof(uint32_t));
	t->byte_pair_id = malloc(65536 * sizeof(uint32_t));
	if (!t->byte_pair_rank || !t->byte_pair_id)
		return WN_ENOMEM;
	for (unsigned i = 0; i < 65536; i++) {
		uint32_t a = t->byte_id[i >> 8], b = t->byte_id[i & 255];
		const struct wn_tok_pair *p = NULL;
		if (a != WN_TOK_NONE && b != WN_TOK_NONE)
			p = wn_tok_pair_get(t, a, b);
		t->byte_pair_rank[i] = p ? p->rank : WN_TOK_NONE;
		t->byte_pair_id[i] = p ? p->id : WN_TOK_NONE;
	}
	return WN_OK;
}

int wn_tok_add_added(struct wn_tokenizer *t, uint32_t id, const char *s, size_t n, int special,
                     int normalized)
{
	if ((t->n_added & (t->n_added - 1)) == 0) {
		size_t cap = t->n_added ? (size_t)t->n_added * 2 : 4;
		struct wn_tok_added *a = realloc(t->added, cap * sizeof(*a));
		if (!a)
			return WN_ENOMEM;
		t->added = a;
	}
	/* The content goes to the arena, and becomes what the id decodes
	 * to (an added token's text wins over a vocabulary entry). */
	WN_TRY(wn_tok_set_bytes(t, id, s, n));
	struct wn_tok_added *a = &t->added[t->n_added++];
	a->id = id;
	a->off = t->tok_off[id];
	a->len = (uint32_t)n;
	a->special = (uint8_t)special;
	a->normalized = (uint8_t)normalized;
	return WN_OK;
}

static int trie_node(struct wn_tok_trie *tr, uint8_t byte, uint32_t *out)
{
	if (tr->n == tr->cap) {
		uint32_t cap = tr->cap ? tr->cap * 2 : 64;
		struct wn_tok_trie_node *nn = realloc(tr->node, cap * sizeof(*nn));
		if (!nn)
			return WN_ENOMEM;
		tr->node = nn;
		tr->cap = cap;
	}
	if (tr->n == 0) {
		/* the root */
		tr->node[0] = (struct wn_tok_trie_node){0, 0, WN_TOK_NONE, 0};
		tr->n = 1;
		return trie_node(tr, byte, out);
	}
	tr->node[tr->n] = (struct wn_tok_trie_node){0, 0, WN_TOK_NONE, byte};
	*out = tr->n++;
	return WN_OK;
}

/* A later token with the same text replaces an earlier one. */
int wn_tok_trie_add(struct wn_tok_trie *tr, const char *s, size_t n, uint32_t added)
{
	assert(n > 0);
	const uint8_t *u = (const uint8_t *)s;
	uint32_t cur = tr->root[u[0]];
	if (!cur) {
		WN_TRY(trie_node(tr, u[0], &cur));
		tr->root[u[0]] = cur;
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t c = tr->node[cur].child;
		while (c && tr->node[c].byte != u[i])
			c = tr->node[c].sibling;
		if (!c) {
			WN_TRY(trie_node(tr, u[i], &c));
			tr->node[c].sibling = tr->node[cur].child;
			tr->node[cur].child = c;
		}
		cur = c;
	}
	tr->node[cur].added = added;
	return WN_OK;
}

void wn_tok_trie_finish(struct wn_tok_trie *tr)
{
	int n = 0, last = -1;
	for (int b = 0; b < 256; b++) {
		tr->first[b] = tr->root[b] != 0;
		if (tr->first[b]) {
			n++;
			last = b;
		}
	}
	tr->one_first = n == 1 ? last : -1;
}

void wn_tok_trie_release(struct wn_tok_trie *tr)
{
	free(tr->node);
	memset(tr, 0, sizeof(*tr));
}

/* Longest token starting exactly at s. */
static int trie_at(const struct wn_tok_trie *tr, const uint8_t *s, size_t n, size_t *len,
                   uint32_t *added)
{
	uint32_t cur = tr->root[s[0]];
	int found = 0;
	size_t i = 1;
	for (;;) {
		if (tr->node[cur].added != WN_TOK_NONE) {
			*len = i;
			*added = tr->node[cur].added;
			found = 1;
		}
		if (i == n)
			break;
		uint32_t c = tr->node[cur].child;
		while (c && tr->node[c].byte != s[i])
			c = tr->node[c].sibling;
		if (!c)
			break;
		cur = c;
		i++;
	}
	return found;
}

int wn_tok_trie_find(const struct wn_tok_trie *tr, const char *str, size_t n, size_t *at,
                     size_t *len, uint32_t *added)
{
	const uint8_t *s = (const uint8_t *)str;
	if (tr->n == 0)
		return 0;
	size_t i = 0;
	while (i < n) {
		if (tr->one_first >= 0) {
			const uint8_t *p = memchr(s + i, tr->one_first, n - i);
			if (!p)
				return 0;
			i = (size_t)(p - s);
		} else {
			while (i < n && !tr->first[s[i]])
				i++;
			if (i == n)
				return 0;
		}
		if (trie_at(tr, s + i, n - i, len, added)) {
			*at = i;
			return 1;
		}
		i++;
	}
	return 0;
}
