/*
 * backtrack.c - BPE of long pieces by backtracking over the longest tokens,
 * in close to linear time, with the ids of the merge loop (bpe.c).
 *
 * The idea is that of the "backtracking encoder" of GitHub's rust-gems
 * (crate bpe).  Call a token valid when BPE turns its own bytes into that
 * token alone, and two valid tokens compatible when BPE turns their bytes
 * into the two of them.  Then:
 *
 *   - BPE never merges across a boundary of its result, so every merge
 *     inside a span of the result happens as it would on that span alone
 *     (the merge loop takes the lowest rank, leftmost on ties, and
 *     restricting the text to a span keeps that order among the span's
 *     pairs).  So the result is a chain of valid tokens, each pair of
 *     neighbours compatible.
 *   - Conversely such a chain is the result: were a merge to cross one of
 *     its boundaries, the first to do so would also happen on the two
 *     tokens beside that boundary alone, which are compatible.
 *
 * The chain is unique, so a depth-first search finds it: take the longest
 * valid token at the position that is compatible with the previous one,
 * and when none is, go back and take the next shorter token there.  A
 * position from which no chain completes is marked dead, so each position
 * is expanded once.  Most steps take the longest token at once.
 *
 * Compatibility is read off the merge trees.  A valid token t was made by
 * a last merge (its split x + y) of some rank, its time, after x and y
 * were made.  While BPE works on the bytes of a + b without crossing the
 * boundary, each side goes through its own merges, in increasing time: the
 * symbol left of the boundary runs down a's right spine (the right part of
 * its split, that one's right part, ... its last byte), the symbol right
 * of it down b's left spine.  The pair across the boundary merges when its
 * rank is below the time of the next change on the left (on equal ranks
 * the leftmost merge goes first), or not above that of the next change on
 * the right.  Walking both spines back from (a, b) checks each pair of the
 * sequence.  This needs each tree's merges in increasing time (a split made
 * before its token); a token whose tree is not so (there is none in the
 * OpenAI encodings nor in GPT-2's merges) makes its piece fall back to the
 * merge loop.
 *
 * A token's split, and whether it is valid, are found when the token is
 * first met, by a plain BPE of its bytes that records the last merge, and
 * kept per token (relaxed atomics: racing threads store the same answer).
 * The trie of the tokens that start with two given bytes is built when a
 * long piece first needs it, under a lock.
 *
 * Text without white space (a long run of letters is one piece) is mostly
 * tokens of one or two bytes, and there the time went into the search's
 * generality: a walk into the trie at every step, the order of the
 * candidates kept as state, compatibility by a loop.  So what is known of
 * two bytes (their token, the rank of their merge, whether a longer token
 * may go on with a given third byte) is in one table of 16 bytes per pair,
 * built with the rest, and tiktoken's steps among tokens of one or two
 * bytes (short_steps) work from it alone: the same candidates in the same
 * order, compatibility by its few cases written out.  Elsewhere (longer
 * tokens, backtracking, Hugging Face) the search below takes over.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* What is known of a token, in struct bt_tok.state. */
enum {
	TOK_UNKNOWN = 0,
	TOK_BASE,      /* one byte */
	TOK_VALID,     /* made by its split, the tree in increasing time */
	TOK_INVALID,   /* BPE of its bytes gives other tokens: never a result */
	TOK_UNORDERED, /* valid, but its tree is not in increasing time */
};

/* What is known of a token, as the search uses it. */
struct bt_info {
	uint32_t left, right; /* the split of a TOK_VALID token */
	uint32_t time1;       /* the rank of the split's merge + 1; 0 for a byte */
	uint32_t len;         /* in bytes */
	uint32_t state;
};

/* The same, kept in two words: meta (with the state) is stored last. */
struct bt_tok {
	uint64_t split; /* left | right << 32 */
	uint64_t meta;  /* time1 | len << 32 | state << 48 */
};

/*
 * The trie of the tokens that start with two given bytes (node 0 stands for
 * those two), breadth first: the children of node v are the nodes
 * node[v].first to node[v + 1].first - 1, their bytes in label[], ascending.
 */
struct bt_node {
	uint32_t first;
	uint32_t token;     /* the token spelled by the path to here, or WN_TOK_NONE */
	/* byte 0: the number of children, if FEW or less (else 0xff);
	 * bytes 1 to 7: their bytes (the walk then needs no label[]) */
	uint64_t few;
	struct bt_tok info; /* a copy of its struct bt_tok, once known: at hand
	                     * when the walk passes (the tokens a text meets are
	                     * mostly near the roots) */
};

/* A trie, and what a walk needs first: kept in the table by value, in
 * one cache line. */
#define ROOT_LABELS 36

struct bt_sub {
	struct bt_node *node; /* n + 1; NULL: not built yet */
	uint8_t *label;
	uint32_t n;           /* 0: no token starts with the two bytes */
	uint32_t token;       /* node 0's */
	uint32_t n0;          /* node 0's children: nodes 1 to n0 */
	uint8_t label0[ROOT_LABELS]; /* their bytes, if they fit */
} __attribute__((aligned(64)));

/* What the search needs of two bytes b0 b1, in one place: most walks in text
 * without white space end after two bytes. */
struct bt_two {
	uint32_t id;    /* the valid token of the two bytes, or WN_TOK_NONE */
	uint32_t time1; /* the rank of their merge + 1; 0: they do not merge */
	uint64_t third; /* bit c % 64 set if a longer token goes on with byte c */
};

struct wn_tok_bt {
	int usable; /* 0: pieces go to the merge loop */
	/* the ordinary tokens of two bytes or more, by their first two
	 * (b0 | b1 << 8): ids[start[k]] to ids[start[k + 1] - 1] */
	uint32_t *start, *ids;
	struct bt_sub *sub;  /* per two bytes, built when first needed */
	void *sub_mem;       /* sub's allocation */
	struct bt_tok *tok;  /* per id, found when first needed */
	/* per two bytes (b0 << 8 | b1) */
	struct bt_two *two;
};

#define FEW 7

/* The longest token the search handles (OpenAI's are 128 bytes at most). */
#define MAX_TOKEN 1024

static struct bt_node no_nodes[1] = { { 0, WN_TOK_NONE, 0, { 0, 0 } } };

/* A walk along the text from one position: the tokens it passed.  The last
 * walk is kept: one from a position where the text repeats it (a run of
 * spaces) reuses it. */
struct bt_walk {
	const unsigned char *at; /* where it started; NULL: nothing kept */
	size_t depth;            /* the bytes that lead to a node */
	int full;                /* it stopped at its limit, not for want of a node */
	const struct bt_sub *sub; /* the trie of its first two bytes */
	uint32_t *node;          /* [depth] for depth >= 2: the node */
	uint32_t *tok;           /* [depth] for depth >= 1: the token, or WN_TOK_NONE */
};

#define WALKS 4

/* The last walk is worth comparing with when it went this deep. */
#define MEMO_DEPTH 8

/* A cache of compatibility answers: (a, b) and the answer in bit 31 of b. */
#define COMPAT_BITS 12
#define COMPAT_SHORT 6

struct bt_compat {
	uint32_t a, b;
};

struct wn_tok_bt_scratch {
	uint64_t *dead; /* positions from which no chain completes */
	size_t dead_words;
	/* the walks for the candidates of the last tokens chosen (that of
	 * sym[k] in cand[k % WALKS]) */
	struct bt_walk cand[WALKS];
	size_t walk_cap;
	struct bt_compat *compat;
};

/* ---- tokens: validity and splits, when first met -------------------------- */

struct last_merge {
	uint32_t x, y, rank;
	size_t xlen;
};

/* Plain BPE of p[0..n) by the pair table (quadratic: tokens are short), with
 * the last merge made; the number of symbols left, their ids in sym. */
static size_t plain_bpe(const struct wn_tokenizer *t, const unsigned char *p, size_t n,
                        uint32_t *sym, uint32_t *rank, uint32_t *nid, size_t *len,
                        struct last_merge *lm)
{
	for (size_t i = 0; i < n; i++) {
		sym[i] = t->byte_id[p[i]];
		len[i] = 1;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned k = (unsigned)p[i] << 8 | p[i + 1];
		rank[i] = t->byte_pair_rank[k];
		nid[i] = t->byte_pair_id[k];
	}
	size_t m = n;
	while (m > 1) {
		size_t b = 0;
		for (size_t i = 1; i + 1 < m; i++)
			if (rank[i] < rank[b])
				b = i;
		if (rank[b] == WN_TOK_NONE)
			break;
		*lm = (struct last_merge){ sym[b], sym[b + 1], rank[b], len[b] };
		sym[b] = nid[b];
		len[b] += len[b + 1];
		m--;
		memmove(sym + b + 1, sym + b + 2, (m - b - 1) * sizeof(*sym));
		memmove(len + b + 1, len + b + 2, (m - b - 1) * sizeof(*len));
		memmove(rank + b + 1, rank + b + 2, (m - b - 1) * sizeof(*rank));
		memmove(nid + b + 1, nid + b + 2, (m - b - 1) * sizeof(*nid));
		for (size_t i = b ? b - 1 : 0; i <= b && i + 1 < m; i++) {
			const struct wn_tok_pair *q = NULL;
			if (wn_tok_pair_maybe(t, sym[i], sym[i + 1]))
				q = wn_tok_pair_get(t, sym[i], sym[i + 1]);
			rank[i] = q ? q->rank : WN_TOK_NONE;
			nid[i] = q ? q->id : WN_TOK_NONE;
		}
		if (b + 1 == m)
			rank[b] = WN_TOK_NONE;
	}
	return m;
}

/* Whether token id (n >= 2 bytes at p) is valid, and its last merge.
 * Apart from find_tok, whose recursion it would deepen. */
static __attribute__((noinline)) int plain_merge(const struct wn_tokenizer *t, uint32_t id,
                                                 const unsigned char *p, size_t n, int *valid,
                                                 struct last_merge *lm)
{
	uint32_t sbuf[3 * 64];
	size_t lbuf[64];
	uint32_t *sym = sbuf;
	size_t *len = lbuf;
	if (n > 64) {
		sym = malloc(n * 3 * sizeof(*sym));
		len = malloc(n * sizeof(*len));
		if (!sym || !len) {
			free(sym);
			free(len);
			return WN_ENOMEM;
		}
	}
	size_t m = plain_bpe(t, p, n, sym, sym + n, sym + 2 * n, len, lm);
	*valid = m == 1 && sym[0] == id;
	if (sym != sbuf) {
		free(sym);
		free(len);
	}
	return WN_OK;
}

/* What k holds (state TOK_UNKNOWN while nothing). */
static inline void load_tok(const struct bt_tok *k, struct bt_info *out)
{
	uint64_t m = __atomic_load_n(&k->meta, __ATOMIC_ACQUIRE);
	uint64_t sp = __atomic_load_n(&k->split, __ATOMIC_RELAXED);
	out->time1 = (uint32_t)m;
	out->len = (uint32_t)(m >> 32) & 0xffff;
	out->state = (uint32_t)(m >> 48);
	out->left = (uint32_t)sp;
	out->right = (uint32_t)(sp >> 32);
}

static inline void store_tok(struct bt_tok *k, const struct bt_info *in)
{
	__atomic_store_n(&k->split, in->left | (uint64_t)in->right << 32, __ATOMIC_RELAXED);
	__atomic_store_n(&k->meta,
	                 in->time1 | (uint64_t)in->len << 32 | (uint64_t)in->state << 48,
	                 __ATOMIC_RELEASE);
}

static int find_tok(const struct wn_tokenizer *t, const struct wn_tok_bt *bt, uint32_t id,
                    struct bt_info *out);

/* Whether x, the part of a split of rank r made of the bytes p[0..n), is
 * a token of those bytes made before r, its tree in time order. */
static int part_ok(const struct wn_tokenizer *t, const struct wn_tok_bt *bt, uint32_t x,
                   const unsigned char *p, size_t n, uint32_t r, int *err)
{
	struct bt_info k;
	if (x >= t->n_ids || t->tok_len[x] != n || memcmp(t->arena + t->tok_off[x], p, n) != 0)
		return 0;
	if ((*err = find_tok(t, bt, x, &k)) < 0)
		return 0;
	return k.state == TOK_BASE || (k.state == TOK_VALID && k.time1 <= r);
}

/* What is known of token id, found and kept if not known yet. */
static int find_tok(const struct wn_tokenizer *t, const struct wn_tok_bt *bt, uint32_t id,
                    struct bt_info *out)
{
	load_tok(&bt->tok[id], out);
	if (out->state != TOK_UNKNOWN)
		return WN_OK;
	size_t n = t->tok_len[id];
	const unsigned char *p = (const unsigned char *)t->arena + t->tok_off[id];
	struct bt_info k = { 0, 0, 0, (uint32_t)n, TOK_BASE };
	if (n > 1) {
		struct last_merge lm = { 0, 0, 0, 0 };
		int valid, err = WN_OK;
		WN_TRY(plain_merge(t, id, p, n, &valid, &lm));
		if (!valid) {
			k.state = TOK_INVALID;
		} else if (part_ok(t, bt, lm.x, p, lm.xlen, lm.rank, &err) &&
		           part_ok(t, bt, lm.y, p + lm.xlen, n - lm.xlen, lm.rank, &err)) {
			k.state = TOK_VALID;
			k.left = lm.x;
			k.right = lm.y;
			k.time1 = lm.rank + 1;
		} else {
			k.state = TOK_UNORDERED;
		}
		if (err < 0)
			return err;
	}
	store_tok(&bt->tok[id], &k);
	*out = k;
	return WN_OK;
}

/* ---- the tries ------------------------------------------------------------ */

/* A token in a trie under construction: its bytes after the first two. */
struct item {
	uint64_t key; /* the first 8 of them, big-endian, zero-padded */
	uint32_t id, len;
	const char *rest; /* from the 9th */
};

static inline unsigned byte_at(const struct item *x, uint32_t d)
{
	return d < 8 ? (unsigned)(x->key >> (56 - 8 * d)) & 0xff : (unsigned char)x->rest[d - 8];
}

/* Whether x's bytes sort after y's. */
static inline int after(const struct item *x, const struct item *y)
{
	if (x->key != y->key)
		return x->key > y->key;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = n > 8 ? memcmp(x->rest, y->rest, n - 8) : 0;
	return c > 0 || (c == 0 && x->len > y->len);
}

static void insertion_sort(struct item *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct item x = v[i];
		size_t j = i;
		while (j > 0 && after(&v[j - 1], &x)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Sort by bytes: an LSD radix sort by (key, length) for many, then by the
 * rest among those with the same key. */
static int sort_items(struct item *v, size_t n, uint32_t max_len)
{
	if (n <= 64) {
		insertion_sort(v, n);
		return WN_OK;
	}
	struct item *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return WN_ENOMEM;
	int passes = max_len > 0xffff ? 4 : max_len > 0xff ? 2 : 1;
	for (int pass = 0; pass < passes + 8; pass++) {
		size_t count[257] = { 0 };
#define DIGIT(x)                                                               \
	(pass < passes ? (x)->len >> (8 * pass) & 0xff                         \
	               : (unsigned)((x)->key >> (8 * (pass - passes))) & 0xff)
		for (size_t i = 0; i < n; i++)
			count[DIGIT(&v[i]) + 1]++;
		if (count[DIGIT(&v[0]) + 1] == n)
			continue; /* one digit for all: the order stands */
		for (int k = 1; k < 257; k++)
			count[k] += count[k - 1];
		for (size_t i = 0; i < n; i++)
			tmp[count[DIGIT(&v[i])]++] = v[i];
#undef DIGIT
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(tmp);
	/* the same key and by length: only longer ones can be out of order */
	for (size_t i = 1; i < n; i++) {
		if (v[i].len <= 8 || !after(&v[i - 1], &v[i]))
			continue;
		struct item x = v[i];
		size_t j = i;
		while (j > 0 && after(&v[j - 1], &x)) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
	return WN_OK;
}

/* The length of the common prefix of x and y. */
static inline uint32_t common(const struct item *x, const struct item *y)
{
	uint32_t n = x->len < y->len ? x->len : y->len, l;
	uint64_t d = x->key ^ y->key;
	if (d) {
		l = (uint32_t)__builtin_clzll(d) / 8;
	} else {
		l = 8;
		while (l < n && x->rest[l - 8] == y->rest[l - 8])
			l++;
	}
	return l < n ? l : n;
}

/* The nodes in depth-first order, as the sorted tokens spell them. */
struct pre {
	uint32_t parent, token, depth;
	uint8_t label;
};

/*
 * The trie of the tokens ids[0..g): sort them, make the nodes depth first
 * (each token adds those for its bytes after its common prefix with the
 * one before), then number them breadth first: by depth, in depth-first
 * order within a depth, which keeps the children of a node together and
 * in byte order.
 */
static int build_sub(const struct wn_tokenizer *t, const uint32_t *ids, size_t g,
                     struct bt_sub *out)
{
	size_t total = 1;
	uint32_t max_len = 0;
	for (size_t i = 0; i < g; i++) {
		uint32_t len = t->tok_len[ids[i]] - 2;
		total += len;
		max_len = len > max_len ? len : max_len;
	}
	struct bt_sub sub = { NULL, NULL, 0, 0, 0, { 0 } }, *s = &sub;
	struct item *v = malloc(g * sizeof(*v));
	struct pre *pre = malloc(total * sizeof(*pre));
	uint32_t *stack = malloc(((size_t)max_len + 1) * sizeof(*stack));
	uint32_t *bfs = malloc(total * sizeof(*bfs));
	uint32_t *start = calloc((size_t)max_len + 2, sizeof(*start));
	int st = WN_ENOMEM;
	if (!v || !pre || !stack || !bfs || !start)
		goto out;
	for (size_t i = 0; i < g; i++) {
		uint32_t id = ids[i], len = t->tok_len[id] - 2;
		const char *b = t->arena + t->tok_off[id] + 2;
		uint64_t key = 0;
		for (uint32_t k = 0; k < 8; k++)
			key = key << 8 | (k < len ? (unsigned char)b[k] : 0);
		v[i] = (struct item){ key, id, len, b + 8 };
	}
	if ((st = sort_items(v, g, max_len)) < 0)
		goto out;
	st = WN_ENOMEM;

	uint32_t n = 1;
	pre[0] = (struct pre){ WN_TOK_NONE, WN_TOK_NONE, 0, 0 };
	stack[0] = 0;
	for (size_t i = 0; i < g; i++) {
		uint32_t d = i ? common(&v[i - 1], &v[i]) : 0;
		assert(i == 0 || d < v[i].len);
		for (; d < v[i].len; d++) {
			pre[n] = (struct pre){ stack[d], WN_TOK_NONE, d + 1,
			                       (uint8_t)byte_at(&v[i], d) };
			stack[d + 1] = n++;
		}
		pre[stack[d]].token = v[i].id;
	}

	s->node = calloc((size_t)n + 1, sizeof(*s->node));
	s->label = calloc((size_t)n + 16, 1);
	if (!s->node || !s->label)
		goto out;
	for (uint32_t u = 0; u < n; u++)
		start[pre[u].depth + 1]++;
	for (uint32_t d = 1; d <= max_len + 1; d++)
		start[d] += start[d - 1];
	for (uint32_t u = 0; u <= n; u++)
		s->node[u].first = WN_TOK_NONE;
	for (uint32_t u = 0; u < n; u++) {
		uint32_t b = bfs[u] = start[pre[u].depth]++;
		s->label[b] = pre[u].label;
		s->node[b].token = pre[u].token;
		if (u) {
			/* parents come first in depth-first order */
			uint32_t *f = &s->node[bfs[pre[u].parent]].first;
			if (b < *f)
				*f = b;
		}
	}
	/* a node without children: none between its first and the next's */
	s->node[n].first = n;
	s->node[n].token = WN_TOK_NONE;
	for (uint32_t u = n; u-- > 0;)
		if (s->node[u].first == WN_TOK_NONE)
			s->node[u].first = s->node[u + 1].first;
	for (uint32_t u = 0; u < n; u++) {
		uint32_t a = s->node[u].first, cnt = s->node[u + 1].first - a;
		uint64_t f = 0xff;
		if (cnt <= FEW) {
			f = cnt;
			for (uint32_t i = 0; i < cnt; i++)
				f |= (uint64_t)s->label[a + i] << (8 * (i + 1));
		}
		s->node[u].few = f;
	}
	s->n = n;
	s->token = s->node[0].token;
	s->n0 = s->node[1].first - 1;
	*out = sub;
	st = WN_OK;
out:
	if (st < 0) {
		free(s->node);
		free(s->label);
	}
	free(v);
	free(pre);
	free(stack);
	free(bfs);
	free(start);
	return st;
}

static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

/* The trie for the two bytes k, built by its first user.  The tables are a
 * cache (like whole_memo): t is shared read-only by encoders otherwise. */
static __attribute__((noinline)) int make_sub(const struct wn_tokenizer *t,
                                              const struct wn_tok_bt *bt, unsigned k)
{
	struct bt_sub *e = &bt->sub[k];
	uint32_t a = bt->start[k], g = bt->start[k + 1] - a;
	int st = WN_OK;
	pthread_mutex_lock(&build_lock);
	if (!__atomic_load_n(&e->node, __ATOMIC_ACQUIRE)) {
		struct bt_sub s = { no_nodes, NULL, 0, WN_TOK_NONE, 0, { 0 } };
		if (g)
			st = build_sub(t, bt->ids + a, g, &s);
		if (st >= 0) {
			/* the rest first: a reader that sees node sees it */
			e->label = s.label;
			e->n = s.n;
			e->token = s.token;
			e->n0 = s.n0;
			memcpy(e->label0, s.label + 1, s.n0 < ROOT_LABELS ? s.n0 : ROOT_LABELS);
			__atomic_store_n(&e->node, s.node, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&build_lock);
	return st;
}

/* The trie of the two bytes k (b0 | b1 << 8). */
static inline int sub_of(const struct wn_tokenizer *t, const struct wn_tok_bt *bt, unsigned k,
                         const struct bt_sub **out)
{
	*out = &bt->sub[k];
	return __atomic_load_n(&bt->sub[k].node, __ATOMIC_ACQUIRE) ? WN_OK : make_sub(t, bt, k);
}

/* The index of byte c in l[0..n), or n.  The bytes after are readable: they
 * are compared 16 at a time. */
static inline uint32_t find_label(const uint8_t *l, uint32_t n, unsigned c)
{
#ifdef __SSE2__
	__m128i cv = _mm_set1_epi8((char)c);
	for (uint32_t i = 0; i < n; i += 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(
		        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(l + i)), cv));
		if (n - i < 16)
			m &= (1u << (n - i)) - 1;
		if (m)
			return i + (uint32_t)__builtin_ctz(m);
	}
#else
	for (uint32_t i = 0; i < n; i++)
		if (l[i] == c)
			return i;
#endif
	return n;
}

/* The child by byte c of a node whose n children start at node lo, or 0
 * (the labels are padded). */
static inline uint32_t find_child(const struct bt_sub *s, uint32_t lo, uint32_t n, unsigned c)
{
	uint32_t i = find_label(s->label + lo, n, c);
	return i < n ? lo + i : 0;
}

static inline uint32_t child(const struct bt_sub *s, uint32_t v, unsigned c)
{
	const struct bt_node *nd = &s->node[v];
	uint64_t f = nd->few;
	unsigned n = (unsigned)f & 0xff;
	if (n <= FEW) {
		/* the lowest byte of f equal to c, byte 0 excluded */
		uint64_t x = (f ^ 0x0101010101010101ull * c) | 0xff;
		uint64_t z = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
		unsigned i = z ? (unsigned)__builtin_ctzll(z) / 8 : 8;
		return i <= n ? nd->first + i - 1 : 0;
	}
	return find_child(s, nd->first, nd[1].first - nd->first, c);
}

static inline uint32_t root_child(const struct bt_sub *s, unsigned c)
{
	if (s->n0 > ROOT_LABELS)
		return find_child(s, 1, s->n0, c);
#ifdef __SSE2__
	/* All of label0 at once, without a branch on where c is (a search
	 * that stops at c mispredicts on random text): bytes 0 to 31, and
	 * the last 16 (20 to 35), of which 32 to 35 are new. */
	_Static_assert(ROOT_LABELS == 36, "root_child compares 36 labels");
	__m128i cv = _mm_set1_epi8((char)c);
	const uint8_t *l = s->label0;
	unsigned m0 = (unsigned)_mm_movemask_epi8(
	        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)l), cv));
	unsigned m1 = (unsigned)_mm_movemask_epi8(
	        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(l + 16)), cv));
	unsigned m2 = (unsigned)_mm_movemask_epi8(
	        _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(l + 20)), cv));
	uint64_t m = m0 | (uint64_t)m1 << 16 | (uint64_t)(m2 >> 12) << 32;
	m &= ((uint64_t)1 << s->n0) - 1;
	return m ? 1 + (uint32_t)__builtin_ctzll(m) : 0;
#else
	uint32_t i = find_label(s->label0, s->n0, c);
	return i < s->n0 ? 1 + i : 0;
#endif
}

/* Walk along p[0..n) (n >= 1) as far as the tokens go. */
static __attribute__((noinline)) int walk_on(const struct wn_tokenizer *t,
                                             const struct wn_tok_bt *bt, struct bt_walk *w,
                                             const unsigned char *p, size_t n)
{
	size_t d;
	uint32_t v;
	const struct bt_sub *s = w->sub;
	if (p == w->at && (!w->full || n <= w->depth))
		return WN_OK; /* the same walk, not longer */
	if (w->depth >= MEMO_DEPTH && n >= 2 && p[0] == w->at[0] && p[1] == w->at[1]) {
		/* the same bytes as the last walk: the same nodes */
		size_t lim = w->depth + !w->full, l = 2;
		lim = lim < n ? lim : n;
		if (memcmp(p, w->at, lim) == 0)
			l = lim;
		else
			while (l < lim && p[l] == w->at[l])
				l++;
		w->at = p;
		if (!w->full && l == w->depth + 1)
			return WN_OK;
		d = l < w->depth ? l : w->depth;
		v = w->node[d];
	} else {
		w->at = p;
		w->tok[1] = t->byte_id[p[0]];
		w->depth = d = 1;
		w->full = n == 1;
		if (n == 1)
			return WN_OK;
		const struct bt_two *e = &bt->two[(unsigned)p[0] << 8 | p[1]];
		w->tok[2] = e->id;
		w->depth = 2;
		w->full = n == 2;
		if (n == 2)
			return WN_OK;
		/* the trie only when a token may go on with the third byte */
		if (!(e->third >> (p[2] % 64) & 1))
			return WN_OK;
		w->full = 0;
		WN_TRY(sub_of(t, bt, p[0] | (unsigned)p[1] << 8, &s));
		w->sub = s;
		w->node[2] = 0;
		/* node 0's children from the table */
		v = root_child(s, p[2]);
		if (!v)
			return WN_OK;
		d = 3;
		w->node[3] = v;
		w->tok[3] = s->node[v].token;
	}
	for (; d < n; d++) {
		uint32_t c = child(s, v, p[d]);
		if (!c) {
			w->depth = d;
			w->full = 0;
			return WN_OK;
		}
		v = c;
		w->node[d + 1] = v;
		w->tok[d + 1] = s->node[v].token;
	}
	w->depth = d;
	w->full = 1;
	return WN_OK;
}

/* The token of the bytes q[0..m) (m >= 2), or WN_TOK_NONE. */
static __attribute__((noinline)) int token_deep(const struct wn_tokenizer *t,
                                                const struct wn_tok_bt *bt,
                                                const unsigned char *q, size_t m,
                                                uint32_t *id)
{
	const struct bt_sub *s;
	WN_TRY(sub_of(t, bt, q[0] | (unsigned)q[1] << 8, &s));
	uint32_t v = root_child(s, q[2]);
	for (size_t d = 3; v && d < m; d++)
		v = child(s, v, q[d]);
	*id = v ? s->node[v].token : WN_TOK_NONE;
	return WN_OK;
}

static inline int token_of(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                           const unsigned char *q, size_t m, uint32_t *id)
{
	const struct bt_two *e = &bt->two[(unsigned)q[0] << 8 | q[1]];
	if (m == 2) {
		*id = e->id;
		return WN_OK;
	}
	if (!(e->third >> (q[2] % 64) & 1)) {
		*id = WN_TOK_NONE;
		return WN_OK;
	}
	return token_deep(t, bt, q, m, id);
}

/* Walk along p[0..n) (n >= 1) as far as the tokens go: most walks in text
 * without white space end after two bytes, which the table tells. */
static inline int walk(const struct wn_tokenizer *t, const struct wn_tok_bt *bt, struct bt_walk *w,
                       const unsigned char *p, size_t n)
{
	if (n >= 3 && w->depth < MEMO_DEPTH) {
		const struct bt_two *e = &bt->two[(unsigned)p[0] << 8 | p[1]];
		if (!(e->third >> (p[2] % 64) & 1)) {
			w->at = p;
			w->tok[1] = t->byte_id[p[0]];
			w->tok[2] = e->id;
			w->depth = 2;
			w->full = 0;
			return WN_OK;
		}
	}
	return walk_on(t, bt, w, p, n);
}

/* The same for m >= 3. */
static inline int token_of3(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                            const unsigned char *q, size_t m, uint32_t *id)
{
	const struct bt_two *e = &bt->two[(unsigned)q[0] << 8 | q[1]];
	if (!(e->third >> (q[2] % 64) & 1)) {
		*id = WN_TOK_NONE;
		return WN_OK;
	}
	return token_deep(t, bt, q, m, id);
}

/* What is known of the token at node v of s, found and kept if not known
 * yet (node v has a token). */
static __attribute__((noinline)) int node_fill(const struct wn_tokenizer *t,
                                               const struct wn_tok_bt *bt,
                                               const struct bt_sub *s, uint32_t v)
{
	struct bt_info k;
	WN_TRY(find_tok(t, bt, s->node[v].token, &k));
	store_tok((struct bt_tok *)&s->node[v].info, &k);
	return WN_OK;
}

/* ---- the tables, once per tokenizer --------------------------------------- */

void wn_tok_bt_free(struct wn_tok_bt *bt)
{
	if (!bt)
		return;
	if (bt->sub)
		for (size_t k = 0; k < 65536; k++)
			if (bt->sub[k].node != no_nodes) {
				free(bt->sub[k].node);
				free(bt->sub[k].label);
			}
	free(bt->sub_mem);
	free(bt->start);
	free(bt->ids);
	free(bt->tok);
	free(bt->two);
	free(bt);
}

/* The ordinary tokens of two bytes or more, with their first two bytes:
 * tiktoken's are all the ids but the special tokens' (read in id order,
 * as the arena holds them); Hugging Face's those in the hash. */
static uint64_t *ordinary_tokens(const struct wn_tokenizer *t, size_t *n)
{
	size_t cap = t->kind == WN_TOK_TIKTOKEN ? t->n_ids : (size_t)t->slot_mask + 1, k = 0;
	uint64_t *v = malloc((cap ? cap : 1) * sizeof(*v));
	if (!v)
		return NULL;
	if (t->kind == WN_TOK_TIKTOKEN) {
		uint8_t *special = calloc(t->n_ids, 1);
		if (!special) {
			free(v);
			return NULL;
		}
		for (uint32_t a = 0; a < t->n_added; a++)
			special[t->added[a].id] = 1;
		for (uint32_t id = 0; id < t->n_ids; id++) {
			if (t->tok_len[id] < 2 || special[id])
				continue;
			const unsigned char *b = (const unsigned char *)t->arena + t->tok_off[id];
			v[k++] = (uint64_t)(b[0] | (unsigned)b[1] << 8) << 32 | id;
		}
		free(special);
	} else {
		for (size_t i = 0; i <= t->slot_mask; i++)
			if (t->slots[i].len >= 2)
				v[k++] = (t->slots[i].head & 0xffff) << 32 | t->slots[i].id;
	}
	*n = k;
	return v;
}

/* The tokens by their first two bytes (a counting sort). */
static int group_tokens(const struct wn_tokenizer *t, struct wn_tok_bt *bt)
{
	size_t n = 0;
	uint64_t *v = ordinary_tokens(t, &n);
	bt->start = calloc(65537, sizeof(*bt->start));
	bt->ids = malloc((n ? n : 1) * sizeof(*bt->ids));
	uint32_t *at = malloc(65536 * sizeof(*at));
	int st = WN_ENOMEM;
	if (v && bt->start && bt->ids && at) {
		for (size_t i = 0; i < n; i++)
			bt->start[(v[i] >> 32) + 1]++;
		for (size_t k = 1; k <= 65536; k++)
			bt->start[k] += bt->start[k - 1];
		memcpy(at, bt->start, 65536 * sizeof(*at));
		for (size_t i = 0; i < n; i++)
			bt->ids[at[v[i] >> 32]++] = (uint32_t)v[i];
		st = WN_OK;
	}
	free(v);
	free(at);
	return st;
}

/*
 * What the walks need of the first two bytes, for all of them at once: most
 * walks in text without white space end there, and this table is a fraction
 * of the size of the tries' (which they then need not touch).  A token of
 * two bytes is valid when its two bytes merge (into it); what is known of
 * it is found here.
 */
static int two_bytes(const struct wn_tokenizer *t, struct wn_tok_bt *bt)
{
	bt->two = malloc(65536 * sizeof(*bt->two));
	if (!bt->two)
		return WN_ENOMEM;
	for (unsigned k = 0; k < 65536; k++) {
		unsigned b0 = k & 0xff, b1 = k >> 8, pk = b0 << 8 | b1;
		/* WN_TOK_NONE + 1 is 0 */
		struct bt_two x = { WN_TOK_NONE, t->byte_pair_rank[pk] + 1, 0 };
		for (uint32_t i = bt->start[k]; i < bt->start[k + 1]; i++) {
			uint32_t id = bt->ids[i];
			if (t->tok_len[id] == 2) {
				if (t->byte_pair_id[pk] == id)
					x.id = id;
				continue;
			}
			x.third |= 1ull << ((unsigned char)t->arena[t->tok_off[id] + 2] % 64);
		}
		bt->two[pk] = x;
		if (x.id != WN_TOK_NONE) {
			struct bt_info k2 = { t->byte_id[b0], t->byte_id[b1], x.time1, 2, TOK_VALID };
			store_tok(&bt->tok[x.id], &k2);
		}
	}
	return WN_OK;
}

static int build(const struct wn_tokenizer *t, struct wn_tok_bt **out)
{
	struct wn_tok_bt *bt = calloc(1, sizeof(*bt));
	if (!bt)
		return WN_ENOMEM;
	/* Every byte must be a symbol of its own (tiktoken's files have them
	 * all; a Hugging Face vocabulary may lack some), and ids fit the
	 * compatibility cache.  find_tok recurses once per level of a
	 * token's tree: longer tokens than any real vocabulary's are left to
	 * the merge loop, with the stack. */
	if (!t->bytes_complete || t->n_ids >= (1u << 31) || t->max_len > MAX_TOKEN) {
		*out = bt;
		return WN_OK;
	}
	bt->tok = calloc(t->n_ids, sizeof(*bt->tok));
	/* aligned to the cache lines; one more entry: the labels of the last
	 * are read 16 at a time.  Untouched pages stay unmapped. */
	bt->sub_mem = calloc(65537 * sizeof(*bt->sub) + 64, 1);
	if (bt->sub_mem)
		bt->sub = (struct bt_sub *)(((uintptr_t)bt->sub_mem + 63) & ~(uintptr_t)63);
	int st = bt->tok && bt->sub ? group_tokens(t, bt) : WN_ENOMEM;
	if (st < 0) {
		wn_tok_bt_free(bt);
		return st;
	}
	for (int c = 0; c < 256; c++) {
		struct bt_info k = { 0, 0, 0, 1, TOK_BASE };
		store_tok(&bt->tok[t->byte_id[c]], &k);
	}
	if ((st = two_bytes(t, bt)) < 0) {
		wn_tok_bt_free(bt);
		return st;
	}
	bt->usable = 1;
	*out = bt;
	return WN_OK;
}

/* The tables of t, built by the first caller. */
static int tables(const struct wn_tokenizer *t, const struct wn_tok_bt **out)
{
	struct wn_tok_bt **slot = (struct wn_tok_bt **)&t->bt;
	struct wn_tok_bt *bt = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	int st = WN_OK;
	if (!bt) {
		pthread_mutex_lock(&build_lock);
		bt = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
		if (!bt && (st = build(t, &bt)) >= 0)
			__atomic_store_n(slot, bt, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&build_lock);
	}
	*out = bt;
	return st;
}

/* ---- compatibility -------------------------------------------------------- */

/*
 * The search keeps what is known of a token as the two words of struct
 * bt_tok: meta (time1, len, state) and split (left, right).
 */
static inline uint32_t m_time1(uint64_t m)
{
	return (uint32_t)m;
}

static inline uint32_t m_len(uint64_t m)
{
	return (uint32_t)(m >> 32) & 0xffff;
}

static inline uint32_t m_state(uint64_t m)
{
	return (uint32_t)(m >> 48);
}

#define BYTE_META ((uint64_t)1 << 32 | (uint64_t)TOK_BASE << 48)

static inline void load_words(const struct bt_tok *k, uint64_t *m, uint64_t *sp)
{
	*m = __atomic_load_n(&k->meta, __ATOMIC_ACQUIRE);
	*sp = __atomic_load_n(&k->split, __ATOMIC_RELAXED);
}

/*
 * Whether BPE leaves a (ending at pos) and b apart: walk back through the
 * pairs across their boundary, undoing the later of the two sides' last
 * merges each time; a pair merges if its rank is below limit.  (xm, xs)
 * and (ym, ys) are what is known of the symbols left and right of pos.
 *
 * tiktoken: two symbols merge when their bytes together are a token, of
 * that rank; those bytes are the text's around pos, found by the byte-pair
 * table or the trie (by w0 when it is the walk from where the left one
 * starts).  Hugging Face: the merges decide, by the pair table.
 */
static inline __attribute__((always_inline)) int
compatible_walk(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                struct wn_tok_bt_scratch *s, const struct bt_walk *w0, const unsigned char *p,
                size_t pos, uint32_t a, uint64_t xm, uint64_t xs, uint32_t b, uint64_t ym,
                uint64_t ys, int *res)
{
	uint32_t limit = WN_TOK_NONE;
	/* the walk from where a starts, while it does */
	const struct bt_walk *w = w0->at == p + pos - m_len(xm) ? w0 : NULL;
	int tiktoken = t->kind == WN_TOK_TIKTOKEN;
	for (;;) {
		uint32_t c;
		size_t xl = m_len(xm), n = xl + m_len(ym);
		if (!tiktoken) {
			const struct wn_tok_pair *q = NULL;
			if (wn_tok_pair_maybe(t, a, b))
				q = wn_tok_pair_get(t, a, b);
			c = q ? q->rank : WN_TOK_NONE;
		} else if (w) {
			c = n <= w->depth ? w->tok[n] : WN_TOK_NONE;
		} else {
			WN_TRY(token_of(t, bt, p + pos - xl, n, &c));
		}
		if (c < limit) {
			*res = 0;
			return WN_OK;
		}
		if (m_time1(xm) > m_time1(ym)) {
			/* a was made last: before, the left symbol was its
			 * right part, until a's merge, which wins ties */
			limit = m_time1(xm) - 1;
			a = (uint32_t)(xs >> 32);
			w = NULL;
			load_words(&bt->tok[a], &xm, &xs);
		} else if (m_time1(ym)) {
			/* b was made last (or at the same rank, right of a's
			 * merge): the pair across wins a tie with it */
			limit = m_time1(ym);
			b = (uint32_t)ys;
			load_words(&bt->tok[b], &ym, &ys);
		} else {
			*res = 1;
			return WN_OK;
		}
	}
}

/* The same, with a cache for long tokens: short ones are quicker to check
 * than to look up, and too many to keep. */
static inline int compatible(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                             struct wn_tok_bt_scratch *s, const struct bt_walk *w0,
                             const unsigned char *p, size_t pos, uint32_t a, uint64_t xm,
                             uint64_t xs, uint32_t b, uint64_t ym, uint64_t ys, int *res)
{
	if (m_len(xm) + m_len(ym) <= COMPAT_SHORT)
		return compatible_walk(t, bt, s, w0, p, pos, a, xm, xs, b, ym, ys, res);
	uint64_t h = ((uint64_t)a << 32 | b) * 0x9E3779B97F4A7C15ull;
	struct bt_compat *c = &s->compat[h >> (64 - COMPAT_BITS)];
	if (c->a == a && (c->b & 0x7fffffffu) == b) {
		*res = (int)(c->b >> 31);
		return WN_OK;
	}
	WN_TRY(compatible_walk(t, bt, s, w0, p, pos, a, xm, xs, b, ym, ys, res));
	c->a = a;
	c->b = b | (uint32_t)*res << 31;
	return WN_OK;
}

/* ---- the search ----------------------------------------------------------- */

static int reserve(struct wn_tok_bt_scratch *s, size_t n, size_t max_len)
{
	size_t words = (n + 1 + 63) / 64;
	if (words > s->dead_words) {
		uint64_t *d = realloc(s->dead, words * sizeof(*d));
		if (!d)
			return WN_ENOMEM;
		s->dead = d;
		s->dead_words = words;
	}
	if (max_len + 1 > s->walk_cap) {
		for (int i = 0; i < WALKS; i++) {
			struct bt_walk *x = &s->cand[i];
			uint32_t *a = realloc(x->node, (max_len + 1) * sizeof(*a));
			if (a)
				x->node = a;
			uint32_t *b = realloc(x->tok, (max_len + 1) * sizeof(*b));
			if (b)
				x->tok = b;
			if (!a || !b)
				return WN_ENOMEM;
		}
		s->walk_cap = max_len + 1;
	}
	if (!s->compat) {
		s->compat = malloc(sizeof(*s->compat) << COMPAT_BITS);
		if (!s->compat)
			return WN_ENOMEM;
		memset(s->compat, 0xff, sizeof(*s->compat) << COMPAT_BITS);
	}
	return WN_OK;
}

void wn_tok_bt_scratch_free(struct wn_tok_bt_scratch *s)
{
	if (!s)
		return;
	free(s->dead);
	for (int i = 0; i < WALKS; i++) {
		free(s->cand[i].node);
		free(s->cand[i].tok);
	}
	free(s->compat);
	free(s);
}

static inline int is_dead(const uint64_t *dead, size_t pos)
{
	return (int)(dead[pos >> 6] >> (pos & 63) & 1);
}

/*
 * The order of the candidates at a position: the previous token first
 * when it is one (REPEAT: a run of one byte, or a few, repeats a token,
 * and the longer ones compatible with it lead to dead ends), then the
 * others longest first (PLAIN), except those that will most likely lead
 * to a dead end, which come last (RISKY).
 */
enum { REPEAT, PLAIN, RISKY };

/*
 * Whether a token (meta m, split sp) ending at e will most likely leave
 * no compatible token after it: its last byte y and the next byte z
 * (a pair of rank r) would merge before y joins the token (the rank of the
 * lowest merge on its right spine), and before z and the byte after it.
 * Only the order of the search depends on it.
 */
static inline int risky(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                        const unsigned char *p, size_t n, size_t e, uint64_t m, uint64_t sp)
{
	if (e >= n)
		return 0;
	uint32_t r = bt->two[(unsigned)p[e - 1] << 8 | p[e]].time1 - 1;
	if (r == WN_TOK_NONE ||
	    (e + 1 < n && bt->two[(unsigned)p[e] << 8 | p[e + 1]].time1 - 1 <= r))
		return 0;
	uint32_t low = m_time1(m);
	if (m_len(m) == 2)
		return r + 1 < low;
	while (m_len(m) > 1) {
		low = m_time1(m);
		load_words(&bt->tok[(uint32_t)(sp >> 32)], &m, &sp);
	}
	return r + 1 < low;
}

/*
 * tiktoken: whether BPE leaves a (meta xm, split xs; ending at pos) and b
 * apart, as compatible_walk, with the rank of two symbols found from the
 * text: by w0 (the walk from where a starts, if it is that) while a is
 * whole, else by the tables.
 */
static inline __attribute__((always_inline)) int
compatible_text(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                const struct bt_walk *w0, const unsigned char *p, size_t pos, uint64_t xm,
                uint64_t xs, uint64_t ym, uint64_t ys, int *res)
{
	uint32_t limit = WN_TOK_NONE;
	size_t xl = m_len(xm), yl = m_len(ym);
	const struct bt_walk *w = w0->at == p + pos - xl ? w0 : NULL;
	for (;;) {
		uint32_t c;
		if (w)
			c = xl + yl <= w->depth ? w->tok[xl + yl] : WN_TOK_NONE;
		else if (xl + yl == 2)
			c = bt->two[(unsigned)p[pos - 1] << 8 | p[pos]].id;
		else
			WN_TRY(token_of3(t, bt, p + pos - xl, xl + yl, &c));
		if (c < limit) {
			*res = 0;
			return WN_OK;
		}
		uint32_t tx = m_time1(xm), ty = m_time1(ym);
		if (tx > ty) {
			limit = tx - 1;
			load_words(&bt->tok[(uint32_t)(xs >> 32)], &xm, &xs);
			xl = m_len(xm);
			w = NULL;
		} else if (ty) {
			limit = ty;
			load_words(&bt->tok[(uint32_t)ys], &ym, &ys);
			yl = m_len(ym);
		} else {
			*res = 1;
			return WN_OK;
		}
	}
}

/*
 * tiktoken, the common steps of text without white space: tokens of one or
 * two bytes after one of one or two, where no longer token starts.  The
 * search as below (same order of candidates, same answers), with what it
 * looks up known beforehand: the ranks of the pairs of bytes around pos,
 * from one table.  Compatibility (compatible_text) reduces to:
 *
 *   a (la bytes, time ta), b (lb, tb); c(i, j) the rank of the bytes from
 *   i before pos to j after; all must be WN_TOK_NONE or at least as shown:
 *     c(la, lb) none
 *     la 1, lb 2:  c(1, 1) >= tb
 *     la 2, lb 1:  c(1, 1) >= ta - 1
 *     la 2, lb 2:  ta > tb ? c(1, 2) >= ta - 1 and c(1, 1) >= tb
 *                          : c(2, 1) >= tb and c(1, 1) >= ta - 1
 *
 * Returns at the first step it does not take (the search then makes it), or
 * at the end of the text.
 */
static int short_steps(const struct wn_tokenizer *t, const struct wn_tok_bt *bt,
                       struct wn_tok_bt_scratch *s, const unsigned char *p, size_t n,
                       uint32_t *sym, size_t *kp, size_t *posp, uint64_t *lmp, uint64_t *lsp)
{
	size_t k = *kp, pos = *posp;
	uint64_t lm = *lmp, ls = *lsp;
	const uint64_t *dead = s->dead;
	int st = WN_OK;
	/* the walk from where the last token starts: in s->cand, or (w0 NULL)
	 * one that ended after two bytes, which is all it tells */
	const struct bt_walk *w0 = &s->cand[(k - 1) % WALKS];
	if (m_len(lm) > 2 || w0->at != p + pos - m_len(lm))
		return WN_OK;
	while (pos + 3 < n) {
		size_t la = m_len(lm);
		uint32_t ta = m_time1(lm);
		const struct bt_two *b2 = &bt->two[(unsigned)p[pos] << 8 | p[pos + 1]];
		const struct bt_walk *w = NULL;
		if (b2->third >> (p[pos + 2] % 64) & 1) {
			/* a longer token may start here: the steps below only
			 * when none does */
			struct bt_walk *x = &s->cand[k % WALKS];
			if ((st = walk_on(t, bt, x, p + pos, n - pos)) < 0)
				break;
			size_t c = x->depth;
			while (c > 2 && x->tok[c] == WN_TOK_NONE)
				c--;
			if (c > 2)
				break;
			w = x;
		}
		uint32_t tb = b2->time1;
		const struct bt_two *e11 = &bt->two[(unsigned)p[pos - 1] << 8 | p[pos]];
		uint32_t c11 = e11->id;
		int ok1, ok2 = 0, risky2 = 0;
		if (w0) {
			size_t d0 = w0->depth;
#define T0(l) ((l) <= d0 ? w0->tok[l] : WN_TOK_NONE)
			ok1 = T0(la + 1) == WN_TOK_NONE && (la == 1 || c11 >= ta - 1);
			if (b2->id != WN_TOK_NONE) {
				ok2 = T0(la + 2) == WN_TOK_NONE;
				if (ok2 && la == 1) {
					ok2 = c11 >= tb;
				} else if (ok2 && ta > tb) {
					uint32_t c12;
					if ((st = token_of3(t, bt, p + pos - 1, 3, &c12)) < 0)
						break;
					ok2 = c12 >= ta - 1 && c11 >= tb;
				} else if (ok2) {
					ok2 = T0(3) >= tb && c11 >= ta - 1;
				}
			}
#undef T0
		} else {
			/* no token of three bytes or more where a starts */
			ok1 = la == 1 ? c11 == WN_TOK_NONE : c11 >= ta - 1;
			if (b2->id != WN_TOK_NONE) {
				if (la == 1) {
					ok2 = c11 >= tb;
				} else if (ta > tb) {
					uint32_t c12 = WN_TOK_NONE;
					if ((e11->third >> (p[pos + 1] % 64) & 1) &&
					    (st = token_of3(t, bt, p + pos - 1, 3, &c12)) < 0)
						break;
					ok2 = c12 >= ta - 1 && c11 >= tb;
				} else {
					ok2 = c11 >= ta - 1;
				}
			}
		}
		ok1 = ok1 && !is_dead(dead, pos + 1);
		if (ok2) {
			ok2 = !is_dead(dead, pos + 2);
			uint32_t r = bt->two[(unsigned)p[pos + 1] << 8 | p[pos + 2]].time1 - 1;
			uint32_t r3 = bt->two[(unsigned)p[pos + 2] << 8 | p[pos + 3]].time1 - 1;
			risky2 = r != WN_TOK_NONE && r3 > r && r + 1 < tb;
		}
		size_t rep = la == 1 ? (p[pos] == p[pos - 1]) : (b2->id == sym[k - 1]) * 2;
		size_t c;
		if (rep && (rep == 1 ? ok1 : ok2))
			c = rep;
		else if (ok2 && !risky2)
			c = 2;
		else if (ok1)
			c = 1;
		else if (ok2)
			c = 2;
		else
			break;
		if (c == 1) {
			sym[k++] = t->byte_id[p[pos]];
			lm = BYTE_META;
			ls = 0;
		} else {
			sym[k++] = b2->id;
			lm = (uint64_t)tb | (uint64_t)2 << 32 | (uint64_t)TOK_VALID << 48;
			ls = t->byte_id[p[pos]] | (uint64_t)t->byte_id[p[pos + 1]] << 32;
		}
		pos += c;
		w0 = w;
	}
	*kp = k;
	*posp = pos;
	*lmp = lm;
	*lsp = ls;
	return st;
}

int wn_tok_merge_backtrack(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *scratch,
                           const unsigned char *p, size_t n, uint32_t *sym, size_t *m)
{
	const struct wn_tok_bt *bt;
	WN_TRY(tables(t, &bt));
	if (!bt->usable || n == 0)
		return WN_TOK_BT_DECLINE;
	if (!scratch->bt) {
		scratch->bt = calloc(1, sizeof(*scratch->bt));
		if (!scratch->bt)
			return WN_ENOMEM;
	}
	struct wn_tok_bt_scratch *s = scratch->bt;
	WN_TRY(reserve(s, n, t->max_len));
	memset(s->dead, 0, ((n + 1 + 63) / 64) * sizeof(uint64_t));
	/* the walks kept are of another text */
	for (int i = 0; i < WALKS; i++) {
		s->cand[i].at = NULL;
		s->cand[i].depth = 0;
	}
	const int tiktoken = t->kind == WN_TOK_TIKTOKEN;
	uint64_t *dead = s->dead;
	size_t pos = 0, k = 0, d, rep = 0;
	int phase = PLAIN;
	uint64_t lm = 0, ls = 0; /* what is known of sym[k - 1] */
	struct bt_walk *w = &s->cand[0];
	WN_TRY(walk(t, bt, w, p, n));
	d = w->depth;
	for (;;) {
		/* the next candidate, in the order told at REPEAT */
		size_t c;
		if (phase == REPEAT) {
			c = rep;
			phase = PLAIN;
		} else if (d > 0) {
			c = d--;
			if (c == rep)
				continue;
		} else if (phase == PLAIN) {
			phase = RISKY;
			d = w->depth;
			continue;
		} else {
			goto back;
		}
		uint32_t id = w->tok[c];
		uint64_t ym, ys;
		if (id == WN_TOK_NONE)
			continue;
		if (c == 1) {
			if (phase == RISKY)
				continue;
			ym = BYTE_META;
			ys = 0;
		} else {
			if (c == 2) {
				/* known from the start, and valid */
				const struct bt_two *e = &bt->two[(unsigned)p[pos] << 8 | p[pos + 1]];
				ym = (uint64_t)e->time1 | (uint64_t)2 << 32 |
				     (uint64_t)TOK_VALID << 48;
				ys = t->byte_id[p[pos]] | (uint64_t)t->byte_id[p[pos + 1]] << 32;
			} else {
				const struct bt_tok *info = &w->sub->node[w->node[c]].info;
				load_words(info, &ym, &ys);
				if (m_state(ym) == TOK_UNKNOWN) {
					WN_TRY(node_fill(t, bt, w->sub, w->node[c]));
					load_words(info, &ym, &ys);
				}
				if (m_state(ym) != TOK_VALID) {
					if (m_state(ym) == TOK_UNORDERED)
						return WN_TOK_BT_DECLINE;
					continue;
				}
			}
			if (c != rep && risky(t, bt, p, n, pos + c, ym, ys) != (phase == RISKY))
				continue;
		}
		if (pos + c < n && is_dead(dead, pos + c))
			continue;
		if (k) {
			int ok;
			const struct bt_walk *w0 = &s->cand[(k - 1) % WALKS];
			if (tiktoken && m_len(lm) + c <= COMPAT_SHORT)
				WN_TRY(compatible_text(t, bt, w0, p, pos, lm, ls, ym, ys, &ok));
			else
				WN_TRY(compatible(t, bt, s, w0, p, pos, sym[k - 1], lm, ls, id, ym,
				                  ys, &ok));
			if (!ok)
				continue;
		}
		/* taken: on from its end */
		sym[k++] = id;
		lm = ym;
		ls = ys;
		pos += c;
		if (pos == n)
			break;
		w = &s->cand[k % WALKS];
		if (tiktoken) {
			int st = short_steps(t, bt, s, p, n, sym, &k, &pos, &lm, &ls);
			if (st < 0)
				return st;
			if (pos == n)
				break;
			w = &s->cand[k % WALKS];
			id = sym[k - 1];
			c = m_len(lm);
		}
		if (w->at != p + pos)
			WN_TRY(walk(t, bt, w, p + pos, n - pos));
		rep = c <= w->depth && w->tok[c] == id ? c : 0;
		phase = rep ? REPEAT : PLAIN;
		d = w->depth;
		continue;
back:
		/* No chain goes on from pos: back to the previous token, and
		 * the ones after it at its place. */
		if (k == 0)
			return WN_EINTERNAL;
		dead[pos >> 6] |= 1ull << (pos & 63);
		k--;
		size_t popped = m_len(lm);
		uint64_t pm = lm, ps = ls;
		pos -= popped;
		if (k)
			load_words(&bt->tok[sym[k - 1]], &lm, &ls);
		w = &s->cand[k % WALKS];
		if (w->at != p + pos)
			WN_TRY(walk(t, bt, w, p + pos, n - pos));
		size_t lp = k ? m_len(lm) : 0;
		rep = lp && lp <= w->depth && w->tok[lp] == sym[k - 1] ? lp : 0;
		if (popped == rep) {
			phase = PLAIN;
			d = w->depth;
		} else {
			/* resume after the popped token, in its phase */
			int r = popped > 1 && risky(t, bt, p, n, pos + popped, pm, ps);
			phase = r ? RISKY : PLAIN;
			d = popped - 1;
		}
		assert(w->depth >= d);
	}
	*m = k;
	return WN_OK;
}
