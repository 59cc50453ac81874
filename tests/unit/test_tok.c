/*
 * test_tok.c - the tokenizers (include/winnow/tokenizer.h): loading tiny
 * .tiktoken and tokenizer.json files written here, their errors, merge
 * order (tiktoken's and Hugging Face's rules), special and added tokens,
 * NFC, round trips, the three merge implementations against each other,
 * the split patterns, and - when the tiktoken npm package is installed
 * under /tmp or named by WN_TIKTOKEN_ENCODERS - ids of the real encodings.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "tok/tok.h"
#include "winnow/tokenizer.h"

/* ---- fixtures ----------------------------------------------------------- */

static char tmpdir[] = "/tmp/wn-test-tok-XXXXXX";

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

static void b64(const unsigned char *p, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t w = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		out[o++] = a[w >> 18];
		out[o++] = a[(w >> 12) & 63];
		out[o++] = i + 1 < n ? a[(w >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? a[w & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * The tiny vocabulary: ids 0-255 are the bytes, then these merged tokens.
 * For Hugging Face files, each comes from the merge beside it (the
 * position in this table is the merge's rank).  "xyz" has no merge: it is
 * reachable only as a whole piece (tiktoken, ignore_merges).
 */
static const struct {
	const char *text, *left, *right;
} merged[] = {
	{ "bc", "b", "c" },         /* 256 */
	{ "ab", "a", "b" },         /* 257 */
	{ "abc", "ab", "c" },       /* 258 */
	{ "aa", "a", "a" },         /* 259 */
	{ "aaa", "aa", "a" },       /* 260 */
	{ "he", "h", "e" },         /* 261 */
	{ "ll", "l", "l" },         /* 262 */
	{ "hell", "he", "ll" },     /* 263 */
	{ "hello", "hell", "o" },   /* 264 */
	{ " w", " ", "w" },         /* 265 */
	{ "or", "o", "r" },         /* 266 */
	{ " wor", " w", "or" },     /* 267 */
	{ "ld", "l", "d" },         /* 268 */
	{ " world", " wor", "ld" }, /* 269 */
	{ "xyz", NULL, NULL },      /* 270 */
};
#define N_MERGED (sizeof(merged) / sizeof(merged[0]))

static char *tiny_tiktoken_text(void)
{
	char *s = malloc(64 * 300), *o = s;
	char enc[64];
	for (int b = 0; b < 256; b++) {
		unsigned char c = (unsigned char)b;
		b64(&c, 1, enc);
		o += sprintf(o, "%s %d\n", enc, b);
	}
	for (size_t i = 0; i < N_MERGED; i++) {
		b64((const unsigned char *)merged[i].text, strlen(merged[i].text), enc);
		o += sprintf(o, "%s %zu\n", enc, 256 + i);
	}
	return s;
}

static struct wn_tokenizer *load_ok(const char *path, const char *encoding)
{
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t = NULL;
	int s = wn_tokenizer_load(&t, path, encoding, &err);
	if (s < 0)
		ck_abort_msg("load %s: %s", path, err.msg);
	return t;
}

static struct wn_tokenizer *tiny_tiktoken(void)
{
	char *text = tiny_tiktoken_text();
	char *path = write_file("tiny.tiktoken", text, strlen(text));
	struct wn_tokenizer *t = load_ok(path, "cl100k_base");
	free(text);
	free(path);
	return t;
}

/* GPT-2's bytes_to_unicode, as UTF-8. */
static void byte_char(int b, char *out)
{
	int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
	int cp = b;
	if (!printable) {
		int n = 0;
		for (int x = 0; x < b; x++)
			if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae)))
				n++;
		cp = 256 + n;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = '\0';
	} else {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 63));
		out[2] = '\0';
	}
}

static void to_alphabet(const char *s, char *out)
{
	out[0] = '\0';
	for (; *s; s++) {
		char c[4];
		byte_char((unsigned char)*s, c);
		strcat(out, c);
	}
}

/* Options of the tiny tokenizer.json. */
struct hf_opts {
	int tuple_merges;   /* ["a","b"] instead of "a b" */
	int ignore_merges;
	int nfc;
	int split;          /* Sequence[Split(cl100k-like), ByteLevel] */
	const char *skip_byte; /* a byte left out of the vocabulary */
	const char *unk;
};

static json_t *tiny_hf_json(const struct hf_opts *o)
{
	json_t *vocab = json_object(), *merges = json_array();
	char a[64], b[64];
	for (int i = 0; i < 256; i++) {
		if (o->skip_byte && i == (unsigned char)*o->skip_byte)
			continue;
		byte_char(i, a);
		json_object_set_new(vocab, a, json_integer(i));
	}
	for (size_t i = 0; i < N_MERGED; i++) {
		to_alphabet(merged[i].text, a);
		json_object_set_new(vocab, a, json_integer((json_int_t)(256 + i)));
		if (!merged[i].left)
			continue;
		to_alphabet(merged[i].left, a);
		to_alphabet(merged[i].right, b);
		if (o->tuple_merges) {
			json_array_append_new(merges, json_pack("[ss]", a, b));
		} else {
			char m[130];
			sprintf(m, "%s %s", a, b);
			json_array_append_new(merges, json_string(m));
		}
	}
	if (o->unk)
		json_object_set_new(vocab, o->unk, json_integer(271));
	json_t *model = json_pack("{s:s, s:n, s:o, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type",
	                          "BPE", "dropout", "unk_token",
	                          o->unk ? json_string(o->unk) : json_null(),
	                          "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
	                          "byte_fallback", 0, "ignore_merges", o->ignore_merges, "vocab",
	                          vocab, "merges", merges);
	json_t *bl = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
	                       "trim_offsets", 1, "use_regex", !o->split);
	json_t *pre = bl;
	if (o->split) {
		json_t *sp = json_pack(
		    "{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex",
		    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
		    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
		    "behavior", "Isolated", "invert", 0);
		pre = json_pack("{s:s, s:[o,o]}", "type", "Sequence", "pretokenizers", sp, bl);
	}
	json_t *added = json_pack(
	    "[{s:i, s:s, s:b, s:b, s:b, s:b, s:b},"
	    " {s:i, s:s, s:b, s:b, s:b, s:b, s:b},"
	    " {s:i, s:s, s:b, s:b, s:b, s:b, s:b},"
	    " {s:i, s:s, s:b, s:b, s:b, s:b, s:b}]",
	    "id", 300, "content", "<|endoftext|>", "single_word", 0, "lstrip", 0, "rstrip", 0,
	    "normalized", 0, "special", 1,
	    "id", 301, "content", "[FOO]", "single_word", 0, "lstrip", 0, "rstrip", 0,
	    "normalized", 0, "special", 0,
	    "id", 302, "content", "h\xc3\xa9llo", "single_word", 0, "lstrip", 0, "rstrip", 0,
	    "normalized", 1, "special", 0,
	    "id", 303, "content", "endof", "single_word", 0, "lstrip", 0, "rstrip", 0,
	    "normalized", 0, "special", 0);
	return json_pack("{s:s, s:n, s:n, s:o, s:o, s:o, s:n, s:n, s:o}", "version", "1.0",
	                 "truncation", "padding", "added_tokens", added, "normalizer",
	                 o->nfc ? json_pack("{s:s}", "type", "NFC") : json_null(),
	                 "pre_tokenizer", pre, "post_processor", "decoder", "model", model);
}

static char *dump_json(json_t *j, const char *name)
{
	char *s = json_dumps(j, JSON_COMPACT);
	char *path = write_file(name, s, strlen(s));
	free(s);
	json_decref(j);
	return path;
}

static struct wn_tokenizer *tiny_hf(const struct hf_opts *o)
{
	char *path = dump_json(tiny_hf_json(o), "tokenizer.json");
	struct wn_tokenizer *t = load_ok(path, NULL);
	free(path);
	return t;
}

/* Encode s and compare with the expected ids (terminated by UINT32_MAX). */
#define END UINT32_MAX

static void expect_ids(struct wn_tokenizer *t, const char *s, size_t n, int special,
                       const uint32_t *want)
{
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct wn_ids ids;
	wn_ids_init(&ids);
	struct wn_error err;
	wn_error_clear(&err);
	int st = wn_encode(e, s, n, special, &ids, &err);
	if (st < 0)
		ck_abort_msg("encode '%s': %s", s, err.msg);
	size_t k = 0;
	while (want[k] != END)
		k++;
	char got[512] = "", *g = got;
	for (size_t i = 0; i < ids.n && g < got + 480; i++)
		g += sprintf(g, " %u", ids.v[i]);
	ck_assert_msg(ids.n == k, "'%s': %zu ids (%s), want %zu", s, ids.n, got, k);
	for (size_t i = 0; i < k; i++)
		ck_assert_msg(ids.v[i] == want[i], "'%s': id %zu is %u, want %u (%s)", s, i,
		              ids.v[i], want[i], got);
	wn_ids_release(&ids);
	wn_encoder_free(e);
}

#define EXPECT(t, s, special, ...)                                                    \
	do {                                                                          \
		static const uint32_t want_[] = { __VA_ARGS__, END };                 \
		expect_ids(t, s, strlen(s), special, want_);                          \
	} while (0)

static void expect_pieces(struct wn_tokenizer *t, const char *text, const char *want);

/* ---- loading ------------------------------------------------------------ */

START_TEST(test_tiktoken_loads)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	/* cl100k_base's special tokens end at 100276 */
	ck_assert_uint_eq(wn_tokenizer_vocab_size(t), 100277);
	uint32_t id;
	ck_assert_int_eq(wn_tokenizer_eot(t, &id), 1);
	ck_assert_uint_eq(id, 100257);
	ck_assert_int_eq(wn_tokenizer_find(t, "<|endofprompt|>", 15, &id), 1);
	ck_assert_uint_eq(id, 100276);
	ck_assert_int_eq(wn_tokenizer_find(t, " world", 6, &id), 1);
	ck_assert_uint_eq(id, 269);
	ck_assert_int_eq(wn_tokenizer_find(t, "wor", 3, &id), 0);
	ck_assert_str_eq(wn_tokenizer_name(t), "tiny.tiktoken");

	char *text = tiny_tiktoken_text();
	unsigned char md[32];
	unsigned int mdlen;
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	char hex[65];
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	ck_assert_str_eq(wn_tokenizer_sha256(t), hex);
	free(text);
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_hf_loads_both_merge_syntaxes)
{
	struct hf_opts legacy = { 0 }, tuple = { .tuple_merges = 1 };
	struct wn_tokenizer *a = tiny_hf(&legacy), *b = tiny_hf(&tuple);
	ck_assert_uint_eq(wn_tokenizer_vocab_size(a), 304);
	ck_assert_uint_eq(wn_tokenizer_vocab_size(b), 304);
	uint32_t id;
	ck_assert_int_eq(wn_tokenizer_eot(a, &id), 1);
	ck_assert_uint_eq(id, 300);
	/* a vocabulary entry is found by its bytes, not its alphabet form */
	ck_assert_int_eq(wn_tokenizer_find(a, " world", 6, &id), 1);
	ck_assert_uint_eq(id, 269);
	ck_assert_int_eq(wn_tokenizer_find(a, "\xc4\xa0world", 7, &id), 0);
	ck_assert_str_eq(wn_tokenizer_name(a), "tokenizer.json");
	const char *texts[] = { "hello world", "abcd aaaaa", " world hello", "xyz" };
	for (size_t i = 0; i < 4; i++) {
		struct wn_encoder *ea, *eb;
		struct wn_ids ia, ib;
		wn_ids_init(&ia);
		wn_ids_init(&ib);
		ck_assert_int_eq(wn_encoder_new(&ea, a), WN_OK);
		ck_assert_int_eq(wn_encoder_new(&eb, b), WN_OK);
		ck_assert_int_eq(wn_encode(ea, texts[i], strlen(texts[i]), 0, &ia, NULL), WN_OK);
		ck_assert_int_eq(wn_encode(eb, texts[i], strlen(texts[i]), 0, &ib, NULL), WN_OK);
		ck_assert_uint_eq(ia.n, ib.n);
		ck_assert_int_eq(memcmp(ia.v, ib.v, ia.n * 4), 0);
		wn_ids_release(&ia);
		wn_ids_release(&ib);
		wn_encoder_free(ea);
		wn_encoder_free(eb);
	}
	EXPECT(a, "hello world", 0, 264, 269);
	wn_tokenizer_free(a);
	wn_tokenizer_free(b);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

static void expect_load_error(const char *name, const char *data, const char *encoding,
                              int status, const char *msg)
{
	char *path = write_file(name, data, strlen(data));
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t = (struct wn_tokenizer *)1;
	int s = wn_tokenizer_load(&t, path, encoding, &err);
	ck_assert_msg(s == status, "%s: status %d, want %d (%s)", name, s, status, err.msg);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err.msg, msg), "%s: message '%s' lacks '%s'", name, err.msg, msg);
	free(path);
}

START_TEST(test_tiktoken_errors)
{
	expect_load_error("a.tiktoken", "YQ== 0\nYg== 1\nYWI= 1\n", "cl100k_base", WN_EDATA,
	                  "a.tiktoken:3: duplicate rank 1 (also on line 2)");
	expect_load_error("b.tiktoken", "YQ== 0\nYg== 1\nYQ== 2\n", "cl100k_base", WN_EDATA,
	                  "b.tiktoken:3: the token of rank 2 repeats the bytes of rank 0 (line 1)");
	expect_load_error("c.tiktoken", "YQ== 0\nY!== 1\n", "cl100k_base", WN_EDATA,
	                  "c.tiktoken:2: bad base64 'Y!=='");
	expect_load_error("d.tiktoken", "YQ== 0\nYg=\n", "cl100k_base", WN_EDATA,
	                  "d.tiktoken:2: missing rank");
	expect_load_error("e.tiktoken", "YQ== 0\nYg== x1\n", "cl100k_base", WN_EDATA,
	                  "e.tiktoken:2: bad rank 'x1'");
	expect_load_error("f.tiktoken", "YQ== 0\nYg== 1 2\n", "cl100k_base", WN_EDATA,
	                  "f.tiktoken:2: unexpected text after the rank");
	expect_load_error("g.tiktoken", "YQ== 0\n\n\nYg 1\n", "cl100k_base", WN_EDATA,
	                  "g.tiktoken:4: bad base64");
	expect_load_error("h.tiktoken", "YQ== 0\n", "cl200k", WN_EUSAGE,
	                  "unknown encoding 'cl200k'");
	/* gpt2 has 50256 ordinary tokens */
	expect_load_error("i.tiktoken", "YQ== 0\n", "gpt2", WN_EDATA,
	                  "i.tiktoken: 1 ranks, but gpt2 has 50256 ordinary tokens "
	                  "(wrong --encoding?)");
	/* a rank where a special token goes */
	expect_load_error("j.tiktoken", "YQ== 100257\n", "cl100k_base", WN_EDATA,
	                  "special token '<|endoftext|>' of cl100k_base has id 100257");
	expect_load_error("k.tiktoken", "\n", "cl100k_base", WN_EDATA, "no tokens in the file");
	/* without an encoding, the file is taken for a tokenizer.json */
	expect_load_error("l.tiktoken", "YQ== 0\n", NULL, WN_EUSAGE,
	                  "a .tiktoken rank file needs an encoding");
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t;
	ck_assert_int_eq(wn_tokenizer_load(&t, "/nonexistent/x.tiktoken", "gpt2", &err), WN_EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/x.tiktoken: cannot open"));
}
END_TEST

/* A byte that is no token and merges with nothing cannot be encoded (the
 * tiktoken library panics); the error leaves the ids as they were.  It
 * does merge when a pair makes a token: "qu" is one. */
START_TEST(test_tiktoken_missing_byte)
{
	const char *vocab = "YQ== 0\ncXU= 1\ndQ== 2\n"; /* a, qu, u */
	char *path = write_file("noq.tiktoken", vocab, strlen(vocab));
	struct wn_tokenizer *t = load_ok(path, "cl100k_base");
	EXPECT(t, "qua", 0, 1, 0);
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct wn_ids ids;
	wn_ids_init(&ids);
	ck_assert_int_eq(wn_ids_push(&ids, 7), WN_OK);
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_encode(e, "a qa", 4, 0, &ids, &err), WN_EDATA);
	ck_assert_msg(strstr(err.msg, "byte 0x20 has no token in noq.tiktoken"), "%s", err.msg);
	ck_assert_uint_eq(ids.n, 1);
	ck_assert_uint_eq(ids.v[0], 7);
	wn_ids_release(&ids);
	wn_encoder_free(e);
	wn_tokenizer_free(t);
	free(path);
}
END_TEST

/* Change one field of the tiny tokenizer.json and expect an error naming it. */
static void hf_error(const char *path_set, json_t *value, const char *msg)
{
	struct hf_opts o = { .split = strstr(path_set, "pretokenizers") != NULL };
	json_t *root = tiny_hf_json(&o);
	char key[128];
	snprintf(key, sizeof(key), "%s", path_set);
	json_t *obj = root;
	char *p = key, *dot;
	while ((dot = strchr(p, '.'))) {
		*dot = '\0';
		char *br = strchr(p, '[');
		if (br) {
			*br = '\0';
			obj = json_array_get(json_object_get(obj, p), (size_t)atoi(br + 1));
		} else {
			obj = json_object_get(obj, p);
		}
		p = dot + 1;
	}
	ck_assert_ptr_nonnull(obj);
	if (value)
		json_object_set_new(obj, p, value);
	else
		json_object_del(obj, p);
	char *path = dump_json(root, "bad.json");
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t;
	int s = wn_tokenizer_load(&t, path, NULL, &err);
	ck_assert_msg(s == WN_EDATA, "%s: status %d (%s)", path_set, s, err.msg);
	ck_assert_msg(strstr(err.msg, msg), "%s: message '%s' lacks '%s'", path_set, err.msg, msg);
	ck_assert_msg(strncmp(err.msg, path, strlen(path)) == 0, "'%s' does not name the file",
	              err.msg);
	free(path);
}

START_TEST(test_hf_errors_name_the_field)
{
	hf_error("model.type", json_string("WordPiece"),
	         "model.type 'WordPiece' is not supported");
	hf_error("model.byte_fallback", json_true(), "model.byte_fallback true is not supported");
	hf_error("model.dropout", json_real(0.1), "model.dropout is not supported");
	hf_error("model.continuing_subword_prefix", json_string("##"),
	         "model.continuing_subword_prefix is not supported");
	hf_error("model.end_of_word_suffix", json_string("</w>"),
	         "model.end_of_word_suffix is not supported");
	hf_error("model.unk_token", json_string("<unk>"),
	         "model.unk_token '<unk>' is not in model.vocab");
	hf_error("model.vocab", NULL, "model.vocab is missing");
	hf_error("model.merges", json_pack("[s]", "a b c"),
	         "model.merges[0]: 'a b c' is not two tokens separated by a space");
	hf_error("model.merges", json_pack("[s]", "a q\xc3\xa9"),
	         "model.merges[0]: token 'q\xc3\xa9' is not in model.vocab");
	hf_error("model.merges", json_pack("[s,s]", "a b", "b a"),
	         "model.merges[1]: merged token 'ba' is not in model.vocab");
	hf_error("model.merges", json_pack("[s,[s,s]]", "a b", "b", "a"),
	         "model.merges[1] is not a string like the first merge");
	hf_error("pre_tokenizer.type", json_string("Metaspace"),
	         "pre_tokenizer.type 'Metaspace' is not supported");
	hf_error("pre_tokenizer.add_prefix_space", json_true(),
	         "pre_tokenizer.add_prefix_space true is not supported");
	hf_error("pre_tokenizer", json_null(), "pre_tokenizer null is not supported");
	hf_error("pre_tokenizer.pretokenizers[0].behavior", json_string("Removed"),
	         "pre_tokenizer.pretokenizers[0].behavior 'Removed' is not supported");
	hf_error("pre_tokenizer.pretokenizers[0].invert", json_true(),
	         "pre_tokenizer.pretokenizers[0].invert true is not supported");
	hf_error("pre_tokenizer.pretokenizers[0].pattern", json_pack("{s:s}", "Regex", "(a"),
	         "pre_tokenizer.pretokenizers[0]: bad regular expression");
	hf_error("pre_tokenizer.pretokenizers[1].type", json_string("Digits"),
	         "pre_tokenizer.pretokenizers[1].type 'Digits' is not supported");
	hf_error("normalizer", json_pack("{s:s}", "type", "Lowercase"),
	         "normalizer.type 'Lowercase' is not supported");
	hf_error("added_tokens[1].lstrip", json_true(),
	         "added_tokens[1].lstrip true is not supported");
	hf_error("added_tokens[2].single_word", json_true(),
	         "added_tokens[2].single_word true is not supported");
	hf_error("added_tokens[0].id", json_string("x"),
	         "added_tokens[0]: id of '<|endoftext|>' is not an integer");
	hf_error("added_tokens[1].id", json_integer(264),
	         "added_tokens[1]: id 264 is the vocabulary token 'hello', not '[FOO]'");

	expect_load_error("broken.json", "{\"model\":\n{]", NULL, WN_EDATA, "broken.json:2:");
}
END_TEST

/* ---- merge order -------------------------------------------------------- */

START_TEST(test_tiktoken_merge_order)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	/* ab (257) and bc (256): bc first, then a+bc is the token abc */
	EXPECT(t, "abcd", 0, 258, 'd');
	/* ties go to the leftmost pair: aa|a|a, then aa|aa */
	EXPECT(t, "aaaa", 0, 259, 259);
	/* aa|a|a|a -> aa|aa|a -> aa|aaa */
	EXPECT(t, "aaaaa", 0, 259, 260);
	/* a piece that is a token is emitted whole */
	EXPECT(t, "xyz", 0, 270);
	EXPECT(t, "hello world", 0, 264, 269);
	EXPECT(t, "hellohello", 0, 264, 264);
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_hf_merge_order)
{
	struct hf_opts o = { 0 };
	struct wn_tokenizer *t = tiny_hf(&o);
	/* merge b c (rank 0) first; a + bc is no merge, though abc is a
	 * token: here Hugging Face and tiktoken differ */
	EXPECT(t, "abcd", 0, 'a', 256, 'd');
	/* ab then ab+c */
	EXPECT(t, "abd", 0, 257, 'd');
	EXPECT(t, "aaaa", 0, 259, 259);
	EXPECT(t, "aaaaa", 0, 259, 260);
	EXPECT(t, "aaa", 0, 260);
	/* without ignore_merges a piece is merged even when it is a token */
	EXPECT(t, "xyz", 0, 'x', 'y', 'z');
	EXPECT(t, "hello world", 0, 264, 269);
	wn_tokenizer_free(t);

	struct hf_opts im = { .ignore_merges = 1 };
	t = tiny_hf(&im);
	EXPECT(t, "xyz", 0, 270);
	EXPECT(t, "abc", 0, 258);
	EXPECT(t, "abcd", 0, 'a', 256, 'd');
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_hf_unknown_bytes)
{
	/* a byte missing from the vocabulary is dropped before merging */
	struct hf_opts o = { .skip_byte = "q" };
	struct wn_tokenizer *t = tiny_hf(&o);
	EXPECT(t, "aqa", 0, 259);
	wn_tokenizer_free(t);
	/* ... or becomes the unknown token */
	struct hf_opts u = { .skip_byte = "q", .unk = "<unk>" };
	t = tiny_hf(&u);
	EXPECT(t, "aqa", 0, 'a', 271, 'a');
	EXPECT(t, "aqqa", 0, 'a', 271, 271, 'a');
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_hf_split_sequence)
{
	/* Sequence[Split(Isolated), ByteLevel(use_regex false)] */
	struct hf_opts o = { .split = 1 };
	struct wn_tokenizer *t = tiny_hf(&o);
	EXPECT(t, "hello world", 0, 264, 269);
	/* the Llama-3-style pattern keeps digits in threes */
	expect_pieces(t, "12345 ab", "123|45| ab|");
	EXPECT(t, "12345", 0, '1', '2', '3', '4', '5');
	wn_tokenizer_free(t);
}
END_TEST

/* ---- special and added tokens ------------------------------------------- */

START_TEST(test_tiktoken_special_tokens)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	EXPECT(t, "a<|endoftext|>b", 1, 'a', 100257, 'b');
	EXPECT(t, "<|fim_prefix|><|endofprompt|>", 1, 100258, 100276);
	/* off: ordinary text, split by the pattern as "<|" "endoftext" "|>" */
	EXPECT(t, "a<|endoftext|>b", 0, 'a', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't',
	       '|', '>', 'b');
	EXPECT(t, "<|endoftext", 1, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't');
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_hf_added_tokens)
{
	struct hf_opts o = { 0 };
	struct wn_tokenizer *t = tiny_hf(&o);
	EXPECT(t, "a<|endoftext|>b", 1, 'a', 300, 'b');
	EXPECT(t, "a<|endoftext|>b", 0, 'a', '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't',
	       '|', '>', 'b');
	/* a non-special added token is matched either way, as Hugging Face
	 * does with encode_special_tokens */
	EXPECT(t, "a[FOO]b", 0, 'a', 301, 'b');
	EXPECT(t, "a[FOO]b", 1, 'a', 301, 'b');
	EXPECT(t, "endofx", 0, 303, 'x');
	/* a skipped special match hides the added tokens inside it */
	EXPECT(t, "<|endoftext|>", 0, '<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't', '|',
	       '>');
	/* normalized: true tokens are matched in the (here unnormalized)
	 * text between the others */
	EXPECT(t, "xh\xc3\xa9llo", 0, 'x', 302);
	uint32_t id;
	ck_assert_int_eq(wn_tokenizer_find(t, "[FOO]", 5, &id), 1);
	ck_assert_uint_eq(id, 301);
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_nfc_normalizer)
{
	const char *composed = "h\xc3\xa9", *decomposed = "he\xcc\x81";
	struct hf_opts nfc = { .nfc = 1 }, raw = { 0 };
	struct wn_tokenizer *t = tiny_hf(&nfc);
	/* é is U+00E9 (C3 A9) either way */
	EXPECT(t, composed, 0, 'h', 0xc3, 0xa9);
	EXPECT(t, decomposed, 0, 'h', 0xc3, 0xa9);
	/* the added token "héllo" (normalized) matches the decomposed text */
	EXPECT(t, "he\xcc\x81llo", 0, 302);
	/* NFC is applied between added tokens, not across them */
	EXPECT(t, "e[FOO]\xcc\x81", 0, 'e', 301, 0xcc, 0x81);
	wn_tokenizer_free(t);
	t = tiny_hf(&raw);
	EXPECT(t, decomposed, 0, 261, 0xcc, 0x81);
	wn_tokenizer_free(t);
}
END_TEST

/* ---- decoding and round trips ------------------------------------------- */

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static size_t random_utf8(char *out, size_t max_chars)
{
	size_t o = 0, n = 1 + rnd((uint32_t)max_chars);
	static const char *const bits[] = { " ", "  ", "\n", "\r\n", "<|endoftext|>", "[FOO]",
		                            "'s", "hello", " world", "aaaa", "abc", "\t" };
	for (size_t i = 0; i < n; i++) {
		uint32_t k = rnd(10);
		if (k < 2) {
			const char *b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
			memcpy(out + o, b, strlen(b));
			o += strlen(b);
			continue;
		}
		uint32_t cp = k < 5   ? rnd(0x80)
		              : k < 7 ? 0x80 + rnd(0x780)
		              : k < 9 ? 0x800 + rnd(0xf800)
		                      : 0x10000 + rnd(0x100000);
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 'x';
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 63));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 63));
			out[o++] = (char)(0x80 | (cp & 63));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | ((cp >> 12) & 63));
			out[o++] = (char)(0x80 | ((cp >> 6) & 63));
			out[o++] = (char)(0x80 | (cp & 63));
		}
	}
	return o;
}

static void round_trips(struct wn_tokenizer *t)
{
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct wn_ids ids;
	wn_ids_init(&ids);
	struct wn_buf out = WN_BUF_INIT;
	char text[4096];
	for (int i = 0; i < 2000; i++) {
		size_t n = random_utf8(text, 200);
		ids.n = 0;
		wn_buf_reset(&out);
		struct wn_error err;
		wn_error_clear(&err);
		int special = i & 1;
		if (wn_encode(e, text, n, special, &ids, &err) < 0)
			ck_abort_msg("encode: %s", err.msg);
		ck_assert_int_eq(wn_decode(t, ids.v, ids.n, &out, &err), WN_OK);
		ck_assert_uint_eq(out.len, n);
		ck_assert_msg(memcmp(out.data, text, n) == 0, "round trip %d differs", i);
	}
	wn_buf_release(&out);
	wn_ids_release(&ids);
	wn_encoder_free(e);
}

START_TEST(test_round_trip_random_utf8)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	round_trips(t);
	wn_tokenizer_free(t);
	struct hf_opts o = { 0 }, s = { .split = 1, .ignore_merges = 1 };
	t = tiny_hf(&o);
	round_trips(t);
	wn_tokenizer_free(t);
	t = tiny_hf(&s);
	round_trips(t);
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_decode)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	struct wn_buf out = WN_BUF_INIT;
	struct wn_error err;
	wn_error_clear(&err);
	uint32_t ids[] = { 264, 269, 100257, 'x' };
	ck_assert_int_eq(wn_decode(t, ids, 4, &out, &err), WN_OK);
	ck_assert_str_eq(out.data, "hello world<|endoftext|>x");
	/* 100256 lies in the gap before the special tokens */
	uint32_t bad[] = { 'a', 100256 };
	ck_assert_int_eq(wn_decode(t, bad, 2, &out, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "token id 100256 is not in the vocabulary"));
	uint32_t far[] = { 5000000 };
	wn_error_clear(&err);
	ck_assert_int_eq(wn_decode(t, far, 1, &out, &err), WN_EDATA);
	wn_buf_release(&out);
	wn_tokenizer_free(t);
}
END_TEST

START_TEST(test_invalid_utf8_rejected)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct wn_ids ids;
	wn_ids_init(&ids);
	static const struct {
		const char *s;
		size_t at;
	} bad[] = {
		{ "\xff", 0 },         { "ab\xc3", 2 },       { "a\xed\xa0\x80", 1 },
		{ "x\xc0\xaf", 1 },    { "ok\xf4\x90\x80\x80", 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wn_error err;
		wn_error_clear(&err);
		ids.n = 0;
		ck_assert_int_eq(wn_encode(e, bad[i].s, strlen(bad[i].s), 0, &ids, &err), WN_EDATA);
		char want[64];
		sprintf(want, "invalid UTF-8 at byte %zu", bad[i].at);
		ck_assert_msg(strstr(err.msg, want), "'%s' lacks '%s'", err.msg, want);
		ck_assert_uint_eq(ids.n, 0);
	}
	wn_ids_release(&ids);
	wn_encoder_free(e);
	wn_tokenizer_free(t);
}
END_TEST

/* ---- the three merge implementations ------------------------------------ */

static void compare_merges(struct wn_tokenizer *t, const unsigned char *alphabet, size_t nalpha,
                           int rounds, size_t maxlen)
{
	struct wn_tok_bpe_scratch s;
	ck_assert_int_eq(wn_tok_bpe_scratch_init(&s), WN_OK);
	uint32_t *a = malloc(maxlen * 4), *b = malloc(maxlen * 4), *c = malloc(maxlen * 4);
	unsigned char *bytes = malloc(maxlen);
	for (int r = 0; r < rounds; r++) {
		size_t n = 2 + rnd((uint32_t)maxlen - 1);
		/* runs of one byte now and then: ties everywhere */
		for (size_t i = 0; i < n; i++)
			bytes[i] = rnd(4) == 0 && i ? bytes[i - 1]
			                            : alphabet[rnd((uint32_t)nalpha)];
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] = c[i] = t->byte_id[bytes[i]];
		size_t na = n, nb = n, nc = n;
		/* bytes given or not: the byte-pair table must agree */
		const unsigned char *bp = r & 1 ? bytes : NULL;
		if (n <= 256)
			na = wn_tok_merge_small(t, &s, a, n, bp);
		ck_assert_int_eq(wn_tok_merge_heap(t, &s, b, &nb, bp), WN_OK);
		ck_assert_int_eq(wn_tok_merge_buckets(t, &s, c, &nc, r & 2 ? bytes : NULL), WN_OK);
		ck_assert_uint_eq(nb, nc);
		ck_assert_msg(memcmp(b, c, nb * 4) == 0, "heap and buckets differ (n %zu)", n);
		if (n <= 256) {
			ck_assert_uint_eq(na, nb);
			ck_assert_msg(memcmp(a, b, nb * 4) == 0, "small and heap differ (n %zu)",
			              n);
		}
	}
	free(a);
	free(b);
	free(c);
	free(bytes);
	wn_tok_bpe_scratch_release(&s);
}

START_TEST(test_merge_implementations_agree)
{
	static const unsigned char alpha[] = "abcdehlorwxyz ";
	struct wn_tokenizer *t = tiny_tiktoken();
	compare_merges(t, alpha, sizeof(alpha) - 1, 3000, 256);
	compare_merges(t, alpha, sizeof(alpha) - 1, 30, 50000);
	wn_tokenizer_free(t);
	struct hf_opts o = { 0 };
	t = tiny_hf(&o);
	compare_merges(t, alpha, sizeof(alpha) - 1, 3000, 256);
	compare_merges(t, alpha, sizeof(alpha) - 1, 30, 50000);
	wn_tokenizer_free(t);
}
END_TEST

/* A long piece through the public API equals the merge of its halves'
 * reference: the heap over the whole piece. */
START_TEST(test_long_piece_through_encode)
{
	struct wn_tokenizer *t = tiny_tiktoken();
	size_t n = 300000;
	char *text = malloc(n);
	static const char alpha[] = "abcdehlorwxyz";
	for (size_t i = 0; i < n; i++)
		text[i] = alpha[rnd(sizeof(alpha) - 1)];
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct wn_ids ids;
	wn_ids_init(&ids);
	ck_assert_int_eq(wn_encode(e, text, n, 0, &ids, NULL), WN_OK);
	struct wn_tok_bpe_scratch s;
	ck_assert_int_eq(wn_tok_bpe_scratch_init(&s), WN_OK);
	uint32_t *sym = malloc(n * 4);
	for (size_t i = 0; i < n; i++)
		sym[i] = t->byte_id[(unsigned char)text[i]];
	size_t m = n;
	ck_assert_int_eq(wn_tok_merge_heap(t, &s, sym, &m, NULL), WN_OK);
	ck_assert_uint_eq(ids.n, m);
	ck_assert_int_eq(memcmp(ids.v, sym, m * 4), 0);
	free(sym);
	free(text);
	wn_tok_bpe_scratch_release(&s);
	wn_ids_release(&ids);
	wn_encoder_free(e);
	wn_tokenizer_free(t);
}
END_TEST

/* ---- split patterns ----------------------------------------------------- */

struct pieces {
	char buf[4096];
	size_t n;
};

static void add_piece(void *arg, const char *s, size_t n)
{
	struct pieces *p = arg;
	memcpy(p->buf + p->n, s, n);
	p->n += n;
	p->buf[p->n++] = '|';
	p->buf[p->n] = '\0';
}

static void expect_pieces(struct wn_tokenizer *t, const char *text, const char *want)
{
	struct wn_encoder *e;
	ck_assert_int_eq(wn_encoder_new(&e, t), WN_OK);
	struct pieces p = { .n = 0 };
	ck_assert_int_eq(wn_tok_pieces(e, text, strlen(text), add_piece, &p, NULL), WN_OK);
	ck_assert_str_eq(p.buf, want);
	wn_encoder_free(e);
}

START_TEST(test_split_patterns)
{
	struct wn_tokenizer *t = tiny_tiktoken(); /* cl100k_base's pattern */
	expect_pieces(t, "I'm HE'S here  \n  x", "I|'m| HE|'S| here|  \n| | x|");
	expect_pieces(t, "1234567 ab", "123|456|7| ab|");
	expect_pieces(t, "x  \n  ", "x|  \n  |");
	/* U+180E is not white space (Unicode 6.3); PCRE2's own \s says it is */
	expect_pieces(t, "a \xe1\xa0\x8e b", "a| \xe1\xa0\x8e| b|");
	/* U+0085 is */
	expect_pieces(t, "a\xc2\x85 b", "a|\xc2\x85| b|");
	wn_tokenizer_free(t);
	struct hf_opts o = { 0 };
	t = tiny_hf(&o); /* the GPT-2 pattern */
	expect_pieces(t, "I'm HE'S here  \n  x", "I|'m| HE|'|S| here|  \n | x|");
	wn_tokenizer_free(t);
}
END_TEST

/* ---- the real encodings, when their files are at hand ------------------- */

/* The tiktoken npm package's encoders/NAME.json holds the ranks as
 * "! first-rank base64 base64 ..." lines; write them as a .tiktoken file. */
static char *npm_to_tiktoken(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return NULL;
	const char *ranks = json_string_value(json_object_get(j, "bpe_ranks"));
	ck_assert_ptr_nonnull(ranks);
	struct wn_buf out = WN_BUF_INIT;
	const char *p = ranks;
	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		/* "! rank" then tokens */
		const char *q = strchr(p, ' ') + 1;
		long rank = strtol(q, (char **)&q, 10);
		while (q < eol) {
			q++;
			const char *e = q;
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

static const char *encoders_dir(void)
{
	static char dir[4096];
	const char *env = getenv("WN_TIKTOKEN_ENCODERS");
	if (env)
		return env;
	glob_t g;
	if (glob("/tmp/*/node_modules/tiktoken/encoders", 0, NULL, &g) == 0 ||
	    glob("/tmp/node_modules/tiktoken/encoders", 0, NULL, &g) == 0) {
		snprintf(dir, sizeof(dir), "%s", g.gl_pathv[0]);
		globfree(&g);
		return dir;
	}
	return NULL;
}

static struct wn_tokenizer *real(const char *name)
{
	const char *dir = encoders_dir();
	if (!dir)
		return NULL;
	char *path = npm_to_tiktoken(dir, name);
	if (!path)
		return NULL;
	struct wn_tokenizer *t = load_ok(path, name);
	free(path);
	return t;
}

START_TEST(test_real_encodings)
{
	struct wn_tokenizer *t = real("cl100k_base");
	if (!t) {
		fprintf(stderr, "test_tok: real encodings skipped (no tiktoken npm package; "
		                "set WN_TIKTOKEN_ENCODERS)\n");
		return;
	}
	/* from openai/tiktoken's tests/test_encoding.py */
	EXPECT(t, "hello world", 0, 15339, 1917);
	EXPECT(t, "hello <|endoftext|>", 1, 15339, 220, 100257);
	EXPECT(t, "rer", 0, 38149);
	EXPECT(t, "'rer", 0, 2351, 81);
	EXPECT(t, "today\n ", 0, 31213, 198, 220);
	EXPECT(t, "today\n \n", 0, 31213, 27907);
	EXPECT(t, "today\n  \n", 0, 31213, 14211);
	EXPECT(t, " \xc2\x85" "0", 0, 220, 126, 227, 15);
	EXPECT(t, "\xf0\x9f\x91\x8d", 0, 9468, 239, 235);
	ck_assert_uint_eq(wn_tokenizer_vocab_size(t), 100277);
	ck_assert_str_eq(wn_tokenizer_sha256(t),
	                 "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7");
	static const unsigned char letters[] = "etaoinshrdlucmfwypvbgkqjxz";
	compare_merges(t, letters, sizeof(letters) - 1, 300, 256);
	compare_merges(t, letters, sizeof(letters) - 1, 4, 100000);
	wn_tokenizer_free(t);

	t = real("r50k_base");
	ck_assert_ptr_nonnull(t);
	EXPECT(t, "hello world", 0, 31373, 995);
	EXPECT(t, "0", 0, 15);
	EXPECT(t, "00000", 0, 20483);
	EXPECT(t, "000000000", 0, 10535, 830);
	EXPECT(t, "00000000000000000", 0, 8269, 10535, 830);
	wn_tokenizer_free(t);

	t = real("o200k_base");
	ck_assert_ptr_nonnull(t);
	EXPECT(t, "hello world", 0, 24912, 2375);
	ck_assert_uint_eq(wn_tokenizer_vocab_size(t), 200019);
	uint32_t id;
	ck_assert_int_eq(wn_tokenizer_eot(t, &id), 1);
	ck_assert_uint_eq(id, 199999);
	round_trips(t);
	wn_tokenizer_free(t);
}
END_TEST

static Suite *tok_suite(void)
{
	Suite *s = suite_create("tok");
	TCase *tc = tcase_create("load");
	tcase_add_test(tc, test_tiktoken_loads);
	tcase_add_test(tc, test_hf_loads_both_merge_syntaxes);
	tcase_add_test(tc, test_tiktoken_errors);
	tcase_add_test(tc, test_hf_errors_name_the_field);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, test_tiktoken_merge_order);
	tcase_add_test(tc, test_tiktoken_missing_byte);
	tcase_add_test(tc, test_hf_merge_order);
	tcase_add_test(tc, test_hf_unknown_bytes);
	tcase_add_test(tc, test_hf_split_sequence);
	tcase_add_test(tc, test_tiktoken_special_tokens);
	tcase_add_test(tc, test_hf_added_tokens);
	tcase_add_test(tc, test_nfc_normalizer);
	tcase_add_test(tc, test_round_trip_random_utf8);
	tcase_add_test(tc, test_decode);
	tcase_add_test(tc, test_invalid_utf8_rejected);
	tcase_add_test(tc, test_split_patterns);
	suite_add_tcase(s, tc);

	tc = tcase_create("merge");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_merge_implementations_agree);
	tcase_add_test(tc, test_long_piece_through_encode);
	suite_add_tcase(s, tc);

	tc = tcase_create("real");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_real_encodings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* one directory for all the tests (each runs in its own process) */
	if (!mkdtemp(tmpdir)) {
		perror("test_tok: mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(tok_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[sizeof(tmpdir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_tok: could not remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
