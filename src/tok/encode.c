/*
 * encode.c - text to ids: special tokens, normalization, the split regexes,
 * then BPE on each piece, with a small cache of recent pieces.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tok/tok.h"
#include "winnow/json.h"

/* Pieces up to SMALL_PIECE symbols go to the quadratic merge, longer ones
 * to the backtracking search (backtrack.c); those it declines up to
 * HEAP_PIECE to the heap, longer ones to the bucket queue. */
#define SMALL_PIECE 128
#define HEAP_PIECE 4096

/* The piece cache: direct-mapped, one cache line per entry. */
#define CACHE_BITS 12
#define CACHE_BYTES 22
#define CACHE_IDS 8

struct cache_entry {
	uint64_t hash;
	uint8_t len, nids;
	char bytes[CACHE_BYTES];
	uint32_t ids[CACHE_IDS];
};

struct wn_encoder {
	const struct wn_tokenizer *t;
	pcre2_match_data *md[WN_TOK_MAX_SPLITS];
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;
	int jit[WN_TOK_MAX_SPLITS];
	uint32_t *sym;
	size_t sym_cap;
	struct wn_tok_bpe_scratch bpe;
	struct cache_entry *cache;
	struct wn_ids *out;
	struct wn_error *err;
	/* wn_tok_pieces: report pieces instead of encoding them */
	void (*piece_cb)(void *arg, const char *s, size_t n);
	void *piece_arg;
};

int wn_encoder_new(struct wn_encoder **out, const struct wn_tokenizer *t)
{
	*out = NULL;
	struct wn_encoder *e = calloc(1, sizeof(*e));
	if (!e)
		return WN_ENOMEM;
	e->t = t;
	e->cache = calloc((size_t)1 << CACHE_BITS, sizeof(*e->cache));
	e->sym_cap = SMALL_PIECE;
	e->sym = malloc(e->sym_cap * sizeof(*e->sym));
	e->mctx = pcre2_match_context_create(NULL);
	if (wn_tok_bpe_scratch_init(&e->bpe) < 0) {
		wn_encoder_free(e);
		return WN_ENOMEM;
	}
	/* Backtracking over a long run (a megabyte of letters is one match)
	 * needs more than the default 32 KiB of JIT stack. */
	e->jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
	if (!e->cache || !e->sym || !e->mctx || !e->jit_stack) {
		wn_encoder_free(e);
		return WN_ENOMEM;
	}
	pcre2_jit_stack_assign(e->mctx, NULL, e->jit_stack);
	for (int i = 0; i < t->n_re; i++) {
		e->md[i] = pcre2_match_data_create_from_pattern(t->re[i], NULL);
		if (!e->md[i]) {
			wn_encoder_free(e);
			return WN_ENOMEM;
		}
		size_t jitsize = 0;
		e->jit[i] = pcre2_pattern_info(t->re[i], PCRE2_INFO_JITSIZE, &jitsize) == 0 &&
		            jitsize > 0;
	}
	*out = e;
	return WN_OK;
}

void wn_encoder_free(struct wn_encoder *e)
{
	if (!e)
		return;
	for (int i = 0; i < WN_TOK_MAX_SPLITS; i++)
		pcre2_match_data_free(e->md[i]);
	pcre2_match_context_free(e->mctx);
	pcre2_jit_stack_free(e->jit_stack);
	free(e->sym);
	wn_tok_bpe_scratch_release(&e->bpe);
	free(e->cache);
	free(e);
}

static inline int push(struct wn_encoder *e, uint32_t id)
{
	struct wn_ids *o = e->out;
	if (o->n == o->cap)
		WN_TRY(wn_ids_reserve(o, 1));
	o->v[o->n++] = id;
	return WN_OK;
}

/* The initial symbols of a piece: one per byte, except for Hugging Face
 * bytes missing from the vocabulary (the unknown token, or nothing). */
static size_t initial_symbols(const struct wn_tokenizer *t, const unsigned char *p, size_t n,
                              uint32_t *sym)
{
	if (t->bytes_complete || t->kind == WN_TOK_TIKTOKEN) {
		for (size_t i = 0; i < n; i++)
			sym[i] = t->byte_id[p[i]];
		return n;
	}
	size_t m = 0;
	int last_unk = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = t->byte_id[p[i]];
		if (id != WN_TOK_NONE) {
			sym[m++] = id;
			last_unk = 0;
		} else if (t->unk_id != WN_TOK_NONE) {
			if (!(t->fuse_unk && last_unk))
				sym[m++] = t->unk_id;
			last_unk = 1;
		}
	}
	return m;
}

/* Room for n symbols in e->sym. */
static int sym_room(struct wn_encoder *e, size_t n)
{
	if (n > e->sym_cap) {
		size_t cap = e->sym_cap;
		while (cap < n)
			cap *= 2;
		uint32_t *s = realloc(e->sym, cap * sizeof(*s));
		if (!s)
			return WN_ENOMEM;
		e->sym = s;
		e->sym_cap = cap;
	}
	return WN_OK;
}

static int merge_loop(struct wn_encoder *e, const unsigned char *p, size_t n, size_t *m);

static int merge_piece(struct wn_encoder *e, const unsigned char *p, size_t n, size_t *m)
{
	const struct wn_tokenizer *t = e->t;
	/* it declines (among others) when some byte is not a token */
	if (n > SMALL_PIECE && (t->bytes_complete || t->kind == WN_TOK_TIKTOKEN)) {
		WN_TRY(sym_room(e, n));
		int st = wn_tok_merge_backtrack(t, &e->bpe, p, n, e->sym, m);
		if (st != WN_TOK_BT_DECLINE)
			return st;
	}
	return merge_loop(e, p, n, m);
}

/* The merge loop, for the pieces the backtracking search does not take. */
static int merge_loop(struct wn_encoder *e, const unsigned char *p, size_t n, size_t *m)
{
	const struct wn_tokenizer *t = e->t;
	WN_TRY(sym_room(e, n));
	const unsigned char *bytes = t->bytes_complete || t->kind == WN_TOK_TIKTOKEN ? p : NULL;
	*m = initial_symbols(t, p, n, e->sym);
	if (*m <= SMALL_PIECE) {
		*m = wn_tok_merge_small(t, &e->bpe, e->sym, *m, bytes);
	} else if (*m <= HEAP_PIECE) {
		WN_TRY(wn_tok_merge_heap(t, &e->bpe, e->sym, m, bytes));
	} else {
		WN_TRY(wn_tok_merge_buckets(t, &e->bpe, e->sym, m, bytes));
	}
	if (!t->bytes_complete && t->kind == WN_TOK_TIKTOKEN) {
		for (size_t i = 0; i < *m; i++)
			if (e->sym[i] >= t->n_ids)
				return wn_error_set(
				        e->err, WN_EDATA, NULL, 0,
				        "byte 0x%02x has no token in %s and merges with none "
				        "of its neighbours",
				        (unsigned)(e->sym[i] - t->n_ids), t->name);
	}
	return WN_OK;
}

static int emit_merged(struct wn_encoder *e, size_t m)
{
	WN_TRY(wn_ids_reserve(e->out, m));
	memcpy(e->out->v + e->out->n, e->sym, m * sizeof(uint32_t));
	e->out->n += m;
	return WN_OK;
}

static int encode_piece(struct wn_encoder *e, const char *s, size_t n)
{
	const struct wn_tokenizer *t = e->t;
	const unsigned char *p = (const unsigned char *)s;
	if (n == 0)
		return WN_OK;
	if (n == 1 && t->whole_piece && t->byte_id[p[0]] < t->n_ids)
		return push(e, t->byte_id[p[0]]);
	uint64_t h = 0;
	if (n <= t->max_len && (t->whole_piece || t->whole_memo)) {
		uint64_t head = wn_tok_head(p, n);
		h = wn_tok_hash(p, n, head);
		uint32_t id = wn_tok_lookup_h(t, p, n, head, h);
		if (id != WN_TOK_NONE) {
			if (t->whole_piece)
				return push(e, id);
			uint8_t memo = __atomic_load_n(&t->whole_memo[id], __ATOMIC_RELAXED);
			if (memo == 1)
				return push(e, id);
			if (memo == 0) {
				size_t m;
				WN_TRY(merge_piece(e, p, n, &m));
				memo = m == 1 && e->sym[0] == id ? 1 : 2;
				__atomic_store_n(&t->whole_memo[id], memo, __ATOMIC_RELAXED);
				return emit_merged(e, m);
			}
		}
	}
	struct cache_entry *c = NULL;
	if (n <= CACHE_BYTES) {
		if (!h)
			h = wn_tok_hash(p, n, wn_tok_head(p, n));
		c = &e->cache[(h >> 40) & ((1u << CACHE_BITS) - 1)];
		if (c->hash == h && c->len == n && memcmp(c->bytes, p, n) == 0) {
			WN_TRY(wn_ids_reserve(e->out, c->nids));
			memcpy(e->out->v + e->out->n, c->ids, c->nids * sizeof(uint32_t));
			e->out->n += c->nids;
			return WN_OK;
		}
	}
	size_t m;
	if (n > SMALL_PIECE && (t->bytes_complete || t->kind == WN_TOK_TIKTOKEN)) {
		/* a long piece (a document without white space can be one of
		 * megabytes): its ids straight into the output, which has room
		 * for one per byte, rather than by way of e->sym */
		WN_TRY(wn_ids_reserve(e->out, n));
		struct wn_ids *o = e->out;
		int st = wn_tok_merge_backtrack(t, &e->bpe, p, n, o->v + o->n, &m);
		if (st != WN_TOK_BT_DECLINE) {
			if (st >= 0)
				o->n += m;
			return st;
		}
		WN_TRY(merge_loop(e, p, n, &m));
		return emit_merged(e, m);
	}
	WN_TRY(merge_piece(e, p, n, &m));
	if (c && m <= CACHE_IDS) {
		c->hash = h;
		c->len = (uint8_t)n;
		c->nids = (uint8_t)m;
		memcpy(c->bytes, p, n);
		memcpy(c->ids, e->sym, m * sizeof(uint32_t));
	}
	return emit_merged(e, m);
}

static int match(struct wn_encoder *e, int level, const char *s, size_t n, size_t from)
{
	const struct wn_tokenizer *t = e->t;
	int rc;
	if (e->jit[level])
		rc = pcre2_jit_match(t->re[level], (PCRE2_SPTR)s, n, from, 0, e->md[level],
		                     e->mctx);
	else
		rc = pcre2_match(t->re[level], (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK,
		                 e->md[level], e->mctx);
	if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
		return rc;
	PCRE2_UCHAR msg[256];
	pcre2_get_error_message(rc, msg, sizeof(msg));
	return wn_error_set(e->err, WN_EDATA, NULL, 0, "splitting text for %s: %s", t->name,
	                    (const char *)msg);
}

/* Split by the regex of this level ("Isolated": each match is a piece, and
 * so is each gap between matches), passing pieces to the next level. */
static int split(struct wn_encoder *e, int level, const char *s, size_t n)
{
	if (level == e->t->n_re) {
		if (e->piece_cb) {
			e->piece_cb(e->piece_arg, s, n);
			return WN_OK;
		}
		return encode_piece(e, s, n);
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md[level]);
	int hand = e->t->split[level];
	size_t last = 0, from = 0;
	while (from < n) {
		/* a known pattern's match starts at from; its end is found
		 * by hand unless it needs a non-ASCII character classified */
		size_t a = from, b = hand ? wn_tok_split_end(hand, s, n, from) : 0;
		if (!b) {
			int rc = match(e, level, s, n, from);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0)
				return WN_EDATA;
			a = ov[0];
			b = ov[1];
		}
		if (a > last)
			WN_TRY(split(e, level + 1, s + last, a - last));
		last = b;
		if (b > a) {
			WN_TRY(split(e, level + 1, s + a, b - a));
			from = b;
		} else {
			/* an empty match splits the gap; step over one character */
			from = a + 1;
			while (from < n && ((unsigned char)s[from] & 0xc0) == 0x80)
				from++;
		}
	}
	if (last < n)
		WN_TRY(split(e, level + 1, s + last, n - last));
	return WN_OK;
}

static int is_ascii(const char *s, size_t n)
{
	size_t i = 0;
	uint64_t acc = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ull) == 0;
}

/* Text between added tokens that are matched after normalization. */
static int normalized_segment(struct wn_encoder *e, const char *s, size_t n, int allow_special)
{
	const struct wn_tokenizer *t = e->t;
	if (!t->any_norm)
		return split(e, 0, s, n);
	size_t seg = 0, from = 0;
	while (from < n) {
		size_t at, len;
		uint32_t a;
		if (!wn_tok_trie_find(&t->norm_trie, s + from, n - from, &at, &len, &a))
			break;
		at += from;
		from = at + len;
		if (t->added[a].special && !allow_special)
			continue;
		WN_TRY(split(e, 0, s + seg, at - seg));
		WN_TRY(push(e, t->added[a].id));
		seg = from;
	}
	return split(e, 0, s + seg, n - seg);
}

static int raw_segment(struct wn_encoder *e, const char *s, size_t n, int allow_special)
{
	const struct wn_tokenizer *t = e->t;
	if (!t->nfc || is_ascii(s, n))
		return normalized_segment(e, s, n, allow_special);
	utf8proc_uint8_t *norm = NULL;
	utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &norm,
	                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (k < 0)
		return wn_error_set(e->err, k == UTF8PROC_ERROR_NOMEM ? WN_ENOMEM : WN_EDATA, NULL,
		                    0, "NFC normalization: %s", utf8proc_errmsg(k));
	int st = normalized_segment(e, (const char *)norm, (size_t)k, allow_special);
	free(norm);
	return st;
}

static int encode_text(struct wn_encoder *e, const char *text, size_t n, int allow_special);

int wn_encode(struct wn_encoder *e, const char *text, size_t n, int allow_special,
              struct wn_ids *out, struct wn_error *err)
{
	size_t valid = wn_utf8_valid_prefix(text, n);
	if (valid != n)
		return wn_error_set(err, WN_EDATA, NULL, 0, "invalid UTF-8 at byte %zu of the text",
		                    valid);
	e->out = out;
	e->err = err;
	/* English averages over four bytes a token */
	WN_TRY(wn_ids_reserve(out, n / 4 + 16));
	size_t n0 = out->n;
	int s = encode_text(e, text, n, allow_special);
	if (s < 0)
		out->n = n0;
	return s;
}

static int encode_text(struct wn_encoder *e, const char *text, size_t n, int allow_special)
{
	const struct wn_tokenizer *t = e->t;
	int scan = t->kind == WN_TOK_TIKTOKEN
	                   ? allow_special && t->any_special_raw
	                   : t->any_plain_raw || (allow_special && t->any_special_raw);
	if (!scan)
		return raw_segment(e, text, n, allow_special);
	size_t seg = 0, from = 0;
	while (from < n) {
		size_t at, len;
		uint32_t a;
		if (!wn_tok_trie_find(&t->raw_trie, text + from, n - from, &at, &len, &a))
			break;
		at += from;
		from = at + len;
		/* Hugging Face's encode_special_tokens: the match is skipped
		 * and its text stays ordinary text */
		if (t->added[a].special && !allow_special)
			continue;
		WN_TRY(raw_segment(e, text + seg, at - seg, allow_special));
		WN_TRY(push(e, t->added[a].id));
		seg = from;
	}
	return raw_segment(e, text + seg, n - seg, allow_special);
}

int wn_tok_pieces(struct wn_encoder *e, const char *text, size_t n,
                  void (*cb)(void *arg, const char *s, size_t n), void *arg, struct wn_error *err)
{
	size_t valid = wn_utf8_valid_prefix(text, n);
	if (valid != n)
		return wn_error_set(err, WN_EDATA, NULL, 0, "invalid UTF-8 at byte %zu of the text",
		                    valid);
	e->err = err;
	e->piece_cb = cb;
	e->piece_arg = arg;
	int s = split(e, 0, text, n);
	e->piece_cb = NULL;
	return s;
}
