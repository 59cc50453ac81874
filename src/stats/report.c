/*
 * report.c - the collector's counts as a report, and the report as JSON
 * (the keys are listed in docs/winnow-stats.md; their set and meaning are
 * stable within a "version").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats_int.h"

/* ---- building ------------------------------------------------------------------------ */

static int count_cmp(const void *a, const void *b)
{
	const struct wn_stats_count *x = a, *y = b;
	if (x->records != y->records)
		return x->records > y->records ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int counts_of(const struct wn_st_map *m, struct wn_stats_count **out, size_t *n,
                     uint64_t *untracked)
{
	*out = NULL;
	*n = 0;
	*untracked = m->untracked;
	if (!m->n)
		return WN_OK;
	struct wn_stats_count *v = calloc(m->n, sizeof(*v));
	if (!v)
		return WN_ENOMEM;
	*out = v;
	for (size_t i = 0; i < m->n; i++) {
		if (!(v[i].name = strdup(m->v[i].name)))
			return WN_ENOMEM;
		v[i].records = m->v[i].records;
		v[i].chars = m->v[i].chars;
		*n = i + 1;
	}
	qsort(v, *n, sizeof(*v), count_cmp);
	return WN_OK;
}

static void scope_release(struct wn_stats_scope *sc)
{
	free(sc->name);
	wn_hist_release(&sc->chars_hist);
	wn_hist_release(&sc->words_hist);
	wn_hist_release(&sc->tokens_hist);
	for (size_t i = 0; i < sc->nfields; i++)
		free(sc->fields[i].name);
	free(sc->fields);
	for (size_t i = 0; i < sc->nlanguages; i++)
		free(sc->languages[i].name);
	free(sc->languages);
	memset(sc, 0, sizeof(*sc));
}

static int scope_from(struct wn_stats_scope *sc, const char *name, const struct wn_st_acc *a)
{
	memset(sc, 0, sizeof(*sc));
	if (name && !(sc->name = strdup(name)))
		return WN_ENOMEM;
	sc->records = a->records;
	sc->skipped = a->skipped;
	sc->bytes = a->bytes;
	sc->file_bytes = a->file_bytes;
	sc->text_bytes = a->text_bytes;
	sc->chars = a->chars;
	sc->words = a->words;
	sc->lines = a->lines;
	sc->tokens = a->tokens;
	sc->no_text = a->no_text;
	sc->with_tokens = a->with_tokens;
	sc->shards = a->shards;
	WN_TRY(wn_hist_init(&sc->chars_hist));
	WN_TRY(wn_hist_init(&sc->words_hist));
	WN_TRY(wn_hist_init(&sc->tokens_hist));
	WN_TRY(wn_hist_merge(&sc->chars_hist, &a->chars_hist));
	WN_TRY(wn_hist_merge(&sc->words_hist, &a->words_hist));
	WN_TRY(wn_hist_merge(&sc->tokens_hist, &a->tokens_hist));
	WN_TRY(counts_of(&a->fields, &sc->fields, &sc->nfields, &sc->fields_untracked));
	return counts_of(&a->langs, &sc->languages, &sc->nlanguages, &sc->languages_untracked);
}

static int name_cmp(const void *a, const void *b)
{
	const struct wn_stats_scope *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int build(struct wn_stats *s, struct wn_stats_report *rep)
{
	struct wn_st_view views[WN_ST_MAX_SCOPES];
	size_t nv = wn_st_scopes(s, views);
	/* the whole: every scope merged, in the order they were made */
	struct wn_st_acc all;
	size_t nf, nl;
	wn_st_limits(s, &nf, &nl);
	WN_TRY(wn_st_acc_init(&all, nf, nl));
	int st = WN_OK;
	for (size_t i = 0; i < nv && st >= 0; i++)
		st = wn_st_acc_merge(&all, views[i].acc);
	if (st >= 0)
		st = scope_from(&rep->total, NULL, &all);
	wn_st_acc_release(&all);
	WN_TRY(st);
	size_t nsplits = 0;
	for (size_t i = 0; i < nv; i++)
		nsplits += views[i].name != NULL;
	if (nsplits) {
		rep->splits = calloc(nsplits, sizeof(*rep->splits));
		if (!rep->splits)
			return WN_ENOMEM;
		for (size_t i = 0; i < nv; i++) {
			if (!views[i].name)
				continue;
			WN_TRY(scope_from(&rep->splits[rep->nsplits++], views[i].name, views[i].acc));
		}
		qsort(rep->splits, rep->nsplits, sizeof(*rep->splits), name_cmp);
	}
	const struct wn_stats_dataset *d;
	size_t nd;
	wn_st_datasets(s, &d, &nd, &rep->inputs);
	if (nd) {
		rep->datasets = calloc(nd, sizeof(*rep->datasets));
		if (!rep->datasets)
			return WN_ENOMEM;
		for (size_t i = 0; i < nd; i++) {
			struct wn_stats_dataset *o = &rep->datasets[i];
			*o = d[i];
			o->path = o->shard_format = o->dtype = o->tokenizer = NULL;
			rep->ndatasets = i + 1;
			if (!(o->path = strdup(d[i].path)) ||
			    !(o->shard_format = strdup(d[i].shard_format)) ||
			    (d[i].dtype && !(o->dtype = strdup(d[i].dtype))) ||
			    (d[i].tokenizer && !(o->tokenizer = strdup(d[i].tokenizer))))
				return WN_ENOMEM;
		}
	}
	return WN_OK;
}

int wn_stats_report(struct wn_stats *s, struct wn_stats_report *rep, struct wn_error *err)
{
	memset(rep, 0, sizeof(*rep));
	int st = build(s, rep);
	if (st < 0) {
		wn_stats_report_release(rep);
		return wn_error_set(err, st, NULL, 0, "%s", wn_strerror(st));
	}
	return WN_OK;
}

void wn_stats_report_release(struct wn_stats_report *rep)
{
	scope_release(&rep->total);
	for (size_t i = 0; i < rep->nsplits; i++)
		scope_release(&rep->splits[i]);
	free(rep->splits);
	for (size_t i = 0; i < rep->ndatasets; i++) {
		struct wn_stats_dataset *d = &rep->datasets[i];
		free(d->path);
		free(d->shard_format);
		free(d->dtype);
		free(d->tokenizer);
	}
	free(rep->datasets);
	memset(rep, 0, sizeof(*rep));
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* A small writer of indented JSON: each value on its own line inside
 * containers, two spaces per level, as jansson's JSON_INDENT(2) writes. */
struct jw {
	struct wn_buf *b;
	int depth;
	int first; /* no member written yet in the current container */
	int st;
};

static void jw_raw(struct jw *w, const char *s)
{
	if (w->st >= 0)
		w->st = wn_buf_adds(w->b, s);
}

static void jw_item(struct jw *w, const char *key)
{
	if (w->st < 0)
		return;
	if (w->depth > 0) {
		jw_raw(w, w->first ? "\n" : ",\n");
		for (int i = 0; i < w->depth && w->st >= 0; i++)
			jw_raw(w, "  ");
	}
	w->first = 0;
	if (key) {
		if (w->st >= 0)
			w->st = wn_json_escape(w->b, key, strlen(key));
		jw_raw(w, ": ");
	}
}

static void jw_open(struct jw *w, const char *key, char c)
{
	jw_item(w, key);
	char s[2] = { c, 0 };
	jw_raw(w, s);
	w->depth++;
	w->first = 1;
}

static void jw_close(struct jw *w, char c)
{
	w->depth--;
	if (!w->first) {
		jw_raw(w, "\n");
		for (int i = 0; i < w->depth && w->st >= 0; i++)
			jw_raw(w, "  ");
	}
	char s[2] = { c, 0 };
	jw_raw(w, s);
	w->first = 0;
}

static void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	jw_item(w, key);
	jw_raw(w, tmp);
}

/* A number as the shortest text that reads back the same; whole numbers
 * without a fraction. */
static void jw_real(struct jw *w, const char *key, double v)
{
	char tmp[40];
	if (!isfinite(v))
		snprintf(tmp, sizeof(tmp), "null");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		snprintf(tmp, sizeof(tmp), "%.0f", v);
	else {
		snprintf(tmp, sizeof(tmp), "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof(tmp), "%.17g", v);
	}
	jw_item(w, key);
	jw_raw(w, tmp);
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_item(w, key);
	if (!v)
		jw_raw(w, "null");
	else if (w->st >= 0)
		w->st = wn_json_escape(w->b, v, strlen(v));
}

static void jw_null(struct jw *w, const char *key)
{
	jw_item(w, key);
	jw_raw(w, "null");
}

static void json_dist(struct jw *w, const char *key, const struct wn_hist *h)
{
	jw_open(w, key, '{');
	jw_uint(w, "count", h->count);
	if (!h->count) {
		static const char *const none[] = { "min", "p25", "median", "p75", "mean", "max" };
		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			jw_null(w, none[i]);
	} else {
		jw_uint(w, "min", h->min);
		jw_real(w, "p25", wn_hist_quantile(h, 0.25));
		jw_real(w, "median", wn_hist_quantile(h, 0.5));
		jw_real(w, "p75", wn_hist_quantile(h, 0.75));
		jw_real(w, "mean", wn_hist_mean(h));
		jw_uint(w, "max", h->max);
	}
	struct wn_hist_bin bins[WN_HIST_MAX_BINS];
	size_t n = wn_hist_bins(h, WN_HIST_MAX_BINS, bins);
	jw_open(w, "histogram", '[');
	for (size_t i = 0; i < n; i++) {
		jw_open(w, NULL, '{');
		jw_uint(w, "lo", bins[i].lo);
		if (bins[i].hi)
			jw_uint(w, "hi", bins[i].hi);
		else
			jw_null(w, "hi");
		jw_uint(w, "count", bins[i].count);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_close(w, '}');
}

static void json_scope(struct jw *w, const struct wn_stats_scope *sc)
{
	jw_uint(w, "records", sc->records);
	jw_uint(w, "records_skipped", sc->skipped);
	jw_uint(w, "bytes", sc->bytes);
	jw_uint(w, "file_bytes", sc->file_bytes);
	jw_uint(w, "text_bytes", sc->text_bytes);
	jw_uint(w, "characters", sc->chars);
	jw_uint(w, "words", sc->words);
	jw_uint(w, "lines", sc->lines);
	jw_uint(w, "tokens", sc->tokens);
	jw_uint(w, "records_without_text", sc->no_text);
	jw_uint(w, "records_with_tokens", sc->with_tokens);
	jw_uint(w, "shards", sc->shards);
	json_dist(w, "characters_per_record", &sc->chars_hist);
	json_dist(w, "words_per_record", &sc->words_hist);
	json_dist(w, "tokens_per_record", &sc->tokens_hist);
	jw_open(w, "languages", '{');
	for (size_t i = 0; i < sc->nlanguages; i++) {
		jw_open(w, sc->languages[i].name, '{');
		jw_uint(w, "records", sc->languages[i].records);
		jw_uint(w, "characters", sc->languages[i].chars);
		jw_close(w, '}');
	}
	jw_close(w, '}');
	jw_uint(w, "languages_untracked", sc->languages_untracked);
	jw_open(w, "fields", '{');
	for (size_t i = 0; i < sc->nfields; i++)
		jw_uint(w, sc->fields[i].name, sc->fields[i].records);
	jw_close(w, '}');
	jw_uint(w, "fields_untracked", sc->fields_untracked);
}

int wn_stats_report_json(const struct wn_stats_report *rep, struct wn_buf *out)
{
	struct jw w = { .b = out };
	jw_open(&w, NULL, '{');
	jw_str(&w, "format", "winnow-stats");
	jw_uint(&w, "version", 1);
	jw_uint(&w, "inputs", rep->inputs);
	json_scope(&w, &rep->total);
	jw_open(&w, "splits", '{');
	for (size_t i = 0; i < rep->nsplits; i++) {
		jw_open(&w, rep->splits[i].name, '{');
		json_scope(&w, &rep->splits[i]);
		jw_close(&w, '}');
	}
	jw_close(&w, '}');
	jw_open(&w, "datasets", '[');
	for (size_t i = 0; i < rep->ndatasets; i++) {
		const struct wn_stats_dataset *d = &rep->datasets[i];
		jw_open(&w, NULL, '{');
		jw_str(&w, "path", d->path);
		jw_uint(&w, "version", (uint64_t)d->version);
		jw_str(&w, "shard_format", d->shard_format);
		jw_str(&w, "dtype", d->dtype);
		jw_str(&w, "tokenizer", d->tokenizer);
		jw_uint(&w, "vocab_size", d->vocab_size);
		jw_uint(&w, "shards", d->shards);
		jw_uint(&w, "files", d->files);
		jw_uint(&w, "bytes", d->bytes);
		jw_uint(&w, "records", d->records);
		jw_uint(&w, "tokens", d->tokens);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_close(&w, '}');
	jw_raw(&w, "\n");
	return w.st;
}
