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

/* The CSV/TSV part of a record reader (csv.c). */
struct wn_csv;

int wn_csv_new(struct wn_csv **c, struct wn_lines *lines, const char *name,
               char delimiter, int no_header, size_t max_record,
               struct wn_error *err);
void wn_csv_free(struct wn_csv *c);
int wn_csv_next(struct wn_csv *c, const char **rec, size_t *len,
                uint64_t *line, struct wn_error *err);
int wn_csv_recoverable(const struct wn_csv *c);
void wn_csv_raw(const struct wn_csv *c, const char **raw, size_t *len);

#endif
