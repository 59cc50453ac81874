/*
 * buf.h - a growable byte buffer with a maximum size.
 *
 * Invariants, after wn_buf_init and after every call below:
 *   - len <= cap, and cap <= max whenever max was respected at growth time;
 *   - when cap > 0, data[len] == '\0' (so data is usable as a C string when
 *     the content has no NUL), and data != NULL;
 *   - when cap == 0, data == NULL and len == 0.
 * Growth past `max` bytes fails with WN_ETOOBIG and leaves the buffer as it
 * was, so one over-long input line cannot consume unbounded memory.
 *
 * Embedded by value: wn_buf_init / wn_buf_release.
 */
#ifndef WINNOW_BUF_H
#define WINNOW_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct wn_buf {
	char *data;
	size_t len;
	size_t cap; /* allocated bytes, including room for the trailing NUL */
	size_t max; /* the most content bytes this buffer may hold */
};

#define WN_BUF_UNLIMITED ((size_t)-1)
#define WN_BUF_INIT { NULL, 0, 0, WN_BUF_UNLIMITED }

/* Start empty; max is the content limit (WN_BUF_UNLIMITED for none). */
void wn_buf_init(struct wn_buf *b, size_t max);
/* Free the memory; the buffer is empty and reusable afterwards. */
void wn_buf_release(struct wn_buf *b);
/* Make room for `extra` more content bytes.  WN_ETOOBIG past max,
 * WN_ENOMEM when allocation fails. */
int wn_buf_grow(struct wn_buf *b, size_t extra);
/* Append bytes / a C string / one byte. */
int wn_buf_add(struct wn_buf *b, const void *p, size_t n);
int wn_buf_adds(struct wn_buf *b, const char *s);
int wn_buf_addc(struct wn_buf *b, char c);
/* Append formatted text. */
int wn_buf_printf(struct wn_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int wn_buf_vprintf(struct wn_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Set the length (<= current length) without freeing memory. */
void wn_buf_truncate(struct wn_buf *b, size_t len);
/* Drop the first n bytes, moving the rest to the front. */
void wn_buf_consume(struct wn_buf *b, size_t n);
static inline void wn_buf_reset(struct wn_buf *b) { wn_buf_truncate(b, 0); }
/* Take ownership of the memory (NUL-terminated, never NULL on success);
 * the buffer is left empty.  Returns NULL only when out of memory. */
char *wn_buf_detach(struct wn_buf *b, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
