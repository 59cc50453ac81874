/*
 * ds_int.h - what the dataset writer and verifier share: file names, the
 * shard record of the manifest, and the generators of SHA256SUMS, the
 * manifest and the card.  See docs/manifest.md for the formats.
 */
#ifndef WN_DS_INT_H
#define WN_DS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/status.h"

#define WN_DS_MANIFEST "manifest.json"
#define WN_DS_SUMS "SHA256SUMS"
#define WN_DS_CARD "README.md"
#define WN_DS_DATA "data"
#define WN_DS_FORMAT "winnow-dataset"
#define WN_DS_VERSION 1
#define WN_DS_SHARD_FORMAT "jsonl"
#define WN_DS_SHARD_EXT ".jsonl.zst"
#define WN_DS_TMP_EXT ".tmp"

/* Split names are [A-Za-z0-9_]{1,WN_DS_SPLIT_MAX}: no '-', so the card's
 * "data/<split>-*" pattern of one split never matches another's shards. */
#define WN_DS_SPLIT_MAX 64

/* One shard as the manifest records it.  Digests are raw bytes; xxh3 ones
 * in canonical (big-endian) order, as `xxhsum -H2` prints them. */
struct wn_ds_shard {
	char *path;        /* relative to the dataset dir: "data/x.jsonl.zst" */
	const char *split;
	uint64_t records, bytes, raw_bytes;
	unsigned char sha256[32];
	unsigned char xxh3[16];
	unsigned char raw_xxh3[16];
};

/* Per-split sums, for the manifest's "splits" and the card. */
struct wn_ds_split_sum {
	const char *name;
	uint64_t shards, records, bytes, raw_bytes;
};

/* Everything the three metadata files are made from.  shards sorted by
 * path, splits sorted by name (strcmp order). */
struct wn_ds_meta {
	const char *name;     /* card title */
	const char *pipeline; /* never NULL */
	const char *tool_version;
	int level;
	struct wn_ds_shard *const *shards;
	size_t nshards;
	const struct wn_ds_split_sum *splits;
	size_t nsplits;
};

/* Lowercase hex of p[0..n) into out (2n + 1 bytes, NUL-terminated). */
void wn_ds_hex(char *out, const void *p, size_t n);
/* Parse exactly 2n lowercase hex digits; 0 on success, -1 otherwise. */
int wn_ds_unhex(unsigned char *out, size_t n, const char *hex);
/* 1 when s is a valid split name. */
int wn_ds_split_name_ok(const char *s);
/* 1 when base is a final shard name "<split>-<i>-of-<n>.jsonl.zst" or a
 * writer temporary ".<split>-<i>.jsonl.zst.tmp" (digits: 5 or more). */
int wn_ds_is_shard_name(const char *base);

/* The SHA256SUMS text for shards sorted by path (coreutils format). */
int wn_ds_sums_text(struct wn_buf *out, struct wn_ds_shard *const *shards, size_t n);
/* The manifest.json text; root is the SHA-256 of the SHA256SUMS text. */
int wn_ds_manifest_text(struct wn_buf *out, const struct wn_ds_meta *m,
                        const unsigned char root[32]);
/* The README.md dataset card. */
int wn_ds_card_text(struct wn_buf *out, const struct wn_ds_meta *m);

/* Sort helpers (qsort comparators). */
int wn_ds_shard_cmp(const void *a, const void *b); /* struct wn_ds_shard ** by path */

#endif
