/*
 * ds_write.c - the dataset writer: sharded zstd JSONL or token files, hashed
 * while they are written, then the card, SHA256SUMS and the manifest.
 *
 * Each split has at most one open shard: a temporary file in DIR/data/ fed
 * through its own multi-threaded zstd stream, or the temporary files of a
 * token shard (ds_tokens.c).  A shard's final name carries the number of
 * shards of its split, known only at the end, so every file is renamed in
 * wn_dataset_finish; the three top files follow, the manifest last.  Every
 * file is created with O_EXCL | O_NOFOLLOW: a symlink planted in the output
 * directory is never written through.
 */
#include "config.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "dataset/ds_int.h"

/*
 * zstd's multi-threaded output depends on the job size, so it is fixed here
 * and never derived from the thread count.  Each split has its own stream;
 * with 2 workers one stream holds about 15 MiB at 2 MiB jobs (twice that at
 * 4 MiB) and costs about 0.2% in ratio against 4 MiB jobs.
 */
#define JOB_SIZE ((size_t)2 << 20)
#define IN_CHUNK ((size_t)128 << 10)
#define OUT_CHUNK ((size_t)256 << 10)
/* Room kept for the end of a frame: an empty last block (3 bytes) and the
 * content checksum (4). */
#define EPILOGUE 32
#define MAX_THREADS 256
#define MANIFEST_MAX ((off_t)256 << 20)

/* The top files, in the order they are written (the manifest last). */
static const char *const top_names[] = { WN_DS_CARD, WN_DS_SUMS, WN_DS_MANIFEST };
#define NTOP 3

/* A file of a shard closed by this run, or kept from the run it resumed. */
struct file {
	struct wn_ds_shard sh; /* sh.path is set when the file is renamed */
	char tmp[WN_DS_SPLIT_MAX + 64];
	const char *ext;
	unsigned index;
	int journaled; /* listed in the journal: a failed run may keep it */
};

/* A shard kept from an interrupted run: its records come again when the
 * run is resumed, and are checked against it instead of written. */
struct kept {
	uint64_t records, tokens;
	unsigned char content[16];
	int end;
};

struct split {
	char *name;
	unsigned next; /* index of the next shard */
	struct wn_ds_tokshard *tok; /* token formats: the open shard, if tok->open */

	/* JSONL: the open shard, when fd >= 0. */
	int fd;
	char tmp[WN_DS_SPLIT_MAX + 64];
	ZSTD_CCtx *cctx; /* kept from one shard to the next */
	EVP_MD_CTX *sha;
	XXH3_state_t *xxh, *raw_xxh;
	char *in; /* raw bytes not yet given to zstd */
	size_t inlen;
	uint64_t produced; /* compressed bytes written */
	uint64_t since;    /* raw bytes added since the last checkpoint */
	uint64_t step;     /* raw bytes that may be added before the next one */
	uint64_t records, raw;
	int oversize;

	/* Token formats: the content hash of the open shard (see
	 * struct wn_ds_jshard). */
	XXH3_state_t *content;

	/* Resuming: kept[0..nkept) are the shards kept from the interrupted
	 * run; kept[replayed] is the one whose records come now, `seen` of
	 * them so far, hashed into raw_xxh (JSONL) or content. */
	struct kept *kept;
	size_t nkept, replayed;
	uint64_t seen, seen_tokens;
};

struct wn_dataset {
	char *dir, *name, *pipeline;
	int level;
	unsigned threads;
	uint64_t max_size, max_records, max_tokens;
	enum wn_shard_format format;
	const struct wn_ds_format *fmt;
	enum wn_ds_dtype dtype;
	uint32_t vocab_size, eot;
	char *tokenizer_name, *tokenizer_sha256; /* "" when not given */
	int dirfd, datafd;
	int made_dir, made_data;
	struct split **splits;
	size_t nsplits;
	struct split *last; /* the split of the previous record */
	struct file *files;
	size_t nfiles, capfiles;
	char *out; /* compressed bytes on their way to a file */
	int status; /* the first failure; every later call returns it */
	int finished;
	int top_tmp[NTOP];  /* a temporary of this top file exists */
	int top_made[NTOP]; /* this top file was put in place by this run */

	/* The journal, open for appending (-1 before it exists). */
	int jfd;
	int resumed; /* this writer continues an interrupted run */
	int keep;    /* free without finish keeps the journaled shards */
	struct wn_dataset_totals kept_totals;
	uint64_t removed; /* partial files a resume removed */
	/* Input files in the journal, in order; a resumed run's replay goes
	 * through the journaled ones again (input_at). */
	struct input *inputs;
	size_t ninputs, capinputs, input_at;
	/* WINNOW_TEST_CRASH (see crash_point). */
	int crash_event;
	unsigned long crash_at, crash_count[6];
};

struct input {
	char *path;
	uint64_t size;
	int64_t mtime_ns;
};

/* ---- errors and paths ---------------------------------------------------- */

static int fail(struct wn_dataset *ds, struct wn_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct wn_dataset *ds, struct wn_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status = wn_error_vset(err, status, NULL, 0, fmt, ap);
	va_end(ap);
	if (ds && ds->status == WN_OK)
		ds->status = status;
	return status;
}

static int fail_errno(struct wn_dataset *ds, struct wn_error *err, int errnum, const char *sub,
                      const char *name)
{
	int status;

	if (sub && name)
		status = wn_error_errno(err, errnum, NULL, "%s/%s/%s", ds->dir, sub, name);
	else if (name)
		status = wn_error_errno(err, errnum, NULL, "%s/%s", ds->dir, name);
	else
		status = wn_error_errno(err, errnum, NULL, "%s", ds->dir);
	if (ds->status == WN_OK)
		ds->status = status;
	return status;
}

static int zstd_fail(struct wn_dataset *ds, struct wn_error *err, const struct split *s,
                     size_t code)
{
	int status = ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation ? WN_ENOMEM
	                                                                      : WN_EINTERNAL;

	return fail(ds, err, status, "%s/" WN_DS_DATA "/%s: zstd: %s", ds->dir, s->tmp,
	            ZSTD_getErrorName(code));
}

/* ---- the journal ------------------------------------------------------------ */

/*
 * WINNOW_TEST_CRASH=EVENT:K kills the process (SIGKILL, as kill -9 would)
 * at the K-th EVENT, so that tests can interrupt a run at each point that
 * matters to a resume:
 *   shard    a shard's files are complete and durable, not yet journaled
 *   journal  its journal line is written and synced
 *   torn     half of a shard's journal line is written
 *   rename   finish gave a shard file its final name
 *   top      finish wrote a top file (1: README.md, 2: SHA256SUMS,
 *            3: manifest.json, with the journal still there)
 */
enum crash_event { CRASH_NONE, CRASH_SHARD, CRASH_JOURNAL, CRASH_TORN, CRASH_RENAME, CRASH_TOP };

static void crash_setup(struct wn_dataset *ds)
{
	static const char *const names[] = { "", "shard", "journal", "torn", "rename", "top" };
	const char *v = getenv("WINNOW_TEST_CRASH"), *colon;

	if (!v || !(colon = strchr(v, ':')))
		return;
	for (int i = CRASH_SHARD; i <= CRASH_TOP; i++) {
		if (strlen(names[i]) == (size_t)(colon - v) && strncmp(v, names[i], colon - v) == 0) {
			ds->crash_event = i;
			ds->crash_at = strtoul(colon + 1, NULL, 10);
		}
	}
}

static int crash_due(struct wn_dataset *ds, enum crash_event ev)
{
	return ds->crash_event == (int)ev && ++ds->crash_count[ev] == ds->crash_at;
}

static void crash_point(struct wn_dataset *ds, enum crash_event ev)
{
	if (crash_due(ds, ev))
		kill(getpid(), SIGKILL);
}

/* Append a sealed line; shard lines are synced (an input line needs not be:
 * it only matters with the shard lines that follow it). */
static int journal_append(struct wn_dataset *ds, const struct wn_buf *b, int sync, int shard,
                          struct wn_error *err)
{
	size_t n = b->len;
	int e;

	if (shard && crash_due(ds, CRASH_TORN)) {
		if (wn_ds_write_all(ds->jfd, b->data, n / 2) == 0)
			fsync(ds->jfd);
		kill(getpid(), SIGKILL);
	}
	e = wn_ds_write_all(ds->jfd, b->data, n);
	if (!e && sync && fsync(ds->jfd) != 0)
		e = errno;
	return e ? fail_errno(ds, err, e, NULL, WN_DS_JOURNAL) : WN_OK;
}

/* Seal and append the object (consumed) as a journal line. */
static int journal_line(struct wn_dataset *ds, json_t *o, int sync, int shard,
                        struct wn_error *err)
{
	struct wn_buf b;
	int rc;

	if (!o)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	wn_buf_init(&b, WN_BUF_UNLIMITED);
	rc = wn_ds_journal_seal(&b, o);
	json_decref(o);
	if (rc < 0)
		rc = fail(ds, err, rc, "%s/" WN_DS_JOURNAL ": cannot make a line", ds->dir);
	else
		rc = journal_append(ds, &b, sync, shard, err);
	wn_buf_release(&b);
	return rc;
}

/*
 * Journal the shard of s just closed, whose files are ds->files[first..]:
 * durable under their temporary names by now, and, once the data directory
 * is synced too, sure to be found again after a crash.
 */
static int journal_shard(struct wn_dataset *ds, struct split *s, size_t first, int end,
                         const unsigned char content[16], struct wn_error *err)
{
	struct wn_ds_jshard j = {
		.split = s->name,
		.index = s->next - 1,
		.records = ds->files[first].sh.records,
		.tokens = ds->files[first].sh.tokens,
		.end = end,
		.nfiles = ds->fmt->nfiles,
	};

	memcpy(j.content, content, 16);
	for (size_t i = 0; i < j.nfiles; i++) {
		const struct wn_ds_shard *sh = &ds->files[first + i].sh;

		j.f[i].bytes = sh->bytes;
		j.f[i].raw_bytes = sh->raw_bytes;
		memcpy(j.f[i].sha256, sh->sha256, 32);
		memcpy(j.f[i].xxh3, sh->xxh3, 16);
		memcpy(j.f[i].raw_xxh3, sh->raw_xxh3, 16);
	}
	if (fsync(ds->datafd) != 0)
		return fail_errno(ds, err, errno, NULL, WN_DS_DATA);
	crash_point(ds, CRASH_SHARD);
	WN_TRY(journal_line(ds, wn_ds_journal_shard(&j, ds->format == WN_SHARD_JSONL), 1, 1, err));
	for (size_t i = 0; i < j.nfiles; i++)
		ds->files[first + i].journaled = 1;
	crash_point(ds, CRASH_JOURNAL);
	return WN_OK;
}

/* What a resumed run must agree on with the run it continues: everything
 * the bytes of the dataset depend on, but the records. */
static json_t *run_header(const struct wn_dataset *ds)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
	                 "type", "run", "journal", WN_DS_JOURNAL_VERSION, "tool", PACKAGE_VERSION,
	                 "pipeline", ds->pipeline, "name", ds->name, "format", ds->fmt->name,
	                 "level", ds->level, "max_size", (json_int_t)ds->max_size,
	                 "max_records", (json_int_t)ds->max_records,
	                 "max_tokens", (json_int_t)ds->max_tokens,
	                 "vocab_size", (json_int_t)ds->vocab_size, "eot", (json_int_t)ds->eot,
	                 "tokenizer", ds->tokenizer_name, "tokenizer_sha256",
	                 ds->tokenizer_sha256);
}

/* Start the journal of a new run: its first line, durable with its name. */
static int journal_create(struct wn_dataset *ds, struct wn_error *err)
{
	int fd = openat(ds->dirfd, WN_DS_JOURNAL,
	                O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0666);

	if (fd < 0)
		return fail_errno(ds, err, errno, NULL, WN_DS_JOURNAL);
	ds->jfd = fd;
	WN_TRY(journal_line(ds, run_header(ds), 1, 0, err));
	if (fsync(ds->dirfd) != 0)
		return fail_errno(ds, err, errno, NULL, NULL);
	return WN_OK;
}

/* ---- the closing rule ------------------------------------------------------ */

/*
 * An upper bound of the compressed size of x raw bytes between two flushes:
 * zstd never stores a block bigger than its input plus a 3-byte header, and
 * blocks hold at most 128 KiB; a flush or a job boundary (every JOB_SIZE)
 * can cut one block short.  So the size is at most
 *     x + 3 * (x / 128 KiB + x / JOB_SIZE + 1) + 18 (a frame header)
 * which x / 16384 + 64 exceeds for any JOB_SIZE >= 1 MiB.
 */
static uint64_t bound(uint64_t x)
{
	return x + x / 16384 + 64;
}

/* The most raw bytes whose bound fits in room. */
static uint64_t budget(uint64_t room)
{
	uint64_t r, x;

	if (room <= 64)
		return 0;
	r = room - 64;
	x = r - (r + 16384) / 16385;
	assert(bound(x) <= room);
	return x;
}

static uint64_t room_left(const struct wn_dataset *ds, uint64_t produced)
{
	return ds->max_size > produced + EPILOGUE ? ds->max_size - produced - EPILOGUE : 0;
}

/* ---- one shard ------------------------------------------------------------- */

/* Write what zstd produced; the file hashes are taken here, once. */
static int drain(struct wn_dataset *ds, struct split *s, ZSTD_outBuffer *ob, struct wn_error *err)
{
	int e;

	if (ob->pos == 0)
		return WN_OK;
	e = wn_ds_write_all(s->fd, ob->dst, ob->pos);
	if (e)
		return fail_errno(ds, err, e, WN_DS_DATA, s->tmp);
	if (EVP_DigestUpdate(s->sha, ob->dst, ob->pos) != 1)
		return fail(ds, err, WN_ENOMEM, "sha256 failed");
	XXH3_128bits_update(s->xxh, ob->dst, ob->pos);
	s->produced += ob->pos;
	ob->pos = 0;
	return WN_OK;
}

/* Give p[0..n) to zstd.  With ZSTD_e_flush or ZSTD_e_end, returns only once
 * zstd has nothing more to give, so s->produced is then exact. */
static int feed(struct wn_dataset *ds, struct split *s, const void *p, size_t n,
                ZSTD_EndDirective end, struct wn_error *err)
{
	ZSTD_inBuffer ib = { p, n, 0 };
	ZSTD_outBuffer ob = { ds->out, OUT_CHUNK, 0 };
	size_t left;

	if (n == 0 && end == ZSTD_e_continue)
		return WN_OK;
	if (n)
		XXH3_128bits_update(s->raw_xxh, p, n);
	do {
		left = ZSTD_compressStream2(s->cctx, &ob, &ib, end);
		if (ZSTD_isError(left))
			return zstd_fail(ds, err, s, left);
		if (ob.pos == ob.size)
			WN_TRY(drain(ds, s, &ob, err));
	} while (ib.pos < ib.size || (end != ZSTD_e_continue && left != 0));
	return drain(ds, s, &ob, err);
}

static int open_shard(struct wn_dataset *ds, struct split *s, struct wn_error *err)
{
	int fd;

	snprintf(s->tmp, sizeof s->tmp, ".%s-%05u" WN_DS_SHARD_EXT WN_DS_TMP_EXT, s->name,
	         s->next);
	fd = openat(ds->datafd, s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            0666);
	if (fd < 0)
		return fail_errno(ds, err, errno, WN_DS_DATA, s->tmp);
	s->fd = fd;
	s->next++;
	if (EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL) != 1)
		return fail(ds, err, WN_ENOMEM, "sha256 failed");
	XXH3_128bits_reset(s->xxh);
	XXH3_128bits_reset(s->raw_xxh);
	s->inlen = 0;
	s->produced = s->since = s->records = s->raw = 0;
	s->oversize = 0;
	s->step = budget(room_left(ds, 0));
	return WN_OK;
}

/* Room for k more files. */
static int grow_files(struct wn_dataset *ds, size_t k, struct wn_error *err)
{
	struct file *f;
	size_t cap;

	if (ds->nfiles + k <= ds->capfiles)
		return WN_OK;
	cap = ds->capfiles ? 2 * ds->capfiles : 16;
	f = realloc(ds->files, cap * sizeof *f);
	if (!f)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	ds->files = f;
	ds->capfiles = cap;
	return WN_OK;
}

/* Close the open shard of s; end: because the dataset is finished. */
static int close_shard(struct wn_dataset *ds, struct split *s, int end, struct wn_error *err)
{
	struct file *f;
	XXH128_hash_t h;
	unsigned int mdlen = 0;
	size_t r;
	int fd;

	WN_TRY(grow_files(ds, 1, err));
	WN_TRY(feed(ds, s, s->in, s->inlen, ZSTD_e_end, err));
	s->inlen = 0;
	assert(s->produced <= ds->max_size || s->oversize);
	f = &ds->files[ds->nfiles];
	memset(f, 0, sizeof *f);
	if (EVP_DigestFinal_ex(s->sha, f->sh.sha256, &mdlen) != 1 || mdlen != 32)
		return fail(ds, err, WN_ENOMEM, "sha256 failed");
	h = XXH3_128bits_digest(s->xxh);
	XXH128_canonicalFromHash((XXH128_canonical_t *)f->sh.xxh3, h);
	h = XXH3_128bits_digest(s->raw_xxh);
	XXH128_canonicalFromHash((XXH128_canonical_t *)f->sh.raw_xxh3, h);
	f->sh.split = s->name;
	f->sh.records = s->records;
	f->sh.bytes = s->produced;
	f->sh.raw_bytes = s->raw;
	f->ext = WN_DS_SHARD_EXT;
	f->index = s->next - 1;
	memcpy(f->tmp, s->tmp, sizeof f->tmp);
	/* Counted before fsync and close, so a failure there still removes the
	 * file in wn_dataset_free. */
	ds->nfiles++;
	fd = s->fd;
	s->fd = -1;
	if (fsync(fd) != 0) {
		int e = errno;

		close(fd);
		return fail_errno(ds, err, e, WN_DS_DATA, f->tmp);
	}
	if (close(fd) != 0)
		return fail_errno(ds, err, errno, WN_DS_DATA, f->tmp);
	r = ZSTD_CCtx_reset(s->cctx, ZSTD_reset_session_only);
	if (ZSTD_isError(r))
		return zstd_fail(ds, err, s, r);
	return journal_shard(ds, s, ds->nfiles - 1, end, f->sh.raw_xxh3, err);
}

/*
 * Flush zstd so the compressed size so far is exact, then size the next
 * step.  A flush ends a zstd job (a small loss in ratio, and the workers
 * wait for each other once), but it is what makes the closing decision
 * depend on sizes alone, never on how far the workers have got.  Each one
 * shrinks the room by the compressed size of a step, so a shard sees about
 * log(32) / log(ratio / (ratio - 1)) of them: 9 at ratio 3, 33 at ratio 10.
 */
static int checkpoint(struct wn_dataset *ds, struct split *s, struct wn_error *err)
{
	WN_TRY(feed(ds, s, s->in, s->inlen, ZSTD_e_flush, err));
	s->inlen = 0;
	s->since = 0;
	s->step = budget(room_left(ds, s->produced));
	return WN_OK;
}

/* Append the record and its newline to the open shard of s. */
static int append(struct wn_dataset *ds, struct split *s, const char *rec, size_t len,
                  struct wn_error *err)
{
	if (s->inlen + len + 1 > IN_CHUNK) {
		WN_TRY(feed(ds, s, s->in, s->inlen, ZSTD_e_continue, err));
		s->inlen = 0;
		if (len + 1 > IN_CHUNK) {
			WN_TRY(feed(ds, s, rec, len, ZSTD_e_continue, err));
			len = 0;
		}
	}
	memcpy(s->in + s->inlen, rec, len);
	s->inlen += len;
	s->in[s->inlen++] = '\n';
	return WN_OK;
}

/* ---- token shards ---------------------------------------------------------- */

static int tok_failed(struct wn_dataset *ds, int status)
{
	if (ds->status == WN_OK)
		ds->status = status;
	return status;
}

static int open_tokens(struct wn_dataset *ds, struct split *s, struct wn_error *err)
{
	int rc = wn_ds_tok_open(s->tok, s->name, s->next++, err);

	XXH3_128bits_reset(s->content);
	return rc < 0 ? tok_failed(ds, rc) : WN_OK;
}

/* Complete the files of the open token shard of s and hand them over to
 * ds->files: from then on, a failure removes them through the list.  end:
 * closed because the dataset is finished. */
static int close_tokens(struct wn_dataset *ds, struct split *s, int end, struct wn_error *err)
{
	struct wn_ds_tokshard *t = s->tok;
	size_t first = ds->nfiles;
	XXH128_canonical_t content;
	int rc;

	WN_TRY(grow_files(ds, ds->fmt->nfiles, err));
	rc = wn_ds_tok_end(t, err);
	if (rc < 0)
		return tok_failed(ds, rc);
	for (size_t i = 0; i < ds->fmt->nfiles; i++) {
		struct file *f = &ds->files[ds->nfiles++];

		memset(f, 0, sizeof *f);
		f->sh.split = s->name;
		f->sh.role = ds->fmt->files[i].role;
		f->sh.records = t->documents;
		f->sh.tokens = t->tokens;
		f->sh.bytes = f->sh.raw_bytes = t->f[i].bytes;
		memcpy(f->sh.sha256, t->f[i].sha256, 32);
		memcpy(f->sh.xxh3, t->f[i].xxh3, 16);
		f->ext = ds->fmt->files[i].ext;
		f->index = s->next - 1;
		memcpy(f->tmp, t->f[i].tmp, sizeof f->tmp);
	}
	rc = wn_ds_tok_sync(t, err);
	if (rc < 0)
		return tok_failed(ds, rc);
	XXH128_canonicalFromHash(&content, XXH3_128bits_digest(s->content));
	return journal_shard(ds, s, first, end, content.digest, err);
}

/* ---- splits ---------------------------------------------------------------- */

static int split_is_open(const struct split *s)
{
	return s->tok ? s->tok->open : s->fd >= 0;
}

static void split_free(struct split *s)
{
	if (!s)
		return;
	if (s->tok) {
		wn_ds_tok_release(s->tok);
		free(s->tok);
	}
	ZSTD_freeCCtx(s->cctx);
	EVP_MD_CTX_free(s->sha);
	XXH3_freeState(s->xxh);
	XXH3_freeState(s->raw_xxh);
	XXH3_freeState(s->content);
	free(s->kept);
	free(s->in);
	free(s->name);
	free(s);
}

static int split_new(struct wn_dataset *ds, const char *name, struct split **out,
                     struct wn_error *err)
{
	struct split **v, *s;
	size_t r = 0;

	if (!wn_ds_split_name_ok(name))
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "invalid split name '%.80s' (1 to %d of A-Z a-z 0-9 _)", name,
		                    WN_DS_SPLIT_MAX);
	v = realloc(ds->splits, (ds->nsplits + 1) * sizeof *v);
	if (!v)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	ds->splits = v;
	s = calloc(1, sizeof *s);
	if (!s)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	s->fd = -1;
	s->name = strdup(name);
	if (ds->format != WN_SHARD_JSONL) {
		s->tok = calloc(1, sizeof *s->tok);
		if (s->tok) {
			*s->tok = (struct wn_ds_tokshard){
				.format = ds->format,
				.dtype = ds->dtype,
				.eot = ds->eot,
				.tokenizer_name = ds->tokenizer_name,
				.dir = ds->dir,
				.datafd = ds->datafd,
			};
		}
		s->content = XXH3_createState();
		/* init before anything else: release needs its closed files. */
		if (!s->tok || wn_ds_tok_init(s->tok) < 0 || !s->name || !s->content) {
			split_free(s);
			return fail(ds, err, WN_ENOMEM, "out of memory");
		}
		ds->splits[ds->nsplits++] = s;
		*out = s;
		return WN_OK;
	}
	s->in = malloc(IN_CHUNK);
	s->cctx = ZSTD_createCCtx();
	s->sha = EVP_MD_CTX_new();
	s->xxh = XXH3_createState();
	s->raw_xxh = XXH3_createState();
	if (!s->name || !s->in || !s->cctx || !s->sha || !s->xxh || !s->raw_xxh) {
		split_free(s);
		return fail(ds, err, WN_ENOMEM, "out of memory");
	}
	ds->splits[ds->nsplits++] = s;
	r = ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, ds->level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_checksumFlag, 1);
	/* nbWorkers >= 1 even for one thread: multi-threaded output is the same
	 * for any number of workers, and differs from that of nbWorkers = 0. */
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_nbWorkers, (int)ds->threads);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_jobSize, (int)JOB_SIZE);
	if (ZSTD_isError(r))
		return fail(ds, err, WN_EINTERNAL, "zstd: %s (multi-threaded zstd is required)",
		            ZSTD_getErrorName(r));
	*out = s;
	return WN_OK;
}

static struct split *split_find(struct wn_dataset *ds, const char *name)
{
	if (ds->last && strcmp(ds->last->name, name) == 0)
		return ds->last;
	for (size_t i = 0; i < ds->nsplits; i++)
		if (strcmp(ds->splits[i]->name, name) == 0)
			return ds->splits[i];
	return NULL;
}

/* ---- replaying the shards a resumed run kept --------------------------------- */

/*
 * A resumed run gets the records of the interrupted run again, from the
 * start.  Those of a split's kept shards are hashed and counted instead of
 * written; when the last record of a kept shard has come, its hash must be
 * the journaled one, and the split goes on as the interrupted run did
 * after closing that shard: the next record opens the next shard, with a
 * fresh compressor.  The closing rule depends only on the records of the
 * open shard, so the shards that follow close where they would have.
 */
static int replay_differs(struct wn_dataset *ds, const struct split *s, const char *what,
                          struct wn_error *err)
{
	return fail(ds, err, WN_EDATA,
	            "cannot resume %s: %s for split '%s' than in the interrupted run (the input "
	            "or an earlier stage changed since); --force starts over", ds->dir, what,
	            s->name);
}

/* The last record of kept[replayed] has come: check what came. */
static int replay_end(struct wn_dataset *ds, struct split *s, XXH3_state_t *h,
                      struct wn_error *err)
{
	const struct kept *k = &s->kept[s->replayed];
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
	if (memcmp(c.digest, k->content, 16) != 0 || s->seen_tokens != k->tokens)
		return fail(ds, err, WN_EDATA,
		            "cannot resume %s: the records of shard %zu of split '%s' differ from "
		            "the interrupted run's (the input or an earlier stage changed since); "
		            "--force starts over", ds->dir, s->replayed, s->name);
	s->replayed++;
	s->seen = s->seen_tokens = 0;
	XXH3_128bits_reset(h);
	return WN_OK;
}

/* A record for a split of no open shard after a shard closed by finish:
 * the interrupted run had no more. */
static int replay_over(const struct split *s)
{
	return s->nkept && s->replayed == s->nkept && s->kept[s->nkept - 1].end;
}

static int replay_record(struct wn_dataset *ds, struct split *s, const char *rec, size_t len,
                         struct wn_error *err)
{
	XXH3_128bits_update(s->raw_xxh, rec, len);
	XXH3_128bits_update(s->raw_xxh, "\n", 1);
	if (++s->seen < s->kept[s->replayed].records)
		return WN_OK;
	return replay_end(ds, s, s->raw_xxh, err);
}

/* A token document into the content hash of its shard (struct wn_ds_jshard). */
static void content_add(struct split *s, const uint32_t *ids, size_t n)
{
	uint32_t len32 = (uint32_t)n;

	XXH3_128bits_update(s->content, &len32, sizeof len32);
	XXH3_128bits_update(s->content, ids, n * sizeof *ids);
}

static int replay_tokens(struct wn_dataset *ds, struct split *s, const uint32_t *ids, size_t n,
                         struct wn_error *err)
{
	content_add(s, ids, n);
	s->seen_tokens += (uint64_t)n + (ds->format == WN_SHARD_NANOGPT);
	if (++s->seen < s->kept[s->replayed].records)
		return WN_OK;
	return replay_end(ds, s, s->content, err);
}

/* ---- public: adding -------------------------------------------------------- */

int wn_dataset_add(struct wn_dataset *ds, const char *split, const char *rec, size_t len,
                   struct wn_error *err)
{
	struct split *s;
	uint64_t l = (uint64_t)len + 1;

	if (ds->status < 0)
		return wn_error_set(err, ds->status, NULL, 0, "%s: the dataset failed earlier",
		                    ds->dir);
	if (ds->finished)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "%s: the dataset is finished",
		                    ds->dir);
	if (ds->format != WN_SHARD_JSONL)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "%s: a %s dataset holds token ids, not records", ds->dir,
		                    ds->fmt->name);
	if (len == 0)
		return wn_error_set(err, WN_EDATA, NULL, 0, "empty record");
	/* A newline inside would split the record in two JSONL lines. */
	if (memchr(rec, '\n', len))
		return wn_error_set(err, WN_EDATA, NULL, 0, "record contains a newline");
	s = split_find(ds, split);
	if (!s)
		WN_TRY(split_new(ds, split, &s, err));
	ds->last = s;
	if (s->replayed < s->nkept)
		return replay_record(ds, s, rec, len, err);
	if (replay_over(s))
		return replay_differs(ds, s, "more records", err);
	if (s->fd < 0) {
		WN_TRY(open_shard(ds, s, err));
	} else if (s->since + l > s->step) {
		if (s->since > 0)
			WN_TRY(checkpoint(ds, s, err));
		if (l > s->step || room_left(ds, s->produced) < ds->max_size / 32) {
			WN_TRY(close_shard(ds, s, 0, err));
			WN_TRY(open_shard(ds, s, err));
		}
	}
	if (l > s->step) {
		/* Too big for any shard: it gets one of its own. */
		assert(s->records == 0);
		s->oversize = 1;
	}
	WN_TRY(append(ds, s, rec, len, err));
	s->since += l;
	s->raw += l;
	s->records++;
	if (s->oversize || (ds->max_records && s->records == ds->max_records))
		WN_TRY(close_shard(ds, s, 0, err));
	return WN_OK;
}

/*
 * A token shard is closed as soon as it reaches a limit, or before a
 * document that would take it past one; a document over a limit by itself
 * gets a shard of its own.  The sizes are exact, so the shards depend only
 * on the documents and the limits.
 */
static int tokens_fit(const struct wn_dataset *ds, const struct wn_ds_tokshard *t,
                      uint64_t more)
{
	return wn_ds_tok_data_bytes(t) + more * t->width <= ds->max_size &&
	       (!ds->max_tokens || t->tokens + more <= ds->max_tokens);
}

static int tokens_full(const struct wn_dataset *ds, const struct wn_ds_tokshard *t)
{
	return wn_ds_tok_data_bytes(t) >= ds->max_size ||
	       (ds->max_tokens && t->tokens >= ds->max_tokens) ||
	       (ds->max_records && t->documents >= ds->max_records);
}

int wn_dataset_add_tokens(struct wn_dataset *ds, const char *split, const uint32_t *ids,
                          size_t n, struct wn_error *err)
{
	struct split *s;
	uint64_t more = (uint64_t)n + (ds->format == WN_SHARD_NANOGPT);
	int rc;

	if (ds->status < 0)
		return wn_error_set(err, ds->status, NULL, 0, "%s: the dataset failed earlier",
		                    ds->dir);
	if (ds->finished)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "%s: the dataset is finished",
		                    ds->dir);
	if (ds->format == WN_SHARD_JSONL)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "%s: a JSON Lines dataset holds records, not token ids",
		                    ds->dir);
	/* Checked before anything is written: a refused document leaves no
	 * trace and the writer stays usable. */
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= ds->vocab_size)
			return wn_error_set(err, WN_EDATA, NULL, 0,
			                    "token id %" PRIu32 " (at %zu) is not below the "
			                    "vocabulary size %" PRIu32, ids[i], i, ds->vocab_size);
	if (ds->format == WN_SHARD_MEGATRON && n > INT32_MAX)
		return wn_error_set(err, WN_EDATA, NULL, 0,
		                    "a document of %zu tokens: a Megatron index holds lengths "
		                    "below 2^31", n);
	s = split_find(ds, split);
	if (!s)
		WN_TRY(split_new(ds, split, &s, err));
	ds->last = s;
	if (s->replayed < s->nkept)
		return replay_tokens(ds, s, ids, n, err);
	if (replay_over(s))
		return replay_differs(ds, s, "more documents", err);
	if (s->tok->open && !tokens_fit(ds, s->tok, more))
		WN_TRY(close_tokens(ds, s, 0, err));
	if (!s->tok->open)
		WN_TRY(open_tokens(ds, s, err));
	rc = wn_ds_tok_add(s->tok, ids, n, err);
	if (rc < 0)
		return tok_failed(ds, rc);
	content_add(s, ids, n);
	if (tokens_full(ds, s->tok))
		WN_TRY(close_tokens(ds, s, 0, err));
	return WN_OK;
}

/* A shard counts once: a token shard by its token file. */
static int shard_counts(const struct wn_dataset *ds, const struct wn_ds_shard *sh)
{
	return !sh->role || strcmp(sh->role, ds->fmt->files[0].role) == 0;
}

void wn_dataset_totals(const struct wn_dataset *ds, struct wn_dataset_totals *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < ds->nfiles; i++) {
		const struct wn_ds_shard *sh = &ds->files[i].sh;
		int first = shard_counts(ds, sh);

		t->shards += (uint64_t)first;
		t->records += first ? sh->records : 0;
		t->tokens += first ? sh->tokens : 0;
		t->bytes += sh->bytes;
		t->raw_bytes += sh->raw_bytes;
	}
	for (size_t i = 0; i < ds->nsplits; i++) {
		const struct split *s = ds->splits[i];

		if (!split_is_open(s))
			continue;
		t->shards++;
		if (s->tok) {
			t->records += s->tok->documents;
			t->tokens += s->tok->tokens;
			t->bytes += wn_ds_tok_bytes(s->tok);
			t->raw_bytes += wn_ds_tok_bytes(s->tok);
			continue;
		}
		t->records += s->records;
		t->bytes += s->produced;
		t->raw_bytes += s->raw;
	}
}

/* ---- creating -------------------------------------------------------------- */

/* mkdir -p; made_dir tells whether the directory itself was created. */
static int make_dirs(struct wn_dataset *ds, struct wn_error *err)
{
	char *p = strdup(ds->dir);
	size_t n;
	int e = 0;

	if (!p)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (size_t i = 1; i < n && !e; i++) {
		if (p[i] != '/' || p[i - 1] == '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			e = errno;
		p[i] = '/';
	}
	if (!e) {
		if (mkdir(p, 0777) == 0)
			ds->made_dir = 1;
		else if (errno != EEXIST)
			e = errno;
	}
	free(p);
	return e ? fail_errno(ds, err, e, NULL, NULL) : WN_OK;
}

/* Read a whole small file; NULL (errno set) on failure. */
static char *read_small(int fd, off_t max, size_t *len)
{
	struct stat st;
	char *text;
	size_t got = 0;

	if (fstat(fd, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_size > max) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return NULL;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	text[got] = '\0';
	*len = got;
	return text;
}

static int unlink_if_there(struct wn_dataset *ds, int dirfd, const char *sub, const char *name,
                           struct wn_error *err)
{
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return fail_errno(ds, err, errno, sub, name);
	return WN_OK;
}

/* A single file name: no slash, not "." or "..". */
static int plain_name(const char *s)
{
	return s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Remove the shards an existing manifest lists, when their paths are plain
 * names under data/.  A manifest that cannot be read lists nothing: its
 * shards still go if they have winnow's names. */
static int remove_listed(struct wn_dataset *ds, struct wn_error *err)
{
	int fd = openat(ds->dirfd, WN_DS_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	json_t *m, *shards, *v;
	char *text;
	size_t len, i;
	int rc = WN_OK;

	if (fd < 0)
		return WN_OK;
	text = read_small(fd, MANIFEST_MAX, &len);
	close(fd);
	if (!text)
		return WN_OK;
	m = json_loadb(text, len, 0, NULL);
	free(text);
	shards = json_object_get(m, "shards");
	json_array_foreach(shards, i, v) {
		const char *path = json_string_value(json_object_get(v, "path"));

		if (!path || strncmp(path, WN_DS_DATA "/", sizeof WN_DS_DATA) != 0)
			continue;
		path += sizeof WN_DS_DATA;
		if (!plain_name(path) || ds->datafd < 0)
			continue;
		rc = unlink_if_there(ds, ds->datafd, WN_DS_DATA, path, err);
		if (rc < 0)
			break;
	}
	json_decref(m);
	return rc;
}

/*
 * With force: remove what a previous run left (the shards its manifest
 * lists, anything named like a shard or a writer temporary in data/, the
 * top files and their temporaries), the manifest first so that no manifest
 * ever describes half-removed files.  Anything else in data/ would make the
 * new dataset fail verification ("extra"), so it is refused, not removed.
 */
static int clear_previous(struct wn_dataset *ds, struct wn_error *err)
{
	DIR *d;
	struct dirent *e;
	char tmp[64];
	int fd, rc = WN_OK;

	/* An interrupted run's journal first: without it, what it listed is
	 * no more than leftovers. */
	WN_TRY(unlink_if_there(ds, ds->dirfd, NULL, WN_DS_JOURNAL, err));
	WN_TRY(unlink_if_there(ds, ds->dirfd, NULL, WN_DS_JOURNAL WN_DS_TMP_EXT, err));
	WN_TRY(remove_listed(ds, err));
	for (int i = NTOP - 1; i >= 0; i--) {
		snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, top_names[i]);
		WN_TRY(unlink_if_there(ds, ds->dirfd, NULL, top_names[i], err));
		WN_TRY(unlink_if_there(ds, ds->dirfd, NULL, tmp, err));
	}
	if (ds->datafd < 0)
		return WN_OK;
	for (int pass = 0; pass < 2 && rc == WN_OK; pass++) {
		fd = dup(ds->datafd);
		d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			return fail_errno(ds, err, errno, NULL, WN_DS_DATA);
		}
		rewinddir(d);
		while (rc == WN_OK && (e = readdir(d))) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if (pass == 0 && wn_ds_is_shard_name(e->d_name))
				rc = unlink_if_there(ds, ds->datafd, WN_DS_DATA, e->d_name, err);
			else if (pass == 1)
				rc = fail(ds, err, WN_EUSAGE,
				          "%s/" WN_DS_DATA "/%s: not a file of a winnow dataset; "
				          "move it away first", ds->dir, e->d_name);
		}
		closedir(d);
	}
	return rc;
}

static int exists_at(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Without force the directory must be empty, or hold only an empty data/;
 * resume: the caller found no journal there. */
static int check_empty(struct wn_dataset *ds, int resume, struct wn_error *err)
{
	int fd = dup(ds->dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int rc = WN_OK;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return fail_errno(ds, err, errno, NULL, NULL);
	}
	while (rc == WN_OK && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (strcmp(e->d_name, WN_DS_DATA) == 0 && unlinkat(ds->dirfd, WN_DS_DATA,
		                                                   AT_REMOVEDIR) == 0) {
			/* It was an empty directory: made again below. */
			continue;
		}
		if (exists_at(ds->dirfd, WN_DS_JOURNAL))
			rc = fail(ds, err, WN_EUSAGE,
			          "%s: output directory holds an interrupted run (%s): --resume "
			          "continues it, --force starts over", ds->dir, WN_DS_JOURNAL);
		else if (resume && exists_at(ds->dirfd, WN_DS_MANIFEST))
			rc = fail(ds, err, WN_EUSAGE,
			          "%s: nothing to resume: the directory holds a finished dataset "
			          "(forcing replaces it)", ds->dir);
		else
			rc = fail(ds, err, WN_EUSAGE,
			          "%s: output directory is not empty (forcing replaces a previous "
			          "dataset there)", ds->dir);
	}
	closedir(d);
	return rc;
}

/* ---- resuming ---------------------------------------------------------------- */

#define JOURNAL_MAX ((off_t)1 << 30)

/* A journal as read: the objects of its lines, up to the first line that is
 * torn or damaged (lines[0] describes the run). */
struct journal {
	json_t **lines;
	size_t n;
	/* The lines kept when it is written again: inputs and kept shards. */
	json_t **keep;
	size_t nkeep;
};

static void journal_release(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		json_decref(j->lines[i]);
	free(j->lines);
	free(j->keep);
}

/* 1 with j filled, 0 when there is no journal, < 0 on error. */
static int journal_read(struct wn_dataset *ds, struct journal *j, struct wn_error *err)
{
	int fd = openat(ds->dirfd, WN_DS_JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), e;
	char *text, *p, *end, *nl;
	size_t len;

	if (fd < 0)
		return errno == ENOENT ? 0 : fail_errno(ds, err, errno, NULL, WN_DS_JOURNAL);
	text = read_small(fd, JOURNAL_MAX, &len);
	e = errno;
	close(fd);
	if (!text)
		return fail_errno(ds, err, e, NULL, WN_DS_JOURNAL);
	for (p = text, end = text + len; p < end; p = nl + 1) {
		json_t *o, **v;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl || !(o = wn_ds_journal_unseal(p, (size_t)(nl - p))))
			break;
		v = realloc(j->lines, (j->n + 1) * sizeof *v);
		if (!v) {
			json_decref(o);
			free(text);
			return fail(ds, err, WN_ENOMEM, "out of memory");
		}
		j->lines = v;
		j->lines[j->n++] = o;
	}
	free(text);
	j->keep = calloc(j->n + 1, sizeof *j->keep);
	if (!j->keep)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	return 1;
}

static const char *line_type(const json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));

	return t ? t : "";
}

/* Drop the lines from the first that is not a well-formed input or shard
 * line (of this format) on: the journal is read as far as it can be
 * trusted. */
static void journal_trim(const struct wn_dataset *ds, struct journal *j)
{
	for (size_t i = 1; i < j->n; i++) {
		const char *type = line_type(j->lines[i]), *path;
		struct wn_ds_jshard js;
		uint64_t size;
		int64_t mtime;
		int ok;

		if (strcmp(type, "input") == 0)
			ok = wn_ds_journal_get_input(j->lines[i], &path, &size, &mtime) == 0;
		else
			ok = strcmp(type, "shard") == 0 &&
			     wn_ds_journal_get_shard(j->lines[i], ds->fmt->nfiles,
			                             ds->format == WN_SHARD_JSONL, &js) == 0;
		if (ok)
			continue;
		while (j->n > i)
			json_decref(j->lines[--j->n]);
	}
}

/* What a member of the run's line is to the user. */
static const char *header_words(const char *key)
{
	static const char *const words[][2] = {
		{ "type", "journal" },
		{ "journal", "journal version" },
		{ "tool", "winnow version" },
		{ "pipeline", "pipeline" },
		{ "name", "dataset name (--name, or the directory's name)" },
		{ "format", "--format" },
		{ "level", "--level" },
		{ "max_size", "--max-size" },
		{ "max_records", "--max-records" },
		{ "max_tokens", "--max-tokens" },
	};

	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(words[i][0], key) == 0)
			return words[i][1];
	return "tokenizer (--tokenizer)";
}

/* The run that wrote the journal must be this one, but for the records. */
static int check_header(struct wn_dataset *ds, json_t *was, struct wn_error *err)
{
	json_t *now = run_header(ds);
	const char *key;
	char *a, *b;
	int rc;

	if (!now)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	key = wn_ds_journal_differs(was, now);
	if (!key) {
		json_decref(now);
		return WN_OK;
	}
	a = json_dumps(json_object_get(was, key), JSON_ENCODE_ANY | JSON_COMPACT);
	b = json_dumps(json_object_get(now, key), JSON_ENCODE_ANY | JSON_COMPACT);
	rc = fail(ds, err, WN_EUSAGE,
	          "cannot resume %s: the %s differs from the interrupted run's (it was %.300s, "
	          "now %.300s); --force starts over", ds->dir, header_words(key),
	          a ? a : "none", b ? b : "none");
	free(a);
	free(b);
	json_decref(now);
	return rc;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Every input file the journal names must be as it was. */
static int check_inputs(struct wn_dataset *ds, struct journal *j, struct wn_error *err)
{
	for (size_t i = 1; i < j->n; i++) {
		const char *path;
		struct input *in;
		struct stat st;
		uint64_t size;
		int64_t mtime;

		if (strcmp(line_type(j->lines[i]), "input") != 0)
			continue;
		wn_ds_journal_get_input(j->lines[i], &path, &size, &mtime);
		if (stat(path, &st) != 0)
			return fail(ds, err, WN_EDATA,
			            "cannot resume %s: input %s is gone (%s); --force starts over",
			            ds->dir, path, strerror(errno));
		if ((uint64_t)st.st_size != size || mtime_ns(&st) != mtime)
			return fail(ds, err, WN_EDATA,
			            "cannot resume %s: input %s changed since the interrupted run "
			            "(%s); --force starts over", ds->dir, path,
			            (uint64_t)st.st_size != size ? "its size" : "its modification time");
		if (ds->ninputs == ds->capinputs) {
			size_t cap = ds->capinputs ? 2 * ds->capinputs : 16;
			struct input *v = realloc(ds->inputs, cap * sizeof *v);

			if (!v)
				return fail(ds, err, WN_ENOMEM, "out of memory");
			ds->inputs = v;
			ds->capinputs = cap;
		}
		in = &ds->inputs[ds->ninputs];
		in->path = strdup(path);
		if (!in->path)
			return fail(ds, err, WN_ENOMEM, "out of memory");
		in->size = size;
		in->mtime_ns = mtime;
		ds->ninputs++;
		j->keep[j->nkeep++] = j->lines[i];
	}
	return WN_OK;
}

/* The names in data/ (none when there is no data/), malloc'ed. */
static int list_data(struct wn_dataset *ds, char ***names, size_t *n, struct wn_error *err)
{
	int fd;
	DIR *d;
	struct dirent *e;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (ds->datafd < 0)
		return WN_OK;
	fd = dup(ds->datafd);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return fail_errno(ds, err, errno, NULL, WN_DS_DATA);
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			char **v;

			cap = cap ? 2 * cap : 64;
			v = realloc(*names, cap * sizeof *v);
			if (!v)
				break;
			*names = v;
		}
		if (!((*names)[*n] = strdup(e->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (e)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	return WN_OK;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A finish that was interrupted may have given the file its final name,
 * "<split>-<index>-of-<n><ext>": back to its temporary name then. */
static void unrename(struct wn_dataset *ds, char **names, size_t n, const char *split,
                     unsigned index, const char *ext, const char *tmp)
{
	char prefix[WN_DS_SPLIT_MAX + 32];
	size_t pl;

	if (exists_at(ds->datafd, tmp))
		return;
	pl = (size_t)snprintf(prefix, sizeof prefix, "%s-%05u-of-", split, index);
	for (size_t i = 0; i < n; i++) {
		const char *p = names[i], *q;

		if (strncmp(p, prefix, pl) != 0)
			continue;
		for (q = p + pl; *q >= '0' && *q <= '9'; q++)
			;
		if (q - (p + pl) >= 5 && strcmp(q, ext) == 0 &&
		    renameat(ds->datafd, p, ds->datafd, tmp) == 0)
			return;
	}
}

/* Keep the journaled shard j when its files are all there as journaled. */
static int adopt_shard(struct wn_dataset *ds, const struct wn_ds_jshard *j, struct split *s,
                       char **names, size_t n, struct wn_error *err)
{
	struct kept *k;
	int rc;

	WN_TRY(grow_files(ds, j->nfiles, err));
	for (size_t i = 0; i < j->nfiles; i++) {
		struct file *f = &ds->files[ds->nfiles + i];

		memset(f, 0, sizeof *f);
		snprintf(f->tmp, sizeof f->tmp, ".%s-%05u%s" WN_DS_TMP_EXT, j->split, j->index,
		         ds->fmt->files[i].ext);
		unrename(ds, names, n, j->split, j->index, ds->fmt->files[i].ext, f->tmp);
		rc = wn_ds_file_matches(ds->datafd, f->tmp, j->f[i].bytes, j->f[i].xxh3);
		if (rc <= 0)
			return rc < 0 ? fail(ds, err, rc, "out of memory") : 0;
		f->sh.split = s->name;
		f->sh.role = ds->fmt->files[i].role;
		f->sh.records = j->records;
		f->sh.tokens = j->tokens;
		f->sh.bytes = j->f[i].bytes;
		f->sh.raw_bytes = j->f[i].raw_bytes;
		memcpy(f->sh.sha256, j->f[i].sha256, 32);
		memcpy(f->sh.xxh3, j->f[i].xxh3, 16);
		memcpy(f->sh.raw_xxh3, j->f[i].raw_xxh3, 16);
		f->ext = ds->fmt->files[i].ext;
		f->index = j->index;
		f->journaled = 1;
	}
	k = realloc(s->kept, (s->nkept + 1) * sizeof *k);
	if (!k)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	s->kept = k;
	k = &s->kept[s->nkept++];
	k->records = j->records;
	k->tokens = j->tokens;
	k->end = j->end;
	memcpy(k->content, j->content, 16);
	s->next = j->index + 1;
	ds->nfiles += j->nfiles;
	return 1;
}

/*
 * Keep, split by split, the longest run of journaled shards from the first
 * whose files are all there with their journaled sizes and hashes; a
 * shard that is not stops its split (it and the rest are made again).
 */
static int adopt_shards(struct wn_dataset *ds, struct journal *j, char **names, size_t n,
                        struct wn_error *err)
{
	const int jsonl = ds->format == WN_SHARD_JSONL;
	const char **stopped = NULL;
	size_t nstopped = 0;
	int rc = WN_OK;

	stopped = calloc(j->n + 1, sizeof *stopped);
	if (!stopped)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	for (size_t i = 1; i < j->n && rc >= 0; i++) {
		struct wn_ds_jshard js;
		struct split *s;
		int stop = 0;

		if (strcmp(line_type(j->lines[i]), "shard") != 0)
			continue;
		wn_ds_journal_get_shard(j->lines[i], ds->fmt->nfiles, jsonl, &js);
		for (size_t k = 0; k < nstopped; k++)
			stop |= strcmp(stopped[k], js.split) == 0;
		if (stop)
			continue;
		s = split_find(ds, js.split);
		if (!s && (rc = split_new(ds, js.split, &s, err)) < 0)
			break;
		/* In order, and none after the one finish closed. */
		rc = js.index == s->nkept && js.records > 0 &&
		             !(s->nkept && s->kept[s->nkept - 1].end)
		             ? adopt_shard(ds, &js, s, names, n, err)
		             : 0;
		if (rc == 1) {
			j->keep[j->nkeep++] = j->lines[i];
		} else if (rc == 0) {
			stopped[nstopped++] = js.split;
			/* A split with nothing kept is made when its records come,
			 * if they do, as in a new run. */
			if (s->nkept == 0) {
				assert(ds->splits[ds->nsplits - 1] == s);
				split_free(ds->splits[--ds->nsplits]);
			}
		}
	}
	free(stopped);
	return rc < 0 ? rc : WN_OK;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove what data/ holds besides the kept shards' files: the partial
 * shards of the interrupted run, and those not kept. */
static int remove_unkept(struct wn_dataset *ds, char **names, size_t n, struct wn_error *err)
{
	const char **kept = malloc((ds->nfiles + 1) * sizeof *kept);
	int rc = WN_OK;

	if (!kept)
		return fail(ds, err, WN_ENOMEM, "out of memory");
	for (size_t i = 0; i < ds->nfiles; i++)
		kept[i] = ds->files[i].tmp;
	qsort(kept, ds->nfiles, sizeof *kept, name_cmp);
	for (size_t i = 0; i < n && rc == WN_OK; i++) {
		if (bsearch(&names[i], kept, ds->nfiles, sizeof *kept, name_cmp))
			continue;
		if (unlinkat(ds->datafd, names[i], 0) == 0)
			ds->removed++;
		else if (errno != ENOENT)
			rc = fail_errno(ds, err, errno, WN_DS_DATA, names[i]);
	}
	free(kept);
	return rc;
}

/* Write the journal again, with only what was kept, and open it to go on. */
static int journal_rewrite(struct wn_dataset *ds, struct journal *j, struct wn_error *err)
{
	static const char tmp[] = WN_DS_JOURNAL WN_DS_TMP_EXT;
	struct wn_buf b;
	json_t *head = run_header(ds);
	int fd, e = 0, rc;

	wn_buf_init(&b, WN_BUF_UNLIMITED);
	rc = head ? wn_ds_journal_seal(&b, head) : WN_ENOMEM;
	json_decref(head);
	for (size_t i = 0; i < j->nkeep && rc == WN_OK; i++)
		rc = wn_ds_journal_seal(&b, j->keep[i]);
	if (rc < 0) {
		wn_buf_release(&b);
		return fail(ds, err, rc, "out of memory");
	}
	unlinkat(ds->dirfd, tmp, 0);
	fd = openat(ds->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		e = errno;
	else {
		e = wn_ds_write_all(fd, b.data, b.len);
		if (!e && fsync(fd) != 0)
			e = errno;
		if (close(fd) != 0 && !e)
			e = errno;
	}
	wn_buf_release(&b);
	if (e) {
		unlinkat(ds->dirfd, tmp, 0);
		return fail_errno(ds, err, e, NULL, tmp);
	}
	if (renameat(ds->dirfd, tmp, ds->dirfd, WN_DS_JOURNAL) != 0)
		return fail_errno(ds, err, errno, NULL, WN_DS_JOURNAL);
	if (fsync(ds->dirfd) != 0)
		return fail_errno(ds, err, errno, NULL, NULL);
	ds->jfd = openat(ds->dirfd, WN_DS_JOURNAL, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	return ds->jfd < 0 ? fail_errno(ds, err, errno, NULL, WN_DS_JOURNAL) : WN_OK;
}

/* A file in data/ that is not a winnow shard would fail verification. */
static int check_foreign(struct wn_dataset *ds, char **names, size_t n, struct wn_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!wn_ds_is_shard_name(names[i]))
			return fail(ds, err, WN_EUSAGE,
			            "%s/" WN_DS_DATA "/%s: not a file of a winnow dataset; move it "
			            "away first", ds->dir, names[i]);
	return WN_OK;
}

/*
 * Take over the interrupted run whose journal is in DIR: 0 when there is
 * none.  Nothing is changed until the journal is known to be of this run
 * and its inputs unchanged; then the top files go (the manifest first),
 * the journaled shards that check are kept, every other shard file is
 * removed, and the journal is written again with what was kept.
 */
static int resume_run(struct wn_dataset *ds, struct wn_error *err)
{
	struct journal j = { 0 };
	char **names = NULL, tmp[64];
	size_t n = 0;
	int rc = journal_read(ds, &j, err);

	if (rc <= 0)
		return rc;
	ds->datafd = openat(ds->dirfd, WN_DS_DATA, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ds->datafd < 0 && errno != ENOENT) {
		rc = fail_errno(ds, err, errno, NULL, WN_DS_DATA);
		goto out;
	}
	if (j.n == 0 || strcmp(line_type(j.lines[0]), "run") != 0) {
		/* Torn at its first line: the run made nothing to keep. */
		ds->resumed = ds->keep = 1;
		rc = clear_previous(ds, err);
		if (rc == WN_OK)
			rc = 1;
		goto out;
	}
	rc = check_header(ds, j.lines[0], err);
	journal_trim(ds, &j);
	if (rc == WN_OK)
		rc = check_inputs(ds, &j, err);
	if (rc == WN_OK)
		rc = list_data(ds, &names, &n, err);
	if (rc == WN_OK)
		rc = check_foreign(ds, names, n, err);
	if (rc < 0)
		goto out;
	/* From here on, what the journal lists stays should anything fail. */
	ds->resumed = ds->keep = 1;
	for (int i = NTOP - 1; i >= 0 && rc == WN_OK; i--) {
		snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, top_names[i]);
		rc = unlink_if_there(ds, ds->dirfd, NULL, top_names[i], err);
		if (rc == WN_OK)
			rc = unlink_if_there(ds, ds->dirfd, NULL, tmp, err);
	}
	if (rc == WN_OK && ds->datafd >= 0)
		rc = adopt_shards(ds, &j, names, n, err);
	if (rc == WN_OK && ds->datafd >= 0)
		rc = remove_unkept(ds, names, n, err);
	if (rc == WN_OK)
		rc = journal_rewrite(ds, &j, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < ds->nsplits; i++) {
		struct split *s = ds->splits[i];

		XXH3_128bits_reset(s->tok ? s->content : s->raw_xxh);
	}
	wn_dataset_totals(ds, &ds->kept_totals);
	rc = 1;
out:
	free_names(names, n);
	journal_release(&j);
	return rc;
}

char *wn_ds_default_name(const char *dir)
{
	char *copy = strdup(dir), *base, *real = NULL, *name;
	size_t n;

	if (!copy)
		return NULL;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	base = strrchr(copy, '/');
	base = base ? base + 1 : copy;
	if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		real = realpath(dir, NULL);
		base = real ? strrchr(real, '/') : NULL;
		base = base && base[1] ? base + 1 : "dataset";
	}
	name = strdup(base);
	free(real);
	free(copy);
	return name;
}

static int utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* The options of the token formats, before anything is made. */
static int check_token_opts(const struct wn_dataset_opts *o, struct wn_error *err)
{
	unsigned char sha[32];

	if (!wn_ds_format_of(o->format))
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "unknown shard format %d",
		                    (int)o->format);
	if (o->format == WN_SHARD_JSONL)
		return WN_OK;
	if (o->vocab_size == 0)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "token formats need the vocabulary size");
	if (o->format == WN_SHARD_MEGATRON && o->vocab_size - 1 > (uint32_t)INT32_MAX)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "a vocabulary of %" PRIu32 " tokens: Megatron's int32 ids "
		                    "hold at most 2^31", o->vocab_size);
	if (o->format == WN_SHARD_NANOGPT && o->eot >= o->vocab_size)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "end-of-text token %" PRIu32 " is not below the vocabulary "
		                    "size %" PRIu32, o->eot, o->vocab_size);
	if (o->tokenizer_name && !utf8_ok(o->tokenizer_name))
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "the tokenizer name is not UTF-8");
	if (o->tokenizer_sha256 && o->tokenizer_sha256[0] &&
	    wn_ds_unhex(sha, sizeof sha, o->tokenizer_sha256) != 0)
		return wn_error_set(err, WN_EUSAGE, NULL, 0,
		                    "the tokenizer's sha256 is not 64 lowercase hex digits");
	return WN_OK;
}

int wn_dataset_create(struct wn_dataset **out, const struct wn_dataset_opts *o,
                      struct wn_error *err)
{
	struct wn_dataset *ds;
	int rc;

	*out = NULL;
	if (!o->dir || !o->dir[0])
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "no output directory");
	if (o->level != 0 && (o->level < 1 || o->level > 19))
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "zstd level %d is not in 1..19",
		                    o->level);
	if (o->threads > MAX_THREADS)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "%u threads: at most %d", o->threads,
		                    MAX_THREADS);
	if (o->pipeline && !utf8_ok(o->pipeline))
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "the pipeline text is not UTF-8");
	WN_TRY(check_token_opts(o, err));
	ds = calloc(1, sizeof *ds);
	if (!ds)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	ds->dirfd = ds->datafd = ds->jfd = -1;
	crash_setup(ds);
	ds->level = o->level ? o->level : WN_DEFAULT_ZSTD_LEVEL;
	ds->threads = o->threads ? o->threads : 1;
	ds->max_size = o->max_size ? o->max_size : WN_DEFAULT_MAX_SHARD_SIZE;
	ds->max_records = o->max_records;
	ds->format = o->format;
	ds->fmt = wn_ds_format_of(o->format);
	if (ds->format != WN_SHARD_JSONL) {
		ds->max_tokens = o->max_tokens;
		ds->vocab_size = o->vocab_size;
		ds->eot = o->eot;
		ds->dtype = wn_ds_dtype_for(o->format, o->vocab_size);
	}
	ds->dir = strdup(o->dir);
	ds->pipeline = strdup(o->pipeline ? o->pipeline : "");
	ds->name = o->name && o->name[0] ? strdup(o->name) : wn_ds_default_name(o->dir);
	ds->tokenizer_name = strdup(o->tokenizer_name ? o->tokenizer_name : "");
	ds->tokenizer_sha256 = strdup(o->tokenizer_sha256 ? o->tokenizer_sha256 : "");
	/* Token shards have buffers of their own. */
	ds->out = ds->format == WN_SHARD_JSONL ? malloc(OUT_CHUNK) : NULL;
	if (!ds->dir || !ds->pipeline || !ds->name || !ds->tokenizer_name ||
	    !ds->tokenizer_sha256 || (ds->format == WN_SHARD_JSONL && !ds->out)) {
		rc = wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
		goto fail;
	}
	rc = make_dirs(ds, err);
	if (rc < 0)
		goto fail;
	ds->dirfd = open(ds->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ds->dirfd < 0) {
		rc = fail_errno(ds, err, errno, NULL, NULL);
		goto fail;
	}
	/* One writer per directory (where the filesystem has locks). */
	if (flock(ds->dirfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		rc = fail(ds, err, WN_EUSAGE, "%s: another run is writing this directory",
		          ds->dir);
		goto fail;
	}
	if (o->resume && o->force) {
		rc = fail(ds, err, WN_EUSAGE, "resuming and forcing exclude each other");
	} else if (o->resume) {
		rc = resume_run(ds, err);
		if (rc == 0)
			rc = check_empty(ds, 1, err);
	} else if (o->force) {
		ds->datafd = openat(ds->dirfd, WN_DS_DATA,
		                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ds->datafd < 0 && errno != ENOENT) {
			rc = fail_errno(ds, err, errno, NULL, WN_DS_DATA);
			goto fail;
		}
		rc = clear_previous(ds, err);
	} else {
		rc = check_empty(ds, 0, err);
	}
	if (rc < 0)
		goto fail;
	if (ds->datafd < 0) {
		if (mkdirat(ds->dirfd, WN_DS_DATA, 0777) == 0) {
			ds->made_data = 1;
		} else if (errno != EEXIST) {
			rc = fail_errno(ds, err, errno, NULL, WN_DS_DATA);
			goto fail;
		}
		ds->datafd = openat(ds->dirfd, WN_DS_DATA,
		                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (ds->datafd < 0) {
			rc = fail_errno(ds, err, errno, NULL, WN_DS_DATA);
			goto fail;
		}
	}
	if (ds->jfd < 0) {
		rc = journal_create(ds, err);
		if (rc < 0)
			goto fail;
	}
	ds->status = WN_OK;
	*out = ds;
	return WN_OK;
fail:
	wn_dataset_free(ds);
	return rc;
}

/* ---- finishing ------------------------------------------------------------- */

static int sum_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wn_ds_split_sum *)a)->name,
	              ((const struct wn_ds_split_sum *)b)->name);
}

/* Write one top file: a temporary, fsync'ed, renamed into place. */
static int write_top(struct wn_dataset *ds, int which, const struct wn_buf *b,
                     struct wn_error *err)
{
	const char *name = top_names[which];
	char tmp[64];
	int fd, e;

	snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, name);
	fd = openat(ds->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0)
		return fail_errno(ds, err, errno, NULL, tmp);
	ds->top_tmp[which] = 1;
	e = wn_ds_write_all(fd, b->data ? b->data : "", b->len);
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (e)
		return fail_errno(ds, err, e, NULL, tmp);
	if (renameat(ds->dirfd, tmp, ds->dirfd, name) != 0)
		return fail_errno(ds, err, errno, NULL, name);
	ds->top_tmp[which] = 0;
	ds->top_made[which] = 1;
	crash_point(ds, CRASH_TOP);
	return WN_OK;
}

/* Give every file its final name: the count of its split is known now. */
static int rename_shards(struct wn_dataset *ds, struct wn_error *err)
{
	for (size_t i = 0; i < ds->nfiles; i++) {
		struct file *f = &ds->files[i];
		unsigned n = 0;
		char *path;

		for (size_t j = 0; j < ds->nsplits; j++)
			if (ds->splits[j]->name == f->sh.split)
				n = ds->splits[j]->next;
		if (asprintf(&path, WN_DS_DATA "/%s-%05u-of-%05u%s", f->sh.split, f->index, n,
		             f->ext) < 0)
			return fail(ds, err, WN_ENOMEM, "out of memory");
		if (renameat(ds->datafd, f->tmp, ds->datafd, path + sizeof WN_DS_DATA) != 0) {
			int e = errno;

			free(path);
			return fail_errno(ds, err, e, WN_DS_DATA, f->tmp);
		}
		f->sh.path = path;
		crash_point(ds, CRASH_RENAME);
	}
	if (fsync(ds->datafd) != 0)
		return fail_errno(ds, err, errno, NULL, WN_DS_DATA);
	return WN_OK;
}

static int write_meta(struct wn_dataset *ds, struct wn_error *err)
{
	struct wn_ds_shard **sorted = NULL;
	struct wn_ds_split_sum *sums = NULL;
	struct wn_ds_meta m;
	struct wn_buf sums_text, manifest, card;
	unsigned char root[32];
	int rc = WN_ENOMEM;

	wn_buf_init(&sums_text, WN_BUF_UNLIMITED);
	wn_buf_init(&manifest, WN_BUF_UNLIMITED);
	wn_buf_init(&card, WN_BUF_UNLIMITED);
	sorted = malloc((ds->nfiles + 1) * sizeof *sorted);
	sums = calloc(ds->nsplits + 1, sizeof *sums);
	if (!sorted || !sums)
		goto out;
	for (size_t i = 0; i < ds->nfiles; i++)
		sorted[i] = &ds->files[i].sh;
	qsort(sorted, ds->nfiles, sizeof *sorted, wn_ds_shard_cmp);
	for (size_t i = 0; i < ds->nsplits; i++)
		sums[i].name = ds->splits[i]->name;
	qsort(sums, ds->nsplits, sizeof *sums, sum_cmp);
	for (size_t i = 0; i < ds->nfiles; i++) {
		const struct wn_ds_shard *sh = &ds->files[i].sh;
		struct wn_ds_split_sum key = { .name = sh->split }, *s;
		int first = shard_counts(ds, sh);

		s = bsearch(&key, sums, ds->nsplits, sizeof *sums, sum_cmp);
		assert(s);
		s->files++;
		s->bytes += sh->bytes;
		s->raw_bytes += sh->raw_bytes;
		if (first) {
			s->shards++;
			s->records += sh->records;
			s->tokens += sh->tokens;
		}
	}
	m = (struct wn_ds_meta){
		.name = ds->name,
		.pipeline = ds->pipeline,
		.tool_version = PACKAGE_VERSION,
		.level = ds->level,
		.format = ds->format,
		.dtype = ds->dtype,
		.vocab_size = ds->vocab_size,
		.eot = ds->eot,
		.tokenizer_name = ds->tokenizer_name,
		.tokenizer_sha256 = ds->tokenizer_sha256,
		.shards = sorted,
		.nshards = ds->nfiles,
		.splits = sums,
		.nsplits = ds->nsplits,
	};
	rc = wn_ds_sums_text(&sums_text, sorted, ds->nfiles);
	if (rc == WN_OK && !EVP_Digest(sums_text.data ? sums_text.data : "", sums_text.len, root,
	                               NULL, EVP_sha256(), NULL))
		rc = WN_ENOMEM;
	if (rc == WN_OK)
		rc = wn_ds_manifest_text(&manifest, &m, root);
	if (rc == WN_OK)
		rc = wn_ds_card_text(&card, &m);
	if (rc < 0) {
		rc = fail(ds, err, rc, "out of memory");
		goto out;
	}
	rc = write_top(ds, 0, &card, err);
	if (rc == WN_OK)
		rc = write_top(ds, 1, &sums_text, err);
	if (rc == WN_OK)
		rc = write_top(ds, 2, &manifest, err);
out:
	if (rc == WN_ENOMEM && ds->status == WN_OK)
		rc = fail(ds, err, rc, "out of memory");
	wn_buf_release(&sums_text);
	wn_buf_release(&manifest);
	wn_buf_release(&card);
	free(sorted);
	free(sums);
	return rc;
}

int wn_dataset_finish(struct wn_dataset *ds, struct wn_error *err)
{
	if (ds->status < 0)
		return wn_error_set(err, ds->status, NULL, 0, "%s: the dataset failed earlier",
		                    ds->dir);
	if (ds->finished)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "%s: the dataset is finished",
		                    ds->dir);
	/* A resumed run must have had every record of the shards it kept. */
	for (size_t i = 0; i < ds->nsplits; i++) {
		struct split *s = ds->splits[i];

		if (s->replayed < s->nkept)
			return replay_differs(ds, s, s->tok ? "fewer documents" : "fewer records",
			                      err);
	}
	for (size_t i = 0; i < ds->nsplits; i++) {
		struct split *s = ds->splits[i];

		if (s->tok && s->tok->open)
			WN_TRY(close_tokens(ds, s, 1, err));
		else if (s->fd >= 0)
			WN_TRY(close_shard(ds, s, 1, err));
	}
	WN_TRY(rename_shards(ds, err));
	WN_TRY(write_meta(ds, err));
	if (fsync(ds->dirfd) != 0)
		return fail_errno(ds, err, errno, NULL, NULL);
	/* Complete: the manifest is in place.  The journal goes last, so a
	 * crash before this leaves a run that resumes to the same bytes. */
	ds->finished = 1;
	close(ds->jfd);
	ds->jfd = -1;
	if (unlinkat(ds->dirfd, WN_DS_JOURNAL, 0) != 0 || fsync(ds->dirfd) != 0)
		return wn_error_errno(err, errno, NULL, "%s/%s", ds->dir, WN_DS_JOURNAL);
	return WN_OK;
}

void wn_dataset_keep(struct wn_dataset *ds)
{
	if (ds && ds->jfd >= 0)
		ds->keep = 1;
}

int wn_dataset_resumed(const struct wn_dataset *ds, struct wn_dataset_totals *kept,
                       uint64_t *removed)
{
	if (kept)
		*kept = ds->kept_totals;
	if (removed)
		*removed = ds->removed;
	return ds->resumed;
}

int wn_dataset_input(struct wn_dataset *ds, const char *path, struct wn_error *err)
{
	struct stat st;

	if (ds->status < 0)
		return wn_error_set(err, ds->status, NULL, 0, "%s: the dataset failed earlier",
		                    ds->dir);
	if (!path || strcmp(path, "-") == 0)
		return WN_OK;
	/* A resumed run reads the journaled inputs again, in order. */
	if (ds->input_at < ds->ninputs && strcmp(ds->inputs[ds->input_at].path, path) == 0) {
		ds->input_at++;
		return WN_OK;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return WN_OK;
	return journal_line(ds, wn_ds_journal_input(path, (uint64_t)st.st_size, mtime_ns(&st)),
	                    0, 0, err);
}

/*
 * Without a successful finish, but keeping for a later resume: the
 * journaled shards stay (under their temporary names), the rest goes.
 */
static void keep_partial(struct wn_dataset *ds)
{
	char tmp[64];

	for (size_t i = 0; i < ds->nsplits; i++) {
		struct split *s = ds->splits[i];

		if (s->tok)
			wn_ds_tok_discard(s->tok);
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
			unlinkat(ds->datafd, s->tmp, 0);
		}
	}
	for (int i = NTOP - 1; i >= 0; i--) {
		snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, top_names[i]);
		if (ds->top_tmp[i])
			unlinkat(ds->dirfd, tmp, 0);
		if (ds->top_made[i])
			unlinkat(ds->dirfd, top_names[i], 0);
	}
	for (size_t i = 0; i < ds->nfiles; i++) {
		const struct file *f = &ds->files[i];

		if (!f->journaled)
			unlinkat(ds->datafd, f->sh.path ? f->sh.path + sizeof WN_DS_DATA : f->tmp, 0);
		else if (f->sh.path)
			renameat(ds->datafd, f->sh.path + sizeof WN_DS_DATA, ds->datafd, f->tmp);
	}
}

/* Without a successful finish, remove every file this run made: a partial
 * dataset must not look like a complete one. */
static void remove_partial(struct wn_dataset *ds)
{
	char tmp[64];

	for (size_t i = 0; i < ds->nsplits; i++) {
		struct split *s = ds->splits[i];

		if (s->tok)
			wn_ds_tok_discard(s->tok);
		if (s->fd >= 0) {
			close(s->fd);
			s->fd = -1;
			unlinkat(ds->datafd, s->tmp, 0);
		}
	}
	for (int i = NTOP - 1; i >= 0; i--) {
		snprintf(tmp, sizeof tmp, ".%s" WN_DS_TMP_EXT, top_names[i]);
		if (ds->top_tmp[i])
			unlinkat(ds->dirfd, tmp, 0);
		if (ds->top_made[i])
			unlinkat(ds->dirfd, top_names[i], 0);
	}
	for (size_t i = 0; i < ds->nfiles; i++) {
		const struct file *f = &ds->files[i];

		unlinkat(ds->datafd, f->sh.path ? f->sh.path + sizeof WN_DS_DATA : f->tmp, 0);
	}
	if (ds->jfd >= 0)
		unlinkat(ds->dirfd, WN_DS_JOURNAL, 0);
	if (ds->made_data)
		unlinkat(ds->dirfd, WN_DS_DATA, AT_REMOVEDIR);
	if (ds->made_dir)
		rmdir(ds->dir);
}

void wn_dataset_free(struct wn_dataset *ds)
{
	if (!ds)
		return;
	if (!ds->finished && ds->dirfd >= 0 && ds->datafd >= 0 && ds->keep)
		keep_partial(ds);
	else if (!ds->finished && ds->dirfd >= 0 && ds->datafd >= 0)
		remove_partial(ds);
	else if (!ds->finished && ds->made_dir)
		rmdir(ds->dir);
	if (ds->jfd >= 0)
		close(ds->jfd);
	for (size_t i = 0; i < ds->ninputs; i++)
		free(ds->inputs[i].path);
	free(ds->inputs);
	for (size_t i = 0; i < ds->nsplits; i++) {
		if (ds->splits[i]->fd >= 0)
			close(ds->splits[i]->fd);
		split_free(ds->splits[i]);
	}
	for (size_t i = 0; i < ds->nfiles; i++)
		free(ds->files[i].sh.path);
	if (ds->datafd >= 0)
		close(ds->datafd);
	if (ds->dirfd >= 0)
		close(ds->dirfd);
	free(ds->splits);
	free(ds->files);
	free(ds->out);
	free(ds->dir);
	free(ds->name);
	free(ds->pipeline);
	free(ds->tokenizer_name);
	free(ds->tokenizer_sha256);
	free(ds);
}
