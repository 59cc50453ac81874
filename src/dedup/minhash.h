/*
 * minhash.h - MinHash signatures and an LSH index for near-duplicate
 * detection (src/dedup); not installed.
 *
 * The method is datatrove's (REFERENCE.md, "MinHash"), done in one streaming
 * pass: a document's text is cut into shingles, each shingle is hashed to 64
 * bits, each hash goes through bands * rows permutations, and the signature
 * keeps the minimum of every permutation.  The signature is cut into `bands`
 * bands of `rows` values; each band is hashed to one 64-bit band key.  Two
 * documents whose keys are equal in at least one band are candidates; a pair
 * at word-5-gram Jaccard J is a candidate with probability
 * 1 - (1 - J^rows)^bands (0.92 at J = 0.8 with the defaults 14 x 8).
 *
 * Three objects:
 *   - struct wn_minhash_params: the parameters (plain struct, by value);
 *   - struct wn_minhash: text -> signature, with its permutations and
 *     scratch space.  Read-only parameters, but the scratch space makes it
 *     single-threaded: give each thread its own (they are cheap: a few KB);
 *   - struct wn_minhash_index: the band keys of the kept documents (LSH
 *     tables), query-and-insert in one call, save/load/merge.  One thread at
 *     a time.
 *
 * Pointers passed in are borrowed.  Results are deterministic: the same
 * parameters and the same texts in the same order give the same signatures,
 * the same decisions, the same entry numbers and the same saved bytes, on
 * every machine (the vectorised and the portable code compute the same
 * exact values; the file format is little-endian).
 *
 * ---------------------------------------------------------------------------
 * Shingles
 *
 * The caller normalises the text (lowercasing, punctuation, ...); this
 * module only splits it.
 *
 *   WN_MINHASH_WORDS: a word is a maximal run of bytes that are not
 *     whitespace, where whitespace is ASCII space, \t, \n, \v, \f, \r and
 *     the Unicode White_Space characters written in UTF-8 (U+0085, U+00A0,
 *     U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
 *     Punctuation is part of a word unless the normalisation removed it;
 *     the amount and kind of whitespace between words does not matter.
 *     Each word is hashed once, w = XXH3_64bits_withSeed(word bytes, seed);
 *     a shingle is `ngram` consecutive words and its hash is
 *         XXH3_64bits_withSeed(its ngram word hashes as 8*ngram
 *                              little-endian bytes, seed)
 *     (hashing hashes costs one short hash per word whatever ngram is).
 *     A text of 1 to ngram-1 words is one shingle of all its words, hashed
 *     the same way over its 8*m bytes.
 *   WN_MINHASH_CHARS: a shingle is `ngram` consecutive code points of the
 *     text, whitespace included; its hash is
 *         XXH3_64bits_withSeed(its UTF-8 bytes, seed).
 *     A code point starts at every byte that is not a UTF-8 continuation
 *     byte (10xxxxxx) and runs to the next such byte, so any input works
 *     and valid UTF-8 gives its real code points (stray continuation bytes
 *     at the very start form one code point).  A text of 1 to ngram-1 code
 *     points is one shingle.
 *
 * A text without shingles (in words mode, one with no word: empty or all
 * whitespace; in chars mode, an empty one) has the signature all
 * WN_MINHASH_EMPTY, and the index never calls it a near-duplicate nor
 * stores it (exact dedup is the tool for empty texts).
 * Shingles repeated inside one document are hashed again (the minimum does
 * not change); the signature depends only on the set of shingles.
 *
 * Permutations
 *
 * With P = 2^61 - 1 and h the shingle hash, permutation i maps h to
 *     ((h mod P) * a[i] + b[i]) mod P
 * computed exactly (no wrap at 2^64), so every value is in [0, P).
 * a[i] is in [1, P) and b[i] in [0, P); both come from the seed through
 * splitmix64: with state s = seed, each draw is s += 0x9e3779b97f4a7c15
 * then the splitmix64 finaliser of s, reduced to its low 61 bits and
 * rejected when out of range (a[0], b[0], a[1], b[1], ... in that order).
 * (datatrove multiplies in numpy uint64, which wraps before the modulo; the
 * values differ from ours but the family is the same.)
 *
 * Band keys
 *
 * key[b] = XXH3_64bits_withSeed(sig[b*rows .. b*rows+rows-1] as 8*rows
 * little-endian bytes, b).  64 bits: over N kept documents the expected
 * number of false key collisions (unrelated bands with equal keys) is about
 * bands * N^2 / 2^65, 0.004 at N = 10^8.  Keys are only compared within a
 * band.
 * ---------------------------------------------------------------------------
 */
#ifndef WN_DEDUP_MINHASH_H
#define WN_DEDUP_MINHASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The modulus of the permutations, 2^61 - 1. */
#define WN_MINHASH_PRIME ((UINT64_C(1) << 61) - 1)
/* Every value of the signature of a text without shingles (never a
 * permutation value, which is below WN_MINHASH_PRIME). */
#define WN_MINHASH_EMPTY UINT64_MAX
/* "No entry" (wn_minhash_match.entry when nothing was matched or added). */
#define WN_MINHASH_NONE UINT64_MAX

/* Limits checked by wn_minhash_params_check. */
#define WN_MINHASH_MAX_NGRAM 256
#define WN_MINHASH_MAX_HASHES 1024   /* bands * rows */

enum wn_minhash_shingle {
	WN_MINHASH_WORDS = 0,   /* word n-grams */
	WN_MINHASH_CHARS = 1,   /* code point n-grams */
};

struct wn_minhash_params {
	enum wn_minhash_shingle shingle;
	uint32_t ngram;   /* words or code points per shingle, 1..256 */
	uint32_t bands;   /* >= 1 */
	uint32_t rows;    /* >= 1; bands * rows <= WN_MINHASH_MAX_HASHES */
	uint64_t seed;    /* shingle hashes, permutations */
};

/* The defaults: words, ngram 5, 14 bands x 8 rows, seed 1. */
void wn_minhash_params_default(struct wn_minhash_params *p);

/*
 * Apply a named preset to *p, leaving the seed as it is:
 *   "default"  words, ngram 5, 14 x 8 (datatrove's defaults)
 *   "nemo"     chars, ngram 24, 20 x 13 (NeMo Curator's; its 32-bit hashes
 *              are not reproduced: values stay 61-bit)
 * WN_EUSAGE for an unknown name.
 */
int wn_minhash_params_preset(struct wn_minhash_params *p, const char *name,
                             struct wn_error *err);

/* "words" / "chars" -> *out; WN_EUSAGE otherwise. */
int wn_minhash_shingle_parse(const char *name, enum wn_minhash_shingle *out,
                             struct wn_error *err);
/* WN_MINHASH_WORDS -> "words", WN_MINHASH_CHARS -> "chars". */
const char *wn_minhash_shingle_name(enum wn_minhash_shingle s);

/* WN_OK, or WN_EUSAGE naming the parameter out of range. */
int wn_minhash_params_check(const struct wn_minhash_params *p,
                            struct wn_error *err);

/* Number of values in a signature: bands * rows. */
static inline uint32_t
wn_minhash_params_hashes(const struct wn_minhash_params *p)
{
	return p->bands * p->rows;
}

/* The probability that a pair at Jaccard j shares at least one band key:
 * 1 - (1 - j^rows)^bands. */
double wn_minhash_probability(const struct wn_minhash_params *p, double j);

/* The usual approximation of the Jaccard where that probability turns
 * from low to high, (1/bands)^(1/rows): 0.72 for 14 x 8. */
double wn_minhash_threshold(const struct wn_minhash_params *p);

/* ----------------------------------------------------------------------- */
/* Signatures */

struct wn_minhash;

/* A hasher for checked parameters (WN_EUSAGE otherwise, WN_ENOMEM). */
int wn_minhash_new(struct wn_minhash **out, const struct wn_minhash_params *p,
                   struct wn_error *err);
void wn_minhash_free(struct wn_minhash *mh);

/* Its parameters (owned by mh). */
const struct wn_minhash_params *wn_minhash_get_params(const struct wn_minhash *mh);

/* Permutation i's multiplier and addend (tests and other implementations). */
uint64_t wn_minhash_perm_a(const struct wn_minhash *mh, uint32_t i);
uint64_t wn_minhash_perm_b(const struct wn_minhash *mh, uint32_t i);

/*
 * Fill sig[0 .. bands*rows-1] with the signature of text[0..len) and return
 * the number of shingles (0: sig is all WN_MINHASH_EMPTY).  Never fails and
 * never allocates: long texts are processed in blocks of shingles.
 * text need not be NUL-terminated; any bytes are accepted.
 */
size_t wn_minhash_signature(struct wn_minhash *mh, const char *text,
                            size_t len, uint64_t *sig);

/*
 * Call fn(hash, arg) for every shingle hash of the text, in text order,
 * repeats included; return the number of shingles.  The same shingles as
 * wn_minhash_signature (used by tools to compute true Jaccard).
 */
size_t wn_minhash_shingles(struct wn_minhash *mh, const char *text, size_t len,
                           void (*fn)(uint64_t hash, void *arg), void *arg);

/*
 * The signature code in use: "avx512", "avx2" or "portable", chosen from the
 * CPU by wn_minhash_new.  All compute the same values; set_kernel forces one
 * (tests, benchmarks), WN_EUSAGE when the name is unknown or the CPU lacks it.
 */
const char *wn_minhash_kernel(const struct wn_minhash *mh);
int wn_minhash_set_kernel(struct wn_minhash *mh, const char *name,
                          struct wn_error *err);

/* ((h mod P) * a + b) mod P for a, b < P: the scalar reference. */
uint64_t wn_minhash_permute(uint64_t h, uint64_t a, uint64_t b);

/* keys[0 .. bands-1] from a signature (see "Band keys" above). */
void wn_minhash_band_keys(const struct wn_minhash_params *p,
                          const uint64_t *sig, uint64_t *keys);

/*
 * The Jaccard estimate of two signatures of n values: the share of
 * positions where they are equal.  Two empty signatures give 1, an empty
 * and a non-empty one 0.
 */
double wn_minhash_jaccard(const uint64_t *a, const uint64_t *b, size_t n);

/* ----------------------------------------------------------------------- */
/* The LSH index */

/*
 * The index holds one entry per kept document, numbered 0, 1, 2, ... in
 * insertion order.  An entry is its band keys, an optional label (the
 * caller's bytes, e.g. the record id, for `duplicate_of`), and, when the
 * index stores signatures, the low 32 bits of each signature value.  The
 * entry number is a stable cluster id: it survives save and load, and a
 * merge keeps the destination's numbers.
 *
 * Per band, a hash table maps a band key to the entry that brought it.
 * Memory per entry (wn_minhash_index_memory reports the exact total):
 *     8 * bands              band keys
 *   + 5 * bands / load       tables: a 4-byte entry number and a 1-byte
 *                            fingerprint per slot; the load stays between
 *                            0.5 and 0.75 (each table grows by 1.5x)
 *   + 8 + label bytes        label offset and length, label bytes
 *   + 4 * bands * rows       only with signatures (--verify-jaccard)
 * Defaults (14 x 8), no label: 213 to 260 bytes (249 measured at 10^7
 * entries); with signatures 448 more.  Growing a table briefly needs one
 * band's table twice.  At most 2^32 - 2 entries (WN_ETOOBIG after that).
 */
struct wn_minhash_index;

struct wn_minhash_match {
	/* 1: the document is a near-duplicate of entry `entry`; 0: it is not
	 * (then wn_minhash_index_add stored it as entry `entry`, or `entry` is
	 * WN_MINHASH_NONE for a text without shingles or a query). */
	int duplicate;
	uint64_t entry;
	/* The first band (0-based) whose key matched `entry`, or -1. */
	int32_t band;
	/* Band-key matches found: (band, entry) pairs, so an entry matching
	 * in three bands counts three. */
	uint32_t candidates;
	/* With verification: the estimated Jaccard with the best candidate
	 * (even when below the threshold, when `duplicate` is 0); -1 without
	 * verification or without candidates. */
	double jaccard;
};

/*
 * A new empty index.  verify = 0: no signatures stored; a document is a
 * near-duplicate when one of its band keys is in the index.  0 < verify <= 1:
 * signatures are stored (4 * bands * rows bytes per entry) and a candidate
 * counts only when the estimated Jaccard (from the 32-bit values) is
 * >= verify.  WN_EUSAGE for bad parameters or verify out of range.
 */
int wn_minhash_index_new(struct wn_minhash_index **out,
                         const struct wn_minhash_params *p, double verify,
                         struct wn_error *err);
void wn_minhash_index_free(struct wn_minhash_index *idx);

/*
 * Query and insert in one call.  sig is the document's signature
 * (bands*rows values for the index's parameters).  Without verification the
 * match is the lowest-numbered entry sharing any band key; with it, the
 * candidate of highest estimated Jaccard (lowest number on ties), if that
 * reaches the threshold.  A document that is not a duplicate (and has
 * shingles) is stored as a new entry with the label label[0..label_len)
 * (label may be NULL when label_len is 0; at most 65535 bytes).  *m is
 * always filled on success.  Errors: WN_ENOMEM, WN_ETOOBIG (a longer label,
 * or the entry limit); the index holds the same entries then.
 */
int wn_minhash_index_add(struct wn_minhash_index *idx, const uint64_t *sig,
                         const char *label, size_t label_len,
                         struct wn_minhash_match *m, struct wn_error *err);

/* The same decision as wn_minhash_index_add without storing anything. */
void wn_minhash_index_query(const struct wn_minhash_index *idx,
                            const uint64_t *sig, struct wn_minhash_match *m);

/* Entries stored. */
uint64_t wn_minhash_index_count(const struct wn_minhash_index *idx);

/* Bytes allocated by the index (tables, keys, labels, signatures). */
size_t wn_minhash_index_memory(const struct wn_minhash_index *idx);

/* The parameters (owned by idx). */
const struct wn_minhash_params *
wn_minhash_index_params(const struct wn_minhash_index *idx);

/* Entry e's label: *label points into the index (valid until the next
 * add, merge or free), *len its length.  WN_EUSAGE when e is not an entry. */
int wn_minhash_index_label(const struct wn_minhash_index *idx, uint64_t e,
                           const char **label, size_t *len,
                           struct wn_error *err);

/* Whether entries carry signatures (the index was made or saved with
 * verification). */
int wn_minhash_index_has_signatures(const struct wn_minhash_index *idx);

/*
 * Change the verification threshold of an index (e.g. after loading one):
 * 0 turns verification off (signatures, if stored, are still kept and saved
 * for new entries); 0 < verify <= 1 needs an index with signatures
 * (WN_EUSAGE otherwise: "the index has no signatures").
 */
int wn_minhash_index_set_verify(struct wn_minhash_index *idx, double verify,
                                struct wn_error *err);

/*
 * A caller-defined context string saved in the file and compared by
 * wn_minhash_index_check and merge, for what this module cannot see, such
 * as the normalisation ("normalize=datatrove").  At most 255 bytes
 * (WN_EUSAGE); empty by default.  The index keeps a copy.
 */
int wn_minhash_index_set_context(struct wn_minhash_index *idx,
                                 const char *context, struct wn_error *err);
const char *wn_minhash_index_context(const struct wn_minhash_index *idx);

/*
 * Check that a loaded index fits this run: same parameters (shingle, ngram,
 * bands, rows, seed) and context, and signatures present when
 * need_signatures.  WN_EUSAGE with a message naming the first difference and
 * `name` (the file), e.g.
 *     old.idx: index has bands 20, this run uses 14
 */
int wn_minhash_index_check(const struct wn_minhash_index *idx,
                           const struct wn_minhash_params *p,
                           const char *context, int need_signatures,
                           const char *name, struct wn_error *err);

/*
 * Write the index to f (the caller opens, flushes, fsyncs, renames: write to
 * a temporary file for an atomic replace).  The bytes depend only on the
 * entries, parameters and context, not on table sizes or history.  name is
 * used in messages.  WN_EIO on a write error.
 *
 * Format, version 1, all integers little-endian:
 *   offset size
 *     0      8   magic "WNMINHSH"
 *     8      4   format version (1)
 *    12      4   flags: bit 0 = signatures stored
 *    16      4   shingle (0 words, 1 chars)
 *    20      4   ngram
 *    24      4   bands
 *    28      4   rows
 *    32      8   seed
 *    40      8   entries n
 *    48      8   label bytes L
 *    56      4   context length c (<= 255)
 *    60      c   context bytes
 *    then    8*bands*n  band keys, entry by entry (entry 0's bands first)
 *            4*n        label lengths
 *            L          label bytes, entry by entry
 *            4*bands*rows*n  signature low 32 bits, only with flag bit 0
 *    end    16   XXH3-128 of every byte before it (high 64 bits first)
 */
int wn_minhash_index_save(const struct wn_minhash_index *idx, FILE *f,
                          const char *name, struct wn_error *err);

/*
 * Read an index written by wn_minhash_index_save from f (to end of file) and
 * rebuild its tables.  WN_EDATA naming `name` for a bad magic, an unknown
 * version, bad parameters, a truncated file, trailing bytes or a checksum
 * mismatch; WN_EIO on a read error; WN_ENOMEM.  The loaded index does not
 * verify (call wn_minhash_index_set_verify).
 */
int wn_minhash_index_load(struct wn_minhash_index **out, FILE *f,
                          const char *name, struct wn_error *err);

/*
 * Add src's entries to dst, in src's order, as wn_minhash_index_add would
 * (with dst's verification setting): an entry of src that is a
 * near-duplicate of one already in dst is not added.  So merging the index
 * of last month into an empty one and then this month's gives the index of
 * the kept documents of both.  Parameters and context must be equal
 * (WN_EUSAGE); src's signatures are needed when dst stores signatures.
 * On error dst may hold part of src's entries.
 */
int wn_minhash_index_merge(struct wn_minhash_index *dst,
                           const struct wn_minhash_index *src,
                           struct wn_error *err);

#ifdef __cplusplus
}
#endif
#endif
