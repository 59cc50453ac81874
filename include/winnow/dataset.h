/*
 * dataset.h - writing and verifying a Hub-ready dataset directory:
 *
 *   DIR/data/{split}-{i:05d}-of-{n:05d}.jsonl.zst   shards (one zstd frame each)
 *   DIR/manifest.json                               see docs/manifest.md
 *   DIR/SHA256SUMS                                  `sha256sum -c` format
 *   DIR/README.md                                   dataset card (Hub YAML)
 *
 * Shards are written under temporary names and renamed when the dataset is
 * finished; the card, SHA256SUMS and finally the manifest are written last,
 * each to a temporary file renamed into place.  An interrupted run leaves no
 * file that looks complete and is not.
 *
 * Output bytes depend only on the records and the options, never on the
 * thread count or timing: compression runs zstd in its multi-threaded mode
 * (whose output is the same for any number of workers >= 1), and a shard is
 * closed by a rule that looks only at sizes known deterministically.
 */
#ifndef WINNOW_DATASET_H
#define WINNOW_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WN_DEFAULT_MAX_SHARD_SIZE ((uint64_t)256 << 20)
#define WN_DEFAULT_ZSTD_LEVEL 3

/* What the shards hold.  JSONL shards are zstd-compressed JSON Lines; the
 * token formats are uncompressed little-endian token files that training
 * code memory-maps (see docs/manifest.md):
 *   MEGATRON   {split}-{i:05d}-of-{n:05d}.bin + .idx (MMIDIDX v1, one
 *              document per sequence; uint16 when vocab_size < 65500, else
 *              int32)
 *   DATATROVE  .ds (uint16, or uint32 when vocab_size > 65536) + .ds.index
 *              (uint64 cumulative document ends, no leading 0)
 *   NANOGPT    .bin, flat tokens (uint16, or uint32 when vocab_size > 65536)
 *              with opts->eot after each document */
enum wn_shard_format {
	WN_SHARD_JSONL = 0,
	WN_SHARD_MEGATRON,
	WN_SHARD_DATATROVE,
	WN_SHARD_NANOGPT,
};

struct wn_dataset_opts {
	const char *dir;        /* output directory */
	int level;              /* zstd level, 1..19 */
	uint64_t max_size;      /* compressed bytes per shard; 0 = default */
	uint64_t max_records;   /* records per shard; 0 = unlimited */
	unsigned threads;       /* compression workers, >= 1 */
	int force;              /* allow a non-empty existing dir (its winnow
	                           files are replaced) */
	const char *pipeline;   /* recorded in the manifest and the card */
	const char *name;       /* dataset name for the card (default: dir's
	                           base name) */
	/* Token formats (ignored for JSONL): */
	enum wn_shard_format format;
	uint32_t vocab_size;    /* picks the dtype */
	uint32_t eot;           /* NANOGPT: appended after each document */
	uint64_t max_tokens;    /* close a shard at this many tokens; 0 = none */
	const char *tokenizer_name;   /* recorded in the manifest and card */
	const char *tokenizer_sha256;
	/* Continue the interrupted run whose journal is in dir (see below);
	 * without one, start afresh. */
	int resume;
};

struct wn_dataset;

/* Create DIR (and DIR/data, and missing parents); refuse a non-empty DIR
 * (WN_EUSAGE) unless opts->force, which removes an earlier dataset's files
 * but refuses other files in DIR/data (see docs/manifest.md).  level 0
 * means the default, threads 0 means 1; the pipeline must be UTF-8. */
int wn_dataset_create(struct wn_dataset **ds, const struct wn_dataset_opts *o,
                      struct wn_error *err);
/* Append one record (JSON object bytes, no newline) to a split; splits
 * are created on first use.  Split names: [A-Za-z0-9_]{1,64}.  An empty
 * record or one containing '\n' is WN_EDATA and a bad split name
 * WN_EUSAGE: the writer stays usable.  After an I/O or memory error every
 * later call fails with the same status. */
int wn_dataset_add(struct wn_dataset *ds, const char *split, const char *rec,
                   size_t len, struct wn_error *err);
/* Append one tokenized document to a split (token formats only; for JSONL
 * datasets this is WN_EUSAGE).  An id >= vocab_size is WN_EDATA. */
int wn_dataset_add_tokens(struct wn_dataset *ds, const char *split, const uint32_t *ids,
                          size_t n, struct wn_error *err);
/* Close every shard, give shards their final names, write README.md,
 * SHA256SUMS and manifest.json. */
int wn_dataset_finish(struct wn_dataset *ds, struct wn_error *err);
/* Free; without a successful finish, every file this writer created
 * (temporary or already renamed) is removed, and DIR/data and DIR too when
 * it created them and they are empty, unless it keeps them for a resume
 * (wn_dataset_keep, below). */
void wn_dataset_free(struct wn_dataset *ds);

/*
 * Resuming.  From creation to the end of a successful finish, the writer
 * keeps a journal, DIR/.winnow-journal.jsonl: the options and pipeline, the
 * input files, and every shard once its files are complete and durable
 * (under their temporary names).  After a crash, a kill or a failed run
 * that kept its shards (wn_dataset_keep), a writer created with
 * opts->resume on the same DIR, options and pipeline keeps the journaled
 * shards whose files still have their size and XXH3-128, removes every
 * other shard file, and then expects the same records again from the
 * start: those of the kept shards are hashed and counted, not written
 * (WN_EDATA, "the input changed", when they differ), and the rest is
 * written as it would have been, so the finished dataset is byte-identical
 * to an uninterrupted run's.  create refuses to resume a run of other
 * options or pipeline, or of another winnow version (WN_EUSAGE), or one
 * whose input files changed size or modification time (WN_EDATA), before
 * it changes anything; a finished dataset (no journal) is WN_EUSAGE.
 */
struct wn_dataset_totals;

/* Have wn_dataset_free, without a successful finish, keep the journal and
 * the shards it lists (for a later resume) and remove only the rest.  A
 * writer that resumed a run always keeps. */
void wn_dataset_keep(struct wn_dataset *ds);
/* 1 when this writer resumed an interrupted run: *kept then counts the
 * shards it kept, *removed the partial files it removed; 0 otherwise. */
int wn_dataset_resumed(const struct wn_dataset *ds, struct wn_dataset_totals *kept,
                       uint64_t *removed);
/* The records that follow come from the file at path: its size and
 * modification time are journaled, for a resume to check.  "-" and paths
 * that are not regular files are ignored. */
int wn_dataset_input(struct wn_dataset *ds, const char *path, struct wn_error *err);

/* Counts so far (after finish: of the whole dataset); bytes counts the
 * compressed bytes written, including those of shards still open. */
struct wn_dataset_totals {
	uint64_t shards, records, bytes, raw_bytes;
	uint64_t tokens; /* token formats */
};
void wn_dataset_totals(const struct wn_dataset *ds,
                       struct wn_dataset_totals *t);

/*
 * Deterministic split assignment: true when the record whose key (id, or
 * content when it has no id) is key[0..len) belongs to the held-out split
 * for this fraction and seed.  Uniform, stable across runs and machines.
 */
int wn_split_pick(const void *key, size_t len, uint64_t seed, double fraction);

/* Sizes are parsed by wn_parse_size, declared in winnow/stage.h. */

/* ---- verification ----------------------------------------------------- */

struct wn_verify_opts {
	int deep;          /* also decode every shard and count records */
	unsigned threads;  /* hash this many shards at once (>= 1) */
};

/* One problem found, e.g. {path "data/train-00000-of-00002.jsonl.zst",
 * kind "sha256", detail "expected 3a7f..., got 09c1..."}.  path is relative
 * to the dataset directory (a shard's path as the manifest spells it, or
 * "manifest.json", "SHA256SUMS", "data/..."); detail is never NULL. */
struct wn_verify_problem {
	char *path;
	const char *kind; /* missing, truncated, size, sha256, xxh3_128,
	                     extra, unsafe-path, decode, records, raw_bytes,
	                     raw_xxh3_128, manifest, sha256sums, io (a file
	                     that exists but cannot be read); for token
	                     formats also index, documents, tokens, metadata */
	char *detail;
};

struct wn_verify_report {
	char *dir;             /* the dataset directory that was checked */
	uint64_t shards;       /* shards listed in the manifest (a token
	                          shard's files count once) */
	uint64_t bytes;        /* bytes hashed */
	uint64_t records;      /* records (documents) counted (deep only) */
	struct wn_verify_problem *problems;
	size_t nproblems;
};

/*
 * Verify DIR (or DIR/manifest.json given directly).  Returns WN_OK when
 * every check passed, WN_EVERIFY when problems were found (listed in the
 * report, each on its own), or another error when verification could not
 * run at all.  Never reads or writes outside DIR: manifest paths that are
 * absolute, contain "..", or resolve through a symlink out of DIR are
 * reported as unsafe-path and not opened.
 */
int wn_verify(const char *target, const struct wn_verify_opts *o,
              struct wn_verify_report *rep, struct wn_error *err);
void wn_verify_report_release(struct wn_verify_report *rep);

/* ---- merging ----------------------------------------------------------- */

/*
 * Join datasets written by separate ranks (each by `shard`) into one, in
 * the order given: the shards of each split are numbered across the inputs
 * ({split}-{i:05d}-of-{n:05d}, i counting on from the previous input's),
 * with one manifest, card and SHA256SUMS, as if one writer had made them.
 * Shards are hard-linked, never recompressed: the inputs stay as they were
 * (move removes them once the output is complete).
 */
struct wn_merge_opts {
	const char *out;            /* the dataset directory to make */
	const char *const *inputs;  /* dataset directories, in rank order */
	size_t ninputs;
	int move;          /* remove the inputs once out is complete */
	int copy;          /* copy the files that cannot be hard-linked
	                      (another filesystem); else that is WN_EUSAGE */
	int force;         /* replace an earlier dataset in out, as
	                      wn_dataset_create does */
	int deep;          /* verify the inputs in wn_verify's deep mode */
	unsigned threads;  /* verification threads; 0 means 1 */
	const char *name;  /* card title; NULL: the pipeline's `shard --name`,
	                      else out's base name */
	/* Notes on the way ("copying ..."); may be NULL. */
	void (*note)(void *ud, const char *msg);
	void *ud;
};

struct wn_merge_result {
	enum wn_shard_format format;
	uint64_t inputs;
	uint64_t shards, files;  /* a token shard is several files */
	uint64_t records, tokens, bytes, raw_bytes;
	uint64_t linked, copied; /* files */
	int cleaned;             /* an interrupted merge's leftovers in out were
	                            removed first */
};

/*
 * Every input must verify (wn_verify: sizes, SHA-256 and XXH3-128 of every
 * file; deep if asked), else WN_EVERIFY naming the input and its first
 * problem; all must share the shard format, tokenizer, winnow version and
 * recorded pipeline, which may differ only in its input files (WN_EDATA
 * otherwise).  The same directory twice is WN_EUSAGE.  out must not exist
 * or be empty, nor be an input or inside one (WN_EUSAGE); what an
 * interrupted merge left there (its marker file, no manifest) is cleared.
 * Nothing is written before every input has been checked; on failure,
 * everything written is removed.  The manifest is written last.
 */
int wn_dataset_merge(const struct wn_merge_opts *o, struct wn_merge_result *res,
                     struct wn_error *err);

#ifdef __cplusplus
}
#endif
#endif
