/*
 * test_stats.c - src/stats: histogram buckets, quantiles (exact on small
 * inputs, within the documented bound on large ones), display bins, the
 * member walk against jansson, and the counters of records.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "stats/stats_int.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* numpy.quantile's default ("linear") on sorted values. */
static double exact_quantile(const uint64_t *v, size_t n, double q)
{
	double pos = (double)(n - 1) * q;
	size_t k = (size_t)pos;
	double f = pos - (double)k;
	if (k + 1 >= n)
		return (double)v[n - 1];
	return (double)v[k] + f * ((double)v[k + 1] - (double)v[k]);
}

static void hist_of(struct wn_hist *h, const uint64_t *v, size_t n)
{
	ck_assert_int_eq(wn_hist_init(h), WN_OK);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(wn_hist_add(h, v[i]), WN_OK);
}

#define ck_assert_close(a, b) \
	ck_assert_msg(fabs((double)(a) - (double)(b)) < 1e-9, "%.12g != %.12g", (double)(a), (double)(b))

/* ---- histograms --------------------------------------------------------------------------- */

START_TEST(buckets_tile_the_range)
{
	/* exact below WN_HIST_EXACT, then contiguous buckets at most 1/128 wide */
	for (uint64_t v = 0; v < WN_HIST_EXACT; v++) {
		ck_assert_uint_eq(wn_hist_bucket(v), v);
		ck_assert_uint_eq(wn_hist_bucket_low(v), v);
		ck_assert_uint_eq(wn_hist_bucket_high(v), v);
	}
	for (size_t i = 0; i + 1 < WN_HIST_BUCKETS; i++) {
		uint64_t lo = wn_hist_bucket_low(i), hi = wn_hist_bucket_high(i);
		ck_assert_uint_le(lo, hi);
		ck_assert_uint_eq(hi + 1, wn_hist_bucket_low(i + 1));
		ck_assert_uint_eq(wn_hist_bucket(lo), i);
		ck_assert_uint_eq(wn_hist_bucket(hi), i);
		ck_assert((double)(hi - lo + 1) <= (double)lo / WN_HIST_SUB + 1);
	}
	ck_assert_uint_eq(wn_hist_bucket(UINT64_MAX), WN_HIST_BUCKETS - 1);
	ck_assert_uint_eq(wn_hist_bucket_high(WN_HIST_BUCKETS - 1), UINT64_MAX);
	for (int k = 0; k < 100000; k++) {
		uint64_t v = rnd() >> (rnd() % 64);
		size_t i = wn_hist_bucket(v);
		ck_assert(wn_hist_bucket_low(i) <= v && v <= wn_hist_bucket_high(i));
	}
}
END_TEST

START_TEST(small_inputs_are_exact)
{
	struct wn_hist h;
	const uint64_t five[] = { 5, 1, 4, 2, 3 };
	hist_of(&h, five, 5);
	ck_assert_uint_eq(h.count, 5);
	ck_assert_uint_eq(h.sum, 15);
	ck_assert_uint_eq(h.min, 1);
	ck_assert_uint_eq(h.max, 5);
	ck_assert_close(wn_hist_mean(&h), 3);
	ck_assert_close(wn_hist_quantile(&h, 0.25), 2);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 3);
	ck_assert_close(wn_hist_quantile(&h, 0.75), 4);
	ck_assert_close(wn_hist_quantile(&h, 0), 1);
	ck_assert_close(wn_hist_quantile(&h, 1), 5);
	wn_hist_release(&h);

	/* numpy: quantile([1, 2, 3, 4], [.25, .5, .75]) = 1.75, 2.5, 3.25 */
	const uint64_t four[] = { 4, 3, 2, 1 };
	hist_of(&h, four, 4);
	ck_assert_close(wn_hist_quantile(&h, 0.25), 1.75);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 2.5);
	ck_assert_close(wn_hist_quantile(&h, 0.75), 3.25);
	ck_assert_close(wn_hist_mean(&h), 2.5);
	wn_hist_release(&h);

	/* one value, large: min = max = every quantile, exactly */
	hist_of(&h, (const uint64_t[]){ 123456789 }, 1);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 123456789);
	ck_assert_close(wn_hist_quantile(&h, 0.25), 123456789);
	wn_hist_release(&h);

	/* two large values: the ends are exact, so the median is too */
	hist_of(&h, (const uint64_t[]){ 1000003, 5000011 }, 2);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 3000007);
	wn_hist_release(&h);

	/* zeros (empty documents) */
	hist_of(&h, (const uint64_t[]){ 0, 0, 0, 7 }, 4);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 0);
	ck_assert_close(wn_hist_quantile(&h, 0.75), 1.75);
	wn_hist_release(&h);
}
END_TEST

START_TEST(empty_histogram)
{
	struct wn_hist h;
	ck_assert_int_eq(wn_hist_init(&h), WN_OK);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_close(wn_hist_mean(&h), 0);
	ck_assert_close(wn_hist_quantile(&h, 0.5), 0);
	struct wn_hist_bin bins[WN_HIST_MAX_BINS];
	ck_assert_uint_eq(wn_hist_bins(&h, 16, bins), 0);
	/* merging an empty one changes nothing; reset empties */
	struct wn_hist g;
	hist_of(&g, (const uint64_t[]){ 9, 300 }, 2);
	ck_assert_int_eq(wn_hist_merge(&g, &h), WN_OK);
	ck_assert_uint_eq(g.count, 2);
	ck_assert_uint_eq(g.min, 9);
	ck_assert_int_eq(wn_hist_merge(&h, &g), WN_OK);
	ck_assert_uint_eq(h.count, 2);
	ck_assert_uint_eq(h.min, 9);
	ck_assert_uint_eq(h.max, 300);
	wn_hist_reset(&h);
	ck_assert_uint_eq(h.count, 0);
	for (size_t i = 0; i < h.nbuckets; i++)
		ck_assert_uint_eq(h.bucket[i], 0);
	wn_hist_release(&h);
	wn_hist_release(&g);
}
END_TEST

/* Quantiles of large inputs within 1/(2 WN_HIST_SUB) of numpy's; min, max
 * and mean exact; merging the halves gives the same histogram. */
START_TEST(large_inputs_within_bound)
{
	size_t n = 200001;
	uint64_t *v = malloc(n * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	for (int shape = 0; shape < 3; shape++) {
		struct wn_hist h, a, b;
		ck_assert_int_eq(wn_hist_init(&a), WN_OK);
		ck_assert_int_eq(wn_hist_init(&b), WN_OK);
		unsigned __int128 sum = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t x;
			if (shape == 0) /* log-uniform over 1 .. 2^30, like document lengths */
				x = (rnd() >> 34) >> (rnd() % 31);
			else if (shape == 1) /* narrow, around 5000 */
				x = 4900 + rnd() % 200;
			else /* wide and huge */
				x = rnd() >> (rnd() % 8);
			v[i] = x;
			sum += x;
			ck_assert_int_eq(wn_hist_add(i % 2 ? &a : &b, x), WN_OK);
		}
		hist_of(&h, v, n);
		qsort(v, n, sizeof(*v), u64_cmp);
		ck_assert_uint_eq(h.min, v[0]);
		ck_assert_uint_eq(h.max, v[n - 1]);
		if (shape < 2) {
			ck_assert(sum == h.sum);
			ck_assert_close(wn_hist_mean(&h), (double)sum / (double)n);
		}
		const double qs[] = { 0.01, 0.25, 0.5, 0.75, 0.9, 0.99 };
		for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
			double want = exact_quantile(v, n, qs[k]), got = wn_hist_quantile(&h, qs[k]);
			ck_assert_msg(fabs(got - want) <= want / (2.0 * WN_HIST_SUB) + 1e-9 * want + 1e-9,
			              "shape %d q %g: %.17g vs exact %.17g", shape, qs[k], got, want);
		}
		ck_assert_int_eq(wn_hist_merge(&a, &b), WN_OK);
		ck_assert_uint_eq(a.count, h.count);
		ck_assert_uint_eq(a.sum, h.sum);
		ck_assert_uint_eq(a.min, h.min);
		ck_assert_uint_eq(a.max, h.max);
		ck_assert_uint_eq(a.nbuckets, h.nbuckets);
		ck_assert_int_eq(memcmp(a.bucket, h.bucket, h.nbuckets * sizeof(uint64_t)), 0);
		wn_hist_release(&h);
		wn_hist_release(&a);
		wn_hist_release(&b);
	}
	free(v);
}
END_TEST

START_TEST(bins_are_exact)
{
	struct wn_hist h;
	struct wn_hist_bin bins[WN_HIST_MAX_BINS];
	const uint64_t ten[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	hist_of(&h, ten, 10);
	/* the finest scale: 0 1 2 3 4 5 6 7 8 10 */
	ck_assert_uint_eq(wn_hist_bins(&h, 16, bins), 9);
	ck_assert_uint_eq(bins[8].lo, 8);
	ck_assert_uint_eq(bins[8].hi, 10);
	ck_assert_uint_eq(bins[8].count, 2);
	for (int i = 0; i < 8; i++) {
		ck_assert_uint_eq(bins[i].lo, (uint64_t)i);
		ck_assert_uint_eq(bins[i].count, 1);
	}
	/* at most 4: powers of 4, [0,1) [1,4) [4,16) */
	ck_assert_uint_eq(wn_hist_bins(&h, 4, bins), 3);
	ck_assert_uint_eq(bins[1].lo, 1);
	ck_assert_uint_eq(bins[1].hi, 4);
	ck_assert_uint_eq(bins[1].count, 3);
	ck_assert_uint_eq(bins[2].hi, 16);
	ck_assert_uint_eq(bins[2].count, 6);
	wn_hist_release(&h);

	/* random wide values: bins in order, contiguous, counts exact */
	uint64_t v[5000];
	for (size_t i = 0; i < 5000; i++)
		v[i] = 100 + ((rnd() >> 20) >> (rnd() % 40));
	hist_of(&h, v, 5000);
	for (size_t maxbins = 4; maxbins <= WN_HIST_MAX_BINS; maxbins *= 2) {
		size_t n = wn_hist_bins(&h, maxbins, bins);
		ck_assert_uint_ge(n, 1);
		ck_assert_uint_le(n, maxbins);
		ck_assert_uint_le(bins[0].lo, h.min);
		ck_assert(bins[n - 1].hi == 0 || bins[n - 1].hi > h.max);
		uint64_t total = 0;
		for (size_t b = 0; b < n; b++) {
			uint64_t want = 0;
			for (size_t i = 0; i < 5000; i++)
				want += v[i] >= bins[b].lo && (bins[b].hi == 0 || v[i] < bins[b].hi);
			ck_assert_uint_eq(bins[b].count, want);
			if (b + 1 < n)
				ck_assert_uint_eq(bins[b].hi, bins[b + 1].lo);
			total += bins[b].count;
		}
		ck_assert_uint_eq(total, 5000);
	}
	wn_hist_release(&h);

	/* the top of the range */
	hist_of(&h, (const uint64_t[]){ UINT64_MAX, 1 }, 2);
	size_t n = wn_hist_bins(&h, 8, bins);
	ck_assert_uint_eq(bins[n - 1].hi, 0);
	ck_assert_uint_eq(bins[n - 1].count, 1);
	ck_assert_uint_eq(bins[0].count, 1);
	wn_hist_release(&h);
}
END_TEST

/* ---- the member walk --------------------------------------------------------------------------- */

/* The keys of the walk, decoded, joined by '\n', and the last value of
 * each compared with jansson's. */
static void check_walk(const char *text)
{
	size_t n = strlen(text);
	ck_assert_msg(wn_json_validate(text, n, NULL, NULL) == 0, "invalid test input: %s", text);
	json_error_t je;
	json_t *o = json_loadb(text, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	ck_assert_ptr_nonnull(o);
	struct wn_st_iter it;
	struct wn_st_member m;
	ck_assert_int_eq(wn_st_iter_init(&it, text, n), json_is_object(o));
	size_t seen = 0;
	struct wn_buf k = WN_BUF_INIT;
	while (wn_st_iter_next(&it, &m)) {
		wn_buf_reset(&k);
		ck_assert_int_eq(wn_json_unescape(text + m.key_off - 1, m.key_len + 2, &k), WN_OK);
		json_t *want = json_object_get(o, k.data ? k.data : "");
		ck_assert_msg(want != NULL, "key '%s' not in jansson's object: %s", k.data, text);
		/* the value, when this is the last occurrence of the key */
		int last = 1;
		struct wn_st_iter it2 = it;
		struct wn_st_member m2;
		struct wn_buf k2 = WN_BUF_INIT;
		while (wn_st_iter_next(&it2, &m2)) {
			wn_buf_reset(&k2);
			wn_json_unescape(text + m2.key_off - 1, m2.key_len + 2, &k2);
			if (k2.len == k.len && memcmp(k2.data, k.data, k.len) == 0)
				last = 0;
		}
		wn_buf_release(&k2);
		if (last) {
			seen++;
			json_t *got = json_loadb(text + m.val.offset, m.val.len,
			                         JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
			ck_assert_msg(got && json_equal(got, want), "value of '%s' differs: %.*s", k.data,
			              (int)m.val.len, text + m.val.offset);
			ck_assert_int_eq(m.val.escaped, memchr(text + m.val.offset, '\\', m.val.len) != NULL &&
			                 m.val.type == WN_JSON_STRING);
			if (json_is_array(want))
				ck_assert_uint_eq(wn_st_array_len(text + m.val.offset, m.val.len),
				                  json_array_size(want));
			json_decref(got);
		}
	}
	wn_buf_release(&k);
	ck_assert_uint_eq(seen, json_is_object(o) ? json_object_size(o) : 0);
	json_decref(o);
}

START_TEST(walk_agrees_with_jansson)
{
	const char *cases[] = {
		"{}",
		" { } ",
		"{\"text\":\"a\"}",
		"{\"a\":1,\"b\":[1,2,{\"c\":\"]}\"}],\"d\":{\"e\":null},\"f\":true,\"g\":false,\"h\":-1.5e3}",
		"{\"t\\u0065xt\":\"x\\\"y\\\\\",\"q\":\"\\\\\\\"\",\"r\":\"\\\\\"}",
		"{\"k\":1,\"k\":2,\"k\":\"three\"}",
		"{ \"a\" : [ ] , \"b\" : { } , \"c\" : [ [ ], [1] ] }",
		"{\"ids\":[1,2,3,4,5,6,7,8,9,10],\"e\":[]}",
		"{\"\\u00e9t\\u00e9\":\"\\ud83d\\ude00\",\"\":0}",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_walk(cases[i]);
	/* "n":1 followed by a NUL: strlen stops there, so test it with its length */
	const char nul[] = "{\"n\":1\0,\"m\":true}";
	ck_assert_int_eq(wn_json_validate(nul, sizeof(nul) - 1, NULL, NULL), 0);
	struct wn_st_iter it;
	struct wn_st_member m;
	wn_st_iter_init(&it, nul, sizeof(nul) - 1);
	int keys = 0;
	while (wn_st_iter_next(&it, &m))
		keys++;
	ck_assert_int_eq(keys, 2);
	ck_assert_int_eq(wn_st_iter_init(&it, "[1,2]", 5), 0);
	ck_assert_uint_eq(wn_st_array_len(" [ ] ", 5), 0);
	ck_assert_uint_eq(wn_st_array_len("[\"a,b\",[1,2],{\"x\":[3]}]", 23), 3);
}
END_TEST

/* Random objects written by jansson in several styles: the walk finds
 * the same keys and values. */
static json_t *random_value(int depth)
{
	static const char *const words[] = { "text", "id", "a\"b", "c\\d", "\xc3\xa9", "tab\t",
	                                     "]}", "", "x y", "\xf0\x9f\x98\x80", "nl\n" };
	size_t nw = sizeof(words) / sizeof(words[0]);
	switch (depth > 3 ? rnd() % 5 : rnd() % 7) {
	case 0:
		return json_integer((json_int_t)(rnd() % 100000) - 500);
	case 1:
		return json_real((double)(rnd() % 1000) / 7.0);
	case 2:
		return json_string(words[rnd() % nw]);
	case 3:
		return rnd() % 2 ? json_true() : json_null();
	case 4:
		return json_false();
	case 5: {
		json_t *a = json_array();
		for (uint64_t i = rnd() % 5; i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (uint64_t i = rnd() % 6; i > 0; i--)
			json_object_set_new(o, words[rnd() % nw], random_value(depth + 1));
		return o;
	}
	}
}

START_TEST(walk_agrees_on_random_objects)
{
	for (int i = 0; i < 2000; i++) {
		json_t *o = json_object();
		for (uint64_t k = rnd() % 8; k > 0; k--) {
			char key[16];
			snprintf(key, sizeof(key), "k%d", (int)(rnd() % 6));
			json_object_set_new(o, rnd() % 3 ? key : "te\"xt", random_value(1));
		}
		size_t flags = i % 3 == 0 ? JSON_COMPACT : i % 3 == 1 ? JSON_INDENT(1) : JSON_ENSURE_ASCII;
		char *s = json_dumps(o, flags);
		ck_assert_ptr_nonnull(s);
		/* JSON_INDENT puts newlines in: fine for the walk */
		check_walk(s);
		free(s);
		json_decref(o);
	}
}
END_TEST

/* ---- counters ------------------------------------------------------------------------------------- */

static struct wn_stats *collector(size_t max_fields, unsigned threads)
{
	struct wn_stats_opts o;
	memset(&o, 0, sizeof(o));
	o.max_fields = max_fields;
	o.threads = threads;
	struct wn_stats *s;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_stats_new(&s, &o, &err), WN_OK);
	return s;
}

static void add(struct wn_stats *s, const char *split, const char *rec)
{
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_msg(wn_json_validate(rec, strlen(rec), NULL, NULL) == 0, "invalid: %s", rec);
	ck_assert_int_eq(wn_stats_add(s, split, rec, strlen(rec), &err), WN_OK);
}

static const struct wn_stats_count *find(const struct wn_stats_count *v, size_t n,
                                         const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

START_TEST(counts_of_records)
{
	struct wn_stats *s = collector(0, 1);
	const char *recs[] = {
		"{\"id\":\"a\",\"text\":\"one two, three.\\nfour\",\"metadata\":{\"language\":\"en\",\"url\":\"u\"}}",
		"{\"text\":\"\",\"metadata\":{\"language\":\"en\"},\"input_ids\":[1,2,3]}",
		"{\"id\":\"c\",\"text\":\"\\u00e9t\\u00e9 \\u65e5\\u672c\",\"metadata\":{\"language\":\"fr\"}}",
		"{\"id\":\"d\",\"body\":\"no text\",\"id\":\"again\",\"input_ids\":[]}",
		"{\"t\\u0065xt\":5,\"metadata\":null}",
	};
	for (size_t i = 0; i < 5; i++)
		add(s, NULL, recs[i]);
	struct wn_stats_report rep;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_stats_report(s, &rep, &err), WN_OK);
	const struct wn_stats_scope *t = &rep.total;
	ck_assert_uint_eq(t->records, 5);
	uint64_t bytes = 0;
	for (size_t i = 0; i < 5; i++)
		bytes += strlen(recs[i]) + 1;
	ck_assert_uint_eq(t->bytes, bytes);
	/* texts: "one two, three.\nfour" (20 code points, 2 lines), "" and
	 * "été 日本" (6 code points, 12 bytes); the 4th has none, the 5th's
	 * is a number */
	ck_assert_uint_eq(t->no_text, 2);
	ck_assert_uint_eq(t->chars, 20 + 0 + 6);
	ck_assert_uint_eq(t->text_bytes, 20 + 0 + 12);
	ck_assert_uint_eq(t->lines, 2 + 0 + 1);
	uint64_t w1, w3;
	struct wn_fl_words scratch;
	wn_fl_words_init(&scratch);
	wn_fl_count_words("one two, three.\nfour", 20, &w1, &scratch);
	wn_fl_count_words("\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", 12, &w3, &scratch);
	wn_fl_words_release(&scratch);
	ck_assert_uint_eq(w1, 4); /* punctuation is not counted, as in filter --min-words */
	ck_assert_uint_eq(t->words, w1 + w3);
	ck_assert_uint_eq(t->chars_hist.count, 3);
	ck_assert_uint_eq(t->chars_hist.min, 0);
	ck_assert_uint_eq(t->chars_hist.max, 20);
	ck_assert_uint_eq(t->tokens, 3);
	ck_assert_uint_eq(t->with_tokens, 2);
	ck_assert_uint_eq(t->tokens_hist.min, 0);
	ck_assert_uint_eq(t->tokens_hist.max, 3);
	/* fields: a repeated key counts once per record; escaped keys decoded */
	ck_assert_uint_eq(find(t->fields, t->nfields, "id")->records, 3);
	ck_assert_uint_eq(find(t->fields, t->nfields, "text")->records, 4);
	ck_assert_uint_eq(find(t->fields, t->nfields, "metadata")->records, 4);
	ck_assert_uint_eq(find(t->fields, t->nfields, "metadata.language")->records, 3);
	ck_assert_uint_eq(find(t->fields, t->nfields, "metadata.url")->records, 1);
	ck_assert_uint_eq(find(t->fields, t->nfields, "input_ids")->records, 2);
	ck_assert_uint_eq(find(t->fields, t->nfields, "body")->records, 1);
	ck_assert_uint_eq(t->nfields, 7);
	/* most frequent first, then by name */
	ck_assert_str_eq(t->fields[0].name, "metadata");
	ck_assert_str_eq(t->fields[1].name, "text");
	ck_assert_str_eq(t->fields[2].name, "id");
	ck_assert_str_eq(t->fields[3].name, "metadata.language");
	ck_assert_uint_eq(t->fields_untracked, 0);
	/* languages, with their characters */
	ck_assert_uint_eq(t->nlanguages, 2);
	ck_assert_str_eq(t->languages[0].name, "en");
	ck_assert_uint_eq(t->languages[0].records, 2);
	ck_assert_uint_eq(t->languages[0].chars, 20);
	ck_assert_str_eq(t->languages[1].name, "fr");
	ck_assert_uint_eq(t->languages[1].chars, 6);
	ck_assert_uint_eq(rep.nsplits, 0);

	/* the JSON has every key, with the same numbers */
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_stats_report_json(&rep, &b), WN_OK);
	json_error_t je;
	json_t *j = json_loadb(b.data, b.len, 0, &je);
	ck_assert_msg(j != NULL, "report JSON: %s: %s", je.text, b.data);
	ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "winnow-stats");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "records")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "characters")), 26);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "tokens")), 3);
	json_t *d = json_object_get(j, "characters_per_record");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "count")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(d, "median")), 6);
	ck_assert_int_eq(json_integer_value(
		json_object_get(json_object_get(json_object_get(j, "languages"), "en"), "records")), 2);
	ck_assert_int_eq(json_integer_value(
		json_object_get(json_object_get(j, "fields"), "metadata.language")), 3);
	json_decref(j);
	wn_buf_release(&b);
	wn_stats_report_release(&rep);
	wn_stats_free(s);
}
END_TEST

START_TEST(splits_and_caps)
{
	struct wn_stats *s = collector(3, 1);
	add(s, "train", "{\"text\":\"a b\",\"f1\":1}");
	add(s, "train", "{\"text\":\"a b c\",\"f2\":1}");
	add(s, "validation", "{\"text\":\"a\",\"f3\":1,\"f4\":2}");
	add(s, NULL, "{\"text\":\"x\"}");
	struct wn_stats_report rep;
	struct wn_error err;
	wn_error_clear(&err);
	ck_assert_int_eq(wn_stats_report(s, &rep, &err), WN_OK);
	ck_assert_uint_eq(rep.total.records, 4);
	ck_assert_uint_eq(rep.nsplits, 2);
	ck_assert_str_eq(rep.splits[0].name, "train");
	ck_assert_uint_eq(rep.splits[0].records, 2);
	ck_assert_uint_eq(rep.splits[0].words, 5);
	ck_assert_str_eq(rep.splits[1].name, "validation");
	ck_assert_uint_eq(rep.splits[1].words, 1);
	/* three names tracked (text, f1, f2 in train), the rest counted apart */
	ck_assert_uint_eq(rep.splits[0].nfields, 3);
	ck_assert_uint_eq(rep.splits[0].fields_untracked, 0);
	ck_assert_uint_eq(rep.total.nfields, 3);
	ck_assert_uint_eq(rep.total.fields_untracked, 2);
	ck_assert_uint_eq(find(rep.total.fields, 3, "text")->records, 4);
	wn_stats_report_release(&rep);
	wn_stats_free(s);

	/* an empty collector reports zeros */
	s = collector(0, 1);
	ck_assert_int_eq(wn_stats_report(s, &rep, &err), WN_OK);
	ck_assert_uint_eq(rep.total.records, 0);
	ck_assert_uint_eq(rep.total.chars_hist.count, 0);
	struct wn_buf b = WN_BUF_INIT;
	ck_assert_int_eq(wn_stats_report_json(&rep, &b), WN_OK);
	json_t *j = json_loadb(b.data, b.len, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_null(json_object_get(json_object_get(j, "words_per_record"), "median")));
	json_decref(j);
	wn_buf_release(&b);
	wn_stats_report_release(&rep);
	wn_stats_free(s);
}
END_TEST

/* The same file read with 1 and 3 threads gives the same report, also
 * when names overflow the table; a bad line is an error naming it. */
START_TEST(threads_do_not_change_the_report)
{
	char path[] = "/tmp/test_stats.XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	for (int i = 0; i < 30000; i++) {
		fprintf(f, "{\"text\":\"");
		for (uint64_t w = rnd() % 300; w > 0; w--)
			fprintf(f, "w%d%s", (int)(rnd() % 50), rnd() % 9 ? " " : ".\\n");
		fprintf(f, "\",\"f%d\":1,\"metadata\":{\"language\":\"l%d\"}}\n", (int)(rnd() % 40),
		        (int)(rnd() % 7));
	}
	fclose(f);
	char *json[2];
	for (int k = 0; k < 2; k++) {
		struct wn_stats *s = collector(20, k ? 3 : 1);
		struct wn_error err;
		wn_error_clear(&err);
		char *args[] = { path };
		ck_assert_int_eq(wn_stats_read(s, args, 1, &err), WN_OK);
		struct wn_stats_report rep;
		ck_assert_int_eq(wn_stats_report(s, &rep, &err), WN_OK);
		ck_assert_uint_eq(rep.total.records, 30000);
		ck_assert_uint_eq(rep.inputs, 1);
		ck_assert_uint_gt(rep.total.fields_untracked, 0);
		struct wn_buf b = WN_BUF_INIT;
		ck_assert_int_eq(wn_stats_report_json(&rep, &b), WN_OK);
		json[k] = wn_buf_detach(&b, NULL);
		wn_stats_report_release(&rep);
		wn_stats_free(s);
	}
	ck_assert_str_eq(json[0], json[1]);
	free(json[0]);
	free(json[1]);

	f = fopen(path, "w");
	fprintf(f, "{\"text\":\"a\"}\n{\"text\":\"b\",}\n");
	fclose(f);
	struct wn_stats *s = collector(0, 2);
	struct wn_error err;
	wn_error_clear(&err);
	char *args[] = { path };
	ck_assert_int_eq(wn_stats_read(s, args, 1, &err), WN_EDATA);
	char want[64];
	snprintf(want, sizeof(want), "%s:2:", path);
	ck_assert_msg(strstr(err.msg, want) != NULL, "message: %s", err.msg);
	wn_stats_free(s);
	unlink(path);
}
END_TEST

static Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, buckets_tile_the_range);
	tcase_add_test(tc, small_inputs_are_exact);
	tcase_add_test(tc, empty_histogram);
	tcase_add_test(tc, large_inputs_within_bound);
	tcase_add_test(tc, bins_are_exact);
	tcase_add_test(tc, walk_agrees_with_jansson);
	tcase_add_test(tc, walk_agrees_on_random_objects);
	tcase_add_test(tc, counts_of_records);
	tcase_add_test(tc, splits_and_caps);
	tcase_add_test(tc, threads_do_not_change_the_report);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stats_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
