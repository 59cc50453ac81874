/*
 * tiktoken.c - .tiktoken rank files and the encodings of openai/tiktoken
 * (tiktoken_ext/openai_public.py): their split patterns and special tokens.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"

/* r50k_base's pattern; tiktoken notes it is equivalent to GPT-2's original
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
#define R50K_PAT                                                                    \
	"'(?:[sdmt]|ll|ve|re)| ?\\p{L}++| ?\\p{N}++| ?[^\\s\\p{L}\\p{N}]++|\\s++$|\\s+(?!\\S)|\\s"
#define CL100K_PAT                                                               \
	"'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+"             \
	"| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s"
#define O200K_PAT                                                                \
	"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"                  \
	"[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"                     \
	"|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"                 \
	"[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"                     \
	"|\\p{N}{1,3}"                                                                     \
	"| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"                                                 \
	"|\\s*[\\r\\n]+"                                                                   \
	"|\\s+(?!\\S)"                                                                     \
	"|\\s+"

struct special {
	const char *text;
	uint32_t id;
};

struct encoding {
	const char *name;
	const char *pattern;
	uint32_t explicit_n_vocab; /* 0: not checked */
	int harmony;               /* plus o200k_harmony's reserved tokens */
	struct special special[17]; /* ends with a NULL text */
};

static const struct encoding encodings[] = {
	{ "gpt2", R50K_PAT, 50257, 0, { { "<|endoftext|>", 50256 } } },
	{ "r50k_base", R50K_PAT, 50257, 0, { { "<|endoftext|>", 50256 } } },
	{ "p50k_base", R50K_PAT, 50281, 0, { { "<|endoftext|>", 50256 } } },
	{ "p50k_edit", R50K_PAT, 0, 0,
	  { { "<|endoftext|>", 50256 },
	    { "<|fim_prefix|>", 50281 },
	    { "<|fim_middle|>", 50282 },
	    { "<|fim_suffix|>", 50283 } } },
	{ "cl100k_base", CL100K_PAT, 0, 0,
	  { { "<|endoftext|>", 100257 },
	    { "<|fim_prefix|>", 100258 },
	    { "<|fim_middle|>", 100259 },
	    { "<|fim_suffix|>", 100260 },
	    { "<|endofprompt|>", 100276 } } },
	{ "o200k_base", O200K_PAT, 0, 0,
	  { { "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 } } },
	{ "o200k_harmony", O200K_PAT, 0, 1,
	  { { "<|startoftext|>", 199998 },
	    { "<|endoftext|>", 199999 },
	    { "<|reserved_200000|>", 200000 },
	    { "<|reserved_200001|>", 200001 },
	    { "<|return|>", 200002 },
	    { "<|constrain|>", 200003 },
	    { "<|reserved_200004|>", 200004 },
	    { "<|channel|>", 200005 },
	    { "<|start|>", 200006 },
	    { "<|end|>", 200007 },
	    { "<|message|>", 200008 },
	    { "<|reserved_200009|>", 200009 },
	    { "<|reserved_200010|>", 200010 },
	    { "<|reserved_200011|>", 200011 },
	    { "<|call|>", 200012 },
	    { "<|endofprompt|>", 200018 } } },
};

#define HARMONY_RESERVED_FIRST 200013u
#define HARMONY_RESERVED_END 201088u

static const struct encoding *find_encoding(const char *name)
{
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++)
		if (strcmp(encodings[i].name, name) == 0)
			return &encodings[i];
	return NULL;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict standard base64 with padding; returns the decoded length, or -1. */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
	if (n == 0 || n % 4)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad)
				return -1;
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		             (uint32_t)v[3];
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	return (long)o;
}

struct entry {
	uint32_t rank;
	uint32_t line;
	size_t off; /* in the scratch byte buffer */
	uint32_t len;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parse the lines into entries; token bytes go to *bytes. */
static int parse(struct wn_tokenizer *t, const char *data, size_t len, struct entry **out,
                 size_t *count, unsigned char **bytes, struct wn_error *err)
{
	size_t cap = 1024, n = 0, bcap = len, blen = 0;
	struct entry *e = malloc(cap * sizeof(*e));
	unsigned char *b = malloc(bcap ? bcap : 1);
	if (!e || !b) {
		free(e);
		free(b);
		return WN_ENOMEM;
	}
	*out = e;
	*bytes = b;
	uint64_t line = 0;
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		line++;
		const char *q = p, *le = eol;
		p = eol + 1;
		while (le > q && is_space(le[-1]))
			le--;
		while (q < le && is_space(*q))
			q++;
		if (q == le)
			continue;
		const char *tok = q;
		while (q < le && !is_space(*q))
			q++;
		size_t toklen = (size_t)(q - tok);
		while (q < le && is_space(*q))
			q++;
		const char *num = q;
		while (q < le && !is_space(*q))
			q++;
		if (num == q)
			return wn_error_set(err, WN_EDATA, t->path, line,
			                    "missing rank (expected 'base64 rank')");
		if (q != le)
			return wn_error_set(err, WN_EDATA, t->path, line,
			                    "unexpected text after the rank "
			                    "(expected 'base64 rank')");
		uint64_t rank = 0;
		for (const char *r = num; r < q; r++) {
			if (*r < '0' || *r > '9')
				return wn_error_set(err, WN_EDATA, t->path, line,
				                    "bad rank '%.*s'", (int)(q - num), num);
			rank = rank * 10 + (uint64_t)(*r - '0');
			if (rank >= (1u << 31))
				return wn_error_set(err, WN_EDATA, t->path, line,
				                    "rank '%.*s' is too large", (int)(q - num),
				                    num);
		}
		long blen1 = b64_decode(tok, toklen, b + blen);
		if (blen1 <= 0)
			return wn_error_set(err, WN_EDATA, t->path, line, "bad base64 '%.*s'",
			                    (int)(toklen > 64 ? 64 : toklen), tok);
		if (n == cap) {
			cap *= 2;
			struct entry *ne = realloc(e, cap * sizeof(*e));
			if (!ne)
				return WN_ENOMEM;
			*out = e = ne;
		}
		e[n++] = (struct entry){ (uint32_t)rank, (uint32_t)line, blen, (uint32_t)blen1 };
		blen += (size_t)blen1;
	}
	*count = n;
	return WN_OK;
}

/* o200k_harmony gives one id two texts (<|endofprompt|> and
 * <|reserved_200018|>): both are recognised, the later one decodes, as in
 * tiktoken.  Only a clash with an ordinary token is an error. */
static int add_special(struct wn_tokenizer *t, const char *text, uint32_t id,
                       const char *encoding, struct wn_error *err)
{
	if (t->tok_len[id] &&
	    wn_tok_lookup(t, t->arena + t->tok_off[id], t->tok_len[id]) == id)
		return wn_error_set(err, WN_EDATA, t->path, 0,
		                    "special token '%s' of %s has id %" PRIu32
		                    ", which the file gives to an ordinary token "
		                    "(wrong --encoding?)",
		                    text, encoding, id);
	size_t n = strlen(text);
	WN_TRY(wn_tok_add_added(t, id, text, n, 1, 0));
	WN_TRY(wn_tok_trie_add(&t->raw_trie, text, n, t->n_added - 1));
	t->any_special_raw = 1;
	if (strcmp(text, "<|endoftext|>") == 0)
		t->eot = id;
	return WN_OK;
}

/* Every way to split a token into two tokens is a merge that yields it.  A
 * single byte that is no token stands for itself as a virtual id. */
static int build_pairs(struct wn_tokenizer *t)
{
	WN_TRY(wn_tok_pairs_init(t, (size_t)t->n_ids * 2));
	for (uint32_t id = 0; id < t->n_ids; id++) {
		uint32_t len = t->tok_len[id];
		if (len < 2)
			continue;
		const unsigned char *p = (const unsigned char *)t->arena + t->tok_off[id];
		if (wn_tok_lookup(t, p, len) != id)
			continue; /* a special token */
		for (uint32_t k = 1; k < len; k++) {
			uint32_t a = k == 1 ? t->byte_id[p[0]] : wn_tok_lookup(t, p, k);
			if (a == WN_TOK_NONE)
				continue;
			uint32_t b = len - k == 1 ? t->byte_id[p[k]]
			                          : wn_tok_lookup(t, p + k, len - k);
			if (b == WN_TOK_NONE)
				continue;
			WN_TRY(wn_tok_pair_put(t, a, b, id, id));
		}
	}
	return WN_OK;
}

int wn_tok_load_tiktoken(struct wn_tokenizer *t, const char *data, size_t len,
                         const char *encoding, struct wn_error *err)
{
	const struct encoding *enc = find_encoding(encoding);
	if (!enc)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "unknown encoding '%s' (gpt2, r50k_base, p50k_base, p50k_edit, "
		                    "cl100k_base, o200k_base, o200k_harmony)",
		                    encoding);
	t->kind = WN_TOK_TIKTOKEN;
	t->whole_piece = 1;

	struct entry *e = NULL;
	unsigned char *bytes = NULL;
	size_t n = 0;
	int s = parse(t, data, len, &e, &n, &bytes, err);
	if (s < 0)
		goto out;
	if (n == 0) {
		s = wn_error_set(err, WN_EDATA, t->path, 0, "no tokens in the file");
		goto out;
	}
	uint32_t max_id = 0;
	for (size_t i = 0; i < n; i++)
		if (e[i].rank > max_id)
			max_id = e[i].rank;
	for (size_t i = 0; enc->special[i].text; i++)
		if (enc->special[i].id > max_id)
			max_id = enc->special[i].id;
	if (enc->harmony)
		max_id = max_id > HARMONY_RESERVED_END - 1 ? max_id : HARMONY_RESERVED_END - 1;
	if ((s = wn_tok_alloc_ids(t, max_id + 1)) < 0)
		goto out;
	uint32_t *line_of = calloc((size_t)max_id + 1, sizeof(*line_of));
	if (!line_of) {
		s = WN_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t r = e[i].rank;
		if (line_of[r]) {
			s = wn_error_set(err, WN_EDATA, t->path, e[i].line,
			                 "duplicate rank %" PRIu32 " (also on line %" PRIu32 ")", r,
			                 line_of[r]);
			break;
		}
		line_of[r] = e[i].line;
		if ((s = wn_tok_set_bytes(t, r, bytes + e[i].off, e[i].len)) < 0)
			break;
	}
	if (s >= 0) {
		uint32_t da, db;
		s = wn_tok_build_hash(t, NULL, &da, &db);
		if (s == WN_EDATA) {
			uint32_t first = line_of[da] < line_of[db] ? da : db;
			uint32_t second = first == da ? db : da;
			s = wn_error_set(err, WN_EDATA, t->path, line_of[second],
			                 "the token of rank %" PRIu32
			                 " repeats the bytes of rank %" PRIu32
			                 " (line %" PRIu32 ")",
			                 second, first, line_of[first]);
		}
	}
	free(line_of);
	if (s < 0)
		goto out;
	if (enc->explicit_n_vocab) {
		size_t nspecial = 0;
		while (enc->special[nspecial].text)
			nspecial++;
		if (n + nspecial != enc->explicit_n_vocab) {
			s = wn_error_set(err, WN_EDATA, t->path, 0,
			                 "%zu ranks, but %s has %" PRIu32
			                 " ordinary tokens (wrong --encoding?)",
			                 n, enc->name, enc->explicit_n_vocab - (uint32_t)nspecial);
			goto out;
		}
	}
	for (size_t i = 0; enc->special[i].text; i++)
		if ((s = add_special(t, enc->special[i].text, enc->special[i].id, enc->name,
		                     err)) < 0)
			goto out;
	if (enc->harmony) {
		for (uint32_t id = HARMONY_RESERVED_FIRST; id < HARMONY_RESERVED_END; id++) {
			char text[32];
			snprintf(text, sizeof(text), "<|reserved_%" PRIu32 "|>", id);
			if ((s = add_special(t, text, id, enc->name, err)) < 0)
				goto out;
		}
	}
	t->bytes_complete = 1;
	for (int b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;
		t->byte_id[b] = wn_tok_lookup(t, &c, 1);
		if (t->byte_id[b] == WN_TOK_NONE) {
			t->byte_id[b] = t->n_ids + (uint32_t)b;
			t->bytes_complete = 0;
		}
	}
	t->n_ranks = t->n_ids;
	if ((s = build_pairs(t)) < 0)
		goto out;
	s = wn_tok_compile(t, enc->pattern, 0, 0, enc->name, err);
out:
	free(e);
	free(bytes);
	return s;
}
