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
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

/* A batch of records, tokenized by whichever threads take its records. */
struct batch {
	struct wn_record *rec[BATCH_RECORDS];
	int status[BATCH_RECORDS];
	struct wn_error errors[BATCH_RECORDS];
	size_t n, bytes;
	atomic_size_t next; /* the next record to take */
	atomic_size_t left; /* records not yet done */
};

struct worker;

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
	/* workers */
	unsigned nworkers;    /* started */
	unsigned nslots;      /* allocated */
	struct worker *workers;
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	uint64_t generation;
	struct batch *posted; /* the batch of this generation */
	unsigned running;     /* workers still on it */
	int stop;
	int sync_ready;
	struct wn_encoder *enc; /* this thread's */
	struct wn_ids scratch;
	const char *text_field;
	int allow_special;
	const char *output_field;
	int want_bytes; /* prepare each record's JSON on the tokenizing thread */
};

struct worker {
	struct tokenize_state *t;
	pthread_t thread;
	struct wn_encoder *enc;
	struct wn_ids scratch;
	int started;
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

/* Take records of b until none is left; returns whether this thread
 * finished the last one. */
static int work(struct tokenize_state *t, struct batch *b, struct wn_encoder *enc,
                struct wn_ids *ids)
{
	size_t done = 0;
	for (;;) {
		size_t i = atomic_fetch_add(&b->next, 1);
		if (i >= b->n)
			break;
		tokenize_one(t, b, enc, ids, i);
		done++;
	}
	return done && atomic_fetch_sub(&b->left, done) == done;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct tokenize_state *t = w->t;
	uint64_t seen = 0;
	pthread_mutex_lock(&t->mu);
	for (;;) {
		while (!t->stop && t->generation == seen)
			pthread_cond_wait(&t->go, &t->mu);
		if (t->stop)
			break;
		seen = t->generation;
		struct batch *b = t->posted;
		pthread_mutex_unlock(&t->mu);
		work(t, b, w->enc, &w->scratch);
		pthread_mutex_lock(&t->mu);
		if (--t->running == 0)
			pthread_cond_signal(&t->done);
	}
	pthread_mutex_unlock(&t->mu);
	return NULL;
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
	wn_ids_init(&t->scratch);
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
	if (wn_encoder_new(&t->enc, t->tok) < 0)
		return WN_ENOMEM;
	t->fill = &t->b[0];
	unsigned threads = st->run->threads ? st->run->threads : 1;
	if (threads > 1) {
		t->workers = calloc(threads - 1, sizeof(*t->workers));
		if (!t->workers)
			return WN_ENOMEM;
		t->nslots = threads - 1;
		pthread_mutex_init(&t->mu, NULL);
		pthread_cond_init(&t->go, NULL);
		pthread_cond_init(&t->done, NULL);
		t->sync_ready = 1;
		for (unsigned i = 0; i + 1 < threads; i++) {
			struct worker *w = &t->workers[i];
			w->t = t;
			wn_ids_init(&w->scratch);
			if (wn_encoder_new(&w->enc, t->tok) < 0)
				return WN_ENOMEM;
			if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
				return wn_stage_error(st, WN_EIO, NULL, 0, "cannot start a thread");
			w->started = 1;
			t->nworkers++;
		}
	}
	return WN_OK;
}

/* Give batch b to the workers (with none, it waits for complete()). */
static void post(struct tokenize_state *t, struct batch *b)
{
	atomic_store(&b->next, 0);
	atomic_store(&b->left, b->n);
	if (!t->nworkers)
		return;
	pthread_mutex_lock(&t->mu);
	t->posted = b;
	t->running = t->nworkers;
	t->generation++;
	pthread_cond_broadcast(&t->go);
	pthread_mutex_unlock(&t->mu);
}

/* Return when batch b is tokenized and no worker is still on it, helping
 * with its records meanwhile. */
static void complete(struct tokenize_state *t, struct batch *b)
{
	work(t, b, t->enc, &t->scratch);
	if (!t->nworkers)
		return;
	pthread_mutex_lock(&t->mu);
	while (t->running)
		pthread_cond_wait(&t->done, &t->mu);
	pthread_mutex_unlock(&t->mu);
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
		complete(t, done);
	t->busy = NULL;
	if (full->n) {
		post(t, full);
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
	complete(t, b);
	t->busy = NULL;
	return emit_batch(st, b, out);
}

static void tokenize_release(struct wn_stage *st)
{
	struct tokenize_state *t = st->state;
	if (!t)
		return;
	if (t->busy && t->nworkers) {
		/* an error downstream: stop the batch still out */
		atomic_store(&t->busy->next, t->busy->n);
		pthread_mutex_lock(&t->mu);
		while (t->running)
			pthread_cond_wait(&t->done, &t->mu);
		pthread_mutex_unlock(&t->mu);
	}
	if (t->sync_ready) {
		pthread_mutex_lock(&t->mu);
		t->stop = 1;
		pthread_cond_broadcast(&t->go);
		pthread_mutex_unlock(&t->mu);
	}
	for (unsigned i = 0; i < t->nslots; i++) {
		struct worker *w = &t->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		wn_encoder_free(w->enc);
		wn_ids_release(&w->scratch);
	}
	if (t->sync_ready) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->go);
		pthread_cond_destroy(&t->done);
	}
	free(t->workers);
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < t->b[k].n; i++)
			wn_record_free(t->b[k].rec[i]);
	wn_encoder_free(t->enc);
	wn_ids_release(&t->scratch);
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
