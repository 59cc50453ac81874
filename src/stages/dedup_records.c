/*
 * dedup_records.c - the records of the dedup stage: the per-record work
 * (text, normalisation, digests, lines, MinHash signatures) spread over the
 * worker threads, then the decisions, made on this thread in input order
 * against the one set or index, then the output.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "stages/dedup_int.h"

/* ---- per-record work (any thread) ------------------------------------------------------ */

__attribute__((format(printf, 3, 4)))
static void item_error(struct item *it, int status, const char *fmt, ...)
{
	it->status = status;
	if (!it->err && !(it->err = malloc(sizeof(*it->err))))
		return;
	wn_error_clear(it->err);
	char msg[WN_ERROR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wn_error_set(it->err, status, it->rec->file, it->rec->line, "%s", msg);
}

/* The record's text, or an error on the item. */
static int get_text(const struct dedup_state *d, struct item *it, const char **s, size_t *n)
{
	int r = wn_record_get_string(it->rec, d->text_field, s, n);
	if (r == 1)
		return WN_OK;
	if (r == 0)
		item_error(it, WN_EDATA, "no field '%s' to deduplicate", d->text_field);
	else if (r == WN_EDATA)
		item_error(it, WN_EDATA, "field '%s' is not a string", d->text_field);
	else
		item_error(it, r, "%s", wn_strerror(r));
	return it->status;
}

/* Find a dotted path in the record: 1 with *v (offsets into the raw bytes),
 * 0 when a part is missing or not an object. */
static int get_path(struct wn_record *rec, const struct key_path *kp, struct wn_json_value *v)
{
	int r = wn_record_get(rec, kp->seg[0], v);
	for (size_t i = 1; r == 1 && i < kp->nseg; i++) {
		if (v->type != WN_JSON_OBJECT)
			return 0;
		struct wn_json_value in;
		size_t base = v->offset;
		r = wn_json_get(rec->raw.data + base, v->len, kp->seg[i], strlen(kp->seg[i]), &in);
		if (r < 0)
			return WN_EDATA;
		*v = in;
		v->offset += base;
	}
	return r;
}

/* The digest of the --key values: for each, a type byte ('s' for a string,
 * normalised; 'j' for any other JSON value, its text), the length and the
 * bytes, so that no two different lists of values run together alike. */
static int key_digest(const struct dedup_state *d, struct scratch *w, struct item *it)
{
	struct wn_buf *b = &w->key;
	wn_buf_reset(b);
	for (size_t k = 0; k < d->nkeys; k++) {
		struct wn_json_value v;
		int r = get_path(it->rec, &d->keys[k], &v);
		if (r <= 0) {
			item_error(it, WN_EDATA, "no field '%s' (--key)", d->keys[k].name);
			return it->status;
		}
		const char *p = it->rec->raw.data + v.offset;
		size_t n = v.len;
		char type = 'j';
		if (v.type == WN_JSON_STRING) {
			type = 's';
			if (v.escaped) {
				wn_buf_reset(&w->unesc);
				r = wn_json_unescape(p, n, &w->unesc);
				p = w->unesc.data;
				n = w->unesc.len;
			} else {
				p++;
				n -= 2;
			}
			if (r >= 0)
				r = wn_dd_normalize(&w->z, d->norm, p, n, &p, &n);
			if (r < 0) {
				item_error(it, r, "%s", wn_strerror(r));
				return r;
			}
		}
		unsigned char len[8]; /* little-endian, so indexes move between machines */
		for (int i = 0; i < 8; i++)
			len[i] = (unsigned char)((uint64_t)n >> (8 * i));
		r = wn_buf_addc(b, type);
		if (r >= 0)
			r = wn_buf_add(b, len, sizeof(len));
		if (r >= 0)
			r = wn_buf_add(b, p, n);
		if (r < 0) {
			item_error(it, r, "%s", wn_strerror(r));
			return r;
		}
	}
	it->d = wn_dd_digest_of(b->data, b->len);
	return WN_OK;
}

/* Count code points: every byte that is not a UTF-8 continuation byte. */
static size_t chars_of(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static void hash_lines(const struct dedup_state *d, struct scratch *w, struct item *it)
{
	if (get_text(d, it, &it->text, &it->textlen) < 0)
		return;
	int r = wn_dd_split(it->text, it->textlen, d->paragraphs, &it->pieces);
	for (size_t k = 0; r >= 0 && k < it->pieces.n; k++) {
		struct wn_dd_piece *p = &it->pieces.v[k];
		const char *s;
		size_t n;
		r = wn_dd_normalize(&w->z, d->norm, it->text + p->off, p->len, &s, &n);
		if (r < 0)
			break;
		if (n == 0 || chars_of(s, n) < d->min_chars)
			continue;
		p->eligible = 1;
		p->d = wn_dd_digest_of(s, n);
	}
	if (r < 0)
		item_error(it, r, "%s", wn_strerror(r));
}

static void hash_one(void *arg, unsigned worker, size_t i)
{
	struct batch *b = arg;
	struct dedup_state *d = b->d;
	struct scratch *w = &d->ws[worker];
	struct item *it = &b->items[i];
	const char *text, *s;
	size_t n, sn;
	int r;
	switch (d->mode) {
	case MODE_EXACT:
		if (d->nkeys) {
			key_digest(d, w, it);
			return;
		}
		if (get_text(d, it, &text, &n) < 0)
			return;
		r = wn_dd_normalize(&w->z, d->norm, text, n, &s, &sn);
		if (r < 0) {
			item_error(it, r, "%s", wn_strerror(r));
			return;
		}
		it->d = wn_dd_digest_of(s, sn);
		return;
	case MODE_LINES:
		hash_lines(d, w, it);
		return;
	case MODE_NEAR:
		if (get_text(d, it, &text, &n) < 0)
			return;
		r = wn_dd_normalize(&w->z, d->norm, text, n, &s, &sn);
		if (r < 0) {
			item_error(it, r, "%s", wn_strerror(r));
			return;
		}
		it->shingles = wn_minhash_signature(w->mh, s, sn, b->sigs + i * d->hashes);
		return;
	}
}

/* ---- decisions (this thread, input order) ------------------------------------------------ */

/* The id of a record as JSON text, in d->idtext: its --id-field value, or
 * for a record without one the id `read --add-id` would give it,
 * "{file}/{line - 1}". */
static int record_id(struct dedup_state *d, struct wn_record *rec)
{
	wn_buf_reset(&d->idtext);
	struct wn_json_value v;
	int r = wn_record_get(rec, d->id_field, &v);
	if (r < 0)
		return r;
	if (r == 1)
		return wn_buf_add(&d->idtext, rec->raw.data + v.offset, v.len);
	char id[4096];
	const char *file = rec->file ? rec->file : "stdin";
	int len = snprintf(id, sizeof(id), "%s/%" PRIu64,
	                   strcmp(file, "-") == 0 ? "stdin" : file,
	                   rec->line ? rec->line - 1 : 0);
	if (len < 0 || (size_t)len >= sizeof(id))
		len = (int)sizeof(id) - 1;
	return wn_json_escape(&d->idtext, id, (size_t)len);
}

/* Add to metadata: duplicate_of (the JSON text dup[0..dn), or null when
 * dn is 0; nothing when dup is NULL) and cluster (when >= 0). */
static int mark_record(struct wn_stage *st, struct wn_record *rec, const char *dup, size_t dn,
                       int64_t cluster)
{
	struct wn_error *err = &st->run->err;
	json_t *o = wn_record_object(rec, err);
	if (!o) {
		st->run->err_stage = st;
		return err->status;
	}
	json_t *md = json_object_get(o, "metadata");
	if (!md) {
		md = json_object();
		if (!md || json_object_set_new(o, "metadata", md) != 0)
			return WN_ENOMEM;
	} else if (!json_is_object(md)) {
		return wn_stage_error(st, WN_EDATA, rec->file, rec->line,
		                      "field 'metadata' is not an object (--mark adds to it)");
	}
	if (dup) {
		json_t *v = dn ? json_loadb(dup, dn, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
		               : json_null();
		if (!v || json_object_set_new(md, "duplicate_of", v) != 0)
			return WN_ENOMEM;
	}
	if (cluster >= 0 && json_object_set_new(md, "cluster", json_integer(cluster)) != 0)
		return WN_ENOMEM;
	wn_record_touch(rec);
	return WN_OK;
}

/* Pass the record on, or drop it under reason.  Consumes it. */
static int keep(struct wn_emitter *out, struct wn_record *rec)
{
	return wn_emit(out, rec);
}

static int drop(struct wn_stage *st, struct wn_record *rec, const char *reason)
{
	wn_stats_drop(&st->stats, reason);
	wn_record_free(rec);
	return WN_OK;
}

static int oom(struct wn_stage *st, struct wn_record *rec, int s)
{
	return wn_stage_error(st, s, rec->file, rec->line, "%s", wn_strerror(s));
}

static int decide_exact(struct wn_stage *st, struct item *it, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	struct wn_record *rec = it->rec;
	it->rec = NULL;
	int dup;
	uint64_t ref = 0, old = 0;
	if (d->ix.kind == WN_DD_BLOOM) {
		dup = wn_dd_bloom_add(&d->ix.bloom, it->d);
	} else {
		if (d->ix.with_ids) {
			int s = record_id(d, rec);
			if (s >= 0)
				s = wn_dd_index_add_id(&d->ix, d->idtext.data, d->idtext.len, &ref);
			if (s == WN_ETOOBIG)
				s = wn_stage_error(st, s, rec->file, rec->line,
				                   "field '%s' is longer than %d bytes", d->id_field,
				                   WN_DD_ID_MAX);
			if (s < 0) {
				s = oom(st, rec, s);
				wn_record_free(rec);
				return s;
			}
		}
		dup = wn_dd_set_insert(&d->ix.set, it->d, ref, &old);
		if (dup < 0) {
			int s = oom(st, rec, dup);
			wn_record_free(rec);
			return s;
		}
		if (dup && ref)
			wn_dd_index_drop_id(&d->ix, ref);
	}
	if (!dup)
		return keep(out, rec);
	d->dup_exact++;
	if (!d->mark)
		return drop(st, rec, "duplicate");
	const char *id = "";
	size_t n = 0;
	wn_dd_index_id(&d->ix, old, &id, &n);
	int s = mark_record(st, rec, id, n, -1);
	if (s < 0) {
		wn_record_free(rec);
		return s;
	}
	d->changed++;
	return keep(out, rec);
}

static int only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t w = wn_dd_space_len((const unsigned char *)s + i, n - i);
		if (!w)
			return 0;
		i += w;
	}
	return 1;
}

static int decide_lines(struct wn_stage *st, struct item *it, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	struct wn_record *rec = it->rec;
	it->rec = NULL;
	struct wn_dd_pieces *ps = &it->pieces;
	int bloom = d->ix.kind == WN_DD_BLOOM;
	size_t removed = 0;
	/* seen in an earlier record: look everything up before adding any, so
	 * that a line repeated inside one record stays */
	for (size_t k = 0; k < ps->n; k++) {
		struct wn_dd_piece *p = &ps->v[k];
		if (!p->eligible)
			continue;
		p->removed = bloom ? wn_dd_bloom_contains(&d->ix.bloom, p->d)
		                   : wn_dd_set_contains(&d->ix.set, p->d, NULL);
		removed += (size_t)p->removed;
	}
	for (size_t k = 0; k < ps->n; k++) {
		struct wn_dd_piece *p = &ps->v[k];
		if (!p->eligible || p->removed)
			continue;
		int s = bloom ? wn_dd_bloom_add(&d->ix.bloom, p->d)
		              : wn_dd_set_insert(&d->ix.set, p->d, 0, NULL);
		if (s < 0) {
			s = oom(st, rec, s);
			wn_record_free(rec);
			return s;
		}
	}
	if (!removed)
		return keep(out, rec);
	d->pieces_removed += removed;
	int s = wn_dd_join(it->text, ps, &d->joined);
	if (s >= 0 && only_space(d->joined.data, d->joined.len)) {
		d->emptied++;
		return drop(st, rec, d->paragraphs ? "all_paragraphs_duplicate"
		                                   : "all_lines_duplicate");
	}
	json_t *o = s >= 0 ? wn_record_object(rec, &st->run->err) : NULL;
	if (s >= 0 && !o) {
		st->run->err_stage = st;
		s = st->run->err.status;
	}
	if (s >= 0) {
		json_t *v = json_stringn(d->joined.data, d->joined.len);
		if (!v || json_object_set_new(o, d->text_field, v) != 0)
			s = WN_ENOMEM;
	}
	if (s < 0) {
		if (s == WN_ENOMEM)
			s = oom(st, rec, s);
		wn_record_free(rec);
		return s;
	}
	wn_record_touch(rec);
	d->changed++;
	return keep(out, rec);
}

static int decide_near(struct wn_stage *st, struct batch *b, size_t i, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	struct item *it = &b->items[i];
	struct wn_record *rec = it->rec;
	it->rec = NULL;
	const uint64_t *sig = b->sigs + i * d->hashes;
	int s = WN_OK;
	if (d->mark)
		s = record_id(d, rec);
	struct wn_minhash_match m;
	if (s >= 0)
		s = wn_minhash_index_add(d->mh, sig, d->mark ? d->idtext.data : NULL,
		                         d->mark ? d->idtext.len : 0, &m, &st->run->err);
	if (s < 0) {
		if (st->run->err.status < 0)
			st->run->err_stage = st;
		else
			s = oom(st, rec, s);
		wn_record_free(rec);
		return s;
	}
	if (m.duplicate)
		d->dup_near++;
	if (!d->mark) {
		if (m.duplicate)
			return drop(st, rec, "near_duplicate");
		return keep(out, rec);
	}
	if (m.entry == WN_MINHASH_NONE) /* no shingles: neither kept nor matched */
		return keep(out, rec);
	const char *label = NULL;
	size_t len = 0;
	if (m.duplicate && wn_minhash_index_label(d->mh, m.entry, &label, &len, NULL) < 0)
		len = 0;
	s = mark_record(st, rec, m.duplicate ? (label ? label : "") : NULL, len,
	                (int64_t)m.entry);
	if (s < 0) {
		wn_record_free(rec);
		return s;
	}
	d->changed++;
	return keep(out, rec);
}

/* Decide the records of a hashed batch in input order and pass them on;
 * the first record that failed stops it (and the run). */
static int decide_batch(struct wn_stage *st, struct batch *b, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	int s = WN_OK;
	for (size_t i = 0; i < b->n; i++) {
		struct item *it = &b->items[i];
		if (it->status < 0) {
			s = it->status;
			wn_stage_error(st, s, NULL, 0, "%s", it->err ? it->err->msg : wn_strerror(s));
			break;
		}
		switch (d->mode) {
		case MODE_EXACT:
			if (i + PREFETCH < b->n && d->ix.kind == WN_DD_SET)
				wn_dd_set_prefetch(&d->ix.set, b->items[i + PREFETCH].d);
			s = decide_exact(st, it, out);
			break;
		case MODE_LINES:
			s = decide_lines(st, it, out);
			break;
		case MODE_NEAR:
			s = decide_near(st, b, i, out);
			break;
		}
		if (s != WN_OK)
			break;
	}
	for (size_t k = 0; k < b->n; k++) {
		wn_record_free(b->items[k].rec);
		b->items[k].rec = NULL;
	}
	b->n = 0;
	b->bytes = 0;
	return s;
}

/*
 * The filling batch is full (or the input ended): finish hashing the busy
 * batch (this thread helps), start the full one on the workers, then decide
 * the finished one while they hash.  Batches are decided in input order,
 * each after the one before it, so the output does not depend on the
 * thread count.
 */
static int submit(struct wn_stage *st, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	struct batch *full = d->fill, *done = d->busy;
	if (done)
		wn_pool_wait(d->pool);
	d->busy = NULL;
	if (full->n) {
		wn_pool_start(d->pool, full->n, hash_one, full);
		d->busy = full;
	}
	d->fill = full == &d->b[0] ? &d->b[1] : &d->b[0];
	return done ? decide_batch(st, done, out) : WN_OK;
}

int dedup_flush(struct wn_stage *st, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	WN_TRY(submit(st, out));
	struct batch *b = d->busy;
	if (!b)
		return WN_OK;
	wn_pool_wait(d->pool);
	d->busy = NULL;
	return decide_batch(st, b, out);
}

int dedup_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	struct batch *b = d->fill;
	struct item *it = &b->items[b->n++];
	it->rec = rec;
	it->status = WN_OK;
	it->shingles = 0;
	b->bytes += rec->raw.len;
	if (b->n < BATCH_RECORDS && b->bytes < BATCH_BYTES)
		return WN_OK;
	return submit(st, out);
}
