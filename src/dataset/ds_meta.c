/*
 * ds_meta.c - the text of SHA256SUMS, manifest.json and README.md.
 *
 * Each is a pure function of the shard list and the options, so two runs
 * over the same input give byte-identical files: no time, host or absolute
 * path ever goes in.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "winnow/buf.h"
#include "dataset/ds_int.h"

int wn_ds_sums_text(struct wn_buf *out, struct wn_ds_shard *const *shards, size_t n)
{
	char hex[65];

	for (size_t i = 0; i < n; i++) {
		wn_ds_hex(hex, shards[i]->sha256, 32);
		WN_TRY(wn_buf_printf(out, "%s  %s\n", hex, shards[i]->path));
	}
	return WN_OK;
}

/* Builders that remember an allocation failure instead of checking each
 * call: jansson's setters fail cleanly on a NULL value. */
struct jb {
	int bad;
};

static void put(struct jb *jb, json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v) != 0)
		jb->bad = 1;
}

static json_t *jint(uint64_t v)
{
	return json_integer((json_int_t)v);
}

static json_t *jhex(const void *p, size_t n)
{
	char hex[2 * 32 + 1];

	wn_ds_hex(hex, p, n);
	return json_string(hex);
}

static json_t *counts(struct jb *jb, uint64_t shards, uint64_t records, uint64_t bytes,
                      uint64_t raw_bytes)
{
	json_t *o = json_object();

	if (!o) {
		jb->bad = 1;
		return NULL;
	}
	put(jb, o, "shards", jint(shards));
	put(jb, o, "records", jint(records));
	put(jb, o, "bytes", jint(bytes));
	put(jb, o, "raw_bytes", jint(raw_bytes));
	return o;
}

static json_t *token_counts(struct jb *jb, const struct wn_ds_split_sum *s)
{
	json_t *o = json_object();

	if (!o) {
		jb->bad = 1;
		return NULL;
	}
	put(jb, o, "shards", jint(s->shards));
	put(jb, o, "files", jint(s->files));
	put(jb, o, "documents", jint(s->records));
	put(jb, o, "tokens", jint(s->tokens));
	put(jb, o, "bytes", jint(s->bytes));
	return o;
}

/* Version 2: a token dataset, one entry per file. */
/* A new object appended to the shards array, or NULL (and jb marked bad). */
static json_t *shard_entry(struct jb *jb, json_t *shards)
{
	json_t *o = json_object();

	if (!o || json_array_append_new(shards, o) != 0) {
		jb->bad = 1;
		return NULL;
	}
	return o;
}

/* Write the finished manifest object as indented JSON and a newline; takes
 * the reference to top. */
static int dump_manifest(const struct jb *jb, json_t *top, struct wn_buf *out)
{
	char *text = jb->bad ? NULL : json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	int rc = text ? wn_buf_adds(out, text) : WN_ENOMEM;

	if (rc == WN_OK)
		rc = wn_buf_addc(out, '\n');
	free(text);
	json_decref(top);
	return rc;
}

static int token_manifest(struct wn_buf *out, const struct wn_ds_meta *m,
                          const unsigned char root[32])
{
	const struct wn_ds_format *fmt = wn_ds_format_of(m->format);
	const char *dtype = wn_ds_dtype_name(m->dtype);
	struct jb jb = { 0 };
	struct wn_ds_split_sum total = { .name = "" };
	json_t *top = json_object(), *tool = json_object(), *tok = json_object();
	json_t *splits = json_object(), *shards = json_array();

	if (!top || !tool || !tok || !splits || !shards) {
		json_decref(tool);
		json_decref(tok);
		json_decref(splits);
		json_decref(shards);
		json_decref(top);
		return WN_ENOMEM;
	}
	put(&jb, top, "format", json_string(WN_DS_FORMAT));
	put(&jb, top, "version", json_integer(WN_DS_VERSION_TOKENS));
	put(&jb, tool, "name", json_string("winnow"));
	put(&jb, tool, "version", json_string(m->tool_version));
	put(&jb, top, "tool", tool);
	put(&jb, top, "pipeline", json_string(m->pipeline));
	put(&jb, top, "shard_format", json_string(fmt->name));
	put(&jb, top, "dtype", json_string(dtype));
	/* Both were checked to be UTF-8 and hex when the writer was created. */
	put(&jb, tok, "name", json_string(m->tokenizer_name));
	put(&jb, tok, "sha256", json_string(m->tokenizer_sha256));
	put(&jb, tok, "vocab_size", jint(m->vocab_size));
	put(&jb, top, "tokenizer", tok);
	if (m->format == WN_SHARD_NANOGPT)
		put(&jb, top, "eot", jint(m->eot));
	for (size_t i = 0; i < m->nsplits; i++) {
		const struct wn_ds_split_sum *s = &m->splits[i];

		put(&jb, splits, s->name, token_counts(&jb, s));
		total.shards += s->shards;
		total.files += s->files;
		total.records += s->records;
		total.tokens += s->tokens;
		total.bytes += s->bytes;
	}
	put(&jb, top, "splits", splits);
	put(&jb, top, "totals", token_counts(&jb, &total));
	put(&jb, top, "root_sha256", jhex(root, 32));
	for (size_t i = 0; i < m->nshards; i++) {
		const struct wn_ds_shard *sh = m->shards[i];
		json_t *o = shard_entry(&jb, shards);

		if (!o)
			break;
		put(&jb, o, "path", json_string(sh->path));
		put(&jb, o, "split", json_string(sh->split));
		put(&jb, o, "format", json_string(fmt->name));
		put(&jb, o, "role", json_string(sh->role));
		put(&jb, o, "dtype", json_string(dtype));
		put(&jb, o, "documents", jint(sh->records));
		put(&jb, o, "tokens", jint(sh->tokens));
		put(&jb, o, "bytes", jint(sh->bytes));
		put(&jb, o, "sha256", jhex(sh->sha256, 32));
		put(&jb, o, "xxh3_128", jhex(sh->xxh3, 16));
	}
	put(&jb, top, "shards", shards);
	return dump_manifest(&jb, top, out);
}

/* Version 1: JSONL shards. */
static int jsonl_manifest(struct wn_buf *out, const struct wn_ds_meta *m,
                          const unsigned char root[32])
{
	struct jb jb = { 0 };
	json_t *top = json_object(), *tool = json_object(), *comp = json_object();
	json_t *splits = json_object(), *shards = json_array();
	uint64_t t_records = 0, t_bytes = 0, t_raw = 0;

	if (!top || !tool || !comp || !splits || !shards) {
		json_decref(tool);
		json_decref(comp);
		json_decref(splits);
		json_decref(shards);
		json_decref(top);
		return WN_ENOMEM;
	}
	put(&jb, top, "format", json_string(WN_DS_FORMAT));
	put(&jb, top, "version", json_integer(WN_DS_VERSION));
	put(&jb, tool, "name", json_string("winnow"));
	put(&jb, tool, "version", json_string(m->tool_version));
	put(&jb, top, "tool", tool);
	/* The pipeline was checked to be UTF-8 when the writer was created. */
	put(&jb, top, "pipeline", json_string(m->pipeline));
	put(&jb, comp, "codec", json_string("zstd"));
	put(&jb, comp, "level", json_integer(m->level));
	put(&jb, top, "compression", comp);
	for (size_t i = 0; i < m->nsplits; i++) {
		const struct wn_ds_split_sum *s = &m->splits[i];

		put(&jb, splits, s->name,
		    counts(&jb, s->shards, s->records, s->bytes, s->raw_bytes));
		t_records += s->records;
		t_bytes += s->bytes;
		t_raw += s->raw_bytes;
	}
	put(&jb, top, "splits", splits);
	put(&jb, top, "totals", counts(&jb, m->nshards, t_records, t_bytes, t_raw));
	put(&jb, top, "root_sha256", jhex(root, 32));
	for (size_t i = 0; i < m->nshards; i++) {
		const struct wn_ds_shard *sh = m->shards[i];
		json_t *o = shard_entry(&jb, shards);

		if (!o)
			break;
		put(&jb, o, "path", json_string(sh->path));
		put(&jb, o, "split", json_string(sh->split));
		put(&jb, o, "format", json_string(WN_DS_SHARD_FORMAT));
		put(&jb, o, "records", jint(sh->records));
		put(&jb, o, "bytes", jint(sh->bytes));
		put(&jb, o, "raw_bytes", jint(sh->raw_bytes));
		put(&jb, o, "sha256", jhex(sh->sha256, 32));
		put(&jb, o, "xxh3_128", jhex(sh->xxh3, 16));
		put(&jb, o, "raw_xxh3_128", jhex(sh->raw_xxh3, 16));
	}
	put(&jb, top, "shards", shards);
	return dump_manifest(&jb, top, out);
}

int wn_ds_manifest_text(struct wn_buf *out, const struct wn_ds_meta *m,
                        const unsigned char root[32])
{
	return m->format == WN_SHARD_JSONL ? jsonl_manifest(out, m, root)
	                                   : token_manifest(out, m, root);
}

/* The order the Hub's viewer and users expect: train, validation, test,
 * then the rest by name. */
static int split_rank(const char *name)
{
	if (strcmp(name, "train") == 0)
		return 0;
	if (strcmp(name, "validation") == 0)
		return 1;
	if (strcmp(name, "test") == 0)
		return 2;
	return 3;
}

static int card_order_cmp(const void *a, const void *b)
{
	const struct wn_ds_split_sum *x = *(const struct wn_ds_split_sum *const *)a;
	const struct wn_ds_split_sum *y = *(const struct wn_ds_split_sum *const *)b;
	int rx = split_rank(x->name), ry = split_rank(y->name);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Split names are [A-Za-z0-9_]+, but YAML reads some such words as numbers,
 * booleans or null: those are quoted. */
static int yaml_needs_quotes(const char *s)
{
	static const char *const words[] = { "y", "n", "yes", "no", "true", "false",
	                                     "on", "off", "null" };

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 1;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	return 0;
}

/* The longest run of backticks in s, so a code fence can be longer. */
static size_t longest_backtick_run(const char *s)
{
	size_t best = 0, run = 0;

	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static int add_fence(struct wn_buf *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		WN_TRY(wn_buf_addc(out, '`'));
	return WN_OK;
}

/* The title on one line: control characters become spaces. */
static int add_title(struct wn_buf *out, const char *name)
{
	WN_TRY(wn_buf_adds(out, "# "));
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		WN_TRY(wn_buf_addc(out, (char)(*p < 0x20 || *p == 0x7f ? ' ' : *p)));
	return wn_buf_adds(out, "\n\n");
}

/* Where the records or tokens come from. */
static int add_made_by(struct wn_buf *out, const struct wn_ds_meta *m)
{
	size_t fence;

	if (!m->pipeline[0])
		return wn_buf_printf(out, "Made by winnow %s.\n\n", m->tool_version);
	fence = longest_backtick_run(m->pipeline) + 1;
	if (fence < 3)
		fence = 3;
	WN_TRY(wn_buf_printf(out, "Made by winnow %s with this pipeline:\n\n", m->tool_version));
	WN_TRY(add_fence(out, fence));
	WN_TRY(wn_buf_printf(out, "\n%s\n", m->pipeline));
	WN_TRY(add_fence(out, fence));
	return wn_buf_adds(out, "\n\n");
}

static int jsonl_card_body(struct wn_buf *out, const struct wn_ds_meta *m,
                           const struct wn_ds_split_sum *const *order)
{
	uint64_t t_records = 0, t_bytes = 0, t_raw = 0;

	WN_TRY(add_title(out, m->name));
	WN_TRY(wn_buf_adds(out,
		"JSON Lines shards compressed with zstd (one frame per shard), in the Hugging "
		"Face Hub layout. Every shard's size, SHA-256 (its git-LFS object id on the "
		"Hub), xxh3-128 and record count are listed in `manifest.json`; see "
		"`SHA256SUMS` for the checksums alone.\n\n"));
	WN_TRY(wn_buf_adds(out, "| split | records | shards | bytes | raw bytes |\n"
	                        "|---|---:|---:|---:|---:|\n"));
	for (size_t i = 0; i < m->nsplits; i++) {
		const struct wn_ds_split_sum *s = order[i];

		WN_TRY(wn_buf_printf(out, "| %s | %llu | %llu | %llu | %llu |\n", s->name,
		                     (unsigned long long)s->records,
		                     (unsigned long long)s->shards,
		                     (unsigned long long)s->bytes,
		                     (unsigned long long)s->raw_bytes));
		t_records += s->records;
		t_bytes += s->bytes;
		t_raw += s->raw_bytes;
	}
	WN_TRY(wn_buf_printf(out, "| total | %llu | %llu | %llu | %llu |\n\n",
	                     (unsigned long long)t_records, (unsigned long long)m->nshards,
	                     (unsigned long long)t_bytes, (unsigned long long)t_raw));
	WN_TRY(add_made_by(out, m));
	WN_TRY(wn_buf_adds(out, "## Loading\n\n```python\nfrom datasets import load_dataset\n\n"
	                        "ds = load_dataset(\"path/to/this/directory\")  # a local copy\n"
	                        "ds = load_dataset(\"user/repo\")  # from the Hub, once uploaded\n"
	                        "# or the shards alone, as JSON Lines:\n"
	                        "ds = load_dataset(\"json\", data_files={"));
	for (size_t i = 0; i < m->nsplits; i++)
		WN_TRY(wn_buf_printf(out, "%s\"%s\": \"data/%s-*" WN_DS_SHARD_EXT "\"",
		                     i ? ", " : "", order[i]->name, order[i]->name));
	WN_TRY(wn_buf_adds(out, "})\n```\n\n"));
	WN_TRY(wn_buf_adds(out,
		"## Verifying\n\n```sh\n"
		"winnow verify .          # sizes and hashes of every shard against the manifest\n"
		"winnow verify --deep .   # also decompresses every shard and counts its records\n"
		"sha256sum -c SHA256SUMS  # without winnow\n"
		"```\n"));
	return WN_OK;
}

/* A tokenizer name in inline code, on one line. */
static int add_code_span(struct wn_buf *out, const char *s)
{
	size_t fence = longest_backtick_run(s) + 1;

	WN_TRY(add_fence(out, fence));
	WN_TRY(wn_buf_adds(out, fence > 1 ? " " : ""));
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		WN_TRY(wn_buf_addc(out, (char)(*p < 0x20 || *p == 0x7f ? ' ' : *p)));
	WN_TRY(wn_buf_adds(out, fence > 1 ? " " : ""));
	return add_fence(out, fence);
}

static int token_description(struct wn_buf *out, const struct wn_ds_meta *m)
{
	const char *dtype = wn_ds_dtype_name(m->dtype);

	switch (m->format) {
	case WN_SHARD_MEGATRON:
		WN_TRY(wn_buf_adds(out,
			"Tokenized documents for Megatron-LM: each shard is a `.bin` file of token "
			"ids and its `.idx` index (`MMIDIDX` version 1, one sequence per "
			"document)"));
		break;
	case WN_SHARD_DATATROVE:
		WN_TRY(wn_buf_adds(out,
			"Tokenized documents in datatrove's format: each shard is a `.ds` file of "
			"token ids, its `.ds.index` (where each document ends, in tokens, as "
			"uint64) and its `.ds.metadata` (the tokenizer and token size that "
			"datatrove's merger reads)"));
		break;
	default:
		WN_TRY(wn_buf_printf(out,
			"Tokenized documents for nanoGPT: each shard is a flat `.bin` file of "
			"token ids, every document followed by the end-of-text token %lu",
			(unsigned long)m->eot));
		break;
	}
	WN_TRY(wn_buf_printf(out,
		". The files are uncompressed and little-endian, for training code to "
		"memory-map; token ids are %s.\n\n", dtype));
	if (m->tokenizer_name[0]) {
		WN_TRY(wn_buf_adds(out, "Tokenizer: "));
		WN_TRY(add_code_span(out, m->tokenizer_name));
	} else {
		WN_TRY(wn_buf_adds(out, "Tokenizer: not recorded"));
	}
	if (m->tokenizer_sha256[0])
		WN_TRY(wn_buf_printf(out, " (SHA-256 `%s`)", m->tokenizer_sha256));
	WN_TRY(wn_buf_printf(out, ", a vocabulary of %lu tokens.\n\n",
	                     (unsigned long)m->vocab_size));
	return wn_buf_adds(out,
		"Every file's size, SHA-256 (its git-LFS object id on the Hub) and xxh3-128, "
		"with the documents and tokens of its shard, are listed in `manifest.json`; "
		"see `SHA256SUMS` for the checksums alone.\n\n");
}

/* The Megatron-LM option that takes the shards of a split, if any. */
static const char *megatron_option(const char *split)
{
	if (strcmp(split, "train") == 0)
		return "--train-data-path";
	if (strcmp(split, "validation") == 0)
		return "--valid-data-path";
	if (strcmp(split, "test") == 0)
		return "--test-data-path";
	return NULL;
}

static int token_loading(struct wn_buf *out, const struct wn_ds_meta *m,
                         const struct wn_ds_split_sum *const *order)
{
	const char *dtype = wn_ds_dtype_name(m->dtype);
	/* An example shard: the first of the first split (the card shows no
	 * loading code for a dataset without one). */
	const char *split = order[0]->name;
	unsigned long long n = (unsigned long long)order[0]->shards;
	size_t shown = 0;

	WN_TRY(wn_buf_adds(out,
		"## Loading\n\nThese files are for training code, not for "
		"`datasets.load_dataset`: the card declares no data files and turns the "
		"dataset viewer off.\n\n"));
	switch (m->format) {
	case WN_SHARD_MEGATRON:
		WN_TRY(wn_buf_printf(out,
			"Megatron-LM opens a shard by its path without the extension, its `.bin` "
			"and `.idx` together:\n\n```python\n"
			"from megatron.core.datasets.indexed_dataset import IndexedDataset\n\n"
			"ds = IndexedDataset(\"data/%s-00000-of-%05llu\")\n"
			"tokens = ds[0]  # the first document's token ids, a numpy %s array\n"
			"```\n\nTo train on whole splits, give every shard's path:\n\n```sh\n",
			split, n, dtype));
		for (size_t i = 0; i < m->nsplits; i++) {
			const char *opt = megatron_option(order[i]->name);

			if (!opt)
				continue;
			WN_TRY(wn_buf_printf(out, "%s%s $(ls data/%s-*.bin | sed 's/\\.bin$//')",
			                     shown++ ? " \\\n" : "", opt, order[i]->name));
		}
		if (!shown)
			WN_TRY(wn_buf_printf(out, "--data-path $(ls data/%s-*.bin | sed "
			                          "'s/\\.bin$//')", split));
		return wn_buf_adds(out, "\n```\n\n");
	case WN_SHARD_DATATROVE:
		return wn_buf_printf(out,
			"datatrove's `DatatroveFolderDataset` reads the `.ds` files of a split as "
			"windows of `seq_len + 1` tokens (`token_size` is the bytes per token, %u "
			"here); with `return_positions=True` it takes the document boundaries "
			"from the `.ds.index` files:\n\n```python\n"
			"from datatrove.utils.dataset import DatatroveFolderDataset\n\n"
			"ds = DatatroveFolderDataset(\"data\", seq_len=2048, "
			"filename_pattern=\"%s-*.ds\", token_size=%u)\n```\n\n",
			wn_ds_dtype_size(m->dtype), split, wn_ds_dtype_size(m->dtype));
	default:
		WN_TRY(wn_buf_printf(out,
			"The shards of a split are plain token streams: they concatenate into the "
			"`train.bin` and `val.bin` that nanoGPT's `train.py` memory-maps "
			"(as `np.%s`):\n\n```sh\n", dtype));
		for (size_t i = 0; i < m->nsplits; i++)
			WN_TRY(wn_buf_printf(out, "cat data/%s-*.bin > %s.bin\n", order[i]->name,
			                     strcmp(order[i]->name, "validation") == 0
			                             ? "val" : order[i]->name));
		return wn_buf_printf(out,
			"```\n\nor read one directly:\n\n```python\nimport numpy as np\n\n"
			"tokens = np.memmap(\"data/%s-00000-of-%05llu.bin\", dtype=np.%s, "
			"mode=\"r\")\n```\n\n", split, n, dtype);
	}
}

static int token_card_body(struct wn_buf *out, const struct wn_ds_meta *m,
                           const struct wn_ds_split_sum *const *order)
{
	struct wn_ds_split_sum t = { .name = "total" };

	WN_TRY(add_title(out, m->name));
	WN_TRY(token_description(out, m));
	WN_TRY(wn_buf_adds(out, "| split | documents | tokens | shards | bytes |\n"
	                        "|---|---:|---:|---:|---:|\n"));
	for (size_t i = 0; i <= m->nsplits; i++) {
		const struct wn_ds_split_sum *s = i < m->nsplits ? order[i] : &t;

		WN_TRY(wn_buf_printf(out, "| %s | %llu | %llu | %llu | %llu |\n", s->name,
		                     (unsigned long long)s->records,
		                     (unsigned long long)s->tokens,
		                     (unsigned long long)s->shards,
		                     (unsigned long long)s->bytes));
		t.records += s->records;
		t.tokens += s->tokens;
		t.shards += s->shards;
		t.bytes += s->bytes;
	}
	WN_TRY(wn_buf_adds(out, "\n"));
	WN_TRY(add_made_by(out, m));
	if (m->nsplits)
		WN_TRY(token_loading(out, m, order));
	return wn_buf_adds(out,
		"## Verifying\n\n```sh\n"
		"winnow verify .          # sizes and hashes of every file against the manifest\n"
		"winnow verify --deep .   # also checks every index and every token id\n"
		"sha256sum -c SHA256SUMS  # without winnow\n"
		"```\n");
}

int wn_ds_card_text(struct wn_buf *out, const struct wn_ds_meta *m)
{
	const struct wn_ds_split_sum **order = NULL;
	int rc = WN_OK;

	if (m->nsplits) {
		order = malloc(m->nsplits * sizeof *order);
		if (!order)
			return WN_ENOMEM;
		for (size_t i = 0; i < m->nsplits; i++)
			order[i] = &m->splits[i];
		qsort(order, m->nsplits, sizeof *order, card_order_cmp);
	}
	if (m->format != WN_SHARD_JSONL) {
		/* Token files are no data files the Hub's loaders can read: no
		 * configs, and no viewer trying to show them. */
		rc = wn_buf_adds(out, "---\nviewer: false\n---\n\n");
		if (rc == WN_OK)
			rc = token_card_body(out, m, order);
		free(order);
		return rc;
	}
	if (m->nsplits) {
		/* An empty dataset has no data_files, and an empty configs list
		 * is not valid Hub metadata: it gets no front matter. */
		rc = wn_buf_adds(out, "---\nconfigs:\n- config_name: default\n  data_files:\n");
		for (size_t i = 0; rc == WN_OK && i < m->nsplits; i++) {
			const char *q = yaml_needs_quotes(order[i]->name) ? "\"" : "";

			rc = wn_buf_printf(out, "  - split: %s%s%s\n    path: \"data/%s-*\"\n",
			                   q, order[i]->name, q, order[i]->name);
		}
		if (rc == WN_OK)
			rc = wn_buf_adds(out, "---\n\n");
	}
	if (rc == WN_OK)
		rc = jsonl_card_body(out, m, order);
	free(order);
	return rc;
}
