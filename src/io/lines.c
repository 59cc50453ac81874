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
 *
 * For reading a byte range of a file (wn_reader_open_range), the reader also
 * knows the stream offset of every line start (base, the offset of buf[0],
 * plus start), can stop before the first line that starts at or after a
 * limit, and can skip to the first line start at or after an offset while
 * only counting newlines.
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
	uint64_t base;  /* stream offset of buf[0] */
	uint64_t limit; /* no line starting at or after this offset is returned */
	int at_limit;   /* the last wn_lines_next stopped at the limit */
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
	lr->limit = UINT64_MAX;
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
		lr->base += lr->end;
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
	lr->at_limit = 0;
	if (lr->again) {
		if (lr->base + lr->last_off >= lr->limit) {
			lr->at_limit = 1;
			return 0;
		}
		lr->again = 0;
		*line = lr->buf + lr->last_off;
		*len = lr->last_len;
		return 1;
	}
	if (lr->skipping)
		WN_TRY(lines_skip(lr, err));
	if (lr->base + lr->start >= lr->limit) {
		lr->at_limit = 1;
		return 0;
	}
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
			lr->base += lr->end;
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
			lr->base += lr->start;
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

void wn_lines_set_limit(struct wn_lines *lr, uint64_t limit)
{
	lr->limit = limit;
}

int wn_lines_at_limit(const struct wn_lines *lr)
{
	return lr->at_limit;
}

uint64_t wn_lines_offset(const struct wn_lines *lr)
{
	assert(!lr->skipping);
	return lr->base + (lr->again ? lr->last_off : lr->start);
}

/*
 * The number of '\n' bytes in p[0..n), 64 bytes at a time where the
 * compiler has vector types (SSE2 or NEON, about memory speed): each
 * comparison gives -1 per newline, summed in 16 byte-wide lanes for at most
 * 63 rounds of four before a lane could overflow.
 */
#if defined(__GNUC__)
typedef unsigned char wn_v16 __attribute__((vector_size(16)));

static uint64_t count_newlines(const char *p, size_t n)
{
	const wn_v16 nl = (wn_v16){ 0 } + '\n';
	uint64_t k = 0;
	while (n >= 64) {
		size_t rounds = n / 64 < 63 ? n / 64 : 63;
		wn_v16 acc = { 0 };
		for (size_t i = 0; i < rounds; i++, p += 64) {
			wn_v16 a, b, c, d;
			memcpy(&a, p, 16);
			memcpy(&b, p + 16, 16);
			memcpy(&c, p + 32, 16);
			memcpy(&d, p + 48, 16);
			acc -= (wn_v16)(a == nl) + (wn_v16)(b == nl) + (wn_v16)(c == nl) +
			       (wn_v16)(d == nl);
		}
		for (int j = 0; j < 16; j++)
			k += acc[j];
		n -= 64 * rounds;
	}
	for (; n > 0; n--)
		k += *p++ == '\n';
	return k;
}
#else
static uint64_t count_newlines(const char *p, size_t n)
{
	uint64_t k = 0;
	for (; n > 0; n--)
		k += *p++ == '\n';
	return k;
}
#endif

int wn_lines_skip_to(struct wn_lines *lr, uint64_t target, struct wn_error *err)
{
	if (lr->again) {
		if (lr->base + lr->last_off >= target)
			return WN_OK;
		lr->again = 0; /* that line was read, and ends before target */
	}
	if (lr->skipping)
		WN_TRY(lines_skip(lr, err));
	if (lr->base + lr->start >= target)
		return WN_OK;
	/* Inside a line that starts before target: every newline before
	 * target - 1 ends a line that starts before target too.  Count them
	 * without looking at lines; the first line start at or after target
	 * follows the first newline at or after target - 1. */
	for (;;) {
		uint64_t pos = lr->base + lr->start;
		if (pos < target - 1) {
			size_t n = lr->end - lr->start;
			if ((uint64_t)n > target - 1 - pos)
				n = (size_t)(target - 1 - pos);
			lr->lineno += count_newlines(lr->buf + lr->start, n);
			lr->start += n;
			pos += n;
		}
		if (pos >= target - 1) {
			char *nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
			if (nl) {
				lr->lineno++;
				lr->start = (size_t)(nl + 1 - lr->buf);
				return WN_OK;
			}
		}
		lr->base += lr->end;
		lr->start = lr->end = 0;
		if (lr->eof)
			return WN_OK; /* a last line without a newline, before target */
		WN_TRY(lines_fill(lr, lr->lineno + 1, err));
	}
}
