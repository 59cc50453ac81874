/*
 * ds_verify.c - check a dataset directory against its manifest.
 *
 * Every problem is reported, none stops the check: a shard is missing,
 * truncated, of another size or hash; a file in data/ is not listed; a
 * manifest path would leave the directory; SHA256SUMS disagrees.  Deep mode
 * also decodes each JSONL shard and compares the raw size, raw hash and
 * record count; for the token formats it checks the structure of every file
 * (a Megatron index parses, its offsets follow its lengths; a datatrove
 * index grows and ends at the token count; every token id is in the
 * vocabulary) and its counts against the manifest.
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
#include <inttypes.h>
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

/* What deep mode checks in a file. */
enum deep {
	DEEP_NONE,
	DEEP_JSONL,    /* decode: records, raw_bytes, raw_xxh3_128 */
	DEEP_TOKENS,   /* every id below the vocabulary size; nanoGPT's end-of-text */
	DEEP_IDX,      /* a Megatron index */
	DEEP_DS_INDEX, /* a datatrove index */
	DEEP_DS_META,  /* datatrove's metadata */
};

/* The top of a token manifest (version 2). */
struct vtok {
	enum wn_shard_format format;
	const struct wn_ds_format *fmt;
	enum wn_ds_dtype dtype;
	unsigned width;
	uint64_t vocab_size, eot;
	const char *tokenizer_name;
};

struct vshard {
	const char *path; /* borrowed from the parsed manifest */
	const char *split;
	enum deep deep;
	const struct vtok *tok; /* token formats */
	int role;               /* token formats: index in tok->fmt->files, or -1 */
	uint64_t records, bytes, raw_bytes, tokens; /* records: documents for tokens */
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
	struct wn_buf meta; /* the datatrove metadata expected */
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

/* ---- token files ------------------------------------------------------------ */

/* The state of a scan over the values of a token file or a datatrove index,
 * or of the comparison of a metadata file with what it should say. */
struct scan {
	unsigned char carry[8]; /* a value cut by the end of a read */
	size_t ncarry;
	uint64_t n;       /* values seen */
	uint64_t last;    /* the last one */
	uint64_t eots;    /* nanoGPT: end-of-text tokens */
	int found;        /* the first bad value: */
	uint64_t bad_at, bad, bad_prev;
	uint64_t off;     /* metadata: bytes compared */
	int differs;
};

static uint64_t get_le(const unsigned char *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = width; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* One value of a token file or datatrove index. */
static void scan_value(struct scan *sc, const struct vshard *sh, uint64_t v)
{
	if (sh->deep == DEEP_TOKENS) {
		if (v >= sh->tok->vocab_size && !sc->found) {
			sc->found = 1;
			sc->bad_at = sc->n;
			sc->bad = v;
		}
		sc->eots += sh->tok->format == WN_SHARD_NANOGPT && v == sh->tok->eot;
	} else if (sc->n > 0 && v < sc->last && !sc->found) {
		sc->found = 1;
		sc->bad_at = sc->n;
		sc->bad = v;
		sc->bad_prev = sc->last;
	}
	sc->last = v;
	sc->n++;
}

static void scan_chunk(struct worker *w, struct scan *sc, const struct vshard *sh,
                       const unsigned char *p, size_t n)
{
	unsigned width = sh->deep == DEEP_TOKENS ? sh->tok->width : 8;
	size_t i = 0;

	if (sh->deep == DEEP_DS_META) {
		const struct wn_buf *m = &w->meta;

		if (sc->off + n > m->len || memcmp(m->data + sc->off, p, n) != 0)
			sc->differs = 1;
		sc->off += n;
		return;
	}
	if (sc->ncarry) {
		while (sc->ncarry < width && i < n)
			sc->carry[sc->ncarry++] = p[i++];
		if (sc->ncarry < width)
			return;
		scan_value(sc, sh, get_le(sc->carry, width));
		sc->ncarry = 0;
	}
	if (width == 2) {
		/* The common case, without a call per token. */
		uint64_t vocab = sh->tok->vocab_size, eot = sh->tok->eot;
		int nano = sh->tok->format == WN_SHARD_NANOGPT;

		for (; i + 2 <= n; i += 2) {
			uint32_t v = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8;

			if (v >= vocab && !sc->found) {
				sc->found = 1;
				sc->bad_at = sc->n;
				sc->bad = v;
			}
			sc->eots += nano && v == eot;
			sc->last = v;
			sc->n++;
		}
	} else {
		for (; i + width <= n; i += width)
			scan_value(sc, sh, get_le(p + i, width));
	}
	memcpy(sc->carry, p + i, n - i);
	sc->ncarry = n - i;
}

static void scan_report(struct worker *w, struct task *t, const struct scan *sc)
{
	const struct vshard *sh = t->sh;
	const struct vtok *tok = sh->tok;

	switch (sh->deep) {
	case DEEP_TOKENS:
		if (sc->ncarry)
			padd(&t->problems, sh->path, "tokens",
			     "%" PRIu64 " bytes: not a whole number of %s tokens", sh->bytes,
			     wn_ds_dtype_name(tok->dtype));
		if (sc->found)
			padd(&t->problems, sh->path, "tokens",
			     "token id %" PRIu64 " (token %" PRIu64 ") is not below the vocabulary "
			     "size %" PRIu64, sc->bad, sc->bad_at, tok->vocab_size);
		if (tok->format != WN_SHARD_NANOGPT)
			break;
		if (sc->eots < sh->records)
			padd(&t->problems, sh->path, "documents",
			     "%" PRIu64 " end-of-text tokens for %" PRIu64 " documents", sc->eots,
			     sh->records);
		else if (sh->records > 0 && sc->last != tok->eot)
			padd(&t->problems, sh->path, "documents",
			     "the last document does not end with the end-of-text token %" PRIu64,
			     tok->eot);
		/* The documents whose end is seen: the file has no other marks. */
		t->records = sc->eots < sh->records ? sc->eots : sh->records;
		break;
	case DEEP_DS_INDEX:
		t->records = sc->n;
		if (sc->ncarry) {
			padd(&t->problems, sh->path, "index",
			     "%" PRIu64 " bytes: not a whole number of 8-byte document ends",
			     sh->bytes);
			break;
		}
		if (sc->found)
			padd(&t->problems, sh->path, "index",
			     "document %" PRIu64 " ends at token %" PRIu64 ", before the previous "
			     "one (%" PRIu64 ")", sc->bad_at, sc->bad, sc->bad_prev);
		if (sc->n != sh->records)
			padd(&t->problems, sh->path, "documents",
			     "the index ends %" PRIu64 " documents, the manifest says %" PRIu64,
			     sc->n, sh->records);
		if ((sc->n ? sc->last : 0) != sh->tokens)
			padd(&t->problems, sh->path, "tokens",
			     "the last document ends at token %" PRIu64 ", the manifest says %"
			     PRIu64 " tokens", sc->n ? sc->last : 0, sh->tokens);
		break;
	case DEEP_DS_META:
		if (sc->differs || sc->off != w->meta.len)
			padd(&t->problems, sh->path, "metadata",
			     "does not give the tokenizer, token size (%u) and token count (%"
			     PRIu64 ") of the manifest", tok->width, sh->tokens);
		break;
	default:
		break;
	}
}
static int pread_full(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? errno : EIO;
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Entries of a Megatron index read at a time: their lengths and offsets
 * (12 bytes each) fit in READ_CHUNK. */
#define IDX_BATCH ((size_t)65536)

/* The arrays of a Megatron index whose header was checked: lengths that
 * are not negative, offsets that follow them, document indices from 0 to S
 * that never decrease.  Returns the token count, or reports the first
 * problem and returns -1. */
static int64_t idx_arrays(struct worker *w, struct task *t, int fd, uint64_t s, uint64_t d)
{
	const struct vshard *sh = t->sh;
	unsigned char *lens = w->buf, *ptrs = w->buf + 4 * IDX_BATCH;
	uint64_t next = 0, total = 0, prev = 0;
	int e;

	for (uint64_t i = 0; i < s; i += IDX_BATCH) {
		size_t k = s - i < IDX_BATCH ? (size_t)(s - i) : IDX_BATCH;

		e = pread_full(fd, lens, 4 * k, WN_DS_IDX_HEADER + 4 * i);
		if (!e)
			e = pread_full(fd, ptrs, 8 * k, WN_DS_IDX_HEADER + 4 * s + 8 * i);
		if (e)
			goto io;
		for (size_t j = 0; j < k; j++) {
			uint64_t len = get_le(lens + 4 * j, 4), ptr = get_le(ptrs + 8 * j, 8);

			if (len > INT32_MAX) {
				padd(&t->problems, sh->path, "index",
				     "sequence %" PRIu64 " has a negative length", i + j);
				return -1;
			}
			if (ptr != next) {
				padd(&t->problems, sh->path, "index",
				     "sequence %" PRIu64 " starts at byte %" PRIu64 ", the ones "
				     "before it end at %" PRIu64, i + j, ptr, next);
				return -1;
			}
			next += len * sh->tok->width;
			total += len;
		}
	}
	for (uint64_t i = 0; i < d; i += IDX_BATCH) {
		size_t k = d - i < IDX_BATCH ? (size_t)(d - i) : IDX_BATCH;

		e = pread_full(fd, ptrs, 8 * k, WN_DS_IDX_HEADER + 12 * s + 8 * i);
		if (e)
			goto io;
		for (size_t j = 0; j < k; j++) {
			uint64_t v = get_le(ptrs + 8 * j, 8);

			if ((i + j == 0 && v != 0) || v < prev || v > s) {
				padd(&t->problems, sh->path, "index",
				     "document index %" PRIu64 " is %" PRIu64 ": they go from 0 "
				     "to the %" PRIu64 " sequences and never decrease", i + j, v,
				     s);
				return -1;
			}
			prev = v;
		}
	}
	if (prev != s) {
		padd(&t->problems, sh->path, "index",
		     "the last document index is %" PRIu64 ", not the %" PRIu64 " sequences",
		     prev, s);
		return -1;
	}
	return (int64_t)total;
io:
	padd(&t->problems, sh->path, "io", "read failed: %s", strerror(e));
	return -1;
}

/* A Megatron index: its header, its arrays, and its counts against the
 * manifest's.  The file's size is the manifest's (checked on opening). */
static void check_idx(struct worker *w, struct task *t, int fd)
{
	const struct vshard *sh = t->sh;
	unsigned char h[WN_DS_IDX_HEADER];
	uint64_t size = sh->bytes, version, s, d;
	unsigned code, want = wn_ds_idx_code(sh->tok->dtype);
	int64_t total;
	int e;

	if (size < WN_DS_IDX_HEADER) {
		padd(&t->problems, sh->path, "index",
		     "%" PRIu64 " bytes: shorter than the %d-byte header", size, WN_DS_IDX_HEADER);
		return;
	}
	e = pread_full(fd, h, sizeof h, 0);
	if (e) {
		padd(&t->problems, sh->path, "io", "read failed: %s", strerror(e));
		return;
	}
	version = get_le(h + 9, 8);
	code = h[17];
	s = get_le(h + 18, 8);
	d = get_le(h + 26, 8);
	if (memcmp(h, WN_DS_IDX_MAGIC, WN_DS_IDX_MAGIC_LEN) != 0) {
		padd(&t->problems, sh->path, "index", "no MMIDIDX magic");
		return;
	}
	if (version != 1) {
		padd(&t->problems, sh->path, "index", "version %" PRIu64 ", not 1", version);
		return;
	}
	if (code != want) {
		padd(&t->problems, sh->path, "index",
		     "dtype code %u, but %s (the manifest's dtype) is %u", code,
		     wn_ds_dtype_name(sh->tok->dtype), want);
		return;
	}
	/* Bounded first, so the size below cannot overflow. */
	if (s > size / 12 || d > size / 8 || d == 0 ||
	    WN_DS_IDX_HEADER + 12 * s + 8 * d != size) {
		padd(&t->problems, sh->path, "index",
		     "%" PRIu64 " bytes do not hold the %" PRIu64 " sequences and %" PRIu64
		     " document indices its header announces", size, s, d);
		return;
	}
	total = idx_arrays(w, t, fd, s, d);
	if (total < 0)
		return;
	t->records = d - 1;
	if ((uint64_t)total != sh->tokens)
		padd(&t->problems, sh->path, "tokens",
		     "the index holds %" PRId64 " tokens, the manifest says %" PRIu64, total,
		     sh->tokens);
	/* winnow writes one sequence per document. */
	if (s != sh->records || d - 1 != sh->records)
		padd(&t->problems, sh->path, "documents",
		     "the index has %" PRIu64 " sequences in %" PRIu64 " documents, the "
		     "manifest says %" PRIu64 " documents", s, d - 1, sh->records);
}

/* One pass over a shard's file: hash it, decode it, or both. */
static void shard_task(struct worker *w, struct task *t)
{
	struct decoding d = { .last = '\n' };
	struct scan sc = { 0 };
	struct stat st;
	uint64_t got = 0;
	enum deep deep = t->decode ? t->sh->deep : DEEP_NONE;
	/* A file that cannot be opened or has the wrong size is reported by
	 * the task that hashes it, once. */
	int fd = open_shard(t, &st, t->hash);
	ssize_t r = 0;

	if (fd < 0)
		return;
	if (t->hash && EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
		t->problems.oom = 1;
		goto out;
	}
	XXH3_128bits_reset(w->xxh);
	XXH3_128bits_reset(w->raw_xxh);
	if (deep == DEEP_JSONL) {
		if (!w->dctx)
			w->dctx = ZSTD_createDCtx();
		if (!w->dctx) {
			t->problems.oom = 1;
			goto out;
		}
		ZSTD_DCtx_reset(w->dctx, ZSTD_reset_session_only);
	} else if (deep == DEEP_DS_META) {
		wn_buf_reset(&w->meta);
		if (wn_ds_datatrove_metadata(&w->meta, t->sh->tok->tokenizer_name,
		                             t->sh->tok->width, t->sh->tokens) < 0) {
			t->problems.oom = 1;
			goto out;
		}
	}
	/* A Megatron index is checked by offset, after any hashing. */
	if (t->hash || (deep != DEEP_NONE && deep != DEEP_IDX)) {
		do {
			r = read_some(fd, w->buf, READ_CHUNK);
			if (r < 0)
				break;
			got += (uint64_t)r;
			if (t->hash) {
				EVP_DigestUpdate(w->sha, w->buf, (size_t)r);
				XXH3_128bits_update(w->xxh, w->buf, (size_t)r);
			}
			if (deep == DEEP_JSONL && !d.bad)
				decode_chunk(w, &d, w->buf, (size_t)r, r == 0);
			else if (deep != DEEP_JSONL && deep != DEEP_IDX && r > 0)
				scan_chunk(w, &sc, t->sh, w->buf, (size_t)r);
		} while (r > 0 && (t->hash || !d.bad));
	}
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
	if (deep == DEEP_JSONL)
		decode_report(w, t, &d);
	else if (deep == DEEP_IDX)
		check_idx(w, t, fd);
	else if (deep != DEEP_NONE)
		scan_report(w, t, &sc);
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
	wn_buf_init(&w->meta, WN_BUF_UNLIMITED);
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
	wn_buf_release(&w->meta);
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
char *wn_ds_read_file_at(int dirfd, const char *name, off_t max, size_t *len, int *errnum)
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

/* The fields of a token file's entry (version 2). */
static const char *parse_token_entry(json_t *e, struct vshard *sh, const char *format)
{
	const struct vtok *tok = sh->tok;
	const char *role = json_string_value(json_object_get(e, "role"));
	const char *dtype = json_string_value(json_object_get(e, "dtype"));
	size_t plen = strlen(sh->path);

	if (strcmp(format, tok->fmt->name) != 0)
		return "format is not the dataset's shard_format";
	if (!role)
		return "no role";
	for (size_t r = 0; r < tok->fmt->nfiles; r++)
		if (strcmp(role, tok->fmt->files[r].role) == 0)
			sh->role = (int)r;
	if (sh->role < 0)
		return "unknown role";
	if (!dtype || strcmp(dtype, wn_ds_dtype_name(tok->dtype)) != 0)
		return "dtype is not the dataset's";
	if (get_u64(e, "documents", &sh->records) != 0)
		return "no documents";
	if (get_u64(e, "tokens", &sh->tokens) != 0)
		return "no tokens";
	{
		const char *ext = tok->fmt->files[sh->role].ext;
		size_t elen = strlen(ext);

		if (plen <= elen || strcmp(sh->path + plen - elen, ext) != 0)
			return "the path does not end as its role's files do";
	}
	if (sh->role == 0)
		sh->deep = DEEP_TOKENS;
	else if (tok->format == WN_SHARD_MEGATRON)
		sh->deep = DEEP_IDX;
	else
		sh->deep = sh->role == 1 ? DEEP_DS_INDEX : DEEP_DS_META;
	return NULL;
}

/* Read one entry of "shards"; a malformed one is reported and not used. */
static void parse_shard(const char *mname, json_t *e, size_t i, const struct vtok *tok,
                        struct vshard *sh, struct plist *pl)
{
	json_t *jpath = json_object_get(e, "path");
	const char *what = NULL, *format;

	memset(sh, 0, sizeof *sh);
	sh->tok = tok;
	sh->role = -1;
	if (!json_is_string(jpath)) {
		padd(pl, mname, "manifest", "shards[%zu]: no path", i);
		return;
	}
	sh->path = json_string_value(jpath);
	sh->split = json_string_value(json_object_get(e, "split"));
	format = json_string_value(json_object_get(e, "format"));
	if (!tok && format && strcmp(format, WN_DS_SHARD_FORMAT) == 0)
		sh->deep = DEEP_JSONL;
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
	else if (tok)
		what = parse_token_entry(e, sh, format);
	else if (sh->deep == DEEP_JSONL && get_u64(e, "records", &sh->records) != 0)
		what = "no records";
	else if (sh->deep == DEEP_JSONL && get_u64(e, "raw_bytes", &sh->raw_bytes) != 0)
		what = "no raw_bytes";
	else if (sh->deep == DEEP_JSONL && get_hex(e, "raw_xxh3_128", sh->raw_xxh3, 16) != 0)
		what = "raw_xxh3_128 is not 32 lowercase hex digits";
	if (what) {
		padd(pl, sh->path, "manifest", "shards[%zu]: %s", i, what);
		return;
	}
	sh->ok = 1;
}

/* The top of a version 2 manifest; NULL when it is fine. */
static const char *parse_token_top(json_t *m, struct vtok *tok)
{
	const char *format = json_string_value(json_object_get(m, "shard_format"));
	const char *dtype = json_string_value(json_object_get(m, "dtype"));
	json_t *t = json_object_get(m, "tokenizer");

	memset(tok, 0, sizeof *tok);
	if (!format || wn_ds_format_named(format, &tok->format) != 0 ||
	    tok->format == WN_SHARD_JSONL)
		return "shard_format is not megatron, datatrove or nanogpt";
	tok->fmt = wn_ds_format_of(tok->format);
	if (!dtype || wn_ds_dtype_named(tok->format, dtype, &tok->dtype) != 0)
		return "dtype is not one of the types its shard_format uses";
	tok->width = wn_ds_dtype_size(tok->dtype);
	tok->tokenizer_name = json_string_value(json_object_get(t, "name"));
	if (!json_is_object(t) || !tok->tokenizer_name ||
	    !json_is_string(json_object_get(t, "sha256")))
		return "no tokenizer name and sha256";
	if (get_u64(t, "vocab_size", &tok->vocab_size) != 0 || tok->vocab_size == 0)
		return "no tokenizer vocab_size";
	if (tok->format == WN_SHARD_NANOGPT &&
	    (get_u64(m, "eot", &tok->eot) != 0 || tok->eot >= tok->vocab_size))
		return "no eot below the vocabulary size";
	return NULL;
}

static const char *stem_of(const struct vshard *sh, size_t *len)
{
	*len = strlen(sh->path) - strlen(sh->tok->fmt->files[sh->role].ext);
	return sh->path;
}

static int stem_cmp(const void *a, const void *b)
{
	const struct vshard *x = *(const struct vshard *const *)a;
	const struct vshard *y = *(const struct vshard *const *)b;
	size_t lx, ly;
	const char *sx = stem_of(x, &lx), *sy = stem_of(y, &ly);
	int c = memcmp(sx, sy, lx < ly ? lx : ly);

	if (c == 0 && lx != ly)
		c = lx < ly ? -1 : 1;
	return c ? c : x->role - y->role;
}

/* 1 when the size of a token shard's file follows from the shard's counts
 * (a metadata file may have any). */
static int size_ok(const struct vshard *sh)
{
	const struct vtok *tok = sh->tok;

	if (sh->role == 0)
		return sh->tokens <= UINT64_MAX / tok->width &&
		       sh->bytes == sh->tokens * tok->width &&
		       (tok->format != WN_SHARD_NANOGPT || sh->records <= sh->tokens);
	if (tok->format == WN_SHARD_MEGATRON)
		return sh->records <= (UINT64_MAX - 64) / 20 &&
		       sh->bytes == wn_ds_idx_size(sh->records);
	if (sh->role == 1)
		return sh->records <= UINT64_MAX / 8 && sh->bytes == 8 * sh->records;
	return 1;
}

/* The files of each token shard: all of its roles listed, with the same
 * split and counts, and sizes that follow from them. */
static void check_token_shards(struct vshard *sh, size_t n, struct plist *pl)
{
	struct vshard **v = calloc(n + 1, sizeof *v);
	size_t k = 0;

	if (!v) {
		pl->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (sh[i].ok)
			v[k++] = &sh[i];
	qsort(v, k, sizeof *v, stem_cmp);
	for (size_t i = 0, j; i < k; i = j) {
		const struct wn_ds_format *fmt = v[i]->tok->fmt;
		size_t stem_len;
		const char *stem = stem_of(v[i], &stem_len);
		int seen[WN_DS_MAX_FILES] = { 0 };

		for (j = i; j < k; j++) {
			size_t l;
			const char *st = stem_of(v[j], &l);

			if (l != stem_len || memcmp(st, stem, l) != 0)
				break;
			seen[v[j]->role] = 1;
			if (strcmp(v[j]->split, v[i]->split) != 0 ||
			    v[j]->records != v[i]->records || v[j]->tokens != v[i]->tokens)
				padd(pl, v[j]->path, "manifest",
				     "its split, documents or tokens are not those of %s",
				     v[i]->path);
			if (!size_ok(v[j]))
				padd(pl, v[j]->path, "manifest",
				     "%" PRIu64 " bytes do not fit its %" PRIu64 " documents and %"
				     PRIu64 " tokens", v[j]->bytes, v[j]->records, v[j]->tokens);
		}
		for (size_t r = 0; r < fmt->nfiles; r++)
			if (!seen[r])
				padd(pl, v[i]->path, "manifest",
				     "its shard has no %s file (%.*s%s) listed", fmt->files[r].role,
				     (int)stem_len, stem, fmt->files[r].ext);
	}
	free(v);
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

/* What an entry adds to its split's counts and the totals, in the order
 * of the fields below. */
static const char *const v1_fields[] = { "shards", "records", "bytes", "raw_bytes" };
static const char *const v2_fields[] = { "shards", "files", "documents", "tokens", "bytes" };
#define MAX_FIELDS 5

static size_t entry_counts(const struct vshard *sh, uint64_t c[MAX_FIELDS])
{
	if (!sh->tok) {
		c[0] = 1;
		c[1] = sh->records;
		c[2] = sh->bytes;
		c[3] = sh->raw_bytes;
		return 4;
	}
	/* A token shard counts once, by its token file. */
	c[0] = sh->role == 0;
	c[1] = 1;
	c[2] = sh->role == 0 ? sh->records : 0;
	c[3] = sh->role == 0 ? sh->tokens : 0;
	c[4] = sh->bytes;
	return 5;
}

/* Check the manifest's counts against the sums of its shards. */
static void check_counts(const char *mname, json_t *m, const struct vtok *tok,
                         struct vshard *sh, size_t n, struct plist *pl)
{
	json_t *splits = json_object_get(m, "splits"), *totals = json_object_get(m, "totals");
	const char *const *fields = tok ? v2_fields : v1_fields;
	size_t nf = tok ? 5 : 4;
	uint64_t tsum[MAX_FIELDS] = { 0 }, c[MAX_FIELDS];
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
		uint64_t sum[MAX_FIELDS] = { 0 };

		for (size_t i = 0; i < n; i++) {
			if (!sh[i].ok || strcmp(sh[i].split, name) != 0)
				continue;
			entry_counts(&sh[i], c);
			for (size_t f = 0; f < nf; f++)
				sum[f] += c[f];
		}
		for (size_t f = 0; f < nf; f++) {
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
		entry_counts(&sh[i], c);
		for (size_t f = 0; f < nf; f++)
			tsum[f] += c[f];
	}
	for (size_t f = 0; f < nf; f++) {
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
	have = wn_ds_read_file_at(dirfd, WN_DS_SUMS, SUMS_MAX, &havelen, &errnum);
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
	struct vtok tokinfo, *tok = NULL;
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
	text = wn_ds_read_file_at(dirfd, manifest_name, MANIFEST_MAX, &len, &errnum);
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
	    (json_integer_value(json_object_get(m, "version")) != WN_DS_VERSION &&
	     json_integer_value(json_object_get(m, "version")) != WN_DS_VERSION_TOKENS)) {
		padd(&pl, manifest_name, "manifest",
		     "unsupported version (this winnow reads %d and %d)", WN_DS_VERSION,
		     WN_DS_VERSION_TOKENS);
		goto report;
	}
	if (json_integer_value(json_object_get(m, "version")) == WN_DS_VERSION_TOKENS) {
		const char *why = parse_token_top(m, &tokinfo);

		if (why) {
			padd(&pl, manifest_name, "manifest", "%s", why);
			goto report;
		}
		tok = &tokinfo;
	}
	shards = json_object_get(m, "shards");
	if (!json_is_array(shards)) {
		padd(&pl, manifest_name, "manifest", "no shards array");
		goto report;
	}
	n = json_array_size(shards);
	sh = calloc(n + 1, sizeof *sh);
	listed = calloc(n + 1, sizeof *listed);
	v.tasks = calloc(2 * n + 1, sizeof *v.tasks);
	if (!sh || !listed || !v.tasks) {
		pl.oom = 1;
		goto report;
	}
	json_array_foreach(shards, i, e) {
		parse_shard(manifest_name, e, i, tok, &sh[i], &pl);
		if (sh[i].path)
			listed[i] = sh[i].path;
		else
			listed[i] = "";
		/* A token shard is several files: counted by its token file. */
		rep->shards += !tok || sh[i].role == 0;
	}
	qsort(listed, n, sizeof *listed, str_cmp);
	for (i = 1; i < n; i++)
		if (listed[i][0] && strcmp(listed[i], listed[i - 1]) == 0)
			padd(&pl, listed[i], "manifest", "listed more than once");
	if (tok)
		check_token_shards(sh, n, &pl);
	check_counts(manifest_name, m, tok, sh, n, &pl);
	check_sums(manifest_name, m, dirfd, sh, n, &pl);
	json_array_foreach(shards, i, e) {
		if (!sh[i].ok)
			continue;
		resolve(&sh[i], json_object_get(e, "path"), rep->dir, realdir, &pl);
		if (!sh[i].real)
			continue;
		if (o->deep && sh[i].deep != DEEP_NONE && o->threads > 1) {
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .decode = 1 };
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .hash = 1 };
		} else {
			/* One thread: one read does both. */
			v.tasks[v.ntasks++] = (struct task){ .sh = &sh[i], .hash = 1,
			                                     .decode = o->deep &&
			                                               sh[i].deep != DEEP_NONE };
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
