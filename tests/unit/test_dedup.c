/*
 * test_dedup.c - the parts of exact and line-level dedup: normalisations
 * (against simple references and utf8proc on whole strings), the digest set
 * (against a sorted array), the Bloom filter's false-positive rate, lines
 * and paragraphs, the index file (round trip, determinism, corruption,
 * mismatches, merge) and the worker pool.
 */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include "dedup/bloom.h"
#include "dedup/digest_set.h"
#include "dedup/index.h"
#include "dedup/lines.h"
#include "dedup/normalize.h"
#include "core/pool.h"
#include "winnow/dedup.h"

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Du;
}

static struct wn_dd_digest random_digest(void)
{
	struct wn_dd_digest d = { rng(), rng() };
	if ((d.hi | d.lo) == 0)
		d.lo = 1;
	return d;
}

static char *tmp_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *path;
	ck_assert_int_ge(asprintf(&path, "%s/wn-dedup-XXXXXX", base && *base ? base : "/tmp"), 0);
	ck_assert_ptr_nonnull(mkdtemp(path));
	return path;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;
	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static void remove_dir(char *dir, const char *const *names)
{
	for (; *names; names++) {
		char *p = path_in(dir, *names);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void spill(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static const char *norm(struct wn_dd_normalizer *z, enum wn_dd_norm mode, const char *s)
{
	const char *out;
	size_t n;
	ck_assert_int_eq(wn_dd_normalize(z, mode, s, strlen(s), &out, &n), WN_OK);
	ck_assert_uint_eq(strlen(out) >= n, 1);
	static char buf[4096];
	ck_assert_uint_lt(n, sizeof(buf));
	memcpy(buf, out, n);
	buf[n] = '\0';
	return buf;
}

/* ---- normalisation ---------------------------------------------------------------- */

/* The whitespace collapse written the obvious way, one character at a time. */
static size_t ref_collapse(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int pending = 0;
	for (size_t i = 0; i < n;) {
		size_t w = wn_dd_space_len((const unsigned char *)s + i, n - i);
		if (w) {
			pending = o > 0;
			i += w;
			continue;
		}
		if (pending)
			out[o++] = ' ';
		pending = 0;
		out[o++] = s[i++];
	}
	return o;
}

START_TEST(test_norm_names)
{
	enum wn_dd_norm n;
	const char *names[] = { "none", "whitespace", "nfkc-casefold", "datatrove" };
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(wn_dd_norm_named(names[i], &n), 0);
		ck_assert_int_eq(n, i);
		ck_assert_str_eq(wn_dd_norm_name(n), names[i]);
	}
	ck_assert_int_eq(wn_dd_norm_named("nfkc", &n), -1);
}
END_TEST

START_TEST(test_norm_whitespace_cases)
{
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE, ""), "");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE, " \t\r\n "), "");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE, "  a  b\t\tc \r\n"), "a b c");
	/* no-break, ideographic, line separator, NEL, thin space: all whitespace */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE,
	                      "a\xc2\xa0" "b\xe3\x80\x80" "c\xe2\x80\xa8" "d\xc2\x85" "e\xe2\x80\x89" "f"),
	                 "a b c d e f");
	/* a zero-width space is not whitespace, and case is kept */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE, "A\xe2\x80\x8b" "B"), "A\xe2\x80\x8b" "B");
	/* the lead bytes of spaces inside other characters: ’ “ é */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_WHITESPACE, "it\xe2\x80\x99s \xe2\x80\x9cq\xc3\xa9\xe2\x80\x9d"),
	                 "it\xe2\x80\x99s \xe2\x80\x9cq\xc3\xa9\xe2\x80\x9d");
	const char *s = "keep";
	const char *out;
	size_t n;
	ck_assert_int_eq(wn_dd_normalize(&z, WN_DD_NORM_NONE, s, 4, &out, &n), WN_OK);
	ck_assert_ptr_eq(out, s);
	ck_assert_uint_eq(n, 4);
	wn_dd_normalizer_release(&z);
}
END_TEST

/* The fast 16-byte path against the byte-by-byte reference, on texts made of
 * pieces that stress its edges: single and double spaces at block ends,
 * multi-byte spaces split across blocks, leading and trailing runs. */
START_TEST(test_norm_whitespace_random)
{
	static const char *const parts[] = {
		"a", "word", "longerwordhere", " ", " ", " ", "  ", "\t", "\n", "\r\n",
		"\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x89", "\xe2\x80\x99", "\xc3\xa9",
		"\xe2\x80\x8b", "\xc2\xa9", "x y z", "0123456789abcdef", "\x01",
	};
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	rng_seed(7);
	char text[600], want[600];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		int parts_n = (int)(rng() % 40);
		for (int k = 0; k < parts_n; k++) {
			const char *p = parts[rng() % (sizeof(parts) / sizeof(parts[0]))];
			size_t len = strlen(p);
			if (n + len >= sizeof(text))
				break;
			memcpy(text + n, p, len);
			n += len;
		}
		size_t wn = ref_collapse(text, n, want);
		const char *got;
		size_t gn;
		ck_assert_int_eq(wn_dd_normalize(&z, WN_DD_NORM_WHITESPACE, text, n, &got, &gn), 0);
		if (gn != wn || memcmp(got, want, wn) != 0)
			ck_abort_msg("round %d: collapse differs for '%.*s'", round, (int)n, text);
	}
	wn_dd_normalizer_release(&z);
}
END_TEST

START_TEST(test_norm_nfkc_casefold_cases)
{
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	/* ligature, full-width, sharp s, Kelvin sign, composed vs decomposed */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "\xef\xac\x81" "ne"), "fine");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "\xef\xbc\xa1\xef\xbc\xa2"), "ab");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "Stra\xc3\x9f" "e"), "strasse");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "\xe2\x84\xaa"), "k");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "Cafe\xcc\x81"), "caf\xc3\xa9");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "CAF\xc3\x89"), "caf\xc3\xa9");
	/* soft hyphen and zero-width space removed; spaces collapsed */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "co\xc2\xad" "op  A\xe2\x80\x8b" "B "),
	                 "coop ab");
	/* invalid UTF-8 is kept as it is */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_NFKC_CASEFOLD, "A\xff" "B"), "a\xff" "b");
	wn_dd_normalizer_release(&z);
}
END_TEST

/* Splitting at ASCII gives what utf8proc gives on the whole text. */
START_TEST(test_norm_nfkc_casefold_whole)
{
	static const char *const parts[] = {
		"a", "E", "Z", " ", "\n", "e\xcc\x81", "\xcc\x81", "\xcc\xa3", "\xc3\x89",
		"\xef\xac\x81", "\xef\xbc\xa1", "\xc3\x9f", "\xe2\x84\xaa", "\xc2\xad",
		"\xe1\x84\x80", "\xe1\x85\xa1", "\xea\xb0\x80", "\xd0\x96", "\xe2\x80\x8b",
		"\xc2\xa0", "\xe3\x80\x80", "\xef\xbd\xb6", "\xef\xbe\x9e", "1", "\xc2\xbd",
	};
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	rng_seed(11);
	char text[400];
	char want[2000];
	for (int round = 0; round < 5000; round++) {
		size_t n = 0;
		int parts_n = (int)(rng() % 24);
		for (int k = 0; k < parts_n; k++) {
			const char *p = parts[rng() % (sizeof(parts) / sizeof(parts[0]))];
			memcpy(text + n, p, strlen(p));
			n += strlen(p);
		}
		text[n] = '\0';
		utf8proc_uint8_t *whole = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)text);
		ck_assert_ptr_nonnull(whole);
		size_t wn = ref_collapse((const char *)whole, strlen((const char *)whole), want);
		free(whole);
		const char *got;
		size_t gn;
		ck_assert_int_eq(wn_dd_normalize(&z, WN_DD_NORM_NFKC_CASEFOLD, text, n, &got, &gn), 0);
		if (gn != wn || memcmp(got, want, wn) != 0)
			ck_abort_msg("round %d: '%s' gives '%.*s', utf8proc '%.*s'", round, text,
			             (int)gn, got, (int)wn, want);
	}
	wn_dd_normalizer_release(&z);
}
END_TEST

START_TEST(test_norm_datatrove_cases)
{
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "Hello, World!"), "hello world");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "  \"Quoted\" -- text...  "),
	                 "quoted text");
	/* digit runs become one 0; punctuation between them separates them */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "in 2024, 3.14 and x42y"),
	                 "in 0 0 0 and x0y");
	/* accents go (NFD, Mn removed), also uppercase ones; other scripts stay */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "Cr\xc3\xa8me BR\xc3\x9bL\xc3\x89" "E"),
	                 "creme brulee");
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "\xd0\x9c\xd0\xb8\xd1\x80"),
	                 "\xd0\xbc\xd0\xb8\xd1\x80");
	/* Arabic-Indic digits are digits; currency, math and dashes are spaces */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "\xd9\xa1\xd9\xa2 \xe2\x82\xac" "5+5\xe2\x80\x94" "ok"),
	                 "0 0 0 ok");
	/* a soft hyphen (Cf) is removed, not a space */
	ck_assert_str_eq(norm(&z, WN_DD_NORM_DATATROVE, "co\xc2\xad" "op"), "coop");
	/* Hangul syllables decompose to jamo (longer than the input) */
	const char *out;
	size_t n;
	ck_assert_int_eq(wn_dd_normalize(&z, WN_DD_NORM_DATATROVE, "\xea\xb0\x81\xea\xb0\x81", 6,
	                                 &out, &n), 0);
	ck_assert_uint_eq(n, 18);
	wn_dd_normalizer_release(&z);
}
END_TEST

/* datatrove's rules for ASCII, one byte at a time, to check the 16-byte path */
static size_t ref_datatrove_ascii(const char *s, size_t n, char *out)
{
	size_t o = 0;
	int pending = 0, digit = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			int d = c >= '0' && c <= '9';
			if (d && digit && !pending)
				continue;
			if (pending)
				out[o++] = ' ';
			pending = 0;
			out[o++] = d ? '0' : c;
			digit = d;
		} else {
			pending = o > 0;
			digit = 0;
		}
	}
	return o;
}

START_TEST(test_norm_datatrove_random)
{
	static const char *const parts[] = {
		"a", "Word", "LONGERWORDHERE", "abcdefghijklmnop", "MiXeD", " ", " ", "  ",
		"\t", "\n", ",", ". ", "--", "42", "7", "x9y", "'s", "(", ")", "\x01", "  ",
	};
	struct wn_dd_normalizer z;
	wn_dd_normalizer_init(&z);
	rng_seed(17);
	char text[600], want[600];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		int parts_n = (int)(rng() % 40);
		for (int k = 0; k < parts_n; k++) {
			const char *p = parts[rng() % (sizeof(parts) / sizeof(parts[0]))];
			size_t len = strlen(p);
			if (n + len >= sizeof(text))
				break;
			memcpy(text + n, p, len);
			n += len;
		}
		size_t wn = ref_datatrove_ascii(text, n, want);
		const char *got;
		size_t gn;
		ck_assert_int_eq(wn_dd_normalize(&z, WN_DD_NORM_DATATROVE, text, n, &got, &gn), 0);
		if (gn != wn || memcmp(got, want, wn) != 0)
			ck_abort_msg("round %d: '%.*s' gives '%.*s', want '%.*s'", round, (int)n, text,
			             (int)gn, got, (int)wn, want);
	}
	wn_dd_normalizer_release(&z);
}
END_TEST

/* ---- the digest set -------------------------------------------------------------------- */

static int digest_cmp(const void *a, const void *b)
{
	return wn_dd_digest_cmp(*(const struct wn_dd_digest *)a, *(const struct wn_dd_digest *)b);
}

/* Digests whose high halves crowd together, so runs are long and spill
 * past the last home into the slack. */
static struct wn_dd_digest crowded_digest(void)
{
	struct wn_dd_digest d = { UINT64_MAX - (rng() % 5000), rng() };
	return d;
}

static void check_set_against(struct wn_dd_set *s, struct wn_dd_digest *ref, size_t n)
{
	qsort(ref, n, sizeof(*ref), digest_cmp);
	size_t pos = 0, k = 0;
	struct wn_dd_digest d;
	uint64_t v;
	while (wn_dd_set_next(s, &pos, &d, &v)) {
		ck_assert_uint_lt(k, n);
		ck_assert_int_eq(wn_dd_digest_cmp(d, ref[k]), 0);
		if (s->with_values)
			ck_assert_uint_eq(v, d.lo ^ 77);
		k++;
	}
	ck_assert_uint_eq(k, n);
	ck_assert_uint_eq(s->n, n);
}

static void set_round(int crowded, int with_values, size_t count)
{
	struct wn_dd_set s;
	wn_dd_set_init(&s, with_values);
	struct wn_dd_digest *ref = malloc(count * sizeof(*ref));
	ck_assert_ptr_nonnull(ref);
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		struct wn_dd_digest d;
		/* a third are repeats of earlier digests */
		if (n && rng() % 3 == 0)
			d = ref[rng() % n];
		else
			d = crowded ? crowded_digest() : random_digest();
		int known = 0;
		for (size_t k = 0; crowded && k < n; k++)
			known |= wn_dd_digest_cmp(ref[k], d) == 0;
		uint64_t old = 12345;
		int r = wn_dd_set_insert(&s, d, d.lo ^ 77, &old);
		ck_assert_int_ge(r, 0);
		if (r == 1) {
			if (with_values)
				ck_assert_uint_eq(old, d.lo ^ 77);
		} else {
			ck_assert(!known);
			ref[n++] = d;
		}
		ck_assert_int_eq(wn_dd_set_contains(&s, d, NULL), 1);
	}
	check_set_against(&s, ref, n);
	/* absent digests are absent */
	for (int i = 0; i < 1000; i++) {
		struct wn_dd_digest d = crowded ? crowded_digest() : random_digest();
		int want = bsearch(&d, ref, n, sizeof(*ref), digest_cmp) != NULL;
		ck_assert_int_eq(wn_dd_set_contains(&s, d, NULL), want);
	}
	free(ref);
	wn_dd_set_release(&s);
}

START_TEST(test_set_random)
{
	rng_seed(3);
	set_round(0, 0, 200000);
	set_round(0, 1, 50000);
}
END_TEST

START_TEST(test_set_crowded)
{
	rng_seed(5);
	set_round(1, 1, 6000);
	set_round(1, 0, 6000);
}
END_TEST

START_TEST(test_set_memory)
{
	/* 16-byte slots at a load between 0.53 and 0.8: 20 to 30 bytes each */
	struct wn_dd_set s;
	wn_dd_set_init(&s, 0);
	rng_seed(9);
	size_t checks[] = { 5000, 50000, 300000, 1000000 };
	size_t c = 0;
	for (size_t i = 1; i <= 1000000; i++) {
		ck_assert_int_eq(wn_dd_set_insert(&s, random_digest(), 0, NULL), 0);
		if (i == checks[c]) {
			double per = (double)wn_dd_set_memory(&s) / (double)i;
			ck_assert_msg(per <= 32.0, "%zu digests: %.1f bytes each", i, per);
			c++;
		}
	}
	wn_dd_set_release(&s);
}
END_TEST

START_TEST(test_set_append)
{
	rng_seed(13);
	size_t n = 30000;
	struct wn_dd_digest *ref = malloc(n * sizeof(*ref));
	for (size_t i = 0; i < n; i++)
		ref[i] = random_digest();
	qsort(ref, n, sizeof(*ref), digest_cmp);
	struct wn_dd_set s;
	wn_dd_set_init(&s, 1);
	/* half reserved, half growing while appending */
	ck_assert_int_eq(wn_dd_set_reserve(&s, n / 2), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(wn_dd_set_append(&s, ref[i], ref[i].lo ^ 77), 0);
	ck_assert_int_eq(wn_dd_set_append(&s, ref[0], 0), WN_EDATA);
	ck_assert_int_eq(wn_dd_set_append(&s, ref[n - 1], 0), WN_EDATA);
	/* and inserting afterwards still works */
	for (size_t i = 0; i < n; i += 7)
		ck_assert_int_eq(wn_dd_set_insert(&s, ref[i], 0, NULL), 1);
	check_set_against(&s, ref, n);
	free(ref);
	wn_dd_set_release(&s);
}
END_TEST

START_TEST(test_digest_never_zero)
{
	struct wn_dd_digest d = wn_dd_digest_of("abc", 3);
	ck_assert(d.hi | d.lo);
	struct wn_dd_digest e = wn_dd_digest_of("abc", 3);
	ck_assert_int_eq(wn_dd_digest_cmp(d, e), 0);
	e = wn_dd_digest_of("abd", 3);
	ck_assert_int_ne(wn_dd_digest_cmp(d, e), 0);
}
END_TEST

/* ---- the Bloom filter ------------------------------------------------------------------ */

static void bloom_round(uint64_t expected, double p)
{
	struct wn_dd_bloom b;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_bloom_init(&b, expected, p, &err), WN_OK);
	for (uint64_t i = 0; i < expected; i++) {
		struct wn_dd_digest d = wn_dd_digest_of(&i, sizeof(i));
		wn_dd_bloom_add(&b, d);
	}
	for (uint64_t i = 0; i < expected; i++) {
		struct wn_dd_digest d = wn_dd_digest_of(&i, sizeof(i));
		ck_assert_int_eq(wn_dd_bloom_contains(&b, d), 1);
	}
	uint64_t probes = 2000000, fp = 0;
	for (uint64_t i = 0; i < probes; i++) {
		uint64_t x = i + (UINT64_C(1) << 40);
		fp += (uint64_t)wn_dd_bloom_contains(&b, wn_dd_digest_of(&x, sizeof(x)));
	}
	double rate = (double)fp / (double)probes;
	ck_assert_msg(rate <= 2 * p, "fp rate %g for p %g (%llu bits, %u probes)", rate, p,
	              (unsigned long long)b.m, b.k);
	ck_assert_msg(rate >= p / 4, "fp rate %g for p %g: suspiciously low", rate, p);
	wn_dd_bloom_release(&b);
}

START_TEST(test_bloom_fp_rate)
{
	bloom_round(200000, 0.01);
	bloom_round(200000, 0.001);
	bloom_round(50000, 0.05);
}
END_TEST

START_TEST(test_bloom_usage)
{
	struct wn_dd_bloom b;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_bloom_init(&b, 0, 0.01, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "--expected"));
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_bloom_init(&b, 10, 0.9, &err), WN_EUSAGE);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_bloom_init(&b, UINT64_MAX / 2, 1e-9, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "GiB"));
}
END_TEST

/* ---- lines and paragraphs ---------------------------------------------------------------- */

static void join_removing(const char *text, int paragraphs, const char *removed_mask,
                          const char *want)
{
	struct wn_dd_pieces p = { 0 };
	ck_assert_int_eq(wn_dd_split(text, strlen(text), paragraphs, &p), 0);
	ck_assert_uint_eq(p.n, strlen(removed_mask));
	for (size_t k = 0; k < p.n; k++)
		p.v[k].removed = removed_mask[k] == 'x';
	struct wn_buf out = WN_BUF_INIT;
	ck_assert_int_eq(wn_dd_join(text, &p, &out), 0);
	ck_assert_str_eq(out.data, want);
	wn_buf_release(&out);
	wn_dd_pieces_release(&p);
}

START_TEST(test_lines_split_join)
{
	/* nothing removed gives the text back */
	join_removing("a\nb\n", 0, "...", "a\nb\n");
	join_removing("a\r\nb", 0, "..", "a\r\nb");
	join_removing("", 0, ".", "");
	/* the text ends as it ended */
	join_removing("a\nb\nc", 0, "..x", "a\nb");
	join_removing("a\nb\nc\n", 0, ".x..", "a\nc\n");
	join_removing("a\nb\nc\n", 0, "x...", "b\nc\n");
	/* paragraphs: blank lines (also with spaces) separate, single breaks do not */
	join_removing("p1 l1\np1 l2\n\np2\n \t\n\np3", 1, "...", "p1 l1\np1 l2\n\np2\n \t\n\np3");
	join_removing("p1 l1\np1 l2\n\np2\n \t\n\np3", 1, ".x.", "p1 l1\np1 l2\n\np3");
	/* the last paragraph holds the final line break */
	join_removing("p1\n\np2\n\np3\n", 1, "..x", "p1\n\np2");
	join_removing("p1\n\np2", 1, "x.", "p2");
	struct wn_dd_pieces p = { 0 };
	ck_assert_int_eq(wn_dd_split("x\n\n\ny\n", 6, 1, &p), 0);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(p.v[0].len, 1);
	ck_assert_uint_eq(p.v[0].sep, 3);
	ck_assert_uint_eq(p.v[1].len, 2); /* "y\n": a final single break is inside */
	wn_dd_pieces_release(&p);
}
END_TEST

/* ---- index files ------------------------------------------------------------------------- */

static const char params_a[] = "mode=exact\nnormalize=whitespace\nkey=(text)\n";
static const char params_b[] = "mode=exact\nnormalize=datatrove\nkey=(text)\n";

static void fill(struct wn_dd_index *x, const int *order, size_t n, int ids)
{
	for (size_t i = 0; i < n; i++) {
		int v = order[i];
		struct wn_dd_digest d = wn_dd_digest_of(&v, sizeof(v));
		uint64_t ref = 0;
		if (ids) {
			char id[32];
			int len = snprintf(id, sizeof(id), "\"doc-%d\"", v);
			ck_assert_int_eq(wn_dd_index_add_id(x, id, (size_t)len, &ref), 0);
		}
		int r = wn_dd_set_insert(&x->set, d, ref, NULL);
		ck_assert_int_ge(r, 0);
		if (r == 1)
			wn_dd_index_drop_id(x, ref);
	}
}

START_TEST(test_index_roundtrip_and_determinism)
{
	char *dir = tmp_dir();
	char *a = path_in(dir, "a.idx"), *b = path_in(dir, "b.idx");
	int fwd[3000], rev[3000];
	for (int i = 0; i < 3000; i++) {
		fwd[i] = i % 2000; /* with repeats */
		rev[i] = (2999 - i) % 2000;
	}
	struct wn_error err;
	wn_error_clear(&err);
	for (int ids = 0; ids <= 1; ids++) {
		struct wn_dd_index x, y, z;
		ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, ids), 0);
		ck_assert_int_eq(wn_dd_index_init(&y, WN_DD_SET, params_a, ids), 0);
		fill(&x, fwd, 3000, ids);
		/* y: another order, and a table grown differently */
		ck_assert_int_eq(wn_dd_set_reserve(&y.set, 100000), 0);
		fill(&y, rev, 3000, ids);
		ck_assert_int_eq(wn_dd_index_save(&x, a, &err), 0);
		ck_assert_int_eq(wn_dd_index_save(&y, b, &err), 0);
		size_t na, nb;
		char *ba = slurp(a, &na), *bb = slurp(b, &nb);
		if (!ids) { /* with ids, the id is the first seen: orders differ */
			ck_assert_uint_eq(na, nb);
			ck_assert(memcmp(ba, bb, na) == 0);
		}
		free(ba);
		free(bb);
		ck_assert_int_eq(wn_dd_index_load(&z, a, &err), 0);
		ck_assert_uint_eq(z.set.n, 2000);
		ck_assert_int_eq(z.with_ids, ids);
		ck_assert_str_eq(z.params, params_a);
		for (int v = 0; v < 2000; v++) {
			uint64_t ref;
			struct wn_dd_digest d = wn_dd_digest_of(&v, sizeof(v));
			ck_assert_int_eq(wn_dd_set_contains(&z.set, d, &ref), 1);
			if (ids) {
				const char *id;
				size_t n;
				char want[32];
				snprintf(want, sizeof(want), "\"doc-%d\"", v);
				ck_assert_int_eq(wn_dd_index_id(&z, ref, &id, &n), 1);
				ck_assert_uint_eq(n, strlen(want));
				ck_assert(memcmp(id, want, n) == 0);
			}
		}
		/* saving what was loaded gives the same bytes */
		ck_assert_int_eq(wn_dd_index_save(&z, b, &err), 0);
		ba = slurp(a, &na);
		bb = slurp(b, &nb);
		ck_assert_uint_eq(na, nb);
		ck_assert(memcmp(ba, bb, na) == 0);
		free(ba);
		free(bb);
		wn_dd_index_release(&x);
		wn_dd_index_release(&y);
		wn_dd_index_release(&z);
	}
	free(a);
	free(b);
	const char *names[] = { "a.idx", "b.idx", NULL };
	remove_dir(dir, names);
}
END_TEST

START_TEST(test_index_corrupt)
{
	char *dir = tmp_dir();
	char *a = path_in(dir, "a.idx"), *c = path_in(dir, "c.idx");
	struct wn_dd_index x, y;
	struct wn_error err;
	int vals[500];
	for (int i = 0; i < 500; i++)
		vals[i] = i;
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, 1), 0);
	fill(&x, vals, 500, 1);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_save(&x, a, &err), 0);
	wn_dd_index_release(&x);
	size_t n;
	char *good = slurp(a, &n);
	/* every single flipped byte is caught, and the message names the file */
	for (size_t i = 0; i < n; i += (i < 64 ? 1 : 97)) {
		good[i] ^= 0x20;
		spill(c, good, n);
		good[i] ^= 0x20;
		wn_error_clear(&err);
		int r = wn_dd_index_load(&y, c, &err);
		ck_assert_msg(r == WN_EDATA, "flip at %zu: status %d", i, r);
		ck_assert_msg(strstr(err.msg, "c.idx") != NULL, "%s", err.msg);
	}
	/* truncated anywhere, or with bytes after the end */
	for (size_t len = 0; len < n; len += (len < 64 ? 1 : 501)) {
		spill(c, good, len);
		wn_error_clear(&err);
		ck_assert_int_eq(wn_dd_index_load(&y, c, &err), WN_EDATA);
	}
	char *longer = malloc(n + 1);
	memcpy(longer, good, n);
	longer[n] = 'x';
	spill(c, longer, n + 1);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_load(&y, c, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
	free(longer);
	/* another version */
	good[8] = 9;
	spill(c, good, n);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_load(&y, c, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "version 9"));
	free(good);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_load(&y, "/nonexistent/x.idx", &err), WN_EIO);
	free(a);
	free(c);
	const char *names[] = { "a.idx", "c.idx", NULL };
	remove_dir(dir, names);
}
END_TEST

START_TEST(test_index_mismatch)
{
	struct wn_dd_index x;
	struct wn_error err;
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, 0), 0);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_check(&x, WN_DD_SET, params_a, "i.idx", &err), WN_OK);
	ck_assert_int_eq(wn_dd_index_check(&x, WN_DD_SET, params_b, "i.idx", &err), WN_EUSAGE);
	ck_assert_str_eq(err.msg, "i.idx: index has normalize=whitespace, "
	                          "this run uses normalize=datatrove");
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_check(&x, WN_DD_SET, "mode=exact\nnormalize=whitespace\n"
	                                   "key=(text)\nbloom-expected=5\n", "i.idx", &err),
	                 WN_EUSAGE);
	ck_assert_str_eq(err.msg, "i.idx: index has bloom-expected=(none), "
	                          "this run uses bloom-expected=5");
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dd_index_check(&x, WN_DD_BLOOM, params_a, "i.idx", &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "Bloom"));
	wn_dd_index_release(&x);
}
END_TEST

START_TEST(test_index_merge)
{
	char *dir = tmp_dir();
	char *a = path_in(dir, "a.idx"), *b = path_in(dir, "b.idx"), *all = path_in(dir, "all.idx"),
	     *m = path_in(dir, "m.idx"), *o = path_in(dir, "o.idx");
	int first[400], second[400], both[800];
	for (int i = 0; i < 400; i++) {
		first[i] = i;
		second[i] = 300 + i; /* overlaps the first */
		both[i] = first[i];
		both[400 + i] = second[i];
	}
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_dd_index x;
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, 1), 0);
	fill(&x, first, 400, 1);
	ck_assert_int_eq(wn_dd_index_save(&x, a, &err), 0);
	wn_dd_index_release(&x);
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, 1), 0);
	fill(&x, second, 400, 1);
	ck_assert_int_eq(wn_dd_index_save(&x, b, &err), 0);
	wn_dd_index_release(&x);
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_a, 1), 0);
	fill(&x, both, 800, 1);
	ck_assert_int_eq(wn_dd_index_save(&x, all, &err), 0);
	wn_dd_index_release(&x);
	const char *in[] = { a, b };
	ck_assert_int_eq(wn_dedup_index_merge(in, 2, m, &err), 0);
	size_t n1, n2;
	char *p1 = slurp(m, &n1), *p2 = slurp(all, &n2);
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(p1, p2, n1) == 0);
	free(p1);
	free(p2);
	/* describe it */
	struct wn_buf info = WN_BUF_INIT;
	ck_assert_int_eq(wn_dedup_index_info(m, &info, &err), 0);
	ck_assert_ptr_nonnull(strstr(info.data, "entries: 700\n"));
	ck_assert_ptr_nonnull(strstr(info.data, "normalize=whitespace\n"));
	ck_assert_ptr_nonnull(strstr(info.data, "ids: yes\n"));
	wn_buf_release(&info);
	/* other parameters: refused, naming the file */
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_SET, params_b, 0), 0);
	fill(&x, first, 10, 0);
	ck_assert_int_eq(wn_dd_index_save(&x, o, &err), 0);
	wn_dd_index_release(&x);
	const char *bad[] = { a, o };
	ck_assert_int_eq(wn_dedup_index_merge(bad, 2, m, &err), WN_EUSAGE);
	ck_assert_ptr_nonnull(strstr(err.msg, "o.idx: index has normalize=datatrove"));
	/* not an index at all */
	spill(o, "hello, world", 12);
	wn_error_clear(&err);
	ck_assert_int_eq(wn_dedup_index_merge(bad, 2, m, &err), WN_EDATA);
	ck_assert_ptr_nonnull(strstr(err.msg, "o.idx"));
	free(a);
	free(b);
	free(all);
	free(m);
	free(o);
	const char *names[] = { "a.idx", "b.idx", "all.idx", "m.idx", "o.idx", NULL };
	remove_dir(dir, names);
}
END_TEST

START_TEST(test_index_bloom_roundtrip)
{
	char *dir = tmp_dir();
	char *a = path_in(dir, "a.idx"), *b = path_in(dir, "b.idx"), *m = path_in(dir, "m.idx");
	struct wn_error err;
	wn_error_clear(&err);
	struct wn_dd_index x, y;
	const char *params = "mode=exact\nbloom-expected=1000\n";
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_BLOOM, params, 0), 0);
	ck_assert_int_eq(wn_dd_bloom_init(&x.bloom, 1000, 0.01, &err), 0);
	for (int i = 0; i < 500; i++)
		wn_dd_bloom_add(&x.bloom, wn_dd_digest_of(&i, sizeof(i)));
	ck_assert_int_eq(wn_dd_index_save(&x, a, &err), 0);
	ck_assert_int_eq(wn_dd_index_load(&y, a, &err), 0);
	ck_assert_int_eq(y.kind, WN_DD_BLOOM);
	ck_assert_uint_eq(y.bloom.m, x.bloom.m);
	ck_assert_uint_eq(y.bloom.k, x.bloom.k);
	ck_assert_uint_eq(y.bloom.added, x.bloom.added);
	ck_assert(memcmp(y.bloom.bits, x.bloom.bits, x.bloom.m / 8) == 0);
	wn_dd_index_release(&y);
	wn_dd_index_release(&x);
	/* merging two halves sets the bits of the whole */
	ck_assert_int_eq(wn_dd_index_init(&x, WN_DD_BLOOM, params, 0), 0);
	ck_assert_int_eq(wn_dd_bloom_init(&x.bloom, 1000, 0.01, &err), 0);
	for (int i = 500; i < 1000; i++)
		wn_dd_bloom_add(&x.bloom, wn_dd_digest_of(&i, sizeof(i)));
	ck_assert_int_eq(wn_dd_index_save(&x, b, &err), 0);
	wn_dd_index_release(&x);
	const char *in[] = { a, b };
	ck_assert_int_eq(wn_dedup_index_merge(in, 2, m, &err), 0);
	ck_assert_int_eq(wn_dd_index_load(&y, m, &err), 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(wn_dd_bloom_contains(&y.bloom, wn_dd_digest_of(&i, sizeof(i))), 1);
	wn_dd_index_release(&y);
	free(a);
	free(b);
	free(m);
	const char *names[] = { "a.idx", "b.idx", "m.idx", NULL };
	remove_dir(dir, names);
}
END_TEST

/* ---- the worker pool --------------------------------------------------------------------- */

struct pool_job {
	unsigned long out[1000];
	unsigned nthreads;
	int bad_worker;
};

static void pool_fn(void *arg, unsigned worker, size_t i)
{
	struct pool_job *j = arg;
	if (worker >= j->nthreads)
		j->bad_worker = 1;
	j->out[i] += i * i + 1;
}

START_TEST(test_pool)
{
	for (unsigned t = 1; t <= 4; t++) {
		struct wn_pool *p;
		ck_assert_int_eq(wn_pool_new(&p, t), 0);
		ck_assert_uint_eq(wn_pool_threads(p), t);
		struct pool_job j = { .nthreads = t };
		for (int round = 0; round < 50; round++)
			wn_pool_run(p, 1000, pool_fn, &j);
		for (size_t i = 0; i < 1000; i++)
			ck_assert_uint_eq(j.out[i], 50 * (i * i + 1));
		ck_assert_int_eq(j.bad_worker, 0);
		wn_pool_run(p, 0, pool_fn, &j);
		wn_pool_free(p);
	}
	wn_pool_free(NULL);
}
END_TEST

static Suite *dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *n = tcase_create("normalize");
	tcase_add_test(n, test_norm_names);
	tcase_add_test(n, test_norm_whitespace_cases);
	tcase_add_test(n, test_norm_whitespace_random);
	tcase_add_test(n, test_norm_nfkc_casefold_cases);
	tcase_add_test(n, test_norm_nfkc_casefold_whole);
	tcase_add_test(n, test_norm_datatrove_cases);
	tcase_add_test(n, test_norm_datatrove_random);
	suite_add_tcase(s, n);
	TCase *d = tcase_create("digests");
	tcase_set_timeout(d, 120);
	tcase_add_test(d, test_set_random);
	tcase_add_test(d, test_set_crowded);
	tcase_add_test(d, test_set_memory);
	tcase_add_test(d, test_set_append);
	tcase_add_test(d, test_digest_never_zero);
	tcase_add_test(d, test_bloom_fp_rate);
	tcase_add_test(d, test_bloom_usage);
	suite_add_tcase(s, d);
	TCase *l = tcase_create("lines");
	tcase_add_test(l, test_lines_split_join);
	suite_add_tcase(s, l);
	TCase *x = tcase_create("index");
	tcase_set_timeout(x, 60);
	tcase_add_test(x, test_index_roundtrip_and_determinism);
	tcase_add_test(x, test_index_corrupt);
	tcase_add_test(x, test_index_mismatch);
	tcase_add_test(x, test_index_merge);
	tcase_add_test(x, test_index_bloom_roundtrip);
	suite_add_tcase(s, x);
	TCase *p = tcase_create("pool");
	tcase_add_test(p, test_pool);
	suite_add_tcase(s, p);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dedup_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
