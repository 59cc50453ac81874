/*
 * io.h - reading input: decompressing byte streams, bounded line reading,
 * expanding FILE|DIR|GLOB|- arguments, and record readers for JSONL and
 * CSV/TSV.
 *
 * Ownership: every _open/_new returns an object the caller frees with the
 * matching _close/_free (which accept NULL).  Pointers returned by _next
 * functions point into the reader's buffers and stay valid until the next
 * call on the same reader.
 */
#ifndef WINNOW_IO_H
#define WINNOW_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "winnow/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- decompressing input streams ------------------------------------- */

enum wn_compression {
	WN_COMP_NONE = 0,
	WN_COMP_ZSTD,
	WN_COMP_GZIP,
};

struct wn_input;

/*
 * Open path ("-" for standard input) for reading.  Compression is detected
 * from the magic bytes (zstd 28 B5 2F FD, gzip 1F 8B), whatever the file
 * name says; the extension is only a hint for format detection (see
 * wn_format_guess).  Concatenated zstd frames, skippable frames, and
 * multi-member gzip files are read whole.  A truncated or corrupt stream is
 * a WN_EDATA error at the point where it is found.
 */
int wn_input_open(struct wn_input **in, const char *path, struct wn_error *err);
void wn_input_close(struct wn_input *in);

/* Read up to cap decompressed bytes into buf; *got = 0 means end of input.
 * Errors name the file (and the line, when a line reader passes it). */
int wn_input_read(struct wn_input *in, void *buf, size_t cap, size_t *got,
                  struct wn_error *err);

/* The name used in messages: the path, or "<stdin>". */
const char *wn_input_name(const struct wn_input *in);
enum wn_compression wn_input_compression(const struct wn_input *in);
/* Bytes of the file on disk, 0 when unknown (a pipe), and how many of
 * them were consumed so far: together they give progress and ETA. */
uint64_t wn_input_size(const struct wn_input *in);
uint64_t wn_input_consumed(const struct wn_input *in);

/* ---- line reader ------------------------------------------------------ */

/*
 * Splits an input into lines of at most max_line bytes (without the '\n').
 * A longer line is a WN_ETOOBIG error naming the file and line; the reader
 * then skips the rest of that line without buffering it, so the caller may
 * continue with wn_lines_next (skip mode).  A last line without a final
 * newline is returned as a line.  Memory used is O(max line length seen).
 */
struct wn_lines;

int wn_lines_new(struct wn_lines **lr, struct wn_input *in, size_t max_line);
void wn_lines_free(struct wn_lines *lr); /* does not close the input */
/* Returns 1 with a line, 0 at end of input, < 0 on error. */
int wn_lines_next(struct wn_lines *lr, const char **line, size_t *len,
                  struct wn_error *err);
/* 1-based number of the line last returned (or being read on error). */
uint64_t wn_lines_lineno(const struct wn_lines *lr);

/* ---- argument expansion ----------------------------------------------- */

/*
 * Expand command-line inputs into a list of paths: "-" stays "-"; a
 * directory becomes every regular file below it (recursively, names starting
 * with '.' skipped, sorted bytewise by path); an argument that does not exist
 * and contains * ? or [ is a glob (sorted); anything else must exist.  No
 * arguments gives the list {"-"}.  The list is malloc'ed; free it with
 * wn_paths_free.
 */
int wn_paths_expand(char *const *args, size_t nargs, char ***paths,
                    size_t *npaths, struct wn_error *err);
void wn_paths_free(char **paths, size_t npaths);

/* ---- splitting inputs among ranks --------------------------------------- */

/*
 * What one rank of a split read reads of one input: the records of bytes
 * [start, end) of paths[input] in the sense of wn_reader_open_range (end 0:
 * to the end of the input; start 0 and end 0: the whole input).
 */
struct wn_split_part {
	size_t input;
	uint64_t start;
	uint64_t end;
};

/*
 * The parts that rank `rank` of `world` reads of paths (in the order of
 * wn_paths_expand), such that the ranks together read every record exactly
 * once and rank 0's records, then rank 1's, ..., are the records of all
 * paths in order.
 *
 * The inputs, in order, are laid end to end as one run of S bytes (sizes
 * from stat) and cut at floor(r * S / world) for r = 1..world-1.  A cut
 * inside a file moves to the nearer end of that file (the start on a tie)
 * when the file is compressed (by its magic bytes), not a regular file, or
 * smaller than a quarter of one rank's share (S / world / 4); otherwise the
 * file is split there, at record boundaries, by the reader.  So many small
 * files go whole to the ranks, in contiguous runs balanced by bytes, and a
 * big plain file is spread over as many ranks as its size calls for.  An
 * empty file goes to the last rank whose range starts at or before it.
 *
 * "-" (standard input) cannot be split: WN_EUSAGE when world > 1.  A file
 * that cannot be examined is WN_EIO.  *parts is malloc'ed (free()), and may
 * be empty.
 */
int wn_split_plan(char *const *paths, size_t npaths, uint64_t rank,
                  uint64_t world, struct wn_split_part **parts, size_t *nparts,
                  struct wn_error *err);

/* ---- output ------------------------------------------------------------ */

/* Write all of p[0..n) to fd, retrying short writes and EINTR.  A closed
 * pipe is WN_EPIPE (with no message: it is a normal end); other failures
 * are WN_EIO "<name>: write error: <reason>". */
int wn_write_all(int fd, const void *p, size_t n, const char *name,
                 struct wn_error *err);

/* ---- record readers --------------------------------------------------- */

enum wn_format {
	WN_FORMAT_AUTO = 0,
	WN_FORMAT_JSONL,
	WN_FORMAT_CSV,
	WN_FORMAT_TSV,
};

/* "jsonl" / "csv" / "tsv" / "auto" <-> enum; -1 for unknown names. */
int wn_format_parse(const char *name);
const char *wn_format_name(enum wn_format f);

/* Guess from the file name, ignoring a .zst/.zstd/.gz suffix:
 * .jsonl .json .ndjson -> JSONL, .csv -> CSV, .tsv .tab -> TSV, else AUTO. */
enum wn_format wn_format_guess(const char *path);

struct wn_reader_opts {
	enum wn_format format; /* AUTO: by name, then by content ('{' = JSONL) */
	char delimiter;        /* CSV delimiter; 0 = ',' for CSV, '\t' for TSV */
	int no_header;         /* CSV: columns are named c1, c2, ... */
	size_t max_record;     /* bytes; a longer line/row is WN_ETOOBIG */
};

#define WN_DEFAULT_MAX_RECORD ((size_t)64 << 20)

struct wn_reader;

/*
 * Open one path as a record reader.  A CSV header problem (duplicate column
 * name, unreadable header) is reported here.
 */
int wn_reader_open(struct wn_reader **r, const char *path,
                   const struct wn_reader_opts *opts, struct wn_error *err);

/*
 * Open path to read only the records of a byte range [start, end) (end 0:
 * to the end), for splitting one input among several readers: the ranges
 * [0, a), [a, b), [b, 0) give, one after the other, exactly the records,
 * line numbers and errors of a reader of the whole input.
 *
 *   - JSONL: the lines that start at an offset in [start, end).
 *   - CSV/TSV: a range starts at the first "cut line" at or after start and
 *     ends before the first cut line at or after end.  A cut line starts
 *     outside any row, after the header, so a row (with its quoted line
 *     breaks) is never split.  The header is read from the start of the
 *     file by every range, and finding the cut lines follows the quotes of
 *     everything before, with a scan that builds nothing.
 *
 * Offsets count the bytes of the decompressed stream, and everything before
 * start is read (JSONL: only to count newlines, eight bytes at a time), so
 * line numbers are exact: starting at the middle of a file costs one pass
 * over its first half.  The format is decided from the start of the file.
 */
int wn_reader_open_range(struct wn_reader **r, const char *path,
                         const struct wn_reader_opts *opts, uint64_t start,
                         uint64_t end, struct wn_error *err);
void wn_reader_close(struct wn_reader *r);

/*
 * Next record as the bytes of one JSON object (no trailing newline):
 *   - JSONL: the line with surrounding whitespace trimmed, validated with
 *     wn_json_validate and required to be an object (blank lines skipped,
 *     a UTF-8 BOM at the start of the file ignored);
 *   - CSV/TSV: the row as {"header":"value",...} in column order, values
 *     JSON strings escaped by wn_json_escape (so the bytes equal what
 *     jansson would write for the same object).
 * Returns 1 with a record, 0 at the end, or < 0 on error.  After a WN_EDATA
 * or WN_ETOOBIG error about one record, wn_reader_recoverable() tells
 * whether wn_reader_next may be called again to continue with the next
 * record (bad JSON line, wrong field count: yes; corrupt compressed data:
 * no).  *line is the 1-based line where the record starts.
 */
int wn_reader_next(struct wn_reader *r, const char **rec, size_t *len,
                   uint64_t *line, struct wn_error *err);
int wn_reader_recoverable(const struct wn_reader *r);
/* The raw input text of the record last returned or rejected (the line, or
 * the CSV row's lines), for a rejects file. */
void wn_reader_raw(const struct wn_reader *r, const char **raw, size_t *len);
/* The path and stats of the underlying input (for progress). */
const char *wn_reader_name(const struct wn_reader *r);
const struct wn_input *wn_reader_input(const struct wn_reader *r);
enum wn_format wn_reader_format(const struct wn_reader *r);
/* How many records come before the range, numbered as --add-id numbers
 * them: lines for JSONL, rows (rejected ones included, the header not) for
 * CSV; 0 without a range. */
uint64_t wn_reader_records_before(const struct wn_reader *r);

#ifdef __cplusplus
}
#endif
#endif
