/*
 * stats.h - a summary of a corpus: record, byte, character, word, line and
 * token counts, the distribution of document lengths, language counts and
 * the fields present, over JSONL/CSV/TSV inputs or winnow dataset
 * directories (docs/winnow-stats.md).
 *
 * Memory is bounded whatever the input size: lengths go into histograms of
 * a fixed size (struct wn_hist), and at most a fixed number of distinct
 * field names and languages are tracked.
 *
 * Ownership: a collector (wn_stats_new) is freed with wn_stats_free; a
 * report it fills belongs to the caller, who releases it with
 * wn_stats_report_release.  Strings passed in are borrowed for the life of
 * the collector.
 */
#ifndef WINNOW_STATS_H
#define WINNOW_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/buf.h"
#include "winnow/io.h"
#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- histograms --------------------------------------------------------- */

/*
 * A log-linear histogram of uint64 values, after HdrHistogram: every value
 * below WN_HIST_EXACT has a bucket of its own; above, each power of two
 * [2^e, 2^(e+1)) is cut into WN_HIST_SUB equal buckets, so a bucket is at
 * most 1/WN_HIST_SUB of its lowest value wide.  count, sum, min and max are
 * exact (sum while below 2^64); a quantile is exact when the values it is
 * made of are below WN_HIST_EXACT (1024), and otherwise within a relative
 * 1/(2 * WN_HIST_SUB) (0.1%) of the exact one.  Buckets are allocated up
 * to the largest value seen: 4 KiB per power of two above 1024, 8 KiB
 * below, so lengths below a million characters take 48 KiB and no
 * histogram ever takes more than WN_HIST_BUCKETS counters (224 KiB).
 */
#define WN_HIST_SUB_BITS 9
#define WN_HIST_SUB (1u << WN_HIST_SUB_BITS)
#define WN_HIST_EXACT (2u * WN_HIST_SUB)
#define WN_HIST_BUCKETS ((size_t)(65 - WN_HIST_SUB_BITS) * WN_HIST_SUB)

struct wn_hist {
	uint64_t count, sum, min, max; /* min and max are 0 when empty */
	uint64_t *bucket;              /* counts of buckets 0 .. nbuckets-1 */
	size_t nbuckets;               /* allocated; every value seen has one */
};

/* Start empty (allocates nothing). */
int wn_hist_init(struct wn_hist *h);
void wn_hist_release(struct wn_hist *h);
/* Empty again, keeping the memory. */
void wn_hist_reset(struct wn_hist *h);
/* Count v.  WN_ENOMEM when its bucket cannot be allocated (h unchanged). */
int wn_hist_add(struct wn_hist *h, uint64_t v);
/* Add every value of src to dst.  WN_ENOMEM (dst unchanged). */
int wn_hist_merge(struct wn_hist *dst, const struct wn_hist *src);

/* The bucket of a value, and the lowest and highest value of a bucket. */
size_t wn_hist_bucket(uint64_t v);
uint64_t wn_hist_bucket_low(size_t i);
uint64_t wn_hist_bucket_high(size_t i);

/* The mean, sum / count (0 when empty). */
double wn_hist_mean(const struct wn_hist *h);

/*
 * The q-quantile (0 <= q <= 1) as numpy.quantile computes it by default
 * ("linear"): with the values sorted as x[0..n), h = (n - 1) q, the result
 * is x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).  x[0] and
 * x[n-1] are the exact min and max; another x[k] is its bucket's value when
 * exact, else the middle of its bucket (clamped to [min, max]).  0 when
 * the histogram is empty.
 */
double wn_hist_quantile(const struct wn_hist *h, double q);

/*
 * Bins for showing a histogram, on a log scale: [lo, hi) ranges whose edges
 * are, at the finest, 0 1 2 3 4 5 6 7 8 10 12 14 16 20 24 28 32 40 ... (four
 * per power of two), then 0 1 2 3 4 6 8 12 16 24 ... (two), then powers of
 * 2, 4, 16, 256, 2^16, 2^32.  Every edge is a bucket boundary, so the
 * counts are exact.  The finest scale that covers [min, max] in at most
 * maxbins bins (at least 4 are always allowed) is used; the bins run from
 * the one holding min to the one holding max, empty ones included.  hi is
 * 0 for a bin that reaches past UINT64_MAX.  out must have room for maxbins
 * bins (or WN_HIST_MAX_BINS); returns the number written, 0 when empty.
 */
#define WN_HIST_MAX_BINS 256
struct wn_hist_bin {
	uint64_t lo, hi, count;
};
size_t wn_hist_bins(const struct wn_hist *h, size_t maxbins, struct wn_hist_bin *out);

/* ---- collecting ------------------------------------------------------------ */

#define WN_STATS_MAX_FIELDS 1024    /* distinct field names tracked */
#define WN_STATS_MAX_LANGUAGES 1024 /* distinct languages tracked */
#define WN_STATS_MAX_NAME 256       /* longer names are not tracked */

struct wn_stats_opts {
	const char *text_field;  /* the text; NULL: "text" */
	const char *ids_field;   /* token ids; NULL: "input_ids" */
	struct wn_reader_opts reader; /* how files are read (max_record 0: default) */
	int skip_bad;            /* count bad records and go on instead of stopping */
	unsigned threads;        /* records are analysed by this many threads; 0: 1 */
	size_t max_fields;       /* 0: WN_STATS_MAX_FIELDS */
	size_t max_languages;    /* 0: WN_STATS_MAX_LANGUAGES */
	/* Called now and then while reading: records so far, and input bytes
	 * (as stored on disk) read so far and in all (0 when unknown). */
	void (*progress)(void *ud, uint64_t records, uint64_t done, uint64_t total);
	void *ud;
};

struct wn_stats;

/* A collector with nothing counted yet.  The options are copied; the
 * strings in them are borrowed. */
int wn_stats_new(struct wn_stats **s, const struct wn_stats_opts *o, struct wn_error *err);
void wn_stats_free(struct wn_stats *s);

/*
 * Count one record, the bytes of a JSON object that the reader validated
 * (wn_reader_next), in split (NULL: in none).  Split names of at most 64
 * bytes.  The text field's string is analysed (characters, words, lines);
 * a record without it, or whose text is not a string, is counted in
 * no_text.  WN_ENOMEM or WN_EUSAGE (a split name too long).
 */
int wn_stats_add(struct wn_stats *s, const char *split, const char *rec, size_t len,
                 struct wn_error *err);

/*
 * Read inputs and count their records: each argument a FILE, DIR, glob or
 * "-" as `winnow read` takes them (wn_paths_expand), except that a
 * directory holding a manifest.json (or that manifest.json named itself)
 * is a dataset written by `winnow shard`, whose shards are read split by
 * split (token shards: their index files).
 * No arguments: standard input.  Errors: WN_EDATA (bad record, naming file
 * and line, unless opts->skip_bad; a bad manifest), WN_ETOOBIG, WN_EIO,
 * WN_ENOMEM.  The counts of what was read before an error stay in the
 * collector.
 */
int wn_stats_read(struct wn_stats *s, char *const *args, size_t nargs, struct wn_error *err);

/* A field name or language and how many records have it (languages also:
 * the characters of their text). */
struct wn_stats_count {
	char *name;
	uint64_t records;
	uint64_t chars;
};

/* The counts of one scope: the whole input, or one split of the datasets. */
struct wn_stats_scope {
	char *name;            /* the split; NULL for the whole input */
	uint64_t records;      /* records (documents, for token shards) */
	uint64_t skipped;      /* bad records skipped (opts->skip_bad) */
	uint64_t bytes;        /* JSONL bytes of the records: each one's JSON and a newline */
	uint64_t file_bytes;   /* bytes of the files read, as stored (0 for stdin) */
	uint64_t text_bytes;   /* UTF-8 bytes of the texts */
	uint64_t chars;        /* Unicode code points of the texts */
	uint64_t words;        /* words as filter --min-words counts them */
	uint64_t lines;        /* lines as Python's str.splitlines() finds them */
	uint64_t tokens;       /* token ids */
	uint64_t no_text;      /* records without a string text field */
	uint64_t with_tokens;  /* records (documents) with token ids */
	uint64_t shards;       /* dataset shards read (a token shard counts once) */
	struct wn_hist chars_hist, words_hist, tokens_hist; /* per record */
	/* sorted by records (descending), then name */
	struct wn_stats_count *fields;
	size_t nfields;
	uint64_t fields_untracked;    /* (record, field) pairs whose name was not tracked */
	struct wn_stats_count *languages;
	size_t nlanguages;
	uint64_t languages_untracked; /* records whose language was not tracked */
};

/* What a dataset's manifest says about it. */
struct wn_stats_dataset {
	char *path;            /* the directory, as given */
	int version;           /* manifest version: 1 JSONL, 2 token shards */
	char *shard_format;    /* "jsonl", "megatron", "datatrove", "nanogpt" */
	char *dtype;           /* token formats; NULL otherwise */
	char *tokenizer;       /* token formats: the tokenizer's name, may be "" */
	uint64_t vocab_size;
	uint64_t shards, files, bytes, records, tokens; /* the manifest's totals */
};

struct wn_stats_report {
	struct wn_stats_scope total;
	struct wn_stats_scope *splits; /* sorted by name (byte order) */
	size_t nsplits;
	struct wn_stats_dataset *datasets; /* in the order they were read */
	size_t ndatasets;
	uint64_t inputs;       /* files read (a dataset's shard files each count) */
};

/* The counts so far.  The collector stays usable. */
int wn_stats_report(struct wn_stats *s, struct wn_stats_report *rep, struct wn_error *err);
void wn_stats_report_release(struct wn_stats_report *rep);

/*
 * The report as a JSON object (docs/winnow-stats.md lists the keys),
 * indented by 2 spaces, with a final newline, appended to out.
 */
int wn_stats_report_json(const struct wn_stats_report *rep, struct wn_buf *out);

#ifdef __cplusplus
}
#endif
#endif
