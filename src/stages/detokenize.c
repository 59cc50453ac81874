/*
 * detokenize.c - token ids back to text, for checking round trips.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/registry.h"
#include "winnow/json.h"
#include "winnow/tokenizer.h"

struct detokenize_opts {
	const char *tokenizer;
	const char *encoding;
	const char *input_field;
	const char *output_field;
};

#define OPT(field) offsetof(struct detokenize_opts, field)

static const struct wn_option detokenize_options[] = {
	{ "tokenizer", 't', WN_OPT_STRING, OPT(tokenizer), "FILE", NULL, NULL,
	  "a Hugging Face tokenizer.json, or a .tiktoken rank file (with --encoding)", 0 },
	{ "encoding", 'e', WN_OPT_STRING, OPT(encoding), "NAME", NULL, NULL,
	  "for .tiktoken files: gpt2, r50k_base, p50k_base, cl100k_base or o200k_base", 0 },
	{ "input-field", 0, WN_OPT_STRING, OPT(input_field), "NAME", "input_ids", NULL,
	  "the field holding the ids", 0 },
	{ "output-field", 0, WN_OPT_STRING, OPT(output_field), "NAME", "text", NULL,
	  "the field that receives the text", 0 },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

struct detokenize_state {
	struct wn_tokenizer *tok;
	struct wn_buf text;
};

static int detokenize_init(struct wn_stage *st)
{
	struct detokenize_opts *o = st->opts;
	if (!o->tokenizer)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "a tokenizer is required (--tokenizer FILE)");
	struct detokenize_state *d = calloc(1, sizeof(*d));
	if (!d)
		return WN_ENOMEM;
	st->state = d;
	wn_buf_init(&d->text, WN_BUF_UNLIMITED);
	struct wn_error e;
	wn_error_clear(&e);
	int s = wn_tokenizer_load(&d->tok, o->tokenizer, o->encoding, &e);
	if (s < 0)
		return wn_stage_error(st, s, NULL, 0, "%s", e.msg);
	return WN_OK;
}

static int detokenize_process(struct wn_stage *st, struct wn_record *rec,
                              struct wn_emitter *out)
{
	struct detokenize_opts *o = st->opts;
	struct detokenize_state *d = st->state;
	const uint32_t *ids;
	size_t n;
	int s = wn_record_get_ids(rec, o->input_field, &ids, &n);
	if (s <= 0) {
		wn_stage_error(st, WN_EDATA, rec->file, rec->line,
		               s == 0 ? "no field '%s' to detokenize"
		                      : "field '%s' is not an array of token ids",
		               o->input_field);
		wn_record_free(rec);
		return WN_EDATA;
	}
	wn_buf_reset(&d->text);
	struct wn_error e;
	wn_error_clear(&e);
	s = wn_decode(d->tok, ids, n, &d->text, &e);
	if (s >= 0 && wn_utf8_valid_prefix(d->text.data, d->text.len) != d->text.len)
		s = wn_error_set(&e, WN_EDATA, NULL, 0,
		                 "the ids decode to bytes that are not UTF-8 text");
	json_t *obj = s >= 0 ? wn_record_object(rec, &e) : NULL;
	if (s >= 0 && !obj)
		s = WN_EDATA;
	if (s >= 0) {
		json_t *v = json_stringn(d->text.data ? d->text.data : "", d->text.len);
		if (!v || json_object_set_new(obj, o->output_field, v) != 0)
			s = WN_ENOMEM;
		else
			wn_record_touch(rec);
	}
	if (s < 0) {
		wn_stage_error(st, s, rec->file, rec->line, "%s",
		               e.status < 0 ? e.msg : wn_strerror(s));
		wn_record_free(rec);
		return s;
	}
	return wn_emit(out, rec);
}

static void detokenize_release(struct wn_stage *st)
{
	struct detokenize_state *d = st->state;
	if (!d)
		return;
	wn_tokenizer_free(d->tok);
	wn_buf_release(&d->text);
	free(d);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_detokenize = {
	.name = "detokenize",
	.summary = "turn token ids back into text, to check round trips",
	.usage = "detokenize --tokenizer FILE [options] [FILE|-]...",
	.description =
		"Decodes the ids in --input-field with the tokenizer and stores the text in\n"
		"--output-field (replacing it), so `tokenize then detokenize` gives back the\n"
		"original text of byte-level tokenizers.\n",
	.options = detokenize_options,
	.opts_size = sizeof(struct detokenize_opts),
	.flags = WN_STAGE_PARALLEL,
	.init = detokenize_init,
	.process = detokenize_process,
	.release = detokenize_release,
};
