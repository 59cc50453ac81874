/*
 * buf.c - growable byte buffer with a maximum size.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winnow/buf.h"
#include "winnow/status.h"

void wn_buf_init(struct wn_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void wn_buf_release(struct wn_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int wn_buf_grow(struct wn_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return WN_ETOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return WN_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	/* Never allocate more than max content + NUL, so the limit bounds memory. */
	if (b->max != WN_BUF_UNLIMITED && cap > b->max + 1)
		cap = b->max + 1;
	char *p = realloc(b->data, cap);
	if (!p)
		return WN_ENOMEM;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return WN_OK;
}

int wn_buf_add(struct wn_buf *b, const void *p, size_t n)
{
	if (n == 0) {
		/* Keep the invariant that a buffer handed out has data. */
		return b->cap ? WN_OK : wn_buf_grow(b, 0);
	}
	WN_TRY(wn_buf_grow(b, n));
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return WN_OK;
}

int wn_buf_adds(struct wn_buf *b, const char *s)
{
	return wn_buf_add(b, s, strlen(s));
}

int wn_buf_addc(struct wn_buf *b, char c)
{
	if (b->len + 1 >= b->cap)
		WN_TRY(wn_buf_grow(b, 1));
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
	return WN_OK;
}

int wn_buf_vprintf(struct wn_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return WN_EINTERNAL;
	if ((size_t)n < sizeof(small))
		return wn_buf_add(b, small, (size_t)n);
	WN_TRY(wn_buf_grow(b, (size_t)n));
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return WN_OK;
}

int wn_buf_printf(struct wn_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int st = wn_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return st;
}

void wn_buf_truncate(struct wn_buf *b, size_t len)
{
	assert(len <= b->len);
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

void wn_buf_consume(struct wn_buf *b, size_t n)
{
	assert(n <= b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	wn_buf_truncate(b, b->len - n);
}

char *wn_buf_detach(struct wn_buf *b, size_t *len)
{
	if (!b->cap && wn_buf_grow(b, 0) < 0)
		return NULL;
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
