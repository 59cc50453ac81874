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
#include "winnow/stage.h"

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
	return wn_fl_fineweb(p, text, strlen(text), S.words.n, &S, &R);
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

START_TEST(gopher_stop_word_lists)
{
	struct wn_fl_gopher_quality p;
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = 0;
	/* a word given twice is one stop word, as in datatrove's set */
	static const char *const twice[] = { "the", "the", "cat" };
	for (size_t i = 0; i < 3; i++) {
		p.stop[i] = twice[i];
		p.stop_len[i] = strlen(twice[i]);
	}
	p.nstop = 3;
	quality(&p, "the the dog");
	expect("gopher_enough_stop_words", 0, 1);
	/* longer than 8 bytes, exactly 8, and the last word of the text (fewer
	 * than 8 bytes after it) */
	static const char *const longer[] = { "information", "eightchr", "x", "a\xC3\xA9" };
	for (size_t i = 0; i < 4; i++) {
		p.stop[i] = longer[i];
		p.stop_len[i] = strlen(longer[i]);
	}
	p.nstop = 4;
	p.min_stop_words.v = 4;
	quality(&p, "informatio information eightchr eightchrs x a\xC3\xA9");
	expect("gopher_enough_stop_words", 1, 4);
	quality(&p, "informations eightch xx x a\xC3\xA9");
	expect("gopher_enough_stop_words", 0, 2);
	quality(&p, "x");
	expect("gopher_enough_stop_words", 0, 1);
	/* without --annotate the count may stop once there are enough: the
	 * verdicts are the same */
	wn_fl_gopher_quality_defaults(&p);
	p.min_words.on = p.min_mean_len.on = p.min_alpha_words.on = 0;
	const char *texts[] = { "the cat and the dog be with", "the cat The dog", "of", "" };
	for (size_t i = 0; i < 4; i++) {
		quality(&p, texts[i]);
		int all = measure("gopher_enough_stop_words")->pass;
		wn_fl_report_reset(&R, 0);
		S.words.n = 0;
		ck_assert_int_eq(wn_fl_split_words(texts[i], strlen(texts[i]), &S.words), WN_OK);
		wn_fl_gopher_quality(&p, texts[i], strlen(texts[i]), &S, &R);
		ck_assert_int_eq(measure("gopher_enough_stop_words")->pass, all);
	}
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

/* A repeated n-gram whose first 5 words are shorter than 16 bytes, where
 * the first occurrence's 5 words are not: "abcde" + "fghijklmnopqrstu"
 * is "abcdefghijklmnop" + "qrstu". */
START_TEST(repetition_short_and_long_starts)
{
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	repetition(&p, "a b c d e fghijklmnopqrstu abcdefghijklmnop q r s t u");
	expect("gopher_duplicated_5_n_grams", 1, 0);
	expect("gopher_duplicated_6_n_grams", 0, 21.0 / 53);
	expect("gopher_duplicated_7_n_grams", 1, 0);
	/* and the other way round */
	repetition(&p, "abcdefghijklmnop q r s t u a b c d e fghijklmnopqrstu");
	expect("gopher_duplicated_6_n_grams", 0, 21.0 / 53);
}
END_TEST

/* ---- the repetition rules against a plain implementation ---------------------------------- */

struct naive_words {
	const char *text;
	const struct wn_fl_word *v;
	size_t n;
};

static int naive_same(const struct naive_words *w, size_t i, size_t j, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct wn_fl_word *a = &w->v[i + k], *b = &w->v[j + k];
		if (a->len != b->len || memcmp(w->text + a->off, w->text + b->off, a->len) != 0)
			return 0;
	}
	return 1;
}

/* datatrove's find_top_duplicate: the most common n-gram (the first seen
 * of equals), its length joined by spaces times its count */
static uint64_t naive_top(const struct naive_words *w, size_t n)
{
	uint64_t best = 0, best_value = 0;
	for (size_t i = 0; i + n <= w->n; i++) {
		size_t j = 0;
		while (j < i && !naive_same(w, j, i, n))
			j++;
		if (j < i)
			continue; /* counted at its first occurrence */
		uint64_t count = 0, cps = n - 1;
		for (size_t k = i; k + n <= w->n; k++)
			count += naive_same(w, i, k, n);
		for (size_t k = 0; k < n; k++)
			cps += w->v[i + k].cps;
		if (count > best) {
			best = count;
			best_value = cps * count;
		}
	}
	return best_value;
}

/* datatrove's find_all_duplicate; flat holds the words joined with
 * nothing, word i from at[i] */
static uint64_t naive_dup(const struct naive_words *w, size_t n, const char *flat,
                          const size_t *at)
{
	uint64_t chars = 0;
	size_t *seen = malloc((w->n + 1) * sizeof(*seen)), nseen = 0;
	ck_assert_ptr_nonnull(seen);
	size_t i = 0;
	while (i + n <= w->n) {
		size_t len = at[i + n] - at[i], k;
		for (k = 0; k < nseen; k++)
			if (at[seen[k] + n] - at[seen[k]] == len &&
			    memcmp(flat + at[seen[k]], flat + at[i], len) == 0)
				break;
		if (k < nseen) {
			for (size_t m = 0; m < n; m++)
				chars += w->v[i + m].cps;
			i += n;
		} else {
			seen[nseen++] = i;
			i++;
		}
	}
	free(seen);
	return chars;
}

static void check_against_naive(const struct wn_fl_gopher_repetition *p, const char *text)
{
	repetition(p, text);
	struct naive_words w = { text, S.words.v, S.words.n };
	double chars = (double)wn_fl_count_cps(text, strlen(text));
	char *flat = malloc(strlen(text) + 1);
	size_t *at = malloc((w.n + 1) * sizeof(*at));
	ck_assert(flat && at);
	at[0] = 0;
	for (size_t i = 0; i < w.n; i++) {
		memcpy(flat + at[i], text + w.v[i].off, w.v[i].len);
		at[i + 1] = at[i] + w.v[i].len;
	}
	static const char *const top[] = { "gopher_top_2_gram", "gopher_top_3_gram",
		                           "gopher_top_4_gram" };
	for (size_t n = 2; n <= 4; n++) {
		const struct wn_fl_measure *m = measure(top[n - 2]);
		if (w.n < n) {
			ck_assert_int_eq(m->kind, WN_FL_NONE);
			continue;
		}
		ck_assert_msg(m->kind == WN_FL_REAL && m->value == (double)naive_top(&w, n) / chars,
		              "%s: %g, expected %g in %s", top[n - 2], m->value,
		              (double)naive_top(&w, n) / chars, text);
	}
	static const char *const dup[] = {
		"gopher_duplicated_5_n_grams", "gopher_duplicated_6_n_grams",
		"gopher_duplicated_7_n_grams", "gopher_duplicated_8_n_grams",
		"gopher_duplicated_9_n_grams", "gopher_duplicated_10_n_grams",
	};
	for (size_t n = 5; n <= 10; n++) {
		const struct wn_fl_measure *m = measure(dup[n - 5]);
		if (chars == 0) {
			ck_assert_int_eq(m->kind, WN_FL_NONE);
			continue;
		}
		double want = (double)naive_dup(&w, n, flat, at) / chars;
		ck_assert_msg(m->value == want, "%s: %g, expected %g in %s", dup[n - 5], m->value,
		              want, text);
	}
	free(flat);
	free(at);
}

/* Random texts of words that run into each other when joined ("a" "bc",
 * "ab" "c"), of every length from none to thousands of words, one after
 * another in the same scratch space: the n-gram tables, their filters
 * and the candidates give the plain implementation's numbers. */
START_TEST(repetition_matches_naive)
{
	static const char *const pieces[] = {
		"a", "b", "ab", "ba", "abc", "c", "bc", "ca", "bca", "aaaaaaaaaaaaaaaa",
		"aaaaaaaaaaaaaaaab", "abcdefghijklmnopq", ",", ".", "'s", "\xC3\xA9", "a\xC3\xA9",
		"the", "of", "and", "\xE4\xBD\xA0\xE5\xA5\xBD",
	};
	static const char *const gaps[] = { " ", " ", " ", " ", "\n", "  ", "\n\n", "" };
	struct wn_fl_gopher_repetition p;
	wn_fl_gopher_repetition_defaults(&p);
	uint64_t seed = 42;
	size_t cap = 1 << 16;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
#define NEXT() (seed = seed * 6364136223846793005ull + 1442695040888963407ull, seed >> 33)
	for (int round = 0; round < 600; round++) {
		/* mostly short texts; now and then a long one, then short again */
		size_t words = round % 50 == 7 ? 1000 + NEXT() % 600 : NEXT() % (round % 3 ? 40 : 400);
		size_t vocab = 2 + NEXT() % (sizeof(pieces) / sizeof(pieces[0]) - 2), n = 0;
		for (size_t i = 0; i < words && n + 64 < cap; i++) {
			const char *w = pieces[NEXT() % vocab], *g = gaps[NEXT() % 8];
			memcpy(text + n, w, strlen(w));
			n += strlen(w);
			memcpy(text + n, g, strlen(g));
			n += strlen(g);
		}
		text[n] = '\0';
		check_against_naive(&p, text);
	}
#undef NEXT
	free(text);
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

/* ---- the n-gram table ----------------------------------------------------------------------- */

START_TEST(keys_add_and_find)
{
	struct wn_fl_keys t = { 0 };
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 100), WN_OK);
	for (uint32_t i = 0; i < 100; i++) {
		int added;
		ck_assert_uint_eq(wn_fl_keys_add(&t, i, (uint64_t)i << 40, 1000 + i, &added), 1000 + i);
		ck_assert(added);
	}
	for (uint32_t i = 0; i < 100; i++) {
		int added;
		/* present: its value, whatever value is offered */
		ck_assert_uint_eq(wn_fl_keys_add(&t, i, (uint64_t)i << 40, 7, &added), 1000 + i);
		ck_assert(!added);
		/* keys differing in a or in b alone are other keys */
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, i, (uint64_t)(i + 1) << 40)));
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, i + 1000, (uint64_t)i << 40)));
	}
	/* a new use empties it */
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 100), WN_OK);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, i, (uint64_t)i << 40)));
	wn_fl_keys_release(&t);
}
END_TEST

/* Keys that start at the same slot, the last one, so that probing wraps
 * around to the first. */
START_TEST(keys_collide)
{
	struct wn_fl_keys t = { 0 };
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 20), WN_OK);
	uint64_t keys[12];
	size_t n = 0;
	for (uint64_t a = 1; n < 12; a++)
		if (wn_fl_keys_home(&t, a, 5) == t.mask)
			keys[n++] = a;
	for (size_t i = 0; i < n; i++) {
		int added;
		ck_assert_uint_eq(wn_fl_keys_add(&t, keys[i], 5, (uint32_t)i, &added), i);
		ck_assert(added);
	}
	for (size_t i = 0; i < n; i++) {
		struct wn_fl_kslot *s = wn_fl_keys_find(&t, keys[i], 5);
		ck_assert(wn_fl_keys_used(&t, s));
		ck_assert_uint_eq(s->val, i);
		ck_assert_uint_eq((size_t)(s - t.slot), (t.mask + i) & t.mask);
	}
	/* a key that is a hash: several entries, walked with _next */
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 20), WN_OK);
	struct wn_fl_kslot *s = wn_fl_keys_find(&t, 99, 3);
	for (uint32_t v = 0; v < 3; v++) {
		ck_assert(!wn_fl_keys_used(&t, s));
		wn_fl_keys_set(&t, s, 99, 3, v);
		/* another key in between */
		int added;
		wn_fl_keys_add(&t, 1000 + v, 3, 50, &added);
		s = wn_fl_keys_find(&t, 99, 3);
		for (uint32_t k = 0; k <= v; k++) {
			ck_assert(wn_fl_keys_used(&t, s));
			ck_assert_uint_eq(s->val, k);
			s = wn_fl_keys_next(&t, s, 99, 3);
		}
	}
	ck_assert(!wn_fl_keys_used(&t, s));
	wn_fl_keys_release(&t);
}
END_TEST

/* Growing, shrinking (a small text after a large one uses the first
 * slots), and the stamp wrapping around. */
START_TEST(keys_grow_and_clear)
{
	struct wn_fl_keys t = { 0 };
	int added;
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 10), WN_OK);
	for (uint32_t i = 0; i < 10; i++)
		wn_fl_keys_add(&t, i, 0, i, &added);
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 50000), WN_OK);
	ck_assert_uint_ge(t.mask + 1, 100000);
	for (uint32_t i = 0; i < 10; i++)
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, i, 0)));
	for (uint32_t i = 0; i < 50000; i++)
		ck_assert_uint_eq(wn_fl_keys_add(&t, (uint64_t)i * 0x10001, ~(uint64_t)i, i, &added), i);
	for (uint32_t i = 0; i < 50000; i++)
		ck_assert_uint_eq(wn_fl_keys_find(&t, (uint64_t)i * 0x10001, ~(uint64_t)i)->val, i);
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 10), WN_OK);
	ck_assert_uint_eq(t.mask, 63);
	for (uint32_t i = 0; i < 50000; i++)
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, (uint64_t)i * 0x10001, ~(uint64_t)i)));
	/* the stamp wraps: every slot is emptied for real */
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 50000), WN_OK);
	for (uint32_t i = 0; i < 1000; i++)
		wn_fl_keys_add(&t, i, 1, i, &added);
	/* as if half were added under the last stamp, half under stamp 1,
	 * the one that comes next */
	for (size_t i = 0; i <= t.mask; i++)
		if (t.slot[i].stamp == t.stamp)
			t.slot[i].stamp = t.slot[i].val % 2 ? 1 : UINT32_MAX;
	t.stamp = UINT32_MAX;
	ck_assert_int_eq(wn_fl_keys_reserve(&t, 50000), WN_OK);
	ck_assert_uint_eq(t.stamp, 1);
	for (uint32_t i = 0; i < 1000; i++)
		ck_assert(!wn_fl_keys_used(&t, wn_fl_keys_find(&t, i, 1)));
	wn_fl_keys_release(&t);
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

/* The words C4 leaves are those of the lines it keeps: FineWeb counts
 * them without splitting the new text again. */
START_TEST(c4_counts_the_words_it_keeps)
{
	static const char *const texts[] = {
		"  First line has words.  \nno end\nIt was so.[1] And then.[citation needed]\n"
		"Yes [1] [2].\nfoo[1]bar is one word now.\n\n\t  A last\xC2\xA0line, here.  ",
		"One is here. Two is here! Three is here? Four is here. Five is here.",
		"", "\n\n", "no line ends well", "Ends well.\r\nAnd again.\x1c" "Third one.",
	};
	struct wn_fl_c4 p;
	wn_fl_c4_defaults(&p);
	struct wn_fl_words words;
	wn_fl_words_init(&words);
	for (int sentences = 0; sentences < 2; sentences++) {
		p.min_sentences.on = sentences;
		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			c4(&p, texts[i]);
			words.n = 0;
			ck_assert_int_eq(wn_fl_split_words(S.text.data ? S.text.data : "", S.text.len,
			                                   &words), WN_OK);
			ck_assert_msg(S.c4_words == words.n, "%zu words, %zu in '%s'", S.c4_words,
			              words.n, c4_text());
		}
	}
	wn_fl_words_release(&words);
}
END_TEST

/* Each phrase in any case, at every offset of the 16-byte blocks the
 * search works in and at the very end of the text. */
START_TEST(c4_phrases_anywhere)
{
	static const char *const phrases[] = {
		"lorem ipsum", "javascript", "terms of use", "privacy policy", "cookie policy",
		"uses cookies", "use of cookies", "use cookies",
	};
	struct wn_fl_c4 p;
	wn_fl_c4_defaults(&p);
	p.min_sentences.on = 0;
	char text[256], upper[32];
	for (size_t k = 0; k < sizeof(phrases) / sizeof(phrases[0]); k++) {
		size_t len = strlen(phrases[k]);
		for (size_t off = 0; off < 40; off++) {
			/* the case of every other letter flipped, in turn */
			for (size_t i = 0; i <= len; i++)
				upper[i] = (char)((i + off) % 2 && phrases[k][i] >= 'a' ? phrases[k][i] - 32
				                                                       : phrases[k][i]);
			int last = off % 3 == 0;
			snprintf(text, sizeof(text), "Kept line stays.\nSome words %.*s%s ends.%s", (int)off,
			         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", upper,
			         last ? "" : "\nAnother kept line.");
			int st = c4(&p, text);
			if (k == 0) {
				ck_assert_int_eq(st, 0);
				ck_assert_str_eq(R.failed, "c4_lorem_ipsum");
				continue;
			}
			ck_assert_int_eq(st, 1);
			ck_assert_str_eq(c4_text(), last ? "Kept line stays."
			                                 : "Kept line stays.\nAnother kept line.");
		}
	}
	/* not a phrase: a letter missing, or other bytes in the middle */
	ck_assert_int_eq(c4(&p, "javascrip and privacy-policy and cookies policy.\n"), 1);
	ck_assert_str_eq(c4_text(), "javascrip and privacy-policy and cookies policy.");
	/* the Kelvin sign anywhere makes every line lowercase the long way */
	ck_assert_int_eq(c4(&p, "\xE2\x84\xAA is fine here.\nJavaScript is not.\nAnd this is."), 1);
	ck_assert_str_eq(c4_text(), "\xE2\x84\xAA is fine here.\nAnd this is.");
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
	/* characters, not bytes: 30 four-byte characters are short, 31 not;
	 * 30 two-byte ones too */
	char *emoji = repeat("\xF0\x9F\x98\x80", 30), *more = repeat("\xF0\x9F\x98\x80", 31);
	char *cyr = repeat("\xD0\xB4", 30), *lines = repeat("A plain line of text long enough.\n", 1);
	lines = cat(cat(cat(cat(cat(lines, emoji), "\n"), more), "\n"), cyr);
	fineweb(&p, lines);
	expect("fineweb_short_line_ratio", 1, 2.0 / 4);
	free(emoji);
	free(more);
	free(cyr);
	free(lines);
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

/* ---- stage statistics -------------------------------------------------------------------- */

/* Every rule of the rule sets can be a drop reason of its own. */
START_TEST(stats_hold_every_reason)
{
	static char names[WN_STATS_MAX_REASONS + 2][16];
	struct wn_stage_stats st;
	memset(&st, 0, sizeof(st));
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < WN_STATS_MAX_REASONS; i++) {
			snprintf(names[i], sizeof(names[i]), "rule_%d", i);
			wn_stats_drop(&st, names[i]);
		}
	ck_assert_uint_eq(st.nreasons, WN_STATS_MAX_REASONS);
	ck_assert_uint_eq(st.dropped, 2 * WN_STATS_MAX_REASONS);
	for (int i = 0; i < WN_STATS_MAX_REASONS; i++) {
		ck_assert_str_eq(st.reasons[i], names[i]);
		ck_assert_uint_eq(st.reason_count[i], 2);
	}
	/* past the limit, further reasons are counted together */
	strcpy(names[WN_STATS_MAX_REASONS], "one_more");
	strcpy(names[WN_STATS_MAX_REASONS + 1], "and_another");
	wn_stats_drop(&st, names[WN_STATS_MAX_REASONS]);
	wn_stats_drop(&st, names[WN_STATS_MAX_REASONS + 1]);
	ck_assert_uint_eq(st.nreasons, WN_STATS_MAX_REASONS);
	ck_assert_str_eq(st.reasons[WN_STATS_MAX_REASONS - 1], "other");
	ck_assert_uint_eq(st.reason_count[WN_STATS_MAX_REASONS - 1], 4);
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
	tcase_add_test(tc, gopher_stop_word_lists);
	tcase_add_test(tc, gopher_quality_of_nothing);
	tcase_add_test(tc, repetition_paragraphs_and_lines);
	tcase_add_test(tc, repetition_top_ngrams);
	tcase_add_test(tc, repetition_duplicated_ngrams);
	tcase_add_test(tc, repetition_short_and_long_starts);
	tcase_add_test(tc, repetition_of_nothing);
	tcase_add_test(tc, c4_rewrites_to_kept_lines);
	tcase_add_test(tc, c4_document_rules);
	tcase_add_test(tc, c4_sentences);
	tcase_add_test(tc, c4_counts_the_words_it_keeps);
	tcase_add_test(tc, c4_phrases_anywhere);
	tcase_add_test(tc, fineweb_rules);
	tcase_add_test(tc, edits_keep_other_bytes);
	tcase_add_test(tc, stats_hold_every_reason);
	suite_add_tcase(s, tc);
	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, keys_add_and_find);
	tcase_add_test(tc, keys_collide);
	tcase_add_test(tc, keys_grow_and_clear);
	tcase_add_test(tc, repetition_matches_naive);
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
