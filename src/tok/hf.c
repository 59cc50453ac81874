/*
 * hf.c - Hugging Face tokenizer.json files with a byte-level BPE model.
 *
 * What is read follows huggingface/tokenizers: the vocabulary is written in
 * GPT-2's bytes-to-unicode alphabet; a merge (a, b) has the rank of its
 * position in model.merges (a repeated pair keeps the later position) and
 * yields vocab[a + b]; added tokens are found before normalization
 * (normalized false) or after it (normalized true), leftmost-longest.
 * Anything that would change the ids and is not implemented is refused with
 * the name of the field.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "tok/tok.h"

/* The GPT-2 split pattern of the ByteLevel pre-tokenizer (use_regex). */
#define GPT2_PAT                                                                 \
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes for U+0100.. in byte order. */
static void byte_alphabet(uint32_t b2u[256], int u2b[0x144])
{
	uint32_t next = 256;
	for (int i = 0; i < 0x144; i++)
		u2b[i] = -1;
	for (int b = 0; b < 256; b++) {
		int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) ||
		                (b >= 0xae && b <= 0xff);
		b2u[b] = printable ? (uint32_t)b : next++;
		u2b[b2u[b]] = b;
	}
}

/* The bytes a vocabulary string stands for: 1, or 0 when a character is
 * outside the alphabet (such a token decodes to its UTF-8, as the
 * ByteLevel decoder does, and no byte-level text can produce it). */
static int from_alphabet(const int u2b[0x144], const char *s, size_t n, unsigned char *out,
                         size_t *outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		                                      (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0 || cp >= 0x144 || u2b[cp] < 0)
			return 0;
		out[o++] = (unsigned char)u2b[cp];
		i += (size_t)k;
	}
	*outlen = o;
	return 1;
}

struct hf {
	struct wn_tokenizer *t;
	struct wn_error *err;
	json_t *vocab;
	uint32_t b2u[256];
	int u2b[0x144];
};

static int bad(struct hf *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct hf *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	wn_error_vset(h->err, WN_EDATA, h->t->path, 0, fmt, ap);
	va_end(ap);
	return WN_EDATA;
}

/* A boolean field: absent or null gives dflt. */
static int get_bool(struct hf *h, json_t *obj, const char *key, const char *path, int dflt,
                    int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v)) {
		*out = dflt;
		return WN_OK;
	}
	if (!json_is_boolean(v))
		return bad(h, "%s.%s is not a boolean", path, key);
	*out = json_is_true(v);
	return WN_OK;
}

static const char *type_of(json_t *obj)
{
	json_t *v = json_object_get(obj, "type");
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int vocab_id(struct hf *h, const char *s, uint32_t *id)
{
	json_t *v = json_object_get(h->vocab, s);
	if (!json_is_integer(v))
		return 0;
	*id = (uint32_t)json_integer_value(v);
	return 1;
}

static int check_id(struct hf *h, json_t *v, const char *path, const char *what, uint32_t *id)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) >= (json_int_t)1 << 31)
		return bad(h, "%s: id of '%s' is not an integer in [0, 2^31)", path, what);
	*id = (uint32_t)json_integer_value(v);
	return WN_OK;
}

static int load_model(struct hf *h, json_t *model, uint32_t *max_id)
{
	struct wn_tokenizer *t = h->t;
	if (!json_is_object(model))
		return bad(h, "model is missing or not an object");
	json_t *merges = json_object_get(model, "merges");
	const char *type = type_of(model);
	if (json_object_get(model, "type") && !type)
		return bad(h, "model.type is not a string");
	if (type && strcmp(type, "BPE") != 0)
		return bad(h, "model.type '%s' is not supported (only BPE)", type);
	if (!type && !merges)
		return bad(h, "model.type is missing and there are no model.merges: "
		              "not a BPE model");
	json_t *v = json_object_get(model, "dropout");
	if (v && !json_is_null(v) && !(json_is_number(v) && json_number_value(v) == 0))
		return bad(h, "model.dropout is not supported (BPE dropout is random)");
	static const char *const affixes[] = { "continuing_subword_prefix", "end_of_word_suffix" };
	for (int i = 0; i < 2; i++) {
		v = json_object_get(model, affixes[i]);
		if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)))
			return bad(h, "model.%s is not supported", affixes[i]);
	}
	int b = 0;
	WN_TRY(get_bool(h, model, "byte_fallback", "model", 0, &b));
	if (b)
		return bad(h, "model.byte_fallback true is not supported "
		              "(a SentencePiece-style vocabulary, not byte-level)");
	WN_TRY(get_bool(h, model, "fuse_unk", "model", 0, &t->fuse_unk));
	WN_TRY(get_bool(h, model, "ignore_merges", "model", 0, &t->whole_piece));

	h->vocab = json_object_get(model, "vocab");
	if (!json_is_object(h->vocab))
		return bad(h, "model.vocab is missing or not an object");
	if (!json_is_array(merges))
		return bad(h, "model.merges is missing or not an array");
	const char *key;
	json_object_foreach(h->vocab, key, v) {
		uint32_t id;
		WN_TRY(check_id(h, v, "model.vocab", key, &id));
		if (!*key)
			return bad(h, "model.vocab: empty token (id %" PRIu32 ")", id);
		if (id > *max_id)
			*max_id = id;
	}
	v = json_object_get(model, "unk_token");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v))
			return bad(h, "model.unk_token is not a string");
		if (!vocab_id(h, json_string_value(v), &t->unk_id))
			return bad(h, "model.unk_token '%s' is not in model.vocab",
			           json_string_value(v));
	}
	return WN_OK;
}

static int fill_vocab(struct hf *h, uint8_t *in_hash)
{
	struct wn_tokenizer *t = h->t;
	const char *key;
	json_t *v;
	unsigned char *buf = NULL;
	size_t bufcap = 0;
	json_object_foreach(h->vocab, key, v) {
		uint32_t id = (uint32_t)json_integer_value(v);
		size_t n = strlen(key), blen;
		if (n > bufcap) {
			unsigned char *nb = realloc(buf, n);
			if (!nb) {
				free(buf);
				return WN_ENOMEM;
			}
			buf = nb;
			bufcap = n;
		}
		if (t->tok_len[id]) {
			free(buf);
			return bad(h, "model.vocab: id %" PRIu32 " is given to two tokens "
			              "(one is '%s')",
			           id, key);
		}
		int s;
		if (from_alphabet(h->u2b, key, n, buf, &blen)) {
			in_hash[id] = 1;
			s = wn_tok_set_bytes(t, id, buf, blen);
		} else {
			s = wn_tok_set_bytes(t, id, key, n);
		}
		if (s < 0) {
			free(buf);
			return s;
		}
	}
	free(buf);
	return WN_OK;
}

/* A merge's two tokens, from "a b" or ["a", "b"]. */
static int merge_parts(struct hf *h, json_t *m, size_t i, int legacy, const char **a, size_t *alen,
                       const char **b, size_t *blen)
{
	if (legacy) {
		if (!json_is_string(m))
			return bad(h, "model.merges[%zu] is not a string like the first merge", i);
		const char *s = json_string_value(m);
		const char *sp = strchr(s, ' ');
		if (!sp || strchr(sp + 1, ' '))
			return bad(h, "model.merges[%zu]: '%s' is not two tokens separated "
			              "by a space",
			           i, s);
		*a = s;
		*alen = (size_t)(sp - s);
		*b = sp + 1;
		*blen = strlen(sp + 1);
		return WN_OK;
	}
	if (!json_is_array(m) || json_array_size(m) != 2 ||
	    !json_is_string(json_array_get(m, 0)) || !json_is_string(json_array_get(m, 1)))
		return bad(h, "model.merges[%zu] is not a pair of strings like the first merge", i);
	*a = json_string_value(json_array_get(m, 0));
	*alen = strlen(*a);
	*b = json_string_value(json_array_get(m, 1));
	*blen = strlen(*b);
	return WN_OK;
}

/* The id of vocabulary string s[0..n): by its bytes in the token hash
 * (every vocabulary string in the byte alphabet is there), else - a
 * string outside the alphabet - through the JSON object.  buf holds at
 * least n + 1 bytes. */
static int string_id(struct hf *h, const char *s, size_t n, unsigned char *buf, uint32_t *id)
{
	size_t blen;
	if (from_alphabet(h->u2b, s, n, buf, &blen)) {
		*id = wn_tok_lookup(h->t, buf, blen);
		return *id != WN_TOK_NONE;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	return vocab_id(h, (const char *)buf, id);
}

static int load_merges(struct hf *h, json_t *merges)
{
	struct wn_tokenizer *t = h->t;
	size_t n = json_array_size(merges);
	WN_TRY(wn_tok_pairs_init(t, n));
	t->rank_id = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!t->rank_id)
		return WN_ENOMEM;
	int legacy = n && json_is_string(json_array_get(merges, 0));
	char *cat = NULL;
	unsigned char *buf = NULL;
	size_t catcap = 0;
	uint32_t rank = 0;
	int s = WN_OK;
	for (size_t i = 0; i < n && s >= 0; i++) {
		json_t *m = json_array_get(merges, i);
		const char *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;
		if (legacy && json_is_string(m) && !strncmp(json_string_value(m), "#version", 8))
			continue;
		if ((s = merge_parts(h, m, i, legacy, &a, &alen, &b, &blen)) < 0)
			break;
		if (alen + blen + 1 > catcap) {
			catcap = (alen + blen + 1) * 2;
			char *nc = realloc(cat, catcap);
			unsigned char *nb = realloc(buf, catcap);
			if (nc)
				cat = nc;
			if (nb)
				buf = nb;
			if (!nc || !nb) {
				s = WN_ENOMEM;
				break;
			}
		}
		uint32_t ida, idb, idab;
		memcpy(cat, a, alen);
		memcpy(cat + alen, b, blen);
		cat[alen + blen] = '\0';
		if (!string_id(h, cat, alen, buf, &ida)) {
			s = bad(h, "model.merges[%zu]: token '%.*s' is not in model.vocab", i,
			        (int)alen, cat);
			break;
		}
		if (!string_id(h, cat + alen, blen, buf, &idb)) {
			s = bad(h, "model.merges[%zu]: token '%s' is not in model.vocab", i,
			        cat + alen);
			break;
		}
		if (!string_id(h, cat, alen + blen, buf, &idab)) {
			s = bad(h, "model.merges[%zu]: merged token '%s' is not in model.vocab",
			        i, cat);
			break;
		}
		t->rank_id[rank] = idab;
		s = wn_tok_pair_put(t, ida, idb, rank++, idab);
	}
	free(cat);
	free(buf);
	t->n_ranks = rank;
	return s;
}

static int load_normalizer(struct hf *h, json_t *norm)
{
	if (!norm || json_is_null(norm))
		return WN_OK;
	const char *type = type_of(norm);
	if (!type)
		return bad(h, "normalizer.type is missing");
	if (strcmp(type, "NFC") == 0) {
		h->t->nfc = 1;
		return WN_OK;
	}
	if (strcmp(type, "Sequence") == 0) {
		json_t *list = json_object_get(norm, "normalizers");
		if (!json_is_array(list))
			return bad(h, "normalizer.normalizers is missing or not an array");
		size_t i;
		json_t *n;
		json_array_foreach(list, i, n) {
			const char *ty = type_of(n);
			if (!ty || strcmp(ty, "NFC") != 0)
				return bad(h, "normalizer.normalizers[%zu].type '%s' is not "
				              "supported (only NFC)",
				           i, ty ? ty : "(missing)");
			h->t->nfc = 1;
		}
		return WN_OK;
	}
	return bad(h, "normalizer.type '%s' is not supported (only null or NFC)", type);
}

static int byte_level(struct hf *h, json_t *pt, const char *path)
{
	int prefix = 0, regex = 0;
	json_t *v = json_object_get(pt, "add_prefix_space");
	if (!v)
		return bad(h, "%s.add_prefix_space is missing", path);
	WN_TRY(get_bool(h, pt, "add_prefix_space", path, 1, &prefix));
	if (prefix)
		return bad(h, "%s.add_prefix_space true is not supported", path);
	WN_TRY(get_bool(h, pt, "use_regex", path, 1, &regex));
	if (regex)
		WN_TRY(wn_tok_compile(h->t, GPT2_PAT, 0, 1, path, h->err));
	return WN_OK;
}

static int split(struct hf *h, json_t *pt, const char *path)
{
	json_t *pat = json_object_get(pt, "pattern");
	json_t *re = json_object_get(pat, "Regex");
	json_t *str = json_object_get(pat, "String");
	if (!json_is_string(re) && !json_is_string(str))
		return bad(h, "%s.pattern has neither a Regex nor a String", path);
	json_t *beh = json_object_get(pt, "behavior");
	if (!json_is_string(beh) || strcmp(json_string_value(beh), "Isolated") != 0)
		return bad(h, "%s.behavior '%s' is not supported (only Isolated)", path,
		           json_is_string(beh) ? json_string_value(beh) : "(missing)");
	int invert = 0;
	WN_TRY(get_bool(h, pt, "invert", path, 0, &invert));
	if (invert)
		return bad(h, "%s.invert true is not supported", path);
	if (json_is_string(re))
		return wn_tok_compile(h->t, json_string_value(re), 0, 1, path, h->err);
	if (!*json_string_value(str))
		return bad(h, "%s.pattern.String is empty", path);
	return wn_tok_compile(h->t, json_string_value(str), 1, 1, path, h->err);
}

static int load_pre_tokenizer(struct hf *h, json_t *pt)
{
	if (!pt || json_is_null(pt))
		return bad(h, "pre_tokenizer null is not supported (a ByteLevel pre-tokenizer "
		              "is required)");
	const char *type = type_of(pt);
	if (!type)
		return bad(h, "pre_tokenizer.type is missing");
	if (strcmp(type, "ByteLevel") == 0)
		return byte_level(h, pt, "pre_tokenizer");
	if (strcmp(type, "Sequence") != 0)
		return bad(h, "pre_tokenizer.type '%s' is not supported", type);
	json_t *list = json_object_get(pt, "pretokenizers");
	if (!json_is_array(list) || json_array_size(list) == 0)
		return bad(h, "pre_tokenizer.pretokenizers is missing or empty");
	size_t n = json_array_size(list), i;
	json_t *p;
	json_array_foreach(list, i, p) {
		char path[64];
		snprintf(path, sizeof(path), "pre_tokenizer.pretokenizers[%zu]", i);
		const char *ty = type_of(p);
		if (!ty)
			return bad(h, "%s.type is missing", path);
		if (strcmp(ty, "Split") == 0 && i + 1 < n) {
			WN_TRY(split(h, p, path));
		} else if (strcmp(ty, "ByteLevel") == 0 && i + 1 == n) {
			WN_TRY(byte_level(h, p, path));
		} else if (strcmp(ty, "Split") == 0 || strcmp(ty, "ByteLevel") == 0) {
			return bad(h, "%s.type '%s': only Split pre-tokenizers followed by one "
			              "ByteLevel are supported",
			           path, ty);
		} else {
			return bad(h, "%s.type '%s' is not supported", path, ty);
		}
	}
	return WN_OK;
}

/* Added tokens: first pass for the largest id. */
static int scan_added(struct hf *h, json_t *list, uint32_t *max_id)
{
	if (!list || json_is_null(list))
		return WN_OK;
	if (!json_is_array(list))
		return bad(h, "added_tokens is not an array");
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a) {
		char path[48];
		snprintf(path, sizeof(path), "added_tokens[%zu]", i);
		json_t *c = json_object_get(a, "content");
		if (!json_is_string(c) || !*json_string_value(c))
			return bad(h, "%s.content is missing or empty", path);
		uint32_t id;
		WN_TRY(check_id(h, json_object_get(a, "id"), path, json_string_value(c), &id));
		if (id > *max_id)
			*max_id = id;
		static const char *const flags[] = { "single_word", "lstrip", "rstrip" };
		for (int k = 0; k < 3; k++) {
			int f = 0;
			WN_TRY(get_bool(h, a, flags[k], path, 0, &f));
			if (f)
				return bad(h, "%s.%s true is not supported", path, flags[k]);
		}
	}
	return WN_OK;
}

static int add_added(struct hf *h, json_t *list)
{
	struct wn_tokenizer *t = h->t;
	if (!list || json_is_null(list))
		return WN_OK;
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a) {
		char path[48];
		snprintf(path, sizeof(path), "added_tokens[%zu]", i);
		const char *c = json_string_value(json_object_get(a, "content"));
		uint32_t id = (uint32_t)json_integer_value(json_object_get(a, "id"));
		int special = 0, normalized = 0;
		WN_TRY(get_bool(h, a, "special", path, 0, &special));
		WN_TRY(get_bool(h, a, "normalized", path, !special, &normalized));
		size_t n = strlen(c);
		/* As in Hugging Face, an added token's id is its vocabulary id
		 * when it has one; text that differs would make that id decode
		 * two ways. */
		uint32_t len = t->tok_len[id];
		const char *old = t->arena + t->tok_off[id];
		if (len && wn_tok_lookup(t, old, len) == id && (len != n || memcmp(old, c, n) != 0))
			return bad(h, "%s: id %" PRIu32 " is the vocabulary token '%.*s', not '%s'",
			           path, id, (int)len, old, c);
		WN_TRY(wn_tok_add_added(t, id, c, n, special, normalized));
		uint32_t idx = t->n_added - 1;
		if (!normalized) {
			WN_TRY(wn_tok_trie_add(&t->raw_trie, c, n, idx));
			if (special)
				t->any_special_raw = 1;
			else
				t->any_plain_raw = 1;
			continue;
		}
		/* matched in normalized text, so normalized the same way */
		utf8proc_uint8_t *nc = NULL;
		if (t->nfc) {
			utf8proc_ssize_t k = utf8proc_map((const utf8proc_uint8_t *)c,
			                                  (utf8proc_ssize_t)n, &nc,
			                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE);
			if (k < 0)
				return bad(h, "%s.content: %s", path, utf8proc_errmsg(k));
			n = (size_t)k;
		}
		int s = wn_tok_trie_add(&t->norm_trie, nc ? (const char *)nc : c, n, idx);
		free(nc);
		WN_TRY(s);
		t->any_norm = 1;
	}
	return WN_OK;
}

static const char *const eot_names[] = { "<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>",
	                                 "<|eos|>" };

static int load(struct hf *h, json_t *root)
{
	struct wn_tokenizer *t = h->t;
	if (!json_is_object(root))
		return bad(h, "not a tokenizer.json (the top level is not an object)");
	t->kind = WN_TOK_HF;
	byte_alphabet(h->b2u, h->u2b);
	uint32_t max_id = 0;
	json_t *model = json_object_get(root, "model");
	json_t *added = json_object_get(root, "added_tokens");
	WN_TRY(load_model(h, model, &max_id));
	WN_TRY(load_normalizer(h, json_object_get(root, "normalizer")));
	WN_TRY(load_pre_tokenizer(h, json_object_get(root, "pre_tokenizer")));
	WN_TRY(scan_added(h, added, &max_id));
	WN_TRY(wn_tok_alloc_ids(t, max_id + 1));
	uint8_t *in_hash = calloc((size_t)max_id + 1, 1);
	if (!in_hash)
		return WN_ENOMEM;
	int s = fill_vocab(h, in_hash);
	uint32_t da, db;
	if (s >= 0)
		s = wn_tok_build_hash(t, in_hash, &da, &db);
	free(in_hash);
	if (s == WN_EDATA) /* distinct strings give distinct bytes */
		return wn_error_set(h->err, WN_EINTERNAL, t->path, 0,
		                    "byte-level vocabulary clash");
	WN_TRY(s);
	WN_TRY(load_merges(h, json_object_get(model, "merges")));
	t->bytes_complete = 1;
	for (int b = 0; b < 256; b++) {
		char u[4];
		utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)h->b2u[b],
		                                          (utf8proc_uint8_t *)u);
		u[k] = '\0';
		if (!vocab_id(h, u, &t->byte_id[b])) {
			t->byte_id[b] = WN_TOK_NONE;
			t->bytes_complete = 0;
		}
	}
	WN_TRY(add_added(h, added));
	if (!t->whole_piece) {
		t->whole_memo = calloc(t->n_ids, 1);
		if (!t->whole_memo)
			return WN_ENOMEM;
	}
	for (size_t i = 0; i < sizeof(eot_names) / sizeof(eot_names[0]); i++) {
		uint32_t id;
		if (wn_tokenizer_find(t, eot_names[i], strlen(eot_names[i]), &id)) {
			t->eot = id;
			break;
		}
	}
	return WN_OK;
}

int wn_tok_load_hf(struct wn_tokenizer *t, const char *data, size_t len, struct wn_error *err)
{
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	if (i == len || data[i] != '{')
		return wn_error_set(err, WN_EUSAGE, t->path, 0,
		                    "not a tokenizer.json; a .tiktoken rank file needs an encoding "
		                    "(gpt2, r50k_base, p50k_base, cl100k_base, o200k_base)");
	json_error_t je;
	json_t *root = json_loadb(data, len, 0, &je);
	if (!root)
		return wn_error_set(err, WN_EDATA, t->path, (uint64_t)(je.line > 0 ? je.line : 0),
		                    "invalid JSON: %s", je.text);
	struct hf h = { .t = t, .err = err };
	int s = load(&h, root);
	json_decref(root);
	return s;
}
