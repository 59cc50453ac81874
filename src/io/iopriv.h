/*
 * iopriv.h - helpers shared by the files of src/io, not part of the API.
 */
#ifndef WINNOW_IO_IOPRIV_H
#define WINNOW_IO_IOPRIV_H

#include <stddef.h>
#include <stdint.h>

#include "winnow/io.h"
#include "winnow/status.h"

/*
 * wn_input_read, with the line being read for error messages
 * ("name:line: truncated zstd data"); line 0 names only the file.
 */
int wn_input_read_at(struct wn_input *in, void *buf, size_t cap, size_t *got,
                     uint64_t line, struct wn_error *err);

/* Make the next wn_lines_next return the line last returned again (same
 * pointer, same line number).  Only valid right after a successful
 * wn_lines_next. */
void wn_lines_unget(struct wn_lines *lr);

/*
 * Byte ranges (lines.c).  wn_lines_next returns 0 instead of a line that
 * starts at or after limit (UINT64_MAX by default), and wn_lines_at_limit
 * then tells that it stopped there, not at the end of the input; the caller
 * may raise the limit and go on.  wn_lines_offset is the stream offset of
 * the next line's start (not valid right after a too-long line).
 */
void wn_lines_set_limit(struct wn_lines *lr, uint64_t limit);
int wn_lines_at_limit(const struct wn_lines *lr);
uint64_t wn_lines_offset(const struct wn_lines *lr);
/* Go to the first line start at or after stream offset target (0, or just
 * after a newline), counting the lines passed but not returning them: one
 * pass over the bytes, 64 at a time. */
int wn_lines_skip_to(struct wn_lines *lr, uint64_t target, struct wn_error *err);

/* The CSV/TSV part of a record reader (csv.c).  With range_start or
 * range_end non-zero, it reads only the rows of that byte range (see
 * wn_reader_open_range); range_end 0 means to the end. */
struct wn_csv;

int wn_csv_new(struct wn_csv **c, struct wn_lines *lines, const char *name,
               char delimiter, int no_header, size_t max_record,
               uint64_t range_start, uint64_t range_end, struct wn_error *err);
/* Rows (and rejected rows) before the range, as --add-id numbers them. */
uint64_t wn_csv_rows_before(const struct wn_csv *c);
void wn_csv_free(struct wn_csv *c);
int wn_csv_next(struct wn_csv *c, const char **rec, size_t *len,
                uint64_t *line, struct wn_error *err);
int wn_csv_recoverable(const struct wn_csv *c);
void wn_csv_raw(const struct wn_csv *c, const char **raw, size_t *len);

#endif
