/*
 * tokenize.c - the tokenize stage: the text field's token ids, added to
 * each record as a JSON array (or carried in-process to binary shards).
 *
 * Records are tokenized in batches; with --threads N > 1 a batch is
 * shared among N threads (this one and N-1 workers), and emitted in input
 * order, so output bytes never depend on N.  The tokenizing threads also
 * write the ids into the record's JSON, unless the next stage reads the
 * ids themselves (binary token shards).
 */
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/registry.h"
#include "winnow/tokenizer.h"

struct tokenize_opts {
	const char *tokenizer;
	const char *encoding;
	int allow_special;
	const char *bos;
	const char *eos;
	const char *output_field;
};

#define OPT(field) offsetof(struct tokenize_opts, field)

static const struct wn_option tokenize_options[] = {
	{ "tokenizer", 't', WN_OPT_STRING, OPT(tokenizer), "FILE", NULL, NULL,
	  "a Hugging Face tokenizer.json, or a .tiktoken rank file (with --encoding)", 0 },
	{ "encoding", 'e', WN_OPT_STRING, OPT(encoding), "NAME", NULL, NULL,
	  "for .tiktoken files: gpt2, r50k_base, p50k_base, cl100k_base or o200k_base", 0 },
	{ "allow-special", 0, WN_OPT_FLAG, OPT(allow_special), NULL, NULL, NULL,
	  "recognise special-token text in documents (by default it is ordinary text)", 0 },
	{ "bos", 0, WN_OPT_STRING, OPT(bos), "TOKEN", NULL, NULL,
	  "put this token before each document", 0 },
	{ "eos", 0, WN_OPT_STRING, OPT(eos), "TOKEN", NULL, NULL,
	  "put this token after each document; 'eot' is the tokenizer's end-of-text", 0 },
	{ "output-field", 0, WN_OPT_STRING, OPT(output_field), "NAME", "input_ids", NULL,
	  "the field that receives the ids", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

/* Records per batch, and a bound on the text they hold. */
#define BATCH_RECORDS 512
#define BATCH_BYTES ((size_t)8 << 20)

struct tokenize_state;

/* A pool worker's encoder and ids, a cache line of its own: the ids'
 * count changes with every token. */
struct worker {
	struct wn_encoder *enc;
	struct wn_ids ids;
} __attribute__((aligned(64)));

/* A batch of records, tokenized by whichever threads take its records. */
struct batch {
	struct tokenize_state *t;
	struct wn_record *rec[BATCH_RECORDS];
	int status[BATCH_RECORDS];
	struct wn_error errors[BATCH_RECORDS];
	size_t n, bytes;
};

/*
 * Two batches: one filling (this thread reads records into it) while the
 * other is tokenized by the workers.  When the filling batch is full, this
 * thread helps finish the busy one, hands the full one to the workers and
 * emits the finished one while they work: reading, tokenizing and writing
 * overlap, and no thread waits while there is work.
 */
struct tokenize_state {
	struct wn_tokenizer *tok;
	uint32_t bos, eos;
	int has_bos, has_eos;
	struct batch b[2];
	struct batch *fill, *busy; /* busy: NULL when none is out */
	struct wn_pool *pool;
	unsigned nworkers;
	struct worker *worker; /* per pool worker (0: this thread) */
	const char *text_field;
	int allow_special;
	const char *output_field;
	int want_bytes; /* prepare each record's JSON on the tokenizing thread */
};

static int resolve_token(struct wn_stage *st, const char *opt, const char *name, uint32_t *id)
{
	struct tokenize_state *t = st->state;
	if (strcmp(name, "eot") == 0) {
		if (wn_tokenizer_eot(t->tok, id))
			return WN_OK;
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--%s eot: the tokenizer has no known end-of-text token", opt);
	}
	if (wn_tokenizer_find(t->tok, name, strlen(name), id))
		return WN_OK;
	return wn_stage_error(st, WN_EUSAGE, NULL, 0, "--%s: '%s' is not a token of %s", opt, name,
	                      wn_tokenizer_name(t->tok));
}

/* Tokenize one record of the batch into its ids; errors are kept per
 * record and reported in order, as if there were one thread. */
static void tokenize_one(struct tokenize_state *t, struct batch *b, struct wn_encoder *enc,
                         struct wn_ids *ids, size_t i)
{
	struct wn_record *rec = b->rec[i];
	struct wn_error *err = &b->errors[i];
	const char *text;
	size_t n;
	ids->n = 0;
	int s = wn_record_get_string(rec, t->text_field, &text, &n);
	if (s == 0 || s == WN_EDATA) {
		b->status[i] = wn_error_set(err, WN_EDATA, rec->file, rec->line,
		                            s == 0 ? "no field '%s' to tokenize"
		                                   : "field '%s' is not a string",
		                            t->text_field);
		return;
	}
	if (s >= 0 && t->has_bos)
		s = wn_ids_push(ids, t->bos);
	if (s >= 0) {
		struct wn_error e;
		wn_error_clear(&e);
		s = wn_encode(enc, text, n, t->allow_special, ids, &e);
		if (s < 0)
			wn_error_set(err, s, rec->file, rec->line, "%s",
			             e.status < 0 ? e.msg : wn_strerror(s));
	}
	if (s >= 0 && t->has_eos)
		s = wn_ids_push(ids, t->eos);
	if (s >= 0)
		s = wn_record_take_ids(rec, t->output_field, ids);
	if (s >= 0 && t->want_bytes) {
		/* the JSON array, written here rather than by the writer,
		 * which runs on one thread */
		const char *p;
		size_t len;
		s = wn_record_bytes(rec, &p, &len);
	}
	if (s < 0 && err->status >= 0)
		wn_error_set(err, s, rec->file, rec->line, "%s", wn_strerror(s));
	b->status[i] = s;
}

/* The pool's call for record i of batch arg. */
static void tokenize_item(void *arg, unsigned worker, size_t i)
{
	struct batch *b = arg;
	struct tokenize_state *t = b->t;
	tokenize_one(t, b, t->worker[worker].enc, &t->worker[worker].ids, i);
}

static int tokenize_init(struct wn_stage *st)
{
	struct tokenize_opts *o = st->opts;
	if (!o->tokenizer)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "a tokenizer is required (--tokenizer FILE)");
	struct tokenize_state *t = calloc(1, sizeof(*t));
	if (!t)
		return WN_ENOMEM;
	st->state = t;
	t->text_field = st->text_field;
	t->allow_special = o->allow_special;
	t->output_field = o->output_field;
	struct wn_error e;
	wn_error_clear(&e);
	int s = wn_tokenizer_load(&t->tok, o->tokenizer, o->encoding, &e);
	if (s < 0)
		return wn_stage_error(st, s, NULL, 0, "%s", e.msg);
	if (o->bos) {
		WN_TRY(resolve_token(st, "bos", o->bos, &t->bos));
		t->has_bos = 1;
	}
	if (o->eos) {
		WN_TRY(resolve_token(st, "eos", o->eos, &t->eos));
		t->has_eos = 1;
	}
	t->b[0].t = t->b[1].t = t;
	t->fill = &t->b[0];
	s = wn_pool_new(&t->pool, st->run->threads ? st->run->threads : 1);
	if (s < 0)
		return s == WN_ENOMEM ? s
		                      : wn_stage_error(st, s, NULL, 0, "cannot start a thread");
	unsigned n = wn_pool_threads(t->pool);
	t->worker = aligned_alloc(_Alignof(struct worker), n * sizeof(*t->worker));
	if (!t->worker)
		return WN_ENOMEM;
	memset(t->worker, 0, n * sizeof(*t->worker));
	t->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		wn_ids_init(&t->worker[i].ids);
		if (wn_encoder_new(&t->worker[i].enc, t->tok) < 0)
			return WN_ENOMEM;
	}
	return WN_OK;
}

/* Pass on the records of a finished batch, in order; the first record
 * that failed stops it. */
static int emit_batch(struct wn_stage *st, struct batch *b, struct wn_emitter *out)
{
	int s = WN_OK;
	size_t i = 0;
	for (; i < b->n; i++) {
		if (b->status[i] < 0) {
			s = b->status[i];
			wn_stage_error(st, s, NULL, 0, "%s", b->errors[i].msg);
			break;
		}
		struct wn_record *rec = b->rec[i];
		b->rec[i] = NULL;
		s = wn_emit(out, rec);
		if (s != WN_OK) {
			i++;
			break;
		}
	}
	for (; i < b->n; i++) {
		wn_record_free(b->rec[i]);
		b->rec[i] = NULL;
	}
	b->n = 0;
	b->bytes = 0;
	return s;
}

/* The filling batch is full (or the input ended): finish the busy batch,
 * start the full one, then emit the finished one while it is worked on. */
static int submit(struct wn_stage *st, struct wn_emitter *out)
{
	struct tokenize_state *t = st->state;
	if (!t->busy && !t->fill->n)
		return WN_OK;
	/* known only now that every stage has run init() */
	t->want_bytes = !(st->next && st->next->ids_only);
	struct batch *full = t->fill, *done = t->busy;
	if (done)
		wn_pool_wait(t->pool); /* helping with what is left of it */
	t->busy = NULL;
	if (full->n) {
		wn_pool_start(t->pool, full->n, tokenize_item, full);
		t->busy = full;
	}
	t->fill = full == &t->b[0] ? &t->b[1] : &t->b[0];
	return done ? emit_batch(st, done, out) : WN_OK;
}

static int tokenize_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out)
{
	struct tokenize_state *t = st->state;
	struct batch *b = t->fill;
	b->status[b->n] = WN_OK;
	wn_error_clear(&b->errors[b->n]);
	b->rec[b->n++] = rec;
	b->bytes += rec->raw.len;
	if (b->n < BATCH_RECORDS && b->bytes < BATCH_BYTES)
		return WN_OK;
	return submit(st, out);
}

static int tokenize_finish(struct wn_stage *st, struct wn_emitter *out)
{
	struct tokenize_state *t = st->state;
	WN_TRY(submit(st, out));
	struct batch *b = t->busy;
	if (!b)
		return WN_OK;
	wn_pool_wait(t->pool);
	t->busy = NULL;
	return emit_batch(st, b, out);
}

static void tokenize_release(struct wn_stage *st)
{
	struct tokenize_state *t = st->state;
	if (!t)
		return;
	/* first: it stops a batch still out (an error downstream) and
	 * waits for the calls under way */
	wn_pool_free(t->pool);
	for (unsigned i = 0; i < t->nworkers; i++) {
		wn_encoder_free(t->worker[i].enc);
		wn_ids_release(&t->worker[i].ids);
	}
	free(t->worker);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < t->b[k].n; i++)
			wn_record_free(t->b[k].rec[i]);
	wn_tokenizer_free(t->tok);
	free(t);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_tokenize = {
	.name = "tokenize",
	.summary = "add the token ids of each record's text (byte-level BPE)",
	.usage = "tokenize --tokenizer FILE [options] [FILE|-]...",
	.description =
		"Adds the ids of the text field as a JSON array field (input_ids). Loads a\n"
		"Hugging Face tokenizer.json (byte-level BPE: GPT-2, Llama-3, Qwen2 style) or a\n"
		"tiktoken rank file with --encoding; the ids are those of the reference\n"
		"tokenizers. Special-token text in documents is encoded as ordinary text unless\n"
		"--allow-special. The rest of each record keeps its bytes.\n",
	.options = tokenize_options,
	.opts_size = sizeof(struct tokenize_opts),
	.flags = WN_STAGE_PARALLEL,
	.init = tokenize_init,
	.process = tokenize_process,
	.finish = tokenize_finish,
	.release = tokenize_release,
};
