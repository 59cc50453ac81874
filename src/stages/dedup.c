/*
 * dedup.c - the dedup stage: drops (or, with --mark, marks) records whose
 * text, or chosen fields, were seen before; or removes lines and paragraphs
 * seen in earlier records; or drops near-duplicates found by MinHash LSH.
 *
 * Records are taken in batches.  The per-record work (normalising, hashing,
 * cutting into lines, MinHash signatures) is spread over --threads workers;
 * the decisions are then made on this thread, in input order, against one
 * set, so the output and the saved index never depend on the thread count.
 * A record that is kept unchanged is passed on with its bytes untouched.
 *
 * This file holds the options, the setting up (and loading an index) and
 * the end (saving it, --stats); dedup_records.c handles the records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/registry.h"
#include "stages/dedup_int.h"

/* ---- options ------------------------------------------------------------------ */

enum { NORM_AUTO = 0 }; /* then the wn_dd_norm levels, shifted by one */

struct dedup_opts {
	int normalize;
	struct wn_opt_list key;
	int lines;
	int paragraphs;
	uint64_t min_line_chars;
	int near;
	const char *preset;
	const char *shingle;
	const char *ngram; /* strings: unset differs from any number */
	const char *bands;
	const char *rows;
	uint64_t seed;
	double verify_jaccard;
	int mark;
	const char *index;
	int bloom;
	uint64_t expected;
	double fp_rate;
};

#define OPT(field) offsetof(struct dedup_opts, field)

static const struct wn_option dedup_options[] = {
	{ "normalize", 0, WN_OPT_CHOICE, OPT(normalize), "LEVEL", "auto",
	  "auto|none|whitespace|nfkc-casefold|datatrove",
	  "text normalisation: auto|none|whitespace|nfkc-casefold|datatrove "
	  "(auto: datatrove with --near, else whitespace)", 0 },
	{ "key", 'k', WN_OPT_LIST, OPT(key), "FIELD", NULL, NULL,
	  "deduplicate on this field instead of the text (a dotted path: metadata.url)", 0 },
	{ "lines", 0, WN_OPT_FLAG, OPT(lines), NULL, NULL, NULL,
	  "remove lines seen in earlier records; drop records left empty", 0 },
	{ "paragraphs", 0, WN_OPT_FLAG, OPT(paragraphs), NULL, NULL, NULL,
	  "the same for paragraphs (split on blank lines)", 0 },
	{ "min-line-chars", 0, WN_OPT_UINT, OPT(min_line_chars), "N", "10", NULL,
	  "shorter lines or paragraphs (normalised, in characters) are never removed", 0 },
	{ "near", 0, WN_OPT_FLAG, OPT(near), NULL, NULL, NULL,
	  "near-duplicates: MinHash LSH over shingles of the normalised text", 0 },
	{ "preset", 0, WN_OPT_STRING, OPT(preset), "NAME", NULL, NULL,
	  "MinHash parameters: default (words, 5-grams, 14x8) or nemo (24 chars, 20x13)", 0 },
	{ "shingle", 0, WN_OPT_STRING, OPT(shingle), "KIND", NULL, NULL,
	  "words or chars (default: words)", 0 },
	{ "ngram", 0, WN_OPT_STRING, OPT(ngram), "N", NULL, NULL,
	  "words or characters per shingle (default: 5)", 0 },
	{ "bands", 0, WN_OPT_STRING, OPT(bands), "N", NULL, NULL, "LSH bands (default: 14)", 0 },
	{ "rows", 0, WN_OPT_STRING, OPT(rows), "N", NULL, NULL,
	  "hashes per band (default: 8)", 0 },
	{ "seed", 0, WN_OPT_UINT, OPT(seed), "N", "1", NULL,
	  "seed of the shingle hashes and permutations", 0 },
	{ "verify-jaccard", 0, WN_OPT_DOUBLE, OPT(verify_jaccard), "T", NULL, NULL,
	  "confirm a candidate only when its estimated Jaccard is at least T", 0 },
	{ "mark", 0, WN_OPT_FLAG, OPT(mark), NULL, NULL, NULL,
	  "keep every record; add metadata.duplicate_of (and .cluster with --near)", 0 },
	{ "index", 0, WN_OPT_STRING, OPT(index), "FILE", NULL, NULL,
	  "load what earlier runs saw from FILE (if it exists); save it there at the end", 0 },
	{ "bloom", 0, WN_OPT_FLAG, OPT(bloom), NULL, NULL, NULL,
	  "bounded memory: a Bloom filter instead of the exact set (with --expected)", 0 },
	{ "expected", 0, WN_OPT_UINT, OPT(expected), "N", NULL, NULL,
	  "--bloom: how many unique records (or lines) to size the filter for", 0 },
	{ "fp-rate", 0, WN_OPT_DOUBLE, OPT(fp_rate), "P", "0.001", NULL,
	  "--bloom: the share of unique records wrongly dropped at --expected", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

static const char *const mode_names[] = { "exact", "lines", "near" };

/* ---- setting up ------------------------------------------------------------------- */

static int usage(struct wn_stage *st, const char *msg)
{
	return wn_stage_error(st, WN_EUSAGE, NULL, 0, "%s", msg);
}

static int check_options(struct wn_stage *st, const struct dedup_opts *o)
{
	if (o->lines + o->paragraphs + o->near > 1)
		return usage(st, "choose one of --lines, --paragraphs and --near");
	if (o->key.n && (o->lines || o->paragraphs || o->near))
		return usage(st, "--key applies to exact dedup only, not with --lines, "
		                 "--paragraphs or --near");
	if (o->mark && (o->lines || o->paragraphs))
		return usage(st, "--mark does not apply to --lines or --paragraphs, which "
		                 "change records instead of dropping them");
	if (o->bloom && o->near)
		return usage(st, "--bloom applies to exact and line dedup, not to --near");
	if (o->bloom && o->mark)
		return usage(st, "--mark needs the id of each kept record, which a Bloom "
		                 "filter does not keep; drop --bloom");
	if (!o->bloom && o->expected)
		return usage(st, "--expected sizes a Bloom filter: add --bloom");
	if (!o->near && (o->preset || o->shingle || o->ngram || o->bands || o->rows ||
	                 o->verify_jaccard != 0))
		return usage(st, "--preset, --shingle, --ngram, --bands, --rows and "
		                 "--verify-jaccard need --near");
	if (o->verify_jaccard < 0 || o->verify_jaccard > 1)
		return usage(st, "--verify-jaccard must be between 0 and 1");
	return WN_OK;
}

static int parse_keys(struct wn_stage *st, struct dedup_state *d, const struct dedup_opts *o)
{
	d->nkeys = o->key.n;
	if (!d->nkeys)
		return WN_OK;
	d->keys = calloc(d->nkeys, sizeof(*d->keys));
	if (!d->keys)
		return WN_ENOMEM;
	for (size_t k = 0; k < d->nkeys; k++) {
		const char *name = o->key.v[k];
		struct key_path *kp = &d->keys[k];
		kp->name = name;
		size_t nseg = 1;
		for (const char *p = name; *p; p++)
			nseg += *p == '.';
		kp->seg = calloc(nseg, sizeof(*kp->seg));
		if (!kp->seg)
			return WN_ENOMEM;
		const char *p = name;
		for (size_t i = 0; i < nseg; i++) {
			const char *dot = strchr(p, '.');
			size_t len = dot ? (size_t)(dot - p) : strlen(p);
			if (len == 0)
				return wn_stage_error(st, WN_EUSAGE, NULL, 0,
				                      "--key '%s': empty field name", name);
			kp->seg[i] = strndup(p, len);
			if (!kp->seg[i])
				return WN_ENOMEM;
			kp->nseg++;
			p += len + 1;
		}
	}
	return WN_OK;
}

/* The parameters that decide what the digests are of, as an index records
 * them: an index made with others cannot be reused. */
static int make_params(struct dedup_state *d, const struct dedup_opts *o)
{
	struct wn_buf b = WN_BUF_INIT;
	int s = wn_buf_printf(&b, "mode=%s\nnormalize=%s\n",
	                      d->mode == MODE_LINES ? (d->paragraphs ? "paragraphs" : "lines")
	                                            : mode_names[d->mode],
	                      wn_dd_norm_name(d->norm));
	if (s >= 0 && d->mode == MODE_EXACT) {
		s = wn_buf_adds(&b, "key=");
		for (size_t k = 0; s >= 0 && k < d->nkeys; k++)
			s = wn_buf_printf(&b, "%s%s", k ? "," : "", d->keys[k].name);
		if (s >= 0 && !d->nkeys)
			s = wn_buf_adds(&b, "(text)");
		if (s >= 0)
			s = wn_buf_addc(&b, '\n');
	}
	if (s >= 0 && d->mode == MODE_LINES)
		s = wn_buf_printf(&b, "min-line-chars=%" PRIu64 "\n", d->min_chars);
	if (s >= 0 && o->bloom)
		s = wn_buf_printf(&b, "bloom-expected=%" PRIu64 "\nbloom-fp-rate=%g\n", o->expected,
		                  o->fp_rate);
	if (s < 0) {
		wn_buf_release(&b);
		return s;
	}
	d->params = wn_buf_detach(&b, NULL);
	return d->params ? WN_OK : WN_ENOMEM;
}

static int index_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

/* The index is written at the end, after all the output: find out now
 * whether it can be, by making (and removing) the temporary it will use. */
static int check_writable(struct wn_stage *st, const char *path)
{
	struct wn_dd_atomic a;
	int s = wn_dd_atomic_open(&a, path, &st->run->err);
	if (s < 0) {
		st->run->err_stage = st;
		return s;
	}
	wn_dd_atomic_abort(&a);
	return WN_OK;
}

/* An index of the other family (digests vs MinHash) is a usage error that
 * says so, rather than a "bad magic". */
static int check_family(struct wn_stage *st, const struct dedup_state *d)
{
	char magic[WN_DD_MAGIC_LEN];
	if (wn_dd_file_magic(d->index_path, magic, NULL) < 0)
		return WN_OK; /* the loader reports it */
	if (d->mode == MODE_NEAR && memcmp(magic, WN_DD_MAGIC, WN_DD_MAGIC_LEN) == 0)
		return wn_stage_error(st, WN_EUSAGE, d->index_path, 0,
		                      "index is a digest index (exact or line-level dedup), "
		                      "this run uses --near");
	if (d->mode != MODE_NEAR && memcmp(magic, WN_DD_MINHASH_MAGIC, WN_DD_MAGIC_LEN) == 0)
		return wn_stage_error(st, WN_EUSAGE, d->index_path, 0,
		                      "index is a MinHash index (--near), this run uses %s",
		                      d->mode == MODE_EXACT ? "exact dedup"
		                      : d->paragraphs       ? "--paragraphs"
		                                            : "--lines");
	return WN_OK;
}

static int setup_digests(struct wn_stage *st, struct dedup_state *d, const struct dedup_opts *o)
{
	enum wn_dd_kind kind = o->bloom ? WN_DD_BLOOM : WN_DD_SET;
	struct wn_error *err = &st->run->err;
	if (d->index_path && index_exists(d->index_path)) {
		WN_TRY(check_family(st, d));
		int s = wn_dd_index_load(&d->ix, d->index_path, err);
		if (s < 0) {
			st->run->err_stage = st;
			return s;
		}
		s = wn_dd_index_check(&d->ix, kind, d->params, d->index_path, err);
		if (s < 0) {
			st->run->err_stage = st;
			return s;
		}
		d->loaded = wn_dd_index_entries(&d->ix);
		/* --mark keeps ids, also for what an index without them holds; an
		 * index that has them goes on keeping them */
		if (d->mark)
			WN_TRY(wn_dd_index_keep_ids(&d->ix));
		return WN_OK;
	}
	WN_TRY(wn_dd_index_init(&d->ix, kind, d->params, d->mark));
	if (kind == WN_DD_BLOOM) {
		int s = wn_dd_bloom_init(&d->ix.bloom, o->expected, o->fp_rate, err);
		if (s < 0) {
			st->run->err_stage = st;
			return s;
		}
	}
	return WN_OK;
}

/* A MinHash size option: digits, saturating at UINT32_MAX (the parameter
 * check then names it). */
static int parse_count(struct wn_stage *st, const char *name, const char *v, uint32_t *out)
{
	uint64_t x = 0;
	if (!*v)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0, "--%s: expected a number", name);
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9')
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--%s: invalid value '%s'", name, v);
		x = x * 10 + (uint64_t)(*p - '0');
		if (x > UINT32_MAX)
			x = UINT32_MAX;
	}
	*out = (uint32_t)x;
	return WN_OK;
}

static int setup_near(struct wn_stage *st, struct dedup_state *d, const struct dedup_opts *o)
{
	struct wn_error *err = &st->run->err;
	wn_minhash_params_default(&d->mp);
	d->mp.seed = o->seed;
	int s = WN_OK;
	if (o->preset)
		s = wn_minhash_params_preset(&d->mp, o->preset, err);
	if (s >= 0 && o->shingle)
		s = wn_minhash_shingle_parse(o->shingle, &d->mp.shingle, err);
	if (s >= 0 && o->ngram)
		s = parse_count(st, "ngram", o->ngram, &d->mp.ngram);
	if (s >= 0 && o->bands)
		s = parse_count(st, "bands", o->bands, &d->mp.bands);
	if (s >= 0 && o->rows)
		s = parse_count(st, "rows", o->rows, &d->mp.rows);
	if (s >= 0)
		s = wn_minhash_params_check(&d->mp, err);
	if (s < 0) {
		st->run->err_stage = st;
		return s;
	}
	d->hashes = wn_minhash_params_hashes(&d->mp);
	for (int k = 0; k < 2; k++) {
		d->b[k].sigs = calloc((size_t)BATCH_RECORDS * d->hashes, sizeof(*d->b[k].sigs));
		if (!d->b[k].sigs)
			return WN_ENOMEM;
	}
	char context[64];
	snprintf(context, sizeof(context), "normalize=%s", wn_dd_norm_name(d->norm));
	double verify = o->verify_jaccard;
	if (d->index_path && index_exists(d->index_path)) {
		WN_TRY(check_family(st, d));
		FILE *f = fopen(d->index_path, "rb");
		if (!f)
			s = wn_error_errno(err, errno, d->index_path, "cannot open the index");
		else {
			s = wn_minhash_index_load(&d->mh, f, d->index_path, err);
			fclose(f);
		}
		if (s >= 0)
			s = wn_minhash_index_check(d->mh, &d->mp, context, verify > 0, d->index_path,
			                           err);
		if (s >= 0)
			s = wn_minhash_index_set_verify(d->mh, verify, err);
		if (s >= 0)
			d->loaded = wn_minhash_index_count(d->mh);
	} else {
		s = wn_minhash_index_new(&d->mh, &d->mp, verify, err);
		if (s >= 0)
			s = wn_minhash_index_set_context(d->mh, context, err);
	}
	if (s < 0)
		st->run->err_stage = st;
	return s;
}

static int dedup_init(struct wn_stage *st)
{
	struct dedup_opts *o = st->opts;
	WN_TRY(check_options(st, o));
	struct dedup_state *d = calloc(1, sizeof(*d));
	if (!d)
		return WN_ENOMEM;
	st->state = d;
	d->b[0].d = d;
	d->b[1].d = d;
	d->fill = &d->b[0];
	d->mode = o->near ? MODE_NEAR : (o->lines || o->paragraphs) ? MODE_LINES : MODE_EXACT;
	d->paragraphs = o->paragraphs;
	d->min_chars = o->min_line_chars;
	d->mark = o->mark;
	d->text_field = st->text_field;
	d->id_field = st->id_field;
	d->index_path = o->index;
	if (o->normalize == NORM_AUTO)
		d->norm = d->mode == MODE_NEAR ? WN_DD_NORM_DATATROVE : WN_DD_NORM_WHITESPACE;
	else
		d->norm = (enum wn_dd_norm)(o->normalize - 1);
	wn_buf_init(&d->idtext, WN_BUF_UNLIMITED);
	wn_buf_init(&d->joined, WN_BUF_UNLIMITED);
	WN_TRY(parse_keys(st, d, o));
	WN_TRY(make_params(d, o));
	if (d->index_path)
		WN_TRY(check_writable(st, d->index_path));
	if (d->mode == MODE_NEAR)
		WN_TRY(setup_near(st, d, o));
	else
		WN_TRY(setup_digests(st, d, o));
	d->nws = st->run->threads ? st->run->threads : 1;
	d->ws = calloc(d->nws, sizeof(*d->ws));
	if (!d->ws)
		return WN_ENOMEM;
	for (unsigned i = 0; i < d->nws; i++) {
		wn_dd_normalizer_init(&d->ws[i].z);
		wn_buf_init(&d->ws[i].key, WN_BUF_UNLIMITED);
		wn_buf_init(&d->ws[i].unesc, WN_BUF_UNLIMITED);
		if (d->mode == MODE_NEAR) {
			int s = wn_minhash_new(&d->ws[i].mh, &d->mp, &st->run->err);
			if (s < 0)
				return s;
		}
	}
	int s = wn_pool_new(&d->pool, d->nws);
	if (s < 0)
		return wn_stage_error(st, s, NULL, 0, "cannot start worker threads");
	return WN_OK;
}

/* ---- the end ----------------------------------------------------------------------- */

static int save_index(struct wn_stage *st)
{
	struct dedup_state *d = st->state;
	int s;
	if (d->mode == MODE_NEAR)
		s = wn_dd_minhash_save(d->mh, d->index_path, &st->run->err);
	else
		s = wn_dd_index_save(&d->ix, d->index_path, &st->run->err);
	if (s < 0)
		st->run->err_stage = st;
	return s;
}

static int set_u64(json_t *o, const char *k, uint64_t v)
{
	return json_object_set_new(o, k, json_integer((json_int_t)v));
}

/* The stage's members of --stats. */
static int make_stats(struct wn_stage *st)
{
	struct dedup_state *d = st->state;
	json_t *root = json_object(), *dd = json_object(), *dups = json_object(),
	       *ix = json_object();
	if (!root || !dd || !dups || !ix) {
		json_decref(root);
		json_decref(dd);
		json_decref(dups);
		json_decref(ix);
		return WN_ENOMEM;
	}
	json_object_set_new(root, "dedup", dd);
	json_object_set_new(dd, "mode", json_string(d->mode == MODE_LINES && d->paragraphs
	                                                    ? "paragraphs"
	                                                    : mode_names[d->mode]));
	json_object_set_new(dd, "normalize", json_string(wn_dd_norm_name(d->norm)));
	json_object_set_new(dd, "marked", json_boolean(d->mark));
	json_object_set_new(dd, "duplicates", dups);
	set_u64(dups, "exact", d->dup_exact);
	set_u64(dups, "near", d->dup_near);
	set_u64(dups, d->paragraphs ? "paragraphs" : "lines", d->pieces_removed);
	set_u64(dups, "emptied_records", d->emptied);
	set_u64(dd, "records_changed", d->changed);
	uint64_t entries;
	size_t mem;
	const char *kind;
	if (d->mode == MODE_NEAR) {
		kind = "minhash";
		entries = wn_minhash_index_count(d->mh);
		mem = wn_minhash_index_memory(d->mh);
	} else {
		kind = d->ix.kind == WN_DD_BLOOM ? "bloom" : "set";
		entries = wn_dd_index_entries(&d->ix);
		mem = wn_dd_index_memory(&d->ix);
	}
	json_object_set_new(dd, "index", ix);
	json_object_set_new(ix, "kind", json_string(kind));
	set_u64(ix, "entries", entries);
	set_u64(ix, "loaded_entries", d->loaded);
	set_u64(ix, "memory_bytes", mem);
	json_object_set_new(ix, "bytes_per_entry",
	                    json_real(entries ? (double)mem / (double)entries : 0.0));
	if (d->index_path) {
		json_object_set_new(ix, "file", json_string(d->index_path));
		struct stat sb;
		if (stat(d->index_path, &sb) == 0)
			set_u64(ix, "file_bytes", (uint64_t)sb.st_size);
	}
	json_decref(st->stats.extra);
	st->stats.extra = root;
	return WN_OK;
}

static int dedup_finish(struct wn_stage *st, struct wn_emitter *out)
{
	struct dedup_state *d = st->state;
	int s = dedup_flush(st, out);
	if (s < 0)
		return s;
	if (d->index_path)
		WN_TRY(save_index(st));
	WN_TRY(make_stats(st));
	return s;
}

static void dedup_release(struct wn_stage *st)
{
	struct dedup_state *d = st->state;
	json_decref(st->stats.extra);
	st->stats.extra = NULL;
	if (!d)
		return;
	/* first, as it waits for the threads still hashing a batch (after an
	 * error) before their records and scratch space go */
	wn_pool_free(d->pool);
	for (unsigned i = 0; d->ws && i < d->nws; i++) {
		wn_dd_normalizer_release(&d->ws[i].z);
		wn_buf_release(&d->ws[i].key);
		wn_buf_release(&d->ws[i].unesc);
		wn_minhash_free(d->ws[i].mh);
	}
	free(d->ws);
	for (int k = 0; k < 2; k++) {
		struct batch *b = &d->b[k];
		for (size_t i = 0; i < BATCH_RECORDS; i++) {
			wn_record_free(b->items[i].rec);
			wn_dd_pieces_release(&b->items[i].pieces);
			free(b->items[i].err);
		}
		free(b->sigs);
	}
	for (size_t k = 0; d->keys && k < d->nkeys; k++) {
		for (size_t i = 0; i < d->keys[k].nseg; i++)
			free(d->keys[k].seg[i]);
		free(d->keys[k].seg);
	}
	free(d->keys);
	wn_dd_index_release(&d->ix);
	wn_minhash_index_free(d->mh);
	free(d->params);
	wn_buf_release(&d->idtext);
	wn_buf_release(&d->joined);
	free(d);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_dedup = {
	.name = "dedup",
	.summary = "drop duplicate records: exact, near-duplicate (MinHash) or line level",
	.usage = "dedup [options] [FILE|-]...",
	.description =
		"Keeps the first record of each set of duplicates, in input order, and drops\n"
		"the later ones; kept records keep their bytes. Exact (default): on the text\n"
		"after --normalize, or on --key fields. --near: MinHash LSH near-duplicates.\n"
		"--lines / --paragraphs: remove lines (paragraphs) seen in earlier records.\n"
		"--mark keeps every record and says what each duplicates instead. --index FILE\n"
		"carries what was seen from one run to the next (see 'winnow dedup-index').\n",
	.options = dedup_options,
	.opts_size = sizeof(struct dedup_opts),
	.init = dedup_init,
	.process = dedup_process,
	.finish = dedup_finish,
	.release = dedup_release,
};
