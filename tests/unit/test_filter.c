/*
 * test_filter.c - the filter stage's text analysis (src/filter): word
 * splitting, each rule of the Gopher, C4 and FineWeb sets just inside and
 * just outside its threshold, their quirks, empty and non-Latin texts, and
 * the raw record edits.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static struct wn_fl_scratch S;
static struct wn_fl_report R;

static void setup(void)
{
	wn_fl_scratch_init(&S);
	wn_fl_report_reset(&R, 1);
}

static void teardown(void)
{
	wn_fl_scratch_release(&S);
}

/* The words of text joined by '|'. */
static char *split(const char *text)
{
	static char out[4096];
	S.words.n = 0;
	ck_assert_int_eq(wn_fl_split_words(text, strlen(text), &S.words), WN_OK);
	size_t o = 0;
	for (size_t i = 0; i < S.words.n; i++) {
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s", i ? "|" : "",
		                      (int)S.words.v[i].len, text + S.words.v[i].off);
	}
	out[o] = '\0';
	return out;
}

static const struct wn_fl_measure *measure(const char *rule)
{
	for (size_t i = 0; i < R.n; i++)
		if (strcmp(R.m[i].rule, rule) == 0)
			return &R.m[i];
	ck_abort_msg("no measurement of %s", rule);
	return NULL;
}

#define ck_assert_close(a, b) ck_assert_msg(fabs((a) - (b)) < 1e-9, "%.12g != %.12g", (double)(a), (double)(b))

/* Check one rule's verdict and value. */
static void expect(const char *rule, int pass, double value)
{
	const struct wn_fl_measure *m = measure(rule);
	ck_assert_msg(m->pass == pass, "%s: pass %d, expected %d (value %g)", rule, m->pass, pass,
	              m->value);
	ck_assert_msg(m->kind != WN_FL_NONE, "%s: no value", rule);
	ck_assert_close(m->value, value);
}

static void expect_none(const char *rule)
{
	const struct wn_fl_measure *m = measure(rule);
	ck_assert_int_eq(m->kind, WN_FL_NONE);
	ck_assert_int_eq(m->pass, 1);
}

static char *repeat(const char *unit, size_t times)
{
	size_t n = strlen(unit);
	char *t = malloc(n * times + 1);
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < times; i++)
		memcpy(t + i * n, unit, n);
	t[n * times] = '\0';
	return t;
}

static char *cat(char *a, const char *b)
{
	size_t n = strlen(a);
	a = realloc(a, n + strlen(b) + 1);
	ck_assert_ptr_nonnull(a);
	strcpy(a + n, b);
	return a;
}

static int quality(const struct wn_fl_gopher_quality *p, const char *text)
{
	wn_fl_report_reset(&R, 1);
	S.words.n = 0;
	ck_assert_int_eq(wn_fl_split_words(text, strlen(text), &S.words), WN_OK);
	return wn_fl_gopher_quality(p, text, strlen(text), &S, &R);
}

static int repetition(const struct wn_fl_gopher_repetition *p, const char *text)
{
	wn_fl_report_reset(&R, 1);
	S.words.n = 0;
	ck_assert_int_eq(wn_fl_split_words(text, strlen(text), &S.words), WN_OK);
	return wn_fl_gopher_repetition(p, text, strlen(text), &S, &R);
}

static int c4(const struct wn_fl_c4 *p, const char *text)
{
	wn_fl_report_reset(&R, 1);
	S.words.n = 0;
	ck_assert_int_eq(wn_fl_split_words(text, strlen(text), &S.words), WN_OK);
	return wn_fl_c4(p, text, strlen(text), &S, &R);
}

static const char *c4_text(void)
{
	static char out[4096];
	snprintf(out, sizeof(out), "%.*s", (int)S.text.len, S.text.data ? S.text.data : "");
	return out;
}

static int fineweb(const struct wn_fl_fineweb *p, const char *text)
{
	wn_fl_report_reset(&R, 1);
	S.words.n = 0;
	ck_assert_int_eq(wn_fl_split_words(text, strlen(text), &S.words), WN_OK);
	return wn_fl_fineweb(p, text, strlen(text), &S, &R);
}

/* ---- words ---------------------------------------------------------------------------------- */

START_TEST(words_follow_spacy_english)
{
	static const char *const cases[][2] = {
		{ "Hello, world! I'm here; don't go.",
		  "Hello|,|world|!|I|'m|here|;|do|n't|go|." },
		{ "(U.S.A.) said Mr. Smith at 10am, paying US$5.50 for 5km...",
		  "(|U.S.A.|)|said|Mr.|Smith|at|10|am|,|paying|US$|5.50|for|5|km|..." },
		{ "Visit https://example.com/a-b/c. or www.test.org!",
		  "Visit|https://example.com/a-b/c|.|or|www.test.org|!" },
		{ "well-known data\xE2\x80\x94" "driven 3-4 end.Start a,b and/or",
		  "well|-|known|data|\xE2\x80\x94|driven|3|-|4|end|.|Start|a|,|b|and|/|or" },
		{ "He said \"yes\" -- 'maybe'...", "He|said|\"|yes|\"|--|'|maybe|'|..." },
		{ "50% of 1,000 people; cost: $20.", "50|%|of|1,000|people|;|cost|:|$|20|." },
		{ "#tag \xE2\x80\x9Cquoted\xE2\x80\x9D it's e-mail C++",
		  "#|tag|\xE2\x80\x9C|quoted|\xE2\x80\x9D|it|'s|e|-|mail|C++" },
		{ "USA. A. a. e.g. etc.", "USA|.|A.|a.|e.g.|etc|." },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(split(cases[i][0]), cases[i][1]);
}
END_TEST

START_TEST(words_of_other_scripts)
{
	/* Cyrillic, Greek, Arabic: punctuation comes off as in English; CJK
	 * has no spaces, so a run of it is one word (as spaCy's English
	 * tokenizer has it) and its full stop comes off the end */
	ck_assert_str_eq(split("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, "
	                       "\xD0\xBC\xD0\xB8\xD1\x80!"),
	                 "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82|,|"
	                 "\xD0\xBC\xD0\xB8\xD1\x80|!");
	ck_assert_str_eq(split("\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xB5;"),
	                 "\xCE\xBA\xCF\x8C\xCF\x83\xCE\xBC\xCE\xB5|;");
	ck_assert_str_eq(split("\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C\xE3\x80\x82"),
	                 "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C|\xE3\x80\x82");
	ck_assert_str_eq(split("\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7."),
	                 "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7|.");
	/* a no-break space and an ideographic space separate words */
	ck_assert_str_eq(split("a\xC2\xA0" "b\xE3\x80\x80" "c"), "a|b|c");
}
END_TEST

START_TEST(words_of_nothing)
{
	ck_assert_str_eq(split(""), "");
	ck_assert_str_eq(split(" \t\n\r\v\f\x1c\xC2\xA0\xE2\x80\xA8 "), "");
	uint64_t c = 7;
	ck_assert_int_eq(wn_fl_count_words("", 0, &c, &S.words), WN_OK);
	ck_assert_uint_eq(c, 0);
	ck_assert_int_eq(wn_fl_count_words(" \n ", 3, &c, &S.words), WN_OK);
	ck_assert_uint_eq(c, 0);
}
END_TEST

START_TEST(word_flags)
{
	split("# ... a1 . \xE2\x80\xA6 \xC3\xA9t\xC3\xA9 42");
	ck_assert_uint_eq(S.words.n, 7);
	const struct wn_fl_word *v = S.words.v;
	ck_assert_uint_eq(v[0].flags & (WN_FL_W_NONSYM | WN_FL_W_PUNCT), WN_FL_W_PUNCT);
	ck_assert_uint_eq(v[1].flags & (WN_FL_W_NONSYM | WN_FL_W_STERM), 0);
	ck_assert_uint_eq(v[2].flags & (WN_FL_W_NONSYM | WN_FL_W_ALPHA),
	                  WN_FL_W_NONSYM | WN_FL_W_ALPHA);
	ck_assert(v[3].flags & WN_FL_W_STERM);
	ck_assert(!(v[4].flags & WN_FL_W_STERM)); /* … ends no sentence */
	ck_assert_uint_eq(v[5].cps, 3);
	ck_assert_uint_eq(v[5].len, 5);
	ck_assert(v[5].flags & WN_FL_W_ALPHA);
	ck_assert_uint_eq(v[6].flags & (WN_FL_W_NONSYM | WN_FL_W_ALPHA), WN_FL_W_NONSYM);
}
END_TEST

/* The fast count agrees with the words split one by one, on texts that
 * cross the 64-byte blocks it works in. */
START_TEST(count_agrees_with_split)
{
	static const char *const pieces[] = {
		"a", "bc", "1", "42", " ", "  ", "\n", ",", ".", "'", "-", "n't", "'s", "5km",
		"10am", "1,000", "e.g.", "Mr.", "(", ")", "\xC3\xA9", "\xC2\xA0", "\xE2\x80\x94",
		"http://x.org/a", "\xE4\xBD\xA0", "#", "...", "U.S.", "US$", "\t", "ab-cd",
	};
	uint64_t seed = 12345;
	char text[700];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		size_t want = (seed >> 33) % 600;
		while (n < want) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			const char *p = pieces[(seed >> 33) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);
			memcpy(text + n, p, l);
			n += l;
		}
		S.words.n = 0;
		ck_assert_int_eq(wn_fl_split_words(text, n, &S.words), WN_OK);
		uint64_t expect_count = 0, got;
		for (size_t i = 0; i < S.words.n; i++)
			expect_count += (S.words.v[i].flags & WN_FL_W_NONSYM) != 0;
		struct wn_fl_words scratch;
		wn_fl_words_init(&scratch);
		ck_assert_int_eq(wn_fl_count_words(text, n, &got, &scratch), WN_OK);
		wn_fl_words_release(&scratch);
		ck_assert_msg(got == expect_count, "%.*s: %llu words, split gives %llu", (int)n,
		              text, (unsigned long long)got, (unsigned long long)expect_count);
	}
}
END_TEST

START_TEST(sentences_as_the_sentencizer)
{
	split("One. Two! Three? Four... and five.");
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, S.words.n), 4);
	split("Mr. Smith went home.");
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, S.words.n), 1);
	split("End.\" Next one.");
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, S.words.n), 2);
	/* white space other than one space was a token of its own */
	split("Hi.  .");
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, S.words.n), 2);
	split("Hi. .");
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, S.words.n), 1);
	ck_assert_uint_eq(wn_fl_count_sentences(S.words.v, 0), 0);
}
END_TEST

/* ---- Gopher quality --------------------------------------------------------------------------- */

/* n words: the stop words first, then "word" */
static char *words_text(size_t n)
{
	static const char *const stop[] = { "the", "be", "to", "of", "and", "that", "have", "with" };
	char *t = calloc(1, 1);
	for (size_t i = 0; i < n; i++) {
		t = cat(t, i ? " " : "");
		t = cat(t, i < 8 ? stop[i] : "word");
	}
	return t;
}

START_TEST(gopher_word_count)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	char *t = words_text(50);
	ck_assert_int_eq(quality(&p, t), 1);
	expect("gopher_short_doc", 1, 50);
	free(t);
	t = words_text(49);
	ck_assert_int_eq(quality(&p, t), 0);
	expect("gopher_short_doc", 0, 49);
	ck_assert_str_eq(R.failed, "gopher_short_doc");
	/* symbol words do not count */
	t = cat(t, " # # ... -- !");
	quality(&p, t);
	expect("gopher_short_doc", 0, 49);
	free(t);
	p.max_words.v = 60;
	t = words_text(60);
	quality(&p, t);
	expect("gopher_long_doc", 1, 60);
	free(t);
	t = words_text(61);
	quality(&p, t);
	expect("gopher_long_doc", 0, 61);
	free(t);
}
END_TEST

START_TEST(gopher_mean_word_length)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = 0;
	quality(&p, "abc abc ab abcd");
	expect("gopher_below_avg_threshold", 1, 3.0);
	quality(&p, "abc ab ab abcd");
	expect("gopher_below_avg_threshold", 0, 2.75);
	quality(&p, "abcdefghij abcdefghij, abcdefghij.");
	expect("gopher_above_avg_threshold", 1, 10.0);
	quality(&p, "abcdefghij abcdefghijk");
	expect("gopher_above_avg_threshold", 0, 10.5);
	/* code points, not bytes */
	quality(&p, "\xC3\xA9\xC3\xA9\xC3\xA9");
	expect("gopher_below_avg_threshold", 1, 3.0);
	/* no words: no mean, which no comparison fails (NaN in datatrove) */
	quality(&p, "# ...");
	expect_none("gopher_below_avg_threshold");
	expect_none("gopher_above_avg_threshold");
}
END_TEST

START_TEST(gopher_symbol_ratios)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = 0;
	/* '#' per word, counting the '#' words themselves (10 of 100) */
	char *t = repeat("word ", 90);
	t = cat(t, "# # # # # # # # # #");
	quality(&p, t);
	expect("gopher_too_many_hashes", 1, 0.1);
	free(t);
	t = repeat("word ", 89);
	t = cat(t, "# # # # # # # # # # #");
	quality(&p, t);
	expect("gopher_too_many_hashes", 0, 0.11);
	free(t);
	/* "..." counted without overlap ("....." is one), and "…" */
	t = repeat("word ", 18);
	t = cat(t, "..... \xE2\x80\xA6");
	quality(&p, t);
	expect("gopher_too_many_ellipsis", 1, 0.1);
	free(t);
	t = repeat("word ", 17);
	t = cat(t, "...... \xE2\x80\xA6");
	quality(&p, t);
	expect("gopher_too_many_ellipsis", 0, 3.0 / 19);
	free(t);
}
END_TEST

START_TEST(gopher_line_ratios)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = 0;
	/* 9 of 10 lines start with a bullet (after spaces); \r\n is one break */
	char *t = repeat("  - item\r\n", 4);
	t = cat(t, "\xE2\x80\xA2 a\n\xE2\x80\xA2 b\n- c\n- d\n- e\nplain");
	quality(&p, t);
	expect("gopher_too_many_bullets", 1, 0.9);
	t = cat(t, "\n- f");
	quality(&p, t);
	expect("gopher_too_many_bullets", 0, 10.0 / 11);
	free(t);
	/* 3 of 10 lines end with an ellipsis (before trailing spaces) */
	t = repeat("a line\n", 7);
	t = cat(t, "wait...  \nand\xE2\x80\xA6\nso...");
	quality(&p, t);
	expect("gopher_too_many_end_ellipsis", 1, 0.3);
	t = cat(t, "\nmore...");
	quality(&p, t);
	expect("gopher_too_many_end_ellipsis", 0, 4.0 / 11);
	free(t);
}
END_TEST

START_TEST(gopher_alpha_and_stop_words)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = 0;
	/* 8 of 10 words have a letter; punctuation words count below */
	quality(&p, "the be a b c d e f 1 2");
	expect("gopher_below_alpha_threshold", 1, 0.8);
	quality(&p, "the be a b c d e f 1 ,");
	expect("gopher_below_alpha_threshold", 1, 0.8);
	quality(&p, "the be a b c d e 1 2 ,");
	expect("gopher_below_alpha_threshold", 0, 0.7);
	quality(&p, "\xD0\xB4\xD0\xB0 1");
	expect("gopher_below_alpha_threshold", 0, 0.5);
	/* distinct stop words, case-sensitive as in datatrove */
	quality(&p, "the cat and the dog");
	expect("gopher_enough_stop_words", 1, 2);
	quality(&p, "the cat The dog THE the");
	expect("gopher_enough_stop_words", 0, 1);
	p.stop[0] = "cat";
	p.stop_len[0] = 3;
	p.nstop = 1;
	p.min_stop_words.v = 1;
	quality(&p, "the cat");
	expect("gopher_enough_stop_words", 1, 1);
}
END_TEST

START_TEST(gopher_quality_of_nothing)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	ck_assert_int_eq(quality(&p, ""), 0);
	expect("gopher_short_doc", 0, 0);
	expect_none("gopher_too_many_hashes");
	expect_none("gopher_too_many_bullets");
	expect_none("gopher_below_alpha_threshold");
	ck_assert_int_eq(quality(&p, " \n\t "), 0);
	expect("gopher_short_doc", 0, 0);
	expect("gopher_too_many_bullets", 1, 0);
}
END_TEST

/* ---- Gopher repetition --------------------------------------------------------------------------- */

START_TEST(repetition_paragraphs_and_lines)
{
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	/* every occurrence after the first is a duplicate: 2 of 4 */
	const char *t = "aa\n\nbb\n\n\naa\n\naa";
	repetition(&p, t);
	expect("gopher_dup_para_frac", 0, 0.5);
	/* characters of duplicates over the whole unstripped text */
	expect("gopher_dup_para_char_frac", 0, 4.0 / 15);
	/* 1 of 4 paragraphs; 3 of 13 characters */
	t = "abc\n\nd\n\ne\n\nd";
	repetition(&p, t);
	expect("gopher_dup_para_frac", 1, 0.25);
	expect("gopher_dup_para_char_frac", 1, 1.0 / 12);
	/* paragraphs of the stripped text: the leading blank lines go */
	t = "\n\n\nx\n\ny";
	repetition(&p, t);
	expect("gopher_dup_para_frac", 1, 0);
	/* lines of the unstripped text: a leading and a final '\n' make two
	 * empty lines, one a duplicate of the other */
	t = "\na\n";
	repetition(&p, t);
	expect("gopher_dup_line_frac", 0, 1.0 / 3);
	expect("gopher_dup_line_char_frac", 1, 0);
	t = "ab\ncd\nab\nef\ngh\nij\nkl\nmn\nop\nqr";
	repetition(&p, t);
	expect("gopher_dup_line_frac", 1, 0.1);
	expect("gopher_dup_line_char_frac", 1, 2.0 / 29);
}
END_TEST

START_TEST(repetition_top_ngrams)
{
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	/* counted even when it occurs once: the first bigram, whole text */
	repetition(&p, "hello world");
	expect("gopher_top_2_gram", 0, 1.0);
	expect_none("gopher_top_3_gram");
	/* the first of the most frequent wins a tie, its words joined by a
	 * space: "x y" (3 characters) twice, not "long words" */
	repetition(&p, "x y long words x y long words");
	expect("gopher_top_2_gram", 0, 6.0 / 29);
	/* just inside and outside 0.20: "a b" twice in 30 characters is 0.2 */
	repetition(&p, "a b qqqqq rrrrr sssss a b tttt");
	expect("gopher_top_2_gram", 1, 0.2);
	repetition(&p, "a b qqqqq rrrrr sssss a b ttt");
	expect("gopher_top_2_gram", 0, 6.0 / 29);
}
END_TEST

START_TEST(repetition_duplicated_ngrams)
{
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	/* joined with nothing: "ab c d e f" repeats "a bc d e f" */
	repetition(&p, "ab c d e f a bc d e f");
	expect("gopher_duplicated_5_n_grams", 0, 6.0 / 21);
	expect("gopher_duplicated_6_n_grams", 1, 0);
	/* after a repeat the scan skips n words: 10, not 15 */
	repetition(&p, "a b c d e a b c d e a b c d e");
	expect("gopher_duplicated_5_n_grams", 0, 10.0 / 29);
	expect("gopher_duplicated_6_n_grams", 0, 6.0 / 29);
	/* just inside and outside 0.15: 5 repeated characters in 33 and 34 */
	repetition(&p, "a b c d e qqqqqqqqqqq a b c d e z");
	expect("gopher_duplicated_5_n_grams", 0, 5.0 / 33);
	repetition(&p, "a b c d e qqqqqqqqqqqq a b c d e z");
	expect("gopher_duplicated_5_n_grams", 1, 5.0 / 34);
}
END_TEST

START_TEST(repetition_of_nothing)
{
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	ck_assert_int_eq(repetition(&p, ""), 1);
	expect("gopher_dup_para_frac", 1, 0);
	expect_none("gopher_dup_para_char_frac");
	expect_none("gopher_top_2_gram");
	expect_none("gopher_duplicated_5_n_grams");
	/* white space only: one empty paragraph; lines "", "" after \n */
	repetition(&p, "  \n ");
	expect("gopher_dup_line_frac", 1, 0);
}
END_TEST

/* ---- C4 ---------------------------------------------------------------------------------------- */

START_TEST(c4_rewrites_to_kept_lines)
{
	struct wn_fl_c4 p;
	wn_fl_c4_defaults(&p);
	p.min_sentences.on = 0;
	const char *t =
		"  First line has words.  \n"
		"no terminal punctuation here\n"
		"Two words.\n"
		"It was so.[1] And then.[citation needed]\n"
		"Ends with an ellipsis...\n"
		"Enable JavaScript to see this.\n"
		"This site uses cookies for you.\n"
		"He said \"three words\"\n"
		"Yes [1] [2].\n"
		"Cited but ends badly. [edit]\n";
	ck_assert_int_eq(c4(&p, t), 1);
	ck_assert_str_eq(c4_text(),
	                 "First line has words.\n"
	                 "It was so. And then.\n"
	                 "He said \"three words\"\n"
	                 "Yes  .");
}
END_TEST

START_TEST(c4_document_rules)
{
	struct wn_fl_c4 p;
	wn_fl_c4_defaults(&p);
	p.min_sentences.on = 0;
	ck_assert_int_eq(c4(&p, "Some text here.\nWe say LOREM Ipsum dolor.\n"), 0);
	expect("c4_lorem_ipsum", 0, 1);
	ck_assert_str_eq(R.failed, "c4_lorem_ipsum");
	/* only lines that survive the line rules can drop the document */
	ck_assert_int_eq(c4(&p, "lorem ipsum without punctuation\nfunction() { x; }\n"), 1);
	ck_assert_int_eq(c4(&p, "Code is: a { b } c.\nThen lorem ipsum came.\n"), 0);
	ck_assert_str_eq(R.failed, "c4_curly_bracket");
	expect("c4_lorem_ipsum", 0, 1);
	/* the Kelvin sign lowercases to k: "uses cookies" */
	ck_assert_int_eq(c4(&p, "This site uses coo\xE2\x84\xAAies today.\nThe rest is fine.\n"), 1);
	ck_assert_str_eq(c4_text(), "The rest is fine.");
	/* a word over 1000 characters drops its line */
	char *t = repeat("x", 1001);
	t = cat(t, " is long.\nshort is fine.");
	c4(&p, t);
	ck_assert_str_eq(c4_text(), "short is fine.");
	free(t);
	t = repeat("x", 1000);
	t = cat(t, " is long.");
	c4(&p, t);
	ck_assert_uint_eq(S.text.len, 1009);
	free(t);
}
END_TEST

START_TEST(c4_sentences)
{
	struct wn_fl_c4 p;
	wn_fl_c4_defaults(&p);
	ck_assert_int_eq(c4(&p, "One is here. Two is here! Three is here? Four is here. Five is here."), 1);
	expect("c4_too_few_sentences", 1, 5);
	ck_assert_int_eq(c4(&p, "One is here. Two is here! Three is here?\nFour is here."), 0);
	expect("c4_too_few_sentences", 0, 4);
	/* only kept lines count */
	c4(&p, "One is here. Two is here!\nThree is here. Four is here. Five is here. no end");
	expect("c4_too_few_sentences", 0, 2);
	ck_assert_int_eq(c4(&p, ""), 0);
	expect("c4_too_few_sentences", 0, 0);
	ck_assert_str_eq(c4_text(), "");
}
END_TEST

/* ---- FineWeb ---------------------------------------------------------------------------------------- */

START_TEST(fineweb_rules)
{
	struct wn_fl_fineweb p;
	wn_fl_fineweb_defaults(&p);
	ck_assert_int_eq(fineweb(&p, "  \n\t\n"), 0);
	expect("fineweb_empty", 0, 0);
	expect_none("fineweb_list_ratio");
	/* 12 of 100 lines end in terminal punctuation (unstripped) */
	char *t = repeat("a line of words that is long enough\n", 88);
	t = cat(t, "");
	char *end = repeat("a line of words that ends properly.\n", 12);
	t = cat(t, end);
	free(end);
	fineweb(&p, t);
	expect("fineweb_line_punct_ratio", 1, 0.12);
	/* "end.\r" does not end in punctuation */
	free(t);
	t = repeat("a line of words that is long enough\n", 88);
	end = repeat("a line of words that ends properly.\r\n", 12);
	t = cat(t, end);
	free(end);
	fineweb(&p, t);
	expect("fineweb_line_punct_ratio", 0, 0.0);
	p.punct_exclude_zero = 1;
	fineweb(&p, t);
	expect("fineweb_line_punct_ratio", 1, 0.0);
	free(t);
	wn_fl_fineweb_defaults(&p);
	/* short lines: at most 30 characters; 2 of 3 is 0.667 <= 0.67 */
	fineweb(&p, "Short one.\nanother short.\nThis line is certainly longer than thirty.");
	expect("fineweb_short_line_ratio", 1, 2.0 / 3);
	fineweb(&p, "Short one.\nanother short.\nshort too.");
	expect("fineweb_short_line_ratio", 0, 1.0);
	/* duplicate line characters over the text without its newlines */
	t = repeat("This is a sentence that goes on and on for a while now.\n", 1);
	t = cat(t, "x.\n");
	char *body = repeat("Plenty of unique words make this long line unique. ", 8);
	t = cat(t, body);
	t = cat(t, "\nx.");
	free(body);
	fineweb(&p, t);
	const struct wn_fl_measure *m = measure("fineweb_char_dup_ratio");
	ck_assert_close(m->value, 2.0 / (strlen(t) - 3));
	free(t);
	/* newlines per word, punctuation words included: 3 in 10 words */
	fineweb(&p, "one two three\nfour five\nsix seven eight\nnine.");
	expect("fineweb_list_ratio", 1, 0.3);
	fineweb(&p, "one two three\nfour five\nsix seven eight\nnine");
	expect("fineweb_list_ratio", 0, 3.0 / 9);
}
END_TEST

/* ---- edits ---------------------------------------------------------------------------------------- */

static const char *set(const char *json, const char *const *path, size_t depth, const char *value,
                       int expect_status)
{
	static char out[1024];
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_buf_adds(&b, json), WN_OK);
	size_t bad = 0;
	int st = wn_fl_set_member(&b, path, depth, value, strlen(value), &bad);
	ck_assert_int_eq(st, expect_status);
	snprintf(out, sizeof(out), "%s", b.data);
	wn_buf_release(&b);
	return out;
}

START_TEST(edits_keep_other_bytes)
{
	const char *meta[] = { "metadata", "reject_reason" };
	const char *text[] = { "text" };
	ck_assert_str_eq(set("{\"text\":\"a\" , \"n\":1.50}", meta, 2, "\"x\"", WN_OK),
	                 "{\"text\":\"a\" , \"n\":1.50,\"metadata\":{\"reject_reason\":\"x\"}}");
	ck_assert_str_eq(set("{}", meta, 2, "\"x\"", WN_OK),
	                 "{\"metadata\":{\"reject_reason\":\"x\"}}");
	ck_assert_str_eq(set("{\"metadata\":{ }}", meta, 2, "1", WN_OK),
	                 "{\"metadata\":{ \"reject_reason\":1}}");
	ck_assert_str_eq(set("{\"metadata\":{\"a\":[1,2],\"reject_reason\":\"old\"},\"z\":0}", meta,
	                     2, "\"new\"", WN_OK),
	                 "{\"metadata\":{\"a\":[1,2],\"reject_reason\":\"new\"},\"z\":0}");
	ck_assert_str_eq(set("{\"text\":\"long\\nold\",\"id\":1}", text, 1, "\"new\"", WN_OK),
	                 "{\"text\":\"new\",\"id\":1}");
	ck_assert_str_eq(set("{\"metadata\":\"no\"}", meta, 2, "1", WN_EDATA),
	                 "{\"metadata\":\"no\"}");
	ck_assert_str_eq(set("{\"metadata\":null,\"x\":1}", meta, 2, "\"r\"", WN_OK),
	                 "{\"metadata\":{\"reject_reason\":\"r\"},\"x\":1}");
	const char *deep[] = { "a", "b", "c" };
	ck_assert_str_eq(set("{\"a\":{}}", deep, 3, "[]", WN_OK), "{\"a\":{\"b\":{\"c\":[]}}}");
}
END_TEST

static Suite *filter_suite(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("words");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, words_follow_spacy_english);
	tcase_add_test(tc, words_of_other_scripts);
	tcase_add_test(tc, words_of_nothing);
	tcase_add_test(tc, word_flags);
	tcase_add_test(tc, count_agrees_with_split);
	tcase_add_test(tc, sentences_as_the_sentencizer);
	suite_add_tcase(s, tc);
	tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gopher_word_count);
	tcase_add_test(tc, gopher_mean_word_length);
	tcase_add_test(tc, gopher_symbol_ratios);
	tcase_add_test(tc, gopher_line_ratios);
	tcase_add_test(tc, gopher_alpha_and_stop_words);
	tcase_add_test(tc, gopher_quality_of_nothing);
	tcase_add_test(tc, repetition_paragraphs_and_lines);
	tcase_add_test(tc, repetition_top_ngrams);
	tcase_add_test(tc, repetition_duplicated_ngrams);
	tcase_add_test(tc, repetition_of_nothing);
	tcase_add_test(tc, c4_rewrites_to_kept_lines);
	tcase_add_test(tc, c4_document_rules);
	tcase_add_test(tc, c4_sentences);
	tcase_add_test(tc, fineweb_rules);
	tcase_add_test(tc, edits_keep_other_bytes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(filter_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
