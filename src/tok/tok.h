/*
 * tok.h - internals of the tokenizer library (src/tok); not installed.
 *
 * A tokenizer is a table of ids (each with the bytes it decodes to), a hash
 * from bytes to the id of an ordinary token, a pair table that says which two
 * adjacent symbols merge (with what rank, into what id), the special/added
 * tokens with tries to find them in text, and a list of split regexes.
 *
 * Both kinds of file reduce to the same merge rule, so one BPE engine serves
 * both: repeatedly merge the adjacent pair of lowest rank (leftmost on ties).
 *   - tiktoken: a pair (x, y) merges when the bytes x+y are a token; its
 *     rank is that token's id.  The pair table lists, for every token, each
 *     split of its bytes into two tokens.
 *   - Hugging Face: a pair merges when (x, y) is in model.merges; its rank
 *     is the merge's position and the result is vocab[x+y].
 */
#ifndef WN_TOK_TOK_H
#define WN_TOK_TOK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "winnow/status.h"
#include "winnow/tokenizer.h"

#define WN_TOK_NONE UINT32_MAX

enum wn_tok_kind { WN_TOK_TIKTOKEN = 1, WN_TOK_HF = 2 };

/* Bytes -> id of an ordinary (mergeable) token: open addressing.  A slot
 * holds the token's first 8 bytes and its length, so that most lookups
 * (tokens are short) touch one cache line and no arena. */
struct wn_tok_slot {
	uint64_t head; /* wn_tok_head() of the bytes */
	uint32_t id;
	uint32_t len;  /* 0: empty slot */
};

/* (left id, right id) -> (rank, merged id). */
struct wn_tok_pair {
	uint32_t a, b;
	uint32_t rank, id;
};

/* A byte trie over special/added token texts, for leftmost-longest search.
 * Node 0 is the root; children form a sibling list, except the root's,
 * which are indexed by byte. */
struct wn_tok_trie_node {
	uint32_t child, sibling;
	uint32_t added; /* index into wn_tokenizer.added, or WN_TOK_NONE */
	uint8_t byte;
};

struct wn_tok_trie {
	struct wn_tok_trie_node *node;
	uint32_t n, cap;
	uint32_t root[256];
	uint8_t first[256];  /* bytes that start a token */
	int one_first;       /* the only first byte, or -1 */
};

struct wn_tok_added {
	uint32_t id;
	uint32_t off, len;  /* content in the arena */
	uint8_t special;
	uint8_t normalized;
};

#define WN_TOK_MAX_SPLITS 4

struct wn_tokenizer {
	enum wn_tok_kind kind;
	uint32_t n_ids;           /* one more than the largest id */

	/* id -> bytes; len 0 means no token has this id */
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t *tok_off, *tok_len;

	/* bytes -> ordinary token id */
	struct wn_tok_slot *slots;
	uint32_t slot_mask;
	uint32_t max_len;         /* longest ordinary token, in bytes */

	/* merges */
	struct wn_tok_pair *pairs;
	uint32_t pair_mask;
	uint32_t n_pairs;
	uint32_t n_ranks;         /* ranks are below this */
	/* the id a merge of each rank yields (NULL: the rank itself, as in
	 * tiktoken) */
	uint32_t *rank_id;
	/* A filter in front of the pair table: most pairs looked up do not
	 * merge, and the table does not fit in the cache. */
	uint64_t *pair_filter;
	uint32_t filter_mask;
	/* the pair table for two single-byte symbols, indexed by b0 << 8 | b1 */
	uint32_t *byte_pair_rank, *byte_pair_id;
	/* symbol of each byte: an id, or (tiktoken, byte not a token) a
	 * virtual id >= n_ids, or (Hugging Face, byte not in vocab)
	 * WN_TOK_NONE */
	uint32_t byte_id[256];
	int whole_piece;          /* emit a piece that is a token as it is */
	/* Without ignore_merges, a piece that is a token T still goes through
	 * the merges, which need not end at T.  Whether they do depends on T
	 * alone, so it is found out once per token, when first needed, and
	 * kept here (0 unknown, 1 yes, 2 no; relaxed atomics: racing
	 * threads store the same answer). */
	uint8_t *whole_memo;
	/* the tables of the backtracking merge (backtrack.c), built when
	 * the first long piece comes */
	struct wn_tok_bt *bt;
	int bytes_complete;       /* every byte has a real id */

	/* Hugging Face unknown-character handling */
	uint32_t unk_id;          /* WN_TOK_NONE: unknown bytes are dropped */
	int fuse_unk;

	/* special (tiktoken) or added (Hugging Face) tokens */
	struct wn_tok_added *added;
	uint32_t n_added;
	struct wn_tok_trie raw_trie;  /* matched in the raw text */
	struct wn_tok_trie norm_trie; /* matched after normalization */
	int any_special_raw, any_plain_raw, any_norm;

	/* pre-tokenization: split by each regex in turn */
	pcre2_code *re[WN_TOK_MAX_SPLITS];
	int n_re;
	/* the hand matcher of each regex (WN_TOK_SPLIT_*), or
	 * WN_TOK_SPLIT_REGEX: PCRE2 alone; tests clear it to compare */
	uint8_t split[WN_TOK_MAX_SPLITS];
	int nfc;

	uint32_t eot;
	char sha256[65];
	char *name;
	char *path;
};

/* tokenizer.c */
int wn_tok_read_file(const char *path, char **data, size_t *len, char sha256[65],
                     struct wn_error *err);
int wn_tok_compile(struct wn_tokenizer *t, const char *pattern, int literal, int hf_syntax,
                   const char *what, struct wn_error *err);

/* split.c: hand-written matchers for the known split patterns. */
enum {
	WN_TOK_SPLIT_REGEX = 0,
	WN_TOK_SPLIT_GPT2,   /* r50k_base, p50k_base; GPT-2's ByteLevel */
	WN_TOK_SPLIT_CL100K, /* cl100k_base */
	WN_TOK_SPLIT_LLAMA3, /* Llama-3's Split */
	WN_TOK_SPLIT_QWEN2,  /* Qwen2's Split */
	WN_TOK_SPLIT_O200K,  /* o200k_base */
};
/* The matcher for a pattern (compared as written), or WN_TOK_SPLIT_REGEX. */
int wn_tok_split_kind(const char *pattern);
/* The end of the match that starts at from, a character boundary before n;
 * 0 when the match depends on a non-ASCII character: then only PCRE2 can
 * tell. */
size_t wn_tok_split_end(int kind, const char *s, size_t n, size_t from);
/* The i-th known pattern and its kind, or NULL after the last (tests). */
const char *wn_tok_split_known(size_t i, int *kind);

/* vocab.c */
int wn_tok_alloc_ids(struct wn_tokenizer *t, uint32_t n_ids);
int wn_tok_set_bytes(struct wn_tokenizer *t, uint32_t id, const void *p, size_t n);
int wn_tok_build_hash(struct wn_tokenizer *t, const uint8_t *in_hash, uint32_t *dup_a,
                      uint32_t *dup_b);
uint32_t wn_tok_lookup(const struct wn_tokenizer *t, const void *p, size_t n);
int wn_tok_pairs_init(struct wn_tokenizer *t, size_t expected);
/* Insert or overwrite; WN_ENOMEM on failure. */
int wn_tok_pair_put(struct wn_tokenizer *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id);
int wn_tok_build_byte_pairs(struct wn_tokenizer *t);
int wn_tok_build_pair_filter(struct wn_tokenizer *t);
int wn_tok_add_added(struct wn_tokenizer *t, uint32_t id, const char *s, size_t n,
                     int special, int normalized);
int wn_tok_trie_add(struct wn_tok_trie *tr, const char *s, size_t n, uint32_t added);
void wn_tok_trie_release(struct wn_tok_trie *tr);
void wn_tok_trie_finish(struct wn_tok_trie *tr);
/* The leftmost-longest match in s[0..n): 1 and *at, *len, *added; or 0. */
int wn_tok_trie_find(const struct wn_tok_trie *tr, const char *s, size_t n, size_t *at,
                     size_t *len, uint32_t *added);

/* The first min(n, 8) bytes of p as a little-endian number, zero-padded,
 * without reading outside p[0..n) (n >= 1). */
static inline uint64_t wn_tok_head(const unsigned char *p, size_t n)
{
	uint64_t v;
	if (n >= 8) {
		memcpy(&v, p, 8);
	} else if (n >= 4) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		v = lo | (uint64_t)hi << (8 * (n - 4));
	} else {
		v = p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
		    (uint64_t)p[n - 1] << (8 * (n - 1));
	}
	return v;
}

/* A hash of p[0..n) given its head: the last 8 bytes are mixed in for
 * longer strings. */
static inline uint64_t wn_tok_hash(const unsigned char *p, size_t n, uint64_t head)
{
	uint64_t x = head ^ (uint64_t)n * 0x9E3779B97F4A7C15ull;
	if (n > 8) {
		uint64_t tail;
		memcpy(&tail, p + n - 8, 8);
		x ^= (tail * 0xC2B2AE3D27D4EB4Full) >> 7 ^ tail;
	}
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 31;
	x *= 0x94D049BB133111EBull;
	return x ^ (x >> 29);
}

static inline uint32_t wn_tok_lookup_h(const struct wn_tokenizer *t, const unsigned char *p,
                                       size_t n, uint64_t head, uint64_t h)
{
	uint32_t i = (uint32_t)h & t->slot_mask;
	for (;;) {
		const struct wn_tok_slot *s = &t->slots[i];
		if (s->len == n && s->head == head &&
		    (n <= 8 || memcmp(t->arena + t->tok_off[s->id] + 8, p + 8, n - 8) == 0))
			return s->id;
		if (s->len == 0)
			return WN_TOK_NONE;
		i = (i + 1) & t->slot_mask;
	}
}

static inline uint32_t wn_tok_rank_id(const struct wn_tokenizer *t, uint32_t rank)
{
	return t->rank_id ? t->rank_id[rank] : rank;
}

/* Two bits of one filter word per pair: 0 means the pair is not in the
 * table; 1 that it may be. */
static inline uint64_t wn_tok_filter_hash(uint32_t a, uint32_t b)
{
	uint64_t x = ((uint64_t)a << 32 | b) * 0xD6E8FEB86659FD93ull;
	return x ^ x >> 29;
}

static inline uint64_t wn_tok_filter_bits(uint64_t x)
{
	return 1ull << (x >> 58) | 1ull << ((x >> 52) & 63);
}

static inline int wn_tok_pair_maybe(const struct wn_tokenizer *t, uint32_t a, uint32_t b)
{
	uint64_t x = wn_tok_filter_hash(a, b), m = wn_tok_filter_bits(x);
	return (t->pair_filter[(uint32_t)x & t->filter_mask] & m) == m;
}

static inline const struct wn_tok_pair *wn_tok_pair_get(const struct wn_tokenizer *t,
                                                        uint32_t a, uint32_t b)
{
	uint64_t k = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
	uint32_t i = (uint32_t)(k >> 32) & t->pair_mask;
	for (;;) {
		const struct wn_tok_pair *p = &t->pairs[i];
		if (p->a == a && p->b == b)
			return p;
		if (p->a == WN_TOK_NONE)
			return NULL;
		i = (i + 1) & t->pair_mask;
	}
}

/* encode.c: the pieces the split regexes cut text[0..n) into (no special
 * tokens, no normalization), for tests. */
int wn_tok_pieces(struct wn_encoder *e, const char *text, size_t n,
                  void (*cb)(void *arg, const char *s, size_t n), void *arg,
                  struct wn_error *err);

/* tiktoken.c / hf.c */
int wn_tok_load_tiktoken(struct wn_tokenizer *t, const char *data, size_t len,
                         const char *encoding, struct wn_error *err);
int wn_tok_load_hf(struct wn_tokenizer *t, const char *data, size_t len, struct wn_error *err);

/* bpe.c: the merge scratch of an encoder. */

/* The positions of one rank: those of the initial pairs (a slice of
 * wn_tok_bpe_scratch.init, ascending) and those queued later (v). */
struct wn_tok_bucket {
	uint32_t init_off, init_n;
	uint32_t *v;
	uint32_t n, cap;
	uint32_t rank;
};

/* A symbol in the linked list, and the pair it starts (rank WN_TOK_NONE:
 * none, or the symbol was merged away). */
struct wn_tok_node {
	uint32_t sym, next, prev;
	uint32_t rank; /* the merged symbol is wn_tok_rank_id(rank) */
};

struct wn_tok_bpe_scratch {
	struct wn_tok_node *node;
	size_t cap;
	uint64_t *heap;
	size_t heap_cap;
	/* the bucket queue, sized for n_ranks when first needed */
	uint32_t *bucket_of;       /* rank -> index in buckets, or WN_TOK_NONE */
	struct wn_tok_bucket *buckets;
	uint32_t nb, bcap;
	uint64_t *bits[3];         /* non-empty buckets, three levels */
	uint32_t nranks;
	uint32_t *init;            /* initial positions, grouped by rank */
	uint32_t *cur;             /* the current bucket's positions, sorted */
	uint32_t *tmp;             /* sort buffer */
	size_t init_cap, cur_cap, tmp_cap;
	uint8_t *ver;              /* per position: bumped when its pair changes */
	size_t ver_cap;
	struct wn_tok_pair *pcache; /* recent pair lookups */
	struct wn_tok_bt_scratch *bt; /* the backtracking merge's, when used */
};

#define WN_TOK_PCACHE_BITS 12

/*
 * Merge syms[0..n) in place by the pair table; the new count is returned
 * or stored in *n.  Three implementations with identical results: a
 * quadratic scan (short pieces), a heap of (rank, position) (medium), and
 * buckets of positions per rank (long: cache-friendly, close to linear).
 * bytes, when not NULL, are the piece's bytes and syms[i] is the symbol of
 * bytes[i]: the initial pairs then come from the byte-pair table.
 */
int wn_tok_bpe_scratch_init(struct wn_tok_bpe_scratch *s);
size_t wn_tok_merge_small(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                          uint32_t *syms, size_t n, const unsigned char *bytes);
int wn_tok_merge_heap(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                      uint32_t *syms, size_t *n, const unsigned char *bytes);
int wn_tok_merge_buckets(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                         uint32_t *syms, size_t *n, const unsigned char *bytes);
void wn_tok_bpe_scratch_release(struct wn_tok_bpe_scratch *s);

/*
 * backtrack.c: the same result for long pieces, close to linear time.
 * bytes[0..n) are the piece's, one symbol each (t->bytes_complete); the
 * ids go to sym (room for n) and their count to *m.  WN_TOK_BT_DECLINE
 * when this tokenizer or piece needs the merge loop instead.
 */
#define WN_TOK_BT_DECLINE 1
int wn_tok_merge_backtrack(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                           const unsigned char *bytes, size_t n, uint32_t *sym, size_t *m);
void wn_tok_bt_free(struct wn_tok_bt *bt);
void wn_tok_bt_scratch_free(struct wn_tok_bt_scratch *s);

#endif
