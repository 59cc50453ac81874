/*
 * rules.c - what the rule sets share: the report of measurements, the
 * per-thread scratch, a small hash table, duplicate spans, and the
 * published default thresholds.
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "filter/filter.h"

void wn_fl_report_reset(struct wn_fl_report *r, int all)
{
	r->all = all;
	r->n = 0;
	r->failed = NULL;
}

int wn_fl_note(struct wn_fl_report *r, const char *rule, enum wn_fl_kind kind, double value,
               int pass)
{
	if (r->n < WN_FL_MAX_MEASURES) {
		struct wn_fl_measure *m = &r->m[r->n++];
		m->rule = rule;
		m->kind = kind;
		m->value = value;
		m->str = NULL;
		m->pass = pass;
	}
	if (!pass && !r->failed)
		r->failed = rule;
	return pass || r->all;
}

int wn_fl_note_str(struct wn_fl_report *r, const char *rule, const char *value, int pass)
{
	int go = wn_fl_note(r, rule, WN_FL_STR, 0, pass);
	if (r->n && r->m[r->n - 1].rule == rule)
		r->m[r->n - 1].str = value;
	return go;
}

int wn_fl_report_passed(const struct wn_fl_report *r, size_t from)
{
	for (size_t i = from; i < r->n; i++)
		if (!r->m[i].pass)
			return 0;
	return 1;
}

/* ---- scratch ------------------------------------------------------------------------ */

void wn_fl_scratch_init(struct wn_fl_scratch *s)
{
	memset(s, 0, sizeof(*s));
	wn_fl_words_init(&s->words);
	wn_fl_words_init(&s->line_words);
	wn_buf_init(&s->text, WN_BUF_UNLIMITED);
	wn_buf_init(&s->line, WN_BUF_UNLIMITED);
	wn_buf_init(&s->tmp, WN_BUF_UNLIMITED);
}

void wn_fl_scratch_release(struct wn_fl_scratch *s)
{
	wn_fl_words_release(&s->words);
	wn_fl_words_release(&s->line_words);
	free(s->table.slot);
	wn_fl_keys_release(&s->keys);
	free(s->hw);
	free(s->seen);
	free(s->grp);
	free(s->grp2);
	free(s->at);
	free(s->at2);
	free(s->gcnt);
	free(s->gfirst);
	free(s->bk);
	free(s->cps);
	free(s->blen);
	free(s->flat);
	free(s->hits);
	free(s->spans);
	wn_buf_release(&s->text);
	wn_buf_release(&s->line);
	wn_buf_release(&s->tmp);
	memset(s, 0, sizeof(*s));
}

int wn_fl_table_reserve(struct wn_fl_table *t, size_t n)
{
	size_t want = 64;
	while (want < 2 * n)
		want *= 2;
	if (want > t->cap) {
		struct wn_fl_slot *v = calloc(want, sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		free(t->slot);
		t->slot = v;
		t->cap = want;
		t->stamp = 0;
	}
	/* only the first `want` slots are used, so that a small text after a
	 * large one stays in cache; a new stamp empties them at once */
	t->mask = want - 1;
	if (++t->stamp == 0) {
		memset(t->slot, 0, t->cap * sizeof(*t->slot));
		t->stamp = 1;
	}
	return WN_OK;
}

struct wn_fl_slot *wn_fl_table_find(struct wn_fl_table *t, uint64_t key,
                                    int (*eq)(const void *ctx, uint32_t a, uint32_t b),
                                    const void *ctx, uint32_t item)
{
	size_t mask = t->mask;
	size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
	for (;; i = (i + 1) & mask) {
		struct wn_fl_slot *sl = &t->slot[i];
		if (sl->stamp != t->stamp)
			return sl;
		if (sl->key == key && eq(ctx, sl->first, item))
			return sl;
	}
}

int wn_fl_keys_reserve(struct wn_fl_keys *t, size_t n)
{
	size_t want = 64;
	unsigned bits = 6;
	while (want < 2 * n) {
		want *= 2;
		bits++;
	}
	if (want > t->cap) {
		struct wn_fl_kslot *v = calloc(want, sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		free(t->slot);
		t->slot = v;
		t->cap = want;
		t->stamp = 0;
	}
	/* only the first `want` slots are used, so that the table of a
	 * small text stays in cache after a large one; a new stamp empties
	 * them at once */
	t->mask = want - 1;
	t->shift = 64 - bits;
	if (++t->stamp == 0) {
		memset(t->slot, 0, t->cap * sizeof(*t->slot));
		t->stamp = 1;
	}
	return WN_OK;
}

void wn_fl_keys_release(struct wn_fl_keys *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

int wn_fl_spans_reserve(struct wn_fl_scratch *s, size_t n)
{
	if (n <= s->spancap)
		return WN_OK;
	size_t cap = s->spancap ? s->spancap : 64;
	while (cap < n)
		cap *= 2;
	struct wn_fl_span *v = realloc(s->spans, cap * sizeof(*v));
	if (!v)
		return WN_ENOMEM;
	s->spans = v;
	s->spancap = cap;
	return WN_OK;
}

int wn_fl_spans_add(struct wn_fl_scratch *s, size_t a, size_t b)
{
	if (s->nspans == s->spancap)
		WN_TRY(wn_fl_spans_reserve(s, s->nspans + 1));
	s->spans[s->nspans].s = (uint32_t)a;
	s->spans[s->nspans].e = (uint32_t)b;
	s->nspans++;
	return WN_OK;
}

struct span_ctx {
	const char *text;
	const struct wn_fl_span *spans;
};

static int span_eq(const void *ctx, uint32_t a, uint32_t b)
{
	const struct span_ctx *c = ctx;
	const struct wn_fl_span *x = &c->spans[a], *y = &c->spans[b];
	return x->e - x->s == y->e - y->s && memcmp(c->text + x->s, c->text + y->s, x->e - x->s) == 0;
}

int wn_fl_find_duplicates(struct wn_fl_scratch *s, const char *text,
                          const struct wn_fl_span *spans, size_t n, uint64_t *dups,
                          uint64_t *dup_chars)
{
	*dups = 0;
	*dup_chars = 0;
	WN_TRY(wn_fl_table_reserve(&s->table, n));
	struct span_ctx ctx = { text, spans };
	for (size_t i = 0; i < n; i++) {
		const struct wn_fl_span *sp = &spans[i];
		uint64_t key = XXH3_64bits(text + sp->s, sp->e - sp->s);
		struct wn_fl_slot *sl = wn_fl_table_find(&s->table, key, span_eq, &ctx, (uint32_t)i);
		if (sl->stamp == s->table.stamp) {
			(*dups)++;
			*dup_chars += wn_fl_count_cps(text + sp->s, sp->e - sp->s);
			continue;
		}
		sl->stamp = s->table.stamp;
		sl->key = key;
		sl->first = (uint32_t)i;
	}
	return WN_OK;
}

/* ---- defaults (datatrove's, from the papers) --------------------------------------------- */

static struct wn_fl_limit on(double v)
{
	struct wn_fl_limit l = { 1, v };
	return l;
}

void wn_fl_gopher_quality_defaults(struct wn_fl_gopher_quality *p)
{
	static const char *const stop[] = { "the", "be", "to", "of", "and", "that", "have", "with" };
	memset(p, 0, sizeof(*p));
	p->min_words = on(50);
	p->max_words = on(100000);
	p->min_mean_len = on(3);
	p->max_mean_len = on(10);
	p->max_symbol_ratio = on(0.1);
	p->max_bullet_lines = on(0.9);
	p->max_ellipsis_lines = on(0.3);
	p->min_alpha_words = on(0.8);
	p->min_stop_words = on(2);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		p->stop[i] = stop[i];
		p->stop_len[i] = strlen(stop[i]);
	}
	p->nstop = sizeof(stop) / sizeof(stop[0]);
}

void wn_fl_gopher_repetition_defaults(struct wn_fl_gopher_repetition *p)
{
	static const double top[3] = { 0.20, 0.18, 0.16 };
	static const double dup[6] = { 0.15, 0.14, 0.13, 0.12, 0.11, 0.10 };
	memset(p, 0, sizeof(*p));
	p->dup_para_frac = on(0.3);
	p->dup_para_chars = on(0.2);
	p->dup_line_frac = on(0.3);
	p->dup_line_chars = on(0.2);
	for (int i = 0; i < 3; i++)
		p->top_ngram[i] = on(top[i]);
	for (int i = 0; i < 6; i++)
		p->dup_ngram[i] = on(dup[i]);
}

void wn_fl_c4_defaults(struct wn_fl_c4 *p)
{
	memset(p, 0, sizeof(*p));
	p->min_sentences = on(5);
	p->min_words_per_line = on(3);
	p->max_word_length = on(1000);
	p->terminal_punct = 1;
	p->citations = 1;
	p->lorem_ipsum = 1;
	p->javascript = 1;
	p->curly_bracket = 1;
	p->policy = 1;
}

void wn_fl_fineweb_defaults(struct wn_fl_fineweb *p)
{
	memset(p, 0, sizeof(*p));
	p->min_punct_lines = on(0.12);
	p->max_short_lines = on(0.67);
	p->short_line_length = 30;
	p->max_dup_line_chars = on(0.01);
	p->max_newline_ratio = on(0.3);
}
