/*
 * acc.c - the counters of one scope and the analysis of one record.
 *
 * A record is walked once (scan.c): its keys are counted as fields, and
 * the text, token ids and metadata are picked up on the way.  The text is
 * measured with the filter's own functions, so that stats and filter agree
 * on every count: code points (wn_fl_count_cps), words as --min-words
 * counts them (wn_fl_count_words), lines as Python's str.splitlines()
 * finds them (wn_fl_splitlines).
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "stats/stats_int.h"

/* ---- name tables ---------------------------------------------------------------- */

int wn_st_map_init(struct wn_st_map *m, size_t max)
{
	memset(m, 0, sizeof(*m));
	m->max = max;
	size_t cap = 16;
	while (cap < 2 * max)
		cap *= 2;
	m->slot = calloc(cap, sizeof(*m->slot));
	if (!m->slot)
		return WN_ENOMEM;
	m->mask = cap - 1;
	return WN_OK;
}

void wn_st_map_reset(struct wn_st_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].name);
	if (m->n)
		memset(m->slot, 0, (m->mask + 1) * sizeof(*m->slot));
	m->n = 0;
	m->untracked = 0;
}

void wn_st_map_release(struct wn_st_map *m)
{
	if (m->slot)
		wn_st_map_reset(m);
	free(m->v);
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

int wn_st_map_get(struct wn_st_map *m, const char *name, size_t len, struct wn_st_entry **out)
{
	*out = NULL;
	if (len > WN_STATS_MAX_NAME)
		return WN_OK;
	uint64_t h = XXH3_64bits(name, len);
	size_t i = (size_t)h & m->mask;
	for (; m->slot[i]; i = (i + 1) & m->mask) {
		struct wn_st_entry *e = &m->v[m->slot[i] - 1];
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0) {
			*out = e;
			return WN_OK;
		}
	}
	if (m->n == m->max)
		return WN_OK;
	if (m->n % 64 == 0) {
		struct wn_st_entry *v = realloc(m->v, (m->n + 64) * sizeof(*v));
		if (!v)
			return WN_ENOMEM;
		m->v = v;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return WN_ENOMEM;
	memcpy(copy, name, len);
	copy[len] = '\0';
	struct wn_st_entry *e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	e->name = copy;
	e->len = len;
	e->hash = h;
	m->slot[i] = (uint32_t)++m->n;
	*out = e;
	return WN_OK;
}

/* Count a name for the record numbered stamp: once, however often the
 * record repeats it. */
static int count_name(struct wn_st_map *m, const char *name, size_t len, uint64_t stamp,
                      uint64_t chars)
{
	struct wn_st_entry *e;
	WN_TRY(wn_st_map_get(m, name, len, &e));
	if (!e) {
		m->untracked++;
		return WN_OK;
	}
	if (e->stamp != stamp) {
		e->stamp = stamp;
		e->records++;
		e->chars += chars;
	}
	return WN_OK;
}

/* ---- accumulators ----------------------------------------------------------------- */

int wn_st_acc_init(struct wn_st_acc *a, size_t max_fields, size_t max_langs)
{
	memset(a, 0, sizeof(*a));
	int s = wn_hist_init(&a->chars_hist);
	if (s >= 0)
		s = wn_hist_init(&a->words_hist);
	if (s >= 0)
		s = wn_hist_init(&a->tokens_hist);
	if (s >= 0)
		s = wn_st_map_init(&a->fields, max_fields);
	if (s >= 0)
		s = wn_st_map_init(&a->langs, max_langs);
	if (s < 0)
		wn_st_acc_release(a);
	return s;
}

void wn_st_acc_release(struct wn_st_acc *a)
{
	wn_hist_release(&a->chars_hist);
	wn_hist_release(&a->words_hist);
	wn_hist_release(&a->tokens_hist);
	wn_st_map_release(&a->fields);
	wn_st_map_release(&a->langs);
	memset(a, 0, sizeof(*a));
}

void wn_st_acc_reset(struct wn_st_acc *a)
{
	a->records = a->skipped = a->bytes = a->file_bytes = a->text_bytes = 0;
	a->chars = a->words = a->lines = a->tokens = 0;
	a->no_text = a->with_tokens = a->shards = 0;
	wn_hist_reset(&a->chars_hist);
	wn_hist_reset(&a->words_hist);
	wn_hist_reset(&a->tokens_hist);
	wn_st_map_reset(&a->fields);
	wn_st_map_reset(&a->langs);
}

static int merge_map(struct wn_st_map *dst, const struct wn_st_map *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct wn_st_entry *se = &src->v[i];
		struct wn_st_entry *e;
		WN_TRY(wn_st_map_get(dst, se->name, se->len, &e));
		if (!e) {
			dst->untracked += se->records;
			continue;
		}
		/* a new entry's stamp stays 0, which no record of dst has */
		e->records += se->records;
		e->chars += se->chars;
	}
	dst->untracked += src->untracked;
	return WN_OK;
}

int wn_st_acc_merge(struct wn_st_acc *dst, const struct wn_st_acc *src)
{
	dst->records += src->records;
	dst->skipped += src->skipped;
	dst->bytes += src->bytes;
	dst->file_bytes += src->file_bytes;
	dst->text_bytes += src->text_bytes;
	dst->chars += src->chars;
	dst->words += src->words;
	dst->lines += src->lines;
	dst->tokens += src->tokens;
	dst->no_text += src->no_text;
	dst->with_tokens += src->with_tokens;
	dst->shards += src->shards;
	WN_TRY(wn_hist_merge(&dst->chars_hist, &src->chars_hist));
	WN_TRY(wn_hist_merge(&dst->words_hist, &src->words_hist));
	WN_TRY(wn_hist_merge(&dst->tokens_hist, &src->tokens_hist));
	WN_TRY(merge_map(&dst->fields, &src->fields));
	return merge_map(&dst->langs, &src->langs);
}

void wn_st_scratch_init(struct wn_st_scratch *s)
{
	wn_buf_init(&s->text, WN_BUF_UNLIMITED);
	wn_buf_init(&s->key, WN_BUF_UNLIMITED);
	wn_buf_init(&s->lang, WN_BUF_UNLIMITED);
	wn_fl_words_init(&s->words);
}

void wn_st_scratch_release(struct wn_st_scratch *s)
{
	wn_buf_release(&s->text);
	wn_buf_release(&s->key);
	wn_buf_release(&s->lang);
	wn_fl_words_release(&s->words);
}

/* ---- one record ------------------------------------------------------------------- */

/* A string value's content: the raw bytes between the quotes, or decoded
 * into buf when it has escapes. */
static int string_value(const char *p, const struct wn_json_value *v, struct wn_buf *buf,
                        const char **s, size_t *n)
{
	if (!v->escaped) {
		*s = p + v->offset + 1;
		*n = v->len - 2;
		return WN_OK;
	}
	wn_buf_reset(buf);
	WN_TRY(wn_json_unescape(p + v->offset, v->len, buf));
	*s = buf->data ? buf->data : "";
	*n = buf->len;
	return WN_OK;
}

/* A member's key, decoded into buf (after `prefix`) when it has escapes. */
static int member_key(const char *p, const struct wn_st_member *m, struct wn_buf *buf,
                      size_t prefix, const char **k, size_t *n)
{
	if (!m->key_escaped && !prefix) {
		*k = p + m->key_off;
		*n = m->key_len;
		return WN_OK;
	}
	wn_buf_truncate(buf, prefix);
	if (m->key_escaped)
		WN_TRY(wn_json_unescape(p + m->key_off - 1, m->key_len + 2, buf));
	else
		WN_TRY(wn_buf_add(buf, p + m->key_off, m->key_len));
	*k = buf->data;
	*n = buf->len;
	return WN_OK;
}

static int same(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && memcmp(a, b, an) == 0;
}

struct found {
	struct wn_json_value text, ids, meta;
	int has_text, has_ids, has_meta;
};

/* Count the keys of metadata as "metadata.KEY"; *lang receives the value
 * of its last "language". */
static int metadata(struct wn_st_acc *a, struct wn_st_scratch *s, const char *p,
                    const struct wn_json_value *meta, uint64_t stamp,
                    struct wn_json_value *lang, int *has_lang)
{
	static const char prefix[] = "metadata.";
	const char *mp = p + meta->offset;
	struct wn_st_iter it;
	struct wn_st_member m;
	wn_buf_reset(&s->key);
	WN_TRY(wn_buf_add(&s->key, prefix, sizeof(prefix) - 1));
	wn_st_iter_init(&it, mp, meta->len);
	while (wn_st_iter_next(&it, &m)) {
		const char *k;
		size_t kn;
		WN_TRY(member_key(mp, &m, &s->key, sizeof(prefix) - 1, &k, &kn));
		WN_TRY(count_name(&a->fields, k, kn, stamp, 0));
		if (same(k + sizeof(prefix) - 1, kn - (sizeof(prefix) - 1), "language", 8)) {
			*lang = m.val;
			lang->offset += meta->offset;
			*has_lang = 1;
		}
	}
	return WN_OK;
}

static int text(struct wn_st_acc *a, struct wn_st_scratch *s, const char *p,
                const struct found *f, uint64_t *chars)
{
	*chars = 0;
	if (!f->has_text || f->text.type != WN_JSON_STRING) {
		a->no_text++;
		return WN_OK;
	}
	const char *t;
	size_t n;
	WN_TRY(string_value(p, &f->text, &s->text, &t, &n));
	uint64_t words = 0, lines = 0;
	WN_TRY(wn_fl_count_words(t, n, &words, &s->words));
	size_t pos = 0, ls, le;
	while (wn_fl_splitlines(t, n, &pos, &ls, &le))
		lines++;
	*chars = wn_fl_count_cps(t, n);
	WN_TRY(wn_hist_add(&a->chars_hist, *chars));
	WN_TRY(wn_hist_add(&a->words_hist, words));
	a->text_bytes += n;
	a->chars += *chars;
	a->words += words;
	a->lines += lines;
	return WN_OK;
}

int wn_st_record(struct wn_st_acc *a, struct wn_st_scratch *s, const struct wn_st_config *c,
                 const char *p, size_t n)
{
	uint64_t stamp = ++a->records;
	a->bytes += n + 1;
	struct found f;
	memset(&f, 0, sizeof(f));
	struct wn_st_iter it;
	struct wn_st_member m;
	wn_st_iter_init(&it, p, n);
	while (wn_st_iter_next(&it, &m)) {
		const char *k;
		size_t kn;
		WN_TRY(member_key(p, &m, &s->key, 0, &k, &kn));
		WN_TRY(count_name(&a->fields, k, kn, stamp, 0));
		/* the last of a repeated key is the one that counts */
		if (same(k, kn, c->text_field, c->text_len)) {
			f.text = m.val;
			f.has_text = 1;
		}
		if (same(k, kn, c->ids_field, c->ids_len)) {
			f.ids = m.val;
			f.has_ids = 1;
		}
		if (same(k, kn, "metadata", 8)) {
			f.meta = m.val;
			f.has_meta = 1;
		}
	}
	struct wn_json_value lang = { 0 };
	int has_lang = 0;
	if (f.has_meta && f.meta.type == WN_JSON_OBJECT)
		WN_TRY(metadata(a, s, p, &f.meta, stamp, &lang, &has_lang));
	uint64_t chars;
	WN_TRY(text(a, s, p, &f, &chars));
	if (f.has_ids && f.ids.type == WN_JSON_ARRAY) {
		uint64_t k = wn_st_array_len(p + f.ids.offset, f.ids.len);
		WN_TRY(wn_hist_add(&a->tokens_hist, k));
		a->tokens += k;
		a->with_tokens++;
	}
	if (has_lang && lang.type == WN_JSON_STRING) {
		const char *l;
		size_t ln;
		WN_TRY(string_value(p, &lang, &s->lang, &l, &ln));
		WN_TRY(count_name(&a->langs, l, ln, stamp, chars));
	}
	return WN_OK;
}
