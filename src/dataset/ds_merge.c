/*
 * ds_merge.c - join the datasets written by separate ranks into one.
 *
 * Each input is checked first, before anything is written: its manifest is
 * read, the dataset verified against it (wn_verify), and the manifest read
 * again to be sure it is the one that was verified.  All inputs must come
 * from the same pipeline with the same shard format.  Then every shard's
 * files are hard-linked (or, where that is impossible and allowed, copied)
 * into OUT/data under their global names: the shards of a split numbered
 * across the inputs in the order given.  A hard link gives a file another
 * name, not other bytes, so the hashes of the input manifests stay valid
 * and only the paths, SHA256SUMS, the root hash, the totals and the card
 * are made anew.  The manifest comes last, as from the shard writer.
 *
 * A marker file in OUT says that a merge is under way: a merge interrupted
 * by a crash leaves it and no manifest, and the next merge into OUT removes
 * what the interrupted one left.  Any other failure removes everything this
 * merge made.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <xxhash.h>

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "winnow/stage.h"
#include "dataset/ds_int.h"

#define MARKER ".winnow-merge.tmp"
#define MANIFEST_MAX ((off_t)256 << 20)
#define COPY_CHUNK ((size_t)1 << 20)
#define NTOP 3

/* The top files, in the order they are written (the manifest last). */
static const char *const top_names[NTOP] = { WN_DS_CARD, WN_DS_SUMS, WN_DS_MANIFEST };

/* One file of a shard of an input. */
struct mfile {
	struct wn_ds_shard sh; /* sh.path: the path in OUT, once numbered */
	const char *from;      /* the path in the input (its manifest's) */
	uint64_t index;        /* the shard's index in its input */
	int role;              /* in the format's files; 0 for JSONL */
	int placed;            /* the file is in OUT/data under sh.path */
	int tmp;               /* a copy is in OUT/data under tmpname */
	char tmpname[WN_DS_SPLIT_MAX + 64];
};

struct minput {
	const char *dir;
	int dirfd;
	dev_t dev;
	ino_t ino;
	char *text; /* manifest.json as read */
	size_t len;
	json_t *m;
	const char *tool, *pipeline;
	json_int_t level;
	enum wn_shard_format format;
	const struct wn_ds_format *fmt;
	enum wn_ds_dtype dtype;
	uint64_t vocab_size, eot;
	const char *tokenizer_name, *tokenizer_sha256;
	struct mfile *files;
	size_t nfiles;
	/* From the pipeline: */
	struct wn_buf key; /* the words that must agree */
	char *name;        /* the shard stage's --name, if given */
};

struct merge {
	const struct wn_merge_opts *o;
	struct minput *in;
	size_t nin;
	int dirfd, datafd;
	int made_dir, made_data, made_marker;
	int top_tmp[NTOP], top_made[NTOP];
	int complete; /* the manifest is in place */
	int copying;  /* a note said that files are copied */
	struct wn_merge_result *res;
};

static int mem_fail(struct wn_error *err)
{
	return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
}

static void note(const struct merge *mg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(const struct merge *mg, const char *fmt, ...)
{
	char msg[WN_ERROR_MAX];
	va_list ap;

	if (!mg->o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	mg->o->note(mg->o->ud, msg);
}

/* ---- the pipeline ------------------------------------------------------------ */

/*
 * The recorded pipeline is the command line's words as wn_options_parse
 * recorded them: a plain word, or one in single quotes with each ' written
 * '\''.  Read the next word at *p into w (NUL-terminated); *got is 0 at
 * the end.
 */
static int next_word(const char **p, struct wn_buf *w, int *got)
{
	const char *s = *p;

	*got = 0;
	wn_buf_reset(w);
	while (*s == ' ')
		s++;
	if (!*s) {
		*p = s;
		return wn_buf_addc(w, '\0');
	}
	while (*s && *s != ' ') {
		if (*s == '\'') {
			for (s++; *s && *s != '\''; s++)
				WN_TRY(wn_buf_addc(w, *s));
			if (*s)
				s++;
		} else if (*s == '\\' && s[1]) {
			WN_TRY(wn_buf_addc(w, s[1]));
			s += 2;
		} else {
			WN_TRY(wn_buf_addc(w, *s++));
		}
	}
	WN_TRY(wn_buf_addc(w, '\0'));
	*p = s;
	*got = 1;
	return WN_OK;
}

static const struct wn_option *find_option(const struct wn_stage_type *t, const char *name)
{
	for (const struct wn_option *o = t ? t->options : NULL; o && o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	for (const struct wn_option *o = wn_common_options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* Words are kept apart by a byte no option value has. */
static int key_add(struct wn_buf *key, const char *w)
{
	WN_TRY(wn_buf_adds(key, w));
	return wn_buf_addc(key, '\x1f');
}

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	return *dst ? WN_OK : WN_ENOMEM;
}

/*
 * What of the pipeline must agree between ranks: every stage and every
 * option with its value, but not the input files (each rank reads its
 * own) nor the value of --rank.  The options of a stage this winnow knows
 * are told from the files by its option table; a word "--x" it does not
 * know is kept with the word after it, which may be its value, and every
 * word of a stage it does not know is kept.
 */
static int pipeline_key(struct minput *in)
{
	const char *p = in->pipeline;
	const struct wn_stage_type *t = NULL;
	struct wn_buf w, v;
	int got, start = 1, rc = WN_OK;

	wn_buf_init(&w, WN_BUF_UNLIMITED);
	wn_buf_init(&v, WN_BUF_UNLIMITED);
	for (;;) {
		const struct wn_option *o;
		const char *name;
		const char *q;
		int more;

		rc = next_word(&p, &w, &got);
		if (rc < 0 || !got)
			break;
		if (start) {
			/* A stage's name: its option table tells options from files. */
			t = wn_stage_find(w.data);
			start = 0;
			if ((rc = key_add(&in->key, w.data)) < 0)
				break;
			continue;
		}
		if (strcmp(w.data, "then") == 0) {
			start = 1;
			if ((rc = key_add(&in->key, "then")) < 0)
				break;
			continue;
		}
		if (!t) {
			/* A stage this winnow does not know: every word counts. */
			if ((rc = key_add(&in->key, w.data)) < 0)
				break;
			continue;
		}
		if (strncmp(w.data, "--", 2) != 0 || !w.data[2])
			continue; /* an input file */
		name = w.data + 2;
		o = find_option(t, name);
		/* The word after it, when it could be a value. */
		q = p;
		rc = next_word(&q, &v, &more);
		if (rc < 0)
			break;
		if (more && strcmp(v.data, "then") == 0)
			more = 0;
		if (o && o->type == WN_OPT_FLAG)
			more = 0;
		else if (!o && strncmp(v.data, "--", 2) == 0)
			more = 0;
		rc = key_add(&in->key, w.data);
		if (rc == WN_OK && more) {
			p = q;
			/* read does not record --rank, the one option that
			 * differs between ranks; should a pipeline hold it,
			 * its value is left out all the same. */
			if (strcmp(name, "rank") != 0)
				rc = key_add(&in->key, v.data);
			if (rc == WN_OK && strcmp(t->name, "shard") == 0 &&
			    strcmp(name, "name") == 0)
				rc = set_str(&in->name, v.data);
		}
		if (rc < 0)
			break;
	}
	wn_buf_release(&w);
	wn_buf_release(&v);
	return rc;
}

/* ---- reading an input -------------------------------------------------------- */

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_hex(json_t *o, const char *key, unsigned char *out, size_t n)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? wn_ds_unhex(out, n, s) : -1;
}

/* Parse "data/<split>-<i>-of-<n><ext>" (5 or more digits each) for i. */
static int shard_index(const char *path, const char *split, const char *ext, uint64_t *index)
{
	size_t sl = strlen(split), el = strlen(ext), pl;
	const char *p = path;
	char *end;

	if (strncmp(p, WN_DS_DATA "/", sizeof WN_DS_DATA) != 0)
		return -1;
	p += sizeof WN_DS_DATA;
	pl = strlen(p);
	if (strncmp(p, split, sl) != 0 || p[sl] != '-' || pl < el ||
	    strcmp(p + pl - el, ext) != 0)
		return -1;
	p += sl + 1;
	if (!(*p >= '0' && *p <= '9'))
		return -1;
	errno = 0;
	*index = strtoull(p, &end, 10);
	if (errno || end - p < 5 || strncmp(end, "-of-", 4) != 0)
		return -1;
	p = end + 4;
	if (!(*p >= '0' && *p <= '9'))
		return -1;
	strtoull(p, &end, 10);
	return end - p >= 5 && (size_t)(end - path) == strlen(path) - el ? 0 : -1;
}

static const char *parse_file(struct minput *in, json_t *e, struct mfile *f)
{
	const char *role = NULL, *ext;

	memset(f, 0, sizeof *f);
	f->from = json_string_value(json_object_get(e, "path"));
	f->sh.split = json_string_value(json_object_get(e, "split"));
	if (!f->from || !f->sh.split || !wn_ds_split_name_ok(f->sh.split))
		return "an entry without a path or split";
	if (get_u64(e, "bytes", &f->sh.bytes) != 0 || get_hex(e, "sha256", f->sh.sha256, 32) != 0 ||
	    get_hex(e, "xxh3_128", f->sh.xxh3, 16) != 0)
		return "an entry without bytes, sha256 or xxh3_128";
	if (in->format == WN_SHARD_JSONL) {
		if (get_u64(e, "records", &f->sh.records) != 0 ||
		    get_u64(e, "raw_bytes", &f->sh.raw_bytes) != 0 ||
		    get_hex(e, "raw_xxh3_128", f->sh.raw_xxh3, 16) != 0)
			return "an entry without records, raw_bytes or raw_xxh3_128";
	} else {
		role = json_string_value(json_object_get(e, "role"));
		f->role = -1;
		for (size_t r = 0; role && r < in->fmt->nfiles; r++)
			if (strcmp(role, in->fmt->files[r].role) == 0)
				f->role = (int)r;
		if (f->role < 0 || get_u64(e, "documents", &f->sh.records) != 0 ||
		    get_u64(e, "tokens", &f->sh.tokens) != 0)
			return "an entry without a role, documents or tokens";
		f->sh.role = in->fmt->files[f->role].role;
		f->sh.raw_bytes = f->sh.bytes;
	}
	ext = in->fmt->files[f->role].ext;
	if (shard_index(f->from, f->sh.split, ext, &f->index) != 0)
		return NULL; /* reported by the caller, with the path */
	return "";
}

/* Shards of a split in index order, the files of a shard in role order. */
static int mfile_cmp(const void *a, const void *b)
{
	const struct mfile *x = a, *y = b;
	int c = strcmp(x->sh.split, y->sh.split);

	if (c)
		return c;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->role - y->role;
}

static const char *parse_top(struct minput *in)
{
	json_t *m = in->m, *t;
	json_int_t version = json_integer_value(json_object_get(m, "version"));
	const char *name;

	in->tool = json_string_value(json_object_get(json_object_get(m, "tool"), "version"));
	in->pipeline = json_string_value(json_object_get(m, "pipeline"));
	if (!in->tool || !in->pipeline)
		return "no tool version or pipeline";
	if (version != WN_DS_VERSION && version != WN_DS_VERSION_TOKENS)
		return "a version this winnow does not read";
	if (version == WN_DS_VERSION) {
		in->format = WN_SHARD_JSONL;
		in->fmt = wn_ds_format_of(WN_SHARD_JSONL);
		in->level = json_integer_value(json_object_get(json_object_get(m, "compression"),
		                                               "level"));
		return NULL;
	}
	name = json_string_value(json_object_get(m, "shard_format"));
	if (!name || wn_ds_format_named(name, &in->format) != 0 || in->format == WN_SHARD_JSONL)
		return "an unknown shard_format";
	in->fmt = wn_ds_format_of(in->format);
	name = json_string_value(json_object_get(m, "dtype"));
	if (!name || wn_ds_dtype_named(in->format, name, &in->dtype) != 0)
		return "an unknown dtype";
	t = json_object_get(m, "tokenizer");
	in->tokenizer_name = json_string_value(json_object_get(t, "name"));
	in->tokenizer_sha256 = json_string_value(json_object_get(t, "sha256"));
	if (!in->tokenizer_name || !in->tokenizer_sha256 ||
	    get_u64(t, "vocab_size", &in->vocab_size) != 0 || in->vocab_size == 0 ||
	    in->vocab_size > UINT32_MAX)
		return "no tokenizer name, sha256 or vocab_size";
	if (in->format == WN_SHARD_NANOGPT &&
	    (get_u64(m, "eot", &in->eot) != 0 || in->eot >= in->vocab_size))
		return "no eot below the vocabulary size";
	return NULL;
}

static int read_manifest(struct minput *in, char **text, size_t *len, struct wn_error *err)
{
	int errnum;

	*text = wn_ds_read_file_at(in->dirfd, WN_DS_MANIFEST, MANIFEST_MAX, len, &errnum);
	if (*text)
		return WN_OK;
	if (errnum == ENOMEM)
		return mem_fail(err);
	if (errnum == ENOENT)
		return wn_error_set(err, WN_EVERIFY, NULL, 0,
		                    "%s: no " WN_DS_MANIFEST ": not a complete dataset", in->dir);
	return wn_error_errno(err, errnum, NULL, "%s/" WN_DS_MANIFEST, in->dir);
}

/* Open and read one input's manifest; nothing is verified yet. */
static int load_input(struct minput *in, struct wn_error *err)
{
	json_t *shards, *e;
	json_error_t jerr;
	struct stat st;
	const char *why;
	size_t i;

	in->dirfd = open(in->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in->dirfd < 0 || fstat(in->dirfd, &st) != 0)
		return wn_error_errno(err, errno, NULL, "%s", in->dir);
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	WN_TRY(read_manifest(in, &in->text, &in->len, err));
	in->m = json_loadb(in->text, in->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!in->m)
		return wn_error_set(err, WN_EVERIFY, NULL, 0, "%s/" WN_DS_MANIFEST ": line %d: %s",
		                    in->dir, jerr.line, jerr.text);
	if (!json_is_object(in->m) ||
	    !json_is_string(json_object_get(in->m, "format")) ||
	    strcmp(json_string_value(json_object_get(in->m, "format")), WN_DS_FORMAT) != 0)
		return wn_error_set(err, WN_EVERIFY, NULL, 0,
		                    "%s/" WN_DS_MANIFEST ": not a winnow dataset manifest", in->dir);
	why = parse_top(in);
	shards = json_object_get(in->m, "shards");
	if (!why && !json_is_array(shards))
		why = "no shards";
	if (why)
		return wn_error_set(err, WN_EVERIFY, NULL, 0, "%s/" WN_DS_MANIFEST ": %s", in->dir,
		                    why);
	in->nfiles = json_array_size(shards);
	in->files = calloc(in->nfiles + 1, sizeof *in->files);
	if (!in->files)
		return mem_fail(err);
	json_array_foreach(shards, i, e) {
		why = parse_file(in, e, &in->files[i]);
		if (!why)
			return wn_error_set(err, WN_EDATA, NULL, 0,
			                    "%s: %s: not named as winnow names shards "
			                    "({split}-{i:05d}-of-{n:05d}%s)",
			                    in->dir, in->files[i].from, in->fmt->files[0].ext);
		if (why[0])
			return wn_error_set(err, WN_EVERIFY, NULL, 0,
			                    "%s/" WN_DS_MANIFEST ": shards[%zu]: %s", in->dir, i, why);
	}
	qsort(in->files, in->nfiles, sizeof *in->files, mfile_cmp);
	for (i = 1; i < in->nfiles; i++)
		if (mfile_cmp(&in->files[i - 1], &in->files[i]) == 0)
			return wn_error_set(err, WN_EDATA, NULL, 0,
			                    "%s: %s and %s: two files of one role in shard %" PRIu64
			                    " of split %s", in->dir, in->files[i - 1].from,
			                    in->files[i].from, in->files[i].index,
			                    in->files[i].sh.split);
	if (pipeline_key(in) < 0)
		return mem_fail(err);
	return WN_OK;
}

/* Verify an input, and make sure its manifest is the one that was read. */
static int verify_input(struct merge *mg, struct minput *in, struct wn_error *err)
{
	struct wn_verify_opts vo = { .deep = mg->o->deep,
	                             .threads = mg->o->threads ? mg->o->threads : 1 };
	struct wn_verify_report rep;
	struct wn_error verr;
	char *again;
	size_t len;
	int rc;

	wn_error_clear(&verr);
	rc = wn_verify(in->dir, &vo, &rep, &verr);
	if (rc == WN_EVERIFY) {
		const struct wn_verify_problem *p = &rep.problems[0];
		size_t more = rep.nproblems - 1;
		char also[128] = "";

		if (more)
			snprintf(also, sizeof also, " (and %zu more: 'winnow verify' lists them)",
			         more);
		wn_error_set(err, WN_EVERIFY, NULL, 0, "%s does not verify: %s/%s: %s%s%s%s",
		             in->dir, in->dir, p->path, p->kind, p->detail[0] ? ": " : "",
		             p->detail, also);
		wn_verify_report_release(&rep);
		return WN_EVERIFY;
	}
	wn_verify_report_release(&rep);
	if (rc < 0)
		return wn_error_set(err, rc, NULL, 0, "%s", verr.msg);
	WN_TRY(read_manifest(in, &again, &len, err));
	rc = len == in->len && memcmp(again, in->text, len) == 0;
	free(again);
	if (!rc)
		return wn_error_set(err, WN_EVERIFY, NULL, 0,
		                    "%s/" WN_DS_MANIFEST " changed while it was verified", in->dir);
	return WN_OK;
}

/* ---- checking that the inputs belong together ---------------------------------- */

static const char *format_name(const struct minput *in)
{
	return in->fmt->name;
}

static int compatible(const struct minput *a, const struct minput *b, struct wn_error *err)
{
	if (a->format != b->format)
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "%s holds %s shards, %s holds %s shards", b->dir,
		                    format_name(b), a->dir, format_name(a));
	if (strcmp(a->tool, b->tool) != 0)
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "%s was made by winnow %s, %s by winnow %s", b->dir, b->tool,
		                    a->dir, a->tool);
	if (a->format == WN_SHARD_JSONL && a->level != b->level)
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "%s is compressed at zstd level %lld, %s at level %lld", b->dir,
		                    (long long)b->level, a->dir, (long long)a->level);
	if (a->format != WN_SHARD_JSONL &&
	    (strcmp(a->tokenizer_name, b->tokenizer_name) != 0 ||
	     strcmp(a->tokenizer_sha256, b->tokenizer_sha256) != 0 ||
	     a->vocab_size != b->vocab_size || a->dtype != b->dtype || a->eot != b->eot))
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "%s was tokenized with '%s' (sha256 %.12s, %" PRIu64 " tokens, "
		                    "%s), %s with '%s' (sha256 %.12s, %" PRIu64 " tokens, %s)",
		                    b->dir, b->tokenizer_name, b->tokenizer_sha256, b->vocab_size,
		                    wn_ds_dtype_name(b->dtype), a->dir, a->tokenizer_name,
		                    a->tokenizer_sha256, a->vocab_size, wn_ds_dtype_name(a->dtype));
	if (a->key.len != b->key.len || memcmp(a->key.data, b->key.data, a->key.len) != 0)
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "%s was made by another pipeline than %s (only the input files "
		                    "may differ): '%s' against '%s'", b->dir, a->dir,
		                    b->pipeline, a->pipeline);
	return WN_OK;
}

/* The same directory twice would repeat its records. */
static int check_distinct(struct merge *mg, struct wn_error *err)
{
	for (size_t i = 0; i < mg->nin; i++)
		for (size_t j = 0; j < i; j++)
			if (mg->in[i].dev == mg->in[j].dev && mg->in[i].ino == mg->in[j].ino)
				return wn_error_set(err, WN_EUSAGE, NULL, 0,
				                    "%s and %s are the same directory", mg->in[j].dir,
				                    mg->in[i].dir);
	return WN_OK;
}

/*
 * OUT must not be an input nor lie inside one: replacing or filling it
 * would change that input.  Checked by device and inode up the tree from
 * OUT, or from the nearest part of its path that exists.
 */
static int check_out_outside(struct merge *mg, struct wn_error *err)
{
	char *p = strdup(mg->o->out);
	int fd = -1, rc = WN_OK;
	struct stat st, up;

	if (!p)
		return mem_fail(err);
	for (;;) {
		char *slash;

		fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		slash = strrchr(p, '/');
		while (slash && slash > p && slash[-1] == '/')
			slash--;
		if (!slash) {
			strcpy(p, ".");
		} else if (slash == p) {
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
	free(p);
	if (fd < 0)
		return WN_OK; /* not a directory: making OUT fails with a clear error */
	while (rc == WN_OK && fstat(fd, &st) == 0) {
		int parent;

		for (size_t i = 0; i < mg->nin; i++)
			if (st.st_dev == mg->in[i].dev && st.st_ino == mg->in[i].ino)
				rc = wn_error_set(err, WN_EUSAGE, NULL, 0,
				                  "%s: the output must not be an input (%s) nor "
				                  "inside one", mg->o->out, mg->in[i].dir);
		parent = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (parent < 0 || fstat(parent, &up) != 0 ||
		    (up.st_dev == st.st_dev && up.st_ino == st.st_ino)) {
			if (parent >= 0)
				close(parent);
			break;
		}
		close(fd);
		fd = parent;
	}
	close(fd);
	return rc;
}

/* ---- making OUT -------------------------------------------------------------- */

/*
 * Leave OUT ready for the merge: empty, or (with force, or when an
 * interrupted merge left its marker and no manifest) cleared of an earlier
 * dataset exactly as `shard --force` clears it.  The dataset writer does
 * that, and undoes what it made itself when freed unfinished.
 */
static int prepare_out(struct merge *mg, struct wn_error *err)
{
	struct wn_dataset_opts dopts = { .dir = mg->o->out, .force = mg->o->force };
	struct wn_dataset *ds = NULL;
	struct stat st;
	int fd = open(mg->o->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		if (fstatat(fd, MARKER, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    fstatat(fd, WN_DS_MANIFEST, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
			dopts.force = 1;
			mg->res->cleaned = 1;
			note(mg, "%s: removing what an interrupted merge left", mg->o->out);
		}
		close(fd);
	}
	WN_TRY(wn_dataset_create(&ds, &dopts, err));
	wn_dataset_free(ds);
	return WN_OK;
}

static int fail_errno(struct wn_error *err, int errnum, const char *dir, const char *sub,
                      const char *name)
{
	if (sub)
		return wn_error_errno(err, errnum, NULL, "%s/%s/%s", dir, sub, name);
	if (name)
		return wn_error_errno(err, errnum, NULL, "%s/%s", dir, name);
	return wn_error_errno(err, errnum, NULL, "%s", dir);
}

/* OUT and OUT/data, and the marker, made durable before any shard is
 * placed: after a crash, the marker is there to say what OUT holds. */
static int make_out(struct merge *mg, struct wn_error *err)
{
	const char *out = mg->o->out;
	int fd;

	if (mkdir(out, 0777) == 0)
		mg->made_dir = 1;
	else if (errno != EEXIST)
		return fail_errno(err, errno, out, NULL, NULL);
	mg->dirfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mg->dirfd < 0)
		return fail_errno(err, errno, out, NULL, NULL);
	fd = openat(mg->dirfd, MARKER, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	            0666);
	if (fd < 0)
		return fail_errno(err, errno, out, NULL, MARKER);
	mg->made_marker = 1;
	{
		static const char text[] = "a winnow merge into this directory is under way, or "
		                           "was interrupted if there is no manifest.json\n";
		int e = wn_ds_write_all(fd, text, sizeof text - 1);

		if (!e && fsync(fd) != 0)
			e = errno;
		if (close(fd) != 0 && !e)
			e = errno;
		if (e)
			return fail_errno(err, e, out, NULL, MARKER);
	}
	if (mkdirat(mg->dirfd, WN_DS_DATA, 0777) == 0)
		mg->made_data = 1;
	else if (errno != EEXIST)
		return fail_errno(err, errno, out, NULL, WN_DS_DATA);
	mg->datafd = openat(mg->dirfd, WN_DS_DATA, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (mg->datafd < 0)
		return fail_errno(err, errno, out, NULL, WN_DS_DATA);
	if (fsync(mg->dirfd) != 0)
		return fail_errno(err, errno, out, NULL, NULL);
	return WN_OK;
}

/* ---- placing the shards ------------------------------------------------------ */

struct split_count {
	const char *name;
	uint64_t shards, next;
};

static int count_cmp(const void *a, const void *b)
{
	return strcmp(((const struct split_count *)a)->name, ((const struct split_count *)b)->name);
}

/* Give every file its path in OUT: the shards of a split numbered across
 * the inputs in order, a token shard's files under one name. */
static int number_files(struct merge *mg, struct split_count **counts, size_t *ncounts,
                        struct wn_error *err)
{
	struct split_count *c = NULL, key;
	size_t n = 0;

	for (size_t i = 0; i < mg->nin; i++) {
		for (size_t j = 0; j < mg->in[i].nfiles; j++) {
			const struct mfile *f = &mg->in[i].files[j];
			struct split_count *s = NULL;

			for (size_t k = 0; k < n && !s; k++)
				if (strcmp(c[k].name, f->sh.split) == 0)
					s = &c[k];
			if (!s) {
				struct split_count *g = realloc(c, (n + 1) * sizeof *c);

				if (!g) {
					free(c);
					return mem_fail(err);
				}
				c = g;
				s = &c[n++];
				*s = (struct split_count){ .name = f->sh.split };
			}
			s->shards += f->role == 0;
		}
	}
	if (n)
		qsort(c, n, sizeof *c, count_cmp);
	for (size_t i = 0; i < mg->nin; i++) {
		struct minput *in = &mg->in[i];

		for (size_t j = 0; j < in->nfiles; j++) {
			struct mfile *f = &in->files[j];
			struct split_count *s;
			uint64_t g;

			key.name = f->sh.split;
			s = bsearch(&key, c, n, sizeof *c, count_cmp);
			/* The files of a shard follow each other, its token file
			 * first (verify refuses a shard without one). */
			if (f->role == 0)
				s->next++;
			if (s->next == 0) {
				free(c);
				return wn_error_set(err, WN_EDATA, NULL, 0,
				                    "%s: %s: its shard has no %s file", in->dir,
				                    f->from, in->fmt->files[0].role);
			}
			g = s->next - 1;
			if (asprintf(&f->sh.path, WN_DS_DATA "/%s-%05" PRIu64 "-of-%05" PRIu64 "%s",
			             f->sh.split, g, s->shards, in->fmt->files[f->role].ext) < 0) {
				f->sh.path = NULL;
				free(c);
				return mem_fail(err);
			}
			snprintf(f->tmpname, sizeof f->tmpname, ".%s-%05" PRIu64 "%s" WN_DS_TMP_EXT,
			         f->sh.split, g, in->fmt->files[f->role].ext);
		}
	}
	*counts = c;
	*ncounts = n;
	return WN_OK;
}

/* Copy a file whose hard link is impossible, checking it against the
 * manifest as it goes: it was verified, but may have changed since. */
static int copy_file(struct merge *mg, struct minput *in, struct mfile *f, struct wn_error *err)
{
	const char *out = mg->o->out;
	unsigned char *buf = malloc(COPY_CHUNK), xxh[16];
	XXH3_state_t *x = XXH3_createState();
	uint64_t total = 0;
	int src = -1, dst = -1, e = 0, rc = WN_OK;

	if (!buf || !x) {
		rc = mem_fail(err);
		goto out;
	}
	XXH3_128bits_reset(x);
	src = openat(in->dirfd, f->from, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		rc = fail_errno(err, errno, in->dir, NULL, f->from);
		goto out;
	}
	dst = openat(mg->datafd, f->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	             0666);
	if (dst < 0) {
		rc = fail_errno(err, errno, out, WN_DS_DATA, f->tmpname);
		goto out;
	}
	f->tmp = 1;
	for (;;) {
		ssize_t r = read(src, buf, COPY_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = fail_errno(err, errno, in->dir, NULL, f->from);
			goto out;
		}
		if (r == 0)
			break;
		XXH3_128bits_update(x, buf, (size_t)r);
		total += (uint64_t)r;
		e = wn_ds_write_all(dst, buf, (size_t)r);
		if (e) {
			rc = fail_errno(err, e, out, WN_DS_DATA, f->tmpname);
			goto out;
		}
	}
	XXH128_canonicalFromHash((XXH128_canonical_t *)xxh, XXH3_128bits_digest(x));
	if (total != f->sh.bytes || memcmp(xxh, f->sh.xxh3, 16) != 0) {
		rc = wn_error_set(err, WN_EVERIFY, NULL, 0,
		                  "%s/%s changed after it was verified", in->dir, f->from);
		goto out;
	}
	e = fsync(dst) != 0 ? errno : 0;
	if (close(dst) != 0 && !e)
		e = errno;
	dst = -1;
	if (!e && renameat(mg->datafd, f->tmpname, mg->datafd,
	                   f->sh.path + sizeof WN_DS_DATA) != 0)
		e = errno;
	if (e) {
		rc = fail_errno(err, e, out, NULL, f->sh.path);
		goto out;
	}
	f->tmp = 0;
	f->placed = 1;
	mg->res->copied++;
out:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	XXH3_freeState(x);
	free(buf);
	return rc;
}

/* Errors of link(2) that a copy gets round: another filesystem, one
 * without hard links, a file the kernel's protected_hardlinks keeps from
 * being linked by another user, too many links. */
static int link_impossible(int e)
{
	return e == EXDEV || e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EMLINK;
}

static int place_file(struct merge *mg, struct minput *in, struct mfile *f, struct wn_error *err)
{
	const char *name = f->sh.path + sizeof WN_DS_DATA;
	struct stat st;

	if (linkat(in->dirfd, f->from, mg->datafd, name, AT_SYMLINK_FOLLOW) != 0) {
		int e = errno;

		if (!link_impossible(e))
			return wn_error_errno(err, e, NULL, "cannot link %s/%s to %s/%s", in->dir,
			                      f->from, mg->o->out, f->sh.path);
		if (!mg->o->copy) {
			if (e == EXDEV)
				return wn_error_set(err, WN_EUSAGE, NULL, 0,
				                    "%s and %s are on different filesystems, where "
				                    "shards cannot be hard-linked (--copy copies them)",
				                    in->dir, mg->o->out);
			return wn_error_set(err, WN_EUSAGE, NULL, 0,
			                    "cannot hard-link %s/%s into %s: %s (--copy copies the "
			                    "shards instead)", in->dir, f->from, mg->o->out,
			                    strerror(e));
		}
		if (!mg->copying) {
			note(mg, "copying shards into %s that cannot be hard-linked (%s/%s: %s)",
			     mg->o->out, in->dir, f->from,
			     e == EXDEV ? "another filesystem" : strerror(e));
			mg->copying = 1;
		}
		return copy_file(mg, in, f, err);
	}
	f->placed = 1;
	mg->res->linked++;
	/* A file replaced since it was verified would not be caught here,
	 * but one of another size is: the cheap part of a check. */
	if (fstatat(mg->datafd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return fail_errno(err, errno, mg->o->out, NULL, f->sh.path);
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != f->sh.bytes)
		return wn_error_set(err, WN_EVERIFY, NULL, 0,
		                    "%s/%s changed after it was verified", in->dir, f->from);
	return WN_OK;
}

/* ---- the metadata ------------------------------------------------------------ */

static int write_top(struct merge *mg, int which, const struct wn_buf *b, struct wn_error *err)
{
	const char *name = top_names[which];
	char tmp[64];
	int fd, e;

	snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, name);
	fd = openat(mg->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return fail_errno(err, errno, mg->o->out, NULL, tmp);
	mg->top_tmp[which] = 1;
	e = wn_ds_write_all(fd, b->data ? b->data : "", b->len);
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (e)
		return fail_errno(err, e, mg->o->out, NULL, tmp);
	if (renameat(mg->dirfd, tmp, mg->dirfd, name) != 0)
		return fail_errno(err, errno, mg->o->out, NULL, name);
	mg->top_tmp[which] = 0;
	mg->top_made[which] = 1;
	return WN_OK;
}

static int count_cmp_sum(const void *a, const void *b)
{
	return strcmp(((const struct wn_ds_split_sum *)a)->name,
	              ((const struct wn_ds_split_sum *)b)->name);
}

/* The card, SHA256SUMS and the manifest, as the shard writer makes them. */
static int write_meta(struct merge *mg, const struct split_count *counts, size_t ncounts,
                      struct wn_error *err)
{
	const struct minput *first = &mg->in[0];
	struct wn_ds_shard **sorted;
	struct wn_ds_split_sum *sums;
	struct wn_buf sums_text, manifest, card;
	struct wn_ds_meta m;
	unsigned char root[32];
	char *name = NULL;
	size_t n = 0, k = 0;
	int rc = WN_ENOMEM;

	for (size_t i = 0; i < mg->nin; i++)
		n += mg->in[i].nfiles;
	wn_buf_init(&sums_text, WN_BUF_UNLIMITED);
	wn_buf_init(&manifest, WN_BUF_UNLIMITED);
	wn_buf_init(&card, WN_BUF_UNLIMITED);
	sorted = malloc((n + 1) * sizeof *sorted);
	sums = calloc(ncounts + 1, sizeof *sums);
	if (mg->o->name && mg->o->name[0])
		name = strdup(mg->o->name);
	else if (first->name && first->name[0])
		name = strdup(first->name);
	else
		name = wn_ds_default_name(mg->o->out);
	if (!sorted || !sums || !name)
		goto out;
	for (size_t i = 0; i < ncounts; i++)
		sums[i].name = counts[i].name;
	for (size_t i = 0; i < mg->nin; i++) {
		for (size_t j = 0; j < mg->in[i].nfiles; j++) {
			struct mfile *f = &mg->in[i].files[j];
			struct wn_ds_split_sum key = { .name = f->sh.split }, *s;

			sorted[k++] = &f->sh;
			s = bsearch(&key, sums, ncounts, sizeof *sums, count_cmp_sum);
			s->files++;
			s->bytes += f->sh.bytes;
			s->raw_bytes += f->sh.raw_bytes;
			if (f->role == 0) {
				s->shards++;
				s->records += f->sh.records;
				s->tokens += f->sh.tokens;
			}
		}
	}
	qsort(sorted, n, sizeof *sorted, wn_ds_shard_cmp);
	m = (struct wn_ds_meta){
		.name = name,
		.pipeline = first->pipeline,
		.tool_version = first->tool,
		.level = (int)first->level,
		.format = first->format,
		.dtype = first->dtype,
		.vocab_size = (uint32_t)first->vocab_size,
		.eot = (uint32_t)first->eot,
		.tokenizer_name = first->tokenizer_name ? first->tokenizer_name : "",
		.tokenizer_sha256 = first->tokenizer_sha256 ? first->tokenizer_sha256 : "",
		.shards = sorted,
		.nshards = n,
		.splits = sums,
		.nsplits = ncounts,
	};
	rc = wn_ds_sums_text(&sums_text, sorted, n);
	if (rc == WN_OK && !EVP_Digest(sums_text.data ? sums_text.data : "", sums_text.len, root,
	                               NULL, EVP_sha256(), NULL))
		rc = WN_ENOMEM;
	if (rc == WN_OK)
		rc = wn_ds_manifest_text(&manifest, &m, root);
	if (rc == WN_OK)
		rc = wn_ds_card_text(&card, &m);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < ncounts; i++) {
		mg->res->shards += sums[i].shards;
		mg->res->files += sums[i].files;
		mg->res->records += sums[i].records;
		mg->res->tokens += sums[i].tokens;
		mg->res->bytes += sums[i].bytes;
		mg->res->raw_bytes += sums[i].raw_bytes;
	}
	rc = write_top(mg, 0, &card, err);
	if (rc == WN_OK)
		rc = write_top(mg, 1, &sums_text, err);
	if (rc == WN_OK)
		rc = write_top(mg, 2, &manifest, err);
	if (rc == WN_OK)
		mg->complete = 1;
out:
	if (rc == WN_ENOMEM)
		rc = mem_fail(err);
	wn_buf_release(&sums_text);
	wn_buf_release(&manifest);
	wn_buf_release(&card);
	free(sorted);
	free(sums);
	free(name);
	return rc;
}

/* ---- the end ----------------------------------------------------------------- */

/* Without a complete merge, remove everything this one made. */
static void remove_partial(struct merge *mg)
{
	char tmp[64];

	for (size_t i = 0; i < mg->nin; i++) {
		for (size_t j = 0; j < mg->in[i].nfiles; j++) {
			struct mfile *f = &mg->in[i].files[j];

			if (f->tmp)
				unlinkat(mg->datafd, f->tmpname, 0);
			if (f->placed)
				unlinkat(mg->datafd, f->sh.path + sizeof WN_DS_DATA, 0);
		}
	}
	for (int i = NTOP - 1; i >= 0; i--) {
		snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, top_names[i]);
		if (mg->top_tmp[i])
			unlinkat(mg->dirfd, tmp, 0);
		if (mg->top_made[i])
			unlinkat(mg->dirfd, top_names[i], 0);
	}
	if (mg->made_data)
		unlinkat(mg->dirfd, WN_DS_DATA, AT_REMOVEDIR);
	if (mg->made_marker)
		unlinkat(mg->dirfd, MARKER, 0);
	if (mg->made_dir)
		rmdir(mg->o->out);
}

static int unlink_input(struct minput *in, const char *path, struct wn_error *err)
{
	if (unlinkat(in->dirfd, path, 0) != 0 && errno != ENOENT)
		return fail_errno(err, errno, in->dir, NULL, path);
	return WN_OK;
}

/*
 * --move: OUT is complete, so the inputs go.  Each manifest first: an input
 * whose removal is cut short does not look complete.  Files that are not
 * the dataset's are left, and with them the directory.
 */
static int remove_input(struct merge *mg, struct minput *in, struct wn_error *err)
{
	WN_TRY(unlink_input(in, WN_DS_MANIFEST, err));
	if (fsync(in->dirfd) != 0)
		return fail_errno(err, errno, in->dir, NULL, NULL);
	for (size_t j = 0; j < in->nfiles; j++)
		WN_TRY(unlink_input(in, in->files[j].from, err));
	WN_TRY(unlink_input(in, WN_DS_SUMS, err));
	WN_TRY(unlink_input(in, WN_DS_CARD, err));
	if (unlinkat(in->dirfd, WN_DS_DATA, AT_REMOVEDIR) != 0 && errno != ENOENT) {
		note(mg, "%s: left in place: " WN_DS_DATA "/ holds other files", in->dir);
		return WN_OK;
	}
	if (rmdir(in->dir) != 0)
		note(mg, "%s: left in place: it holds other files", in->dir);
	return WN_OK;
}

static void release_input(struct minput *in)
{
	for (size_t j = 0; in->files && j < in->nfiles; j++)
		free(in->files[j].sh.path);
	free(in->files);
	json_decref(in->m);
	free(in->text);
	wn_buf_release(&in->key);
	free(in->name);
	if (in->dirfd >= 0)
		close(in->dirfd);
}

static int check_opts(const struct wn_merge_opts *o, struct wn_error *err)
{
	if (!o->out || !o->out[0])
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "no output directory");
	if (o->ninputs == 0)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "no dataset to merge");
	for (size_t i = 0; i < o->ninputs; i++)
		if (!o->inputs[i] || !o->inputs[i][0])
			return wn_error_set(err, WN_EUSAGE, NULL, 0, "an empty directory name");
	return WN_OK;
}

static int run(struct merge *mg, struct wn_error *err)
{
	const struct wn_merge_opts *o = mg->o;
	struct split_count *counts = NULL;
	size_t ncounts = 0;
	int rc;

	/* Everything about the inputs first, the cheap checks before the
	 * hashing: nothing is written before all of them pass. */
	for (size_t i = 0; i < mg->nin; i++) {
		mg->in[i].dir = o->inputs[i];
		WN_TRY(load_input(&mg->in[i], err));
		if (i > 0)
			WN_TRY(compatible(&mg->in[0], &mg->in[i], err));
	}
	WN_TRY(check_distinct(mg, err));
	WN_TRY(check_out_outside(mg, err));
	for (size_t i = 0; i < mg->nin; i++)
		WN_TRY(verify_input(mg, &mg->in[i], err));
	WN_TRY(prepare_out(mg, err));
	WN_TRY(make_out(mg, err));
	WN_TRY(number_files(mg, &counts, &ncounts, err));
	rc = WN_OK;
	for (size_t i = 0; rc == WN_OK && i < mg->nin; i++)
		for (size_t j = 0; rc == WN_OK && j < mg->in[i].nfiles; j++)
			rc = place_file(mg, &mg->in[i], &mg->in[i].files[j], err);
	if (rc == WN_OK && fsync(mg->datafd) != 0)
		rc = fail_errno(err, errno, o->out, NULL, WN_DS_DATA);
	if (rc == WN_OK)
		rc = write_meta(mg, counts, ncounts, err);
	free(counts);
	WN_TRY(rc);
	/* Complete: the marker goes, and then (--move) the inputs. */
	if (unlinkat(mg->dirfd, MARKER, 0) != 0 && errno != ENOENT)
		return fail_errno(err, errno, o->out, NULL, MARKER);
	mg->made_marker = 0;
	if (fsync(mg->dirfd) != 0)
		return fail_errno(err, errno, o->out, NULL, NULL);
	for (size_t i = 0; o->move && i < mg->nin; i++) {
		struct wn_error e;

		wn_error_clear(&e);
		rc = remove_input(mg, &mg->in[i], &e);
		if (rc < 0)
			return wn_error_set(err, rc, NULL, 0, "%s is complete, but: %s", o->out,
			                    e.msg);
	}
	return WN_OK;
}

int wn_dataset_merge(const struct wn_merge_opts *o, struct wn_merge_result *res,
                     struct wn_error *err)
{
	struct merge mg = { .o = o, .dirfd = -1, .datafd = -1, .res = res };
	int rc;

	memset(res, 0, sizeof *res);
	WN_TRY(check_opts(o, err));
	mg.nin = o->ninputs;
	mg.in = calloc(mg.nin, sizeof *mg.in);
	if (!mg.in)
		return mem_fail(err);
	for (size_t i = 0; i < mg.nin; i++) {
		mg.in[i].dirfd = -1;
		wn_buf_init(&mg.in[i].key, WN_BUF_UNLIMITED);
	}
	rc = run(&mg, err);
	if (rc < 0 && !mg.complete && mg.dirfd >= 0)
		remove_partial(&mg);
	else if (rc < 0 && !mg.complete && mg.made_dir)
		rmdir(o->out);
	res->inputs = mg.nin;
	res->format = mg.in[0].format;
	for (size_t i = 0; i < mg.nin; i++)
		release_input(&mg.in[i]);
	free(mg.in);
	if (mg.datafd >= 0)
		close(mg.datafd);
	if (mg.dirfd >= 0)
		close(mg.dirfd);
	return rc;
}
