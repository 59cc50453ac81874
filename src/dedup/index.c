/*
 * index.c - the saved state of exact and line-level dedup: ids, the file
 * format (see index.h), atomic replacement.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "dedup/index.h"
#include "winnow/io.h"

#define FLAG_IDS 1u
#define MAX_PARAMS 4096

/* ---- the index in memory ------------------------------------------------------- */

static void index_zero(struct wn_dd_index *x)
{
	memset(x, 0, sizeof(*x));
	wn_buf_init(&x->ids, WN_BUF_UNLIMITED);
	wn_dd_set_init(&x->set, 0);
}

int wn_dd_index_init(struct wn_dd_index *x, enum wn_dd_kind kind, const char *params,
                     int with_ids)
{
	index_zero(x);
	x->kind = kind;
	x->with_ids = kind == WN_DD_SET && with_ids;
	wn_dd_set_init(&x->set, x->with_ids);
	x->params = strdup(params);
	return x->params ? WN_OK : WN_ENOMEM;
}

void wn_dd_index_release(struct wn_dd_index *x)
{
	free(x->params);
	wn_dd_set_release(&x->set);
	wn_buf_release(&x->ids);
	wn_dd_bloom_release(&x->bloom);
	index_zero(x);
}

int wn_dd_index_add_id(struct wn_dd_index *x, const char *id, size_t n, uint64_t *ref)
{
	if (n > WN_DD_ID_MAX)
		return WN_ETOOBIG;
	uint32_t len = (uint32_t)n;
	*ref = (uint64_t)x->ids.len + 1;
	WN_TRY(wn_buf_grow(&x->ids, sizeof(len) + n));
	wn_buf_add(&x->ids, &len, sizeof(len));
	wn_buf_add(&x->ids, id, n);
	return WN_OK;
}

void wn_dd_index_drop_id(struct wn_dd_index *x, uint64_t ref)
{
	if (ref && ref - 1 <= x->ids.len)
		wn_buf_truncate(&x->ids, (size_t)(ref - 1));
}

int wn_dd_index_id(const struct wn_dd_index *x, uint64_t ref, const char **id, size_t *n)
{
	if (ref == 0 || ref - 1 + sizeof(uint32_t) > x->ids.len)
		return 0;
	uint32_t len;
	memcpy(&len, x->ids.data + ref - 1, sizeof(len));
	if (len == 0)
		return 0;
	*id = x->ids.data + ref - 1 + sizeof(len);
	*n = len;
	return 1;
}

int wn_dd_index_keep_ids(struct wn_dd_index *x)
{
	if (x->kind != WN_DD_SET || x->with_ids)
		return WN_OK;
	/* the values live beside the digests: lay the set out again with them */
	struct wn_dd_set with;
	wn_dd_set_init(&with, 1);
	int s = wn_dd_set_reserve(&with, x->set.n);
	size_t pos = 0;
	struct wn_dd_digest d;
	while (s >= 0 && wn_dd_set_next(&x->set, &pos, &d, NULL))
		s = wn_dd_set_append(&with, d, 0);
	if (s < 0) {
		wn_dd_set_release(&with);
		return s;
	}
	wn_dd_set_release(&x->set);
	x->set = with;
	x->with_ids = 1;
	return WN_OK;
}

uint64_t wn_dd_index_entries(const struct wn_dd_index *x)
{
	return x->kind == WN_DD_BLOOM ? x->bloom.added : x->set.n;
}

size_t wn_dd_index_memory(const struct wn_dd_index *x)
{
	if (x->kind == WN_DD_BLOOM)
		return wn_dd_bloom_memory(&x->bloom);
	return wn_dd_set_memory(&x->set) + x->ids.cap;
}

/* ---- atomic replacement ---------------------------------------------------------- */

int wn_dd_atomic_open(struct wn_dd_atomic *a, const char *path, struct wn_error *err)
{
	a->path = path;
	a->fd = -1;
	if (asprintf(&a->tmp, "%s.tmp.XXXXXX", path) < 0) {
		a->tmp = NULL;
		return WN_ENOMEM;
	}
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		int e = errno;
		free(a->tmp);
		a->tmp = NULL;
		return wn_error_errno(err, e, path, "cannot create a temporary file beside it");
	}
	/* mkstemp makes the file 0600; an index is as readable as any output */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(a->fd, 0666 & ~mask);
	return WN_OK;
}

int wn_dd_atomic_commit(struct wn_dd_atomic *a, struct wn_error *err)
{
	int e = 0;
	if (fsync(a->fd) != 0)
		e = errno;
	if (close(a->fd) != 0 && !e)
		e = errno;
	a->fd = -1;
	if (!e && rename(a->tmp, a->path) != 0)
		e = errno;
	if (e) {
		wn_dd_atomic_abort(a);
		return wn_error_errno(err, e, a->path, "cannot write");
	}
	free(a->tmp);
	a->tmp = NULL;
	/* make the rename itself durable */
	char *copy = strdup(a->path);
	if (copy) {
		int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(copy);
	}
	return WN_OK;
}

void wn_dd_atomic_abort(struct wn_dd_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp) {
		unlink(a->tmp);
		free(a->tmp);
		a->tmp = NULL;
	}
}

/* ---- writing: buffered, hashed ------------------------------------------------------ */

struct writer {
	int fd;
	const char *name;
	struct wn_error *err;
	XXH3_state_t *h;
	unsigned char buf[1 << 16];
	size_t len;
	int status;
};

static void w_flush(struct writer *w)
{
	if (w->status >= 0 && w->len)
		w->status = wn_write_all(w->fd, w->buf, w->len, w->name, w->err);
	w->len = 0;
}

static void w_put(struct writer *w, const void *p, size_t n)
{
	XXH3_128bits_update(w->h, p, n);
	const unsigned char *c = p;
	while (n > 0) {
		if (w->len == sizeof(w->buf))
			w_flush(w);
		size_t k = sizeof(w->buf) - w->len < n ? sizeof(w->buf) - w->len : n;
		memcpy(w->buf + w->len, c, k);
		w->len += k;
		c += k;
		n -= k;
	}
}

static void w_u32(struct writer *w, uint32_t v)
{
	unsigned char b[4];
	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	w_put(w, b, 4);
}

static void w_u64(struct writer *w, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	w_put(w, b, 8);
}

static void write_body(const struct wn_dd_index *x, struct writer *w)
{
	w_put(w, WN_DD_MAGIC, WN_DD_MAGIC_LEN);
	w_u32(w, WN_DD_VERSION);
	w_u32(w, (uint32_t)x->kind);
	w_u32(w, x->with_ids ? FLAG_IDS : 0);
	size_t plen = strlen(x->params);
	w_u32(w, (uint32_t)plen);
	w_put(w, x->params, plen);
	w_u64(w, wn_dd_index_entries(x));
	if (x->kind == WN_DD_BLOOM) {
		const struct wn_dd_bloom *b = &x->bloom;
		uint64_t fp;
		memcpy(&fp, &b->fp_rate, sizeof(fp));
		w_u64(w, b->m);
		w_u32(w, b->k);
		w_u32(w, 0);
		w_u64(w, b->expected);
		w_u64(w, fp);
		for (uint64_t i = 0; i < b->m / 64; i++)
			w_u64(w, b->bits[i]);
		return;
	}
	size_t pos = 0;
	struct wn_dd_digest d;
	uint64_t ref;
	while (wn_dd_set_next(&x->set, &pos, &d, &ref)) {
		w_u64(w, d.hi);
		w_u64(w, d.lo);
		if (x->with_ids) {
			const char *id = NULL;
			size_t n = 0;
			wn_dd_index_id(x, ref, &id, &n);
			w_u32(w, (uint32_t)n);
			w_put(w, id, n);
		}
	}
}

int wn_dd_index_save(const struct wn_dd_index *x, const char *path, struct wn_error *err)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return WN_ENOMEM;
	w->h = XXH3_createState();
	if (!w->h) {
		free(w);
		return WN_ENOMEM;
	}
	struct wn_dd_atomic a;
	int st = wn_dd_atomic_open(&a, path, err);
	if (st >= 0) {
		w->fd = a.fd;
		w->name = path;
		w->err = err;
		XXH3_128bits_reset(w->h);
		write_body(x, w);
		XXH128_hash_t sum = XXH3_128bits_digest(w->h);
		w_u64(w, sum.high64);
		w_u64(w, sum.low64);
		w_flush(w);
		st = w->status;
		if (st >= 0)
			st = wn_dd_atomic_commit(&a, err);
		else
			wn_dd_atomic_abort(&a);
	}
	XXH3_freeState(w->h);
	free(w);
	return st;
}

/* ---- reading ------------------------------------------------------------------------ */

struct reader {
	int fd;
	const char *name;
	struct wn_error *err;
	XXH3_state_t *h;
	int hashing;
	unsigned char buf[1 << 16];
	size_t pos, len;
	int eof;
};

static int r_fill(struct reader *r)
{
	if (r->pos < r->len || r->eof)
		return WN_OK;
	for (;;) {
		ssize_t got = read(r->fd, r->buf, sizeof(r->buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return wn_error_errno(r->err, errno, r->name, "read error");
		r->pos = 0;
		r->len = (size_t)got;
		r->eof = got == 0;
		return WN_OK;
	}
}

static int corrupt(struct reader *r, const char *what)
{
	return wn_error_set(r->err, WN_EDATA, r->name, 0, "not a valid dedup index: %s", what);
}

static int r_get(struct reader *r, void *p, size_t n)
{
	unsigned char *c = p;
	while (n > 0) {
		WN_TRY(r_fill(r));
		if (r->pos == r->len)
			return corrupt(r, "truncated");
		size_t k = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(c, r->buf + r->pos, k);
		if (r->hashing)
			XXH3_128bits_update(r->h, c, k);
		r->pos += k;
		c += k;
		n -= k;
	}
	return WN_OK;
}

static int r_u32(struct reader *r, uint32_t *v)
{
	unsigned char b[4];
	WN_TRY(r_get(r, b, 4));
	*v = 0;
	for (int i = 0; i < 4; i++)
		*v |= (uint32_t)b[i] << (8 * i);
	return WN_OK;
}

static int r_u64(struct reader *r, uint64_t *v)
{
	unsigned char b[8];
	WN_TRY(r_get(r, b, 8));
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return WN_OK;
}

static int read_set(struct wn_dd_index *x, struct reader *r, uint64_t n)
{
	/* never trust a count for an allocation: reserve at most what a file
	 * of this size can hold (the rest grows as it comes) */
	struct stat sb;
	uint64_t most = fstat(r->fd, &sb) == 0 ? (uint64_t)sb.st_size / 16 : 0;
	WN_TRY(wn_dd_set_reserve(&x->set, (size_t)(n < most ? n : most)));
	char *id = NULL;
	int st = WN_OK;
	for (uint64_t i = 0; i < n && st >= 0; i++) {
		struct wn_dd_digest d;
		uint64_t ref = 0;
		st = r_u64(r, &d.hi);
		if (st >= 0)
			st = r_u64(r, &d.lo);
		if (st >= 0 && x->with_ids) {
			uint32_t len;
			st = r_u32(r, &len);
			if (st >= 0 && len > WN_DD_ID_MAX)
				st = corrupt(r, "an id is too long");
			if (st >= 0 && !id && !(id = malloc(WN_DD_ID_MAX)))
				st = WN_ENOMEM;
			if (st >= 0)
				st = r_get(r, id, len);
			if (st >= 0 && len)
				st = wn_dd_index_add_id(x, id, len, &ref);
		}
		if (st >= 0) {
			st = wn_dd_set_append(&x->set, d, ref);
			if (st == WN_EDATA)
				st = corrupt(r, "digests out of order");
		}
	}
	free(id);
	return st;
}

static int read_bloom(struct wn_dd_index *x, struct reader *r)
{
	uint64_t m, expected, fp;
	uint32_t k, zero;
	WN_TRY(r_u64(r, &m));
	WN_TRY(r_u32(r, &k));
	WN_TRY(r_u32(r, &zero));
	WN_TRY(r_u64(r, &expected));
	WN_TRY(r_u64(r, &fp));
	double p;
	memcpy(&p, &fp, sizeof(p));
	struct stat sb;
	if (fstat(r->fd, &sb) == 0 && m / 8 > (uint64_t)sb.st_size)
		return corrupt(r, "truncated");
	int st = wn_dd_bloom_init_raw(&x->bloom, m, k, expected, p);
	if (st == WN_EDATA || zero != 0)
		return corrupt(r, "bad Bloom filter size");
	WN_TRY(st);
	for (uint64_t i = 0; i < m / 64; i++)
		WN_TRY(r_u64(r, &x->bloom.bits[i]));
	return WN_OK;
}

static int read_body(struct wn_dd_index *x, struct reader *r)
{
	char magic[WN_DD_MAGIC_LEN];
	WN_TRY(r_get(r, magic, sizeof(magic)));
	if (memcmp(magic, WN_DD_MAGIC, WN_DD_MAGIC_LEN) != 0)
		return corrupt(r, "bad magic");
	uint32_t version, kind, flags, plen;
	WN_TRY(r_u32(r, &version));
	if (version != WN_DD_VERSION)
		return wn_error_set(r->err, WN_EDATA, r->name, 0,
		                    "dedup index version %u; this winnow reads version %u",
		                    version, WN_DD_VERSION);
	WN_TRY(r_u32(r, &kind));
	WN_TRY(r_u32(r, &flags));
	WN_TRY(r_u32(r, &plen));
	if ((kind != WN_DD_SET && kind != WN_DD_BLOOM) || (flags & ~FLAG_IDS) ||
	    ((flags & FLAG_IDS) && kind != WN_DD_SET))
		return corrupt(r, "unknown kind or flags");
	if (plen > MAX_PARAMS)
		return corrupt(r, "parameters too long");
	char params[MAX_PARAMS + 1];
	WN_TRY(r_get(r, params, plen));
	params[plen] = '\0';
	if (strlen(params) != plen)
		return corrupt(r, "bad parameters");
	WN_TRY(wn_dd_index_init(x, (enum wn_dd_kind)kind, params, flags & FLAG_IDS));
	uint64_t n;
	WN_TRY(r_u64(r, &n));
	if (kind == WN_DD_SET)
		WN_TRY(read_set(x, r, n));
	else {
		WN_TRY(read_bloom(x, r));
		x->bloom.added = n;
	}
	XXH128_hash_t want = XXH3_128bits_digest(r->h);
	r->hashing = 0;
	uint64_t hi, lo;
	WN_TRY(r_u64(r, &hi));
	WN_TRY(r_u64(r, &lo));
	if (hi != want.high64 || lo != want.low64)
		return corrupt(r, "checksum mismatch");
	WN_TRY(r_fill(r));
	if (r->pos != r->len)
		return corrupt(r, "trailing bytes");
	return WN_OK;
}

int wn_dd_index_load(struct wn_dd_index *x, const char *path, struct wn_error *err)
{
	index_zero(x);
	struct reader *r = calloc(1, sizeof(*r));
	if (!r)
		return WN_ENOMEM;
	r->h = XXH3_createState();
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	int st;
	if (!r->h)
		st = WN_ENOMEM;
	else if (r->fd < 0)
		st = wn_error_errno(err, errno, path, "cannot open the index");
	else {
		r->name = path;
		r->err = err;
		r->hashing = 1;
		XXH3_128bits_reset(r->h);
		st = read_body(x, r);
	}
	if (r->fd >= 0)
		close(r->fd);
	XXH3_freeState(r->h);
	free(r);
	if (st < 0)
		wn_dd_index_release(x);
	return st;
}

int wn_dd_file_magic(const char *path, char magic[8], struct wn_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return wn_error_errno(err, errno, path, "cannot open the index");
	size_t got = 0;
	while (got < 8) {
		ssize_t k = read(fd, magic + got, 8 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			close(fd);
			return wn_error_errno(err, e, path, "read error");
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	if (got < 8)
		return wn_error_set(err, WN_EDATA, path, 0, "not a dedup index: too short");
	return WN_OK;
}

/* ---- parameters ---------------------------------------------------------------------- */

/* The value of name in "name=value\n" lines, as a span; NULL when absent. */
static const char *param_find(const char *params, const char *name, size_t namelen,
                              size_t *len)
{
	for (const char *p = params; *p;) {
		const char *nl = strchr(p, '\n');
		size_t linelen = nl ? (size_t)(nl - p) : strlen(p);
		if (linelen > namelen && p[namelen] == '=' && strncmp(p, name, namelen) == 0) {
			*len = linelen - namelen - 1;
			return p + namelen + 1;
		}
		p += linelen + (nl != NULL);
	}
	return NULL;
}

static const char *kind_name(enum wn_dd_kind k)
{
	return k == WN_DD_BLOOM ? "a Bloom filter (--bloom)" : "an exact digest set";
}

/* The first parameter of a that b lacks or has with another value. */
static int param_diff(const char *a, const char *b, const char **name, size_t *namelen)
{
	for (const char *p = a; *p;) {
		const char *nl = strchr(p, '\n');
		size_t linelen = nl ? (size_t)(nl - p) : strlen(p);
		const char *eq = memchr(p, '=', linelen);
		size_t nlen = eq ? (size_t)(eq - p) : linelen;
		size_t vlen, olen;
		const char *v = eq ? eq + 1 : p + linelen;
		vlen = linelen - (size_t)(v - p);
		const char *o = param_find(b, p, nlen, &olen);
		if (!o || olen != vlen || memcmp(o, v, vlen) != 0) {
			*name = p;
			*namelen = nlen;
			return 1;
		}
		p += linelen + (nl != NULL);
	}
	return 0;
}

int wn_dd_index_check(const struct wn_dd_index *x, enum wn_dd_kind kind, const char *params,
                      const char *name, struct wn_error *err)
{
	if (x->kind != kind)
		return wn_error_set(err, WN_EUSAGE, name, 0, "index is %s, this run uses %s",
		                    kind_name(x->kind), kind_name(kind));
	const char *pname;
	size_t plen;
	if (!param_diff(x->params, params, &pname, &plen) &&
	    !param_diff(params, x->params, &pname, &plen))
		return WN_OK;
	size_t ilen = 0, rlen = 0;
	const char *iv = param_find(x->params, pname, plen, &ilen);
	const char *rv = param_find(params, pname, plen, &rlen);
	return wn_error_set(err, WN_EUSAGE, name, 0,
	                    "index has %.*s=%.*s, this run uses %.*s=%.*s", (int)plen, pname,
	                    iv ? (int)ilen : 6, iv ? iv : "(none)", (int)plen, pname,
	                    rv ? (int)rlen : 6, rv ? rv : "(none)");
}
