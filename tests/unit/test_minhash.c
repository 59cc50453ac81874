/*
 * test_minhash.c - MinHash signatures and the LSH index (src/dedup/minhash).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "dedup/minhash.h"

#define P WN_MINHASH_PRIME

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char *const vocab[] = {
	"river", "stone", "market", "winter", "garden", "letter", "engine",
	"silver", "harbor", "window", "forest", "candle", "signal", "bridge",
	"mirror", "planet", "castle", "pencil", "rocket", "meadow", "copper",
	"lantern", "theory", "harvest", "ribbon", "falcon", "quartz", "valley",
	"anchor", "puzzle", "spiral", "thunder", "orchard", "canvas", "voyage",
	"marble", "whisper", "compass", "glacier", "saddle", "tunnel", "velvet",
	"beacon", "cobalt", "dagger", "ember", "fossil", "granite", "hollow",
	"island", "jasmine", "kettle", "lagoon", "mosaic", "nectar", "oyster",
	"pepper", "quiver", "raven", "saffron", "timber", "umbra", "vortex",
	"walnut", "yonder", "zephyr", "amber", "bramble", "cinder", "drift",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

/* A random text of n words (two random vocabulary words glued together, so
 * that 5-grams of two different texts practically never meet). */
static char *random_text(size_t n)
{
	char *t = malloc(n * 16 + 1), *d = t;
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < n; i++) {
		if (i)
			*d++ = ' ';
		d += sprintf(d, "%s%s", vocab[rnd() % NVOCAB], vocab[rnd() % NVOCAB]);
	}
	*d = '\0';
	return t;
}

/* text with k of its words replaced by new random ones */
static char *substitute(const char *text, size_t k)
{
	size_t n = 1;
	for (const char *p = text; *p; p++)
		n += *p == ' ';
	char **w = malloc(n * sizeof(*w));
	char *copy = strdup(text), *save = NULL;
	ck_assert_ptr_nonnull(w);
	size_t i = 0;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		w[i++] = tok;
	char *repl = random_text(k);
	char **r = malloc(k * sizeof(*r) + 1);
	size_t j = 0;
	for (char *tok = strtok_r(repl, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		r[j++] = tok;
	for (j = 0; j < k; j++)
		w[rnd() % n] = r[j];
	char *out = malloc(strlen(text) + 16 * k + 1), *d = out;
	for (i = 0; i < n; i++)
		d += sprintf(d, "%s%s", i ? " " : "", w[i]);
	free(w);
	free(r);
	free(copy);
	free(repl);
	return out;
}

struct hashes {
	uint64_t *v;
	size_t n, cap;
};

static void collect(uint64_t h, void *arg)
{
	struct hashes *hs = arg;
	if (hs->n == hs->cap) {
		hs->cap = hs->cap ? hs->cap * 2 : 64;
		hs->v = realloc(hs->v, hs->cap * sizeof(uint64_t));
		ck_assert_ptr_nonnull(hs->v);
	}
	hs->v[hs->n++] = h;
}

static int cmp64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static size_t sort_unique(uint64_t *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp64);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

static double true_jaccard(struct wn_minhash *mh, const char *a, const char *b)
{
	struct hashes x = { 0 }, y = { 0 };
	wn_minhash_shingles(mh, a, strlen(a), collect, &x);
	wn_minhash_shingles(mh, b, strlen(b), collect, &y);
	size_t nx = sort_unique(x.v, x.n), ny = sort_unique(y.v, y.n);
	size_t i = 0, j = 0, both = 0;
	while (i < nx && j < ny) {
		if (x.v[i] == y.v[j])
			both++, i++, j++;
		else if (x.v[i] < y.v[j])
			i++;
		else
			j++;
	}
	free(x.v);
	free(y.v);
	return (double)both / (double)(nx + ny - both);
}

static struct wn_minhash *hasher(const char *preset)
{
	struct wn_minhash_params p;
	struct wn_minhash *mh;
	wn_minhash_params_default(&p);
	if (preset)
		ck_assert_int_eq(wn_minhash_params_preset(&p, preset, NULL), WN_OK);
	ck_assert_int_eq(wn_minhash_new(&mh, &p, NULL), WN_OK);
	return mh;
}

/* ---- arithmetic ---------------------------------------------------------- */

static uint64_t ref_permute(uint64_t h, uint64_t a, uint64_t b)
{
	unsigned __int128 x = (unsigned __int128)(h % P) * a + b;
	return (uint64_t)(x % P);
}

START_TEST(permute_edge_cases)
{
	const uint64_t M = P;
	ck_assert_uint_eq(wn_minhash_permute(0, 12345, 678), 678);
	ck_assert_uint_eq(wn_minhash_permute(M, 1, 0), 0);           /* P = 0 */
	ck_assert_uint_eq(wn_minhash_permute(M + 5, 1, 0), 5);
	ck_assert_uint_eq(wn_minhash_permute(UINT64_MAX, 1, 0), 7);  /* 2^64 = 8 */
	ck_assert_uint_eq(wn_minhash_permute(1, M - 1, 0), M - 1);
	ck_assert_uint_eq(wn_minhash_permute(M - 1, M - 1, 0), 1);   /* -1 * -1 */
	ck_assert_uint_eq(wn_minhash_permute(2, UINT64_C(1) << 60, 0), 1);
	ck_assert_uint_eq(wn_minhash_permute(1, 1, M - 1), 0);       /* wraps to 0 */
	ck_assert_uint_eq(wn_minhash_permute(M - 1, M - 1, M - 1), 0);
	ck_assert_uint_eq(wn_minhash_permute(UINT64_C(1) << 61, 1, 0), 1);
	ck_assert_uint_eq(wn_minhash_permute(UINT64_C(3) << 32, UINT64_C(5) << 40, 9),
	                  ref_permute(UINT64_C(3) << 32, UINT64_C(5) << 40, 9));
	rng_state = 7;
	for (int i = 0; i < 200000; i++) {
		uint64_t h = rnd(), a = rnd() % (M - 1) + 1, b = rnd() % M;
		if (i % 4 == 1)
			h = M - 1 - (h & 15);  /* values next to the modulus */
		if (i % 4 == 2)
			a = M - 1 - (a & 15);
		if (i % 4 == 3)
			b = M - 1 - (b & 15);
		ck_assert_uint_eq(wn_minhash_permute(h, a, b), ref_permute(h, a, b));
	}
}
END_TEST

START_TEST(permutations_follow_the_documented_draw)
{
	struct wn_minhash *mh = hasher(NULL);
	uint64_t s = 1;  /* the default seed */
	rng_state = s;
	for (uint32_t i = 0; i < 112; i++) {
		uint64_t a, b;
		do
			a = rnd() & P;
		while (a < 1 || a >= P);
		do
			b = rnd() & P;
		while (b >= P);
		ck_assert_uint_eq(wn_minhash_perm_a(mh, i), a);
		ck_assert_uint_eq(wn_minhash_perm_b(mh, i), b);
	}
	/* another seed, other permutations */
	struct wn_minhash_params p = *wn_minhash_get_params(mh);
	p.seed = 2;
	struct wn_minhash *mh2;
	ck_assert_int_eq(wn_minhash_new(&mh2, &p, NULL), WN_OK);
	ck_assert_uint_ne(wn_minhash_perm_a(mh2, 0), wn_minhash_perm_a(mh, 0));
	wn_minhash_free(mh2);
	wn_minhash_free(mh);
}
END_TEST

/* ---- shingles ------------------------------------------------------------ */

static uint64_t word_hash(const char *w, uint64_t seed)
{
	return XXH3_64bits_withSeed(w, strlen(w), seed);
}

START_TEST(word_shingles_known_answer)
{
	struct wn_minhash *mh = hasher(NULL);
	const char *w[] = { "the", "quick", "brown", "fox", "jumps", "over" };
	uint64_t wh[6];
	for (int i = 0; i < 6; i++)
		wh[i] = word_hash(w[i], 1);  /* little-endian host assumed here */
	struct hashes hs = { 0 };
	const char *text = "the quick brown fox jumps over";
	ck_assert_uint_eq(wn_minhash_shingles(mh, text, strlen(text), collect, &hs), 2);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(wh, 40, 1));
	ck_assert_uint_eq(hs.v[1], XXH3_64bits_withSeed(wh + 1, 40, 1));

	/* whitespace of any kind and amount separates words the same way */
	const char *spaced = "  the\tquick\n\nbrown\xc2\xa0" "fox\xe3\x80\x80jumps"
	                     "\xe2\x80\x8aover\r\n";
	hs.n = 0;
	ck_assert_uint_eq(wn_minhash_shingles(mh, spaced, strlen(spaced), collect, &hs), 2);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(wh, 40, 1));
	ck_assert_uint_eq(hs.v[1], XXH3_64bits_withSeed(wh + 1, 40, 1));

	/* a lookalike that is not whitespace (U+2010 hyphen), or a broken
	 * sequence that starts like one, stays in a word */
	static const char *const words[] = { "a\xe2\x80\x90" "b", "a\xe2\x80" "Ab",
	                                     "a\xc2" "Ab", "\xe3\x80" };
	for (int i = 0; i < 4; i++) {
		hs.n = 0;
		ck_assert_uint_eq(wn_minhash_shingles(mh, words[i], strlen(words[i]),
		                                      collect, &hs), 1);
		uint64_t one = word_hash(words[i], 1);
		ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(&one, 8, 1));
	}

	/* short text: one shingle of all its words */
	hs.n = 0;
	ck_assert_uint_eq(wn_minhash_shingles(mh, "the quick", 9, collect, &hs), 1);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(wh, 16, 1));
	/* no words: no shingles */
	ck_assert_uint_eq(wn_minhash_shingles(mh, " \t\n", 3, collect, &hs), 1 - 1);
	ck_assert_uint_eq(wn_minhash_shingles(mh, "", 0, collect, &hs), 0);
	free(hs.v);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(char_shingles_known_answer)
{
	struct wn_minhash_params p;
	struct wn_minhash *mh;
	wn_minhash_params_default(&p);
	p.shingle = WN_MINHASH_CHARS;
	p.ngram = 3;
	ck_assert_int_eq(wn_minhash_new(&mh, &p, NULL), WN_OK);
	struct hashes hs = { 0 };
	const char *t = "h\xc3\xa9llo";  /* 5 code points, 6 bytes */
	ck_assert_uint_eq(wn_minhash_shingles(mh, t, 6, collect, &hs), 3);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(t, 4, 1));      /* hél */
	ck_assert_uint_eq(hs.v[1], XXH3_64bits_withSeed(t + 1, 4, 1));  /* éll */
	ck_assert_uint_eq(hs.v[2], XXH3_64bits_withSeed(t + 3, 3, 1));  /* llo */
	hs.n = 0;
	ck_assert_uint_eq(wn_minhash_shingles(mh, t, 3, collect, &hs), 1);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed(t, 3, 1));
	/* stray continuation bytes first: one code point */
	hs.n = 0;
	ck_assert_uint_eq(wn_minhash_shingles(mh, "\x80\x80" "abc", 5, collect, &hs), 2);
	ck_assert_uint_eq(hs.v[0], XXH3_64bits_withSeed("\x80\x80" "ab", 4, 1));
	ck_assert_uint_eq(wn_minhash_shingles(mh, "", 0, collect, &hs), 0);
	free(hs.v);
	wn_minhash_free(mh);

	/* the nemo preset */
	wn_minhash_params_default(&p);
	ck_assert_int_eq(wn_minhash_params_preset(&p, "nemo", NULL), WN_OK);
	ck_assert_int_eq(p.shingle, WN_MINHASH_CHARS);
	ck_assert_uint_eq(p.ngram, 24);
	ck_assert_uint_eq(p.bands, 20);
	ck_assert_uint_eq(p.rows, 13);
	ck_assert_uint_eq(p.seed, 1);
}
END_TEST

/* ---- signatures ---------------------------------------------------------- */

/* The signature computed the slow way, from the documented definition. */
static void ref_signature(struct wn_minhash *mh, const char *t, size_t len,
                          uint64_t *sig)
{
	struct hashes hs = { 0 };
	uint32_t nh = wn_minhash_params_hashes(wn_minhash_get_params(mh));
	wn_minhash_shingles(mh, t, len, collect, &hs);
	for (uint32_t i = 0; i < nh; i++) {
		uint64_t m = hs.n ? P : WN_MINHASH_EMPTY;
		for (size_t s = 0; s < hs.n; s++) {
			uint64_t v = wn_minhash_permute(hs.v[s], wn_minhash_perm_a(mh, i),
			                                wn_minhash_perm_b(mh, i));
			m = v < m ? v : m;
		}
		sig[i] = m;
	}
	free(hs.v);
}

static void check_kernels(const char *preset)
{
	static const char *const kernels[] = { "portable", "avx2", "avx512" };
	struct wn_minhash *mh = hasher(preset);
	uint32_t nh = wn_minhash_params_hashes(wn_minhash_get_params(mh));
	uint64_t *sig = malloc(nh * 8), *ref = malloc(nh * 8);
	ck_assert_ptr_nonnull(sig);
	ck_assert_ptr_nonnull(ref);
	rng_state = 11;
	/* lengths around the block size (256 shingles) and the word buffer */
	static const size_t lens[] = { 0, 1, 4, 5, 6, 255, 256, 259, 260, 261, 600, 1500 };
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		char *t = random_text(lens[l]);
		size_t len = strlen(t);
		if (preset && lens[l] > 300)  /* chars: plenty of shingles already */
			len = 3000;
		ref_signature(mh, t, len, ref);
		int ran = 0;
		for (int k = 0; k < 3; k++) {
			if (wn_minhash_set_kernel(mh, kernels[k], NULL) < 0)
				continue;
			ran++;
			memset(sig, 0, nh * 8);
			wn_minhash_signature(mh, t, len, sig);
			for (uint32_t i = 0; i < nh; i++)
				ck_assert_msg(sig[i] == ref[i], "kernel %s, %zu words, value %u",
				              kernels[k], lens[l], i);
		}
		ck_assert_int_ge(ran, 1);
		free(t);
	}
	/* random bytes, including invalid UTF-8 and NULs */
	char bytes[5000];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (char)(rnd() % 7 == 0 ? ' ' : rnd());
	ref_signature(mh, bytes, sizeof(bytes), ref);
	for (int k = 0; k < 3; k++) {
		if (wn_minhash_set_kernel(mh, kernels[k], NULL) < 0)
			continue;
		wn_minhash_signature(mh, bytes, sizeof(bytes), sig);
		ck_assert_int_eq(memcmp(sig, ref, nh * 8), 0);
	}
	ck_assert_int_eq(wn_minhash_set_kernel(mh, "sse9", NULL), WN_EUSAGE);
	free(sig);
	free(ref);
	wn_minhash_free(mh);
}

START_TEST(kernels_match_the_definition_words)
{
	check_kernels(NULL);
}
END_TEST

START_TEST(kernels_match_the_definition_chars)
{
	check_kernels("nemo");
}
END_TEST

START_TEST(signature_of_nothing_is_empty)
{
	struct wn_minhash *mh = hasher(NULL);
	uint64_t sig[112];
	ck_assert_uint_eq(wn_minhash_signature(mh, "   \n", 4, sig), 0);
	for (int i = 0; i < 112; i++)
		ck_assert_uint_eq(sig[i], WN_MINHASH_EMPTY);
	ck_assert_uint_eq(wn_minhash_signature(mh, "x", 1, sig), 1);
	for (int i = 0; i < 112; i++)
		ck_assert_uint_lt(sig[i], P);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(jaccard_estimate_is_close)
{
	struct wn_minhash *mh = hasher(NULL);
	uint64_t sa[112], sb[112];
	double sum_err = 0;
	int pairs = 0;
	rng_state = 3;
	for (size_t k = 0; k <= 60; k += 3) {  /* 0 to 60 of 300 words changed */
		for (int rep = 0; rep < 4; rep++) {
			char *a = random_text(300), *b = substitute(a, k);
			double j = true_jaccard(mh, a, b);
			wn_minhash_signature(mh, a, strlen(a), sa);
			wn_minhash_signature(mh, b, strlen(b), sb);
			double est = wn_minhash_jaccard(sa, sb, 112);
			/* sd is sqrt(j(1-j)/112) <= 0.047: 4.5 sd */
			ck_assert_msg(est > j - 0.21 && est < j + 0.21,
			              "true %.3f estimated %.3f", j, est);
			sum_err += est > j ? est - j : j - est;
			pairs++;
			free(a);
			free(b);
		}
	}
	ck_assert_msg(sum_err / pairs < 0.05, "mean error %.3f", sum_err / pairs);
	/* identical: 1; empty against empty: 1; empty against text: 0 */
	char *a = random_text(50);
	wn_minhash_signature(mh, a, strlen(a), sa);
	ck_assert(wn_minhash_jaccard(sa, sa, 112) == 1.0);
	wn_minhash_signature(mh, "", 0, sb);
	ck_assert(wn_minhash_jaccard(sa, sb, 112) == 0.0);
	ck_assert(wn_minhash_jaccard(sb, sb, 112) == 1.0);
	free(a);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(probability_and_threshold)
{
	struct wn_minhash_params p;
	wn_minhash_params_default(&p);
	ck_assert_double_eq_tol(wn_minhash_threshold(&p), 0.7190, 0.0005);
	ck_assert_double_eq_tol(wn_minhash_probability(&p, 0.8), 0.9235, 0.0005);
	ck_assert_double_eq_tol(wn_minhash_probability(&p, 0.0), 0.0, 1e-12);
	ck_assert_double_eq_tol(wn_minhash_probability(&p, 1.0), 1.0, 1e-12);
}
END_TEST

START_TEST(params_are_checked)
{
	struct wn_minhash_params p;
	struct wn_error err;
	struct wn_minhash *mh;
	enum wn_minhash_shingle s;
	wn_minhash_params_default(&p);
	ck_assert_int_eq(wn_minhash_params_check(&p, NULL), WN_OK);
	p.ngram = 0;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_new(&mh, &p, &err), WN_EUSAGE);
	ck_assert_ptr_null(mh);
	ck_assert_ptr_nonnull(strstr(err.msg, "ngram"));
	wn_minhash_params_default(&p);
	p.bands = 100;
	p.rows = 11;
	ck_assert_int_eq(wn_minhash_params_check(&p, NULL), WN_EUSAGE);
	p.rows = 0;
	ck_assert_int_eq(wn_minhash_params_check(&p, NULL), WN_EUSAGE);
	ck_assert_int_eq(wn_minhash_params_preset(&p, "minhashlsh", NULL), WN_EUSAGE);
	ck_assert_int_eq(wn_minhash_shingle_parse("chars", &s, NULL), WN_OK);
	ck_assert_int_eq(s, WN_MINHASH_CHARS);
	ck_assert_int_eq(wn_minhash_shingle_parse("lines", &s, NULL), WN_EUSAGE);
	ck_assert_str_eq(wn_minhash_shingle_name(WN_MINHASH_WORDS), "words");
}
END_TEST

/* ---- the index ----------------------------------------------------------- */

static struct wn_minhash_index *new_index(double verify)
{
	struct wn_minhash_params p;
	struct wn_minhash_index *idx;
	wn_minhash_params_default(&p);
	ck_assert_int_eq(wn_minhash_index_new(&idx, &p, verify, NULL), WN_OK);
	return idx;
}

static void add_text(struct wn_minhash *mh, struct wn_minhash_index *idx,
                     const char *text, const char *label,
                     struct wn_minhash_match *m)
{
	uint64_t sig[112];
	wn_minhash_signature(mh, text, strlen(text), sig);
	ck_assert_int_eq(wn_minhash_index_add(idx, sig, label, label ? strlen(label) : 0,
	                                      m, NULL), WN_OK);
}

START_TEST(identical_documents_collide)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = new_index(0);
	struct wn_minhash_match m;
	rng_state = 5;
	char *a = random_text(200), *b = random_text(200);
	add_text(mh, idx, a, "doc-a", &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_uint_eq(m.entry, 0);
	add_text(mh, idx, b, "doc-b", &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_uint_eq(m.entry, 1);
	add_text(mh, idx, b, "doc-b2", &m);
	ck_assert_int_eq(m.duplicate, 1);
	ck_assert_uint_eq(m.entry, 1);
	ck_assert_int_eq(m.band, 0);
	ck_assert_uint_eq(m.candidates, 14);
	ck_assert(m.jaccard == -1);
	ck_assert_uint_eq(wn_minhash_index_count(idx), 2);
	const char *l;
	size_t len;
	ck_assert_int_eq(wn_minhash_index_label(idx, 1, &l, &len, NULL), WN_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(memcmp(l, "doc-b", 5), 0);
	ck_assert_int_eq(wn_minhash_index_label(idx, 2, &l, &len, NULL), WN_EUSAGE);
	/* query does not store */
	uint64_t sig[112];
	char *c = random_text(200);
	wn_minhash_signature(mh, c, strlen(c), sig);
	wn_minhash_index_query(idx, sig, &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_uint_eq(m.entry, WN_MINHASH_NONE);
	ck_assert_uint_eq(wn_minhash_index_count(idx), 2);
	/* no shingles: never a duplicate, never stored */
	add_text(mh, idx, "  ", NULL, &m);
	add_text(mh, idx, "", NULL, &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_uint_eq(m.entry, WN_MINHASH_NONE);
	ck_assert_uint_eq(wn_minhash_index_count(idx), 2);
	free(a);
	free(b);
	free(c);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(unrelated_documents_do_not_collide)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = new_index(0);
	struct wn_minhash_match m;
	rng_state = 6;
	for (int i = 0; i < 3000; i++) {
		char *t = random_text(20 + i % 200);
		add_text(mh, idx, t, NULL, &m);
		ck_assert_int_eq(m.duplicate, 0);
		ck_assert_uint_eq(m.entry, (uint64_t)i);
		free(t);
	}
	/* well under 300 bytes per entry (a little more for the last chunk) */
	size_t per = wn_minhash_index_memory(idx) / wn_minhash_index_count(idx);
	ck_assert_uint_le(per, 300);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(near_duplicates_are_found)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = new_index(0);
	struct wn_minhash_match m;
	int found = 0, pairs = 0, false_pos = 0;
	rng_state = 8;
	for (int i = 0; i < 200; i++) {
		char *a = random_text(400), *b = substitute(a, 4), *c = substitute(a, 120);
		add_text(mh, idx, a, NULL, &m);
		ck_assert_int_eq(m.duplicate, 0);
		uint64_t ea = m.entry;
		/* 4 of 400 words changed: J about 0.9, found with p > 0.999 */
		add_text(mh, idx, b, NULL, &m);
		pairs++;
		found += m.duplicate && m.entry == ea;
		/* 120 changed: J below 0.2, practically never a candidate */
		add_text(mh, idx, c, NULL, &m);
		false_pos += m.duplicate;
		free(a);
		free(b);
		free(c);
	}
	ck_assert_int_ge(found, pairs - 2);
	ck_assert_int_le(false_pos, 2);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(verification_confirms_candidates)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = new_index(0.99);
	struct wn_minhash_match m;
	rng_state = 9;
	ck_assert(wn_minhash_index_has_signatures(idx));
	char *a = random_text(400), *b = substitute(a, 2);
	add_text(mh, idx, a, "a", &m);
	ck_assert_uint_eq(m.entry, 0);
	add_text(mh, idx, a, "a2", &m);
	ck_assert_int_eq(m.duplicate, 1);
	ck_assert(m.jaccard == 1.0);
	/* b shares bands with a, but its estimated Jaccard is below 0.99 */
	add_text(mh, idx, b, "b", &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_uint_eq(m.entry, 1);
	ck_assert(m.jaccard > 0.8 && m.jaccard < 0.99);
	ck_assert_uint_gt(m.candidates, 0);
	/* now b's twin matches b, its best candidate, not a */
	add_text(mh, idx, b, "b2", &m);
	ck_assert_int_eq(m.duplicate, 1);
	ck_assert_uint_eq(m.entry, 1);
	/* turning verification off: the lowest-numbered match wins */
	ck_assert_int_eq(wn_minhash_index_set_verify(idx, 0, NULL), WN_OK);
	add_text(mh, idx, b, "b3", &m);
	ck_assert_int_eq(m.duplicate, 1);
	ck_assert_uint_eq(m.entry, 0);
	ck_assert_int_eq(wn_minhash_index_set_verify(idx, 1.5, NULL), WN_EUSAGE);
	free(a);
	free(b);
	wn_minhash_index_free(idx);

	/* an index without signatures cannot verify */
	struct wn_error err;
	wn_error_clear(&err);
	idx = new_index(0);
	ck_assert_int_eq(wn_minhash_index_set_verify(idx, 0.5, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "no signatures"));
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(labels_are_bounded)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = new_index(0);
	struct wn_minhash_match m;
	uint64_t sig[112];
	char *big = malloc(70000);
	memset(big, 'x', 70000);
	wn_minhash_signature(mh, "some text here", 14, sig);
	ck_assert_int_eq(wn_minhash_index_add(idx, sig, big, 65536, &m, NULL), WN_ETOOBIG);
	ck_assert_uint_eq(wn_minhash_index_count(idx), 0);
	wn_minhash_index_query(idx, sig, &m);
	ck_assert_int_eq(m.duplicate, 0);
	ck_assert_int_eq(wn_minhash_index_add(idx, sig, big, 65535, &m, NULL), WN_OK);
	/* labels of any size up to the limit fill several arena chunks */
	rng_state = 12;
	for (int i = 0; i < 20; i++) {
		char *t = random_text(30);
		wn_minhash_signature(mh, t, strlen(t), sig);
		ck_assert_int_eq(wn_minhash_index_add(idx, sig, big, 30000 + i, &m, NULL), WN_OK);
		free(t);
	}
	const char *l;
	size_t len;
	ck_assert_int_eq(wn_minhash_index_label(idx, 20, &l, &len, NULL), WN_OK);
	ck_assert_uint_eq(len, 30019);
	ck_assert_int_eq(l[30018], 'x');
	free(big);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

/* ---- saving, loading, merging ------------------------------------------ */

static char *save_bytes(const struct wn_minhash_index *idx, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(wn_minhash_index_save(idx, f, "mem", NULL), WN_OK);
	fclose(f);
	return buf;
}

static int load_bytes(const char *buf, size_t len, struct wn_minhash_index **idx,
                      struct wn_error *err)
{
	FILE *f = fmemopen((void *)buf, len, "rb");
	if (!len)  /* fmemopen rejects size 0 before glibc 2.22 */
		f = fopen("/dev/null", "rb");
	ck_assert_ptr_nonnull(f);
	int rc = wn_minhash_index_load(idx, f, "idx.bin", err);
	fclose(f);
	return rc;
}

static struct wn_minhash_index *filled_index(struct wn_minhash *mh, double verify,
                                             int n, uint64_t seed)
{
	struct wn_minhash_index *idx = new_index(verify);
	struct wn_minhash_match m;
	char label[32];
	rng_state = seed;
	for (int i = 0; i < n; i++) {
		char *t = random_text(40);
		snprintf(label, sizeof(label), i % 3 ? "id-%d" : "", i);
		add_text(mh, idx, t, label, &m);
		free(t);
	}
	return idx;
}

START_TEST(save_load_round_trip)
{
	struct wn_minhash *mh = hasher(NULL);
	for (int verify = 0; verify < 2; verify++) {
		struct wn_minhash_index *idx = filled_index(mh, verify ? 0.7 : 0, 5000, 21);
		ck_assert_int_eq(wn_minhash_index_set_context(idx, "normalize=none", NULL), WN_OK);
		size_t len, len2;
		char *buf = save_bytes(idx, &len);
		struct wn_minhash_index *back;
		ck_assert_int_eq(load_bytes(buf, len, &back, NULL), WN_OK);
		ck_assert_uint_eq(wn_minhash_index_count(back), 5000);
		ck_assert_int_eq(wn_minhash_index_has_signatures(back), verify);
		ck_assert_str_eq(wn_minhash_index_context(back), "normalize=none");
		for (uint64_t e = 0; e < 5000; e += 7) {
			const char *a, *b;
			size_t la, lb;
			wn_minhash_index_label(idx, e, &a, &la, NULL);
			wn_minhash_index_label(back, e, &b, &lb, NULL);
			ck_assert_uint_eq(la, lb);
			ck_assert_int_eq(memcmp(a, b, la), 0);
		}
		/* the same decisions */
		rng_state = 21;
		uint64_t sig[112];
		for (int i = 0; i < 100; i++) {
			char *t = random_text(40);
			struct wn_minhash_match m1, m2;
			wn_minhash_signature(mh, t, strlen(t), sig);
			wn_minhash_index_query(idx, sig, &m1);
			wn_minhash_index_query(back, sig, &m2);
			ck_assert_int_eq(m1.duplicate, 1);
			ck_assert_uint_eq(m1.entry, (uint64_t)i);
			ck_assert_uint_eq(m2.entry, m1.entry);
			free(t);
		}
		/* and the same bytes again */
		char *buf2 = save_bytes(back, &len2);
		ck_assert_uint_eq(len, len2);
		ck_assert_int_eq(memcmp(buf, buf2, len), 0);
		ck_assert_int_eq(memcmp(buf, "WNMINHSH\1\0\0\0", 12), 0);
		free(buf);
		free(buf2);
		wn_minhash_index_free(back);
		wn_minhash_index_free(idx);
	}
	/* an empty index round-trips too */
	struct wn_minhash_index *empty = new_index(0), *back;
	size_t len;
	char *buf = save_bytes(empty, &len);
	ck_assert_uint_eq(len, 60 + 16);
	ck_assert_int_eq(load_bytes(buf, len, &back, NULL), WN_OK);
	ck_assert_uint_eq(wn_minhash_index_count(back), 0);
	free(buf);
	wn_minhash_index_free(back);
	wn_minhash_index_free(empty);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(the_same_input_gives_the_same_bytes)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *a = filled_index(mh, 0, 3000, 33);
	ck_assert_int_eq(wn_minhash_set_kernel(mh, "portable", NULL), WN_OK);
	struct wn_minhash_index *b = filled_index(mh, 0, 3000, 33);
	size_t la, lb;
	char *ba = save_bytes(a, &la), *bb = save_bytes(b, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(ba, bb, la), 0);
	/* a known hash of a small file pins the format and every value in it
	 * (shingles, permutations, band keys) across machines and versions */
	struct wn_minhash_index *small = filled_index(mh, 0, 3, 1);
	size_t ls;
	char *bs = save_bytes(small, &ls);
	ck_assert_uint_eq(ls, 60 + 3 * 14 * 8 + 3 * 4 + 8 + 16);
	ck_assert_uint_eq(XXH3_64bits(bs, ls), UINT64_C(0x82bf73f37f9a3bd0));
	free(ba);
	free(bb);
	free(bs);
	wn_minhash_index_free(small);
	wn_minhash_index_free(a);
	wn_minhash_index_free(b);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(corruption_is_detected)
{
	struct wn_minhash *mh = hasher(NULL);
	struct wn_minhash_index *idx = filled_index(mh, 0.5, 10, 44), *back = NULL;
	struct wn_error err;
	size_t len;
	char *buf = save_bytes(idx, &len);
	/* a flipped bit in every byte of the file */
	for (size_t i = 0; i < len; i++) {
		int bit = (int)(i % 8);
		buf[i] ^= (char)(1 << bit);
		wn_error_clear(&err);
		ck_assert_msg(load_bytes(buf, len, &back, &err) == WN_EDATA,
		              "byte %zu bit %d", i, bit);
		ck_assert_ptr_null(back);
		ck_assert_ptr_nonnull(strstr(err.msg, "idx.bin"));
		buf[i] ^= (char)(1 << bit);
	}
	/* every truncation */
	for (size_t l = 0; l < len; l++) {
		wn_error_clear(&err);
		ck_assert_int_eq(load_bytes(buf, l, &back, &err), WN_EDATA);
	}
	/* trailing bytes */
	char *more = malloc(len + 1);
	memcpy(more, buf, len);
	more[len] = 0;
	wn_error_clear(&err);
	ck_assert_int_eq(load_bytes(more, len + 1, &back, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
	/* the messages say what is wrong */
	memcpy(more, buf, len);
	more[0] = 'X';
	wn_error_clear(&err);
	ck_assert_int_eq(load_bytes(more, len, &back, &err), WN_EDATA);
	ck_assert_str_eq(err.msg, "idx.bin: not a winnow MinHash index (bad magic)");
	memcpy(more, buf, len);
	more[8] = 2;
	wn_error_clear(&err);
	ck_assert_int_eq(load_bytes(more, len, &back, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "version 2 is not supported"));
	memcpy(more, buf, len);
	more[len - 1] ^= 1;
	wn_error_clear(&err);
	ck_assert_int_eq(load_bytes(more, len, &back, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "checksum mismatch"));
	/* an entry count that lies is a truncation, not a huge allocation */
	memcpy(more, buf, len);
	more[43] = 0x7f;
	ck_assert_int_eq(load_bytes(more, len, &back, NULL), WN_EDATA);
	free(more);
	free(buf);
	wn_minhash_index_free(idx);
	wn_minhash_free(mh);
}
END_TEST

START_TEST(mismatched_parameters_are_reported)
{
	struct wn_minhash_index *idx = new_index(0);
	struct wn_minhash_params p;
	struct wn_error err;
	wn_minhash_params_default(&p);
	ck_assert_int_eq(wn_minhash_index_set_context(idx, "normalize=none", NULL), WN_OK);
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=none", 0, "a.idx", NULL),
	                 WN_OK);
	p.bands = 20;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=none", 0, "a.idx", &err),
	                 WN_EUSAGE);
	ck_assert_str_eq(err.msg, "a.idx: index has bands 14, this run uses 20");
	wn_minhash_params_default(&p);
	p.seed = 9;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=none", 0, "a.idx", &err),
	                 WN_EUSAGE);
	ck_assert_str_eq(err.msg, "a.idx: index has seed 1, this run uses 9");
	wn_minhash_params_default(&p);
	p.shingle = WN_MINHASH_CHARS;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=none", 0, "a.idx", &err),
	                 WN_EUSAGE);
	ck_assert_str_eq(err.msg, "a.idx: index has shingle words, this run uses chars");
	wn_minhash_params_default(&p);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=datatrove", 0, "a.idx", &err),
	                 WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "context 'normalize=none'"));
	ck_assert_int_eq(wn_minhash_index_check(idx, &p, "normalize=none", 1, "a.idx", NULL),
	                 WN_EUSAGE);
	char longctx[300];
	memset(longctx, 'c', sizeof(longctx) - 1);
	longctx[299] = '\0';
	ck_assert_int_eq(wn_minhash_index_set_context(idx, longctx, NULL), WN_EUSAGE);
	wn_minhash_index_free(idx);
}
END_TEST

START_TEST(merge_keeps_the_kept_documents_of_both)
{
	struct wn_minhash *mh = hasher(NULL);
	/* A: texts 0..599 of stream 50; B: texts 0..999 of the same stream,
	 * so B's first 600 are duplicates of A's */
	struct wn_minhash_index *a = filled_index(mh, 0, 600, 50);
	struct wn_minhash_index *b = filled_index(mh, 0, 1000, 50);
	struct wn_minhash_index *whole = filled_index(mh, 0, 1000, 50);
	struct wn_minhash_index *dst = new_index(0);
	ck_assert_int_eq(wn_minhash_index_merge(dst, a, NULL), WN_OK);
	ck_assert_int_eq(wn_minhash_index_merge(dst, b, NULL), WN_OK);
	ck_assert_uint_eq(wn_minhash_index_count(dst), 1000);
	size_t l1, l2;
	char *b1 = save_bytes(dst, &l1), *b2 = save_bytes(whole, &l2);
	ck_assert_uint_eq(l1, l2);
	ck_assert_int_eq(memcmp(b1, b2, l1), 0);
	free(b1);
	free(b2);
	/* merging again adds nothing */
	ck_assert_int_eq(wn_minhash_index_merge(dst, b, NULL), WN_OK);
	ck_assert_uint_eq(wn_minhash_index_count(dst), 1000);
	ck_assert_int_eq(wn_minhash_index_merge(dst, dst, NULL), WN_EUSAGE);
	/* different parameters or context cannot be merged */
	struct wn_minhash_params p;
	struct wn_minhash_index *other;
	struct wn_error err;
	wn_minhash_params_default(&p);
	p.rows = 9;
	ck_assert_int_eq(wn_minhash_index_new(&other, &p, 0, NULL), WN_OK);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_minhash_index_merge(dst, other, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "rows 9"));
	wn_minhash_index_free(other);
	other = new_index(0);
	ck_assert_int_eq(wn_minhash_index_set_context(other, "x", NULL), WN_OK);
	ck_assert_int_eq(wn_minhash_index_merge(dst, other, NULL), WN_EUSAGE);
	wn_minhash_index_free(other);
	/* a destination with signatures needs them from the source */
	other = new_index(0.5);
	ck_assert_int_eq(wn_minhash_index_merge(other, a, NULL), WN_EUSAGE);
	ck_assert_int_eq(wn_minhash_index_merge(dst, other, NULL), WN_OK);
	wn_minhash_index_free(other);
	wn_minhash_index_free(a);
	wn_minhash_index_free(b);
	wn_minhash_index_free(whole);
	wn_minhash_index_free(dst);
	wn_minhash_free(mh);
}
END_TEST

static Suite *minhash_suite(void)
{
	Suite *s = suite_create("minhash");
	TCase *tc = tcase_create("signatures");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, permute_edge_cases);
	tcase_add_test(tc, permutations_follow_the_documented_draw);
	tcase_add_test(tc, word_shingles_known_answer);
	tcase_add_test(tc, char_shingles_known_answer);
	tcase_add_test(tc, kernels_match_the_definition_words);
	tcase_add_test(tc, kernels_match_the_definition_chars);
	tcase_add_test(tc, signature_of_nothing_is_empty);
	tcase_add_test(tc, jaccard_estimate_is_close);
	tcase_add_test(tc, probability_and_threshold);
	tcase_add_test(tc, params_are_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("index");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, identical_documents_collide);
	tcase_add_test(tc, unrelated_documents_do_not_collide);
	tcase_add_test(tc, near_duplicates_are_found);
	tcase_add_test(tc, verification_confirms_candidates);
	tcase_add_test(tc, labels_are_bounded);
	tcase_add_test(tc, save_load_round_trip);
	tcase_add_test(tc, the_same_input_gives_the_same_bytes);
	tcase_add_test(tc, corruption_is_detected);
	tcase_add_test(tc, mismatched_parameters_are_reported);
	tcase_add_test(tc, merge_keeps_the_kept_documents_of_both);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(minhash_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
