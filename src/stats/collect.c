/*
 * collect.c - the stats collector: inputs and datasets, split into scopes,
 * read in batches whose records are analysed by worker threads.
 *
 * The reading thread copies records into a batch; a full batch is cut
 * into NPARTS parts of about equal bytes, each analysed by one worker into
 * an accumulator of its own, while the reading thread fills the next batch.
 * The parts are then merged into the batch's scope in part order.  Every
 * count is a sum, and names are merged in a fixed order, so the report does
 * not depend on the number of threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/pool.h"
#include "stats/stats_int.h"

#define BATCH_BYTES ((size_t)4 << 20)
#define BATCH_RECORDS 16384
#define NPARTS 8
#define SPLIT_MAX 64

struct scope {
	char *name; /* NULL: records that belong to no split */
	struct wn_st_acc acc;
};

/* Records copied out of the reader, back to back: record i is
 * data[off[i] .. off[i + 1]). */
struct batch {
	struct wn_buf data;
	size_t *off;
	size_t n, cap;
	size_t scope;
};

struct part {
	struct wn_st_acc acc;
	int status;
};

/* What wn_stats_read has to do, decided before anything is read so that
 * progress knows the total. */
enum job_kind { JOB_FILE, JOB_JSONL_SHARD, JOB_MEGATRON, JOB_DATATROVE, JOB_NANOGPT };

struct job {
	enum job_kind kind;
	char *path;           /* the file to read */
	size_t scope;
	uint64_t size;        /* bytes on disk, for progress (0: unknown) */
	uint64_t file_bytes;  /* added to the scope's file_bytes */
	int shard;            /* counts as a dataset shard */
	unsigned width;       /* NANOGPT: bytes per token */
	uint32_t eot;         /* NANOGPT */
};

struct wn_stats {
	struct wn_stats_opts o;
	struct wn_st_config cfg;
	size_t max_fields, max_langs;
	struct scope *scopes;
	size_t nscopes;
	struct wn_stats_dataset *datasets;
	size_t ndatasets;
	uint64_t inputs;
	struct wn_st_scratch scratch; /* wn_stats_add's */

	/* while reading */
	struct wn_pool *pool;
	struct wn_st_scratch *wscratch; /* one per worker */
	struct part parts[NPARTS];
	int parts_ready;
	struct batch batch[2];
	struct batch *filling, *out; /* out: handed to the pool, not yet merged */
	uint64_t records_read, done, total;
};

/* ---- scopes -------------------------------------------------------------------- */

static int scope_of(struct wn_stats *s, const char *name, size_t *idx, struct wn_error *err)
{
	for (size_t i = 0; i < s->nscopes; i++) {
		const char *n = s->scopes[i].name;
		if ((!n && !name) || (n && name && strcmp(n, name) == 0)) {
			*idx = i;
			return WN_OK;
		}
	}
	if (name && strlen(name) > SPLIT_MAX)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "split name longer than %d bytes",
		                    SPLIT_MAX);
	if (s->nscopes == WN_ST_MAX_SCOPES)
		return wn_error_set(err, WN_EDATA, NULL, 0, "more than %d splits", WN_ST_MAX_SCOPES - 1);
	struct scope *v = realloc(s->scopes, (s->nscopes + 1) * sizeof(*v));
	if (!v)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	s->scopes = v;
	struct scope *sc = &v[s->nscopes];
	memset(sc, 0, sizeof(*sc));
	if (name && !(sc->name = strdup(name)))
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	if (wn_st_acc_init(&sc->acc, s->max_fields, s->max_langs) < 0) {
		free(sc->name);
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	}
	*idx = s->nscopes++;
	return WN_OK;
}

/* ---- the collector ----------------------------------------------------------------- */

int wn_stats_new(struct wn_stats **out, const struct wn_stats_opts *o, struct wn_error *err)
{
	*out = NULL;
	struct wn_stats *s = calloc(1, sizeof(*s));
	if (!s)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	s->o = *o;
	s->cfg.text_field = o->text_field ? o->text_field : "text";
	s->cfg.ids_field = o->ids_field ? o->ids_field : "input_ids";
	s->cfg.text_len = strlen(s->cfg.text_field);
	s->cfg.ids_len = strlen(s->cfg.ids_field);
	s->max_fields = o->max_fields ? o->max_fields : WN_STATS_MAX_FIELDS;
	s->max_langs = o->max_languages ? o->max_languages : WN_STATS_MAX_LANGUAGES;
	if (!s->o.reader.max_record)
		s->o.reader.max_record = WN_DEFAULT_MAX_RECORD;
	if (!s->o.threads)
		s->o.threads = 1;
	wn_st_scratch_init(&s->scratch);
	*out = s;
	/* the scope of records in no split comes first */
	size_t idx;
	return scope_of(s, NULL, &idx, err);
}

static void batch_release(struct batch *b)
{
	wn_buf_release(&b->data);
	free(b->off);
	memset(b, 0, sizeof(*b));
}

static void reading_release(struct wn_stats *s)
{
	wn_pool_free(s->pool);
	s->pool = NULL;
	if (s->wscratch) {
		for (unsigned i = 0; i < s->o.threads; i++)
			wn_st_scratch_release(&s->wscratch[i]);
		free(s->wscratch);
		s->wscratch = NULL;
	}
	if (s->parts_ready)
		for (size_t i = 0; i < NPARTS; i++)
			wn_st_acc_release(&s->parts[i].acc);
	s->parts_ready = 0;
	batch_release(&s->batch[0]);
	batch_release(&s->batch[1]);
	s->filling = s->out = NULL;
}

void wn_stats_free(struct wn_stats *s)
{
	if (!s)
		return;
	reading_release(s);
	for (size_t i = 0; i < s->nscopes; i++) {
		free(s->scopes[i].name);
		wn_st_acc_release(&s->scopes[i].acc);
	}
	free(s->scopes);
	for (size_t i = 0; i < s->ndatasets; i++) {
		struct wn_stats_dataset *d = &s->datasets[i];
		free(d->path);
		free(d->shard_format);
		free(d->dtype);
		free(d->tokenizer);
	}
	free(s->datasets);
	wn_st_scratch_release(&s->scratch);
	free(s);
}

int wn_stats_add(struct wn_stats *s, const char *split, const char *rec, size_t len,
                 struct wn_error *err)
{
	size_t idx;
	WN_TRY(scope_of(s, split, &idx, err));
	int st = wn_st_record(&s->scopes[idx].acc, &s->scratch, &s->cfg, rec, len);
	if (st < 0)
		return wn_error_set(err, st, NULL, 0, "%s", wn_strerror(st));
	return WN_OK;
}

size_t wn_st_scopes(const struct wn_stats *s, struct wn_st_view *out)
{
	for (size_t i = 0; i < s->nscopes; i++) {
		out[i].name = s->scopes[i].name;
		out[i].acc = &s->scopes[i].acc;
	}
	return s->nscopes;
}

void wn_st_datasets(const struct wn_stats *s, const struct wn_stats_dataset **d, size_t *n,
                    uint64_t *inputs)
{
	*d = s->datasets;
	*n = s->ndatasets;
	*inputs = s->inputs;
}

void wn_st_limits(const struct wn_stats *s, size_t *fields, size_t *langs)
{
	*fields = s->max_fields;
	*langs = s->max_langs;
}

/* ---- batches -------------------------------------------------------------------------- */

static int batch_push(struct batch *b, const char *p, size_t n)
{
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		size_t *off = realloc(b->off, cap * sizeof(*off));
		if (!off)
			return WN_ENOMEM;
		b->off = off;
		b->cap = cap;
	}
	if (b->n == 0)
		b->off[0] = 0;
	WN_TRY(wn_buf_add(&b->data, p, n));
	b->off[++b->n] = b->data.len;
	return WN_OK;
}

/* The first record of part i: parts are cut at about equal byte counts. */
static size_t part_start(const struct batch *b, size_t i)
{
	if (i == 0)
		return 0;
	if (i >= NPARTS)
		return b->n;
	size_t target = b->data.len / NPARTS * i;
	size_t lo = 0, hi = b->n; /* the first record starting at or after target */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->off[mid] < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void analyse_part(void *arg, unsigned worker, size_t i)
{
	struct wn_stats *s = arg;
	const struct batch *b = s->out;
	struct part *pt = &s->parts[i];
	size_t end = part_start(b, i + 1);
	for (size_t r = part_start(b, i); r < end && pt->status >= 0; r++)
		pt->status = wn_st_record(&pt->acc, &s->wscratch[worker], &s->cfg,
		                          b->data.data + b->off[r], b->off[r + 1] - b->off[r]);
}

/* Wait for the batch out (if any) and merge its parts into its scope. */
static int collect_out(struct wn_stats *s, struct wn_error *err)
{
	if (!s->out)
		return WN_OK;
	wn_pool_wait(s->pool);
	struct wn_st_acc *dst = &s->scopes[s->out->scope].acc;
	int st = WN_OK;
	for (size_t i = 0; i < NPARTS; i++) {
		struct part *pt = &s->parts[i];
		if (st >= 0 && pt->status < 0)
			st = pt->status;
		if (st >= 0)
			st = wn_st_acc_merge(dst, &pt->acc);
		wn_st_acc_reset(&pt->acc);
		pt->status = WN_OK;
	}
	s->out->n = 0;
	wn_buf_reset(&s->out->data);
	s->out = NULL;
	if (st < 0)
		return wn_error_set(err, st, NULL, 0, "%s", wn_strerror(st));
	return WN_OK;
}

/* Hand the filling batch to the workers (after the one before it is
 * merged) and fill the other one meanwhile. */
static int dispatch(struct wn_stats *s, struct wn_error *err)
{
	WN_TRY(collect_out(s, err));
	if (!s->filling->n)
		return WN_OK;
	s->out = s->filling;
	s->filling = s->out == &s->batch[0] ? &s->batch[1] : &s->batch[0];
	wn_pool_start(s->pool, NPARTS, analyse_part, s);
	return WN_OK;
}

static int flush(struct wn_stats *s, struct wn_error *err)
{
	WN_TRY(dispatch(s, err));
	return collect_out(s, err);
}

static int reading_init(struct wn_stats *s, struct wn_error *err)
{
	if (s->pool)
		return WN_OK;
	int st = wn_pool_new(&s->pool, s->o.threads);
	if (st < 0) {
		reading_release(s);
		return wn_error_set(err, st, NULL, 0, "cannot start worker threads");
	}
	s->wscratch = calloc(s->o.threads, sizeof(*s->wscratch));
	if (!s->wscratch)
		goto nomem;
	for (unsigned i = 0; i < s->o.threads; i++)
		wn_st_scratch_init(&s->wscratch[i]);
	for (size_t i = 0; i < NPARTS; i++) {
		if (wn_st_acc_init(&s->parts[i].acc, s->max_fields, s->max_langs) < 0) {
			while (i--)
				wn_st_acc_release(&s->parts[i].acc);
			goto nomem;
		}
	}
	s->parts_ready = 1;
	for (int i = 0; i < 2; i++)
		wn_buf_init(&s->batch[i].data, WN_BUF_UNLIMITED);
	s->filling = &s->batch[0];
	s->out = NULL;
	return WN_OK;
nomem:
	reading_release(s);
	return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
}

/* ---- record files ------------------------------------------------------------------------ */

static void progress(struct wn_stats *s, uint64_t done)
{
	if (s->o.progress)
		s->o.progress(s->o.ud, s->records_read, done, s->total);
}

static uint64_t file_size(const char *path)
{
	struct stat sb;
	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	return (uint64_t)sb.st_size;
}

static int read_records(struct wn_stats *s, const struct job *j, struct wn_error *err)
{
	struct wn_reader_opts ro = s->o.reader;
	if (j->kind == JOB_JSONL_SHARD)
		ro.format = WN_FORMAT_JSONL;
	struct wn_reader *rd;
	WN_TRY(wn_reader_open(&rd, j->path, &ro, err));
	s->inputs++;
	struct wn_st_acc *acc = &s->scopes[j->scope].acc;
	acc->file_bytes += j->file_bytes;
	acc->shards += (uint64_t)j->shard;
	if (s->filling->n && s->filling->scope != j->scope)
		WN_TRY(dispatch(s, err));
	int st;
	for (;;) {
		const char *p;
		size_t n;
		uint64_t line;
		st = wn_reader_next(rd, &p, &n, &line, err);
		if (st == 0)
			break;
		if (st < 0) {
			if ((st != WN_EDATA && st != WN_ETOOBIG) || !s->o.skip_bad)
				break;
			/* workers touch only their parts, never a scope */
			acc->skipped++;
			if (err)
				wn_error_clear(err);
			if (!wn_reader_recoverable(rd)) {
				st = WN_OK;
				break;
			}
			continue;
		}
		if (!s->filling->n)
			s->filling->scope = j->scope;
		if ((st = batch_push(s->filling, p, n)) < 0) {
			wn_error_set(err, st, NULL, 0, "out of memory");
			break;
		}
		s->records_read++;
		if (s->filling->data.len >= BATCH_BYTES || s->filling->n >= BATCH_RECORDS) {
			if ((st = dispatch(s, err)) < 0)
				break;
			progress(s, s->done + wn_input_consumed(wn_reader_input(rd)));
		}
	}
	wn_reader_close(rd);
	return st;
}

/* ---- token shards ------------------------------------------------------------------------ */

struct binfile {
	int fd;
	const char *path;
	unsigned char buf[1 << 16];
	size_t len, pos;
	uint64_t size, read;
};

static int bin_open(struct binfile *f, const char *path, struct wn_error *err)
{
	f->path = path;
	f->len = f->pos = 0;
	f->read = 0;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return wn_error_errno(err, errno, path, "cannot open");
	struct stat sb;
	if (fstat(f->fd, &sb) != 0) {
		int e = errno;
		close(f->fd);
		return wn_error_errno(err, e, path, "cannot stat");
	}
	f->size = (uint64_t)sb.st_size;
	return WN_OK;
}

/* Exactly n bytes into p; a short file is WN_EDATA. */
static int bin_read(struct binfile *f, void *p, size_t n, struct wn_error *err)
{
	unsigned char *out = p;
	while (n) {
		if (f->pos == f->len) {
			ssize_t got = read(f->fd, f->buf, sizeof(f->buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return wn_error_errno(err, errno, f->path, "read error");
			if (got == 0)
				return wn_error_set(err, WN_EDATA, f->path, 0, "file is shorter than its index says");
			f->len = (size_t)got;
			f->pos = 0;
		}
		size_t k = f->len - f->pos < n ? f->len - f->pos : n;
		memcpy(out, f->buf + f->pos, k);
		f->pos += k;
		f->read += k;
		out += k;
		n -= k;
	}
	return WN_OK;
}

static uint64_t get_le(const unsigned char *p, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = width; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static int document(struct wn_st_acc *a, uint64_t tokens, struct wn_error *err)
{
	if (wn_hist_add(&a->tokens_hist, tokens) < 0)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	a->records++;
	a->with_tokens++;
	a->tokens += tokens;
	return WN_OK;
}

/* Megatron's .idx (docs/manifest.md): the lengths of the sequences, one
 * per document. */
static int read_megatron(struct wn_stats *s, struct binfile *f, struct wn_st_acc *a,
                         struct wn_error *err)
{
	unsigned char h[34];
	WN_TRY(bin_read(f, h, sizeof(h), err));
	if (memcmp(h, "MMIDIDX\0\0", 9) != 0 || get_le(h + 9, 8) != 1)
		return wn_error_set(err, WN_EDATA, f->path, 0, "not a Megatron index (MMIDIDX version 1)");
	uint64_t seqs = get_le(h + 18, 8);
	if (seqs > (f->size - sizeof(h)) / 4)
		return wn_error_set(err, WN_EDATA, f->path, 0, "index is shorter than its count says");
	for (uint64_t i = 0; i < seqs; i++) {
		unsigned char l[4];
		WN_TRY(bin_read(f, l, 4, err));
		uint64_t len = get_le(l, 4);
		if (len >> 31)
			return wn_error_set(err, WN_EDATA, f->path, 0, "negative sequence length");
		WN_TRY(document(a, len, err));
		if ((i & 65535) == 65535)
			progress(s, s->done + f->read);
	}
	return WN_OK;
}

/* datatrove's .ds.index: where each document ends, in tokens. */
static int read_datatrove(struct wn_stats *s, struct binfile *f, struct wn_st_acc *a,
                          struct wn_error *err)
{
	if (f->size % 8)
		return wn_error_set(err, WN_EDATA, f->path, 0, "size is not a multiple of 8 bytes");
	uint64_t prev = 0;
	for (uint64_t i = 0; i < f->size / 8; i++) {
		unsigned char e[8];
		WN_TRY(bin_read(f, e, 8, err));
		uint64_t end = get_le(e, 8);
		if (end < prev)
			return wn_error_set(err, WN_EDATA, f->path, 0, "document ends go back");
		WN_TRY(document(a, end - prev, err));
		prev = end;
		if ((i & 65535) == 65535)
			progress(s, s->done + f->read);
	}
	return WN_OK;
}

/* nanoGPT's flat tokens: documents end at the end-of-text token (which is
 * not counted as one of theirs). */
static int read_nanogpt(struct wn_stats *s, struct binfile *f, struct wn_st_acc *a,
                        const struct job *j, struct wn_error *err)
{
	if (f->size % j->width)
		return wn_error_set(err, WN_EDATA, f->path, 0, "size is not a whole number of tokens");
	uint64_t run = 0;
	for (;;) {
		if (f->pos == f->len) {
			if (f->read == f->size)
				break;
			/* refill, keeping tokens whole: the buffer size is a
			 * multiple of every width */
			ssize_t got = read(f->fd, f->buf, sizeof(f->buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return wn_error_errno(err, errno, f->path, "read error");
			if (got == 0 || (size_t)got % j->width)
				return wn_error_set(err, WN_EDATA, f->path, 0, "file changed while it was read");
			f->len = (size_t)got;
			f->pos = 0;
			f->read += (uint64_t)got;
			progress(s, s->done + f->read);
		}
		for (; f->pos < f->len; f->pos += j->width) {
			if (get_le(f->buf + f->pos, j->width) == j->eot) {
				WN_TRY(document(a, run, err));
				run = 0;
			} else {
				run++;
			}
		}
	}
	if (run)
		return wn_error_set(err, WN_EDATA, f->path, 0, "does not end with the end-of-text token");
	return WN_OK;
}

static int read_tokens(struct wn_stats *s, const struct job *j, struct wn_error *err)
{
	struct binfile *f = malloc(sizeof(*f));
	if (!f)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	int st = bin_open(f, j->path, err);
	if (st < 0) {
		free(f);
		return st;
	}
	s->inputs++;
	struct wn_st_acc *a = &s->scopes[j->scope].acc;
	a->file_bytes += j->file_bytes;
	a->shards += (uint64_t)j->shard;
	if (j->kind == JOB_MEGATRON)
		st = read_megatron(s, f, a, err);
	else if (j->kind == JOB_DATATROVE)
		st = read_datatrove(s, f, a, err);
	else
		st = read_nanogpt(s, f, a, j, err);
	close(f->fd);
	free(f);
	return st;
}

/* ---- datasets ---------------------------------------------------------------------------- */

struct jobs {
	struct job *v;
	size_t n, cap;
};

static int job_add(struct jobs *js, enum job_kind kind, char *path, size_t scope, uint64_t size,
                   uint64_t file_bytes, int shard)
{
	if (js->n == js->cap) {
		size_t cap = js->cap ? js->cap * 2 : 16;
		struct job *v = realloc(js->v, cap * sizeof(*v));
		if (!v) {
			free(path);
			return WN_ENOMEM;
		}
		js->v = v;
		js->cap = cap;
	}
	struct job *j = &js->v[js->n++];
	memset(j, 0, sizeof(*j));
	j->kind = kind;
	j->path = path;
	j->scope = scope;
	j->size = size;
	j->file_bytes = file_bytes;
	j->shard = shard;
	return WN_OK;
}

static void jobs_release(struct jobs *js)
{
	for (size_t i = 0; i < js->n; i++)
		free(js->v[i].path);
	free(js->v);
}

/* The dataset directory of an argument naming its manifest.json, as
 * verify takes it; NULL for anything else (or out of memory). */
static char *manifest_dir(const char *arg)
{
	size_t n = strlen(arg);
	static const char name[] = "manifest.json";
	size_t k = sizeof(name) - 1;
	struct stat sb;
	if (n < k || strcmp(arg + n - k, name) != 0 || (n > k && arg[n - k - 1] != '/') ||
	    stat(arg, &sb) != 0 || !S_ISREG(sb.st_mode))
		return NULL;
	return n == k ? strdup(".") : strndup(arg, n - k - 1 ? n - k - 1 : 1);
}

static int is_dataset(const char *arg)
{
	struct stat sb;
	if (strcmp(arg, "-") == 0 || stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	size_t n = strlen(arg);
	char *m = malloc(n + sizeof("/manifest.json"));
	if (!m)
		return 0;
	memcpy(m, arg, n);
	memcpy(m + n, "/manifest.json", sizeof("/manifest.json"));
	int yes = stat(m, &sb) == 0 && S_ISREG(sb.st_mode);
	free(m);
	return yes;
}

/* A manifest path that stays inside the dataset: relative, and no empty,
 * "." or ".." component. */
static int safe_path(const char *p)
{
	if (!*p || *p == '/')
		return 0;
	for (const char *c = p; *c;) {
		const char *e = strchr(c, '/');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n + (e != NULL);
		if (e && !*c)
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* dir/rel, with rel's ending from_ext (which it has) replaced by to_ext. */
static char *join(const char *dir, const char *rel, const char *from_ext, const char *to_ext)
{
	size_t dn = strlen(dir), rn = strlen(rel);
	size_t fe = from_ext ? strlen(from_ext) : 0, te = to_ext ? strlen(to_ext) : 0;
	char *p = malloc(dn + 1 + rn - fe + te + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, dn);
	size_t o = dn;
	if (dn && dir[dn - 1] != '/')
		p[o++] = '/';
	memcpy(p + o, rel, rn - fe);
	o += rn - fe;
	if (te)
		memcpy(p + o, to_ext, te);
	p[o + te] = '\0';
	return p;
}

static uint64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : 0;
}

static char *jstrdup(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? strdup(v) : NULL;
}

static int dataset_info(struct wn_stats *s, const char *dir, json_t *m, int version,
                        const char *format, struct wn_error *err)
{
	struct wn_stats_dataset *v = realloc(s->datasets, (s->ndatasets + 1) * sizeof(*v));
	if (!v)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	s->datasets = v;
	struct wn_stats_dataset *d = &v[s->ndatasets++];
	memset(d, 0, sizeof(*d));
	json_t *totals = json_object_get(m, "totals");
	json_t *tok = json_object_get(m, "tokenizer");
	d->version = version;
	d->path = strdup(dir);
	d->shard_format = strdup(format);
	if (version >= 2) {
		d->dtype = jstrdup(m, "dtype");
		d->tokenizer = jstrdup(tok, "name");
		d->vocab_size = jint(tok, "vocab_size");
		d->files = jint(totals, "files");
		d->records = jint(totals, "documents");
		d->tokens = jint(totals, "tokens");
	} else {
		d->files = jint(totals, "shards");
		d->records = jint(totals, "records");
	}
	d->shards = jint(totals, "shards");
	d->bytes = jint(totals, "bytes");
	if (!d->path || !d->shard_format)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	return WN_OK;
}

/* The jobs of one dataset directory, from its manifest. */
static int plan_dataset(struct wn_stats *s, const char *dir, struct jobs *js,
                        struct wn_error *err)
{
	char *mpath = join(dir, "manifest.json", NULL, NULL);
	if (!mpath)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	json_error_t je;
	json_t *m = json_load_file(mpath, JSON_DECODE_ANY, &je);
	int st = WN_OK;
	if (!m) {
		st = wn_error_set(err, WN_EDATA, mpath, (uint64_t)(je.line > 0 ? je.line : 0),
		                  "unreadable manifest: %s", je.text);
		goto out;
	}
	const char *fmt = json_string_value(json_object_get(m, "format"));
	json_t *jv = json_object_get(m, "version");
	int version = json_is_integer(jv) ? (int)json_integer_value(jv) : 0;
	json_t *shards = json_object_get(m, "shards");
	if (!fmt || strcmp(fmt, "winnow-dataset") != 0 || !json_is_array(shards)) {
		st = wn_error_set(err, WN_EDATA, mpath, 0, "not a winnow dataset manifest");
		goto out;
	}
	if (version != 1 && version != 2) {
		st = wn_error_set(err, WN_EDATA, mpath, 0, "manifest version %d is not one this winnow knows",
		                  version);
		goto out;
	}
	const char *shard_format = version == 1 ? "jsonl" :
	                           json_string_value(json_object_get(m, "shard_format"));
	const char *dtype = json_string_value(json_object_get(m, "dtype"));
	enum job_kind kind = JOB_JSONL_SHARD;
	unsigned width = 0;
	if (version == 2) {
		if (shard_format && strcmp(shard_format, "megatron") == 0)
			kind = JOB_MEGATRON;
		else if (shard_format && strcmp(shard_format, "datatrove") == 0)
			kind = JOB_DATATROVE;
		else if (shard_format && strcmp(shard_format, "nanogpt") == 0)
			kind = JOB_NANOGPT;
		else
			shard_format = NULL;
		width = dtype && strcmp(dtype, "uint16") == 0 ? 2 :
		        dtype && (strcmp(dtype, "uint32") == 0 || strcmp(dtype, "int32") == 0) ? 4 : 0;
		if (!shard_format || !width) {
			st = wn_error_set(err, WN_EDATA, mpath, 0, "unknown shard format or dtype");
			goto out;
		}
	}
	size_t i;
	json_t *e;
	json_array_foreach(shards, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *split = json_string_value(json_object_get(e, "split"));
		const char *role = json_string_value(json_object_get(e, "role"));
		if (!path || !split) {
			st = wn_error_set(err, WN_EDATA, mpath, 0, "shard %zu has no path or split", i);
			goto out;
		}
		if (!safe_path(path)) {
			st = wn_error_set(err, WN_EDATA, mpath, 0, "unsafe shard path '%s'", path);
			goto out;
		}
		size_t scope;
		if ((st = scope_of(s, split, &scope, err)) < 0) {
			if (st != WN_ENOMEM)
				st = wn_error_set(err, WN_EDATA, mpath, 0, "bad split name");
			goto out;
		}
		uint64_t bytes = jint(e, "bytes");
		if (version == 2 && (!role || strcmp(role, "tokens") != 0)) {
			/* an index or metadata file: read with its token file */
			s->scopes[scope].acc.file_bytes += bytes;
			continue;
		}
		/* the file that tells the documents apart */
		const char *from = kind == JOB_MEGATRON ? ".bin" : kind == JOB_DATATROVE ? ".ds" : NULL;
		const char *to = kind == JOB_MEGATRON ? ".idx" : kind == JOB_DATATROVE ? ".ds.index" : NULL;
		if (from && !ends_with(path, from)) {
			st = wn_error_set(err, WN_EDATA, mpath, 0, "token file '%s' does not end in %s",
			                  path, from);
			goto out;
		}
		char *file = join(dir, path, from, to);
		if (!file) {
			st = wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
			goto out;
		}
		uint64_t size = kind == JOB_JSONL_SHARD || kind == JOB_NANOGPT ? bytes : file_size(file);
		if ((st = job_add(js, kind, file, scope, size, bytes, 1)) < 0) {
			wn_error_set(err, st, NULL, 0, "out of memory");
			goto out;
		}
		js->v[js->n - 1].width = width;
		js->v[js->n - 1].eot = (uint32_t)jint(m, "eot");
	}
	st = dataset_info(s, dir, m, version, shard_format, err);
out:
	json_decref(m);
	free(mpath);
	return st;
}

/* ---- reading ------------------------------------------------------------------------------ */

static int plan(struct wn_stats *s, char *const *args, size_t nargs, struct jobs *js,
                struct wn_error *err)
{
	static char *const dash[] = { "-" };
	if (!nargs) {
		args = dash;
		nargs = 1;
	}
	for (size_t i = 0; i < nargs; i++) {
		if (is_dataset(args[i])) {
			WN_TRY(plan_dataset(s, args[i], js, err));
			continue;
		}
		char *dir = manifest_dir(args[i]);
		if (dir) {
			int st = plan_dataset(s, dir, js, err);
			free(dir);
			WN_TRY(st);
			continue;
		}
		char **paths;
		size_t npaths;
		WN_TRY(wn_paths_expand(&args[i], 1, &paths, &npaths, err));
		int st = WN_OK;
		for (size_t k = 0; k < npaths && st >= 0; k++) {
			uint64_t size = file_size(paths[k]);
			char *copy = strdup(paths[k]);
			st = copy ? job_add(js, JOB_FILE, copy, 0, size, size, 0) : WN_ENOMEM;
		}
		wn_paths_free(paths, npaths);
		if (st < 0)
			return wn_error_set(err, st, NULL, 0, "out of memory");
	}
	return WN_OK;
}

int wn_stats_read(struct wn_stats *s, char *const *args, size_t nargs, struct wn_error *err)
{
	struct jobs js = { 0 };
	int st = plan(s, args, nargs, &js, err);
	if (st >= 0)
		st = reading_init(s, err);
	s->done = s->total = 0;
	for (size_t i = 0; i < js.n; i++)
		s->total += js.v[i].size;
	for (size_t i = 0; i < js.n && st >= 0; i++) {
		const struct job *j = &js.v[i];
		if (j->kind == JOB_FILE || j->kind == JOB_JSONL_SHARD) {
			st = read_records(s, j, err);
		} else {
			/* token documents go straight into their scope */
			st = flush(s, err);
			if (st >= 0)
				st = read_tokens(s, j, err);
		}
		s->done += j->size;
		progress(s, s->done);
	}
	/* what was read before an error is counted too */
	struct wn_error e2;
	wn_error_clear(&e2);
	int fs = s->pool ? flush(s, &e2) : WN_OK;
	if (st >= 0 && fs < 0) {
		if (err)
			*err = e2;
		st = fs;
	}
	jobs_release(&js);
	return st < 0 ? st : WN_OK;
}
