/*
 * index.h - the state of exact and line-level dedup, and its file format
 * (src/dedup); not installed.
 *
 * A struct wn_dd_index is what `winnow dedup` remembers: a digest set or a
 * Bloom filter, the parameters that made the digests (as "name=value" lines,
 * compared when an index is loaded or merged), and, for --mark, the id of
 * the record each digest was first seen in.
 *
 * File format, version 1, integers little-endian (docs/winnow-dedup-index.md):
 *   magic "WNDEDUP\0" (8), u32 version, u32 kind (1 digest set, 2 Bloom
 *   filter), u32 flags (bit 0: ids stored), u32 parameter bytes P, the
 *   parameter text (P bytes), u64 entries n, then
 *     digest set: n entries in increasing digest order, each the digest
 *       (u64 high half, u64 low half) and, with ids, u32 length + the id's
 *       JSON text (length 0: no id);
 *     Bloom filter: u64 bits m, u32 probes k, u32 0, u64 expected,
 *       f64 fp-rate, then m / 8 bytes of bits (u64 words);
 *   and last the XXH3-128 of every byte before it (u64 high, u64 low).
 * The bytes depend only on the parameters and the digests (and ids): not on
 * the order they came in, the thread count or the table's history.
 */
#ifndef WN_DEDUP_INDEX_H
#define WN_DEDUP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "dedup/bloom.h"
#include "dedup/digest_set.h"
#include "winnow/buf.h"
#include "winnow/status.h"

#define WN_DD_MAGIC "WNDEDUP\0"
#define WN_DD_MAGIC_LEN 8
#define WN_DD_VERSION 1
/* The MinHash index's magic (src/dedup/minhash.h). */
#define WN_DD_MINHASH_MAGIC "WNMINHSH"
/* The longest id kept for --mark. */
#define WN_DD_ID_MAX 65536

enum wn_dd_kind {
	WN_DD_SET = 1,
	WN_DD_BLOOM = 2,
};

struct wn_dd_index {
	enum wn_dd_kind kind;
	char *params;          /* "name=value\n" lines, owned */
	struct wn_dd_set set;  /* WN_DD_SET; values are id references */
	int with_ids;
	struct wn_buf ids;     /* u32 length + JSON text, one after another */
	struct wn_dd_bloom bloom;
};

/* An empty index of that kind and parameters (copied).  with_ids keeps ids
 * (digest sets only).  WN_ENOMEM. */
int wn_dd_index_init(struct wn_dd_index *x, enum wn_dd_kind kind, const char *params,
                     int with_ids);
void wn_dd_index_release(struct wn_dd_index *x);

/* Keep an id (its JSON text) and return the value that refers to it (never
 * 0, which means "no id").  WN_ETOOBIG over WN_DD_ID_MAX, WN_ENOMEM. */
int wn_dd_index_add_id(struct wn_dd_index *x, const char *id, size_t n, uint64_t *ref);
/* Forget the id added last (its record was a duplicate after all). */
void wn_dd_index_drop_id(struct wn_dd_index *x, uint64_t ref);
/* The id a value refers to: 1 with *id and *n, 0 for "no id". */
int wn_dd_index_id(const struct wn_dd_index *x, uint64_t ref, const char **id, size_t *n);

/* Make a digest set keep ids from now on (those it has get none), as
 * --mark and a merge with an index that has ids need.  WN_ENOMEM. */
int wn_dd_index_keep_ids(struct wn_dd_index *x);

/* Entries: digests stored, or Bloom filter inserts. */
uint64_t wn_dd_index_entries(const struct wn_dd_index *x);
/* Bytes of memory the index holds. */
size_t wn_dd_index_memory(const struct wn_dd_index *x);

/*
 * Write the index to path atomically (a temporary file in the same
 * directory, fsync'ed, renamed over path).  WN_EIO naming the file.
 */
int wn_dd_index_save(const struct wn_dd_index *x, const char *path, struct wn_error *err);

/*
 * Read the index at path into x (which must not be initialised).  WN_EDATA
 * naming the file for a bad magic, an unknown version or kind, a truncated
 * or corrupt file (checksum, order of digests), WN_EIO, WN_ENOMEM.
 */
int wn_dd_index_load(struct wn_dd_index *x, const char *path, struct wn_error *err);

/*
 * Check that a loaded index fits a run: same kind and parameters.  WN_EUSAGE
 * naming the file and the first difference:
 *     old.idx: index has normalize=datatrove, this run uses normalize=whitespace
 */
int wn_dd_index_check(const struct wn_dd_index *x, enum wn_dd_kind kind, const char *params,
                      const char *name, struct wn_error *err);

/* The first 8 bytes of the file at path (to tell index kinds apart).
 * WN_EIO, WN_EDATA when it is shorter. */
int wn_dd_file_magic(const char *path, char magic[8], struct wn_error *err);

/*
 * Atomic replacement of a file: open a temporary beside it, write, then
 * commit (fsync, rename, fsync the directory) or abort (remove it).
 */
struct wn_dd_atomic {
	char *tmp;
	const char *path;
	int fd;
};
int wn_dd_atomic_open(struct wn_dd_atomic *a, const char *path, struct wn_error *err);
int wn_dd_atomic_commit(struct wn_dd_atomic *a, struct wn_error *err);
void wn_dd_atomic_abort(struct wn_dd_atomic *a);

/* Write a MinHash index (src/dedup/minhash.h) to path atomically. */
struct wn_minhash_index;
int wn_dd_minhash_save(const struct wn_minhash_index *idx, const char *path,
                       struct wn_error *err);

#endif
