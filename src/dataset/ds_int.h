/*
 * ds_int.h - what the dataset writer and verifier share: file names, the
 * shard formats and token types, the shard record of the manifest, the
 * generators of SHA256SUMS, the manifest and the card, and the writer of
 * one token shard.  See docs/manifest.md for the formats.
 */
#ifndef WN_DS_INT_H
#define WN_DS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <xxhash.h>

#include "winnow/buf.h"
#include "winnow/dataset.h"
#include "winnow/status.h"

#define WN_DS_MANIFEST "manifest.json"
#define WN_DS_SUMS "SHA256SUMS"
#define WN_DS_CARD "README.md"
#define WN_DS_DATA "data"
#define WN_DS_FORMAT "winnow-dataset"
/* JSONL datasets keep version 1; token datasets, whose entries have other
 * fields, are version 2, which a reader of version 1 refuses. */
#define WN_DS_VERSION 1
#define WN_DS_VERSION_TOKENS 2
#define WN_DS_SHARD_FORMAT "jsonl"
#define WN_DS_SHARD_EXT ".jsonl.zst"
#define WN_DS_TMP_EXT ".tmp"

/* Split names are [A-Za-z0-9_]{1,WN_DS_SPLIT_MAX}: no '-', so the card's
 * "data/<split>-*" pattern of one split never matches another's shards. */
#define WN_DS_SPLIT_MAX 64

/* The files of one shard of a format, in a fixed order: the first holds
 * the data ("tokens" for the token formats). */
#define WN_DS_MAX_FILES 3
struct wn_ds_format {
	const char *name; /* the manifest's "format" of each file */
	size_t nfiles;
	struct {
		const char *ext;  /* after "{split}-{i:05d}-of-{n:05d}" */
		const char *role; /* NULL for JSONL, whose manifest has no roles */
	} files[WN_DS_MAX_FILES];
};

/* NULL for a value outside the enum. */
const struct wn_ds_format *wn_ds_format_of(enum wn_shard_format f);
/* The format of that name; -1 when there is none. */
int wn_ds_format_named(const char *name, enum wn_shard_format *f);

/* How token ids are stored: little-endian, of this type. */
enum wn_ds_dtype {
	WN_DS_UINT16,
	WN_DS_UINT32,
	WN_DS_INT32,
};

/* The type each format uses for a vocabulary of that size: Megatron's
 * DType.optimal_dtype (uint16 below 65500, else int32) and datatrove's
 * token_size (4 bytes above 65536); nanoGPT files follow datatrove. */
enum wn_ds_dtype wn_ds_dtype_for(enum wn_shard_format f, uint32_t vocab_size);
const char *wn_ds_dtype_name(enum wn_ds_dtype d);
unsigned wn_ds_dtype_size(enum wn_ds_dtype d);
/* -1 when the name is not one a token format may use. */
int wn_ds_dtype_named(enum wn_shard_format f, const char *name, enum wn_ds_dtype *d);

/*
 * Megatron's MMIDIDX version 1 index: the magic, u64 version, u8 dtype code,
 * u64 sequence count S, u64 document count D, then int32 lengths[S], int64
 * byte offsets[S] into the .bin, and int64 document indices[D], the first
 * sequence of each document and finally S (so D is the number of documents
 * plus one).
 */
#define WN_DS_IDX_MAGIC "MMIDIDX\0\0"
#define WN_DS_IDX_MAGIC_LEN 9
#define WN_DS_IDX_HEADER 34
/* The dtype code of the header: 8 for uint16, 4 for int32. */
unsigned wn_ds_idx_code(enum wn_ds_dtype d);
/* Bytes of the index of S sequences, one document each. */
uint64_t wn_ds_idx_size(uint64_t sequences);

/* The .ds.metadata file datatrove writes beside a .ds and its merger reads:
 * "{tokenizer}|{token size}", the token count and the count in SI units,
 * on three lines without a final newline. */
int wn_ds_datatrove_metadata(struct wn_buf *out, const char *tokenizer, unsigned token_size,
                             uint64_t tokens);

/* One file as the manifest records it.  Digests are raw bytes; xxh3 ones
 * in canonical (big-endian) order, as `xxhsum -H2` prints them.  A token
 * shard is several files: each has the shard's documents (in records) and
 * tokens. */
struct wn_ds_shard {
	char *path;        /* relative to the dataset dir: "data/x.jsonl.zst" */
	const char *split;
	const char *role;  /* token formats: "tokens", "index", "metadata" */
	uint64_t records, bytes, raw_bytes;
	uint64_t tokens;
	unsigned char sha256[32];
	unsigned char xxh3[16];
	unsigned char raw_xxh3[16];
};

/* Per-split sums, for the manifest's "splits" and the card.  For token
 * formats, shards counts the token files, files every file; records
 * (documents) and tokens come from the token files, bytes from all. */
struct wn_ds_split_sum {
	const char *name;
	uint64_t shards, files, records, bytes, raw_bytes, tokens;
};

/* Everything the three metadata files are made from.  shards sorted by
 * path, splits sorted by name (strcmp order). */
struct wn_ds_meta {
	const char *name;     /* card title */
	const char *pipeline; /* never NULL */
	const char *tool_version;
	int level;
	enum wn_shard_format format;
	/* Token formats only: */
	enum wn_ds_dtype dtype;
	uint32_t vocab_size, eot;
	const char *tokenizer_name;   /* never NULL: "" when unknown */
	const char *tokenizer_sha256; /* never NULL: "" when unknown */
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
/* 1 when base is a final shard name "<split>-<i>-of-<n><ext>" or a writer
 * temporary ".<split>-<i><ext>.tmp" (digits: 5 or more), for the extension
 * of a file of any format. */
int wn_ds_is_shard_name(const char *base);

/* The SHA256SUMS text for shards sorted by path (coreutils format). */
int wn_ds_sums_text(struct wn_buf *out, struct wn_ds_shard *const *shards, size_t n);
/* The manifest.json text; root is the SHA-256 of the SHA256SUMS text. */
int wn_ds_manifest_text(struct wn_buf *out, const struct wn_ds_meta *m,
                        const unsigned char root[32]);
/* The README.md dataset card. */
int wn_ds_card_text(struct wn_buf *out, const struct wn_ds_meta *m);

/* A whole small regular file at dirfd/name, NUL-terminated, of at most max
 * bytes; NULL with *errnum set (EFBIG when larger, EINVAL when not a
 * regular file).  Symbolic links are not followed. */
char *wn_ds_read_file_at(int dirfd, const char *name, off_t max, size_t *len, int *errnum);
/* The card's default title for a dataset in dir: its base name (of its
 * real path for "." and the like); malloc'ed, NULL without memory. */
char *wn_ds_default_name(const char *dir);

/* Write all of p[0..n) to fd, retrying short writes and EINTR: 0, or the
 * errno of the failed write (the caller names the file). */
int wn_ds_write_all(int fd, const void *p, size_t n);

/* Sort helpers (qsort comparators). */
int wn_ds_shard_cmp(const void *a, const void *b); /* struct wn_ds_shard ** by path */

/* ---- one token shard being written ---------------------------------------- */

/*
 * The files of one open shard of a token format, in DIR/data under their
 * temporary names ".{split}-{i:05d}{ext}.tmp", hashed as they are written.
 * The owner decides when to close; wn_ds_tok_end completes the files and
 * their digests, and wn_ds_tok_sync then makes them durable and closes them:
 * in between, the owner records their temporary names so that it can remove
 * them should anything later fail.  Every function returns a status and
 * fills err; any failure leaves the shard to be discarded.
 */
struct wn_ds_tokfile {
	char tmp[WN_DS_SPLIT_MAX + 64];
	int fd; /* >= 0 while this object owns the file */
	uint64_t bytes;
	unsigned char sha256[32], xxh3[16];
};

struct wn_ds_tokshard {
	/* Set by the owner before the first open. */
	enum wn_shard_format format;
	enum wn_ds_dtype dtype;
	uint32_t eot;               /* NANOGPT */
	const char *tokenizer_name; /* DATATROVE's metadata; "" when unknown */
	const char *dir;            /* for messages */
	int datafd;

	const struct wn_ds_format *fmt;
	unsigned width; /* bytes per token */
	int open;
	struct wn_ds_tokfile f[WN_DS_MAX_FILES];
	/* [0] hashes the token file as it is written, [1] the index. */
	EVP_MD_CTX *sha[2];
	XXH3_state_t *xxh[2];
	unsigned char *buf, *ibuf; /* token and index bytes not yet written */
	size_t len, ilen;
	uint64_t documents, tokens;
};

/* Allocate buffers and digests: WN_ENOMEM. */
int wn_ds_tok_init(struct wn_ds_tokshard *t);
/* Close and remove the files still owned, free the rest. */
void wn_ds_tok_release(struct wn_ds_tokshard *t);
/* Create the files of shard `index` of split. */
int wn_ds_tok_open(struct wn_ds_tokshard *t, const char *split, unsigned index,
                   struct wn_error *err);
/* Append one document; the ids were checked against the vocabulary. */
int wn_ds_tok_add(struct wn_ds_tokshard *t, const uint32_t *ids, size_t n, struct wn_error *err);
/* Bytes of the token file so far (written or buffered). */
uint64_t wn_ds_tok_data_bytes(const struct wn_ds_tokshard *t);
/* Bytes of all the shard's files so far. */
uint64_t wn_ds_tok_bytes(const struct wn_ds_tokshard *t);
/* Complete every file and its digests; the files stay open. */
int wn_ds_tok_end(struct wn_ds_tokshard *t, struct wn_error *err);
/* fsync and close every file; they are the owner's from here on, even on
 * failure (then all are closed). */
int wn_ds_tok_sync(struct wn_ds_tokshard *t, struct wn_error *err);
/* Close and remove the files of a shard that will not be finished. */
void wn_ds_tok_discard(struct wn_ds_tokshard *t);

/* ---- the journal of an unfinished dataset (ds_journal.c) ------------------ */

/*
 * DIR/.winnow-journal.jsonl, from creation to the end of a successful
 * finish: a line describing the run, a line per input file, a line per
 * shard once its files are complete and durable.  See docs/manifest.md.
 */
#define WN_DS_JOURNAL ".winnow-journal.jsonl"
#define WN_DS_JOURNAL_VERSION 1

struct json_t;

/* One file of a journaled shard: what its manifest entry needs. */
struct wn_ds_jfile {
	uint64_t bytes, raw_bytes;
	unsigned char sha256[32], xxh3[16], raw_xxh3[16];
};

/* A shard as the journal records it. */
struct wn_ds_jshard {
	const char *split; /* borrowed */
	unsigned index;
	uint64_t records, tokens; /* records: documents for the token formats */
	int end;                  /* closed by finish: its split's last */
	/* XXH3-128 of what the writer was given for it: the raw content of a
	 * JSONL shard; for the token formats, each document's length as a
	 * 32-bit integer followed by its ids as 32-bit integers (host order). */
	unsigned char content[16];
	size_t nfiles;
	struct wn_ds_jfile f[WN_DS_MAX_FILES];
};

/* Append obj as a sealed journal line (its "check" added, a newline). */
int wn_ds_journal_seal(struct wn_buf *out, const struct json_t *obj);
/* The object of the sealed line p[0..n) (without its newline), its "check"
 * removed; NULL when it is torn, damaged or not an object. */
struct json_t *wn_ds_journal_unseal(const char *p, size_t n);
/* A shard line's object; NULL without memory. */
struct json_t *wn_ds_journal_shard(const struct wn_ds_jshard *j, int jsonl);
/* Read a shard line of a format of nfiles files: 0, or -1 when it is not
 * one (j->split is borrowed from o). */
int wn_ds_journal_get_shard(const struct json_t *o, size_t nfiles, int jsonl,
                            struct wn_ds_jshard *j);
/* An input line's object; NULL without memory. */
struct json_t *wn_ds_journal_input(const char *path, uint64_t size, int64_t mtime_ns);
int wn_ds_journal_get_input(const struct json_t *o, const char **path, uint64_t *size,
                            int64_t *mtime_ns);
/* The first member whose value differs between the two objects (or is in
 * one only), or NULL when they agree. */
const char *wn_ds_journal_differs(const struct json_t *was, const struct json_t *now);
/* 1 when dirfd/name is a regular file of that size and XXH3-128; 0 when it
 * is not (or cannot be read); WN_ENOMEM. */
int wn_ds_file_matches(int dirfd, const char *name, uint64_t bytes, const unsigned char xxh3[16]);

#endif
