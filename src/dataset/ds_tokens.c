/*
 * ds_tokens.c - one open shard of a token format: the token file and its
 * index (and datatrove's metadata), uncompressed little-endian files that
 * training code memory-maps.  See docs/manifest.md.
 *
 * Token bytes go through a buffer to the token file and are hashed as they
 * are written.  A datatrove index is a plain list of document ends, written
 * and hashed as it grows.  A Megatron index starts with the counts, known
 * only at the end, and holds three arrays whose offsets depend on them:
 * the lengths are streamed to their place after the header, and at the end
 * they are read back (from the page cache) to append the byte offsets and
 * document indices, while the whole file is hashed in order.  Memory stays
 * bounded whatever the number of documents in a shard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "dataset/ds_int.h"

#define TOK_CHUNK ((size_t)1 << 20)
#define IDX_CHUNK ((size_t)64 << 10)

/* Index entries at a time when completing a Megatron index: the lengths
 * read back, then their offsets (8 bytes each), fit in IDX_CHUNK. */
#define IDX_BATCH (IDX_CHUNK / 12)

static int io_fail(const struct wn_ds_tokshard *t, const struct wn_ds_tokfile *f, int errnum,
                   struct wn_error *err)
{
	return wn_error_errno(err, errnum, NULL, "%s/" WN_DS_DATA "/%s", t->dir, f->tmp);
}

static int mem_fail(struct wn_error *err)
{
	return wn_error_set(err, WN_ENOMEM, NULL, 0, "out of memory");
}

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (r == 0)
			return EIO; /* the file we wrote is shorter: someone cut it */
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Write p[0..n) to file i, hashing it with digest h (or not, h < 0). */
static int emit(struct wn_ds_tokshard *t, int i, int h, const void *p, size_t n,
                struct wn_error *err)
{
	int e;

	if (n == 0)
		return WN_OK;
	e = wn_ds_write_all(t->f[i].fd, p, n);
	if (e)
		return io_fail(t, &t->f[i], e, err);
	if (h >= 0) {
		if (EVP_DigestUpdate(t->sha[h], p, n) != 1)
			return wn_error_set(err, WN_ENOMEM, NULL, 0, "sha256 failed");
		XXH3_128bits_update(t->xxh[h], p, n);
	}
	t->f[i].bytes += n;
	return WN_OK;
}

static int flush_tokens(struct wn_ds_tokshard *t, struct wn_error *err)
{
	int rc = emit(t, 0, 0, t->buf, t->len, err);

	t->len = 0;
	return rc;
}

/* Megatron's lengths are hashed only when the index is complete. */
static int flush_index(struct wn_ds_tokshard *t, struct wn_error *err)
{
	int rc = emit(t, 1, t->format == WN_SHARD_DATATROVE ? 1 : -1, t->ibuf, t->ilen, err);

	t->ilen = 0;
	return rc;
}

static int reset_digest(struct wn_ds_tokshard *t, int h)
{
	XXH3_128bits_reset(t->xxh[h]);
	return EVP_DigestInit_ex(t->sha[h], EVP_sha256(), NULL) == 1 ? WN_OK : WN_ENOMEM;
}

static int final_digest(struct wn_ds_tokshard *t, int h, struct wn_ds_tokfile *f,
                        struct wn_error *err)
{
	unsigned int mdlen = 0;

	if (EVP_DigestFinal_ex(t->sha[h], f->sha256, &mdlen) != 1 || mdlen != 32)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "sha256 failed");
	XXH128_canonicalFromHash((XXH128_canonical_t *)f->xxh3, XXH3_128bits_digest(t->xxh[h]));
	return WN_OK;
}

int wn_ds_tok_init(struct wn_ds_tokshard *t)
{
	t->fmt = wn_ds_format_of(t->format);
	t->width = wn_ds_dtype_size(t->dtype);
	for (int i = 0; i < WN_DS_MAX_FILES; i++)
		t->f[i].fd = -1;
	t->buf = malloc(TOK_CHUNK);
	t->ibuf = malloc(IDX_CHUNK);
	for (int h = 0; h < 2; h++) {
		t->sha[h] = EVP_MD_CTX_new();
		t->xxh[h] = XXH3_createState();
	}
	if (!t->buf || !t->ibuf || !t->sha[0] || !t->sha[1] || !t->xxh[0] || !t->xxh[1])
		return WN_ENOMEM;
	return WN_OK;
}

void wn_ds_tok_release(struct wn_ds_tokshard *t)
{
	wn_ds_tok_discard(t);
	free(t->buf);
	free(t->ibuf);
	for (int h = 0; h < 2; h++) {
		EVP_MD_CTX_free(t->sha[h]);
		XXH3_freeState(t->xxh[h]);
	}
}

void wn_ds_tok_discard(struct wn_ds_tokshard *t)
{
	for (size_t i = 0; i < WN_DS_MAX_FILES; i++) {
		if (t->f[i].fd < 0)
			continue;
		close(t->f[i].fd);
		t->f[i].fd = -1;
		unlinkat(t->datafd, t->f[i].tmp, 0);
	}
	t->open = 0;
}

int wn_ds_tok_open(struct wn_ds_tokshard *t, const char *split, unsigned index,
                   struct wn_error *err)
{
	for (size_t i = 0; i < t->fmt->nfiles; i++) {
		struct wn_ds_tokfile *f = &t->f[i];

		snprintf(f->tmp, sizeof f->tmp, ".%s-%05u%s" WN_DS_TMP_EXT, split, index,
		         t->fmt->files[i].ext);
		/* A Megatron index is read back as it is completed. */
		f->fd = openat(t->datafd, f->tmp,
		               (t->format == WN_SHARD_MEGATRON && i == 1 ? O_RDWR : O_WRONLY) |
		                       O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		               0666);
		if (f->fd < 0)
			return io_fail(t, f, errno, err);
		f->bytes = 0;
	}
	t->open = 1;
	t->len = t->ilen = 0;
	t->documents = t->tokens = 0;
	if (reset_digest(t, 0) < 0 || reset_digest(t, 1) < 0)
		return mem_fail(err);
	if (t->format == WN_SHARD_MEGATRON) {
		/* The counts are filled in at the end. */
		unsigned char h[WN_DS_IDX_HEADER] = { 0 };

		memcpy(h, WN_DS_IDX_MAGIC, WN_DS_IDX_MAGIC_LEN);
		put_u64(h + 9, 1);
		h[17] = (unsigned char)wn_ds_idx_code(t->dtype);
		WN_TRY(emit(t, 1, -1, h, sizeof h, err));
	}
	return WN_OK;
}

/* Append n ids to the token buffer in the shard's type. */
static int add_ids(struct wn_ds_tokshard *t, const uint32_t *ids, size_t n, struct wn_error *err)
{
	while (n > 0) {
		size_t room = (TOK_CHUNK - t->len) / t->width, k = n < room ? n : room;
		unsigned char *p = t->buf + t->len;

		if (k == 0) {
			WN_TRY(flush_tokens(t, err));
			continue;
		}
		if (t->width == 2) {
			for (size_t i = 0; i < k; i++) {
				p[2 * i] = (unsigned char)ids[i];
				p[2 * i + 1] = (unsigned char)(ids[i] >> 8);
			}
		} else {
			for (size_t i = 0; i < k; i++)
				put_u32(p + 4 * i, ids[i]);
		}
		t->len += k * t->width;
		ids += k;
		n -= k;
	}
	return WN_OK;
}

int wn_ds_tok_add(struct wn_ds_tokshard *t, const uint32_t *ids, size_t n, struct wn_error *err)
{
	WN_TRY(add_ids(t, ids, n, err));
	t->tokens += n;
	if (t->format == WN_SHARD_NANOGPT) {
		WN_TRY(add_ids(t, &t->eot, 1, err));
		t->tokens++;
	}
	if (t->ilen + 8 > IDX_CHUNK)
		WN_TRY(flush_index(t, err));
	if (t->format == WN_SHARD_MEGATRON) {
		/* The owner refuses documents whose length int32 cannot hold. */
		put_u32(t->ibuf + t->ilen, (uint32_t)n);
		t->ilen += 4;
	} else if (t->format == WN_SHARD_DATATROVE) {
		put_u64(t->ibuf + t->ilen, t->tokens);
		t->ilen += 8;
	}
	t->documents++;
	return WN_OK;
}

uint64_t wn_ds_tok_data_bytes(const struct wn_ds_tokshard *t)
{
	return t->f[0].bytes + t->len;
}

uint64_t wn_ds_tok_bytes(const struct wn_ds_tokshard *t)
{
	uint64_t b = wn_ds_tok_data_bytes(t);

	for (size_t i = 1; i < t->fmt->nfiles; i++)
		b += t->f[i].bytes;
	return b + t->ilen;
}

/* Hash p[0..n) as part of the index and, unless `hash_only`, append it. */
static int idx_part(struct wn_ds_tokshard *t, const void *p, size_t n, int hash_only,
                    struct wn_error *err)
{
	if (!hash_only)
		return emit(t, 1, 1, p, n, err);
	if (EVP_DigestUpdate(t->sha[1], p, n) != 1)
		return wn_error_set(err, WN_ENOMEM, NULL, 0, "sha256 failed");
	XXH3_128bits_update(t->xxh[1], p, n);
	return WN_OK;
}

/* Give the Megatron index its offsets, document indices and counts. */
static int end_megatron(struct wn_ds_tokshard *t, struct wn_error *err)
{
	struct wn_ds_tokfile *f = &t->f[1];
	unsigned char h[WN_DS_IDX_HEADER], *lens = t->ibuf, *out = t->ibuf + 4 * IDX_BATCH;
	uint64_t s = t->documents, ptr = 0;
	ssize_t r;
	int e;

	WN_TRY(flush_index(t, err));
	memcpy(h, WN_DS_IDX_MAGIC, WN_DS_IDX_MAGIC_LEN);
	put_u64(h + 9, 1);
	h[17] = (unsigned char)wn_ds_idx_code(t->dtype);
	put_u64(h + 18, s);
	put_u64(h + 26, s + 1);
	WN_TRY(idx_part(t, h, sizeof h, 1, err));
	/* The lengths as written, hashed in order. */
	for (uint64_t i = 0; i < s; i += IDX_BATCH) {
		size_t k = s - i < IDX_BATCH ? (size_t)(s - i) : IDX_BATCH;

		e = pread_all(f->fd, lens, 4 * k, WN_DS_IDX_HEADER + 4 * i);
		if (e)
			return io_fail(t, f, e, err);
		WN_TRY(idx_part(t, lens, 4 * k, 1, err));
	}
	/* Their byte offsets into the .bin: a second read of the lengths. */
	for (uint64_t i = 0; i < s; i += IDX_BATCH) {
		size_t k = s - i < IDX_BATCH ? (size_t)(s - i) : IDX_BATCH;

		e = pread_all(f->fd, lens, 4 * k, WN_DS_IDX_HEADER + 4 * i);
		if (e)
			return io_fail(t, f, e, err);
		for (size_t j = 0; j < k; j++) {
			put_u64(out + 8 * j, ptr);
			ptr += (uint64_t)get_u32(lens + 4 * j) * t->width;
		}
		WN_TRY(idx_part(t, out, 8 * k, 0, err));
	}
	/* One document per sequence: 0, 1, ..., S. */
	for (uint64_t i = 0; i <= s; i += IDX_BATCH) {
		size_t k = s + 1 - i < IDX_BATCH ? (size_t)(s + 1 - i) : IDX_BATCH;

		for (size_t j = 0; j < k; j++)
			put_u64(out + 8 * j, i + j);
		WN_TRY(idx_part(t, out, 8 * k, 0, err));
	}
	do
		r = pwrite(f->fd, h + 18, 16, 18);
	while (r < 0 && errno == EINTR);
	if (r != 16)
		return io_fail(t, f, r < 0 ? errno : EIO, err);
	return final_digest(t, 1, f, err);
}

int wn_ds_tok_end(struct wn_ds_tokshard *t, struct wn_error *err)
{
	WN_TRY(flush_tokens(t, err));
	WN_TRY(final_digest(t, 0, &t->f[0], err));
	if (t->format == WN_SHARD_MEGATRON) {
		WN_TRY(end_megatron(t, err));
	} else if (t->format == WN_SHARD_DATATROVE) {
		struct wn_buf meta;
		int rc;

		WN_TRY(flush_index(t, err));
		WN_TRY(final_digest(t, 1, &t->f[1], err));
		wn_buf_init(&meta, WN_BUF_UNLIMITED);
		rc = wn_ds_datatrove_metadata(&meta, t->tokenizer_name, t->width, t->tokens);
		if (rc < 0) {
			wn_buf_release(&meta);
			return mem_fail(err);
		}
		rc = emit(t, 2, -1, meta.data, meta.len, err);
		if (rc == WN_OK) {
			if (!EVP_Digest(meta.data, meta.len, t->f[2].sha256, NULL, EVP_sha256(),
			                NULL))
				rc = mem_fail(err);
			XXH128_canonicalFromHash((XXH128_canonical_t *)t->f[2].xxh3,
			                         XXH3_128bits(meta.data, meta.len));
		}
		wn_buf_release(&meta);
		WN_TRY(rc);
	}
	return WN_OK;
}

int wn_ds_tok_sync(struct wn_ds_tokshard *t, struct wn_error *err)
{
	int rc = WN_OK;

	for (size_t i = 0; i < t->fmt->nfiles; i++) {
		struct wn_ds_tokfile *f = &t->f[i];
		int fd = f->fd, e = 0;

		f->fd = -1;
		if (rc == WN_OK && fsync(fd) != 0)
			e = errno;
		if (close(fd) != 0 && !e && rc == WN_OK)
			e = errno;
		if (e)
			rc = io_fail(t, f, e, err);
	}
	t->open = 0;
	return rc;
}
