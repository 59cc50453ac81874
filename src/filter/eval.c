/*
 * eval.c - judging one record: sampling, the plain predicates, language,
 * and the rule sets in FineWeb's order, then the edits that go with the
 * verdict (C4's text, language, annotations, reject reason).
 *
 * Cheap rules run first; without --annotate the first failing rule ends
 * the work on a record.  Field values are read from the raw bytes with the
 * JSON scanner; the edits splice the raw bytes (edit.c), so a record that
 * is kept unchanged keeps every byte.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <xxhash.h>

#include "filter/filter.h"
#include "filter/lang.h"
#include "winnow/record.h"

/* ---- paths ------------------------------------------------------------------------------- */

int wn_fl_path_parse(struct wn_fl_path *p, const char *text, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->text = text;
	if (!len)
		return WN_EUSAGE;
	p->buf = malloc(len + 1);
	if (!p->buf)
		return WN_ENOMEM;
	memcpy(p->buf, text, len);
	p->buf[len] = '\0';
	char *s = p->buf;
	for (;;) {
		char *dot = strchr(s, '.');
		if (dot)
			*dot = '\0';
		if (!*s || p->n == sizeof(p->seg) / sizeof(p->seg[0])) {
			wn_fl_path_release(p);
			return WN_EUSAGE;
		}
		p->seg[p->n++] = s;
		if (!dot)
			break;
		s = dot + 1;
	}
	return WN_OK;
}

void wn_fl_path_release(struct wn_fl_path *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* The value at a path of the object raw[0..n): 1 with *v (offsets into
 * raw), 0 when absent (or a step on the way is not an object). */
static int path_find(const char *raw, size_t n, const struct wn_fl_path *p,
                     struct wn_json_value *v)
{
	size_t off = 0, len = n;
	for (size_t i = 0; i < p->n; i++) {
		struct wn_json_value x;
		if (wn_json_get(raw + off, len, p->seg[i], strlen(p->seg[i]), &x) != 1)
			return 0;
		off += x.offset;
		len = x.len;
		*v = x;
		v->offset = off;
	}
	return 1;
}

/* A value's bytes for comparing and matching: a string decoded, anything
 * else its JSON text. */
static int value_bytes(struct wn_fl_worker *w, const char *raw, const struct wn_json_value *v,
                       const char **p, size_t *n)
{
	if (v->type != WN_JSON_STRING) {
		*p = raw + v->offset;
		*n = v->len;
		return WN_OK;
	}
	if (!v->escaped) {
		*p = raw + v->offset + 1;
		*n = v->len - 2;
		return WN_OK;
	}
	wn_buf_reset(&w->value);
	WN_TRY(wn_json_unescape(raw + v->offset, v->len, &w->value));
	*p = w->value.data ? w->value.data : "";
	*n = w->value.len;
	return WN_OK;
}

/* ---- workers ------------------------------------------------------------------------------ */

int wn_fl_worker_init(struct wn_fl_worker *w)
{
	memset(w, 0, sizeof(*w));
	wn_fl_scratch_init(&w->s);
	wn_buf_init(&w->value, WN_BUF_UNLIMITED);
	wn_buf_init(&w->json, WN_BUF_UNLIMITED);
	wn_buf_init(&w->text, WN_BUF_UNLIMITED);
	w->match = pcre2_match_data_create(1, NULL);
	return w->match ? WN_OK : WN_ENOMEM;
}

void wn_fl_worker_release(struct wn_fl_worker *w)
{
	wn_fl_scratch_release(&w->s);
	wn_buf_release(&w->value);
	wn_buf_release(&w->json);
	wn_buf_release(&w->text);
	pcre2_match_data_free(w->match);
	memset(w, 0, sizeof(*w));
}

/* ---- judging -------------------------------------------------------------------------------- */

struct judge {
	const struct wn_fl_config *cfg;
	struct wn_fl_worker *w;
	struct wn_record *rec;
	struct wn_error *err;
	const char *raw;
	size_t rawlen;
	const char *text; /* NULL until needed */
	size_t n;
	int split;        /* w->s.words are the words of text */
	/* language, when identified */
	const char *lang;
	double lang_score;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct judge *j, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int s = wn_error_vset(j->err, status, j->rec->file, j->rec->line, fmt, ap);
	va_end(ap);
	return s;
}

static int need_text(struct judge *j)
{
	if (j->text)
		return WN_OK;
	struct wn_json_value v;
	int f = wn_json_get(j->raw, j->rawlen, j->cfg->text_field, strlen(j->cfg->text_field), &v);
	if (f != 1)
		return fail(j, WN_EDATA, "no field '%s'", j->cfg->text_field);
	if (v.type != WN_JSON_STRING)
		return fail(j, WN_EDATA, "field '%s' is not a string", j->cfg->text_field);
	if (!v.escaped) {
		j->text = j->raw + v.offset + 1;
		j->n = v.len - 2;
		return WN_OK;
	}
	wn_buf_reset(&j->w->text);
	int s = wn_json_unescape(j->raw + v.offset, v.len, &j->w->text);
	if (s < 0)
		return fail(j, s, "%s", wn_strerror(s));
	j->text = j->w->text.data ? j->w->text.data : "";
	j->n = j->w->text.len;
	return WN_OK;
}

static int need_words(struct judge *j)
{
	if (j->split)
		return WN_OK;
	WN_TRY(need_text(j));
	j->w->s.words.n = 0;
	int s = wn_fl_split_words(j->text, j->n, &j->w->s.words);
	if (s < 0)
		return fail(j, s, "%s", wn_strerror(s));
	j->split = 1;
	return WN_OK;
}

static int limits(struct wn_fl_report *r, const char *min_rule, const char *max_rule,
                  const struct wn_fl_limit *min, const struct wn_fl_limit *max, uint64_t v)
{
	if (min->on && !wn_fl_note(r, min_rule, WN_FL_INT, (double)v, !((double)v < min->v)))
		return 0;
	if (max->on && !wn_fl_note(r, max_rule, WN_FL_INT, (double)v, !((double)v > max->v)))
		return 0;
	return 1;
}

/* Whether pattern re matches p[0..n); < 0 when the match itself failed. */
static int matches(struct judge *j, void *re, const char *p, size_t n)
{
	int rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, PCRE2_NO_UTF_CHECK, j->w->match, NULL);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	PCRE2_UCHAR msg[256];
	pcre2_get_error_message(rc, msg, sizeof(msg));
	return fail(j, WN_EDATA, "regular expression: %s", (const char *)msg);
}

/* --sample: keep when the hash of the id (else of the text) falls below
 * RATE of the 64-bit range; value = the hash as a fraction of it. */
static int sample(struct judge *j, struct wn_fl_report *r)
{
	const struct wn_fl_config *cfg = j->cfg;
	struct wn_json_value v;
	const char *p;
	size_t n;
	if (wn_json_get(j->raw, j->rawlen, cfg->id_field, strlen(cfg->id_field), &v) == 1) {
		int s = value_bytes(j->w, j->raw, &v, &p, &n);
		if (s < 0)
			return fail(j, s, "%s", wn_strerror(s));
	} else {
		WN_TRY(need_text(j));
		p = j->text;
		n = j->n;
	}
	uint64_t h = XXH3_64bits_withSeed(p, n, cfg->seed);
	double draw = (double)(h >> 11) * 0x1.0p-53;
	return wn_fl_note(r, "sample", WN_FL_REAL, draw, draw < cfg->rate);
}

static int fields(struct judge *j, struct wn_fl_report *r)
{
	const struct wn_fl_config *cfg = j->cfg;
	struct wn_json_value v;
	if (cfg->nhas_field) {
		int all = 1;
		for (size_t i = 0; i < cfg->nhas_field && all; i++)
			all = path_find(j->raw, j->rawlen, &cfg->has_field[i], &v);
		if (!wn_fl_note(r, "has_field", WN_FL_BOOL, all, all))
			return 0;
	}
	for (int neg = 0; neg < 2; neg++) {
		const struct wn_fl_field_rule *rules = neg ? cfg->field_not : cfg->field;
		size_t nrules = neg ? cfg->nfield_not : cfg->nfield;
		if (!nrules)
			continue;
		int ok = 1;
		for (size_t i = 0; i < nrules && ok; i++) {
			const char *p;
			size_t n;
			int eq = 0;
			if (path_find(j->raw, j->rawlen, &rules[i].path, &v)) {
				int s = value_bytes(j->w, j->raw, &v, &p, &n);
				if (s < 0)
					return fail(j, s, "%s", wn_strerror(s));
				eq = n == rules[i].vlen && memcmp(p, rules[i].value, n) == 0;
			}
			ok = neg ? !eq : eq;
		}
		if (!wn_fl_note(r, neg ? "field_not" : "field", WN_FL_BOOL, ok, ok))
			return 0;
	}
	return 1;
}

static int plain_text(struct judge *j, struct wn_fl_report *r)
{
	const struct wn_fl_config *cfg = j->cfg;
	if (cfg->min_chars.on || cfg->max_chars.on) {
		WN_TRY(need_text(j));
		if (!limits(r, "min_chars", "max_chars", &cfg->min_chars, &cfg->max_chars,
		            wn_fl_count_cps(j->text, j->n)))
			return 0;
	}
	if (cfg->min_words.on || cfg->max_words.on) {
		uint64_t c = 0;
		if (cfg->gopher_repetition || cfg->gopher_quality || cfg->fineweb) {
			/* the words are needed later anyway */
			WN_TRY(need_words(j));
			for (size_t i = 0; i < j->w->s.words.n; i++)
				c += (j->w->s.words.v[i].flags & WN_FL_W_NONSYM) != 0;
		} else {
			WN_TRY(need_text(j));
			int s = wn_fl_count_words(j->text, j->n, &c, &j->w->s.words);
			if (s < 0)
				return fail(j, s, "%s", wn_strerror(s));
		}
		if (!limits(r, "min_words", "max_words", &cfg->min_words, &cfg->max_words, c))
			return 0;
	}
	if (cfg->min_lines.on || cfg->max_lines.on) {
		WN_TRY(need_text(j));
		uint64_t lines = 0;
		size_t pos = 0, ls, le;
		while (wn_fl_splitlines(j->text, j->n, &pos, &ls, &le))
			lines++;
		if (!limits(r, "min_lines", "max_lines", &cfg->min_lines, &cfg->max_lines, lines))
			return 0;
	}
	if (!cfg->nregex && !cfg->nexclude)
		return 1;
	const char *p = NULL;
	size_t n = 0;
	int present = 1;
	if (cfg->has_regex_field) {
		struct wn_json_value v;
		present = path_find(j->raw, j->rawlen, &cfg->regex_field, &v);
		if (present) {
			int s = value_bytes(j->w, j->raw, &v, &p, &n);
			if (s < 0)
				return fail(j, s, "%s", wn_strerror(s));
		}
	} else {
		WN_TRY(need_text(j));
		p = j->text;
		n = j->n;
	}
	if (cfg->nregex) {
		int all = present;
		for (size_t i = 0; i < cfg->nregex && all; i++)
			WN_TRY(all = matches(j, cfg->regex[i], p, n));
		if (!wn_fl_note(r, "regex", WN_FL_BOOL, all, all))
			return 0;
	}
	if (cfg->nexclude) {
		int any = 0;
		for (size_t i = 0; i < cfg->nexclude && present && !any; i++)
			WN_TRY(any = matches(j, cfg->exclude[i], p, n));
		if (!wn_fl_note(r, "exclude_regex", WN_FL_BOOL, any, !any))
			return 0;
	}
	return 1;
}

/* datatrove's LanguageFilter: keep when one of the wanted languages scores
 * above the threshold; the best guess goes into the metadata either way. */
static int language(struct judge *j, struct wn_fl_report *r)
{
	const struct wn_fl_config *cfg = j->cfg;
	WN_TRY(need_text(j));
	const char *codes[3];
	double scores[3];
	int found = wn_fl_lang_detect(j->text, j->n, codes, scores);
	if (found <= 0)
		return fail(j, WN_EUSAGE, "%s", "language identification is not available");
	j->lang = codes[0];
	j->lang_score = scores[0];
	const char *best = NULL;
	double best_score = 0;
	for (int i = 0; i < found; i++)
		for (size_t k = 0; k < cfg->nlangs; k++)
			if (strcmp(codes[i], cfg->langs[k]) == 0 && (!best || scores[i] > best_score)) {
				best = codes[i];
				best_score = scores[i];
			}
	if (!wn_fl_note_str(r, "language", codes[0], best != NULL))
		return 0;
	return wn_fl_note(r, "language_score", WN_FL_REAL, best_score,
	                  best_score > cfg->lang_threshold);
}

static int rule_sets(struct judge *j, struct wn_fl_report *r)
{
	const struct wn_fl_config *cfg = j->cfg;
	struct wn_fl_scratch *s = &j->w->s;
	int st;
	WN_TRY(need_words(j));
	if (cfg->gopher_repetition) {
		if ((st = wn_fl_gopher_repetition(&cfg->gr, j->text, j->n, s, r)) < 0)
			return fail(j, st, "%s", wn_strerror(st));
		if (!st && !r->all)
			return 0;
	}
	if (cfg->gopher_quality) {
		if ((st = wn_fl_gopher_quality(&cfg->gq, j->text, j->n, s, r)) < 0)
			return fail(j, st, "%s", wn_strerror(st));
		if (!st && !r->all)
			return 0;
	}
	const char *text = j->text;
	size_t n = j->n, nwords = s->words.n;
	if (cfg->c4) {
		if ((st = wn_fl_c4(&cfg->c4p, j->text, j->n, s, r)) < 0)
			return fail(j, st, "%s", wn_strerror(st));
		if (!st && !r->all)
			return 0;
		/* the rules after C4 see the text it leaves */
		text = s->text.data ? s->text.data : "";
		n = s->text.len;
		nwords = s->c4_words;
	}
	if (cfg->fineweb) {
		if ((st = wn_fl_fineweb(&cfg->fw, text, n, nwords, s, r)) < 0)
			return fail(j, st, "%s", wn_strerror(st));
		if (!st && !r->all)
			return 0;
	}
	return 1;
}

/* ---- edits ---------------------------------------------------------------------------------- */

/* A double as JSON: the shortest form that reads back the same, with a
 * ".0" on whole numbers (as Python's json and jansson write reals). */
static int add_real(struct wn_buf *b, double v)
{
	if (!isfinite(v))
		return wn_buf_adds(b, "null");
	char tmp[40];
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	WN_TRY(wn_buf_adds(b, tmp));
	if (!strpbrk(tmp, ".eE"))
		WN_TRY(wn_buf_adds(b, ".0"));
	return WN_OK;
}

static int add_value(struct wn_buf *b, const struct wn_fl_measure *m)
{
	switch (m->kind) {
	case WN_FL_INT:
		return wn_buf_printf(b, "%" PRId64, (int64_t)m->value);
	case WN_FL_REAL:
		return add_real(b, m->value);
	case WN_FL_BOOL:
		return wn_buf_adds(b, m->value != 0 ? "true" : "false");
	case WN_FL_STR:
		return wn_json_escape(b, m->str, strlen(m->str));
	case WN_FL_NONE:
		break;
	}
	return wn_buf_adds(b, "null");
}

/* {"keep":..,"reason":..,"rules":{"rule":{"value":..,"pass":..},..}} */
static int annotation(struct wn_buf *b, const struct wn_fl_report *r)
{
	wn_buf_reset(b);
	WN_TRY(wn_buf_printf(b, "{\"keep\":%s,\"reason\":", r->failed ? "false" : "true"));
	WN_TRY(r->failed ? wn_json_escape(b, r->failed, strlen(r->failed)) : wn_buf_adds(b, "null"));
	WN_TRY(wn_buf_adds(b, ",\"rules\":{"));
	for (size_t i = 0; i < r->n; i++) {
		const struct wn_fl_measure *m = &r->m[i];
		if (i)
			WN_TRY(wn_buf_addc(b, ','));
		WN_TRY(wn_json_escape(b, m->rule, strlen(m->rule)));
		WN_TRY(wn_buf_adds(b, ":{\"value\":"));
		WN_TRY(add_value(b, m));
		WN_TRY(wn_buf_printf(b, ",\"pass\":%s}", m->pass ? "true" : "false"));
	}
	return wn_buf_adds(b, "}}");
}

static int set_member(struct judge *j, const char *const *path, size_t depth,
                      const struct wn_buf *value)
{
	struct wn_record *rec = j->rec;
	size_t bad = 0;
	int s = wn_fl_set_member(&rec->raw, path, depth, value->data, value->len, &bad);
	if (s == WN_EDATA)
		return fail(j, WN_EDATA, "field '%s' is not an object", path[bad ? bad - 1 : 0]);
	if (s < 0)
		return fail(j, s, "%s", wn_strerror(s));
	/* the parsed object, if any, no longer matches the bytes */
	json_decref(rec->obj);
	rec->obj = NULL;
	rec->dirty = 0;
	return WN_OK;
}

static int edit(struct judge *j, const char *reason)
{
	const struct wn_fl_config *cfg = j->cfg;
	struct wn_fl_worker *w = j->w;
	struct wn_buf *b = &w->json;
	int keep = !reason || cfg->annotate;
	if (!keep && !cfg->rejects)
		return WN_OK;
	if (keep && !cfg->annotate && cfg->c4) {
		/* C4's text, when it differs */
		const struct wn_buf *t = &w->s.text;
		if (t->len != j->n || (t->len && memcmp(t->data, j->text, t->len) != 0)) {
			const char *path[1] = { cfg->text_field };
			wn_buf_reset(b);
			WN_TRY(wn_json_escape(b, t->data ? t->data : "", t->len));
			WN_TRY(set_member(j, path, 1, b));
		}
	}
	if (j->lang) {
		const char *path[2] = { "metadata", "language" };
		wn_buf_reset(b);
		WN_TRY(wn_json_escape(b, j->lang, strlen(j->lang)));
		WN_TRY(set_member(j, path, 2, b));
		path[1] = "language_score";
		wn_buf_reset(b);
		WN_TRY(add_real(b, j->lang_score));
		WN_TRY(set_member(j, path, 2, b));
	}
	if (cfg->annotate) {
		const char *path[2] = { "metadata", "filter" };
		WN_TRY(annotation(b, &w->report));
		WN_TRY(set_member(j, path, 2, b));
	} else if (!keep) {
		const char *path[2] = { "metadata", "reject_reason" };
		wn_buf_reset(b);
		WN_TRY(wn_json_escape(b, reason, strlen(reason)));
		WN_TRY(set_member(j, path, 2, b));
	}
	return WN_OK;
}

int wn_fl_eval(const struct wn_fl_config *cfg, struct wn_fl_worker *w, struct wn_record *rec,
               const char **reason, struct wn_error *err)
{
	struct judge j = { .cfg = cfg, .w = w, .rec = rec, .err = err };
	*reason = NULL;
	int s = wn_record_bytes(rec, &j.raw, &j.rawlen);
	if (s < 0)
		return wn_error_set(err, s, rec->file, rec->line, "%s", wn_strerror(s));
	struct wn_fl_report *r = &w->report;
	wn_fl_report_reset(r, cfg->annotate);
	int go = 1;
	if (cfg->sample)
		WN_TRY(go = sample(&j, r));
	if (go)
		WN_TRY(go = fields(&j, r));
	if (go)
		WN_TRY(go = plain_text(&j, r));
	if (go && cfg->lang)
		WN_TRY(go = language(&j, r));
	if (go && (cfg->gopher_repetition || cfg->gopher_quality || cfg->c4 || cfg->fineweb))
		WN_TRY(rule_sets(&j, r));
	*reason = r->failed;
	return edit(&j, r->failed);
}
