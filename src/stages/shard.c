/*
 * shard.c - the sink stage: records into a Hub-ready dataset directory.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/registry.h"
#include "winnow/dataset.h"
#include "winnow/tokenizer.h"

struct shard_opts {
	const char *output;
	uint64_t max_size;
	uint64_t max_records;
	const char *split;
	double validation;
	uint64_t seed;
	uint64_t level;
	int force;
	const char *name;
	int format;
	const char *tokenizer;
	const char *encoding;
	const char *input_field;
	uint64_t max_tokens;
	int resume;
};

#define OPT(field) offsetof(struct shard_opts, field)

static const struct wn_option shard_options[] = {
	{ "output", 'o', WN_OPT_STRING, OPT(output), "DIR", NULL, NULL,
	  "the dataset directory to write (required)", WN_OPTF_UNRECORDED },
	{ "max-size", 0, WN_OPT_SIZE, OPT(max_size), "SIZE", "256MiB", NULL,
	  "close a shard before it exceeds SIZE compressed bytes", 0 },
	{ "max-records", 0, WN_OPT_UINT, OPT(max_records), "N", NULL, NULL,
	  "close a shard at N records (default: no limit)", 0 },
	{ "split", 0, WN_OPT_STRING, OPT(split), "NAME", "train", NULL,
	  "the split records go to", 0 },
	{ "validation", 0, WN_OPT_DOUBLE, OPT(validation), "FRACTION", NULL, NULL,
	  "send this fraction of records to the validation split, chosen by a hash of the "
	  "record id (or text)", 0 },
	{ "seed", 0, WN_OPT_UINT, OPT(seed), "N", "0", NULL,
	  "seed of the validation hash", 0 },
	{ "level", 0, WN_OPT_UINT, OPT(level), "N", "3", NULL,
	  "zstd compression level, 1-19", 0 },
	{ "name", 0, WN_OPT_STRING, OPT(name), "NAME", NULL, NULL,
	  "dataset name in the card (default: the directory name)", 0 },
	{ "format", 'f', WN_OPT_CHOICE, OPT(format), "FORMAT", "jsonl",
	  "jsonl|megatron|datatrove|nanogpt",
	  "shard format: zstd JSON Lines, or token files for Megatron, datatrove, nanoGPT", 0 },
	{ "tokenizer", 't', WN_OPT_STRING, OPT(tokenizer), "FILE", NULL, NULL,
	  "token formats: the tokenizer the ids come from (sets the dtype, end-of-text, card)",
	  0 },
	{ "encoding", 'e', WN_OPT_STRING, OPT(encoding), "NAME", NULL, NULL,
	  "for a .tiktoken --tokenizer: its encoding name", 0 },
	{ "input-field", 0, WN_OPT_STRING, OPT(input_field), "NAME", "input_ids", NULL,
	  "token formats: the field holding the ids", 0 },
	{ "max-tokens", 0, WN_OPT_UINT, OPT(max_tokens), "N", NULL, NULL,
	  "token formats: close a shard at N tokens (default: no limit)", 0 },
	{ "force", 0, WN_OPT_FLAG, OPT(force), NULL, NULL, NULL,
	  "write into a non-empty directory, replacing an earlier dataset there",
	  WN_OPTF_UNRECORDED },
	{ "resume", 0, WN_OPT_FLAG, OPT(resume), NULL, NULL, NULL,
	  "continue the interrupted run in DIR, keeping its complete shards (same input "
	  "and options)", WN_OPTF_UNRECORDED },
	{ NULL, 0, WN_OPT_END, 0, NULL, NULL, NULL, NULL, 0 },
};

struct shard_state {
	struct wn_dataset *ds;
	char *tokenizer_name;
	char *tokenizer_sha256;
	const char *file; /* where the last record came from */
};

static int split_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '_')
			return 0;
	return 1;
}

static int shard_init(struct wn_stage *st)
{
	struct shard_opts *o = st->opts;
	if (!o->output)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "an output directory is required (-o DIR)");
	if (o->level < 1 || o->level > 19)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0, "--level must be 1 to 19");
	if (o->max_size == 0)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0, "--max-size must be positive");
	if (!(o->validation >= 0 && o->validation < 1))
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--validation must be a fraction in [0, 1)");
	if (!split_name_ok(o->split))
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--split: '%s' is not a split name (letters, digits, _)",
		                      o->split);
	if (o->resume && o->force)
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--resume keeps an interrupted run, --force replaces it: "
		                      "choose one");
	struct shard_state *s = calloc(1, sizeof(*s));
	if (!s)
		return WN_ENOMEM;
	st->state = s;
	struct wn_error e;
	wn_error_clear(&e);
	uint32_t vocab = 0, eot = 0;
	if (o->format != WN_SHARD_JSONL) {
		if (!o->tokenizer)
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--format %s needs the tokenizer (--tokenizer FILE)",
			                      o->format == WN_SHARD_MEGATRON    ? "megatron"
			                      : o->format == WN_SHARD_DATATROVE ? "datatrove"
			                                                        : "nanogpt");
		struct wn_tokenizer *tok;
		int r = wn_tokenizer_load(&tok, o->tokenizer, o->encoding, &e);
		if (r < 0)
			return wn_stage_error(st, r, NULL, 0, "%s", e.msg);
		vocab = wn_tokenizer_vocab_size(tok);
		int has_eot = wn_tokenizer_eot(tok, &eot);
		s->tokenizer_name = strdup(wn_tokenizer_name(tok));
		s->tokenizer_sha256 = strdup(wn_tokenizer_sha256(tok));
		wn_tokenizer_free(tok);
		if (!s->tokenizer_name || !s->tokenizer_sha256)
			return WN_ENOMEM;
		if (o->format == WN_SHARD_NANOGPT && !has_eot)
			return wn_stage_error(st, WN_EUSAGE, NULL, 0,
			                      "--format nanogpt: %s has no end-of-text token to put "
			                      "between documents", s->tokenizer_name);
	} else if (o->max_tokens) {
		return wn_stage_error(st, WN_EUSAGE, NULL, 0,
		                      "--max-tokens applies to token formats (--format)");
	}
	struct wn_dataset_opts dopts = {
		.dir = o->output,
		.level = (int)o->level,
		.max_size = o->max_size,
		.max_records = o->max_records,
		.threads = st->run->threads ? st->run->threads : 1,
		.force = o->force,
		.pipeline = st->run->pipeline,
		.name = o->name,
		.format = (enum wn_shard_format)o->format,
		.vocab_size = vocab,
		.eot = eot,
		.max_tokens = o->max_tokens,
		.tokenizer_name = s->tokenizer_name,
		.tokenizer_sha256 = s->tokenizer_sha256,
		.resume = o->resume,
	};
	st->ids_only = o->format != WN_SHARD_JSONL;
	int r = wn_dataset_create(&s->ds, &dopts, &e);
	if (r < 0)
		return wn_stage_error(st, r, NULL, 0, "%s", e.msg);
	struct wn_dataset_totals kept;
	uint64_t removed;
	if (wn_dataset_resumed(s->ds, &kept, &removed))
		wn_run_message(st->run, st,
		               "resuming %s: kept %" PRIu64 " shard%s (%" PRIu64 " %s), removed %"
		               PRIu64 " partial file%s; the input is read again from the start",
		               o->output, kept.shards, kept.shards == 1 ? "" : "s", kept.records,
		               o->format == WN_SHARD_JSONL ? "records" : "documents", removed,
		               removed == 1 ? "" : "s");
	return WN_OK;
}

/* The key that decides the split: the id when there is one, else the
 * text, else the whole record. */
static int split_key(struct wn_stage *st, struct wn_record *rec, const char **k, size_t *n)
{
	struct wn_json_value v;
	int s = wn_record_get(rec, st->id_field, &v);
	if (s < 0)
		return s;
	if (s > 0 && v.type != WN_JSON_NULL) {
		if (v.type == WN_JSON_STRING)
			return wn_record_get_string(rec, st->id_field, k, n) < 0 ? WN_EDATA : WN_OK;
		*k = rec->raw.data + v.offset;
		*n = v.len;
		return WN_OK;
	}
	s = wn_record_get_string(rec, st->text_field, k, n);
	if (s > 0)
		return WN_OK;
	return wn_record_bytes(rec, k, n);
}

static int shard_process(struct wn_stage *st, struct wn_record *rec, struct wn_emitter *out)
{
	struct shard_opts *o = st->opts;
	struct shard_state *s = st->state;
	const char *split = o->split;
	int r = WN_OK;
	if (o->validation > 0) {
		const char *k;
		size_t n;
		r = split_key(st, rec, &k, &n);
		if (r >= 0 && wn_split_pick(k, n, o->seed, o->validation))
			split = "validation";
	}
	struct wn_error e;
	wn_error_clear(&e);
	if (r >= 0 && rec->file != s->file) {
		/* Input files are journaled as their records arrive. */
		s->file = rec->file;
		r = wn_dataset_input(s->ds, rec->file, &e);
		if (r < 0)
			wn_stage_error(st, r, rec->file, 0, "%s", e.msg);
	}
	if (r >= 0 && o->format != WN_SHARD_JSONL) {
		const uint32_t *ids;
		size_t n;
		r = wn_record_get_ids(rec, o->input_field, &ids, &n);
		if (r <= 0) {
			r = wn_stage_error(st, WN_EDATA, rec->file, rec->line,
			                   r == 0 ? "no field '%s' with token ids (tokenize first)"
			                          : "field '%s' is not an array of token ids",
			                   o->input_field);
		} else {
			r = wn_dataset_add_tokens(s->ds, split, ids, n, &e);
			if (r < 0)
				wn_stage_error(st, r, rec->file, rec->line, "%s", e.msg);
		}
	} else if (r >= 0) {
		const char *p;
		size_t n;
		r = wn_record_bytes(rec, &p, &n);
		if (r >= 0)
			r = wn_dataset_add(s->ds, split, p, n, &e);
		if (r < 0)
			wn_stage_error(st, r, rec->file, rec->line, "%s",
			               e.status < 0 ? e.msg : wn_strerror(r));
	} else {
		wn_stage_error(st, r, rec->file, rec->line, "%s", wn_strerror(r));
	}
	wn_record_free(rec);
	return r;
}

static int shard_finish(struct wn_stage *st, struct wn_emitter *out)
{
	struct shard_opts *o = st->opts;
	struct shard_state *s = st->state;
	struct wn_error e;
	wn_error_clear(&e);
	int r = wn_dataset_finish(s->ds, &e);
	if (r < 0)
		return wn_stage_error(st, r, NULL, 0, "%s", e.msg);
	struct wn_dataset_totals t;
	wn_dataset_totals(s->ds, &t);
	st->stats.bytes_out = t.bytes;
	if (o->format == WN_SHARD_JSONL)
		wn_run_message(st->run, st,
		               "wrote %" PRIu64 " record%s in %" PRIu64 " shard%s (%.1f MB, from %.1f MB) to %s",
		               t.records, t.records == 1 ? "" : "s", t.shards, t.shards == 1 ? "" : "s",
		               (double)t.bytes / 1e6, (double)t.raw_bytes / 1e6, o->output);
	else
		wn_run_message(st->run, st,
		               "wrote %" PRIu64 " document%s, %" PRIu64 " tokens in %" PRIu64 " shard%s (%.1f MB) to %s",
		               t.records, t.records == 1 ? "" : "s", t.tokens, t.shards,
		               t.shards == 1 ? "" : "s", (double)t.bytes / 1e6, o->output);
	return WN_OK;
}

/*
 * A run that fails keeps its complete shards for --resume when resuming can
 * help: after an I/O or system error (a full disk), and always in a resumed
 * run, which never removes what it kept.  After bad input or a usage error
 * the same run could not resume (the input or the options must change), so
 * its files go, as they always did.
 */
static int keep_for_resume(const struct wn_stage *st)
{
	const struct shard_opts *o = st->opts;
	int why = st->run->err.status;
	return o->resume || (why < 0 && why != WN_EDATA && why != WN_ETOOBIG &&
	                     why != WN_EUSAGE && why != WN_EVERIFY);
}

static void shard_release(struct wn_stage *st)
{
	struct shard_state *s = st->state;
	if (!s)
		return;
	if (s->ds && keep_for_resume(st))
		wn_dataset_keep(s->ds);
	wn_dataset_free(s->ds);
	free(s->tokenizer_name);
	free(s->tokenizer_sha256);
	free(s);
	st->state = NULL;
}

const struct wn_stage_type wn_stage_shard = {
	.name = "shard",
	.summary = "write records as a Hub-ready dataset: zstd shards, manifest, card",
	.usage = "shard -o DIR [options] [FILE|-]...",
	.description =
		"Writes DIR/data/{split}-{i:05d}-of-{n:05d}.jsonl.zst shards (one zstd frame\n"
		"each, with checksums), DIR/manifest.json (sizes and hashes of every shard),\n"
		"DIR/SHA256SUMS and DIR/README.md (a dataset card the Hub reads). Shards are\n"
		"written under temporary names and renamed when complete; the manifest comes\n"
		"last. The bytes written depend only on the records and the options, not on\n"
		"--threads. With --format megatron|datatrove|nanogpt the shards hold the\n"
		"records' token ids (from tokenize) as the token files those trainers read.\n"
		"A run that was interrupted (killed, a full disk) continues with the same\n"
		"command and --resume: complete shards are kept, the input is read again, and\n"
		"the dataset comes out byte-identical to an uninterrupted run's.\n",
	.options = shard_options,
	.opts_size = sizeof(struct shard_opts),
	.flags = WN_STAGE_SINK,
	.init = shard_init,
	.process = shard_process,
	.finish = shard_finish,
	.release = shard_release,
};
