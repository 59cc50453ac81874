/*
 * lines.c - bounded line reader.
 *
 * One buffer holds [start, end) of unread input.  A line is returned as a
 * pointer into it; the buffer is compacted and refilled only when no newline
 * is left, so most lines cost one memchr and no copy.  The buffer grows only
 * while a single line does not fit, and never past max_line + 1 bytes: an
 * endless line (a decompression bomb without newlines) is reported as soon as
 * it exceeds the limit, and its remaining bytes are then read into the same
 * buffer and thrown away.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/iopriv.h"
#include "winnow/io.h"

/* Preferred read size, and the smallest buffer worth a read(2). */
#define WN_LINES_CHUNK ((size_t)1 << 20)
#define WN_LINES_MIN ((size_t)64 << 10)

struct wn_lines {
	struct wn_input *in;
	size_t max_line;
	char *buf;
	size_t cap, start, end;
	uint64_t lineno;
	int eof;
	int skipping; /* inside a line already reported as too long */
	int again;    /* wn_lines_unget was called */
	size_t last_off, last_len;
};

int wn_lines_new(struct wn_lines **lrp, struct wn_input *in, size_t max_line)
{
	*lrp = NULL;
	struct wn_lines *lr = calloc(1, sizeof(*lr));
	if (!lr)
		return WN_ENOMEM;
	lr->in = in;
	lr->max_line = max_line;
	/* A small limit needs no big buffer, but reads stay reasonably large. */
	size_t cap = WN_LINES_CHUNK;
	if (max_line < cap - 1)
		cap = max_line + 1 < WN_LINES_MIN ? WN_LINES_MIN : max_line + 1;
	lr->buf = malloc(cap);
	if (!lr->buf) {
		free(lr);
		return WN_ENOMEM;
	}
	lr->cap = cap;
	*lrp = lr;
	return WN_OK;
}

void wn_lines_free(struct wn_lines *lr)
{
	if (!lr)
		return;
	free(lr->buf);
	free(lr);
}

uint64_t wn_lines_lineno(const struct wn_lines *lr)
{
	return lr->lineno;
}

void wn_lines_unget(struct wn_lines *lr)
{
	assert(!lr->again && lr->lineno > 0);
	lr->again = 1;
}

static int lines_too_long(struct wn_lines *lr, struct wn_error *err)
{
	return wn_error_set(err, WN_ETOOBIG, wn_input_name(lr->in), lr->lineno,
	                    "line longer than %zu bytes (--max-record-size)",
	                    lr->max_line);
}

/* Read more input into [end, cap).  Sets eof when there is none. */
static int lines_fill(struct wn_lines *lr, uint64_t line, struct wn_error *err)
{
	assert(lr->end < lr->cap);
	size_t got;
	WN_TRY(wn_input_read_at(lr->in, lr->buf + lr->end, lr->cap - lr->end, &got,
	                        line, err));
	if (got == 0)
		lr->eof = 1;
	lr->end += got;
	return WN_OK;
}

/* Discard input up to and including the next newline (or the end). */
static int lines_skip(struct wn_lines *lr, struct wn_error *err)
{
	for (;;) {
		char *p = lr->buf + lr->start;
		char *nl = memchr(p, '\n', lr->end - lr->start);
		if (nl) {
			lr->start = (size_t)(nl + 1 - lr->buf);
			lr->skipping = 0;
			return WN_OK;
		}
		lr->start = lr->end = 0;
		if (lr->eof) {
			lr->skipping = 0;
			return WN_OK;
		}
		WN_TRY(lines_fill(lr, lr->lineno, err));
	}
}

int wn_lines_next(struct wn_lines *lr, const char **line, size_t *len,
                  struct wn_error *err)
{
	if (lr->again) {
		lr->again = 0;
		*line = lr->buf + lr->last_off;
		*len = lr->last_len;
		return 1;
	}
	if (lr->skipping)
		WN_TRY(lines_skip(lr, err));
	for (;;) {
		char *p = lr->buf + lr->start;
		size_t avail = lr->end - lr->start;
		char *nl = memchr(p, '\n', avail);
		if (nl) {
			size_t n = (size_t)(nl - p);
			lr->lineno++;
			lr->last_off = lr->start;
			lr->start += n + 1;
			if (n > lr->max_line)
				return lines_too_long(lr, err);
			lr->last_len = n;
			*line = p;
			*len = n;
			return 1;
		}
		if (avail > lr->max_line) {
			lr->lineno++;
			lr->start = lr->end = 0;
			lr->skipping = 1;
			return lines_too_long(lr, err);
		}
		if (lr->eof) {
			if (avail == 0)
				return 0;
			lr->lineno++;
			lr->last_off = lr->start;
			lr->last_len = avail;
			lr->start = lr->end;
			*line = p;
			*len = avail;
			return 1;
		}
		if (lr->start > 0) {
			memmove(lr->buf, p, avail);
			lr->start = 0;
			lr->end = avail;
		}
		if (lr->end == lr->cap) {
			/* One line fills the buffer: grow, at most to max_line + 1
			 * (room for the line and its newline). */
			assert(lr->cap <= lr->max_line);
			size_t limit = lr->max_line == SIZE_MAX ? SIZE_MAX : lr->max_line + 1;
			size_t cap = lr->cap > limit / 2 ? limit : lr->cap * 2;
			char *nb = realloc(lr->buf, cap);
			if (!nb)
				return wn_error_set(err, WN_ENOMEM, wn_input_name(lr->in),
				                    lr->lineno + 1, "out of memory");
			lr->buf = nb;
			lr->cap = cap;
		}
		WN_TRY(lines_fill(lr, lr->lineno + 1, err));
	}
}
