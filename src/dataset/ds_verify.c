/*
 * ds_verify.c - check a dataset directory against its manifest.
 *
 * Every problem is reported, none stops the check: a shard is missing,
 * truncated, of another size or hash; a file in data/ is not listed; a
 * manifest path would leave the directory; SHA256SUMS disagrees.  Deep mode
 * also decodes each shard and compares the raw size, raw hash and record
 * count.
 *
 * The work is a list of tasks run by a pool of threads: hashing a shard's
 * file, and in deep mode decoding it, are separate tasks, each reading the
 * file itself.  A second read of the same file is a copy from the page
 * cache, far cheaper than making the two wait for each other, and it lets
 * two threads share even a single shard: one hashes while the other decodes.
 * Tasks of one shard are queued next to each other so they read it together.
 * With one thread there is nobody to share with: one task does both in a
 * single read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <xxhash.h>
#include <zstd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "dataset/ds_int.h"

#define READ_CHUNK ((size_t)1 << 20)
#define DECODE_CHUNK ((size_t)512 << 10)
#define MANIFEST_MAX ((off_t)256 << 20)
#define SUMS_MAX ((off_t)256 << 20)
#define WALK_DEPTH 16

/* ---- problems -------------------------------------------------------------- */

struct plist {
	struct wn_verify_problem *v;
	size_t n, cap;
	int oom;
};

static void padd(struct plist *l, const char *path, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void padd(struct plist *l, const char *path, const char *kind, const char *fmt, ...)
{
	struct wn_verify_problem *p;
	va_list ap;
	int r;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;

		p = realloc(l->v, cap * sizeof *p);
		if (!p) {
			l->oom = 1;
			return;
		}
		l->v = p;
		l->cap = cap;
	}
	p = &l->v[l->n];
	p->kind = kind;
	p->path = strdup(path);
	va_start(ap, fmt);
	r = vasprintf(&p->detail, fmt, ap);
	va_end(ap);
	if (!p->path || r < 0) {
		free(p->path);
		if (r >= 0)
			free(p->detail);
		l->oom = 1;
		return;
	}
	l->n++;
}

static void plist_release(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].detail);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

/* Move every problem of src to the end of dst. */
static void plist_take(struct plist *dst, struct plist *src)
{
	dst->oom |= src->oom;
	for (size_t i = 0; i < src->n; i++) {
		if (dst->n == dst->cap) {
			size_t cap = dst->cap ? 2 * dst->cap : 8;
			struct wn_verify_problem *p = realloc(dst->v, cap * sizeof *p);

			if (!p) {
				dst->oom = 1;
				break;
			}
			dst->v = p;
			dst->cap = cap;
		}
		dst->v[dst->n++] = src->v[i];
		src->v[i].path = src->v[i].detail = NULL;
	}
	plist_release(src);
}

/* ---- the manifest's shards ------------------------------------------------- */

struct vshard {
	const char *path; /* borrowed from the parsed manifest */
	const char *split;
	int jsonl;        /* format "jsonl": deep mode decodes it */
	uint64_t records, bytes, raw_bytes;
	unsigned char sha256[32], xxh3[16], raw_xxh3[16];
	int ok;           /* a well-formed entry */
	char *real;       /* resolved path, when safe to open */
};

struct task {
	struct vshard *sh;
	int hash;   /* hash the file: sha256, xxh3_128 */
	int decode; /* decode it: records, raw_bytes, raw_xxh3_128 */
	struct plist problems;
	uint64_t bytes, records;
};

struct verify {
	int deep;
	struct task *tasks;
	size_t ntasks;
	size_t next; /* the next task to run, under lock */
	pthread_mutex_t lock;
};

struct worker {
	struct verify *v;
	unsigned char *buf, *out;
	ZSTD_DCtx *dctx;
	EVP_MD_CTX *sha;
	XXH3_state_t *xxh, *raw_xxh;
};

static void hex_detail(char *exp, char *got, const unsigned char *e, const unsigned char *g,
                       size_t n)
{
	wn_ds_hex(exp, e, n);
	wn_ds_hex(got, g, n);
}

static int open_shard(struct task *t, struct stat *st, int report)
{
	struct vshard *sh = t->sh;
	int fd = open(sh->real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		if (!report)
			return -1;
		if (errno == ENOENT)
			padd(&t->problems, sh->path, "missing", "no such file");
		else
			padd(&t->problems, sh->path, "io", "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		if (report)
			padd(&t->problems, sh->path, "missing", "not a regular file");
		close(fd);
		return -1;
	}
	if ((uint64_t)st->st_size != sh->bytes) {
		if (report && (uint64_t)st->st_size < sh->bytes)
			padd(&t->problems, sh->path, "truncated", "%llu bytes, expected %llu",
			     (unsigned long long)st->st_size, (unsigned long long)sh->bytes);
		else if (report)
			padd(&t->problems, sh->path, "size", "%llu bytes, expected %llu",
			     (unsigned long long)st->st_size, (unsigned long long)sh->bytes);
		close(fd);
		return -1;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

static ssize_t read_some(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Newlines in p[0..n): one per record. */
static uint64_t count_newlines(const unsigned char *p, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;

#if defined(__SSE2__)
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

	/* Per-byte counters (a match is -1, subtracted), summed before any
	 * can pass 255. */
	while (n - i >= 16) {
		size_t blocks = (n - i) / 16 < 255 ? (n - i) / 16 : 255;
		__m128i acc = zero, sums;

		for (size_t k = 0; k < blocks; k++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));

			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
		}
		sums = _mm_sad_epu8(acc, zero);
		c += (uint64_t)_mm_cvtsi128_si32(sums) +
		     (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sums, 8));
	}
#endif
	for (; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* The decoder's state over one shard. */
struct decoding {
	uint64_t raw, records, frames;
	size_t left; /* 0 between frames */
	unsigned char last;
	const char *bad;
};

/* Decode one chunk of the file; eof when there is no more. */
static void decode_chunk(struct worker *w, struct decoding *d, const void *p, size_t n, int eof)
{
	ZSTD_inBuffer ib = { p, n, 0 };
	ZSTD_outBuffer ob;

	do {
		ob = (ZSTD_outBuffer){ w->out, DECODE_CHUNK, 0 };
		if (d->left == 0) {
			if (ib.pos == ib.size)
				break;
			d->frames++;
		}
		d->left = ZSTD_decompressStream(w->dctx, &ob, &ib);
		if (ZSTD_isError(d->left)) {
			d->bad = ZSTD_getErrorName(d->left);
			return;
		}
		if (ob.pos) {
			XXH3_128bits_update(w->raw_xxh, w->out, ob.pos);
			d->records += count_newlines(w->out, ob.pos);
			d->raw += ob.pos;
			d->last = w->out[ob.pos - 1];
		}
		/* Output may be pending when ob was filled; at the end of the
		 * file, as long as some keeps coming. */
	} while (ib.pos < ib.size ||
	         (d->left != 0 && (ob.pos == ob.size || (eof && ob.pos > 0))));
}

static void decode_report(struct worker *w, struct task *t, const struct decoding *d)
{
	struct vshard *sh = t->sh;
	unsigned char xxh[16];
	char exp[65], got[65];

	if (d->bad) {
		padd(&t->problems, sh->path, "decode", "%s", d->bad);
		return;
	}
	if (d->frames == 0) {
		padd(&t->problems, sh->path, "decode", "no zstd frame");
		return;
	}
	if (d->left != 0) {
		padd(&t->problems, sh->path, "decode", "truncated zstd frame");
		return;
	}
	if (d->frames > 1)
		padd(&t->problems, sh->path, "decode",
		     "%llu zstd frames: readers that stop after the first one lose data",
		     (unsigned long long)d->frames);
	t->records = d->records;
	if (d->last != '\n')
		padd(&t->problems, sh->path, "records", "the last record has no newline");
	if (d->records != sh->records)
		padd(&t->problems, sh->path, "records", "expected %llu, got %llu",
		     (unsigned long long)sh->records, (unsigned long long)d->records);
	if (d->raw != sh->raw_bytes)
		padd(&t->problems, sh->path, "raw_bytes", "expected %llu, got %llu",
		     (unsigned long long)sh->raw_bytes, (unsigned long long)d->raw);
	XXH128_canonicalFromHash((XXH128_canonical_t *)xxh, XXH3_128bits_digest(w->raw_xxh));
	if (memcmp(xxh, sh->raw_xxh3, 16) != 0) {
		hex_detail(exp, got, sh->raw_xxh3, xxh, 16);
		padd(&t->problems, sh->path, "raw_xxh3_128", "expected %s, got %s", exp, got);
	}
}

static void hash_report(struct worker *w, struct task *t)
{
	struct vshard *sh = t->sh;
	unsigned char sha[32], xxh[16];
	char exp[65], got[65];
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(w->sha, sha, &mdlen) != 1) {
		t->problems.oom = 1;
		return;
	}
	XXH128_canonicalFromHash((XXH128_canonical_t *)xxh, XXH3_128bits_digest(w->xxh));
	if (memcmp(sha, sh->sha256, 32) != 0) {
		hex_detail(exp, got, sh->sha256, sha, 32);
		padd(&t->problems, sh->path, "sha256", "expected %s, got %s", exp, got);
	}
	if (memcmp(xxh, sh->xxh3, 16) != 0) {
		hex_detail(exp, got, sh->xxh3, xxh, 16);
		padd(&t->problems, sh->path, "xxh3_128", "expected %s, got %s", exp, got);
	}
}

/* One pass over a shard's file: hash it, decode it, or both. */
static void shard_task(struct worker *w, struct task *t)
{
	struct decoding d = { .last = '\n' };
	struct stat st;
	uint64_t got = 0;
	/* A file that cannot be opened or has the wrong size is reported by
	 * the task that hashes it, once. */
	int fd = open_shard(t, &st, t->hash);
	ssize_t r;

	if (fd < 0)
		return;
	if (t->hash && EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
		t->problems.oom = 1;
		goto out;
	}
	XXH3_128bits_reset(w->xxh);
	XXH3_128bits_reset(w->raw_xxh);
	if (t->decode) {
		if (!w->dctx)
			w->dctx = ZSTD_createDCtx();
		if (!w->dctx) {
			t->problems.oom = 1;
			goto out;
		}
		ZSTD_DCtx_reset(w->dctx, ZSTD_reset_session_only);
	}
	do {
		r = read_some(fd, w->buf, READ_CHUNK);
		if (r < 0)
			break;
		got += (uint64_t)r;
		if (t->hash) {
			EVP_DigestUpdate(w->sha, w->buf, (size_t)r);
			XXH3_128bits_update(w->xxh, w->buf, (size_t)r);
		}
		if (t->decode && !d.bad)
			decode_chunk(w, &d, w->buf, (size_t)r, r == 0);
	} while (r > 0 && (t->hash || !d.bad));
	if (r < 0) {
		if (t->hash)
			padd(&t->problems, t->sh->path, "io", "read failed: %s", strerror(errno));
		goto out;
	}
	if (t->hash) {
		t->bytes = got;
		if (got != t->sh->bytes) {
			padd(&t->problems, t->sh->path, "size", "changed while it was read");
			goto out;
		}
		hash_report(w, t);
	}
	if (t->decode)
		decode_report(w, t, &d);
out:
	close(fd);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct verify *v = w->v;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&v->lock);
		i = v->next < v->ntasks ? v->next++ : v->ntasks;
		pthread_mutex_unlock(&v->lock);
		if (i == v->ntasks)
			break;
		shard_task(w, &v->tasks[i]);
	}
	return NULL;
}

static int worker_init(struct worker *w, struct verify *v)
{
	memset(w, 0, sizeof *w);
	w->v = v;
	w->buf = malloc(READ_CHUNK);
	w->out = v->deep ? malloc(DECODE_CHUNK) : NULL;
	w->sha = EVP_MD_CTX_new();
	w->xxh = XXH3_createState();
	w->raw_xxh = XXH3_createState();
	if (!w->buf || (v->deep && !w->out) || !w->sha || !w->xxh || !w->raw_xxh)
		return WN_ENOMEM;
	return WN_OK;
}

static void worker_release(struct worker *w)
{
	free(w->buf);
	free(w->out);
	ZSTD_freeDCtx(w->dctx);
	EVP_MD_CTX_free(w->sha);
	XXH3_freeState(w->xxh);
	XXH3_freeState(w->raw_xxh);
}

/* Run every task on `threads` threads, the calling one included. */
static int run_tasks(struct verify *v, unsigned threads)
{
	struct worker *ws;
	pthread_t *tids;
	unsigned started = 0;
	int rc = WN_OK;

	if (threads < 1)
		threads = 1;
	if (threads > v->ntasks)
		threads = v->ntasks ? (unsigned)v->ntasks : 1;
	ws = calloc(threads, sizeof *ws);
	tids = calloc(threads, sizeof *tids);
	if (!ws || !tids) {
		free(ws);
		free(tids);
		return WN_ENOMEM;
	}
	for (unsigned i = 0; i < threads; i++)
		if (worker_init(&ws[i], v) != WN_OK)
			rc = WN_ENOMEM;
	if (rc == WN_OK) {
		for (unsigned i = 1; i < threads; i++) {
			if (pthread_create(&tids[i], NULL, work, &ws[i]) != 0)
				break;
			started++;
		}
		work(&ws[0]);
		for (unsigned i = 1; i <= started; i++)
			pthread_join(tids[i], NULL);
	}
	for (unsigned i = 0; i < threads; i++)
		worker_release(&ws[i]);
	free(ws);
	free(tids);
	return rc;
}

/* ---- reading the manifest -------------------------------------------------- */

/* Read a small file of the dataset directory itself; a symbolic link is not
 * followed (it could lead out of the directory). */
static char *read_file_at(int dirfd, const char *name, off_t max, size_t *len, int *errnum)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	size_t got = 0;

	*errnum = 0;
	if (fd < 0) {
		*errnum = errno;
		return NULL;
	}
	if (fstat(fd, &st) != 0)
		*errnum = errno;
	else if (!S_ISREG(st.st_mode))
		*errnum = EINVAL;
	else if (st.st_size > max)
		*errnum = EFBIG;
	if (*errnum)
		goto out;
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		*errnum = ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read_some(fd, text + got, (size_t)st.st_size - got);

		if (r < 0) {
			*errnum = errno;
			free(text);
			text = NULL;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	text[got] = '\0';
	*len = got;
out:
	close(fd);
	return text;
}

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

/* Why a manifest path is unsafe to open, or NULL. */
static const char *unsafe_reason(json_t *jpath)
{
	const char *p = json_string_value(jpath);

	if (strlen(p) != json_string_length(jpath))
		return "NUL byte in path";
	if (!p[0])
		return "empty path";
	if (p[0] == '/')
		return "absolute path";
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return "'..' in path";
		if (n == 0 || (n == 1 && c[0] == '.'))
			return "path is not in canonical form";
		c += n;
		if (*c == '/' && !*++c)
			return "path is not in canonical form";
	}
	return NULL;
}

/* Read one entry of "shards"; a malformed one is reported and not used. */
static void parse_shard(const char *mname, json_t *e, size_t i, struct vshard *sh,
                        struct plist *pl)
{
	json_t *jpath = json_object_get(e, "path");
	const char *what = NULL, *format;

	memset(sh, 0, sizeof *sh);
	if (!json_is_string(jpath)) {
		padd(pl, mname, "manifest", "shards[%zu]: no path", i);
		return;
	}
	sh->path = json_string_value(jpath);
	sh->split = json_string_value(json_object_get(e, "split"));
	format = json_string_value(json_object_get(e, "format"));
	sh->jsonl = format && strcmp(format, WN_DS_SHARD_FORMAT) == 0;
	if (!sh->split)
		what = "no split";
	else if (!format)
		what = "no format";
	else if (get_u64(e, "bytes", &sh->bytes) != 0)
		what = "no bytes";
	else if (get_hex(e, "sha256", sh->sha256, 32) != 0)
		what = "sha256 is not 64 lowercase hex digits";
	else if (get_hex(e, "xxh3_128", sh->xxh3, 16) != 0)
		what = "xxh3_128 is not 32 lowercase hex digits";
	else if (sh->jsonl && get_u64(e, "records", &sh->records) != 0)
		what = "no records";
	else if (sh->jsonl && get_u64(e, "raw_bytes", &sh->raw_bytes) != 0)
		what = "no raw_bytes";
	else if (sh->jsonl && get_hex(e, "raw_xxh3_128", sh->raw_xxh3, 16) != 0)
		what = "raw_xxh3_128 is not 32 lowercase hex digits";
	if (what) {
		padd(pl, sh->path, "manifest", "shards[%zu]: %s", i, what);
		return;
	}
	sh->ok = 1;
}

/* Decide whether the shard may be opened; if so, sh->real is its path. */
static void resolve(struct vshard *sh, json_t *jpath, const char *dir, const char *realdir,
                    struct plist *pl)
{
	const char *why = unsafe_reason(jpath);
	char *joined, *real;
	size_t n = strlen(realdir);

	if (why) {
		padd(pl, sh->path, "unsafe-path", "%s", why);
		return;
	}
	if (asprintf(&joined, "%s/%s", dir, sh->path) < 0) {
		pl->oom = 1;
		return;
	}
	real = realpath(joined, NULL);
	free(joined);
	if (!real) {
		if (errno == ENOENT || errno == ENOTDIR)
			padd(pl, sh->path, "missing", "no such file");
		else if (errno == ENOMEM)
			pl->oom = 1;
		else
			padd(pl, sh->path, "io", "cannot resolve: %s", strerror(errno));
		return;
	}
	/* realdir is "/" only when the dataset is the root directory. */
	if (strncmp(real, realdir, n) != 0 || (real[n] != '/' && strcmp(realdir, "/") != 0)) {
		padd(pl, sh->path, "unsafe-path",
		     "resolves outside the dataset directory through a symbolic link");
		free(real);
		return;
	}
	sh->real = real;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Report files under data/ that the manifest does not list. */
static void walk_extra(int dfd, const char *rel, int depth, const char **listed, size_t nlisted,
                       struct plist *pl)
{
	int fd = dup(dfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		padd(pl, rel, "io", "cannot list: %s", strerror(errno));
		return;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		char *path;
		const char *key;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (asprintf(&path, "%s/%s", rel, e->d_name) < 0) {
			pl->oom = 1;
			break;
		}
		key = path;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode) && depth < WALK_DEPTH) {
			int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			                                 O_CLOEXEC);

			if (sub >= 0) {
				walk_extra(sub, path, depth + 1, listed, nlisted, pl);
				close(sub);
			} else {
				padd(pl, path, "io", "cannot list: %s", strerror(errno));
			}
		} else if (!bsearch(&key, listed, nlisted, sizeof *listed, str_cmp)) {
			padd(pl, path, "extra", "not listed in the manifest");
		}
		free(path);
	}
	closedir(d);
}

/* Check the manifest's counts against the sums of its shards. */
static void check_counts(const char *mname, json_t *m, struct vshard *sh, size_t n,
                         struct plist *pl)
{
	json_t *splits = json_object_get(m, "splits"), *totals = json_object_get(m, "totals");
	static const char *const fields[] = { "shards", "records", "bytes", "raw_bytes" };
	uint64_t tsum[4] = { 0 };
	const char *name;
	json_t *obj;

	if (!json_is_object(splits) || !json_is_object(totals)) {
		padd(pl, mname, "manifest", "no splits or totals");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (sh[i].ok && !json_is_object(json_object_get(splits, sh[i].split)))
			padd(pl, mname, "manifest", "split '%s' of %s not in splits",
			     sh[i].split, sh[i].path);
	json_object_foreach(splits, name, obj) {
		uint64_t sum[4] = { 0 };

		for (size_t i = 0; i < n; i++) {
			if (!sh[i].ok || strcmp(sh[i].split, name) != 0)
				continue;
			sum[0]++;
			sum[1] += sh[i].records;
			sum[2] += sh[i].bytes;
			sum[3] += sh[i].raw_bytes;
		}
		for (int f = 0; f < 4; f++) {
			uint64_t v;

			if (get_u64(obj, fields[f], &v) != 0)
				padd(pl, mname, "manifest", "splits.%s.%s missing", name,
				     fields[f]);
			else if (v != sum[f])
				padd(pl, mname, "manifest",
				     "splits.%s.%s is %llu, its shards sum to %llu", name,
				     fields[f],
				     (unsigned long long)v, (unsigned long long)sum[f]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!sh[i].ok)
			continue;
		tsum[0]++;
		tsum[1] += sh[i].records;
		tsum[2] += sh[i].bytes;
		tsum[3] += sh[i].raw_bytes;
	}
	for (int f = 0; f < 4; f++) {
		uint64_t v;

		if (get_u64(totals, fields[f], &v) != 0)
			padd(pl, mname, "manifest", "totals.%s missing", fields[f]);
		else if (v != tsum[f])
			padd(pl, mname, "manifest",
			     "totals.%s is %llu, the shards sum to %llu", fields[f],
			     (unsigned long long)v, (unsigned long long)tsum[f]);
	}
}

/* Show one line of SHA256SUMS, shortened, for a message. */
static void line_at(const char *text, size_t len, size_t lineno, char *out, size_t outlen)
{
	const char *p = text, *end = text + len, *nl;

	for (size_t i = 1; i < lineno && p < end; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	snprintf(out, outlen, "%.*s", (int)((nl ? nl : end) - p), p);
}

/* SHA256SUMS must be exactly what the manifest's shards give, and hash to
 * the manifest's root_sha256. */
static void check_sums(const char *mname, json_t *m, int dirfd, struct vshard *sh, size_t n,
                       struct plist *pl)
{
	struct wn_ds_shard *rows = calloc(n + 1, sizeof *rows);
	struct wn_ds_shard **sorted = calloc(n + 1, sizeof *sorted);
	struct wn_buf want;
	unsigned char root[32], mroot[32];
	char *have = NULL, a[65], b[65];
	size_t havelen = 0, k = 0;
	int errnum;

	wn_buf_init(&want, WN_BUF_UNLIMITED);
	if (!rows || !sorted) {
		pl->oom = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sh[i].ok)
			goto out; /* reported already; the comparison would only repeat it */
		rows[k].path = (char *)sh[i].path;
		memcpy(rows[k].sha256, sh[i].sha256, 32);
		sorted[k] = &rows[k];
		k++;
	}
	qsort(sorted, k, sizeof *sorted, wn_ds_shard_cmp);
	if (wn_ds_sums_text(&want, sorted, k) < 0 ||
	    !EVP_Digest(want.data ? want.data : "", want.len, root, NULL, EVP_sha256(), NULL)) {
		pl->oom = 1;
		goto out;
	}
	if (get_hex(m, "root_sha256", mroot, 32) != 0) {
		padd(pl, mname, "manifest", "root_sha256 is not 64 lowercase hex digits");
	} else if (memcmp(root, mroot, 32) != 0) {
		hex_detail(a, b, mroot, root, 32);
		padd(pl, WN_DS_SUMS, "sha256sums",
		     "the manifest's root_sha256 is %s, its shards give %s", a, b);
	}
	have = read_file_at(dirfd, WN_DS_SUMS, SUMS_MAX, &havelen, &errnum);
	if (!have) {
		if (errnum == ENOENT)
			padd(pl, WN_DS_SUMS, "sha256sums", "missing");
		else if (errnum == ENOMEM)
			pl->oom = 1;
		else
			padd(pl, WN_DS_SUMS, "sha256sums", "cannot read: %s", strerror(errnum));
		goto out;
	}
	if (havelen != want.len || memcmp(have, want.data ? want.data : "", havelen) != 0) {
		size_t line = 1, common = 0, lim = havelen < want.len ? havelen : want.len;
		char l1[160], l2[160];

		while (common < lim && have[common] == want.data[common]) {
			if (have[common] == '\n')
				line++;
			common++;
		}
		line_at(want.data ? want.data : "", want.len, line, l1, sizeof l1);
		line_at(have, havelen, line, l2, sizeof l2);
		padd(pl, WN_DS_SUMS, "sha256sums",
		     "does not match the manifest: line %zu is '%s', expected '%s'", line, l2,
		     l1);
	}
out:
	free(have);
	wn_buf_release(&want);
	free(rows);
	free(sorted);
}

/* ---- the report ------------------------------------------------------------ */

static int problem_cmp(const void *a, const void *b)
{
	const struct wn_verify_problem *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c == 0)
		c = strcmp(x->kind, y->kind);
	if (c == 0)
		c = strcmp(x->detail, y->detail);
	return c;
}

void wn_verify_report_release(struct wn_verify_report *rep)
{
	if (!rep)
		return;
	for (size_t i = 0; i < rep->nproblems; i++) {
		free(rep->problems[i].path);
		free(rep->problems[i].detail);
	}
	free(rep->problems);
	free(rep->dir);
	memset(rep, 0, sizeof *rep);
}

/* Split the target into the dataset directory and the manifest's name. */
static int locate(const char *target, char **dir, char **manifest, struct wn_error *err)
{
	struct stat st;
	const char *slash;

	if (stat(target, &st) != 0)
		return wn_error_errno(err, errno, target, "cannot open");
	if (S_ISDIR(st.st_mode)) {
		*dir = strdup(target);
		*manifest = strdup(WN_DS_MANIFEST);
	} else {
		slash = strrchr(target, '/');
		if (!slash) {
			*dir = strdup(".");
			*manifest = strdup(target);
		} else {
			*dir = slash == target ? strdup("/")
			                       : strndup(target, (size_t)(slash - target));
			*manifest = strdup(slash + 1);
		}
	}
	if (!*dir || !*manifest)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
	return WN_OK;
}

int wn_verify(const char *target, const struct wn_verify_opts *o,
              struct wn_verify_report *rep, struct wn_error *err)
{
	struct plist pl = { 0 };
	struct verify v = { 0 };
	struct vshard *sh = NULL;
	const char **listed = NULL;
	char *manifest_name = NULL, *text = NULL, *realdir = NULL;
	json_t *m = NULL, *shards, *e;
	json_error_t jerr;
	size_t len = 0, n = 0, i;
	int dirfd = -1, errnum, rc;

	memset(rep, 0, sizeof *rep);
	rc = locate(target, &rep->dir, &manifest_name, err);
	if (rc < 0)
		goto out;
	v.deep = o->deep;
	dirfd = open(rep->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	realdir = dirfd < 0 ? NULL : realpath(rep->dir, NULL);
	if (!realdir) {
		rc = wn_error_errno(err, errno, rep->dir, "cannot open");
		goto out;
	}
	text = read_file_at(dirfd, manifest_name, MANIFEST_MAX, &len, &errnum);
	if (!text) {
		if (errnum == ENOMEM)
			pl.oom = 1;
		else
			padd(&pl, manifest_name, "manifest", "cannot read: %s", strerror(errnum));
		goto report;
	}
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m) {
		padd(&pl, manifest_name, "manifest", "line %d: %s", jerr.line, jerr.text);
		goto report;
	}
	if (!json_is_object(m) ||
	    !json_is_string(json_object_get(m, "format")) ||
	    strcmp(json_string_value(json_object_get(m, "format")), WN_DS_FORMAT) != 0) {
		padd(&pl, manifest_name, "manifest", "not a winnow dataset manifest");
		goto report;
	}
	if (!json_is_integer(json_object_get(m, "version")) ||
	    json_integer_value(json_object_get(m, "version")) != WN_DS_VERSION) {
		padd(&pl, manifest_name, "manifest", "unsupported version (this winnow reads %d)",
		     WN_DS_VERSION);
		goto report;
	}
	shards = json_object_get(m, "shards");
	if (!json_is_array(shards)) {
		padd(&pl, manifest_name, "manifest", "no shards array");
		goto report;
	}
	n = json_array_size(shards);
	rep->shards = n;
	sh = calloc(n + 1, sizeof *sh);
	listed = calloc(n + 1, sizeof *listed);
	v.tasks = calloc(2 * n + 1, sizeof *v.tasks);
	if (!sh || !listed || !v.tasks) {
		pl.oom = 1;
		goto report;
	}
	json_array_foreach(shards, i, e) {
		parse_shard(manifest_name, e, i, &sh[i], &pl);
		if (sh[i].path)
			listed[i] = sh[i].path;
		else
			listed[i] = "";
	}
	qsort(listed, n, sizeof *listed, str_cmp);
	for (i = 1; i < n; i++)
		if (listed[i][0] && strcmp(listed[i], listed[i - 1]) == 0)
			padd(&pl, listed[i], "manifest", "listed more than once");
	check_counts(manifest_name, m, sh, n, &pl);
	check_sums(manifest_name, m, dirfd, sh, n, &pl);
	json_array_foreach(shards, i, e) {
		if (!sh[i].ok)
			continue;
		resolve(&sh[i], json_object_get(e, "path"), rep->dir, realdir, &pl);
		if (!sh[i].real)
			continue;
		if (o->deep && sh[i].jsonl && o->threads > 1) {
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .decode = 1 };
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .hash = 1 };
		} else {
			/* One thread: one read does both. */
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .hash = 1,
			                                     .decode = o->deep && sh[i].jsonl };
		}
	}
	{
		int dfd = openat(dirfd, WN_DS_DATA,
		                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		struct stat st;

		if (dfd >= 0) {
			walk_extra(dfd, WN_DS_DATA, 0, listed, n, &pl);
			close(dfd);
		} else if (fstatat(dirfd, WN_DS_DATA, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		           S_ISLNK(st.st_mode)) {
			padd(&pl, WN_DS_DATA, "unsafe-path", "a symbolic link, not followed");
		} else if (errno != ENOENT && errno != ENOTDIR) {
			padd(&pl, WN_DS_DATA, "io", "cannot list: %s", strerror(errno));
		}
	}
	pthread_mutex_init(&v.lock, NULL);
	rc = run_tasks(&v, o->threads);
	pthread_mutex_destroy(&v.lock);
	if (rc < 0)
		pl.oom = 1;
	for (i = 0; i < v.ntasks; i++) {
		rep->bytes += v.tasks[i].bytes;
		rep->records += v.tasks[i].records;
		plist_take(&pl, &v.tasks[i].problems);
	}
report:
	if (pl.oom) {
		rc = wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
		goto out;
	}
	if (pl.n)
		qsort(pl.v, pl.n, sizeof *pl.v, problem_cmp);
	rep->problems = pl.v;
	rep->nproblems = pl.n;
	memset(&pl, 0, sizeof pl);
	rc = rep->nproblems ? wn_error_set(err, WN_EVERIFY, NULL, 0, "%s: %zu problem%s found",
	                                   rep->dir, rep->nproblems,
	                                   rep->nproblems == 1 ? "" : "s")
	                    : WN_OK;
out:
	for (i = 0; v.tasks && i < v.ntasks; i++)
		plist_release(&v.tasks[i].problems);
	for (i = 0; sh && i < n; i++)
		free(sh[i].real);
	plist_release(&pl);
	free(v.tasks);
	free(listed);
	free(sh);
	json_decref(m);
	free(text);
	free(realdir);
	free(manifest_name);
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0 && rc != WN_EVERIFY) {
		free(rep->dir);
		rep->dir = NULL;
	}
	return rc;
}
