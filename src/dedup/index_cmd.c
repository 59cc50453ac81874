/*
 * index_cmd.c - what `winnow dedup-index` does with saved indexes: describe
 * one, merge several (include/winnow/dedup.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup/index.h"
#include "dedup/minhash.h"
#include "winnow/dedup.h"

/* ---- MinHash indexes ------------------------------------------------------------------ */

static int mh_load(struct wn_minhash_index **idx, const char *path, struct wn_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return wn_error_errno(err, errno, path, "cannot open the index");
	int st = wn_minhash_index_load(idx, f, path, err);
	fclose(f);
	return st;
}

int wn_dd_minhash_save(const struct wn_minhash_index *idx, const char *path,
                       struct wn_error *err)
{
	struct wn_dd_atomic a;
	WN_TRY(wn_dd_atomic_open(&a, path, err));
	FILE *f = fdopen(a.fd, "wb");
	if (!f) {
		int e = errno;
		wn_dd_atomic_abort(&a);
		return wn_error_errno(err, e, path, "cannot write");
	}
	int st = wn_minhash_index_save(idx, f, path, err);
	if (st >= 0 && fflush(f) != 0)
		st = wn_error_errno(err, errno, path, "write error");
	/* the FILE owns the descriptor: close through it, then commit by name */
	a.fd = dup(fileno(f));
	fclose(f);
	if (st >= 0 && a.fd < 0)
		st = wn_error_errno(err, errno, path, "cannot write");
	if (st < 0) {
		wn_dd_atomic_abort(&a);
		return st;
	}
	return wn_dd_atomic_commit(&a, err);
}

static int mh_info(const char *path, struct wn_buf *out, struct wn_error *err)
{
	struct wn_minhash_index *idx = NULL;
	WN_TRY(mh_load(&idx, path, err));
	const struct wn_minhash_params *p = wn_minhash_index_params(idx);
	uint64_t n = wn_minhash_index_count(idx);
	size_t mem = wn_minhash_index_memory(idx);
	int st = wn_buf_printf(out,
	                       "kind: minhash (--near)\n"
	                       "shingle=%s\nngram=%" PRIu32 "\nbands=%" PRIu32 "\nrows=%" PRIu32
	                       "\nseed=%" PRIu64 "\ncontext=%s\nsignatures: %s\n"
	                       "entries: %" PRIu64 "\nmemory: %zu\nmemory_per_entry: %.1f\n",
	                       wn_minhash_shingle_name(p->shingle), p->ngram, p->bands,
	                       p->rows, p->seed, wn_minhash_index_context(idx),
	                       wn_minhash_index_has_signatures(idx) ? "yes" : "no", n, mem,
	                       n ? (double)mem / (double)n : 0.0);
	wn_minhash_index_free(idx);
	return st;
}

static int mh_merge(const char *const *inputs, size_t n, const char *output,
                    struct wn_error *err)
{
	struct wn_minhash_index *dst = NULL;
	WN_TRY(mh_load(&dst, inputs[0], err));
	int st = WN_OK;
	for (size_t i = 1; i < n && st >= 0; i++) {
		struct wn_minhash_index *src = NULL;
		st = mh_load(&src, inputs[i], err);
		if (st >= 0)
			st = wn_minhash_index_check(src, wn_minhash_index_params(dst),
			                            wn_minhash_index_context(dst), 0, inputs[i], err);
		if (st >= 0 && wn_minhash_index_has_signatures(dst) &&
		    !wn_minhash_index_has_signatures(src))
			st = wn_error_set(err, WN_EUSAGE, inputs[i], 0,
			                  "index has no signatures, %s has (--verify-jaccard)",
			                  inputs[0]);
		if (st >= 0)
			st = wn_minhash_index_merge(dst, src, err);
		wn_minhash_index_free(src);
	}
	if (st >= 0)
		st = wn_dd_minhash_save(dst, output, err);
	wn_minhash_index_free(dst);
	return st;
}

/* ---- digest sets and Bloom filters ------------------------------------------------------- */

static int dd_info(const char *path, struct wn_buf *out, struct wn_error *err)
{
	struct wn_dd_index x;
	WN_TRY(wn_dd_index_load(&x, path, err));
	uint64_t n = wn_dd_index_entries(&x);
	size_t mem = wn_dd_index_memory(&x);
	int st = wn_buf_printf(out, "kind: %s\n%s",
	                       x.kind == WN_DD_BLOOM ? "bloom (--bloom)" : "digest set",
	                       x.params);
	if (st >= 0 && x.kind == WN_DD_BLOOM)
		st = wn_buf_printf(out, "bits: %" PRIu64 "\nprobes: %" PRIu32 "\n", x.bloom.m,
		                   x.bloom.k);
	if (st >= 0 && x.kind == WN_DD_SET)
		st = wn_buf_printf(out, "ids: %s\n", x.with_ids ? "yes" : "no");
	if (st >= 0)
		st = wn_buf_printf(out, "entries: %" PRIu64 "\nmemory: %zu\nmemory_per_entry: %.1f\n",
		                   n, mem, n ? (double)mem / (double)n : 0.0);
	wn_dd_index_release(&x);
	return st;
}

static int set_merge(struct wn_dd_index *dst, const struct wn_dd_index *src)
{
	size_t pos = 0;
	struct wn_dd_digest d;
	uint64_t ref;
	if (src->set.n > dst->set.n)
		WN_TRY(wn_dd_set_reserve(&dst->set, src->set.n));
	while (wn_dd_set_next(&src->set, &pos, &d, &ref)) {
		if (wn_dd_set_contains(&dst->set, d, NULL))
			continue;
		uint64_t mine = 0;
		const char *id;
		size_t len;
		if (dst->with_ids && wn_dd_index_id(src, ref, &id, &len))
			WN_TRY(wn_dd_index_add_id(dst, id, len, &mine));
		int s = wn_dd_set_insert(&dst->set, d, mine, NULL);
		if (s < 0)
			return s;
	}
	return WN_OK;
}

static int dd_merge(const char *const *inputs, size_t n, const char *output,
                    struct wn_error *err)
{
	struct wn_dd_index dst;
	WN_TRY(wn_dd_index_load(&dst, inputs[0], err));
	int st = WN_OK;
	for (size_t i = 1; i < n && st >= 0; i++) {
		struct wn_dd_index src;
		st = wn_dd_index_load(&src, inputs[i], err);
		if (st < 0)
			break;
		st = wn_dd_index_check(&src, dst.kind, dst.params, inputs[i], err);
		if (st >= 0 && dst.kind == WN_DD_BLOOM) {
			if (src.bloom.m != dst.bloom.m || src.bloom.k != dst.bloom.k)
				st = wn_error_set(err, WN_EUSAGE, inputs[i], 0,
				                  "Bloom filter of another size than %s", inputs[0]);
			for (uint64_t w = 0; st >= 0 && w < dst.bloom.m / 64; w++)
				dst.bloom.bits[w] |= src.bloom.bits[w];
			if (st >= 0)
				dst.bloom.added += src.bloom.added;
		} else if (st >= 0) {
			if (src.with_ids)
				st = wn_dd_index_keep_ids(&dst);
			if (st >= 0)
				st = set_merge(&dst, &src);
		}
		wn_dd_index_release(&src);
	}
	if (st >= 0)
		st = wn_dd_index_save(&dst, output, err);
	wn_dd_index_release(&dst);
	return st;
}

/* ---- the public entry points --------------------------------------------------------------- */

static int kind_of(const char *path, int *minhash, struct wn_error *err)
{
	char magic[8];
	WN_TRY(wn_dd_file_magic(path, magic, err));
	if (memcmp(magic, WN_DD_MINHASH_MAGIC, 8) == 0)
		*minhash = 1;
	else if (memcmp(magic, WN_DD_MAGIC, 8) == 0)
		*minhash = 0;
	else
		return wn_error_set(err, WN_EDATA, path, 0, "not a dedup index: bad magic");
	return WN_OK;
}

int wn_dedup_index_info(const char *path, struct wn_buf *out, struct wn_error *err)
{
	int minhash;
	WN_TRY(kind_of(path, &minhash, err));
	struct stat sb;
	if (stat(path, &sb) != 0)
		return wn_error_errno(err, errno, path, "cannot read");
	WN_TRY(wn_buf_printf(out, "file: %s\nbytes: %lld\n", path, (long long)sb.st_size));
	return minhash ? mh_info(path, out, err) : dd_info(path, out, err);
}

int wn_dedup_index_merge(const char *const *inputs, size_t n, const char *output,
                         struct wn_error *err)
{
	if (n == 0)
		return wn_error_set(err, WN_EUSAGE, NULL, 0, "no index to merge");
	int first = 0;
	for (size_t i = 0; i < n; i++) {
		int minhash;
		WN_TRY(kind_of(inputs[i], &minhash, err));
		if (i == 0)
			first = minhash;
		else if (minhash != first)
			return wn_error_set(err, WN_EUSAGE, inputs[i], 0,
			                    "index is %s, %s is %s",
			                    minhash ? "a MinHash index" : "a digest index", inputs[0],
			                    first ? "a MinHash index" : "a digest index");
	}
	return first ? mh_merge(inputs, n, output, err) : dd_merge(inputs, n, output, err);
}
